// bin/c2c-mcp: what `c2c setup` writes into user-wide client configs. It finds
// the project's broker root and starts the server scoped to it.

import assert from "node:assert/strict";
import { SERVER_ENV } from "../lib/permissions.ts";
import { Broker } from "../mod.ts";
import { DENO, REPO } from "./_helpers.ts";
import { connect } from "./_mcp.ts";
import { tempDir, tempRepo } from "./_cli.ts";

const SCRIPT = `${REPO}/bin/c2c-mcp`;

Deno.test("c2c-mcp serves the broker of the git repository it starts in", async () => {
  await using repo = await tempRepo();
  await Deno.mkdir(`${repo.path}/sub/dir`, { recursive: true });
  for (const cwd of [repo.path, `${repo.path}/sub/dir`]) {
    const transport = {
      command: SCRIPT,
      args: ["--deno", DENO],
    };
    await using a = await connect("", {
      C2C_MCP_SESSION_ID: `s-${cwd.length}`,
      C2C_MCP_AUTO_REGISTER_ALIAS: `agent-${cwd.length}`,
      C2C_MCP_BROKER_ROOT: "",
    }, { ...transport, cwd });
    const me = await a.ok<{ alias: string; alive: boolean }>("whoami");
    assert.deepEqual([me.alias, me.alive], [`agent-${cwd.length}`, true]);
  }
  const broker = new Broker({ root: `${repo.path}/.git/c2c/mcp` });
  assert.equal((await broker.registrations()).length, 2);
});

Deno.test("c2c-mcp outside a repository serves an explanation on every tool", async () => {
  await using dir = await tempDir();
  await using a = await connect("", {
    C2C_MCP_AUTO_REGISTER_ALIAS: "lost",
    C2C_MCP_BROKER_ROOT: "",
  }, { command: SCRIPT, args: ["--deno", DENO], cwd: dir.path });
  assert.match(await a.fails("whoami"), /is not inside a git repository/);
  assert.match(await a.fails("list"), /C2C_MCP_BROKER_ROOT/);
});

Deno.test("c2c-mcp's permitted environment list matches the server's", async () => {
  const script = await Deno.readTextFile(SCRIPT);
  const list = script.match(/^env_list=(.*)$/m)?.[1];
  assert.deepEqual(list?.split(","), [...SERVER_ENV]);
});
