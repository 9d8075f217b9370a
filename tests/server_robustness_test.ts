// The server must keep answering whatever arrives on stdin: malformed frames,
// wrong types, unknown methods and tools, huge payloads.

import assert from "node:assert/strict";
import { DENO, lines } from "./_helpers.ts";
import { serverArgs } from "./_mcp.ts";

/** A raw server process speaking newline-delimited JSON-RPC. */
async function rawServer(root: string) {
  const child = new Deno.Command(DENO, {
    args: serverArgs(root),
    env: {
      C2C_MCP_BROKER_ROOT: root,
      C2C_MCP_SESSION_ID: "fuzz-s",
      C2C_MCP_AUTO_REGISTER_ALIAS: "fuzz",
    },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const replies = new Map<number, Record<string, unknown>>();
  const reader = (async () => {
    for await (const line of lines(child.stdout)) {
      try {
        const msg = JSON.parse(line);
        if (typeof msg.id === "number") replies.set(msg.id, msg);
      } catch { /* not ours */ }
    }
  })();
  const send = (text: string) =>
    writer.write(new TextEncoder().encode(text + "\n"));
  const request = async (id: number, method: string, params: unknown) => {
    await send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    const deadline = Date.now() + 10_000;
    while (!replies.has(id)) {
      if (Date.now() > deadline) throw new Error(`no reply to request ${id}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return replies.get(id)!;
  };
  await request(0, "initialize", {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "fuzzer", version: "1" },
  });
  await send('{"jsonrpc":"2.0","method":"notifications/initialized"}');
  const close = async () => {
    await writer.close().catch(() => {});
    const status = await child.status;
    await reader;
    await child.stderr.cancel();
    return status;
  };
  return { child, send, request, close };
}

/** Deterministic PRNG (mulberry32) so a failure can be replayed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const JUNK: unknown[] = [
  null,
  true,
  -1,
  1e308,
  "",
  "x".repeat(1000),
  [],
  [1, 2],
  {},
  { nested: { deep: [null] } },
  "../../etc/passwd",
  "\u0000",
  "Storm",
];

Deno.test("server survives malformed frames and keeps answering", async () => {
  const root = await Deno.makeTempDir();
  const server = await rawServer(root);
  const frames = [
    "",
    "not json",
    "{",
    "[]",
    "[1,2,3]",
    '"just a string"',
    "null",
    '{"jsonrpc":"1.0","id":1,"method":"tools/list"}',
    '{"jsonrpc":"2.0","id":"x"}',
    '{"jsonrpc":"2.0","method":42}',
    '{"jsonrpc":"2.0","id":null,"method":"tools/call"}',
    '{"jsonrpc":"2.0","id":2,"method":"no/such/method"}',
    '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":"oops"}',
    '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":7}}',
    '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"send","arguments":"str"}}',
    "\u0000\u0001\u0002\u00ff",
    "{}".repeat(10_000),
  ];
  for (const frame of frames) await server.send(frame);
  const pong = await server.request(100, "tools/call", {
    name: "whoami",
    arguments: {},
  });
  const result = pong.result as { structuredContent: { alias: string } };
  assert.equal(result.structuredContent.alias, "fuzz");
  const status = await server.close();
  assert.equal(status.code, 0);
});

Deno.test("server survives 400 fuzzed tool calls with wrong types and huge payloads", async () => {
  const root = await Deno.makeTempDir();
  const server = await rawServer(root);
  const random = prng(20261121);
  const pick = <T>(items: readonly T[]) =>
    items[Math.floor(random() * items.length)];
  const tools = [
    "register",
    "send",
    "send_all",
    "join_room",
    "send_room",
    "room_history",
    "history",
    "tail_log",
    "leave_room",
    "my_rooms",
    "nope",
  ];
  const keys = [
    "alias",
    "to_alias",
    "content",
    "room_id",
    "limit",
    "offset",
    "history_limit",
    "from_alias",
  ];
  let errors = 0;
  for (let id = 1000; id < 1400; id++) {
    const args: Record<string, unknown> = {};
    const n = Math.floor(random() * 4);
    for (let i = 0; i < n; i++) args[pick(keys)] = pick(JUNK);
    const reply = await server.request(id, "tools/call", {
      name: pick(tools),
      arguments: random() < 0.1 ? pick(JUNK) : args,
    });
    const result = reply.result as { isError?: boolean } | undefined;
    if (reply.error || result?.isError) errors++;
  }
  assert.ok(errors > 100, `only ${errors} of 400 fuzzed calls failed`);
  const big = await server.request(2000, "tools/call", {
    name: "send",
    arguments: { to_alias: "fuzz", content: "y".repeat(8 * 1024 * 1024) },
  });
  const bigText = (big.result as { content: { text: string }[] }).content[0]
    .text;
  assert.match(bigText, /8388608 bytes; the limit is 65536/);
  const pong = await server.request(2001, "tools/call", {
    name: "whoami",
    arguments: {},
  });
  assert.equal(
    (pong.result as { structuredContent: { alias: string } })
      .structuredContent.alias,
    "fuzz",
  );
  assert.equal((await server.close()).code, 0);
});
