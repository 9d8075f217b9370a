// NativeWaker (mcp/native_wake.ts) on a real broker with a scripted target:
// one wake per burst, busy clients left to their hooks, nothing lost when a
// push fails, nothing delivered twice when a poll races the wake.

import assert from "node:assert/strict";
import { Broker } from "../lib/broker.ts";
import type { Message } from "../lib/message.ts";
import {
  NativeWaker,
  type TargetState,
  type WakeTarget,
} from "../mcp/native_wake.ts";
import { WakeError } from "../wake/wake_error.ts";
import { tempBroker } from "./_helpers.ts";

/** A target whose state and delivery the test controls. */
class ScriptedTarget implements WakeTarget {
  readonly name = "scripted";
  state_: TargetState = "idle";
  openFails = false;
  deliverFails = 0;
  openDelayMs = 0;
  readonly delivered: Message[][] = [];

  state(): Promise<TargetState> {
    return Promise.resolve(this.state_);
  }

  async open() {
    if (this.openDelayMs) {
      await new Promise((r) => setTimeout(r, this.openDelayMs));
    }
    if (this.openFails) throw new WakeError("socket gone");
    return {
      deliver: (messages: readonly Message[]) => {
        if (this.deliverFails > 0) {
          this.deliverFails--;
          return Promise.reject(new WakeError("write failed"));
        }
        this.delivered.push([...messages]);
        return Promise.resolve();
      },
      [Symbol.dispose]: () => {},
    };
  }
}

async function setup(root: string) {
  const broker = new Broker({ root });
  await broker.register("s-me", { alias: "me" });
  await broker.register("s-peer", { alias: "peer" });
  const target = new ScriptedTarget();
  const waker = new NativeWaker({
    broker,
    sessionId: () => "s-me",
    target,
    quietMs: 40,
    maxWaitMs: 300,
    busyRecheckMs: 40,
    unknownGraceMs: 150,
    retryMs: 40,
  });
  const send = async (n: number, label = "m") => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      ids.push(
        (await broker.send("s-peer", {
          to_alias: "me",
          content: `${label}${i}`,
        }))
          .id,
      );
    }
    return ids;
  };
  return { broker, target, waker, send };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(predicate: () => boolean, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await sleep(10);
  }
}

Deno.test("NativeWaker drains a burst of 10 and pushes it in one wake", async () => {
  await using root = await tempBroker();
  const { broker, target, waker, send } = await setup(root.root);
  waker.start();
  try {
    const ids = await send(10);
    await until(() => target.delivered.length === 1);
    await sleep(150);
    assert.equal(target.delivered.length, 1);
    assert.deepEqual(target.delivered[0].map((m) => m.id), ids);
    assert.equal((await broker.pendingMessages("s-me")).length, 0);
    const { messages } = await broker.history("s-me");
    assert.deepEqual(messages.map((m) => m.id), ids);
    assert.equal(waker.wakes, 1);
  } finally {
    waker.stop();
  }
});

Deno.test("NativeWaker pushes what already waits when it starts", async () => {
  await using root = await tempBroker();
  const { target, waker, send } = await setup(root.root);
  await send(2);
  waker.start();
  try {
    await until(() => target.delivered.length === 1);
    assert.equal(target.delivered[0].length, 2);
  } finally {
    waker.stop();
  }
});

Deno.test("NativeWaker leaves a busy client to its hooks and wakes it once idle", async () => {
  await using root = await tempBroker();
  const { broker, target, waker, send } = await setup(root.root);
  target.state_ = "busy";
  waker.start();
  try {
    await send(1, "first");
    await sleep(150);
    assert.equal(target.delivered.length, 0, "no wake while busy");
    // The hook takes it during the turn: nothing left to wake for.
    await broker.pollInbox("s-me");
    await send(1, "second");
    await sleep(100);
    target.state_ = "idle";
    await until(() => target.delivered.length === 1);
    assert.deepEqual(target.delivered[0].map((m) => m.content), ["second0"]);
  } finally {
    waker.stop();
  }
});

Deno.test("NativeWaker with an unknown state waits the grace period first", async () => {
  await using root = await tempBroker();
  const { target, waker, send } = await setup(root.root);
  target.state_ = "unknown";
  waker.start();
  try {
    const sent = Date.now();
    await send(1);
    await until(() => target.delivered.length === 1);
    assert.ok(Date.now() - sent >= 140, `${Date.now() - sent} ms`);
  } finally {
    waker.stop();
  }
});

Deno.test("NativeWaker never drains when the endpoint cannot be opened", async () => {
  await using root = await tempBroker();
  const { broker, target, waker, send } = await setup(root.root);
  target.openFails = true;
  waker.start();
  try {
    await send(3);
    await sleep(200);
    assert.equal((await broker.pendingMessages("s-me")).length, 3);
    assert.equal((await broker.history("s-me")).messages.length, 0);
    target.openFails = false;
    await until(() => target.delivered.length === 1); // retried
    assert.equal(target.delivered[0].length, 3);
  } finally {
    waker.stop();
  }
});

Deno.test("NativeWaker puts messages back, in order, when the push fails after the drain", async () => {
  await using root = await tempBroker();
  const { broker, target, waker, send } = await setup(root.root);
  target.deliverFails = 1;
  waker.start();
  try {
    const ids = await send(3);
    await until(() => target.delivered.length === 1);
    // Delivered once, by the retry; the archive holds each message once.
    assert.deepEqual(target.delivered[0].map((m) => m.id), ids);
    const { messages } = await broker.history("s-me");
    assert.deepEqual(messages.map((m) => m.id), ids);
  } finally {
    waker.stop();
  }
});

Deno.test("NativeWaker and a racing poll_inbox hand each message out once", async () => {
  await using root = await tempBroker();
  const { broker, target, waker, send } = await setup(root.root);
  target.openDelayMs = 80; // the poll runs while the wake is opening
  waker.start();
  try {
    const ids = await send(2);
    await sleep(40);
    const polled = (await broker.pollInbox("s-me")).messages.map((m) => m.id);
    await sleep(200);
    const pushed = target.delivered.flat().map((m) => m.id);
    assert.deepEqual([...polled, ...pushed].sort(), [...ids].sort());
  } finally {
    waker.stop();
  }
});

Deno.test("Broker.restoreMessages() puts drained messages back at the head of the inbox", async () => {
  await using root = await tempBroker();
  const { broker, send } = await setup(root.root);
  const ids = await send(3);
  const { messages } = await broker.drainMessages(
    "s-me",
    ids.slice(0, 2),
    "wake",
  );
  await send(1, "late");
  assert.equal(await broker.restoreMessages("s-me", messages), 2);
  assert.deepEqual(
    (await broker.pendingMessages("s-me")).map((m) => m.content),
    ["m0", "m1", "m2", "late0"],
  );
  assert.equal((await broker.history("s-me")).messages.length, 0);
});
