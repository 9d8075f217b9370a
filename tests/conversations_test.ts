// Conversations over the real interfaces (docs/design.md#conversations): MCP
// server processes with the SDK client, the CLI and the hook as
// subprocesses. A reply to a restarting agent waits for its next session,
// expires into the dead letters, receipts go queued → delivered on each
// delivery path, and a thread reads back in order from both sides.

import assert from "node:assert/strict";
import { Broker } from "../mod.ts";
import type { Message } from "../lib/message.ts";
import type { MessageStatusResult } from "../lib/types.ts";
import { DENO, REPO, waitFor } from "./_helpers.ts";
import { connect, type Connection } from "./_mcp.ts";
import {
  c2c,
  exits,
  markDead,
  registerAll,
  tempDir,
  tempRepo,
} from "./_cli.ts";
import { startClaudeSocketSession } from "./_fake_wake.ts";

/** A server that auto-registers `alias` under session `session`. */
function agent(
  root: string,
  alias: string,
  session = `${alias}-s`,
  env: Record<string, string> = {},
): Promise<Connection> {
  return connect(root, {
    C2C_MCP_SESSION_ID: session,
    C2C_MCP_AUTO_REGISTER_ALIAS: alias,
    ...env,
  });
}

interface Receipt {
  id: string;
  recipient_alive: boolean | null;
  expires_at?: string;
  thread_id: string;
}

async function stateOf(c: Connection, id: string) {
  const r = await c.ok<MessageStatusResult>("message_status", { ids: [id] });
  return r.messages[0];
}

Deno.test("a reply sent while the recipient's server is down arrives once, in thread, when a new session takes the alias", async () => {
  await using dir = await tempDir();
  const root = dir.path;
  await using a = await agent(root, "storm-beacon");
  const b = await agent(root, "tide-runner");
  const ask = await b.ok<Receipt>("send", {
    to_alias: "storm-beacon",
    content: "can you review my patch?",
  });
  await a.ok("poll_inbox");
  await b.close();
  await waitFor(
    async () => await new Broker({ root }).liveness("tide-runner-s") === false,
    10_000,
    "the exited server's lease to be released",
  );
  const reply = await a.ok<Receipt>("send", {
    to_alias: "tide-runner",
    content: "looks good, merge it",
    reply_to: ask.id,
  });
  assert.equal(reply.recipient_alive, false);
  assert.ok(Date.parse(reply.expires_at!) > Date.now());
  assert.equal(reply.thread_id, ask.id);
  assert.equal((await stateOf(a, reply.id)).state, "queued");
  // `claude --resume` starts a new server process: a new session.
  await using b2 = await agent(root, "tide-runner", "tide-runner-s2");
  const got = await b2.ok<{ messages: Message[] }>("poll_inbox");
  assert.deepEqual(
    got.messages.map((m) => [m.content, m.reply_to, m.thread_id]),
    [["looks good, merge it", ask.id, ask.id]],
  );
  assert.deepEqual(
    (await b2.ok<{ messages: Message[] }>("poll_inbox")).messages,
    [],
    "delivered once",
  );
  const state = await stateOf(a, reply.id);
  assert.deepEqual([state.state, state.via], ["delivered", "poll"]);
});

Deno.test("c2c send queues for a dead peer; once expired, c2c sweep moves it to the dead letters and the next session never gets it", async () => {
  await using dir = await tempDir();
  const root = dir.path;
  await registerAll(root, ["alpha", "beta"]);
  markDead(root, "beta-s");
  const as = ["--session-id", "alpha-s", "--json"];
  const sent = JSON.parse(
    exits(await c2c(root, ["send", "beta", "are you back?", ...as]), 0).stdout,
  );
  assert.equal(sent.recipient_alive, false);
  const text = exits(
    await c2c(root, ["send", "beta", "ping", "--session-id", "alpha-s"]),
    0,
  ).stdout;
  assert.match(text, /^queued for beta \(id [^)]+\): not alive now/);
  const status = async () =>
    JSON.parse(
      exits(await c2c(root, ["status", sent.id, ...as]), 0).stdout,
    ).messages[0].state;
  assert.equal(await status(), "queued");
  // Time passes: the queued messages' expires_at is now behind us (in the
  // inbox and in the sender's sent log, as a clock moving on would have it).
  const past = new Date(Date.now() - 1000).toISOString();
  for (
    const file of [
      `${root}/beta-s.inbox.jsonl`,
      `${root}/archive/sent/alpha.jsonl`,
    ]
  ) {
    await Deno.writeTextFile(
      file,
      (await Deno.readTextFile(file)).split("\n").filter((l) => l).map((l) =>
        JSON.stringify({ ...JSON.parse(l), expires_at: past }) + "\n"
      ).join(""),
    );
  }
  assert.equal(await status(), "expired", "expired before any sweep");
  const swept = JSON.parse(
    exits(await c2c(root, ["sweep", "--json"]), 0).stdout,
  );
  assert.equal(swept.expired_messages, 2);
  const dead = (await Deno.readTextFile(`${root}/dead-letter.jsonl`))
    .trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(dead.map((d) => [d.content, d.reason]), [
    ["are you back?", "expired"],
    ["ping", "expired"],
  ]);
  exits(await c2c(root, ["register", "beta-s2", "--alias", "beta"]), 0);
  const polled = JSON.parse(
    exits(
      await c2c(root, ["poll-inbox", "--session-id", "beta-s2", "--json"]),
      0,
    ).stdout,
  );
  assert.deepEqual(polled.messages, []);
  assert.equal(await status(), "expired");
});

Deno.test("receipts go queued → delivered by poll and by channel push, over MCP", async () => {
  await using dir = await tempDir();
  const root = dir.path;
  await using a = await agent(root, "storm-beacon");
  await using polled = await agent(root, "tide-runner");
  const pushed: string[] = [];
  await using pushee = await agent(root, "ember-fox", "ember-fox-s", {
    C2C_MCP_AUTO_DRAIN_CHANNEL: "1",
  });
  pushee.client.fallbackNotificationHandler = (n) => {
    if (n.method === "notifications/claude/channel") {
      pushed.push((n.params as { meta: { id: string } }).meta.id);
    }
    return Promise.resolve();
  };
  await pushee.ok("whoami");
  const toPoll = await a.ok<Receipt>("send", {
    to_alias: "tide-runner",
    content: "by poll",
  });
  assert.equal((await stateOf(a, toPoll.id)).state, "queued");
  await polled.ok("poll_inbox");
  const p = await stateOf(a, toPoll.id);
  assert.deepEqual([p.state, p.via], ["delivered", "poll"]);
  assert.ok(Date.parse(p.delivered_at!) >= Date.parse(p.ts!));
  const toPush = await a.ok<Receipt>("send", {
    to_alias: "ember-fox",
    content: "by push",
  });
  await waitFor(() => pushed.includes(toPush.id), 10_000, "the push");
  await waitFor(
    async () => (await stateOf(a, toPush.id)).state === "delivered",
    10_000,
    "the push's receipt",
  );
  assert.equal((await stateOf(a, toPush.id)).via, "push");
  const all = await a.ok<MessageStatusResult>("message_status", {});
  assert.deepEqual(all.messages.map((m) => [m.id, m.state, m.via]), [
    [toPoll.id, "delivered", "poll"],
    [toPush.id, "delivered", "push"],
  ]);
  assert.ok(!JSON.stringify(all).includes("by p"), "never any content");
});

Deno.test("receipts go queued → delivered by the hook (c2c-hook claude-code)", async () => {
  await using repo = await tempRepo();
  const broker = new Broker({ root: `${repo.path}/.git/c2c/mcp` });
  await broker.register("sess-a", { alias: "alice" });
  await broker.register("sess-b", { alias: "bob" });
  const { id } = await broker.send("sess-a", {
    to_alias: "bob",
    content: "by hook",
  });
  const state = async () =>
    (await broker.messageStatus("sess-a", { ids: [id] })).messages[0];
  assert.equal((await state()).state, "queued");
  const child = new Deno.Command(`${REPO}/bin/c2c-hook`, {
    args: ["claude-code", "--deno", DENO],
    cwd: repo.path,
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH")!, HOME: Deno.env.get("HOME")! },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify({
    session_id: "sess-b",
    hook_event_name: "PostToolUse",
    tool_name: "Bash",
  })));
  await writer.close();
  const out = await child.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(new TextDecoder().decode(out.stdout), /by hook/);
  const s = await state();
  assert.deepEqual([s.state, s.via], ["delivered", "hook"]);
});

Deno.test("receipts go queued → delivered by native wake (Claude Code's messaging socket)", async () => {
  await using repo = await tempRepo();
  await using session = await startClaudeSocketSession(repo.path);
  const { server, socket, status } = session;
  await server.ok("whoami");
  const broker = new Broker({ root: `${repo.path}/.git/c2c/mcp` });
  await broker.register("peer-s", { alias: "peer", leased: false });
  const { id } = await broker.send("peer-s", {
    to_alias: "cc-me",
    content: "by wake",
  });
  const state = async () =>
    (await broker.messageStatus("peer-s", { ids: [id] })).messages[0];
  assert.equal((await state()).state, "queued", "busy: no wake yet");
  await Deno.writeTextFile(status, JSON.stringify({ status: "idle" }));
  await socket.waitForUserLines(1);
  await waitFor(
    async () => (await state()).state === "delivered",
    10_000,
    "the wake's receipt",
  );
  assert.equal((await state()).via, "wake");
});

Deno.test("a thread of 6 messages between two agents reads back in order from both sides (MCP and CLI)", async () => {
  await using dir = await tempDir();
  const root = dir.path;
  await using a = await agent(root, "storm-beacon");
  await using b = await agent(root, "tide-runner");
  const ids: string[] = [];
  let replyTo: string | undefined;
  for (let i = 0; i < 6; i++) {
    const [from, to, reader] = i % 2 === 0
      ? [a, "tide-runner", b]
      : [b, "storm-beacon", a];
    const r = await from.ok<Receipt>("send", {
      to_alias: to,
      content: `turn ${i}`,
      ...(replyTo ? { reply_to: replyTo } : {}),
    });
    ids.push(r.id);
    replyTo = r.id;
    const got = await reader.ok<{ messages: Message[] }>("poll_inbox");
    assert.equal(got.messages[0].thread_id, ids[0]);
  }
  const turns = ids.map((_, i) => `turn ${i}`);
  for (
    const [side, peer] of [[a, "tide-runner"], [b, "storm-beacon"]] as const
  ) {
    const h = await side.ok<{ messages: { content: string }[] }>("history", {
      thread_id: ids[0],
    });
    assert.deepEqual(h.messages.map((m) => m.content), turns);
    const p = await side.ok<{ messages: { content: string }[] }>("history", {
      peer,
    });
    assert.deepEqual(p.messages.map((m) => m.content), turns);
  }
  const mine = await a.ok<{ messages: { direction: string }[] }>("history");
  assert.deepEqual(mine.messages.map((m) => m.direction), [
    "out",
    "in",
    "out",
    "in",
    "out",
    "in",
  ]);
  // The CLI acts as a session only once its own server is gone.
  await a.close();
  await b.close();
  await waitFor(
    async () => {
      const broker = new Broker({ root });
      return await broker.liveness("tide-runner-s") === false &&
        await broker.liveness("storm-beacon-s") === false;
    },
    10_000,
    "the servers' leases to be released",
  );
  const cli = JSON.parse(
    exits(
      await c2c(root, [
        "history",
        "--thread",
        ids[0],
        "--session-id",
        "tide-runner-s",
        "--json",
      ]),
      0,
    ).stdout,
  );
  assert.deepEqual(
    cli.messages.map((m: { content: string; direction: string }) => [
      m.content,
      m.direction,
    ]),
    turns.map((t, i) => [t, i % 2 === 0 ? "in" : "out"]),
  );
  const text = exits(
    await c2c(root, [
      "history",
      "--peer",
      "storm-beacon",
      "--session-id",
      "tide-runner-s",
    ]),
    0,
  ).stdout;
  assert.equal(text.match(/<c2c event="message"/g)?.length, 6);
  const status = exits(
    await c2c(root, ["status", "--session-id", "storm-beacon-s"]),
    0,
  ).stdout.trim().split("\n");
  assert.equal(status.length, 3);
  for (const line of status) {
    assert.match(line, /^\S+ {2}delivered {2}to tide-runner {2}via poll at /);
  }
});
