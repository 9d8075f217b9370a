// wait_for_message and set_status over MCP, with real server processes and
// the SDK client: a wait wakes on a matching send from another server and
// takes only what matches; it times out cleanly; a call the client cancels
// takes nothing. A status shows in peers' list (with cwd and branch) and is
// gone once the session's server is killed.

import assert from "node:assert/strict";
import type { Message } from "../lib/message.ts";
import type { ListResult, WaitResult } from "../lib/types.ts";
import { connect, type Connection } from "./_mcp.ts";
import { waitFor } from "./_helpers.ts";

/** Starts a server that auto-registers `alias` under session `alias-s`. */
function agent(
  root: string,
  alias: string,
  env: Record<string, string> = {},
  cwd?: string,
): Promise<Connection> {
  return connect(root, {
    C2C_MCP_SESSION_ID: `${alias}-s`,
    C2C_MCP_AUTO_REGISTER_ALIAS: alias,
    ...env,
  }, { cwd });
}

/**
 * Calls wait_for_message; `armed` resolves at the progress notification
 * the server sends once its inbox watch waits (an event, not a delay).
 */
function startWait(
  c: Connection,
  args: Record<string, unknown>,
  signal?: AbortSignal,
): { armed: Promise<void>; result: Promise<WaitResult> } {
  const armed = Promise.withResolvers<void>();
  const result = c.client.callTool(
    { name: "wait_for_message", arguments: args },
    undefined,
    { onprogress: () => armed.resolve(), signal, timeout: 120_000 },
  ).then((r) => {
    if (r.isError) throw new Error(JSON.stringify(r.content));
    return r.structuredContent as unknown as WaitResult;
  });
  return { armed: armed.promise, result };
}

function contents(messages: readonly Message[] | undefined): string[] {
  return (messages ?? []).map((m) => m.content);
}

Deno.test("wait_for_message returns a matching send from another server, leaves the others queued, and times out cleanly", async () => {
  const root = await Deno.makeTempDir({ prefix: "c2c-wait-" });
  await using alpha = await agent(root, "alpha");
  await using bravo = await agent(root, "bravo");
  await using charlie = await agent(root, "charlie");
  for (const c of [alpha, bravo, charlie]) await c.ok("register");

  const wait = startWait(bravo, { from_alias: "alpha", timeout_s: 50 });
  await wait.armed;
  await charlie.ok("send", { to_alias: "bravo", content: "not for the wait" });
  const sent = await alpha.ok<{ id: string }>("send", {
    to_alias: "bravo",
    content: "the answer",
  });
  const got = await wait.result;
  assert.equal(got.timed_out, false);
  assert.deepEqual(contents(got.messages), ["the answer"]);
  assert.equal(got.messages[0].id, sent.id);
  assert.equal(got.remaining, 1);

  // The non-matching message stayed queued, and is still there.
  const peek = await bravo.ok<WaitResult>("peek_inbox");
  assert.deepEqual(contents(peek.messages), ["not for the wait"]);

  // Nothing from alpha now: a clean timeout that takes nothing.
  const none = await bravo.call("wait_for_message", {
    from_alias: "alpha",
    timeout_s: 0.2,
  });
  assert.equal(none.isError, undefined);
  assert.deepEqual(none.structuredContent, {
    messages: [],
    remaining: 1,
    timed_out: true,
  });
  assert.match(
    (none.content[0] as { text: string }).text,
    /no matching message came/,
  );
  const poll = await bravo.ok<WaitResult>("poll_inbox");
  assert.deepEqual(contents(poll.messages), ["not for the wait"]);

  // A matching message already waiting is returned at once, in the
  // envelope text form too; reply_to matches the answer only.
  const ask = await bravo.ok<{ id: string }>("send", {
    to_alias: "alpha",
    content: "ready?",
  });
  await alpha.ok("send", { to_alias: "bravo", content: "unrelated" });
  await alpha.ok("send", {
    to_alias: "bravo",
    content: "yes, ready",
    reply_to: ask.id,
  });
  const answer = await bravo.call("wait_for_message", { reply_to: ask.id });
  assert.deepEqual(
    contents((answer.structuredContent as unknown as WaitResult).messages),
    ["yes, ready"],
  );
  assert.match(
    (answer.content[0] as { text: string }).text,
    /<c2c event="message"[^>]*>yes, ready<\/c2c>/,
  );

  // Bad arguments are one-line errors.
  assert.match(
    await bravo.fails("wait_for_message", { timeout_s: 600 }),
    /timeout_s/,
  );
});

Deno.test("wait_for_message cancelled by the client takes nothing: a later matching message stays queued", async () => {
  const root = await Deno.makeTempDir({ prefix: "c2c-wait-cancel-" });
  await using alpha = await agent(root, "alpha");
  await using bravo = await agent(root, "bravo");
  for (const c of [alpha, bravo]) await c.ok("register");
  const abort = new AbortController();
  const wait = startWait(
    bravo,
    { from_alias: "alpha", timeout_s: 50 },
    abort.signal,
  );
  await wait.armed;
  abort.abort();
  await assert.rejects(wait.result);
  // The server has let go of the wait once its audit entry says so.
  await waitFor(
    async () => {
      const log = await bravo.ok<
        { entries: { tool: string; error?: string }[] }
      >(
        "tail_log",
        { limit: 20 },
      );
      return log.entries.some((e) =>
        e.tool === "wait_for_message" && e.error === "wait_cancelled"
      );
    },
    30_000,
    "the cancelled wait's audit entry",
  );
  await alpha.ok("send", { to_alias: "bravo", content: "after the cancel" });
  const peek = await bravo.ok<WaitResult>("peek_inbox");
  assert.deepEqual(contents(peek.messages), ["after the cancel"]);
  const history = await bravo.ok<{ messages: Message[] }>("history");
  assert.deepEqual(history.messages, []);
});

Deno.test("set_status shows in peers' list with cwd and branch, and vanishes when the session's server is killed", async () => {
  const root = await Deno.makeTempDir({ prefix: "c2c-status-" });
  const work = await Deno.makeTempDir({ prefix: "c2c-status-work-" });
  await using watcher = await agent(root, "watcher");
  const worker = await agent(
    root,
    "worker",
    { C2C_MCP_GIT_BRANCH: "fix/login" },
    work,
  );
  try {
    await watcher.ok("register");
    await worker.ok("register");
    const set = await worker.ok<{ status: string }>("set_status", {
      status: "fixing the\x1b[2J flaky\nlogin test",
    });
    assert.equal(set.status, "fixing the [2J flaky login test");
    const seen = await watcher.ok<ListResult>("list");
    const peer = seen.peers.find((p) => p.alias === "worker");
    assert.equal(peer?.status, "fixing the [2J flaky login test");
    assert.equal(peer?.git_branch, "fix/login");
    assert.equal(peer?.cwd, await Deno.realPath(work));
    assert.ok(peer?.status_at);
    assert.match(
      await worker.fails("set_status", { status: "x".repeat(121) }),
      /at most 120/,
    );

    const exited = new Promise<void>((resolve) => {
      worker.transport.onclose = () => resolve();
    });
    const pid = worker.transport.pid;
    assert.ok(pid);
    Deno.kill(pid, "SIGKILL");
    await exited; // the kernel released its lease
    const dead = (await watcher.ok<ListResult>("list")).peers.find((p) =>
      p.alias === "worker"
    );
    assert.equal(dead?.alive, false);
    assert.equal(dead?.status, undefined);
    await watcher.ok("sweep");
    const after = await watcher.ok<ListResult>("list");
    assert.deepEqual(after.peers.map((p) => p.alias), ["watcher"]);
  } finally {
    await worker.close();
  }
});
