// File claims through the MCP server (real servers over stdio, the SDK
// client): the claim, release and claims tools, the claim count in list,
// the holder's event="claim" notice, and a SIGKILLed holder whose claims
// are gone for the others the moment its process is.

import assert from "node:assert/strict";
import type { z } from "zod";
import * as schemas from "../mcp/schemas.ts";
import type * as types from "../lib/types.ts";
import { connect, type Connection } from "./_mcp.ts";
import { tempDir } from "./_cli.ts";

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
function same<A, B>(_proof: Same<A, B>): void {}
same<z.infer<typeof schemas.ClaimInfoSchema>, types.ClaimInfo>(true);
same<z.infer<typeof schemas.ClaimConflictSchema>, types.ClaimConflict>(true);
same<z.infer<typeof schemas.ClaimResultSchema>, types.ClaimResult>(true);
same<z.infer<typeof schemas.ReleaseResultSchema>, types.ReleaseResult>(true);
same<z.infer<typeof schemas.ClaimsResultSchema>, types.ClaimsResult>(true);

/** A server speaking for session `<alias>-s`, registered as `alias`. */
function server(root: string, alias: string): Promise<Connection> {
  return connect(root, {
    C2C_MCP_SESSION_ID: `${alias}-s`,
    C2C_MCP_AUTO_REGISTER_ALIAS: alias,
  });
}

Deno.test("claim, release and claims tools: conflicts, the holder's notice, counts in list", async () => {
  await using dir = await tempDir("c2c-claims-mcp-");
  await using alice = await server(dir.path, "alice");
  await using bob = await server(dir.path, "bob");
  await alice.ok("register");
  await bob.ok("register");
  const a = await alice.ok<types.ClaimResult>("claim", {
    paths: ["lib/**", "README.md"],
    reason: "splitting the store",
  });
  assert.deepEqual(a.granted.map((g) => g.path), ["lib/**", "README.md"]);
  const b = await bob.ok<types.ClaimResult>("claim", {
    paths: ["lib/a.ts", "docs/"],
    reason: "typo",
  });
  assert.deepEqual(b.granted.map((g) => g.path), ["docs/**"]);
  assert.deepEqual(
    b.conflicts.map((c) => [c.path, c.held_path, c.holder, c.reason]),
    [["lib/a.ts", "lib/**", "alice", "splitting the store"]],
  );
  assert.deepEqual(b.notified, ["alice"]);
  assert.deepEqual(schemas.ClaimResultSchema.parse(b), b);
  // The holder reads the notice as an event="claim" envelope.
  const polled = await alice.call("poll_inbox");
  const text = (polled.content[0] as { text: string }).text;
  assert.match(text, /^<c2c event="claim" from="bob" alias="alice" /);
  assert.match(text, /bob asked to claim lib\/a\.ts/);
  const inbox = polled.structuredContent as unknown as types.InboxResult;
  assert.equal(inbox.messages[0].event, "claim");
  // list counts each peer's claims.
  const list = await bob.ok<types.ListResult>("list");
  assert.deepEqual(
    list.peers.map((p) => [p.alias, p.claims]),
    [["alice", 2], ["bob", 1]],
  );
  const over = await bob.ok<types.ClaimsResult>("claims", {
    path: "lib/x/y.ts",
  });
  assert.deepEqual(over.claims.map((c) => [c.path, c.holder]), [[
    "lib/**",
    "alice",
  ]]);
  assert.deepEqual(
    await alice.ok("release", { paths: ["lib/**", "nope.ts"] }),
    { released: ["lib/**"], not_held: ["nope.ts"] },
  );
  const now = await bob.ok<types.ClaimResult>("claim", {
    paths: ["lib/a.ts"],
    reason: "typo",
  });
  assert.deepEqual(now.granted.map((g) => g.path), ["lib/a.ts"]);
  // Refusals are one-line tool errors naming the path.
  assert.match(
    await bob.fails("claim", { paths: ["../../etc/passwd"], reason: "x" }),
    /claim path '\.\.\/\.\.\/etc\/passwd' has a '\.\.' segment/,
  );
  assert.match(
    await bob.fails("claim", { paths: ["/etc/passwd"], reason: "x" }),
    /absolute/,
  );
  assert.match(
    await bob.fails("claim", { paths: ["a.ts"], reason: "" }),
    /reason must say why/,
  );
});

Deno.test("a SIGKILLed holder's claims are gone for the others the moment its server dies", async () => {
  await using dir = await tempDir("c2c-claims-kill-");
  await using bob = await server(dir.path, "bob");
  await bob.ok("register");
  const alice = await server(dir.path, "alice");
  try {
    await alice.ok("register");
    await alice.ok("claim", { paths: ["src/**"], reason: "rewriting src" });
    const before = await bob.ok<types.ClaimResult>("claim", {
      paths: ["src/main.ts"],
      reason: "hotfix",
    });
    assert.equal(before.conflicts.length, 1);
    const exited = new Promise<void>((resolve) => {
      alice.transport.onclose = () => resolve();
    });
    const pid = alice.transport.pid;
    assert.ok(pid);
    Deno.kill(pid, "SIGKILL");
    await exited; // the process is gone: the kernel released its lease
    const after = await bob.ok<types.ClaimResult>("claim", {
      paths: ["src/main.ts"],
      reason: "hotfix",
    });
    assert.deepEqual(after.granted.map((g) => g.path), ["src/main.ts"]);
    assert.deepEqual(after.conflicts, []);
    const all = await bob.ok<types.ClaimsResult>("claims");
    assert.deepEqual(all.claims.map((c) => c.holder), ["bob"]);
  } finally {
    await alice.close();
  }
});
