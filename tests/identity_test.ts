// A CLI call must not send as, read, drain or rename a session that a live
// MCP server holds, unless it runs inside that session's own client; and a
// shell registration must not keep a live session from its alias.

import assert from "node:assert/strict";
import { c2c, exits, tempDir } from "./_cli.ts";
import { connect } from "./_mcp.ts";

async function twoServers(root: string) {
  const victim = await connect(root, {
    C2C_MCP_SESSION_ID: "victim-s",
    C2C_MCP_AUTO_REGISTER_ALIAS: "victim",
  });
  const bob = await connect(root, {
    C2C_MCP_SESSION_ID: "bob-s",
    C2C_MCP_AUTO_REGISTER_ALIAS: "bob",
  });
  await bob.ok("send", { to_alias: "victim", content: "for victim only" });
  return {
    victim,
    bob,
    async [Symbol.asyncDispose]() {
      await victim.close();
      await bob.close();
    },
  };
}

for (
  const [what, args] of [
    ["--alias", ["--alias", "victim"]],
    ["--session-id", ["--session-id", "victim-s"]],
  ]
) {
  Deno.test(`CLI ${what} cannot send as, read or drain a live server's session`, async () => {
    await using dir = await tempDir();
    await using s = await twoServers(dir.path);
    for (
      const command of [
        ["send", "bob", "forged", ...args],
        ["send-all", "forged", ...args],
        ["poll-inbox", ...args],
        ["peek-inbox", ...args],
        ["history", ...args],
        ["room", "join", "lounge", ...args],
        ...(args[0] === "--session-id"
          ? [["register", ...args, "--alias", "renamed"]]
          : []),
      ]
    ) {
      const r = exits(await c2c(dir.path, [...command, "--json"]), 1);
      assert.equal(r.error().code, "session_borrowed", command.join(" "));
      assert.match(r.error().message, /'victim' \(session victim-s\)/);
      assert.match(r.error().message, /c2c register --alias NAME/);
      assert.doesNotMatch(r.stdout, /for victim only/);
    }
    const peek = await s.victim.ok<{ messages: { content: string }[] }>(
      "peek_inbox",
    );
    assert.deepEqual(peek.messages.map((m) => m.content), ["for victim only"]);
    const bobs = await s.bob.ok<{ messages: unknown[] }>("peek_inbox");
    assert.deepEqual(bobs.messages, []);
    const me = await s.victim.ok<{ alias: string }>("whoami");
    assert.equal(me.alias, "victim");
  });
}

Deno.test("CLI register SESSION_ID cannot rename a live server's session", async () => {
  await using dir = await tempDir();
  await using s = await twoServers(dir.path);
  const r = exits(
    await c2c(dir.path, ["register", "victim-s", "--alias", "x", "--json"]),
    1,
  );
  assert.equal(r.error().code, "session_borrowed");
  assert.equal(
    (await s.victim.ok<{ alias: string }>("whoami")).alias,
    "victim",
  );
});

Deno.test("CLI inside the session's own client (its id in the environment) acts as it", async () => {
  await using dir = await tempDir();
  await using _s = await twoServers(dir.path);
  for (const name of ["C2C_MCP_SESSION_ID", "CLAUDE_CODE_SESSION_ID"]) {
    const r = exits(
      await c2c(dir.path, ["peek-inbox", "--json"], {
        env: { [name]: "victim-s" },
      }),
      0,
    );
    assert.match(r.stdout, /for victim only/);
  }
  // Under `c2c run` both are set to the client's own id.
  exits(
    await c2c(dir.path, ["peek-inbox", "--json"], {
      env: { C2C_SESSION_ID: "victim-s", C2C_MCP_SESSION_ID: "victim-s" },
    }),
    0,
  );
  // C2C_SESSION_ID alone is a shell's own session, not a client's: borrowing.
  const r = exits(
    await c2c(dir.path, ["peek-inbox", "--json"], {
      env: { C2C_SESSION_ID: "victim-s" },
    }),
    1,
  );
  assert.equal(r.error().code, "session_borrowed");
});

Deno.test("a shell registration yields its alias to a live server's session", async () => {
  await using dir = await tempDir();
  exits(await c2c(dir.path, ["register", "--alias", "alice"]), 0);
  exits(
    await c2c(dir.path, ["register", "--alias", "carol", "--session-id", "c"]),
    0,
  );
  exits(
    await c2c(dir.path, ["send", "alice", "queued", "--alias", "carol"]),
    0,
  );
  await using alice = await connect(dir.path, {
    C2C_MCP_SESSION_ID: "alice-server",
    C2C_MCP_AUTO_REGISTER_ALIAS: "alice",
  });
  const me = await alice.ok<{ alias: string; session_id: string }>("whoami");
  assert.deepEqual(me, { ...me, alias: "alice", session_id: "alice-server" });
  const polled = await alice.ok<{ messages: { content: string }[] }>(
    "poll_inbox",
  );
  assert.deepEqual(polled.messages.map((m) => m.content), ["queued"]);
  // A live server's alias is not taken by a shell the same way.
  const r = exits(
    await c2c(dir.path, ["register", "--alias", "alice", "--json"]),
    1,
  );
  assert.match(r.error().code, /session_borrowed|alias_taken/);
});
