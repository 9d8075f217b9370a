// A third-party client: the MCP Inspector CLI (from npm) lists the tools and
// calls whoami against the real server.

import assert from "node:assert/strict";
import { REPO } from "./_helpers.ts";
import { C2C_TOOL_NAMES, serverArgs } from "./_mcp.ts";
import { DENO } from "./_helpers.ts";
import { ensureNpmTool } from "./_npm_tools.ts";

const INSPECTOR = "@modelcontextprotocol/inspector@2.12.0";

Deno.test("MCP Inspector CLI lists c2c's tools and calls whoami", async () => {
  const bin = await ensureNpmTool(INSPECTOR, "mcp-inspector");
  const root = await Deno.makeTempDir({ prefix: "c2c-inspector-" });
  const run = async (...args: string[]) => {
    const out = await new Deno.Command(bin, {
      args: [
        "--cli",
        "-e",
        `C2C_MCP_BROKER_ROOT=${root}`,
        "-e",
        "C2C_MCP_SESSION_ID=inspector-s",
        "-e",
        "C2C_MCP_AUTO_REGISTER_ALIAS=inspector",
        DENO,
        ...serverArgs(root),
        ...args,
      ],
      cwd: REPO,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(
      out.code,
      0,
      `inspector failed: ${new TextDecoder().decode(out.stderr)}`,
    );
    return stdout;
  };
  const listed = JSON.parse(await run("--method", "tools/list"));
  const names = listed.tools.map((t: { name: string }) => t.name);
  assert.ok(names.includes("send") && names.includes("poll_inbox"), names);
  assert.deepEqual([...names].sort(), [...C2C_TOOL_NAMES]);
  const called = JSON.parse(
    await run("--method", "tools/call", "--tool-name", "whoami"),
  );
  assert.equal(called.structuredContent.alias, "inspector");
  assert.equal(called.structuredContent.alive, true);
});
