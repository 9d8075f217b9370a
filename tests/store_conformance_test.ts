// The broker behaves the same over both stores: each case below runs once
// over the file store and once over the NATS store (a real nats-server),
// records every result and error, and the two transcripts must be equal
// once ids and timestamps are set aside. Each case also checks the
// behaviour itself, so that both stores being wrong alike fails too.
//
// "Processes" are separate brokers on separate store instances (for NATS,
// separate local directories too): a session is alive while the broker
// that took its lease holds it.

import assert from "node:assert/strict";
import type { Broker } from "../lib/broker.ts";
import { C2cError } from "../lib/errors.ts";
import type { SessionLease } from "../lib/store/store.ts";
import { startNats } from "./_nats.ts";
import { openWorld, type StoreKind, type World } from "./_stores.ts";

const server = await startNats();
globalThis.addEventListener("unload", () => {
  server.stop("SIGKILL");
});

/** What a case records. */
type Transcript = unknown[];

interface CaseContext {
  world: World;
  /** The broker most operations go through. */
  main: Broker;
  /** Another process: it holds the leases of "live" sessions. */
  peer: Broker;
  /** Records a result, or the error's code and message. */
  rec<T>(label: string, op: Promise<T>): Promise<T | undefined>;
  /** Takes a session's lease in the peer process. */
  live(sessionId: string): Promise<SessionLease>;
  transcript: Transcript;
}

type Case = (c: CaseContext) => Promise<void>;

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const ISO = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g;

/**
 * Ids and timestamps aside, and the one count that is about this machine's
 * files (`gc`'s idle lock files: the file store's lease and inbox locks have
 * no NATS counterpart).
 */
function normalize(value: unknown): unknown {
  if (typeof value === "string") {
    return value.replace(UUID, "<id>").replace(ISO, "<ts>");
  }
  if (Array.isArray(value)) return value.map(normalize);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] =
        k === "ms" || k === "pid_start_time" || k === "removed_lock_files"
          ? "<n>"
          : normalize(v);
    }
    return out;
  }
  return value;
}

async function runCase(kind: StoreKind, body: Case): Promise<Transcript> {
  await using world = await openWorld(kind, { url: server.url });
  const main = await world.broker();
  const peer = await world.broker();
  const leases: SessionLease[] = [];
  const transcript: Transcript = [];
  try {
    await body({
      world,
      main,
      peer,
      transcript,
      rec: async (label, op) => {
        try {
          const value = await op;
          transcript.push({ [label]: value });
          return value;
        } catch (e) {
          if (!(e instanceof C2cError)) throw e;
          transcript.push({ [label]: { error: e.code, message: e.message } });
          return undefined;
        }
      },
      live: async (sessionId) => {
        const lease = await peer.acquireLease(sessionId);
        leases.push(lease);
        return lease;
      },
    });
  } finally {
    for (const l of leases) l.release();
  }
  return transcript;
}

/** Runs `body` over both stores and compares the transcripts. */
function conformance(name: string, body: Case): void {
  Deno.test(`conformance: ${name}`, async () => {
    const file = normalize(await runCase("file", body));
    const nats = normalize(await runCase("nats", body));
    assert.deepEqual(nats, file);
  });
}

function code(t: Transcript, i: number): string | undefined {
  const entry = Object.values(t[i] as Record<string, unknown>)[0] as {
    error?: string;
  };
  return entry?.error;
}

conformance(
  "register: fresh, refresh, rename, alias held by a live session, takeover of a dead one",
  async (c) => {
    const { main, rec } = c;
    const a = await c.live("s-a");
    await c.live("s-b");
    const first = await rec(
      "a registers",
      main.register("s-a", { alias: "storm", leased: true }),
    );
    assert.equal(first?.status, "registered");
    assert.equal(
      (await rec(
        "a again",
        main.register("s-a", { alias: "storm", leased: true }),
      ))?.status,
      "already_registered",
    );
    const renamed = await rec(
      "a renames",
      main.register("s-a", { alias: "gale", leased: true }),
    );
    assert.equal(renamed?.status, "renamed");
    assert.equal(renamed?.previous_alias, "storm");
    await rec(
      "b takes a's alias",
      main.register("s-b", { alias: "gale", leased: true }),
    );
    assert.equal(code(c.transcript, 3), "alias_taken");
    await rec(
      "b registers",
      main.register("s-b", { alias: "tide", leased: true }),
    );
    await rec(
      "b sends to a",
      main.send("s-b", { to_alias: "gale", content: "hello gale" }),
    );
    a.release();
    await c.live("s-c");
    const takeover = await rec(
      "c takes over",
      main.register("s-c", { alias: "gale", leased: true }),
    );
    assert.equal(takeover?.status, "taken_over");
    assert.equal(takeover?.replaced_session_id, "s-a");
    assert.equal(takeover?.redelivered, 1);
    const poll = await rec("c polls", main.pollInbox("s-c"));
    assert.equal(poll?.messages[0]?.content, "hello gale");
    await rec(
      "the old alias is free",
      main.register("s-b", { alias: "storm", leased: true }),
    );
    await rec("list", main.list());
    await rec("whoami", main.whoami("s-c"));
  },
);

conformance(
  "register: a shell registration yields to a leased session, not to another shell",
  async (c) => {
    const { main, rec } = c;
    await rec(
      "shell a",
      main.register("s-a", { alias: "anchor", leased: false }),
    );
    await rec(
      "shell b",
      main.register("s-b", { alias: "anchor", leased: false }),
    );
    assert.equal(code(c.transcript, 1), "alias_taken");
    await c.live("s-b");
    const r = await rec(
      "leased b",
      main.register("s-b", { alias: "anchor", leased: true }),
    );
    assert.equal(r?.status, "taken_over");
    const list = await rec("list", main.list());
    assert.deepEqual(list?.peers.map((p) => [p.alias, p.alive]), [[
      "anchor",
      true,
    ]]);
  },
);

conformance(
  "list: liveness (alive, dead, unknown) and pending counts",
  async (c) => {
    const { main, rec } = c;
    await c.live("s-a");
    const b = await c.live("s-b");
    await main.register("s-a", { alias: "alpha", leased: true });
    await main.register("s-b", { alias: "bravo", leased: true });
    await main.register("s-c", { alias: "charlie", leased: false });
    await rec("a→b", main.send("s-a", { to_alias: "bravo", content: "one" }));
    await rec("a→c", main.send("s-a", { to_alias: "charlie", content: "two" }));
    await rec(
      "a→c",
      main.send("s-a", { to_alias: "charlie", content: "three" }),
    );
    b.release();
    const list = await rec("list", main.list());
    assert.deepEqual(
      list?.peers.map((p) => [p.alias, p.alive, p.pending]),
      [["alpha", true, 0], ["bravo", false, 1], ["charlie", null, 2]],
    );
    await rec("whoami a", main.whoami("s-a"));
    await rec("whoami c", main.whoami("s-c"));
  },
);

conformance(
  "send: unknown, dead, self, mismatched sender, too large, inbox full, reply_to",
  async (c) => {
    const { main, rec, world } = c;
    await c.live("s-a");
    await c.live("s-b");
    const dead = await c.live("s-d");
    await main.register("s-a", { alias: "alpha", leased: true });
    await main.register("s-b", { alias: "bravo", leased: true });
    await main.register("s-d", { alias: "delta", leased: true });
    dead.release();
    await rec(
      "unknown",
      main.send("s-a", { to_alias: "nobody", content: "x" }),
    );
    const queued = await rec(
      "dead",
      main.send("s-a", { to_alias: "delta", content: "x" }),
    );
    assert.equal(queued?.recipient_alive, false);
    assert.ok(queued?.expires_at);
    await rec("self", main.send("s-a", { to_alias: "alpha", content: "x" }));
    await rec(
      "mismatch",
      main.send("s-a", {
        to_alias: "bravo",
        content: "x",
        from_alias: "bravo",
      }),
    );
    await rec(
      "unregistered",
      main.send("s-z", { to_alias: "bravo", content: "x" }),
    );
    const small = await world.broker({ maxMessageBytes: 100 });
    await rec(
      "too large",
      small.send("s-a", { to_alias: "bravo", content: "é".repeat(60) }),
    );
    const sent = await rec(
      "reply",
      main.send("s-a", { to_alias: "bravo", content: "first" }),
    );
    await rec(
      "reply_to",
      main.send("s-b", {
        to_alias: "alpha",
        content: "re",
        reply_to: sent!.id,
      }),
    );
    await rec(
      "bad reply_to",
      main.send("s-b", { to_alias: "alpha", content: "re", reply_to: "a b" }),
    );
    await world.setConfig({ max_inbox_bytes: 1024 });
    let accepted = 0;
    for (let i = 0; i < 20; i++) {
      const r = await rec(
        `fill ${i}`,
        main.send("s-a", {
          to_alias: "bravo",
          content: `${i} ${"x".repeat(150)}`,
        }),
      );
      if (!r) break;
      accepted++;
    }
    assert.ok(accepted > 0 && accepted < 20, `accepted ${accepted}`);
    assert.equal(code(c.transcript, c.transcript.length - 1), "inbox_full");
    await rec("peek alpha", main.peekInbox("s-a"));
    await rec("list", main.list());
  },
);

conformance(
  "inbox quota: senders in two processes, messages of varied sizes, refused exactly at the quota",
  async (c) => {
    const { main, peer, rec, world } = c;
    await c.live("s-a");
    await c.live("s-b");
    await c.live("s-c");
    await main.register("s-a", { alias: "alpha", leased: true });
    await peer.register("s-c", { alias: "charlie", leased: true });
    await main.register("s-b", { alias: "bravo", leased: true });
    // The guard off: 200 messages to one peer is the point here.
    await world.setConfig({
      max_inbox_bytes: 20_000,
      rate_limit_messages: 0,
      loop_repeat_limit: 0,
    });
    let accepted = 0;
    for (let i = 0; i < 200; i++) {
      const [broker, from] = i % 3 === 0 ? [peer, "s-c"] : [main, "s-a"];
      const size = i % 3 === 0 ? 700 : 60 + (i % 7) * 10;
      const r = await rec(
        `fill ${i}`,
        broker.send(from, { to_alias: "bravo", content: "x".repeat(size) }),
      );
      if (!r) break;
      accepted++;
    }
    assert.ok(accepted > 20 && accepted < 200, `accepted ${accepted}`);
    await rec("count", main.list());
  },
);

conformance("send_all: skips dead peers and full inboxes", async (c) => {
  const { main, rec, world } = c;
  await c.live("s-a");
  await c.live("s-b");
  await c.live("s-c");
  const d = await c.live("s-d");
  for (
    const [s, alias] of [
      ["s-a", "alpha"],
      ["s-b", "bravo"],
      ["s-c", "charlie"],
      ["s-d", "delta"],
    ]
  ) {
    await main.register(s, { alias, leased: true });
  }
  await main.register("s-e", { alias: "echo", leased: false });
  d.release();
  await world.setConfig({ max_inbox_bytes: 1024 });
  await main.send("s-a", { to_alias: "charlie", content: "x".repeat(800) });
  const r = await rec("send_all", main.sendAll("s-a", { content: "to all" }));
  assert.deepEqual(r?.sent_to.map((s) => s.to_alias), ["bravo", "echo"]);
  assert.deepEqual(r?.skipped, [
    { alias: "charlie", reason: "inbox full" },
    { alias: "delta", reason: "not alive" },
  ]);
  await rec("peek b", main.peekInbox("s-b"));
});

conformance(
  "poll, peek and history: order, limits, byte bounds, a cut message",
  async (c) => {
    const { main, rec } = c;
    await c.live("s-a");
    await c.live("s-b");
    await main.register("s-a", { alias: "alpha", leased: true });
    await main.register("s-b", { alias: "bravo", leased: true });
    for (let i = 0; i < 4; i++) {
      await main.send("s-a", { to_alias: "bravo", content: `message ${i}` });
    }
    await main.send("s-a", { to_alias: "bravo", content: "y".repeat(3000) });
    await main.send("s-a", { to_alias: "bravo", content: "after the big one" });
    const peek = await rec("peek 2", main.peekInbox("s-b", { limit: 2 }));
    assert.deepEqual(peek?.messages.map((m) => m.content), [
      "message 0",
      "message 1",
    ]);
    assert.equal(peek?.remaining, 4);
    await rec("poll 2", main.pollInbox("s-b", { limit: 2 }));
    await rec("poll 500 bytes", main.pollInbox("s-b", { maxBytes: 500 }));
    const cut = await rec(
      "poll 1000 bytes, alone",
      main.pollInbox("s-b", { maxBytes: 1000 }),
    );
    assert.equal(cut?.messages.length, 1);
    assert.equal(cut?.truncated?.length, 1);
    await rec("poll rest", main.pollInbox("s-b"));
    await rec("poll empty", main.pollInbox("s-b"));
    const history = await rec("history 3", main.history("s-b", { limit: 3 }));
    assert.equal(history?.messages.at(-1)?.content, "after the big one");
    assert.equal(
      history?.messages[1].content.length,
      3000,
      "the archive keeps a cut message whole",
    );
    await rec("history all", main.history("s-b"));
    await rec("history 0", main.history("s-b", { limit: 0 }));
    await rec("bad limit", main.pollInbox("s-b", { limit: 0 }));
    await rec("peek unregistered", main.peekInbox("s-z"));
  },
);

conformance(
  "drainMessages and restore: a push that failed puts its messages back first",
  async (c) => {
    const { main, rec } = c;
    await c.live("s-a");
    await c.live("s-b");
    await main.register("s-a", { alias: "alpha", leased: true });
    await main.register("s-b", { alias: "bravo", leased: true });
    const ids = [];
    for (const content of ["one", "two", "three"]) {
      ids.push((await main.send("s-a", { to_alias: "bravo", content })).id);
    }
    const drained = await rec(
      "drain two",
      main.drainMessages("s-b", [ids[1]], "push"),
    );
    assert.deepEqual(drained?.messages.map((m) => m.content), ["two"]);
    await rec("peek", main.peekInbox("s-b"));
    await rec("history", main.history("s-b"));
    await rec("restore", main.restoreMessages("s-b", drained!.messages));
    const after = await rec("peek after", main.peekInbox("s-b"));
    assert.deepEqual(after?.messages.map((m) => m.content), [
      "two",
      "one",
      "three",
    ]);
    await rec("history after", main.history("s-b"));
    await rec("drain unknown id", main.drainMessages("s-b", ["nope"], "push"));
  },
);

conformance(
  "rooms: join, fan-out, dedupe within 60 s, history windows, leave, list_rooms, my_rooms",
  async (c) => {
    const { main, rec, world } = c;
    for (
      const [s, alias] of [["s-a", "alpha"], ["s-b", "bravo"], [
        "s-c",
        "charlie",
      ]]
    ) {
      await c.live(s);
      await main.register(s, { alias, leased: true });
    }
    await rec("a joins", main.joinRoom("s-a", { room_id: "lounge" }));
    await rec("b joins", main.joinRoom("s-b", { room_id: "lounge" }));
    await rec("b joins again", main.joinRoom("s-b", { room_id: "lounge" }));
    await rec(
      "c joins",
      main.joinRoom("s-c", { room_id: "lounge", history_limit: 1 }),
    );
    await rec(
      "c posts to a room it is not in",
      main.sendRoom("s-c", { room_id: "den", content: "x" }),
    );
    const post = await rec(
      "a posts",
      main.sendRoom("s-a", { room_id: "lounge", content: "hi all" }),
    );
    assert.equal(post?.queued_count, 2);
    const again = await rec(
      "a repeats",
      main.sendRoom("s-a", { room_id: "lounge", content: "hi all" }),
    );
    assert.equal(again?.deduplicated, true);
    assert.equal(again?.id, post?.id);
    world.clock.advance(61_000);
    const later = await rec(
      "a repeats a minute later",
      main.sendRoom("s-a", { room_id: "lounge", content: "hi all" }),
    );
    assert.equal(later?.deduplicated, false);
    await rec(
      "b posts",
      main.sendRoom("s-b", { room_id: "lounge", content: "hello" }),
    );
    await rec("b polls", main.pollInbox("s-b"));
    await rec("history 2", main.roomHistory({ room_id: "lounge", limit: 2 }));
    await rec(
      "history offset 1 limit 2",
      main.roomHistory({ room_id: "lounge", offset: 1, limit: 2 }),
    );
    await rec(
      "history offset 99",
      main.roomHistory({ room_id: "lounge", offset: 99 }),
    );
    await rec("history all", main.roomHistory({ room_id: "lounge" }));
    await rec("c leaves", main.leaveRoom("s-c", { room_id: "lounge" }));
    await rec("c leaves again", main.leaveRoom("s-c", { room_id: "lounge" }));
    await rec("a joins den", main.joinRoom("s-a", { room_id: "den" }));
    await rec("list_rooms", main.listRooms());
    await rec("my_rooms a", main.myRooms("s-a"));
    await rec("my_rooms c", main.myRooms("s-c"));
    await rec("empty room history", main.roomHistory({ room_id: "empty" }));
    await rec(
      "renamed member follows",
      main.register("s-b", { alias: "bravo-2", leased: true }),
    );
    await rec("members after rename", main.listRooms());
    await rec(
      "bravo-2 posts",
      main.sendRoom("s-b", { room_id: "lounge", content: "renamed" }),
    );
    await rec("a polls", main.pollInbox("s-a"));
  },
);

conformance(
  "sweep: dead sessions go, their messages become dead letters, and come back when the alias registers",
  async (c) => {
    const { main, rec } = c;
    await c.live("s-a");
    const b = await c.live("s-b");
    await main.register("s-a", { alias: "alpha", leased: true });
    await main.register("s-b", { alias: "bravo", leased: true });
    await main.register("s-c", { alias: "charlie", leased: false });
    await main.joinRoom("s-b", { room_id: "lounge" });
    await main.send("s-a", { to_alias: "bravo", content: "one" });
    await main.send("s-a", { to_alias: "bravo", content: "two" });
    b.release();
    const swept = await rec("sweep", main.sweep());
    assert.equal(swept?.removed_registrations, 1);
    assert.equal(swept?.rescued_messages, 2);
    const dead = await rec("dead letters", main.deadLetters());
    assert.deepEqual(dead?.map((d) => [d.content, d.dead_session_id]), [[
      "one",
      "s-b",
    ], ["two", "s-b"]]);
    await rec("list", main.list());
    await rec("rooms", main.listRooms());
    await rec("sweep again", main.sweep());
    await c.live("s-b2");
    const back = await rec(
      "bravo returns",
      main.register("s-b2", { alias: "bravo", leased: true }),
    );
    assert.equal(back?.redelivered, 2);
    await rec("dead letters after", main.deadLetters());
    await rec("poll", main.pollInbox("s-b2"));
  },
);

conformance(
  "gc: expires idle shell registrations, purges old dead letters, dry run changes nothing",
  async (c) => {
    const { main, rec, world } = c;
    await c.live("s-a");
    const b = await c.live("s-b");
    await main.register("s-a", { alias: "alpha", leased: true });
    await main.register("s-b", { alias: "bravo", leased: true });
    await main.register("s-c", { alias: "charlie", leased: false });
    await main.send("s-a", { to_alias: "bravo", content: "lost" });
    b.release();
    await rec("gc now", main.gc());
    world.clock.advance(25 * 3600_000);
    await rec("dry run", main.gc({ dryRun: true }));
    await rec("list after dry run", main.list());
    world.clock.advance(7 * 24 * 3600_000);
    const gc = await rec("gc later", main.gc());
    assert.equal(gc?.purged_dead_letters, 1);
    assert.deepEqual(gc?.removed.map((r) => [r.alias, r.reason]), [[
      "charlie",
      "expired",
    ]]);
    await rec("list", main.list());
    await rec("dead letters", main.deadLetters());
  },
);

/** Resolves when `broker`'s store has armed its next inbox watch. */
function nextWatchArmed(broker: Broker): Promise<void> {
  const store = broker.store;
  const original = store.watchInbox.bind(store);
  const armed = Promise.withResolvers<void>();
  store.watchInbox = async (owner) => {
    const watch = await original(owner);
    store.watchInbox = original;
    armed.resolve();
    return watch;
  };
  return armed.promise;
}

conformance(
  "wait_for_message: takes only what matches, wakes on a send from another process, times out and cancels taking nothing",
  async (c) => {
    const { main, peer, rec } = c;
    for (
      const [s, alias] of [["s-a", "alpha"], ["s-b", "bravo"], [
        "s-c",
        "charlie",
      ]]
    ) {
      await c.live(s);
      await main.register(s, { alias, leased: true });
    }
    await main.send("s-a", { to_alias: "bravo", content: "one" });
    const none = await rec(
      "nothing from charlie yet",
      peer.waitForMessage("s-b", { from_alias: "charlie", timeout_s: 0 }),
    );
    assert.equal(none?.timed_out, true);
    assert.equal(none?.remaining, 1);
    // Armed first (in the peer process), then a non-matching and a
    // matching send from this one: the wait wakes on the inbox, takes the match only.
    const armed = nextWatchArmed(peer);
    const waiting = peer.waitForMessage("s-b", {
      from_alias: "charlie",
      timeout_s: 30,
    });
    await armed;
    await main.send("s-a", { to_alias: "bravo", content: "two" });
    const ask = await main.send("s-c", {
      to_alias: "bravo",
      content: "from charlie",
    });
    const got = await rec("charlie's message", waiting);
    assert.equal(got?.timed_out, false);
    assert.deepEqual(got?.messages.map((m) => m.content), ["from charlie"]);
    const left = await rec("the rest stays", main.peekInbox("s-b"));
    assert.deepEqual(left?.messages.map((m) => m.content), ["one", "two"]);
    // reply_to: only the answer to that message.
    const armedReply = nextWatchArmed(peer);
    const reply = peer.waitForMessage("s-c", {
      reply_to: ask.id,
      timeout_s: 30,
    });
    await armedReply;
    await main.send("s-b", { to_alias: "charlie", content: "unrelated" });
    await main.send("s-b", {
      to_alias: "charlie",
      content: "the answer",
      reply_to: ask.id,
    });
    const answer = await rec("the reply", reply);
    assert.deepEqual(answer?.messages.map((m) => m.content), ["the answer"]);
    // Cancelled: throws, takes nothing.
    const abort = new AbortController();
    const armedCancel = nextWatchArmed(peer);
    const cancelled = rec(
      "cancelled",
      peer.waitForMessage("s-b", { room_id: "lounge", timeout_s: 30 }, {
        signal: abort.signal,
      }),
    );
    await armedCancel;
    abort.abort();
    await cancelled;
    assert.equal(code(c.transcript, c.transcript.length - 1), "wait_cancelled");
    await rec(
      "a short timeout",
      peer.waitForMessage("s-b", { timeout_s: 0.05, room_id: "lounge" }),
    );
    const still = await rec("nothing taken", main.peekInbox("s-b"));
    assert.deepEqual(still?.messages.map((m) => m.content), ["one", "two"]);
    await rec(
      "bad filter",
      peer.waitForMessage("s-b", { from_alias: "Not An Alias" }),
    );
    await rec(
      "timeout too long",
      peer.waitForMessage("s-b", { timeout_s: 3600 }),
    );
  },
);

conformance(
  "loop guard and rate limit: counted from the sender's sent log, per peer and per room, and lifted as the window passes",
  async (c) => {
    const { main, rec, world } = c;
    await world.setConfig({
      rate_limit_messages: 4,
      rate_limit_window_s: 30,
      loop_repeat_limit: 2,
    });
    for (
      const [s, alias] of [["s-a", "alpha"], ["s-b", "bravo"], [
        "s-c",
        "charlie",
      ]]
    ) {
      await c.live(s);
      await main.register(s, { alias, leased: true });
    }
    await main.send("s-a", { to_alias: "bravo", content: "same" });
    await main.send("s-a", { to_alias: "bravo", content: "same" });
    await rec(
      "third same",
      main.send("s-a", { to_alias: "bravo", content: "same" }),
    );
    assert.equal(code(c.transcript, 0), "loop_detected");
    await main.send("s-a", { to_alias: "bravo", content: "other" });
    await main.send("s-a", { to_alias: "bravo", content: "more" });
    await rec(
      "fifth",
      main.send("s-a", { to_alias: "bravo", content: "fifth" }),
    );
    assert.equal(code(c.transcript, 1), "rate_limited");
    await rec(
      "to charlie",
      main.send("s-a", { to_alias: "charlie", content: "fifth" }),
    );
    await rec("send_all", main.sendAll("s-a", { content: "all" }));
    await main.joinRoom("s-a", { room_id: "lounge" });
    for (const n of [1, 2, 3, 4]) {
      await main.sendRoom("s-a", { room_id: "lounge", content: `post ${n}` });
    }
    await rec(
      "room over",
      main.sendRoom("s-a", { room_id: "lounge", content: "post 5" }),
    );
    assert.equal(code(c.transcript, 4), "rate_limited");
    world.clock.advance(31_000);
    await rec(
      "after the window",
      main.send("s-a", { to_alias: "bravo", content: "later" }),
    );
    assert.equal(code(c.transcript, 5), undefined);
  },
);

conformance(
  "search_messages: received, sent and room messages, newest first; not another session's",
  async (c) => {
    const { main, rec } = c;
    for (
      const [s, alias] of [["s-a", "alpha"], ["s-b", "bravo"], [
        "s-c",
        "charlie",
      ]]
    ) {
      await c.live(s);
      await main.register(s, { alias, leased: true });
    }
    await main.joinRoom("s-a", { room_id: "lounge" });
    await main.joinRoom("s-b", { room_id: "lounge" });
    await main.send("s-a", { to_alias: "bravo", content: "Deploy done" });
    c.world.clock.advance(10);
    await main.send("s-b", { to_alias: "charlie", content: "private deploy" });
    c.world.clock.advance(10);
    await main.sendRoom("s-b", {
      room_id: "lounge",
      content: "deploy at noon",
    });
    c.world.clock.advance(10);
    await main.send("s-c", { to_alias: "alpha", content: "DEPLOY?" });
    await main.pollInbox("s-a");
    const found = await rec(
      "alpha",
      main.searchMessages("s-a", { query: "deploy" }),
    );
    assert.deepEqual(found?.hits.map((h) => h.content), [
      "DEPLOY?",
      "deploy at noon",
      "Deploy done",
    ]);
    await rec(
      "charlie",
      main.searchMessages("s-c", { query: "deploy", limit: 1 }),
    );
    await rec("empty", main.searchMessages("s-c", { query: " " }));
  },
);

conformance(
  "tail_log: the newest entries, oldest first, with error codes and never content",
  async (c) => {
    const { main, rec } = c;
    await c.live("s-a");
    await main.register("s-a", { alias: "alpha", leased: true });
    await main.send("s-a", { to_alias: "nobody", content: "secret words" })
      .catch(() => {});
    await main.list();
    const tail = await rec("tail 3", main.tailLog({ limit: 3 }));
    assert.deepEqual(tail?.entries.map((e) => [e.tool, e.ok, e.error]), [
      ["register", true, undefined],
      ["send", false, "unknown_alias"],
      ["list", true, undefined],
    ]);
    assert.ok(!JSON.stringify(tail).includes("secret"));
    await rec("tail 0", main.tailLog({ limit: 0 }));
  },
);

conformance(
  "sent log: DMs, replies in thread, send_all and room posts, by limit and since, kept with the alias across a takeover",
  async (c) => {
    const { main, rec, world } = c;
    const a = await c.live("s-a");
    await c.live("s-b");
    await main.register("s-a", { alias: "alpha", leased: true });
    await main.register("s-b", { alias: "bravo", leased: true });
    const root = await main.send("s-a", { to_alias: "bravo", content: "q1" });
    await rec("b polls", main.pollInbox("s-b"));
    const reply = await main.send("s-b", {
      to_alias: "alpha",
      content: "a1",
      reply_to: root.id,
    });
    const got = await rec("a polls", main.pollInbox("s-a"));
    assert.equal(got?.messages[0].thread_id, root.id);
    assert.equal(got?.messages[0].reply_to, root.id);
    world.clock.advance(60_000);
    const since = new Date(world.clock.now().getTime()).toISOString();
    await main.send("s-a", {
      to_alias: "bravo",
      content: "q2",
      reply_to: reply.id,
    });
    // A reply to an id the sender never saw starts its thread there.
    await main.send("s-a", {
      to_alias: "bravo",
      content: "q3",
      reply_to: "not-seen-here",
    });
    await main.sendAll("s-a", { content: "all" });
    await main.joinRoom("s-a", { room_id: "lounge" });
    await main.sendRoom("s-a", { room_id: "lounge", content: "posted" });
    const all = await rec("alpha's sent log", main.store.sent("alpha"));
    assert.deepEqual(
      all?.map((m) => [m.content, m.to_alias ?? m.room_id]),
      [
        ["q1", "bravo"],
        ["q2", "bravo"],
        ["q3", "bravo"],
        ["all", "bravo"],
        ["posted", "lounge"],
      ],
    );
    assert.equal(all?.[0].thread_id, root.id);
    assert.equal(all?.[1].thread_id, root.id);
    assert.equal(all?.[1].reply_to, reply.id);
    assert.equal(all?.[2].thread_id, "not-seen-here");
    assert.equal(all?.[4].thread_id, undefined);
    const last2 = await rec("last 2", main.store.sent("alpha", { limit: 2 }));
    assert.deepEqual(last2?.map((m) => m.content), ["all", "posted"]);
    const recent = await rec("since", main.store.sent("alpha", { since }));
    assert.deepEqual(recent?.map((m) => m.content), [
      "q2",
      "q3",
      "all",
      "posted",
    ]);
    await rec("bravo's sent log", main.store.sent("bravo"));
    assert.deepEqual(await main.store.sent("nobody-here"), []);
    a.release();
    await c.live("s-a2");
    await main.register("s-a2", { alias: "alpha", leased: true });
    await main.send("s-a2", { to_alias: "bravo", content: "q4" });
    assert.deepEqual(
      (await main.store.sent("alpha", { limit: 3 })).map((m) => m.content),
      ["all", "posted", "q4"],
    );
  },
);

conformance(
  "drain: the archive records how a message was delivered",
  async (c) => {
    const { main, rec } = c;
    await c.live("s-a");
    await c.live("s-b");
    await main.register("s-a", { alias: "alpha", leased: true });
    await main.register("s-b", { alias: "bravo", leased: true });
    await main.send("s-a", { to_alias: "bravo", content: "one" });
    const me = { session_id: "s-b", alias: "bravo" };
    await main.store.drain(me, {}, new Date().toISOString(), "hook");
    await main.send("s-a", { to_alias: "bravo", content: "two" });
    await main.store.drain(me, {}, new Date().toISOString());
    const archive = await rec("archive", main.store.archive(me));
    assert.deepEqual(
      archive?.map((m) => [m.content, m.delivered_via]),
      [["one", "hook"], ["two", undefined]],
    );
  },
);

conformance(
  "offline: a DM to a dead recipient waits for its next session, expires into the dead letters and never comes back",
  async (c) => {
    const { main, rec, world } = c;
    await c.live("s-a");
    const b = await c.live("s-b");
    await main.register("s-a", { alias: "alpha", leased: true });
    await main.register("s-b", { alias: "bravo", leased: true });
    b.release();
    const first = await rec(
      "while down",
      main.send("s-a", { to_alias: "bravo", content: "while down" }),
    );
    assert.equal(first?.recipient_alive, false);
    const status = (id: string) =>
      main.messageStatus("s-a", { ids: [id] }).then((r) => r.messages[0]);
    assert.equal((await status(first!.id)).state, "queued");
    const b2 = await c.live("s-b2");
    const back = await rec(
      "next session",
      main.register("s-b2", { alias: "bravo", leased: true }),
    );
    assert.equal(back?.redelivered, 1);
    const got = await rec("polls", main.pollInbox("s-b2"));
    assert.deepEqual(got?.messages.map((m) => m.content), ["while down"]);
    const delivered = await rec("status delivered", status(first!.id));
    assert.equal(delivered?.state, "delivered");
    assert.equal(delivered?.via, "poll");
    b2.release();
    const late = await main.send("s-a", {
      to_alias: "bravo",
      content: "too late",
    });
    world.clock.advance(7 * 24 * 3600_000 + 60_000);
    assert.equal((await status(late.id)).state, "expired");
    const swept = await rec("sweep", main.sweep());
    assert.equal(swept?.expired_messages, 1);
    const dead = await rec("dead letters", main.deadLetters());
    assert.deepEqual(dead?.map((d) => [d.content, d.reason]), [[
      "too late",
      "expired",
    ]]);
    await c.live("s-b3");
    const again = await rec(
      "a later session",
      main.register("s-b3", { alias: "bravo", leased: true }),
    );
    assert.equal(again?.redelivered, 0);
    assert.deepEqual((await main.pollInbox("s-b3")).messages, []);
    await rec("status expired", status(late.id));
    await rec("dead letters after", main.deadLetters());
  },
);

conformance(
  "offline: a swept alias that sent lately still accepts DMs, kept in the dead letters until it registers; an unknown alias is refused",
  async (c) => {
    const { main, rec } = c;
    await c.live("s-a");
    const k = await c.live("s-k");
    await main.register("s-a", { alias: "alpha", leased: true });
    await main.register("s-k", { alias: "kilo", leased: true });
    await main.send("s-k", { to_alias: "alpha", content: "brb" });
    k.release();
    await rec("sweep", main.sweep());
    const queued = await rec(
      "to the swept alias",
      main.send("s-a", { to_alias: "kilo", content: "welcome back" }),
    );
    assert.equal(queued?.recipient_alive, false);
    const state = await main.messageStatus("s-a", { ids: [queued!.id] });
    assert.equal(state.messages[0].state, "dead_lettered");
    await rec(
      "to nobody",
      main.send("s-a", { to_alias: "nobody", content: "x" }),
    );
    assert.equal(code(c.transcript, 2), "unknown_alias");
    await c.live("s-k2");
    const back = await rec(
      "kilo again",
      main.register("s-k2", { alias: "kilo", leased: true }),
    );
    assert.equal(back?.redelivered, 1);
    const got = await main.pollInbox("s-k2");
    assert.deepEqual(got.messages.map((m) => m.content), ["welcome back"]);
  },
);

conformance(
  "message_status: receipts per delivery path, room posts, other senders' ids read unknown, never content",
  async (c) => {
    const { main, rec } = c;
    await c.live("s-a");
    await c.live("s-b");
    await c.live("s-c");
    await main.register("s-a", { alias: "alpha", leased: true });
    await main.register("s-b", { alias: "bravo", leased: true });
    await main.register("s-c", { alias: "charlie", leased: true });
    const send = async (content: string) =>
      (await main.send("s-a", { to_alias: "bravo", content })).id;
    const polled = await send("secret one");
    await main.pollInbox("s-b");
    const pushed = await send("secret two");
    await main.drainMessages("s-b", [pushed], "push");
    const waiting = await send("secret three");
    await main.joinRoom("s-a", { room_id: "lounge" });
    const post = await main.sendRoom("s-a", {
      room_id: "lounge",
      content: "secret four",
    });
    const theirs = await main.send("s-c", { to_alias: "bravo", content: "c" });
    const last = await rec("last", main.messageStatus("s-a"));
    assert.deepEqual(
      last?.messages.map((m) => [m.id, m.state, m.via]),
      [
        [polled, "delivered", "poll"],
        [pushed, "delivered", "push"],
        [waiting, "queued", undefined],
        [post.id, "posted", undefined],
      ],
    );
    const asked = await rec(
      "by id",
      main.messageStatus("s-a", { ids: [theirs.id, waiting, "nope"] }),
    );
    assert.deepEqual(asked?.messages.map((m) => m.state), [
      "unknown",
      "queued",
      "unknown",
    ]);
    assert.ok(!JSON.stringify([last, asked]).includes("secret"));
    await rec("last 1", main.messageStatus("s-a", { last: 1 }));
    await rec(
      "too many",
      main.messageStatus("s-a", {
        ids: Array.from({ length: 101 }, (_, i) => `m${i}`),
      }),
    );
  },
);

conformance(
  "history: a thread of 6 between two agents reads back in order from both sides, by peer and by thread",
  async (c) => {
    const { main, rec, world } = c;
    await c.live("s-a");
    await c.live("s-b");
    await c.live("s-c");
    await main.register("s-a", { alias: "alpha", leased: true });
    await main.register("s-b", { alias: "bravo", leased: true });
    await main.register("s-c", { alias: "charlie", leased: true });
    const ids: string[] = [];
    let replyTo: string | undefined;
    for (let i = 0; i < 6; i++) {
      const [from, to, reader] = i % 2 === 0
        ? ["s-a", "bravo", "s-b"]
        : ["s-b", "alpha", "s-a"];
      world.clock.advance(1000);
      const r = await main.send(from, {
        to_alias: to,
        content: `turn ${i}`,
        reply_to: replyTo,
      });
      ids.push(r.id);
      replyTo = r.id;
      await main.pollInbox(reader);
      if (i === 2) {
        // Its own millisecond: messages of one millisecond have no order.
        world.clock.advance(1);
        await main.send("s-c", { to_alias: "alpha", content: "aside" });
        await main.pollInbox("s-a");
      }
    }
    const turns = ids.map((_, i) => `turn ${i}`);
    const mine = await rec("alpha's history", main.history("s-a"));
    assert.deepEqual(
      mine?.messages.map((m) => [m.content, m.direction]),
      [
        ["turn 0", "out"],
        ["turn 1", "in"],
        ["turn 2", "out"],
        ["aside", "in"],
        ["turn 3", "in"],
        ["turn 4", "out"],
        ["turn 5", "in"],
      ],
    );
    for (const session of ["s-a", "s-b"]) {
      const thread = await main.history(session, { thread_id: ids[0] });
      assert.deepEqual(thread.messages.map((m) => m.content), turns);
      assert.ok(thread.messages.every((m) => m.thread_id === ids[0]));
    }
    const peer = await rec(
      "bravo with alpha",
      main.history("s-b", { peer: "alpha" }),
    );
    assert.deepEqual(peer?.messages.map((m) => m.content), turns);
    const aside = await main.history("s-a", { peer: "charlie" });
    assert.deepEqual(aside.messages.map((m) => m.content), ["aside"]);
    const two = await main.history("s-a", { thread_id: ids[0], limit: 2 });
    assert.deepEqual(two.messages.map((m) => m.content), ["turn 4", "turn 5"]);
  },
);

Deno.test("conformance: stop the NATS server", async () => {
  await server[Symbol.asyncDispose]();
});
