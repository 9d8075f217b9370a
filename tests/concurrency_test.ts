// Multi-process tests: real `deno` subprocesses racing on one broker root.

import assert from "node:assert/strict";
import { Broker } from "../mod.ts";
import {
  lines,
  runWorker,
  tempBroker,
  unguarded,
  workerCommand,
} from "./_helpers.ts";

Deno.test("send() from 12 processes × 20 into one inbox keeps all 240 and each writer's order", async () => {
  await using broker = await tempBroker();
  await broker.register("inbox", { alias: "sink" });
  const writers = 12;
  const each = 20;
  for (let w = 0; w < writers; w++) {
    await broker.register(`w${w}`, { alias: `writer-${w}` });
  }
  const results = await Promise.all(
    Array.from(
      { length: writers },
      (_, w) =>
        runWorker(broker.root, ["send", `w${w}`, "sink", `${each}`, `w${w}`]),
    ),
  );
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  const { messages } = await broker.pollInbox("inbox");
  assert.equal(messages.length, writers * each);
  assert.equal(new Set(messages.map((m) => m.id)).size, writers * each);
  for (let w = 0; w < writers; w++) {
    const mine = messages.filter((m) => m.from_alias === `writer-${w}`);
    assert.deepEqual(
      mine.map((m) => m.content),
      Array.from({ length: each }, (_, i) => `w${w}:${i}`),
    );
  }
});

Deno.test("pollInbox() by two processes while sends continue delivers every message exactly once", async () => {
  await using broker = await tempBroker();
  await broker.register("inbox", { alias: "sink" });
  const writers = 4;
  const each = 50;
  for (let w = 0; w < writers; w++) {
    await broker.register(`w${w}`, { alias: `writer-${w}` });
  }
  const total = writers * each;
  const stopFile = `${broker.root}/stop-polling`;
  const pollers = [0, 1].map(() =>
    runWorker(broker.root, ["poll", "inbox", stopFile])
  );
  const senders = Array.from(
    { length: writers },
    (_, w) =>
      runWorker(broker.root, ["send", `w${w}`, "sink", `${each}`, `w${w}`]),
  );
  const sent = await Promise.all(senders);
  const sentIds = sent.flatMap((r) =>
    r.stdout.trim().split("\n").map((l) => l.split(" ")[1])
  );
  assert.equal(sentIds.length, total);
  await Deno.writeTextFile(stopFile, "");
  const polled = await Promise.all(pollers);
  const got = polled.flatMap((r) => JSON.parse(r.stdout).ids as string[]);
  // Whatever the pollers had not taken yet is still in the inbox.
  const rest = (await broker.pollInbox("inbox")).messages.map((m) => m.id);
  const all = [...got, ...rest];
  assert.equal(all.length, total, "a message was delivered twice or lost");
  assert.deepEqual(new Set(all), new Set(sentIds));
  assert.deepEqual(rest, [], "the pollers stop only on an empty inbox");
});

Deno.test("send() racing 8 alias takeovers of the recipient loses no acknowledged message", async () => {
  await using broker = await tempBroker();
  await broker.register("sender", { alias: "storm-beacon" });
  const first = await broker.acquireLease("r0");
  await broker.register("r0", { alias: "target", leased: true });
  const sending = runWorker(broker.root, [
    "send",
    "sender",
    "target",
    "60",
    "m",
    "8",
  ]);
  first.release();
  // Eight successive sessions take the alias over, each living a few ms.
  for (let i = 1; i <= 8; i++) {
    const r = await runWorker(broker.root, [
      "takeover",
      `r${i}`,
      "target",
      "15",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).status, "taken_over");
  }
  const sent = await sending;
  const acked = sent.stdout.trim().split("\n").filter((l) =>
    l.startsWith("ok ")
  ).map((l) => l.split(" ")[1]);
  const refused = sent.stdout.trim().split("\n").filter((l) =>
    l.startsWith("err ")
  );
  // A dead recipient's messages wait for its next session: none refused.
  assert.deepEqual(refused, []);
  assert.equal(acked.length, 60);
  const final = await broker.register("r-final", { alias: "target" });
  assert.equal(final.status, "taken_over");
  const received = (await broker.pollInbox("r-final")).messages.map((m) =>
    m.id
  );
  assert.deepEqual(new Set(received), new Set(acked));
  assert.equal(received.length, acked.length);
});

Deno.test("send() from 3 processes racing 300 back-to-back takeovers loses no acknowledged message", async () => {
  await using broker = await tempBroker();
  for (let s = 0; s < 3; s++) {
    await broker.register(`sender${s}`, { alias: `sender-${s}` });
  }
  const first = await broker.acquireLease("c-first");
  await broker.register("c-first", { alias: "target", leased: true });
  const senders = [0, 1, 2].map((s) =>
    runWorker(broker.root, ["send", `sender${s}`, "target", "400", `s${s}`])
  );
  const churning = runWorker(broker.root, ["churn", "c", "target", "300"]);
  await new Promise((r) => setTimeout(r, 150)); // let the senders get going
  first.release();
  const churn = await churning;
  assert.equal(churn.code, 0, churn.stderr);
  const out = await Promise.all(senders);
  const acked = out.flatMap((r) =>
    r.stdout.trim().split("\n").filter((l) => l.startsWith("ok "))
      .map((l) => l.split(" ")[1])
  );
  assert.ok(acked.length > 0, "no send was acknowledged");
  const final = await broker.register("final", { alias: "target" });
  const received = (await broker.pollInbox("final")).messages.map((m) => m.id);
  assert.equal(received.length, acked.length);
  assert.deepEqual(new Set(received), new Set(acked));
  assert.equal(final.redelivered, 0 + received.length);
});

Deno.test("SIGKILL of a writer mid-loop leaves a readable inbox holding every acknowledged send", async () => {
  await using broker = await tempBroker();
  await unguarded(broker.root); // 300+ sends to one peer in a second
  await broker.register("inbox", { alias: "sink" });
  await broker.register("w", { alias: "writer" });
  const child = workerCommand(broker.root, ["send", "w", "sink", "100000", "k"])
    .spawn();
  const acked: string[] = [];
  for await (const line of lines(child.stdout)) {
    acked.push(line.split(" ")[1]);
    if (acked.length === 300) {
      child.kill("SIGKILL");
      break;
    }
  }
  await child.status;
  await child.stderr.cancel();
  const { messages } = await broker.pollInbox("inbox");
  const got = new Set(messages.map((m) => m.id));
  for (const id of acked) assert.ok(got.has(id), `acknowledged ${id} missing`);
  assert.ok(messages.length >= acked.length);
  // The next send still works and the file is well-formed.
  await broker.register("w2", { alias: "writer-2" });
  await broker.send("w2", { to_alias: "sink", content: "after" });
  assert.deepEqual(
    (await broker.pollInbox("inbox")).messages.map((m) => m.content),
    ["after"],
  );
});

Deno.test("a lease held by a child reads alive, and dead the moment SIGKILL lands", async () => {
  await using broker = await tempBroker();
  const child = workerCommand(broker.root, ["hold", "s-child", "child-agent"])
    .spawn();
  const reader = lines(child.stdout);
  assert.equal((await reader.next()).value, "ready");
  assert.equal(await broker.liveness("s-child"), true);
  const me = await broker.register("s-me", { alias: "me" });
  assert.equal(me.status, "registered");
  await broker.send("s-me", { to_alias: "child-agent", content: "hi" });
  child.kill("SIGKILL");
  await child.status;
  await child.stderr.cancel();
  assert.equal(await broker.liveness("s-child"), false);
  const queued = await broker.send("s-me", {
    to_alias: "child-agent",
    content: "hi",
  });
  assert.equal(queued.recipient_alive, false);
  const list = await broker.list();
  assert.deepEqual(
    list.peers.map((p) => [p.alias, p.alive]),
    [["child-agent", false], ["me", null]],
  );
});

Deno.test("a registration without a lease reads null, and a shell re-registration clears a stale lease", async () => {
  await using broker = await tempBroker();
  await broker.register("s-shell", { alias: "shell" });
  assert.equal((await broker.whoami("s-shell")).alive, null);
  (await broker.acquireLease("s-shell")).release();
  assert.equal((await broker.whoami("s-shell")).alive, false);
  await broker.register("s-shell", { leased: false });
  assert.equal((await broker.whoami("s-shell")).alive, null);
});

Deno.test("Lease.acquire() refuses a session whose lease another process holds", async () => {
  await using broker = await tempBroker();
  const child = workerCommand(broker.root, ["hold", "s-held"]).spawn();
  assert.equal((await lines(child.stdout).next()).value, "ready");
  await assert.rejects(
    broker.acquireLease("s-held"),
    /already held by another live process/,
  );
  child.kill("SIGKILL");
  await child.status;
  await child.stderr.cancel();
  const lease = await broker.acquireLease("s-held");
  assert.equal(
    await new Broker({ root: broker.root }).liveness("s-held"),
    true,
  );
  lease.release();
});
