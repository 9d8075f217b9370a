// The pure parts of wake/: client table, argument parsing, keystroke
// tracking, the burst scheduler, paste mode, flags and the control file.

import assert from "node:assert/strict";
import {
  clientProfile,
  CLIENTS,
  detectClient,
  pollLine,
} from "../wake/clients.ts";
import { parseRunArgs } from "../wake/run_args.ts";
import { LineTracker } from "../wake/line_tracker.ts";
import { PollScheduler } from "../wake/poll_scheduler.ts";
import { PasteModeWatch, typePollLine } from "../wake/injector.ts";
import { ReadyWatch } from "../wake/ready_watch.ts";
import { wakePermissionFlags } from "../wake/flags.ts";
import { HarnessControl, sendControlRequest } from "../wake/control.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("pollLine() is short, counts messages and names the client's tool", () => {
  assert.equal(
    pollLine(CLIENTS["claude-code"], 1),
    "c2c: 1 new message - call mcp__c2c__poll_inbox",
  );
  assert.equal(
    pollLine(CLIENTS.opencode, 3),
    "c2c: 3 new messages - call c2c_poll_inbox",
  );
  for (const profile of Object.values(CLIENTS)) {
    const line = pollLine(profile, 12);
    assert.ok(line.length <= 60, line);
    assert.ok(!/[\r\n]/.test(line));
  }
});

Deno.test("clientProfile() and detectClient() know each client", () => {
  assert.equal(clientProfile("claude")?.name, "claude-code");
  assert.equal(clientProfile("Gemini-CLI")?.name, "gemini");
  assert.equal(clientProfile("vim"), undefined);
  const env = (vars: Record<string, string>) => (n: string) => vars[n];
  assert.equal(detectClient(env({ CLAUDECODE: "1" }))?.name, "claude-code");
  assert.equal(detectClient(env({ OPENCODE: "1" }))?.name, "opencode");
  assert.equal(detectClient(env({ GEMINI_CLI: "1" }))?.name, "gemini");
  assert.equal(detectClient(env({ CODEX_MANAGED_BY_NPM: "1" }))?.name, "codex");
  assert.equal(
    detectClient(env({ C2C_HARNESS_CLIENT: "crush", CLAUDECODE: "1" }))?.name,
    "crush",
  );
  assert.equal(detectClient(env({})), null);
});

Deno.test("parseRunArgs() passes client arguments through untouched", () => {
  assert.deepEqual(
    parseRunArgs(["codex", "--alias", "cx", "--", "--alias", "x"]),
    {
      client: "codex",
      alias: "cx",
      args: ["--alias", "x"],
    },
  );
  assert.deepEqual(parseRunArgs(["claude", "--alias=cc", "--resume"]), {
    client: "claude",
    alias: "cc",
    args: ["--resume"],
  });
  assert.deepEqual(parseRunArgs(["generic", "--command", "bash", "-l"]), {
    client: "generic",
    command: "bash",
    args: ["-l"],
  });
  assert.throws(() => parseRunArgs([]), /usage: run <client>/);
  assert.throws(
    () => parseRunArgs(["codex", "--alias"]),
    /--alias needs a value/,
  );
});

Deno.test("LineTracker follows a half-typed line and counts Ctrl-C", () => {
  const t = new LineTracker();
  assert.equal(t.typing, false);
  t.feed(bytes("ab"));
  assert.equal(t.typing, true);
  t.feed(bytes("\x7f\x7f"));
  assert.equal(t.typing, false, "backspaced away");
  t.feed(bytes("x\x1b[D")); // an arrow key is not text
  assert.equal(t.typing, true);
  assert.deepEqual(t.feed(bytes("\r")), { interrupts: 0, cleared: true });
  assert.equal(t.typing, false);
  t.feed(bytes("\x1b[A\x1b[B\x1bOP\x1b[I")); // arrows, F1, focus report
  assert.equal(t.typing, false);
  t.feed(bytes("\x1b[200~pasted\rtext\x1b[201~"));
  assert.equal(t.typing, true, "a pasted newline does not submit");
  assert.deepEqual(t.feed(bytes("\x03\x03")), { interrupts: 2, cleared: true });
  assert.equal(t.typing, false);
  t.feed(bytes("\x1b[97u")); // kitty protocol: 'a'
  assert.equal(t.typing, true);
  assert.deepEqual(t.feed(bytes("\x1b[99;5u")), {
    interrupts: 1,
    cleared: true,
  });
  t.feed(bytes("q\x1b["));
  t.feed(bytes("13u")); // Enter split across chunks
  assert.equal(t.typing, false);
});

Deno.test("PollScheduler types one line per burst and again after the agent polls", async () => {
  let now = 0;
  const injected: number[] = [];
  const s = new PollScheduler({
    inject: (n) => {
      injected.push(n);
      return Promise.resolve();
    },
    now: () => now,
    remindMs: 10_000,
  });
  s.update([{ id: "a" }]);
  await Promise.resolve();
  s.update([{ id: "a" }, { id: "b" }, { id: "c" }]);
  assert.deepEqual(injected, [1], "one line for the burst");
  // The agent drained a–c; d arrives before any scan saw the inbox empty.
  s.update([{ id: "d" }]);
  await Promise.resolve();
  assert.deepEqual(injected, [1, 1]);
  // Unread, and more arrive: a reminder, but only after remindMs.
  s.update([{ id: "d" }, { id: "e" }]);
  assert.deepEqual(injected, [1, 1]);
  now = 10_000;
  s.update([{ id: "d" }, { id: "e" }]);
  await Promise.resolve();
  assert.deepEqual(injected, [1, 1, 2]);
  // Still unread, nothing new: one more reminder, then no nagging.
  now = 20_000;
  s.update([{ id: "d" }, { id: "e" }]);
  await Promise.resolve();
  assert.deepEqual(injected, [1, 1, 2, 2]);
  now = 90_000;
  s.update([{ id: "d" }, { id: "e" }]);
  await Promise.resolve();
  assert.equal(s.injections, 4);
  s.dispose();
});

Deno.test("PollScheduler waits for its gate", async () => {
  let open = false;
  const injected: number[] = [];
  const s = new PollScheduler({
    inject: (n) => {
      injected.push(n);
      return Promise.resolve();
    },
    gate: () => open ? 0 : Infinity,
  });
  s.update([{ id: "a" }]);
  assert.deepEqual(injected, []);
  open = true;
  s.retry();
  await Promise.resolve();
  assert.deepEqual(injected, [1]);
  s.dispose();
});

Deno.test("PasteModeWatch follows the client's bracketed paste mode", async () => {
  const w = new PasteModeWatch();
  assert.equal(w.enabled, false);
  w.feed(bytes("hello \x1b[?20"));
  w.feed(bytes("04h prompt"));
  assert.equal(w.enabled, true);
  w.feed(bytes("\x1b[?2004l"));
  assert.equal(w.enabled, false);

  let typed = "";
  await typePollLine(
    { type: (t) => void (typed += t), submit: () => void (typed += "\r") },
    { ...CLIENTS.codex, submitDelayMs: 1 },
    2,
    true,
  );
  assert.equal(
    typed,
    "\x1b[200~c2c: 2 new messages - call the c2c poll_inbox tool\x1b[201~\r",
  );
});

Deno.test("ReadyWatch sees a client's prompt text through colours and split chunks", () => {
  const w = new ReadyWatch(CLIENTS.opencode.readyText);
  assert.equal(w.seen, false);
  // A first screen of background and queries: not ready.
  assert.equal(w.feed(bytes("\x1b]11;?\x07\x1b[?2004h\x1b[1;1H   ")), false);
  assert.equal(w.feed(bytes("\x1b[38;5;8mctrl+p\x1b[39m \x1b[1")), false);
  assert.equal(w.feed(bytes("mcommands\x1b[0m")), true);
  assert.equal(w.seen, true);
  assert.equal(new ReadyWatch([]).seen, true, "no ready text: ready at once");
});

Deno.test("wakePermissionFlags() grants the root, FFI only to run, tmux only to wake", () => {
  const root = "/r/.git/c2c/mcp";
  assert.deepEqual(wakePermissionFlags("run", root), [
    "--no-prompt",
    `--allow-read=${root}`,
    `--allow-write=${root}`,
    "--allow-env=C2C_MCP_BROKER_ROOT",
    "--allow-ffi",
  ]);
  const wake = wakePermissionFlags("wake", root);
  assert.ok(wake.includes("--allow-run=tmux"));
  assert.ok(!wake.includes("--allow-ffi"));
  const restart = wakePermissionFlags("restart-me", root);
  assert.ok(
    !restart.some((f) => f.startsWith("--allow-run") || f === "--allow-ffi"),
  );
  assert.match(restart.join(" "), /C2C_HARNESS_CONTROL/);
});

Deno.test("HarnessControl takes a restart request and acknowledges it", async () => {
  const root = await Deno.makeTempDir({ prefix: "c2c-ctl-" });
  try {
    const control = HarnessControl.create(root);
    const sent = sendControlRequest(control.path, {
      op: "restart",
      ts: new Date().toISOString(),
    }, 2000);
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(control.take().map((r) => r.op), ["restart"]);
    assert.equal(await sent, "acknowledged");
    assert.deepEqual(control.take(), []);
    const path = control.path;
    control.close();
    assert.equal(
      await sendControlRequest(path, { op: "restart", ts: "" }, 10),
      "no-harness",
    );
    // A dead harness's file (nobody holds the lock) is swept by the next one.
    Deno.writeTextFileSync(`${root}/harness/old.ctl`, "");
    using next = HarnessControl.create(root);
    assert.deepEqual(
      [...Deno.readDirSync(`${root}/harness`)].map((e) => e.name),
      [next.path.split("/").pop()],
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
