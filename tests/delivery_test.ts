// The one delivery function (lib/delivery.ts) and the selection under it
// (lib/inbox.ts) on a real broker: bounds measured on what is emitted, the
// order of showing and taking, and nothing lost when showing fails.

import assert from "node:assert/strict";
import type { Broker } from "../lib/broker.ts";
import { boundHistory, deliver, MAX_ALONE_BYTES } from "../lib/delivery.ts";
import { jsonCost, selectMessages } from "../lib/inbox.ts";
import type { Message } from "../lib/message.ts";
import { jsonBytes, utf8Bytes } from "../lib/_bytes.ts";
import { replyCost } from "../mcp/tools.ts";
import { tempBroker } from "./_helpers.ts";

const CONTROL_64K = "\u0001".repeat(64 * 1024);

function message(id: string, content: string): Message {
  return {
    id,
    ts: "2026-11-21T00:00:00.000Z",
    from_alias: "alice",
    to_alias: "bob",
    content,
  };
}

async function twoAgents(): Promise<Broker & AsyncDisposable> {
  const broker = await tempBroker();
  await broker.register("s-a", { alias: "alice" });
  await broker.register("s-b", { alias: "bob" });
  return broker;
}

async function sendAll(broker: Broker, bodies: string[]): Promise<string[]> {
  const ids = [];
  for (const content of bodies) {
    ids.push((await broker.send("s-a", { to_alias: "bob", content })).id);
  }
  return ids;
}

Deno.test("utf8Bytes() and jsonBytes() measure what goes out, not characters", () => {
  for (const text of ["", "abc", "é", "€", "😀", "a\u0001b", "\ud800x"]) {
    assert.equal(utf8Bytes(text), new TextEncoder().encode(text).length, text);
  }
  assert.equal(jsonBytes("\u0001"), 8); // "\u0001" with its quotes
  assert.equal(jsonBytes({ a: "é" }), 10);
});

Deno.test("selectMessages() bounds the JSON of 64 KiB control-character bodies, not their length", () => {
  const records = Array.from(
    { length: 20 },
    (_, i) => message(`m${i}`, CONTROL_64K),
  );
  const maxBytes = 1024 * 1024;
  const taken = selectMessages(records, { maxBytes });
  const sent = taken.messages.reduce((n, m) => n + jsonCost(m), 0);
  assert.ok(sent <= maxBytes, `${sent} bytes selected for a ${maxBytes} bound`);
  assert.equal(taken.messages.length, 2); // 393 KiB of JSON each
  assert.equal(taken.remaining, 18);
  assert.equal(taken.truncated, undefined);
});

Deno.test("selectMessages() hands a message too big to share alone, whole up to aloneBytes, else cut with a notice", () => {
  const big = message("big", "x".repeat(300_000));
  const small = message("small", "hi");
  const whole = selectMessages([big, small], {
    maxBytes: 100_000,
    aloneBytes: 1_000_000,
  });
  assert.deepEqual(whole.messages, [big]);
  assert.equal(whole.remaining, 1);
  const cut = selectMessages([big, small], {
    maxBytes: 100_000,
    aloneBytes: 200_000,
    overhead: 1_000,
  });
  assert.equal(cut.messages.length, 1);
  assert.deepEqual(cut.truncated, ["big"]);
  const shown = cut.messages[0];
  assert.ok(jsonCost(shown) <= 199_000, `${jsonCost(shown)} bytes`);
  assert.ok(jsonCost(shown) > 190_000, "cut much shorter than the room");
  assert.match(
    shown.content,
    /\n\[c2c: message cut to fit one delivery: \d+ of 300000 bytes shown\. The whole message is kept: `c2c history` prints it once taken/,
  );
  assert.equal(shown.id, "big");
  // A reply_to far too long to be an id goes; a surrogate pair stays whole.
  const odd = {
    ...message("odd", "😀".repeat(100_000)),
    reply_to: "r".repeat(3_000_000),
  };
  const [oddCut] = selectMessages([odd], {
    maxBytes: 50_000,
    cost: replyCost,
  }).messages;
  assert.equal(oddCut.reply_to, undefined);
  assert.ok(replyCost(oddCut) <= 50_000);
  assert.ok(!/[\ud800-\udbff](?![\udc00-\udfff])/.test(oddCut.content));
});

Deno.test("pollInbox() archives a cut message whole, and restoreMessages() puts it back whole", async () => {
  await using broker = await tempBroker({ maxMessageBytes: 8 * 1024 * 1024 });
  await broker.register("s-a", { alias: "alice" });
  await broker.register("s-b", { alias: "bob" });
  const body = "y".repeat(MAX_ALONE_BYTES);
  const [id] = await sendAll(broker, [body, "after"]);
  const polled = await broker.pollInbox("s-b", {
    maxBytes: 1024 * 1024,
    aloneBytes: MAX_ALONE_BYTES,
  });
  assert.deepEqual(polled.truncated, [id]);
  assert.equal(polled.messages.length, 1);
  assert.ok(polled.messages[0].content.length < MAX_ALONE_BYTES);
  assert.equal(polled.remaining, 1);
  const archived = (await broker.history("s-b")).messages;
  assert.equal(archived[0].content, body);
  assert.equal(await broker.restoreMessages("s-b", polled.messages), 1);
  assert.deepEqual(
    (await broker.pendingMessages("s-b")).map((m) => m.content.length),
    [body.length, "after".length],
  );
  assert.equal((await broker.history("s-b")).messages.length, 0);
});

Deno.test("deliver() show-then-take: a show that throws takes nothing; a partial show takes only what it showed", async () => {
  await using broker = await twoAgents();
  const ids = await sendAll(broker, ["one", "two", "three"]);
  const failed = await deliver(broker, "s-b", {
    order: "show-then-take",
    via: "hook",
    show: () => {
      throw new Error("stdout closed");
    },
  });
  assert.equal((failed.error as Error).message, "stdout closed");
  assert.deepEqual(failed.delivered, []);
  assert.deepEqual(failed.kept.map((m) => m.id), ids);
  assert.equal((await broker.pendingMessages("s-b")).length, 3);
  const partial = await deliver(broker, "s-b", {
    order: "show-then-take",
    via: "hook",
    show: () => ({ shown: 1 }),
  });
  assert.deepEqual(partial.delivered.map((m) => m.id), [ids[0]]);
  assert.equal(partial.remaining, 2);
  assert.deepEqual(
    (await broker.pendingMessages("s-b")).map((m) => m.id),
    ids.slice(1),
  );
  assert.deepEqual(
    (await broker.history("s-b")).messages.map((m) => m.id),
    [ids[0]],
  );
});

Deno.test("deliver() take-then-show: a failed show puts everything back in order; a partial show puts back the rest", async () => {
  await using broker = await twoAgents();
  const ids = await sendAll(broker, ["one", "two", "three"]);
  let seen: string[] = [];
  const failed = await deliver(broker, "s-b", {
    order: "take-then-show",
    via: "hook",
    show: async (batch) => {
      seen = batch.messages.map((m) => m.id);
      // Taken before shown: the inbox is empty while the show runs.
      assert.equal((await broker.pendingMessages("s-b")).length, 0);
      return Promise.reject(new Error("socket closed"));
    },
  });
  assert.deepEqual(seen, ids);
  assert.deepEqual(failed.delivered, []);
  assert.equal(failed.remaining, 3);
  assert.deepEqual((await broker.pendingMessages("s-b")).map((m) => m.id), ids);
  assert.equal((await broker.history("s-b")).messages.length, 0);
  const partial = await deliver(broker, "s-b", {
    order: "take-then-show",
    via: "hook",
    bounds: { limit: 2 },
    show: () => ({ shown: 1, error: new Error("second push failed") }),
  });
  assert.deepEqual(partial.delivered.map((m) => m.id), [ids[0]]);
  assert.deepEqual(partial.kept.map((m) => m.id), [ids[1]]);
  assert.equal(partial.remaining, 2);
  assert.deepEqual(
    (await broker.pendingMessages("s-b")).map((m) => m.id),
    ids.slice(1),
  );
});

Deno.test("deliver() with an empty inbox calls no show", async () => {
  await using broker = await twoAgents();
  for (const order of ["show-then-take", "take-then-show"] as const) {
    const r = await deliver(broker, "s-b", {
      order,
      via: "hook",
      show: () => assert.fail("show called for nothing"),
    });
    assert.deepEqual([r.delivered, r.remaining, r.kept], [[], 0, []]);
  }
});

Deno.test("boundHistory() keeps the newest messages that fit and says how many older ones it left out", async () => {
  await using broker = await twoAgents();
  const ids = await sendAll(broker, [CONTROL_64K, CONTROL_64K, "newest"]);
  await broker.pollInbox("s-b");
  const bounded = boundHistory(await broker.history("s-b"), {
    maxBytes: 500_000,
    cost: jsonCost,
  });
  assert.deepEqual(bounded.messages.map((m) => m.id), ids.slice(1));
  assert.ok(bounded.messages[0].drained_at);
  assert.equal(bounded.omitted, 1);
});
