// The model behind `c2c ui`: lib/broker_watch.ts (what changed) and
// ui/live_view.ts (what the page shows), over the file store with real
// processes holding leases, and over the NATS store (its own change feed:
// published subjects, KV watches, presence). Waits on the view's own
// events, never on sleeps.

import assert from "node:assert/strict";
import { Broker } from "../lib/broker.ts";
import {
  type BrokerChange,
  fileChange,
  watchBroker,
} from "../lib/broker_watch.ts";
import type { Store } from "../lib/store/store.ts";
import { NatsStore } from "../lib/store/nats/nats_store.ts";
import { natsConfigFromEnv } from "../lib/store/nats/url.ts";
import { type LiveEvent, LiveView, type TrafficItem } from "../ui/live_view.ts";
import { DENO, lines, REPO, tempBroker } from "./_helpers.ts";
import { startNats } from "./_nats.ts";

/** Generous: a wait that fails only when the event never comes. */
const EVENT_BOUND_MS = 10_000;

/** Collects a view's events; `until` waits for one that matches. */
function recorder(view: LiveView) {
  const seen: LiveEvent[] = [];
  const waiting: { test: (e: LiveEvent) => boolean; done: () => void }[] = [];
  view.subscribe((e) => {
    seen.push(e);
    for (const w of [...waiting]) {
      if (w.test(e)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.done();
      }
    }
  });
  return {
    seen,
    until(test: (e: LiveEvent) => boolean, what: string): Promise<void> {
      if (seen.some(test)) return Promise.resolve();
      const { promise, resolve, reject } = Promise.withResolvers<void>();
      const timer = setTimeout(
        () => reject(new Error(`no event: ${what}`)),
        EVENT_BOUND_MS,
      );
      waiting.push({
        test,
        done: () => {
          clearTimeout(timer);
          resolve();
        },
      });
      return promise;
    },
  };
}

function hasItem(id: string) {
  return (e: LiveEvent) =>
    e.type === "traffic" && e.items.some((i: TrafficItem) => i.id === id);
}

function count(view: LiveView, id: string): number {
  return view.snapshot().traffic.filter((i) => i.id === id).length;
}

Deno.test("fileChange() names what a path in the broker root is, everything for a new directory, and nothing for locks, logs and temp files", () => {
  const cases: [string, BrokerChange | null][] = [
    ["registry.json", { kind: "registry" }],
    ["registry.json.x1.tmp", null],
    ["claims.json", { kind: "claims" }],
    ["s-1.inbox.jsonl", { kind: "inbox", session_id: "s-1" }],
    ["archive/s-1.jsonl", { kind: "archive", session_id: "s-1" }],
    ["rooms/lounge", { kind: "room", room_id: "lounge" }],
    ["rooms/lounge/history.jsonl", { kind: "room", room_id: "lounge" }],
    ["leases/s-1.lock", { kind: "lease", session_id: "s-1" }],
    ["locks/inbox.s-1.lock", null],
    ["archive", { kind: "unknown" }],
    ["rooms", { kind: "unknown" }],
    ["leases", { kind: "unknown" }],
    ["locks", null],
    ["broker.log", null],
    ["dead-letter.jsonl", null],
    ["rooms/..", null],
    ["archive/sub/x.jsonl", null],
    [".inbox.jsonl", null],
  ];
  for (const [path, want] of cases) {
    assert.deepEqual(fileChange(path), want, path);
  }
});

Deno.test("watchBroker() reports a registration, a queued DM and a room post in the file store", async () => {
  await using broker = await tempBroker();
  const got: BrokerChange[] = [];
  const { promise, resolve } = Promise.withResolvers<void>();
  const want = (c: BrokerChange) => c.kind === "room" && c.room_id === "lounge";
  using _watch = watchBroker(broker, (changes) => {
    got.push(...changes);
    if (changes.some(want)) resolve();
  });
  await broker.register("s-a", { alias: "alpha" });
  await broker.register("s-b", { alias: "bravo" });
  await broker.send("s-a", { to_alias: "bravo", content: "hi" });
  await broker.joinRoom("s-a", { room_id: "lounge" });
  await promise;
  assert.ok(got.some((c) => c.kind === "registry"), JSON.stringify(got));
  assert.ok(
    got.some((c) => c.kind === "inbox" && c.session_id === "s-b"),
    JSON.stringify(got),
  );
});

Deno.test("LiveView shows a DM once as it is queued, again not after the drain, and keeps pending counts", async () => {
  await using broker = await tempBroker();
  await broker.register("s-a", { alias: "alpha" });
  await broker.register("s-b", { alias: "bravo" });
  using view = new LiveView(broker);
  const events = recorder(view);
  await view.start();
  const first = await broker.send("s-a", { to_alias: "bravo", content: "one" });
  await events.until(hasItem(first.id), "the DM");
  await events.until(
    (e) =>
      e.type === "agents" &&
      e.agents.some((a) => a.alias === "bravo" && a.pending === 1),
    "bravo's pending count",
  );
  await broker.pollInbox("s-b");
  const second = await broker.send("s-b", {
    to_alias: "alpha",
    content: "two",
  });
  await events.until(hasItem(second.id), "the reply");
  await view.idle();
  assert.equal(count(view, first.id), 1);
  const item = view.snapshot().traffic.find((i) => i.id === first.id)!;
  assert.deepEqual(
    [item.from, item.to, item.room_id, item.content],
    ["alpha", "bravo", null, "one"],
  );
});

Deno.test("LiveView finds a DM that was drained before it looked, in the archive", async () => {
  await using broker = await tempBroker();
  await broker.register("s-a", { alias: "alpha" });
  await broker.register("s-b", { alias: "bravo" });
  // A view whose every inbox read comes too late: the messages are gone.
  const late = new Proxy(broker.store, {
    get(target, prop) {
      if (prop === "pending") return () => Promise.resolve([]);
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as Store;
  using view = new LiveView(new Broker({ store: late }));
  const events = recorder(view);
  await view.start();
  const sent = await broker.send("s-a", { to_alias: "bravo", content: "hi" });
  await broker.pollInbox("s-b");
  await events.until(hasItem(sent.id), "the drained DM");
});

Deno.test("LiveView shows a room post once, not once per member's copy", async () => {
  await using broker = await tempBroker();
  for (
    const [s, a] of [["s-a", "alpha"], ["s-b", "bravo"], ["s-c", "charlie"]]
  ) {
    await broker.register(s, { alias: a });
    await broker.joinRoom(s, { room_id: "lounge" });
  }
  using view = new LiveView(broker);
  const events = recorder(view);
  await view.start();
  const post = await broker.sendRoom("s-a", {
    room_id: "lounge",
    content: "standup in 5",
  });
  await events.until(hasItem(post.id), "the post");
  await events.until(
    (e) =>
      e.type === "rooms" &&
      e.rooms.some((r) => r.room_id === "lounge" && r.message_count === 4),
    "the room's count",
  );
  // The copies in bravo's and charlie's inboxes arrive as inbox changes.
  await events.until(
    (e) =>
      e.type === "agents" &&
      e.agents.filter((a) => a.pending === 1).length === 2,
    "the copies",
  );
  await view.idle();
  assert.equal(count(view, post.id), 1);
  assert.equal(
    view.snapshot().traffic.find((i) => i.id === post.id)!.room_id,
    "lounge",
  );
});

Deno.test("LiveView sees a lease holder die at once, from the watch alone", async () => {
  await using broker = await tempBroker();
  // A real process holds alpha's lease, as an MCP server does.
  const holder = new Deno.Command(DENO, {
    args: [
      "eval",
      `import { Broker } from "${REPO}/lib/broker.ts";
const broker = new Broker({ root: ${JSON.stringify(broker.root)} });
const lease = await broker.acquireLease("s-a");
await broker.register("s-a", { alias: "alpha", leased: true });
console.log("ready");
setInterval(() => lease.held, 1000);`,
    ],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  try {
    assert.equal((await lines(holder.stdout).next()).value, "ready");
    // No safety-net probing within the test: only the watch can tell.
    using view = new LiveView(broker, { livenessEveryMs: 3_600_000 });
    const events = recorder(view);
    await view.start();
    assert.equal(view.agents()[0].alive, true);
    holder.kill("SIGKILL");
    await events.until(
      (e) =>
        e.type === "agents" &&
        e.agents.some((a) => a.alias === "alpha" && a.alive === false),
      "alpha dead",
    );
  } finally {
    try {
      holder.kill("SIGKILL");
    } catch { /* gone */ }
    await holder.status;
  }
});

Deno.test("LiveView over the NATS store (its change feed) shows agents and a DM sent from another machine", async () => {
  await using server = await startNats();
  const namespace = `ui-${crypto.randomUUID().slice(0, 8)}`;
  const machine = async () => {
    const root = await Deno.makeTempDir({ prefix: "c2c-ui-nats-" });
    const config = natsConfigFromEnv(
      new Map([["C2C_BROKER_URL", server.url]]),
    )!;
    const broker = new Broker({
      store: new NatsStore({ config, namespace, root }),
    });
    return {
      broker,
      async [Symbol.asyncDispose]() {
        await broker.close();
        await Deno.remove(root, { recursive: true }).catch(() => {});
      },
    };
  };
  await using here = await machine();
  await using there = await machine();
  using _a = await there.broker.acquireLease("s-a");
  using _b = await here.broker.acquireLease("s-b");
  await there.broker.register("s-a", { alias: "alpha", leased: true });
  await here.broker.register("s-b", { alias: "bravo", leased: true });
  using view = new LiveView(here.broker);
  const events = recorder(view);
  await view.start();
  assert.equal(view.live, true, "the store's own feed is the trigger");
  assert.deepEqual(
    view.agents().map((a) => [a.alias, a.alive]),
    [["alpha", true], ["bravo", true]],
  );
  const sent = await there.broker.send("s-a", {
    to_alias: "bravo",
    content: "across machines",
  });
  await events.until(hasItem(sent.id), "the DM from the other machine");
});

Deno.test("LiveView starts on a broker whose registry is damaged: it reports the file and still shows the rooms", async () => {
  await using broker = await tempBroker();
  await broker.register("s-a", { alias: "alpha" });
  await broker.joinRoom("s-a", { room_id: "lounge" });
  await Deno.writeTextFile(`${broker.root}/registry.json`, "{not json");
  const errors: unknown[] = [];
  using view = new LiveView(broker, { onError: (e) => errors.push(e) });
  await view.start();
  assert.deepEqual(view.rooms().map((r) => r.room_id), ["lounge"]);
  assert.deepEqual(view.agents(), []);
  assert.ok(
    errors.some((e) => /registry\.json/.test(String(e))),
    String(errors),
  );
  // The bytes stay for `c2c repair`.
  assert.equal(
    await Deno.readTextFile(`${broker.root}/registry.json`),
    "{not json",
  );
});
