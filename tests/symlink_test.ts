// A hostile peer plants symlinks in the broker root so that a c2c process,
// whose Deno permissions are scoped to the root, reads or writes outside it
// (Deno checks the path as written, not where a link leads). Every case runs
// the real CLI or server with the scoped flags and checks the outside files.

import assert from "node:assert/strict";
import { atomicWriteText, ensureDir } from "../lib/_fs.ts";
import { c2c, exits, registerAll, tempDir } from "./_cli.ts";
import { connect } from "./_mcp.ts";

/** A broker root and a directory outside it, both removed afterwards. */
async function rootAndOutside() {
  const root = await tempDir("c2c-root-");
  const outside = await tempDir("c2c-outside-");
  return {
    root: root.path,
    outside: outside.path,
    async [Symbol.asyncDispose]() {
      await root[Symbol.asyncDispose]();
      await outside[Symbol.asyncDispose]();
    },
  };
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("the audit log never appends through a planted broker.log link", async () => {
  await using dirs = await rootAndOutside();
  const target = `${dirs.outside}/precious.txt`;
  Deno.writeTextFileSync(target, "keep me\n");
  Deno.symlinkSync(target, `${dirs.root}/broker.log`);
  exits(await c2c(dirs.root, ["register", "a-s", "--alias", "a"]), 0);
  exits(await c2c(dirs.root, ["list"]), 0);
  assert.equal(Deno.readTextFileSync(target), "keep me\n");
  const log = exits(await c2c(dirs.root, ["tail-log", "--json"]), 1).error();
  assert.equal(log.code, "symlink_refused");
  assert.match(log.message, /broker\.log is a symlink/);
});

Deno.test("an inbox replaced by a link to a forged file is refused, never shown", async () => {
  await using dirs = await rootAndOutside();
  await registerAll(dirs.root, ["a", "b"]);
  const forged = `${dirs.outside}/forged.jsonl`;
  const line = JSON.stringify({
    id: "x",
    ts: "2026-01-01T00:00:00.000Z",
    from_alias: "a",
    to_alias: "b",
    content: "FORGED",
  });
  Deno.writeTextFileSync(forged, line + "\n");
  Deno.symlinkSync(forged, `${dirs.root}/b-s.inbox.jsonl`);
  for (const command of ["peek-inbox", "poll-inbox"]) {
    const r = exits(
      await c2c(dirs.root, [command, "--session-id", "b-s", "--json"]),
      1,
    );
    assert.doesNotMatch(r.stdout, /FORGED/);
    assert.equal(r.error().code, "symlink_refused");
    assert.match(r.error().message, /b-s\.inbox\.jsonl is a symlink/);
  }
  const send = exits(
    await c2c(dirs.root, ["send", "b", "hi", "--session-id", "a-s", "--json"]),
    1,
  );
  assert.equal(send.error().code, "symlink_refused");
  assert.equal(Deno.readTextFileSync(forged), line + "\n");
});

Deno.test("a dangling link in place of a lock file creates nothing outside the root", async () => {
  await using dirs = await rootAndOutside();
  Deno.mkdirSync(`${dirs.root}/locks`);
  const target = `${dirs.outside}/created-by-c2c`;
  Deno.symlinkSync(target, `${dirs.root}/locks/registry.lock`);
  const r = exits(
    await c2c(dirs.root, ["register", "a-s", "--alias", "a", "--json"]),
    1,
  );
  assert.equal(r.error().code, "symlink_refused");
  assert.match(r.error().message, /locks\/registry\.lock is a symlink/);
  assert.equal(exists(target), false);
});

Deno.test("a link in place of registry.json is refused and its target kept", async () => {
  await using dirs = await rootAndOutside();
  const target = `${dirs.outside}/registry.json`;
  Deno.writeTextFileSync(target, "[]\n");
  Deno.symlinkSync(target, `${dirs.root}/registry.json`);
  for (const args of [["list"], ["register", "a-s", "--alias", "a"]]) {
    const r = exits(await c2c(dirs.root, [...args, "--json"]), 1);
    assert.equal(r.error().code, "symlink_refused");
    assert.match(r.error().message, /registry\.json is a symlink/);
  }
  assert.equal(Deno.readTextFileSync(target), "[]\n");
});

Deno.test("atomicWriteText() never writes through a link planted under a temp name", async () => {
  await using dirs = await rootAndOutside();
  ensureDir(dirs.root, true);
  const path = `${dirs.root}/registry.json`;
  // Names the temp file could have had when they were pid and counter.
  for (let n = 1; n <= 200; n++) {
    Deno.symlinkSync(
      `${dirs.outside}/victim-${n}`,
      `${path}.${Deno.pid}.${n}.tmp`,
    );
  }
  for (let i = 0; i < 20; i++) atomicWriteText(path, `[${i}]\n`);
  assert.equal(Deno.readTextFileSync(path), "[19]\n");
  assert.deepEqual([...Deno.readDirSync(dirs.outside)], []);
});

Deno.test("a running server refuses a directory swapped for a link after it created it", async () => {
  await using dirs = await rootAndOutside();
  await using alice = await connect(dirs.root, {
    C2C_MCP_SESSION_ID: "alice-s",
    C2C_MCP_AUTO_REGISTER_ALIAS: "alice",
  });
  await using bob = await connect(dirs.root, {
    C2C_MCP_SESSION_ID: "bob-s",
    C2C_MCP_AUTO_REGISTER_ALIAS: "bob",
  });
  await alice.ok("send", { to_alias: "bob", content: "one" });
  await bob.ok("poll_inbox"); // creates archive/
  await alice.ok("send", { to_alias: "bob", content: "two" });
  Deno.removeSync(`${dirs.root}/archive`, { recursive: true });
  Deno.symlinkSync(dirs.outside, `${dirs.root}/archive`);
  const text = await bob.fails("poll_inbox");
  assert.match(text, /archive is a symlink/);
  assert.deepEqual([...Deno.readDirSync(dirs.outside)], []);
  // The message is still pending: nothing was taken.
  const peek = await bob.ok<{ messages: { content: string }[] }>(
    "peek_inbox",
  );
  assert.deepEqual(peek.messages.map((m) => m.content), ["two"]);
});

Deno.test("a sender's sent log replaced by a link is refused: nothing written outside, nothing sent", async () => {
  await using dirs = await rootAndOutside();
  await registerAll(dirs.root, ["a", "b"]);
  const target = `${dirs.outside}/precious.txt`;
  Deno.writeTextFileSync(target, "keep me\n");
  Deno.mkdirSync(`${dirs.root}/archive/sent`, { recursive: true });
  Deno.symlinkSync(target, `${dirs.root}/archive/sent/a.jsonl`);
  const sent = exits(
    await c2c(dirs.root, ["send", "b", "hello", "--alias", "a", "--json"]),
    1,
  ).error();
  assert.equal(sent.code, "symlink_refused");
  assert.match(sent.message, /archive\/sent\/a\.jsonl is a symlink/);
  assert.equal(Deno.readTextFileSync(target), "keep me\n");
  const peek = exits(
    await c2c(dirs.root, ["peek-inbox", "--alias", "b", "--json"]),
    0,
  ).json() as { messages: unknown[] };
  assert.deepEqual(peek.messages, []);
});
