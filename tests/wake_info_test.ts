// The wake registry as users see it: `c2c list`'s WAKE column and `c2c
// health`'s wake check, from what a session registered.

import assert from "node:assert/strict";
import { checkHealth } from "../lib/health.ts";
import {
  describeWake,
  parseWakePath,
  wakeCell,
  wakeEnabled,
} from "../lib/wake_info.ts";
import { Broker } from "../mod.ts";
import { c2c, exits, tempDir } from "./_cli.ts";

Deno.test("wakeCell() and describeWake() say the path and whether it works", () => {
  assert.equal(parseWakePath("opencode-plugin"), "opencode-plugin");
  assert.equal(parseWakePath("telepathy"), null);
  assert.equal(wakeCell(undefined), "-");
  assert.equal(wakeCell({ path: "off" }), "off");
  assert.equal(
    wakeCell({ path: "claude-socket", enabled: true }),
    "claude-socket",
  );
  assert.equal(
    wakeCell({ path: "claude-socket", enabled: false, reason: "old" }),
    "claude-socket?",
  );
  assert.equal(wakeEnabled({ path: "harness", harness_pid: 1 }), true);
  assert.equal(wakeEnabled({ path: "off" }), false);
  assert.match(describeWake({ path: "off" }), /off \(set up with --no-wake\)/);
  assert.match(
    describeWake({
      path: "codex-daemon",
      enabled: true,
      reason: "thread id not known yet",
    }),
    /^codex-daemon, enabled: thread id not known yet/,
  );
  assert.match(describeWake(undefined), /no wake path recorded/);
});

Deno.test("c2c list shows each peer's wake path; --json carries the wake object", async () => {
  await using root = await tempDir();
  const broker = new Broker({ root: root.path });
  await broker.register("a-s", {
    alias: "alpha",
    wake: { path: "claude-socket", enabled: true, socket: "/s/1.sock" },
  });
  await broker.register("b-s", { alias: "beta", wake: { path: "off" } });
  await broker.register("c-s", { alias: "gamma" });
  const [text, json] = await Promise.all([
    c2c(root.path, ["list"]),
    c2c(root.path, ["list", "--json"]),
  ]);
  const lines = exits(text, 0).stdout.split("\n");
  const wakeAt = lines[0].indexOf("WAKE");
  assert.ok(wakeAt > 0);
  assert.deepEqual(
    lines.slice(1, 4).map((l) => l.slice(wakeAt).split(/\s+/)[0]),
    ["claude-socket", "off", "-"],
  );
  const peers = exits(json, 0).json<{ peers: { wake?: unknown }[] }>().peers;
  assert.deepEqual(peers[0].wake, {
    path: "claude-socket",
    enabled: true,
    socket: "/s/1.sock",
  });
  assert.equal(peers[2].wake, undefined);
});

Deno.test("checkHealth() reports this session's wake path: ok when enabled, warn when off", async () => {
  await using root = await tempDir();
  const broker = new Broker({ root: root.path });
  await broker.register("on-s", {
    alias: "on",
    wake: { path: "opencode-plugin" },
  });
  await broker.register("off-s", { alias: "off", wake: { path: "off" } });
  const wake = (sessionId: string) =>
    checkHealth({ root: root.path, sessionId }).checks.find((c) =>
      c.name === "wake"
    );
  assert.deepEqual(wake("on-s"), {
    name: "wake",
    status: "ok",
    detail: "opencode-plugin, enabled",
  });
  const off = wake("off-s")!;
  assert.equal(off.status, "warn");
  assert.match(off.fix!, /without --no-wake/);
});

Deno.test("checkHealth() says whether a Claude Code rewake waiter is armed", async () => {
  await using root = await tempDir();
  const broker = new Broker({ root: root.path });
  await broker.register("cc-s", {
    alias: "cc",
    wake: { path: "claude-rewake" },
  });
  const detail = () =>
    checkHealth({ root: root.path, sessionId: "cc-s" }).checks.find((c) =>
      c.name === "wake"
    )?.detail;
  assert.match(detail()!, /^claude-rewake, enabled; no waiter armed now/);
  using _armed = (await broker.armRewake("cc-s"))!;
  assert.equal(detail(), "claude-rewake, enabled; a waiter is armed");
});
