// `c2c poll-inbox` shows before it takes: a poller killed mid-way (SIGKILL,
// while its output is still going out) loses no message it did not print.
// Every message ends either still pending, or archived and printed.

import assert from "node:assert/strict";
import { Broker } from "../mod.ts";
import { baseEnv, cliArgs, registerAll, tempDir } from "./_cli.ts";
import { DENO, unguarded } from "./_helpers.ts";

/** A `c2c poll-inbox` for `beta-s`, its stdout read by the test. */
function poller(root: string): Deno.ChildProcess {
  const env = { ...baseEnv(), C2C_MCP_BROKER_ROOT: root };
  const args = ["poll-inbox", "--session-id", "beta-s"];
  return new Deno.Command(DENO, {
    args: cliArgs(root, args, env),
    clearEnv: true,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
}

/**
 * Reads a poller's stdout; when `killAfterChunks` is set, SIGKILLs it once
 * that many chunks came (it is then still printing), and reads what was
 * left in the pipe.
 */
async function printed(
  child: Deno.ChildProcess,
  killAfterChunks?: number,
): Promise<string> {
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let chunks = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    if (++chunks === killAfterChunks) {
      try {
        child.kill("SIGKILL");
      } catch { /* it just ended */ }
    }
  }
  await child.status;
  return text;
}

/** Ids of the envelopes printed whole. */
function envelopeIds(text: string): string[] {
  return [...text.matchAll(/<c2c [^>]*\bid="([^"]+)"[^>]*>[^<]*<\/c2c>/g)]
    .map((m) => m[1]);
}

async function setup(root: string, count: number) {
  await registerAll(root, ["alpha", "beta"]);
  await unguarded(root); // hundreds of messages to one peer at once
  const broker = new Broker({ root });
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const content = `message ${i} ${"x".repeat(2048)}`;
    ids.push((await broker.send("alpha-s", { to_alias: "beta", content })).id);
  }
  return { broker, ids };
}

/** Every message is pending, or archived and printed; none is lost. */
async function assertNoneLost(
  broker: Broker,
  ids: readonly string[],
  printedIds: ReadonlySet<string>,
): Promise<{ pending: string[]; archived: string[] }> {
  const pending = (await broker.pendingMessages("beta-s")).map((m) => m.id);
  const archived = (await broker.history("beta-s", { limit: 1e6 })).messages
    .map((m) => m.id);
  const unprinted = archived.filter((id) => !printedIds.has(id));
  assert.deepEqual(unprinted, [], "taken from the inbox but never printed");
  assert.deepEqual(
    [...pending, ...archived].sort(),
    [...ids].sort(),
    "each message pending or archived, once",
  );
  return { pending, archived };
}

Deno.test("c2c poll-inbox killed while printing takes nothing it did not print", async () => {
  await using root = await tempDir();
  // ~420 KiB of envelopes: far more than a pipe holds, so the poller is
  // still printing when the kill lands.
  const { broker, ids } = await setup(root.path, 200);
  const output = await printed(poller(root.path), 1);
  const shown = new Set(envelopeIds(output));
  assert.ok(shown.size < ids.length, "the poller printed everything first");
  await assertNoneLost(broker, ids, shown);
});

Deno.test("c2c poll-inbox from 8 processes, half of them SIGKILLed mid-way, loses no message", async () => {
  await using root = await tempDir();
  const { broker, ids } = await setup(root.path, 300);
  const children = Array.from({ length: 8 }, () => poller(root.path));
  const outputs = await Promise.all(
    children.map((child, i) => printed(child, i % 2 === 0 ? 1 + i : undefined)),
  );
  const shown = new Set(outputs.flatMap(envelopeIds));
  await assertNoneLost(broker, ids, shown);
  // A last poller left alone delivers whatever the killed ones left.
  const last = await printed(poller(root.path));
  for (const id of envelopeIds(last)) shown.add(id);
  const { pending, archived } = await assertNoneLost(broker, ids, shown);
  assert.deepEqual(pending, []);
  assert.equal(archived.length, ids.length);
});
