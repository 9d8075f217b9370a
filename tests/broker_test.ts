// Unit tests of every Broker operation, success and error paths, in one process.

import assert from "node:assert/strict";
import {
  AliasTakenError,
  type Broker,
  type C2cError,
  InvalidAliasError,
  InvalidArgumentError,
  InvalidRoomIdError,
  InvalidSessionIdError,
  MessageTooLargeError,
  NotMemberError,
  NotRegisteredError,
  ReservedAliasError,
  SelfSendError,
  SenderMismatchError,
  UnknownAliasError,
} from "../mod.ts";
import { tempBroker } from "./_helpers.ts";

async function pair(broker: Broker): Promise<void> {
  await broker.register("s-a", { alias: "storm-beacon" });
  await broker.register("s-b", { alias: "tide-runner" });
}

async function rejects(
  promise: Promise<unknown>,
  type: new (...args: never[]) => C2cError,
  message?: RegExp,
): Promise<C2cError> {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof type, `expected ${type.name}, got ${e}`);
    if (message) assert.match((e as Error).message, message);
    return e as C2cError;
  }
  assert.fail(`expected ${type.name}, but it resolved`);
}

Deno.test("register() assigns the requested alias and refreshes on repeat", async () => {
  await using broker = await tempBroker();
  const first = await broker.register("s-a", { alias: "storm-beacon" });
  assert.deepEqual(first, {
    alias: "storm-beacon",
    session_id: "s-a",
    status: "registered",
    redelivered: 0,
  });
  const again = await broker.register("s-a", {});
  assert.equal(again.status, "already_registered");
  assert.equal(again.alias, "storm-beacon");
});

Deno.test("register() generates a stable two-word alias when none is given", async () => {
  await using one = await tempBroker();
  await using two = await tempBroker();
  const a = await one.register("session-xyz");
  const b = await two.register("session-xyz");
  assert.match(a.alias, /^[a-z]+-[a-z]+$/);
  assert.equal(a.alias, b.alias);
});

Deno.test("register() generated aliases skip taken ones", async () => {
  await using broker = await tempBroker();
  await using other = await tempBroker();
  const wanted = (await other.register("s-new")).alias;
  await broker.register("s-old", { alias: wanted });
  const got = await broker.register("s-new");
  assert.notEqual(got.alias, wanted);
});

Deno.test("register() renames a session and its room memberships follow", async () => {
  await using broker = await tempBroker();
  await pair(broker);
  await broker.joinRoom("s-a", { room_id: "lounge" });
  const r = await broker.register("s-a", { alias: "storm-2" });
  assert.equal(r.status, "renamed");
  assert.equal(r.previous_alias, "storm-beacon");
  assert.deepEqual((await broker.myRooms("s-a")).rooms, [
    { room_id: "lounge", member_count: 1 },
  ]);
  await broker.joinRoom("s-b", { room_id: "lounge" });
  const sent = await broker.sendRoom("s-b", {
    room_id: "lounge",
    content: "hi",
  });
  assert.equal(sent.queued_count, 1);
  const { messages } = await broker.pollInbox("s-a");
  assert.equal(messages[0].to_alias, "storm-2");
});

Deno.test("register() rejects bad, capitalised and reserved aliases", async () => {
  await using broker = await tempBroker();
  await rejects(broker.register("s", { alias: "" }), InvalidAliasError);
  await rejects(
    broker.register("s", { alias: "Storm" }),
    InvalidAliasError,
    /use 'storm'/,
  );
  await rejects(broker.register("s", { alias: "-x" }), InvalidAliasError);
  await rejects(broker.register("s", { alias: "a/b" }), InvalidAliasError);
  await rejects(
    broker.register("s", { alias: "x".repeat(65) }),
    InvalidAliasError,
  );
  for (const alias of ["c2c", "c2c-system", "broker"]) {
    await rejects(broker.register("s", { alias }), ReservedAliasError);
  }
  assert.equal((await broker.registrations()).length, 0);
});

Deno.test("register() rejects session ids that could escape the root", async () => {
  await using broker = await tempBroker();
  for (const id of ["../x", "a/b", "..", ".", "", "a\0b", "x".repeat(129)]) {
    await rejects(broker.register(id, { alias: "ok" }), InvalidSessionIdError);
  }
});

Deno.test("register() refuses an alias held by a live or unknown session, naming it", async () => {
  await using broker = await tempBroker();
  await broker.register("s-a", { alias: "storm-beacon" });
  const e = await rejects(
    broker.register("s-b", { alias: "storm-beacon" }),
    AliasTakenError,
    /held by a live session \(s-a\).*storm-beacon-2/,
  ) as AliasTakenError;
  assert.equal(e.holderSessionId, "s-a");
  const lease = await broker.acquireLease("s-a");
  await rejects(
    broker.register("s-b", { alias: "storm-beacon" }),
    AliasTakenError,
  );
  lease.release();
});

Deno.test("register() takes over a dead session's alias with its pending messages", async () => {
  await using broker = await tempBroker();
  const lease = await broker.acquireLease("s-old");
  await broker.register("s-old", { alias: "tide-runner", leased: true });
  await broker.register("s-a", { alias: "storm-beacon" });
  await broker.send("s-a", { to_alias: "tide-runner", content: "one" });
  await broker.send("s-a", { to_alias: "tide-runner", content: "two" });
  lease.release();
  const r = await broker.register("s-new", { alias: "tide-runner" });
  assert.equal(r.status, "taken_over");
  assert.equal(r.replaced_session_id, "s-old");
  assert.equal(r.redelivered, 2);
  const { messages } = await broker.pollInbox("s-new");
  assert.deepEqual(messages.map((m) => m.content), ["one", "two"]);
  assert.equal(await broker.registration("s-old"), undefined);
});

Deno.test("whoami() reports the registration and liveness", async () => {
  await using broker = await tempBroker();
  await rejects(broker.whoami("s-a"), NotRegisteredError, /call register/);
  await broker.register("s-a", { alias: "storm-beacon", client: "cli" });
  const me = await broker.whoami("s-a");
  assert.equal(me.alias, "storm-beacon");
  assert.equal(me.alive, null);
  assert.equal(me.client, "cli");
  const lease = await broker.acquireLease("s-a");
  assert.equal((await broker.whoami("s-a")).alive, true);
  lease.release();
  assert.equal((await broker.whoami("s-a")).alive, false);
});

Deno.test("list() shows peers with liveness and pending counts; all adds unregistered inboxes", async () => {
  await using broker = await tempBroker();
  await pair(broker);
  await broker.send("s-a", { to_alias: "tide-runner", content: "x" });
  const { peers } = await broker.list();
  assert.deepEqual(
    peers.map((p) => [p.alias, p.alive, p.pending]),
    [["storm-beacon", null, 0], ["tide-runner", null, 1]],
  );
  await Deno.writeTextFile(`${broker.root}/ghost.inbox.jsonl`, "");
  const all = await broker.list({ all: true });
  assert.deepEqual(all.peers.at(-1)?.session_id, "ghost");
  assert.equal(all.peers.at(-1)?.alias, null);
});

Deno.test("send() queues a message and returns a receipt", async () => {
  await using broker = await tempBroker();
  await pair(broker);
  const receipt = await broker.send("s-a", {
    from_alias: "storm-beacon",
    to_alias: "tide-runner",
    content: "hello",
  });
  assert.equal(receipt.to_alias, "tide-runner");
  assert.equal(receipt.queued, true);
  assert.match(receipt.id, /^[0-9a-f-]{36}$/);
  const { messages } = await broker.peekInbox("s-b");
  assert.equal(messages.length, 1);
  assert.equal(messages[0].from_alias, "storm-beacon");
  assert.equal(messages[0].id, receipt.id);
});

Deno.test("send() rejects a from_alias that is not the caller's", async () => {
  await using broker = await tempBroker();
  await pair(broker);
  await rejects(
    broker.send("s-a", {
      from_alias: "tide-runner",
      to_alias: "tide-runner",
      content: "forged",
    }),
    SenderMismatchError,
    /'tide-runner' is not your alias.*'storm-beacon'/,
  );
  assert.equal((await broker.peekInbox("s-b")).messages.length, 0);
});

Deno.test("send() rejects unknown, dead and self recipients and unregistered senders", async () => {
  await using broker = await tempBroker();
  await pair(broker);
  await rejects(
    broker.send("s-a", { to_alias: "nobody", content: "x" }),
    UnknownAliasError,
    /unknown alias 'nobody'/,
  );
  await rejects(
    broker.send("s-a", { to_alias: "storm-beacon", content: "x" }),
    SelfSendError,
  );
  await rejects(
    broker.send("s-zz", { to_alias: "tide-runner", content: "x" }),
    NotRegisteredError,
  );
  (await broker.acquireLease("s-b")).release();
  // A dead recipient's next session gets it (docs/design.md#conversations).
  const queued = await broker.send("s-a", {
    to_alias: "tide-runner",
    content: "x",
  });
  assert.equal(queued.recipient_alive, false);
  assert.equal(
    Date.parse(queued.expires_at!) - Date.parse(queued.ts),
    7 * 24 * 3600_000,
  );
});

Deno.test("send() enforces the size limit in UTF-8 bytes", async () => {
  await using broker = await tempBroker({ maxMessageBytes: 10 });
  await pair(broker);
  await broker.send("s-a", { to_alias: "tide-runner", content: "0123456789" });
  const e = await rejects(
    broker.send("s-a", { to_alias: "tide-runner", content: "ééééé é" }),
    MessageTooLargeError,
  ) as MessageTooLargeError;
  assert.equal(e.bytes, 13);
  await using big = await tempBroker();
  await pair(big);
  await rejects(
    big.send("s-a", {
      to_alias: "tide-runner",
      content: "x".repeat(64 * 1024 + 1),
    }),
    MessageTooLargeError,
    /65537 bytes; the limit is 65536/,
  );
  await big.send("s-a", {
    to_alias: "tide-runner",
    content: "x".repeat(64 * 1024),
  });
});

Deno.test("sendAll() reaches every live peer and skips dead ones", async () => {
  await using broker = await tempBroker();
  await pair(broker);
  await broker.register("s-c", { alias: "ember-fox" });
  (await broker.acquireLease("s-c")).release();
  const r = await broker.sendAll("s-a", { content: "all" });
  assert.deepEqual(r.sent_to.map((x) => x.to_alias), ["tide-runner"]);
  assert.deepEqual(r.skipped, [{ alias: "ember-fox", reason: "not alive" }]);
  await rejects(
    broker.sendAll("s-a", { content: "x", from_alias: "ember-fox" }),
    SenderMismatchError,
  );
});

Deno.test("pollInbox() drains into the archive; history() reads it newest last", async () => {
  await using broker = await tempBroker();
  await pair(broker);
  for (let i = 0; i < 5; i++) {
    await broker.send("s-a", { to_alias: "tide-runner", content: `m${i}` });
  }
  const polled = await broker.pollInbox("s-b");
  assert.deepEqual(polled.messages.map((m) => m.content), [
    "m0",
    "m1",
    "m2",
    "m3",
    "m4",
  ]);
  assert.deepEqual((await broker.pollInbox("s-b")).messages, []);
  const history = await broker.history("s-b", { limit: 2 });
  assert.deepEqual(history.messages.map((m) => m.content), ["m3", "m4"]);
  assert.ok(history.messages[0].drained_at);
  await rejects(broker.history("s-b", { limit: -1 }), InvalidArgumentError);
  await rejects(broker.pollInbox("s-zz"), NotRegisteredError);
});

Deno.test("peekInbox() leaves messages in place", async () => {
  await using broker = await tempBroker();
  await pair(broker);
  await broker.send("s-a", { to_alias: "tide-runner", content: "x" });
  assert.equal((await broker.peekInbox("s-b")).messages.length, 1);
  assert.equal((await broker.peekInbox("s-b")).messages.length, 1);
  assert.equal((await broker.pollInbox("s-b")).messages.length, 1);
});

Deno.test("drainMessages() drains only the listed ids", async () => {
  await using broker = await tempBroker();
  await pair(broker);
  const a = await broker.send("s-a", { to_alias: "tide-runner", content: "a" });
  await broker.send("s-a", { to_alias: "tide-runner", content: "b" });
  const drained = await broker.drainMessages("s-b", [a.id], "push");
  assert.deepEqual(drained.messages.map((m) => m.content), ["a"]);
  assert.deepEqual(
    (await broker.peekInbox("s-b")).messages.map((m) => m.content),
    ["b"],
  );
});

Deno.test("joinRoom() creates the room, is idempotent and returns history", async () => {
  await using broker = await tempBroker();
  await pair(broker);
  const first = await broker.joinRoom("s-a", { room_id: "lounge" });
  assert.equal(first.already_member, false);
  assert.equal(first.member_count, 1);
  assert.equal(first.history.at(-1)?.content, "storm-beacon joined");
  const again = await broker.joinRoom("s-a", { room_id: "lounge" });
  assert.equal(again.already_member, true);
  assert.equal(again.history.length, 1);
  for (let i = 0; i < 30; i++) {
    await broker.sendRoom("s-a", { room_id: "lounge", content: `p${i}` });
  }
  const joined = await broker.joinRoom("s-b", {
    room_id: "lounge",
    history_limit: 5,
  });
  assert.equal(joined.history.length, 5);
  assert.equal(joined.history.at(-1)?.content, "tide-runner joined");
  const capped = await broker.joinRoom("s-b", {
    room_id: "lounge",
    history_limit: 1000,
  });
  assert.equal(capped.history.length, 32);
  assert.equal((await broker.peekInbox("s-b")).messages.length, 0);
});

Deno.test("joinRoom() rejects room ids with '/', '..' and other bad characters", async () => {
  await using broker = await tempBroker();
  await pair(broker);
  for (const id of ["../x", "a/b", "..", ".", "", "x".repeat(65), "a b"]) {
    await rejects(
      broker.joinRoom("s-a", { room_id: id }),
      InvalidRoomIdError,
    );
  }
  await rejects(
    broker.joinRoom("s-a", { room_id: "ok", alias: "tide-runner" }),
    SenderMismatchError,
  );
  const entries = [...Deno.readDirSync(broker.root)].map((e) => e.name);
  assert.ok(!entries.includes("x"));
});

Deno.test("sendRoom() fans out to other members once and dedupes within 60 s", async () => {
  let now = Date.parse("2026-01-01T00:00:00Z");
  await using broker = await tempBroker({ now: () => new Date(now) });
  await pair(broker);
  await broker.register("s-c", { alias: "ember-fox" });
  for (const s of ["s-a", "s-b", "s-c"]) {
    await broker.joinRoom(s, { room_id: "lounge" });
  }
  const r = await broker.sendRoom("s-a", { room_id: "lounge", content: "hi" });
  assert.deepEqual(
    [r.member_count, r.queued_count, r.deduplicated],
    [3, 2, false],
  );
  now += 30_000;
  const dup = await broker.sendRoom("s-a", {
    room_id: "lounge",
    content: "hi",
  });
  assert.equal(dup.deduplicated, true);
  assert.equal(dup.id, r.id);
  now += 31_000;
  const later = await broker.sendRoom("s-a", {
    room_id: "lounge",
    content: "hi",
  });
  assert.equal(later.deduplicated, false);
  for (const s of ["s-b", "s-c"]) {
    const { messages } = await broker.pollInbox(s);
    assert.equal(messages.length, 2);
    assert.equal(messages[0].room_id, "lounge");
  }
  assert.equal((await broker.peekInbox("s-a")).messages.length, 0);
});

Deno.test("sendRoom() requires membership and a matching sender", async () => {
  await using broker = await tempBroker();
  await pair(broker);
  await broker.joinRoom("s-a", { room_id: "lounge" });
  await rejects(
    broker.sendRoom("s-b", { room_id: "lounge", content: "x" }),
    NotMemberError,
  );
  await rejects(
    broker.sendRoom("s-a", {
      room_id: "lounge",
      content: "x",
      from_alias: "tide-runner",
    }),
    SenderMismatchError,
  );
});

Deno.test("leaveRoom() stops delivery and logs to history only", async () => {
  await using broker = await tempBroker();
  await pair(broker);
  await broker.joinRoom("s-a", { room_id: "lounge" });
  await broker.joinRoom("s-b", { room_id: "lounge" });
  const left = await broker.leaveRoom("s-b", { room_id: "lounge" });
  assert.deepEqual(left, { room_id: "lounge", left: true, member_count: 1 });
  assert.equal(
    (await broker.leaveRoom("s-b", { room_id: "lounge" })).left,
    false,
  );
  const r = await broker.sendRoom("s-a", { room_id: "lounge", content: "x" });
  assert.equal(r.queued_count, 0);
  assert.equal((await broker.peekInbox("s-b")).messages.length, 0);
  assert.deepEqual((await broker.myRooms("s-b")).rooms, []);
});

Deno.test("roomHistory() returns the newest by default and pages with offset", async () => {
  await using broker = await tempBroker();
  await pair(broker);
  await broker.joinRoom("s-a", { room_id: "lounge" });
  for (let i = 0; i < 10; i++) {
    await broker.sendRoom("s-a", { room_id: "lounge", content: `p${i}` });
  }
  const newest = await broker.roomHistory({ room_id: "lounge", limit: 2 });
  assert.deepEqual(newest.messages.map((m) => m.content), ["p8", "p9"]);
  assert.equal(newest.total, 11);
  const page = await broker.roomHistory({
    room_id: "lounge",
    limit: 2,
    offset: 1,
  });
  assert.deepEqual(page.messages.map((m) => m.content), ["p0", "p1"]);
  const empty = await broker.roomHistory({ room_id: "never" });
  assert.deepEqual(empty, { room_id: "never", messages: [], total: 0 });
  await rejects(broker.roomHistory({ room_id: "../etc" }), InvalidRoomIdError);
});

Deno.test("listRooms() and myRooms() count members and messages", async () => {
  await using broker = await tempBroker();
  await pair(broker);
  await broker.joinRoom("s-a", { room_id: "a-room" });
  await broker.joinRoom("s-b", { room_id: "a-room" });
  await broker.joinRoom("s-b", { room_id: "b-room" });
  await broker.sendRoom("s-b", { room_id: "b-room", content: "x" });
  assert.deepEqual((await broker.listRooms()).rooms, [
    { room_id: "a-room", member_count: 2, message_count: 2 },
    { room_id: "b-room", member_count: 1, message_count: 2 },
  ]);
  assert.deepEqual((await broker.myRooms("s-a")).rooms, [
    { room_id: "a-room", member_count: 2 },
  ]);
  await rejects(
    broker.myRooms("s-a", { alias: "tide-runner" }),
    SenderMismatchError,
  );
});

Deno.test("sweep() removes dead sessions, rescues mail, and re-registering redelivers it", async () => {
  await using broker = await tempBroker();
  await pair(broker);
  const lease = await broker.acquireLease("s-b");
  await broker.register("s-b", { leased: true });
  await broker.joinRoom("s-b", { room_id: "lounge" });
  await broker.send("s-a", { to_alias: "tide-runner", content: "kept" });
  lease.release();
  const swept = await broker.sweep();
  assert.equal(swept.removed_registrations, 1);
  assert.deepEqual(swept.removed, [
    { alias: "tide-runner", session_id: "s-b", reason: "dead" },
  ]);
  assert.equal(swept.rescued_messages, 1);
  assert.equal((await broker.deadLetters()).length, 1);
  assert.deepEqual((await broker.listRooms()).rooms[0].member_count, 0);
  // The lease-less registration of s-a is not swept.
  assert.ok(await broker.registration("s-a"));
  const back = await broker.register("s-b2", { alias: "tide-runner" });
  assert.equal(back.redelivered, 1);
  assert.deepEqual(
    (await broker.pollInbox("s-b2")).messages.map((m) => m.content),
    ["kept"],
  );
  assert.equal((await broker.deadLetters()).length, 0);
});

Deno.test("sweep() rescues orphan inboxes nobody is registered for", async () => {
  await using broker = await tempBroker();
  await pair(broker);
  await broker.send("s-a", { to_alias: "tide-runner", content: "x" });
  await Deno.rename(
    broker.paths.inbox("s-b"),
    broker.paths.inbox("orphan"),
  );
  const swept = await broker.sweep();
  assert.equal(swept.orphan_inboxes, 1);
  assert.equal(swept.rescued_messages, 1);
  assert.equal((await broker.deadLetters())[0].dead_session_id, "orphan");
});

Deno.test("gc() expires idle lease-less registrations and old dead letters; dry run changes nothing", async () => {
  let now = Date.parse("2026-01-01T00:00:00Z");
  await using broker = await tempBroker({ now: () => new Date(now) });
  await pair(broker);
  await broker.send("s-a", { to_alias: "tide-runner", content: "x" });
  now += 25 * 3600_000;
  await broker.register("s-a", {});
  const dry = await broker.gc({ dryRun: true });
  assert.equal(dry.dry_run, true);
  assert.deepEqual(dry.removed.map((r) => r.alias), ["tide-runner"]);
  assert.equal((await broker.registrations()).length, 2);
  const real = await broker.gc();
  assert.deepEqual(real.removed.map((r) => [r.alias, r.reason]), [
    ["tide-runner", "expired"],
  ]);
  assert.equal((await broker.deadLetters()).length, 1);
  now += 8 * 24 * 3600_000;
  const purge = await broker.gc({ leaselessTtlMs: 1e15 });
  assert.equal(purge.purged_dead_letters, 1);
  assert.equal((await broker.deadLetters()).length, 0);
});

Deno.test("tailLog() records operations without content", async () => {
  await using broker = await tempBroker();
  await pair(broker);
  await broker.send("s-a", { to_alias: "tide-runner", content: "secret" });
  await broker.send("s-a", { to_alias: "nobody", content: "secret" }).catch(
    () => {},
  );
  const { entries } = await broker.tailLog({ limit: 2 });
  assert.deepEqual(entries.map((e) => [e.tool, e.ok, e.error]), [
    ["send", true, undefined],
    ["send", false, "unknown_alias"],
  ]);
  const log = await Deno.readTextFile(broker.paths.log);
  assert.ok(!log.includes("secret"));
  assert.ok(!log.includes("tide-runner"));
  // register ×2, send ×2 and the first tail_log; limit is capped at 500.
  assert.equal((await broker.tailLog({ limit: 10_000 })).entries.length, 5);
});

Deno.test("refreshPeer() records a live pid and refuses a dead one", async () => {
  await using broker = await tempBroker();
  await pair(broker);
  const r = await broker.refreshPeer({
    alias: "tide-runner",
    pid: 4242,
    isAlive: () => true,
  });
  assert.equal(r.pid, 4242);
  assert.equal((await broker.registrationByAlias("tide-runner"))?.pid, 4242);
  await assert.rejects(
    broker.refreshPeer({ alias: "tide-runner", pid: 1, isAlive: () => false }),
    /pid 1 is not a running process/,
  );
  await assert.rejects(
    broker.refreshPeer({ alias: "nobody", pid: 1, isAlive: () => true }),
    UnknownAliasError,
  );
});
