// `c2c wait`, `c2c set-status` and `c2c search` as real subprocesses: a
// wait prints the matching message and takes only it, exits 3 on a timeout
// taking nothing, and one ended by SIGINT takes nothing; a status shows in
// `c2c list`; search prints one line per hit, only the caller's messages.

import assert from "node:assert/strict";
import { Broker } from "../mod.ts";
import type { ListResult, WaitResult } from "../lib/types.ts";
import type { SearchResult } from "../lib/search.ts";
import { baseEnv, c2c, cliArgs, exits, registerAll, tempDir } from "./_cli.ts";
import { DENO } from "./_helpers.ts";

/** A `c2c wait` for `bravo-s`, running until it prints and exits. */
function waiter(root: string, args: string[]): Deno.ChildProcess {
  const env = { ...baseEnv(), C2C_MCP_BROKER_ROOT: root };
  return new Deno.Command(DENO, {
    args: cliArgs(root, ["wait", "--session-id", "bravo-s", ...args], env),
    clearEnv: true,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

Deno.test("c2c wait prints the matching message and takes only it; exits 3 on a timeout, taking nothing", async () => {
  await using dir = await tempDir("c2c-wait-cli-");
  await registerAll(dir.path, ["alpha", "bravo", "charlie"]);
  const broker = new Broker({ root: dir.path });
  const child = waiter(dir.path, ["--from", "alpha", "--timeout", "50s"]);
  await broker.send("charlie-s", { to_alias: "bravo", content: "not this" });
  await broker.send("alpha-s", { to_alias: "bravo", content: "this one" });
  const out = await child.output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(
    stdout,
    /<c2c event="message" from="alpha"[^>]*>this one<\/c2c>/,
  );
  assert.ok(!stdout.includes("not this"));
  const pending = await broker.peekInbox("bravo-s");
  assert.deepEqual(pending.messages.map((m) => m.content), ["not this"]);

  const timeout = await c2c(dir.path, [
    "wait",
    "--session-id",
    "bravo-s",
    "--from",
    "alpha",
    "--timeout",
    "200ms",
    "--json",
  ]);
  exits(timeout, 3);
  const r = timeout.json<WaitResult>();
  assert.equal(r.timed_out, true);
  assert.deepEqual(r.messages, []);
  assert.equal(r.remaining, 1);
  assert.equal((await broker.peekInbox("bravo-s")).messages.length, 1);

  const bad = await c2c(dir.path, [
    "wait",
    "--session-id",
    "bravo-s",
    "--timeout",
    "2h",
  ]);
  exits(bad, 1);
  assert.match(
    bad.stderr,
    /timeout_s must be a number of seconds from 0 to 3600/,
  );
});

Deno.test("c2c wait ended by SIGINT takes nothing: a later message stays queued", async () => {
  await using dir = await tempDir("c2c-wait-int-");
  await registerAll(dir.path, ["alpha", "bravo"]);
  const broker = new Broker({ root: dir.path });
  const child = waiter(dir.path, ["--from", "alpha", "--timeout", "50s"]);
  child.kill("SIGINT");
  const out = await child.output();
  assert.notEqual(out.code, 0);
  await broker.send("alpha-s", { to_alias: "bravo", content: "later" });
  const pending = await broker.peekInbox("bravo-s");
  assert.deepEqual(pending.messages.map((m) => m.content), ["later"]);
  assert.deepEqual((await broker.history("bravo-s")).messages, []);
});

Deno.test("c2c set-status shows in c2c list (table and --json); --clear removes it", async () => {
  await using dir = await tempDir("c2c-status-cli-");
  await registerAll(dir.path, ["alpha", "bravo"]);
  exits(
    await c2c(dir.path, [
      "set-status",
      "--session-id",
      "alpha-s",
      "reviewing",
      "the",
      "NATS PR",
    ]),
    0,
  );
  const json = await c2c(dir.path, ["list", "--json"]);
  exits(json, 0);
  const alpha = json.json<ListResult>().peers.find((p) => p.alias === "alpha");
  assert.equal(alpha?.status, "reviewing the NATS PR");
  assert.equal(typeof alpha?.cwd, "string");
  const text = await c2c(dir.path, ["list"]);
  assert.match(text.stdout, /STATUS/);
  assert.match(text.stdout, /reviewing the NATS PR/);
  const usage = await c2c(dir.path, ["set-status", "--session-id", "alpha-s"]);
  exits(usage, 2);
  exits(
    await c2c(dir.path, ["set-status", "--session-id", "alpha-s", "--clear"]),
    0,
  );
  const cleared = (await c2c(dir.path, ["list", "--json"])).json<ListResult>();
  assert.equal(
    cleared.peers.find((p) => p.alias === "alpha")?.status,
    undefined,
  );
});

Deno.test("c2c search prints one line per hit, newest first, only from the caller's messages and rooms", async () => {
  await using dir = await tempDir("c2c-search-cli-");
  await registerAll(dir.path, ["alpha", "bravo", "charlie"]);
  const broker = new Broker({ root: dir.path });
  await broker.send("bravo-s", {
    to_alias: "alpha",
    content: "Flaky test\x1b[2J again",
  });
  await broker.send("bravo-s", {
    to_alias: "charlie",
    content: "flaky secret",
  });
  await broker.send("alpha-s", {
    to_alias: "bravo",
    content: "fixed the flaky one",
  });
  await broker.pollInbox("alpha-s");
  const text = await c2c(dir.path, [
    "search",
    "--session-id",
    "alpha-s",
    "FLAKY",
  ]);
  exits(text, 0);
  const lines = text.stdout.trimEnd().split("\n");
  assert.equal(lines.length, 2);
  // Newest first (the two may share a millisecond: then either order).
  const mine = lines.findIndex((l) =>
    /alpha → bravo {2}fixed the flaky one {2}\(id /.test(l)
  );
  const theirs = lines.findIndex((l) =>
    /bravo → alpha {2}Flaky test\^\[\[2J again/.test(l)
  );
  assert.deepEqual([mine, theirs].sort(), [0, 1]);
  assert.ok(!text.stdout.includes("secret"));
  const json = await c2c(dir.path, [
    "search",
    "--session-id",
    "alpha-s",
    "flaky",
    "--limit",
    "1",
    "--json",
  ]);
  const r = exits(json, 0).json<SearchResult>();
  assert.equal(r.hits.length, 1);
  assert.equal(r.more, true);
  assert.equal(r.hits[0].direction, "out");
});

Deno.test("c2c send over the loop limit exits 1 with loop_detected and retry_after_s in --json", async () => {
  await using dir = await tempDir("c2c-guard-cli-");
  await registerAll(dir.path, ["alpha", "bravo"]);
  await Deno.writeTextFile(
    `${dir.path}/config.json`,
    JSON.stringify({ loop_repeat_limit: 1 }),
  );
  const send = () =>
    c2c(dir.path, [
      "send",
      "--session-id",
      "alpha-s",
      "bravo",
      "same again",
      "--json",
    ]);
  exits(await send(), 0);
  const refused = exits(await send(), 1);
  const error = JSON.parse(refused.stderr).error;
  assert.equal(error.code, "loop_detected");
  assert.ok(error.retry_after_s >= 1 && error.retry_after_s <= 60);
  assert.match(error.message, /reply loop/);
});
