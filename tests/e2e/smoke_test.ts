// First proof with the real clients: each of Claude Code, Codex, OpenCode and
// Gemini CLI, configured by `c2c setup <client>` and driven by the scripted
// fake model, really spawns c2c's MCP server and calls its tools. One client
// run per client:
//
//   turn 0  register {alias}         (the server auto-registered it already)
//   turn 1  whoami
//   turn 2  send {to_alias: peer}    → lands in the test peer's inbox
//   turn 3  poll_inbox               ← held: while the client is alive, the
//                                      test peer sends to it, then releases
//   turn 4  text                     ← must show the peer's message once
//
// The peer is this test process itself: a Broker on the project's broker
// root (`.git/c2c/mcp`, where setup's entry finds it), holding its own lease
// (so it reads alive) — no second client needed. The hooks setup installed
// run too, after every tool call; they find the inbox empty except after
// poll_inbox has drained it, so the envelope still arrives exactly once.

import assert from "node:assert/strict";
import { Broker, renderEnvelope } from "../../mod.ts";
import {
  CLIENT_NAMES,
  type ClientName,
  CLIENTS,
  ensureClient,
} from "./clients.ts";
import {
  c2cToolNames,
  countOccurrences,
  type RecordedRequest,
  startFakeModel,
  toolResults,
} from "./fake_model.ts";
import { describeRun, startClient } from "./run_client.ts";
import { C2C_TOOL_NAMES } from "../_mcp.ts";
import { prepareAgent } from "./setup_client.ts";

/** The exact name each client gives c2c's `send` tool in its model requests. */
const SEND_TOOL_NAME: Record<ClientName, string> = {
  claude: "mcp__c2c__send",
  codex: "mcp__c2c.send", // tool `send` in Responses namespace `mcp__c2c`
  opencode: "c2c_send",
  gemini: "mcp_c2c_send",
};

/**
 * Whether the client shows its model a tool's `structuredContent` (as JSON)
 * rather than its text blocks (tests/e2e/NOTES.md, "Finding").
 */
const SHOWS_STRUCTURED: Record<ClientName, boolean> = {
  claude: true,
  codex: true,
  opencode: false,
  gemini: false,
};

const PEER = "e2e-peer";
const PEER_SESSION = "e2e-peer-session";

function lastToolResult(request: RecordedRequest): string {
  return toolResults(request).at(-1) ?? "(no tool result)";
}

async function waitUntil(
  predicate: () => boolean | Promise<boolean>,
  timeout_ms: number,
): Promise<boolean> {
  const deadline = Date.now() + timeout_ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

for (const name of CLIENT_NAMES) {
  const spec = CLIENTS[name];
  Deno.test(`${spec.title} ${spec.version}: spawns c2c's server, sends to a live peer, and receives through poll_inbox`, async (t) => {
    const { bin } = await ensureClient(name);
    const alias = `${name}-smoke`;
    const outbound = `hello from ${name}: 1 < 2 & "quoted"`;
    const inbound = `reply to ${name} <b>bold</b>`;
    await using fake = await startFakeModel([
      { call: "register", args: { alias } },
      { call: "whoami" },
      { call: "send", args: { to_alias: PEER, content: outbound } },
      { call: "poll_inbox", hold: true },
      { text: "done" },
    ]);
    await using agent = await prepareAgent(name, fake.url, alias);
    const { home } = agent;
    const broker = new Broker({ root: `${home.cwd}/.git/c2c/mcp` });
    const lease = await broker.acquireLease(PEER_SESSION);
    try {
      await broker.register(PEER_SESSION, { alias: PEER, leased: true });
      const running = startClient({
        home,
        bin,
        prompt: "Talk to your peer over c2c.",
        timeout_ms: 90_000,
      });
      let sent: Awaited<ReturnType<Broker["send"]>> | null = null;
      let holdError: unknown = null;
      try {
        await fake.waitForHold(90_000);
        // The client is alive right now (its model request is held), so its
        // server holds its lease and a send to it is accepted.
        sent = await broker.send(PEER_SESSION, {
          to_alias: alias,
          content: inbound,
        });
      } catch (e) {
        holdError = e;
      } finally {
        fake.release();
      }
      const run = await running.result;
      const context = () =>
        `${describeRun(run)}\n--- fake model ---\n${
          fake.requests.map((r) =>
            `${r.method} ${r.path} ${r.kind} → ${r.reply}`
          )
            .join("\n")
        }${fake.errors.length ? `\nerrors: ${fake.errors.join("; ")}` : ""}`;
      console.log(
        `${name}: client run ${run.ms} ms, ${fake.turns.length} turns, ` +
          `${fake.requests.length - fake.turns.length} side requests`,
      );
      if (holdError) {
        throw new Error(`${holdError}\n${context()}`, { cause: holdError });
      }
      assert.equal(run.code, 0, context());
      assert.deepEqual(fake.errors, [], context());
      assert.equal(fake.turns.length, 5, context());

      await t.step("offers every c2c tool under its client name", () => {
        const names = c2cToolNames(fake.turns[0]);
        assert.deepEqual([...names.keys()].sort(), [...C2C_TOOL_NAMES]);
        assert.equal(names.get("send"), SEND_TOOL_NAME[name]);
      });

      await t.step(
        "register and whoami answer with the client's alias",
        async () => {
          assert.match(lastToolResult(fake.turns[1]), new RegExp(alias));
          assert.match(lastToolResult(fake.turns[2]), new RegExp(alias));
          const row = await broker.registrationByAlias(alias);
          assert.ok(row, `no registration for ${alias}`);
        },
      );

      await t.step(
        "send lands in the live peer's inbox from the client's alias",
        async () => {
          const { messages } = await broker.pollInbox(PEER_SESSION);
          assert.equal(messages.length, 1, JSON.stringify(messages));
          assert.equal(messages[0].from_alias, alias);
          assert.equal(messages[0].to_alias, PEER);
          assert.equal(messages[0].content, outbound);
          assert.match(
            lastToolResult(fake.turns[3]),
            new RegExp(messages[0].id),
          );
        },
      );

      await t.step(
        "poll_inbox shows the peer's message to the model exactly once",
        () => {
          assert.ok(sent);
          const seen = fake.turns[4];
          // Each body once (tokens are the user's money), whichever part of
          // the result the client shows its model.
          assert.equal(
            countOccurrences(seen, inbound),
            1,
            `body not shown exactly once to the model.\n` +
              `tool result the model saw: ${lastToolResult(seen)}`,
          );
          if (SHOWS_STRUCTURED[name]) {
            // The structured result: every field, the body among them.
            const result = lastToolResult(seen);
            for (const field of [sent.id, sent.ts, PEER]) {
              assert.ok(result.includes(field), `${field} not in ${result}`);
            }
            return;
          }
          const envelope = renderEnvelope({
            id: sent.id,
            ts: sent.ts,
            from_alias: PEER,
            to_alias: alias,
            content: inbound,
          });
          assert.equal(
            countOccurrences(seen, envelope),
            1,
            `envelope not shown exactly once to the model.\nexpected: ${envelope}\n` +
              `tool result the model saw: ${lastToolResult(seen)}`,
          );
        },
      );

      await t.step(
        "the client's server exits with the client (lease released)",
        async () => {
          const row = (await broker.registrationByAlias(alias))!;
          const released = await waitUntil(
            async () => (await broker.liveness(row.session_id)) === false,
            5_000,
          );
          assert.ok(
            released,
            `session ${row.session_id} still alive after the client exited` +
              ` (leftovers: ${
                run.leftovers.join(", ") || "none in its group"
              })`,
          );
        },
      );
    } finally {
      lease.release();
    }
  });
}
