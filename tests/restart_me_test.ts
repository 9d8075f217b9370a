// `restart-me`: the agent inside a managed client asks the harness to restart
// that client; outside a harness it says how to get one.

import assert from "node:assert/strict";
import { DENO, REPO, tempBroker } from "./_helpers.ts";
import { ManagedTui } from "./_wake.ts";
import { wakePermissionFlags } from "../wake/flags.ts";
import { restartMe } from "../wake/restart_me.ts";
import { controlDir } from "../wake/control.ts";

/** Runs `wake/main.ts restart-me` with its documented flags and `env`. */
async function runRestartMe(root: string, env: Record<string, string>) {
  const out = await new Deno.Command(DENO, {
    args: [
      "run",
      ...wakePermissionFlags("restart-me", root),
      `${REPO}/wake/main.ts`,
      "restart-me",
    ],
    // A clean environment: the test may itself run inside some client
    // (CLAUDECODE=1…), which would change what restart-me detects.
    env: { ...denoEnv(), C2C_MCP_BROKER_ROOT: root, ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return {
    code: out.code,
    stdout: decode(out.stdout),
    stderr: decode(out.stderr),
  };
}

/** What Deno itself needs to find its cache. */
function denoEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ["HOME", "DENO_DIR", "PATH"]) {
    const value = Deno.env.get(name);
    if (value) out[name] = value;
  }
  return out;
}

/** Session id and control path from the fake TUI's `ready` lines. */
function readyLines(tui: ManagedTui) {
  return tui.matches(/^ready /).map((line) => ({
    line,
    args: /args=(\[.*?\])/.exec(line)?.[1],
    session: /session=(\S+)/.exec(line)?.[1] ?? "",
    control: /control=(\S+)/.exec(line)?.[1] ?? "",
  }));
}

Deno.test("restartMe() restarts the client with the same args; the alias stays registered and live", async () => {
  await using broker = await tempBroker();
  await using tui = await ManagedTui.start(broker.root, {
    alias: "phoenix",
    args: () => ["--model", "m1"],
  });
  const [first] = readyLines(tui);
  const lease = await broker.acquireLease("peer-s");
  using _ = lease;
  await broker.register("peer-s", { alias: "peer", leased: true });
  await broker.send("peer-s", { to_alias: "phoenix", content: "keep me" });
  await tui.waitFor(/^line:"c2c: 1 new message/, "the first poll line");

  const result = await runRestartMe(broker.root, {
    C2C_HARNESS_CONTROL: first.control,
    C2C_HARNESS_CLIENT: "generic",
    C2C_SESSION_ID: first.session,
  });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /restarting the client now/);

  await tui.waitFor(/^ready /, "the restarted client", 2);
  const second = readyLines(tui)[1];
  assert.equal(second.args, first.args);
  assert.match(second.args ?? "", /"--model","m1"/);
  assert.notEqual(second.session, first.session);
  assert.equal(second.control, first.control);

  const row = await broker.registrationByAlias("phoenix");
  assert.equal(row?.session_id, second.session);
  assert.equal(await broker.liveness(second.session), true);
  assert.equal(await broker.registration(first.session), undefined);
  // The undelivered message moved to the new session, and wakes it again.
  assert.deepEqual(
    (await broker.pendingMessages(second.session)).map((m) => m.content),
    ["keep me"],
  );
  await tui.waitFor(
    /^line:"c2c: 1 new message/,
    "a poll line in the new client",
    2,
  );
});

Deno.test("runHarness() starts a client that dies right after restart-me again after a pause", async () => {
  await using broker = await tempBroker();
  await using tui = await ManagedTui.start(broker.root, {
    alias: "flaky",
    args: (dir) => ["--die-if-exists", `${dir}/broken`],
  });
  const [first] = readyLines(tui);
  await Deno.writeTextFile(`${tui.dir}/broken`, "");
  const result = await runRestartMe(broker.root, {
    C2C_HARNESS_CONTROL: first.control,
  });
  assert.equal(result.code, 0, result.stderr);
  await tui.waitFor(/starting it again in 500 ms/, "the fast-exit notice");
  await Deno.remove(`${tui.dir}/broken`);
  await tui.waitFor(/^ready /, "the client after the pause", 2);
  assert.equal(await broker.liveness(readyLines(tui)[1].session), true);
});

Deno.test("restartMe() outside a harness says how to start one and exits 1", async () => {
  const env: Record<string, string> = { CLAUDECODE: "1", C2C_ALIAS: "cc-ann" };
  const result = await restartMe({ env: (name) => env[name] });
  assert.equal(result.code, 1);
  assert.equal(result.managed, false);
  assert.equal(result.client, "claude-code");
  assert.match(result.message, /not running under `c2c run`/);
  assert.match(result.message, /c2c run claude-code --alias cc-ann/);
});

Deno.test("restartMe() reports a harness that died, whatever its file says", async () => {
  await using broker = await tempBroker();
  const stale = `${controlDir(broker.root)}/dead.ctl`;
  await Deno.writeTextFile(stale, "");
  const result = await runRestartMe(broker.root, {
    C2C_HARNESS_CONTROL: stale,
    OPENCODE: "1",
  });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /harness that started this session is gone/);
  assert.match(result.stderr, /c2c run opencode/);
});
