// The NATS store's own guarantees, against real nats-server processes:
// exactly-once drains under concurrent pollers on separate connections,
// one winner among concurrent alias claims, forged senders never
// delivered, a store made while NATS is down, the local signal file, and
// nothing lost or duplicated while a cluster node is killed.

import assert from "node:assert/strict";
import { headers } from "@nats-io/nats-core";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Broker } from "../lib/broker.ts";
import { C2cError } from "../lib/errors.ts";
import type { Message } from "../lib/message.ts";
import { NatsStore } from "../lib/store/nats/nats_store.ts";
import { natsNames } from "../lib/store/nats/names.ts";
import {
  sessionKey,
  SIG_HEADER,
  SIGNER_HEADER,
  signRecord,
} from "../lib/store/nats/signing.ts";
import { connect } from "../lib/store/nats/transport.ts";
import { natsConfigFromEnv } from "../lib/store/nats/url.ts";
import { freePorts, startNats, startNatsCluster } from "./_nats.ts";
import { waitFor } from "./_helpers.ts";
import { unguardedNats } from "./_stores.ts";

/** A broker on its own NATS store and local directory ("a machine"). */
async function machine(
  url: string,
  namespace: string,
): Promise<Broker & AsyncDisposable> {
  const root = await Deno.makeTempDir({ prefix: "c2c-nats-machine-" });
  const config = natsConfigFromEnv(new Map([["C2C_BROKER_URL", url]]))!;
  const store = new NatsStore({ config, namespace, root });
  const broker = new Broker({ store }) as Broker & AsyncDisposable;
  broker[Symbol.asyncDispose] = async () => {
    await broker.close();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  };
  return broker;
}

function ns(): string {
  return `t-${crypto.randomUUID().slice(0, 8)}`;
}

function hostPorts(url: string): string[] {
  return url.split(",").map((u) => u.replace(/^[a-z]+:\/\//, ""));
}

Deno.test("NatsStore.drain() delivers each message once to two pollers on separate connections", async () => {
  await using server = await startNats();
  const space = ns();
  await unguardedNats(server.url, space); // 300 messages to one peer
  await using sender = await machine(server.url, space);
  await using p1 = await machine(server.url, space);
  await using p2 = await machine(server.url, space);
  using _a = await sender.acquireLease("s-a");
  using _b = await p1.acquireLease("s-b");
  await sender.register("s-a", { alias: "alpha", leased: true });
  await sender.register("s-b", { alias: "bravo", leased: false });
  const total = 300;
  const sent: string[] = [];
  let sending = true;
  const sending$ = (async () => {
    for (let i = 0; i < total; i++) {
      sent.push(
        (await sender.send("s-a", { to_alias: "bravo", content: `m${i}` })).id,
      );
    }
    sending = false;
  })();
  const got: string[] = [];
  const poller = async (broker: Broker) => {
    while (true) {
      const wasSending = sending;
      const { messages } = await broker.pollInbox("s-b", { limit: 5 });
      got.push(...messages.map((m) => m.id));
      if (messages.length === 0 && !wasSending) return;
    }
  };
  await Promise.all([sending$, poller(p1), poller(p2)]);
  assert.equal(got.length, total, "delivered");
  assert.equal(new Set(got).size, total, "each once");
  assert.deepEqual([...got].sort(), [...sent].sort());
  const history = await p1.history("s-b", { limit: total });
  assert.equal(new Set(history.messages.map((m) => m.id)).size, total);
});

for (const leased of [true, false]) {
  Deno.test(
    `NatsStore.changeRegistry() lets exactly one of concurrent ${
      leased ? "leased" : "shell"
    } claimers take an alias`,
    async () => {
      await using server = await startNats();
      const space = ns();
      const machines = await Promise.all(
        [0, 1, 2, 3].map(() => machine(server.url, space)),
      );
      try {
        const leases = leased
          ? await Promise.all(machines.map((m, i) => m.acquireLease(`s-${i}`)))
          : [];
        const results = await Promise.allSettled(
          machines.map((m, i) =>
            m.register(`s-${i}`, { alias: "contested", leased })
          ),
        );
        const won = results.filter((r) => r.status === "fulfilled");
        assert.equal(won.length, 1, JSON.stringify(results));
        for (const r of results) {
          if (r.status === "rejected") {
            assert.equal((r.reason as C2cError).code, "alias_taken");
          }
        }
        const winner =
          (won[0] as PromiseFulfilledResult<{ session_id: string }>)
            .value.session_id;
        for (const m of machines) {
          await waitFor(
            async () =>
              JSON.stringify(
                (await m.registrations()).map((r) => r.session_id),
              ) ===
                JSON.stringify([winner]),
            5000,
            "every machine to see the winner",
          );
        }
        for (const l of leases) l.release();
      } finally {
        for (const m of machines) await m[Symbol.asyncDispose]();
      }
    },
  );
}

Deno.test("NatsStore never delivers a message whose sender's signature does not verify, and audits it", async () => {
  await using server = await startNats();
  const space = ns();
  await using a = await machine(server.url, space);
  await using b = await machine(server.url, space);
  using _la = await a.acquireLease("s-a");
  using _lb = await b.acquireLease("s-b");
  using _lm = await b.acquireLease("s-m");
  await a.register("s-a", { alias: "alpha", leased: true });
  await b.register("s-b", { alias: "bravo", leased: true });
  await b.register("s-m", { alias: "mallory", leased: true });
  await a.send("s-a", { to_alias: "bravo", content: "genuine" });

  const names = natsNames(space);
  const nc = await connect({ servers: hostPorts(server.url) });
  const js = jetstream(nc);
  const forged = (content: string): Message => ({
    id: crypto.randomUUID(),
    ts: new Date().toISOString(),
    from_alias: "alpha",
    to_alias: "bravo",
    content,
  });
  // No signature at all.
  await js.publish(names.inbox("bravo"), JSON.stringify(forged("unsigned")));
  // A signature that is not one, naming alpha's session.
  const bad = headers();
  bad.set(SIG_HEADER, "AAAA");
  bad.set(SIGNER_HEADER, "s-a");
  await js.publish(names.inbox("bravo"), JSON.stringify(forged("bad sig")), {
    headers: bad,
  });
  // Mallory signs with her own registered key but claims to be alpha.
  const mallory = await sessionKey(
    (b.store as NatsStore).paths.root,
    "s-m",
  );
  const spoof = forged("spoofed");
  const h = headers();
  h.set(SIG_HEADER, await signRecord(mallory.privateKey, spoof));
  h.set(SIGNER_HEADER, "s-m");
  await js.publish(names.inbox("bravo"), JSON.stringify(spoof), { headers: h });
  // Mallory's real key, her real alias, but content changed after signing.
  const honest = { ...forged("as signed"), from_alias: "mallory" };
  const h2 = headers();
  h2.set(SIG_HEADER, await signRecord(mallory.privateKey, honest));
  h2.set(SIGNER_HEADER, "s-m");
  await js.publish(
    names.inbox("bravo"),
    JSON.stringify({ ...honest, content: "tampered" }),
    { headers: h2 },
  );
  // Not JSON.
  await js.publish(names.inbox("bravo"), "not a message");
  // A forged room post too.
  await b.joinRoom("s-b", { room_id: "lounge" });
  await js.publish(
    names.room("lounge"),
    JSON.stringify({
      id: crypto.randomUUID(),
      ts: new Date().toISOString(),
      room_id: "lounge",
      from_alias: "alpha",
      content: "forged post",
    }),
  );
  await nc.close();

  const peek = await b.peekInbox("s-b");
  assert.deepEqual(peek.messages.map((m) => m.content), ["genuine"]);
  const poll = await b.pollInbox("s-b");
  assert.deepEqual(poll.messages.map((m) => m.content), ["genuine"]);
  const history = await b.roomHistory({ room_id: "lounge" });
  assert.deepEqual(history.messages.map((m) => m.content), ["bravo joined"]);
  const log = await b.tailLog({ limit: 50 });
  const verify = log.entries.filter((e) => e.tool === "verify");
  assert.equal(verify.length, 6, JSON.stringify(log.entries));
  for (const e of verify) {
    assert.deepEqual([e.ok, e.error], [false, "forged"]);
  }
  assert.ok(!JSON.stringify(log).includes("spoofed"), "no content in the log");
  // The forged messages are gone from the stream, not just skipped.
  assert.equal(
    (await b.list()).peers.find((p) => p.alias === "bravo")?.pending,
    0,
  );
});

Deno.test("NatsStore made while NATS is down answers a one-line error naming the URL, then works once NATS starts", async () => {
  const [port] = freePorts(1);
  const url = `nats://127.0.0.1:${port}`;
  await using a = await machine(url, "down");
  let error: unknown;
  try {
    await a.register("s-a", { alias: "alpha" });
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof C2cError, String(error));
  assert.equal(error.code, "nats_unreachable");
  assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
  assert.ok(!error.message.includes("\n"));
  await using server = await startNats({ port });
  let registered = false;
  await waitFor(
    async () => {
      try {
        await a.register("s-a", { alias: "alpha" });
        registered = true;
      } catch (e) {
        if (!(e instanceof C2cError) || !e.code.startsWith("nats_")) throw e;
      }
      return registered;
    },
    20_000,
    "the store to reconnect",
  );
  assert.equal((await a.registrations())[0].alias, "alpha");
  assert.ok(server.running);
});

Deno.test("NatsStore.watchSignal() keeps the local signal file non-empty exactly while messages wait", async () => {
  await using server = await startNats();
  const space = ns();
  await using a = await machine(server.url, space);
  await using b = await machine(server.url, space);
  using _la = await a.acquireLease("s-a");
  using _lb = await b.acquireLease("s-b");
  await a.register("s-a", { alias: "alpha", leased: true });
  await b.register("s-b", { alias: "bravo", leased: true });
  const store = b.store as NatsStore;
  const signal = store.paths.signal("s-b");
  using _watch = store.watchSignal("s-b");
  const size = () => {
    try {
      return Deno.statSync(signal).size;
    } catch {
      return 0;
    }
  };
  await a.send("s-a", { to_alias: "bravo", content: "wake up" });
  await waitFor(() => size() > 0, 10_000, "the signal to fill");
  await b.pollInbox("s-b");
  await waitFor(() => size() === 0, 10_000, "the signal to empty");
  // A rename moves the inbox; the watch follows the new alias.
  await b.register("s-b", { alias: "bravo-2", leased: true });
  await a.send("s-a", { to_alias: "bravo-2", content: "again" });
  await waitFor(() => size() > 0, 10_000, "the signal after a rename");
});

Deno.test("NatsStore on a 3-node cluster: sends during a node's SIGKILL and restart are stored once each", async () => {
  await using cluster = await startNatsCluster();
  const space = ns();
  await unguardedNats(cluster.url, space); // 150 messages to one peer
  await using a = await machine(cluster.url, space);
  await using b = await machine(cluster.url, space);
  using _la = await a.acquireLease("s-a");
  using _lb = await b.acquireLease("s-b");
  await a.register("s-a", { alias: "alpha", leased: true });
  await b.register("s-b", { alias: "bravo", leased: true });
  const total = 150;
  const ids: string[] = [];
  let killed = false;
  for (let i = 0; i < total; i++) {
    if (i === 50) {
      const leader = await cluster.streamLeader(
        natsNames(space).streams.inbox,
      );
      await cluster.nodes[Math.max(leader, 0)].stop("SIGKILL");
      killed = true;
    }
    if (i === 100 && killed) {
      for (const node of cluster.nodes) if (!node.running) await node.restart();
    }
    ids.push((await a.send("s-a", { to_alias: "bravo", content: `n${i}` })).id);
  }
  const got: string[] = [];
  while (got.length < total) {
    const { messages } = await b.pollInbox("s-b");
    if (messages.length === 0) break;
    got.push(...messages.map((m) => m.id));
  }
  assert.equal(got.length, total);
  assert.deepEqual(got, ids, "all, once, in order");
  // Made with three replicas, since the server is in a cluster.
  const nc = await connect({ servers: hostPorts(cluster.url) });
  try {
    const jsm = await jetstreamManager(nc);
    const names = natsNames(space);
    for (
      const stream of [names.streams.inbox, `KV_${names.buckets.registry}`]
    ) {
      assert.equal((await jsm.streams.info(stream)).config.num_replicas, 3);
    }
  } finally {
    await nc.close();
  }
});

Deno.test("NatsStore.registrations() ignores and quarantines bad registry entries, and keeps a session's newer entry", async () => {
  await using server = await startNats();
  const space = ns();
  await using a = await machine(server.url, space);
  await a.register("s-a", { alias: "alpha", leased: false });
  const names = natsNames(space);
  const nc = await connect({ servers: hostPorts(server.url) });
  try {
    const kv = await new Kvm(jetstream(nc)).open(names.buckets.registry);
    await kv.put("junk", "not json");
    await kv.put("bad", JSON.stringify({ session_id: "s-x", alias: 7 }));
    const row = (await a.registrations())[0];
    // A rename that stopped between its two writes: the newer entry wins.
    await kv.put("alpha-2", JSON.stringify({ ...row, alias: "alpha-2" }));
    await waitFor(
      async () => (await a.store.quarantined()).length === 2,
      5000,
      "the bad entries to be quarantined",
    );
    assert.deepEqual(
      (await a.store.quarantined()).map((q) => q.problem),
      ["not JSON", "'alias' is not a string"],
    );
    assert.deepEqual((await a.registrations()).map((r) => r.alias), [
      "alpha-2",
    ]);
    // Its next change removes the leftover.
    await a.register("s-a", { alias: "alpha-2", leased: false });
    assert.equal(await kv.get("alpha").then((e) => e?.operation), "DEL");
  } finally {
    await nc.close();
  }
});

Deno.test("NatsStore: a session whose server moves to another machine signs with that machine's key from its next registration", async () => {
  await using server = await startNats();
  const space = ns();
  await using a = await machine(server.url, space);
  await using b = await machine(server.url, space);
  await using peer = await machine(server.url, space);
  using _lp = await peer.acquireLease("s-p");
  await peer.register("s-p", { alias: "peer", leased: true });
  const first = await a.acquireLease("s-m");
  await a.register("s-m", { alias: "mover", leased: true });
  await a.send("s-m", { to_alias: "peer", content: "from a" });
  first.release();
  using _second = await b.acquireLease("s-m");
  await b.register("s-m", { alias: "mover", leased: true });
  await b.send("s-m", { to_alias: "peer", content: "from b" });
  const got = await peer.pollInbox("s-p");
  // What it signed on A before the move still verifies.
  assert.deepEqual(got.messages.map((m) => m.content), ["from a", "from b"]);
  // An operator's refresh from a third machine keeps B's key.
  await peer.refreshPeer({
    alias: "mover",
    pid: Deno.pid,
    isAlive: () => true,
  });
  await b.send("s-m", { to_alias: "peer", content: "still b" });
  assert.deepEqual(
    (await peer.pollInbox("s-p")).messages.map((m) => m.content),
    ["still b"],
  );
});

Deno.test("NatsStore.close() lets the audit entries of a short-lived process reach the log", async () => {
  await using server = await startNats();
  const space = ns();
  await using viewer = await machine(server.url, space);
  await viewer.register("s-v", { alias: "viewer", leased: false });
  for (let i = 0; i < 3; i++) {
    // As a CLI call does: open, one operation, close.
    const cli = await machine(server.url, space);
    await cli.register(`s-c${i}`, { alias: `cli-${i}`, leased: false });
    await cli[Symbol.asyncDispose]();
  }
  const tools = (await viewer.tailLog({ limit: 10 })).entries.map((e) =>
    e.tool
  );
  assert.deepEqual(tools, ["register", "register", "register", "register"]);
});

Deno.test("NatsStore.watchChanges() hints at registrations, inboxes, archives, rooms and sessions coming and going", async () => {
  await using server = await startNats();
  const space = ns();
  await using a = await machine(server.url, space);
  await using b = await machine(server.url, space);
  await using viewer = await machine(server.url, space);
  const seen: string[] = [];
  const has = (hint: string) => () => seen.includes(hint);
  using _feed = (viewer.store as NatsStore).watchChanges(
    (changes) => {
      for (const c of changes) {
        seen.push(
          JSON.stringify(c, ["kind", "alias", "session_id", "room_id"]),
        );
      }
    },
    (e) => seen.push(`error ${e}`),
  );
  const la = await a.acquireLease("s-a");
  using _lb = await b.acquireLease("s-b");
  await a.register("s-a", { alias: "alpha", leased: true });
  await b.register("s-b", { alias: "bravo", leased: true });
  await waitFor(has('{"kind":"registry"}'), 5000, "a registry hint");
  await a.send("s-a", { to_alias: "bravo", content: "hi" });
  await waitFor(has('{"kind":"inbox","alias":"bravo"}'), 5000, "inbox hint");
  await b.pollInbox("s-b");
  await waitFor(
    has('{"kind":"archive","session_id":"s-b"}'),
    5000,
    "archive hint",
  );
  await a.joinRoom("s-a", { room_id: "lounge" });
  await waitFor(has('{"kind":"room","room_id":"lounge"}'), 5000, "room hint");
  await waitFor(has('{"kind":"lease","session_id":"s-a"}'), 5000, "came");
  const before = seen.filter((h) => h.includes('"lease","session_id":"s-a"'))
    .length;
  la.release();
  await waitFor(
    () =>
      seen.filter((h) => h.includes('"lease","session_id":"s-a"')).length >
        before,
    5000,
    "went",
  );
  assert.ok(!seen.some((h) => h.startsWith("error")), seen.join("\n"));
});

Deno.test("NatsStore.withRoom(): a member who joined on another machine meanwhile stays when this one leaves", async () => {
  await using server = await startNats();
  const space = ns();
  await using a = await machine(server.url, space);
  await using b = await machine(server.url, space);
  await a.register("s-a", { alias: "alpha", leased: false });
  await b.register("s-b", { alias: "bravo", leased: false });
  await a.joinRoom("s-a", { room_id: "lounge" });
  await a.store.withRoom("lounge", async (room) => {
    const members = await room.members();
    // Bravo joins on machine B while this scope holds what it read.
    await b.joinRoom("s-b", { room_id: "lounge" });
    await room.setMembers(members.filter((m) => m.alias !== "alpha"));
  });
  assert.deepEqual((await a.store.members("lounge")).map((m) => m.alias), [
    "bravo",
  ]);
});

Deno.test("NatsStore: processes that make a namespace's streams and buckets at the same moment all get on with it", async () => {
  await using server = await startNats();
  for (let round = 0; round < 5; round++) {
    const space = ns();
    const machines = await Promise.all(
      Array.from({ length: 8 }, () => machine(server.url, space)),
    );
    try {
      const results = await Promise.allSettled(
        machines.map((m, i) =>
          m.register(`s-${i}`, { alias: `peer-${i}`, leased: false })
        ),
      );
      const failed = results.filter((r) => r.status === "rejected");
      assert.deepEqual(failed, [], `round ${round}`);
    } finally {
      for (const m of machines) await m[Symbol.asyncDispose]();
    }
  }
});
