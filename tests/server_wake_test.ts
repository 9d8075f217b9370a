// The MCP server's own wake path, started the way `c2c setup` configures it
// and with exactly the permissions it grants: Claude Code's entry through
// bin/c2c-mcp (which grants the session's messaging socket and status file),
// Codex's entry as setup writes it (the daemon socket pinned). The client
// endpoints are fakes; the real clients are in tests/e2e/idle_wake.ts.

import assert from "node:assert/strict";
import { Broker } from "../mod.ts";
import { serverLaunch } from "../setup/launch.ts";
import { DENO, REPO } from "./_helpers.ts";
import { connect } from "./_mcp.ts";
import { baseEnv, tempRepo } from "./_cli.ts";
import {
  FakeClaudeSocket,
  FakeCodexDaemon,
  startClaudeSocketSession,
} from "./_fake_wake.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(
  predicate: () => boolean | Promise<boolean>,
  ms = 5_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await sleep(20);
  }
}

Deno.test("Claude Code entry: the server wakes its idle session through the messaging socket, once per burst", async () => {
  await using repo = await tempRepo();
  await using session = await startClaudeSocketSession(repo.path);
  const { server, socket, status } = session;
  await server.ok("whoami");
  const broker = new Broker({ root: `${repo.path}/.git/c2c/mcp` });
  const me = (await broker.registrationByAlias("cc-me"))!;
  assert.deepEqual(me.wake, {
    path: "claude-socket",
    enabled: true,
    socket: socket.path,
    status_file: status,
  });
  await broker.register("peer-s", { alias: "peer", leased: false });
  // Busy: no wake (its hooks deliver during the turn).
  await broker.send("peer-s", { to_alias: "cc-me", content: "while busy" });
  await sleep(600);
  assert.equal(socket.userLines.length, 0);
  assert.equal((await broker.pendingMessages(me.session_id)).length, 1);
  // Idle: one wake with everything waiting, a burst included.
  await Deno.writeTextFile(status, JSON.stringify({ status: "idle" }));
  for (let i = 0; i < 5; i++) {
    await broker.send("peer-s", { to_alias: "cc-me", content: `burst ${i}` });
  }
  await socket.waitForUserLines(1);
  await sleep(300);
  assert.equal(socket.userLines.length, 1);
  const content = socket.userLines[0].message.content;
  assert.match(content, /^<cross-session-message from="c2c:peer"/);
  assert.equal(content.match(/<c2c event="message"/g)?.length, 6);
  assert.deepEqual(socket.connections[0][0], {
    type: "auth",
    token: "secret",
  });
  assert.equal((await broker.pendingMessages(me.session_id)).length, 0);
});

Deno.test("Codex entry: the server finds its thread in the daemon and queues the messages on it", async () => {
  await using repo = await tempRepo();
  const root = `${repo.path}/.git/c2c/mcp`;
  await using daemon = new FakeCodexDaemon(`${repo.path}/daemon.sock`, {
    requireExperimental: true,
    threads: {
      "thread-1": { cwd: repo.path, status: "idle" },
      "other": { cwd: "/elsewhere", status: "idle" },
    },
  });
  const launch = serverLaunch({
    deno: DENO,
    repo: REPO,
    root,
    alias: "cx-me",
    client: "codex",
    denoDir: baseEnv().DENO_DIR,
    wake: "codex-daemon",
    codexSocket: daemon.path,
  });
  await using server = await connect(root, launch.env, {
    command: launch.command,
    args: launch.args,
  });
  await server.ok("whoami");
  const broker = new Broker({ root });
  await broker.register("peer-s", { alias: "peer", leased: false });
  await broker.send("peer-s", { to_alias: "cx-me", content: "wake up" });
  await until(() => daemon.queued.length === 1);
  const { threadId, input } = daemon.queued[0].params as {
    threadId: string;
    input: { text: string }[];
  };
  assert.equal(threadId, "thread-1");
  assert.match(input[0].text, /^c2c: 1 new message from other agents/);
  assert.match(input[0].text, /<c2c event="message" from="peer"[^>]*>wake up</);
  await until(async () =>
    (await broker.registrationByAlias("cx-me"))?.wake?.thread_id === "thread-1"
  );
  assert.equal((await broker.pendingMessages("cx-me")).length, 0);
  // A busy thread is left to Codex's hooks.
  daemon.threads["thread-1"].status = "active";
  await broker.send("peer-s", { to_alias: "cx-me", content: "later" });
  await sleep(600);
  assert.equal(daemon.queued.length, 1);
  assert.equal((await broker.pendingMessages("cx-me")).length, 1);
});

for (const wake of ["off", "claude-rewake"] as const) {
  Deno.test(`${wake === "off" ? "--no-wake" : "--rewake"} entry: the server records wake ${wake} and touches no socket`, async () => {
    await using repo = await tempRepo();
    await using socket = new FakeClaudeSocket(`${repo.path}/77.sock`);
    const launch = serverLaunch({
      deno: DENO,
      repo: REPO,
      root: null,
      alias: "cc-off",
      client: "claude-code",
      denoDir: baseEnv().DENO_DIR,
      wake,
    });
    await using server = await connect("", {
      ...launch.env,
      C2C_MCP_BROKER_ROOT: "",
      HOME: `${repo.path}/home`,
      CLAUDE_CODE_SESSION_ID: "cc-off-session",
      CLAUDE_CODE_MESSAGING_SOCKET: socket.path,
    }, { command: launch.command, args: launch.args, cwd: repo.path });
    await server.ok("whoami");
    const broker = new Broker({ root: `${repo.path}/.git/c2c/mcp` });
    assert.deepEqual((await broker.registrationByAlias("cc-off"))?.wake, {
      path: wake,
    });
    await broker.register("peer-s", { alias: "peer", leased: false });
    await broker.send("peer-s", { to_alias: "cc-off", content: "stay" });
    await sleep(500);
    // With --rewake the waiter hook wakes the session; the server never.
    assert.equal(socket.connections.length, 0);
    assert.equal((await broker.pendingMessages("cc-off-session")).length, 1);
  });
}
