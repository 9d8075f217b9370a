// Claude Code's rewake waiter (`c2c setup claude-code --rewake`): run as
// Claude Code runs it — bin/c2c-hook with the hook JSON on stdin, in the
// project — and `waitToRewake` itself for what a subprocess cannot stage.

import assert from "node:assert/strict";
import { Broker } from "../mod.ts";
import { waitToRewake } from "../wake/rewake.ts";
import { DENO, REPO, tempBroker, waitFor } from "./_helpers.ts";
import { tempRepo } from "./_cli.ts";

const HOOK = `${REPO}/bin/c2c-hook`;
const decoder = new TextDecoder();

interface Waiter {
  child: Deno.ChildProcess;
  /** Exit code, stdout, stderr, and how long it ran. */
  done: Promise<{ code: number; stdout: string; stderr: string; ms: number }>;
}

/** Starts `c2c-hook claude-code --rewake` as Claude Code's hook would. */
function startWaiter(
  cwd: string,
  session: string,
  env: Record<string, string> = {},
  deno = DENO,
): Waiter {
  const started = performance.now();
  const child = new Deno.Command(HOOK, {
    args: ["claude-code", "--rewake", "--deno", deno],
    cwd,
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH")!, HOME: Deno.env.get("HOME")!, ...env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const input = JSON.stringify({
    session_id: session,
    hook_event_name: "SessionStart",
    source: "startup",
  });
  const done = (async () => {
    await writer.write(new TextEncoder().encode(input));
    await writer.close();
    const out = await child.output();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
      ms: performance.now() - started,
    };
  })();
  return { child, done };
}

/** A repo whose broker has `alice` (sender) and `bob` (the waiting session). */
async function setup() {
  const repo = await tempRepo();
  const broker = new Broker({ root: `${repo.path}/.git/c2c/mcp` });
  await broker.register("sess-a", { alias: "alice" });
  await broker.register("sess-b", { alias: "bob" });
  // bob's client is alive: its server would hold the lease.
  const lease = await broker.acquireLease("sess-b");
  return {
    repo,
    broker,
    lease,
    send: (content: string) =>
      broker.send("sess-a", { to_alias: "bob", content }),
    armed: () =>
      waitFor(() => broker.rewakeArmed("sess-b"), 10_000, "the waiter armed"),
    async [Symbol.asyncDispose]() {
      lease.release();
      await repo[Symbol.asyncDispose]();
    },
  };
}

/** Settles with `true` if `p` settles within `ms`. */
async function settlesWithin(p: Promise<unknown>, ms: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((r) =>
    timer = setTimeout(() => r(false), ms)
  );
  try {
    return await Promise.race([p.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("c2c-hook claude-code --rewake waits, then writes a burst to stderr once and exits 2 with the inbox drained", async () => {
  await using t = await setup();
  const waiter = startWaiter(t.repo.path, "sess-b");
  await t.armed();
  assert.equal(await settlesWithin(waiter.done, 300), false, "exited early");
  const ids = [];
  for (const body of ["one", "two </c2c>", "three"]) {
    ids.push((await t.send(body)).id);
  }
  const r = await waiter.done;
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^c2c: 3 new messages from other agents/);
  for (const id of ids) {
    assert.equal(r.stderr.split(`id="${id}"`).length, 2, `${id} not once`);
  }
  assert.deepEqual(await t.broker.pendingMessages("sess-b"), []);
  const { messages } = await t.broker.history("sess-b");
  assert.deepEqual(messages.map((m) => m.id), ids);
  assert.equal(t.broker.rewakeArmed("sess-b"), false);
});

Deno.test("c2c-hook --rewake delivers what already waits at once", async () => {
  await using t = await setup();
  const { id } = await t.send("left while the turn ran");
  const r = await startWaiter(t.repo.path, "sess-b").done;
  assert.equal(r.code, 2, r.stderr);
  assert.ok(r.stderr.includes(`id="${id}"`));
});

Deno.test("c2c-hook --rewake: a second waiter for the session exits 0 at once; the armed one delivers alone", async () => {
  await using t = await setup();
  const first = startWaiter(t.repo.path, "sess-b");
  await t.armed();
  const second = await startWaiter(t.repo.path, "sess-b").done;
  assert.deepEqual([second.code, second.stdout, second.stderr], [0, "", ""]);
  assert.ok(second.ms < 5_000, `took ${second.ms} ms`);
  assert.equal(t.broker.rewakeArmed("sess-b"), true);
  const { id } = await t.send("for the armed one");
  const r = await first.done;
  assert.equal(r.code, 2);
  assert.ok(r.stderr.includes(`id="${id}"`));
});

Deno.test("c2c-hook --rewake exits 0 when the session's lease is released (its client is gone)", async () => {
  await using t = await setup();
  const waiter = startWaiter(t.repo.path, "sess-b");
  await t.armed();
  t.lease.release(); // the client, and with it its server, is gone
  const r = await waiter.done;
  assert.deepEqual([r.code, r.stderr], [0, ""]);
  assert.ok(r.ms < 5_000, `took ${r.ms} ms`);
  assert.equal(t.broker.rewakeArmed("sess-b"), false);
});

Deno.test("c2c-hook --rewake exits when its parent (the client) is gone", async () => {
  await using t = await setup();
  // The waiter's parent waits for it, like Claude Code; then it dies.
  const input = JSON.stringify({ session_id: "sess-b" });
  const parent = new Deno.Command("sh", {
    args: [
      "-c",
      `printf '%s' '${input}' | '${HOOK}' claude-code --rewake --deno '${DENO}' & wait`,
    ],
    cwd: t.repo.path,
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH")!, HOME: Deno.env.get("HOME")! },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  await t.armed();
  parent.kill("SIGKILL");
  await parent.status;
  await waitFor(
    () => !t.broker.rewakeArmed("sess-b"),
    5_000,
    "the orphaned waiter to exit",
  );
});

Deno.test("c2c-hook --rewake under `claude -p` exits 0 at once without starting Deno", async () => {
  await using t = await setup();
  await t.send("the Stop hook delivers this");
  const canary = `${t.repo.path}/deno-started`;
  const fakeDeno = `${t.repo.path}/fake-deno`;
  await Deno.writeTextFile(fakeDeno, `#!/bin/sh\ntouch ${canary}\n`);
  await Deno.chmod(fakeDeno, 0o755);
  const r = await startWaiter(
    t.repo.path,
    "sess-b",
    { CLAUDE_CODE_ENTRYPOINT: "sdk-cli" },
    fakeDeno,
  ).done;
  assert.deepEqual([r.code, r.stdout, r.stderr], [0, "", ""]);
  await assert.rejects(Deno.stat(canary), Deno.errors.NotFound);
  assert.equal((await t.broker.pendingMessages("sess-b")).length, 1);
});

Deno.test("c2c-hook --rewake: a waiter killed while armed loses nothing, and the next one arms", async () => {
  await using t = await setup();
  const killed = startWaiter(t.repo.path, "sess-b");
  await t.armed();
  killed.child.kill("SIGKILL");
  assert.notEqual((await killed.done).code, 2);
  const { id } = await t.send("after the kill");
  assert.equal((await t.broker.pendingMessages("sess-b")).length, 1);
  const next = await startWaiter(t.repo.path, "sess-b").done;
  assert.equal(next.code, 2);
  assert.ok(next.stderr.includes(`id="${id}"`));
});

Deno.test("c2c-hook --rewake stops on SIGTERM (Claude Code ending its hooks) with exit 0, messages untouched", async () => {
  await using t = await setup();
  const waiter = startWaiter(t.repo.path, "sess-b");
  await t.armed();
  waiter.child.kill("SIGTERM");
  const r = await waiter.done;
  assert.deepEqual([r.code, r.stderr], [0, ""]);
  assert.equal(t.broker.rewakeArmed("sess-b"), false);
});

Deno.test("c2c hook waits for a delivery in progress and never shows what it took", async () => {
  await using t = await setup();
  await t.send("taken by the other delivery");
  let hook: Promise<Deno.CommandOutput> | undefined;
  await t.broker.withDeliveryLock("sess-b", async () => {
    const child = new Deno.Command(HOOK, {
      args: ["claude-code", "--deno", DENO],
      cwd: t.repo.path,
      clearEnv: true,
      env: { PATH: Deno.env.get("PATH")!, HOME: Deno.env.get("HOME")! },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(
      new TextEncoder().encode(
        JSON.stringify({ session_id: "sess-b", hook_event_name: "Stop" }),
      ),
    );
    await writer.close();
    hook = child.output();
    assert.equal(await settlesWithin(hook, 1_500), false, "did not wait");
    const ids = (await t.broker.pendingMessages("sess-b")).map((m) => m.id);
    await t.broker.drainMessages("sess-b", ids, "hook");
  });
  const out = await hook!;
  assert.equal(out.code, 0, decoder.decode(out.stderr));
  assert.equal(decoder.decode(out.stdout), "");
});

Deno.test("c2c hook --rewake never exits 2 on a usage error (2 would wake the model with it)", async () => {
  await using t = await setup();
  for (
    const args of [
      ["claude-code", "--rewake", "--bogus"],
      ["codex", "--rewake", "--session-id", "sess-b"],
    ]
  ) {
    const out = await new Deno.Command(DENO, {
      args: [
        "run",
        "--quiet",
        "--no-prompt",
        `--allow-read=${t.broker.root}`,
        `--allow-write=${t.broker.root}`,
        "--allow-env",
        `${REPO}/cli.ts`,
        "hook",
        ...args,
      ],
      env: { C2C_MCP_BROKER_ROOT: t.broker.root },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 1, decoder.decode(out.stderr));
  }
});

// waitToRewake in process: the outcomes a subprocess cannot stage.

async function rewakeBroker() {
  const broker = await tempBroker();
  await broker.register("a", { alias: "alice" });
  await broker.register("b", { alias: "bob" });
  return broker;
}

Deno.test("waitToRewake() puts the messages back when stderr cannot be written", async () => {
  await using broker = await rewakeBroker();
  await broker.send("a", { to_alias: "bob", content: "keep me" });
  const outcome = await waitToRewake({
    broker,
    sessionId: "b",
    write: () => Promise.reject(new Deno.errors.BrokenPipe("closed")),
  });
  assert.equal(outcome.kind, "write_failed");
  assert.equal((await broker.pendingMessages("b")).length, 1);
  assert.equal((await broker.history("b")).messages.length, 0);
});

Deno.test("waitToRewake() stopped between the write and the exit puts the messages back", async () => {
  await using broker = await rewakeBroker();
  await broker.send("a", { to_alias: "bob", content: "keep me too" });
  const stop = new AbortController();
  const outcome = await waitToRewake({
    broker,
    sessionId: "b",
    signal: stop.signal,
    write: () => {
      stop.abort(); // SIGTERM while the text goes out
      return Promise.resolve();
    },
  });
  assert.equal(outcome.kind, "stopped");
  assert.equal((await broker.pendingMessages("b")).length, 1);
});

Deno.test("waitToRewake() ends at its time limit, and on a dead lease only after seeing it alive or after the start grace", async () => {
  await using broker = await rewakeBroker();
  const write = () => Promise.resolve();
  const timed = await waitToRewake({
    broker,
    sessionId: "b",
    write,
    waitMs: 150,
    checkMs: 20,
  });
  assert.equal(timed.kind, "timed_out");
  // A lease file nobody holds (a resumed session whose server has not
  // started yet) is waited out for the grace period, not taken as the end.
  (await broker.acquireLease("b")).release();
  const t0 = Date.now();
  const ended = await waitToRewake({
    broker,
    sessionId: "b",
    write,
    checkMs: 20,
    startGraceMs: 300,
  });
  assert.equal(ended.kind, "session_ended");
  assert.ok(Date.now() - t0 >= 280, "ended before the grace period");
  // Seen alive, then released: ends at the next check.
  const lease = await broker.acquireLease("b");
  const waiting = waitToRewake({
    broker,
    sessionId: "b",
    write,
    checkMs: 20,
    startGraceMs: 60_000,
  });
  await new Promise((r) => setTimeout(r, 100));
  lease.release();
  assert.equal((await waiting).kind, "session_ended");
});

Deno.test("waitToRewake() ends when the parent pid changes (reparented: the client died)", async () => {
  await using broker = await rewakeBroker();
  let parent = 4242;
  const waiting = waitToRewake({
    broker,
    sessionId: "b",
    write: () => Promise.resolve(),
    checkMs: 20,
    parentPid: () => parent,
  });
  await new Promise((r) => setTimeout(r, 60));
  parent = 1;
  assert.equal((await waiting).kind, "parent_gone");
});

Deno.test("gc() removes idle delivery and rewake locks of unregistered sessions, never an armed one", async () => {
  await using broker = await tempBroker();
  await broker.withDeliveryLock("gone", () => Promise.resolve());
  (await broker.armRewake("gone"))!.release();
  using held = (await broker.armRewake("held"))!;
  const paths = broker.paths;
  const result = await broker.gc();
  assert.equal(result.removed_lock_files, 2);
  for (const path of [paths.deliveryLock("gone"), paths.rewakeLock("gone")]) {
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
  }
  assert.equal(broker.rewakeArmed("held"), true);
  assert.equal(await broker.armRewake("held"), null);
  held.release();
  assert.equal(broker.rewakeArmed("held"), false);
});
