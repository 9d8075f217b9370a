// The server runs with permissions scoped to the broker root: anything that
// would write elsewhere is refused, reported as a tool error, and the server
// keeps serving.

import assert from "node:assert/strict";
import { permissionFlags, SERVER_ENV } from "../lib/permissions.ts";
import { connect } from "./_mcp.ts";

Deno.test("documented server flags grant the broker root and the server's env vars only", () => {
  const flags = permissionFlags("server", { root: "/r/.git/c2c/mcp" });
  assert.deepEqual(flags, [
    "--no-prompt",
    "--allow-read=/r/.git/c2c/mcp",
    "--allow-write=/r/.git/c2c/mcp",
    `--allow-env=${SERVER_ENV.join(",")}`,
  ]);
});

Deno.test("server refuses a symlink planted in the broker root and keeps serving", async () => {
  const root = await Deno.makeTempDir({ prefix: "c2c-perm-" });
  const outside = await Deno.makeTempDir({ prefix: "c2c-outside-" });
  await Deno.symlink(outside, `${root}/rooms`);
  await using a = await connect(root, {
    C2C_MCP_SESSION_ID: "perm-s",
    C2C_MCP_AUTO_REGISTER_ALIAS: "perm",
  });
  const text = await a.fails("join_room", { room_id: "escape" });
  assert.match(text, /rooms is a symlink; c2c refuses symlinked directories/);
  assert.deepEqual([...Deno.readDirSync(outside)], []);
  const me = await a.ok<{ alias: string }>("whoami");
  assert.equal(me.alias, "perm");
});

Deno.test("server pointed at a root outside its grant reports it on every tool and stays up", async () => {
  const granted = await Deno.makeTempDir({ prefix: "c2c-granted-" });
  const other = await Deno.makeTempDir({ prefix: "c2c-other-" });
  await using a = await connect(other, {
    C2C_MCP_SESSION_ID: "perm-s",
    C2C_MCP_AUTO_REGISTER_ALIAS: "perm",
  }, {
    args: [
      "run",
      ...permissionFlags("server", { root: granted }),
      new URL("../server.ts", import.meta.url).pathname,
    ],
  });
  const text = await a.fails("whoami");
  assert.match(text, /not permitted/);
  assert.ok(text.includes(other), text);
  assert.match(await a.fails("list"), /not permitted/);
  assert.deepEqual([...Deno.readDirSync(other)], []);
  assert.deepEqual([...Deno.readDirSync(granted)], []);
});
