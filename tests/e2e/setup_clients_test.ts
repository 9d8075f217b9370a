// Issue 5's real-client checks: after `c2c setup <client>` (run through the
// launcher with a throwaway HOME, in a project repository, and nothing else
// written for c2c), each real client's own health check really starts c2c's
// MCP server from the entry setup wrote and connects to it:
//
// - Claude Code: `claude mcp list` → `c2c: … - ✔ Connected`;
// - OpenCode: `opencode mcp list` → `✓ c2c connected`;
// - Gemini CLI: `gemini mcp list` → `✓ c2c: … - Connected` (trusted folder);
// - Codex: `codex app-server`, JSON-RPC `initialize` then
//   `mcpServerStatus/list` → server `c2c` with all of c2c's tools.
//
// The server then registered the alias setup wrote, in the project's broker,
// as that client; and a second `c2c setup` after the client has read (and
// perhaps rewritten) its config changes nothing. Delivery through the hooks
// setup wrote is proven by dm_matrix_test.ts.

import assert from "node:assert/strict";
import { Broker } from "../../mod.ts";
import { type ClientName, CLIENTS, ensureClient } from "./clients.ts";
import { clientEnv, type ClientHome } from "./run_client.ts";
import { C2C_TOOL_NAMES } from "../_mcp.ts";
import { prepareAgent, runSetup, SETUP_NAME } from "./setup_client.ts";

/** Removes ANSI colour codes (OpenCode colours its list even with NO_COLOR). */
function stripAnsi(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

/** Runs `<client> mcp list` in the home; returns stdout + stderr. */
async function mcpList(home: ClientHome, bin: string): Promise<string> {
  const out = await new Deno.Command(bin, {
    args: ["mcp", "list"],
    cwd: home.cwd,
    env: clientEnv(home),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const text = new TextDecoder().decode(out.stdout) +
    new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `mcp list exited ${out.code}:\n${text}`);
  return stripAnsi(text);
}

/** The `mcpServerStatus/list` entry of one server. */
interface McpServerStatus {
  name: string;
  tools: Record<string, unknown>;
  toolsError?: string | null;
}

/**
 * Starts `codex app-server` on stdio and asks it, over JSON-RPC (one JSON
 * object a line), to `initialize` and then `mcpServerStatus/list`, which
 * starts and initializes every configured MCP server.
 */
async function codexMcpStatus(
  home: ClientHome,
  bin: string,
): Promise<McpServerStatus[]> {
  const child = new Deno.Command(bin, {
    args: ["app-server"],
    cwd: home.cwd,
    env: clientEnv(home),
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const writer = child.stdin.getWriter();
  const send = (message: unknown) =>
    writer.write(new TextEncoder().encode(JSON.stringify(message) + "\n"));
  const seen: string[] = [];
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  try {
    await send({
      id: 1,
      method: "initialize",
      params: { clientInfo: { name: "c2c-e2e", version: "0.0.0" } },
    });
    let buffer = "";
    for await (
      const chunk of child.stdout.pipeThrough(new TextDecoderStream())
    ) {
      buffer += chunk;
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        seen.push(line.slice(0, 300));
        const message = JSON.parse(line);
        if (message.id === 1) {
          assert.ok(message.result, `initialize failed: ${line}`);
          await send({ method: "initialized" });
          await send({ id: 2, method: "mcpServerStatus/list", params: {} });
        } else if (message.id === 2) {
          assert.ok(message.result, `mcpServerStatus/list failed: ${line}`);
          return message.result.data as McpServerStatus[];
        }
      }
    }
    throw new Error(
      `codex app-server ended without answering:\n${
        seen.join("\n")
      }\n${await stderr}`,
    );
  } finally {
    clearTimeout(timer);
    await writer.close().catch(() => {});
    try {
      child.kill("SIGTERM");
    } catch {
      // Exited already.
    }
    await child.status;
    await stderr;
  }
}

/** Waits for a registration of `alias` in the project's broker. */
async function registered(project: string, alias: string) {
  const broker = new Broker({ root: `${project}/.git/c2c/mcp` });
  for (let i = 0; i < 50; i++) {
    const row = await broker.registrationByAlias(alias);
    if (row) return row;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

const CHECKS: Record<
  ClientName,
  { what: string; run: (home: ClientHome, bin: string) => Promise<void> }
> = {
  claude: {
    what: "`claude mcp list` reports c2c ✔ Connected",
    async run(home, bin) {
      const out = await mcpList(home, bin);
      assert.match(out, /^c2c: .*bin\/c2c-mcp .* - ✔ Connected$/m, out);
    },
  },
  opencode: {
    what: "`opencode mcp list` shows c2c connected",
    async run(home, bin) {
      const out = await mcpList(home, bin);
      assert.match(out, /✓ c2c connected/, out);
    },
  },
  gemini: {
    what: "`gemini mcp list` shows c2c Connected",
    async run(home, bin) {
      const out = await mcpList(home, bin);
      assert.match(out, /✓ c2c: .*bin\/c2c-mcp .* - Connected/, out);
    },
  },
  codex: {
    what: "`codex app-server` mcpServerStatus/list lists c2c's tools",
    async run(home, bin) {
      const servers = await codexMcpStatus(home, bin);
      const c2c = servers.find((s) => s.name === "c2c");
      assert.ok(c2c, `no c2c server in ${JSON.stringify(servers)}`);
      assert.equal(c2c.toolsError ?? null, null);
      assert.deepEqual(Object.keys(c2c.tools).sort(), [...C2C_TOOL_NAMES]);
    },
  },
};

for (const client of ["claude", "codex", "opencode", "gemini"] as const) {
  const spec = CLIENTS[client];
  const check = CHECKS[client];
  Deno.test(`c2c setup ${SETUP_NAME[client]}: ${check.what} (${spec.title} ${spec.version})`, async (t) => {
    const { bin } = await ensureClient(client);
    const alias = `${client}-health`;
    // No model is needed: the health checks never call one.
    await using agent = await prepareAgent(client, "http://127.0.0.1:9", alias);
    const { home } = agent;
    await check.run(home, bin);

    await t.step(
      "the server registered setup's alias as this client, in the project's broker",
      async () => {
        const row = await registered(home.cwd, alias);
        assert.ok(row, `${alias} is not registered in ${home.cwd}`);
        assert.equal(row.client, SETUP_NAME[client]);
      },
    );

    await t.step(
      "a second c2c setup, after the client read its config, changes nothing",
      async () => {
        const again = await runSetup(home, ["--alias", alias, "--json"]);
        assert.equal(again.code, 0, again.stderr);
        const report = again.json<
          { changed: boolean; files: { path: string; status: string }[] }
        >();
        assert.equal(report.changed, false, JSON.stringify(report.files));
      },
    );
  });
}
