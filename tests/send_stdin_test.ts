// `c2c send ALIAS -` and `c2c room send ROOM -` read the message from
// standard input: never more of it than the broker's limit allows, so a
// huge input is refused at once instead of being held whole in memory
// (100 MB used to cost 343 MB of RSS before the size check).

import assert from "node:assert/strict";
import { Broker } from "../mod.ts";
import { DENO } from "./_helpers.ts";
import { baseEnv, c2c, cliArgs, exits, registerAll, tempDir } from "./_cli.ts";

/** Runs `c2c args` with `bytes` of input, written until c2c stops reading. */
async function withInput(
  root: string,
  args: string[],
  bytes: number,
): Promise<{ code: number; stderr: string; wroteAll: boolean }> {
  const env = { ...baseEnv(), C2C_MCP_BROKER_ROOT: root };
  const child = new Deno.Command(DENO, {
    args: cliArgs(root, args, env),
    clearEnv: true,
    env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const chunk = new Uint8Array(1 << 20).fill(0x61); // "a" × 1 MiB
  let wroteAll = true;
  try {
    for (let sent = 0; sent < bytes; sent += chunk.length) {
      await writer.write(chunk);
    }
    await writer.close();
  } catch {
    wroteAll = false; // c2c closed its end: it stopped reading
  }
  const out = await child.output();
  return {
    code: out.code,
    stderr: new TextDecoder().decode(out.stderr),
    wroteAll,
  };
}

Deno.test("c2c send - refuses a 100 MB input with the size error after reading past the limit, and sends nothing", async () => {
  await using root = await tempDir();
  await registerAll(root.path, ["alice", "bob"]);
  const send = await withInput(
    root.path,
    ["send", "bob", "-", "--session-id", "alice-s"],
    100 << 20,
  );
  assert.equal(send.code, 1, send.stderr);
  assert.match(
    send.stderr,
    /^c2c send: the message on standard input is over 65536 bytes/,
  );
  assert.equal(send.wroteAll, false, "c2c read the whole input");
  assert.deepEqual(
    await new Broker({ root: root.path }).pendingMessages("bob-s"),
    [],
  );
  const room = await withInput(
    root.path,
    ["room", "send", "lounge", "-", "--session-id", "alice-s"],
    100 << 20,
  );
  assert.equal(room.code, 1, room.stderr);
  assert.match(room.stderr, /over 65536 bytes/);
});

Deno.test("c2c send - takes a message of exactly the limit, with or without a final newline", async () => {
  await using root = await tempDir();
  await registerAll(root.path, ["alice", "bob"]);
  const body = "é".repeat(32_768); // 65536 bytes of UTF-8
  for (const input of [body, `${body}\n`]) {
    exits(
      await c2c(root.path, ["send", "bob", "-", "--session-id", "alice-s"], {
        stdin: input,
      }),
      0,
    );
  }
  const over = await c2c(
    root.path,
    ["send", "bob", "-", "--session-id", "alice-s", "--json"],
    { stdin: `${body}a` },
  );
  assert.equal(exits(over, 1).error().code, "message_too_large");
  const got = await new Broker({ root: root.path }).pendingMessages("bob-s");
  assert.deepEqual(got.map((m) => m.content), [body, body]);
});
