// On-disk safety: bad files are reported and kept, torn tails are repaired,
// modes are private, and no temp file survives a write.

import assert from "node:assert/strict";
import { CorruptFileError } from "../mod.ts";
import { tempBroker } from "./_helpers.ts";

Deno.test("readRegistry() reports garbage in registry.json by name and leaves the bytes", async () => {
  await using broker = await tempBroker();
  await broker.register("s-a", { alias: "storm-beacon" });
  const garbage = '[{"session_id": "s-a", "alias": oops';
  await Deno.writeTextFile(broker.paths.registry, garbage);
  for (
    const op of [
      () => broker.register("s-b", { alias: "tide-runner" }),
      () => broker.list(),
      () => broker.send("s-a", { to_alias: "x", content: "y" }),
      () => broker.sweep(),
    ]
  ) {
    await assert.rejects(op(), (e: unknown) => {
      assert.ok(e instanceof CorruptFileError);
      assert.ok(e.message.includes(broker.paths.registry), e.message);
      return true;
    });
  }
  assert.equal(await Deno.readTextFile(broker.paths.registry), garbage);
});

Deno.test("readRegistry() rejects a registry of the wrong shape and ignores a bad row", async () => {
  await using broker = await tempBroker();
  await Deno.writeTextFile(broker.paths.registry, '{"not": "an array"}');
  await assert.rejects(broker.list(), /top level is not an array/);
  // One unusable row is ignored by every operation, and kept for repair.
  await Deno.writeTextFile(broker.paths.registry, '[{"alias": 3}]');
  assert.deepEqual((await broker.list()).peers, []);
  await broker.register("s-a", { alias: "storm-beacon" });
  assert.match(await Deno.readTextFile(broker.paths.registry), /"alias": 3/);
});

Deno.test("a torn last inbox line is skipped by readers and repaired by the next send", async () => {
  await using broker = await tempBroker();
  await broker.register("s-a", { alias: "storm-beacon" });
  await broker.register("s-b", { alias: "tide-runner" });
  await broker.send("s-a", { to_alias: "tide-runner", content: "one" });
  await broker.send("s-a", { to_alias: "tide-runner", content: "two" });
  const inbox = broker.paths.inbox("s-b");
  await Deno.writeTextFile(inbox, '{"id":"torn","ts":"x","from_al', {
    append: true,
  });
  assert.deepEqual(
    (await broker.peekInbox("s-b")).messages.map((m) => m.content),
    ["one", "two"],
  );
  await broker.send("s-a", { to_alias: "tide-runner", content: "three" });
  const text = await Deno.readTextFile(inbox);
  assert.ok(!text.includes("torn"));
  assert.ok(text.endsWith("\n"));
  assert.deepEqual(
    (await broker.pollInbox("s-b")).messages.map((m) => m.content),
    ["one", "two", "three"],
  );
});

Deno.test("a malformed complete inbox line fails the poll, naming the file and line, and keeps the bytes", async () => {
  await using broker = await tempBroker();
  await broker.register("s-a", { alias: "storm-beacon" });
  await broker.register("s-b", { alias: "tide-runner" });
  await broker.send("s-a", { to_alias: "tide-runner", content: "one" });
  const inbox = broker.paths.inbox("s-b");
  await Deno.writeTextFile(inbox, "not json\n", { append: true });
  const before = await Deno.readTextFile(inbox);
  await assert.rejects(
    broker.pollInbox("s-b"),
    (e: unknown) =>
      e instanceof CorruptFileError && e.message.includes(inbox) &&
      e.message.includes("line 2"),
  );
  assert.equal(await Deno.readTextFile(inbox), before);
  // Other sessions keep working.
  await broker.send("s-b", { to_alias: "storm-beacon", content: "still up" });
});

Deno.test("broker files are 0600, directories 0700, and no temp files remain", async () => {
  await using broker = await tempBroker();
  const oldUmask = Deno.umask(0o000);
  try {
    await broker.register("s-a", { alias: "storm-beacon" });
    await broker.register("s-b", { alias: "tide-runner" });
    (await broker.acquireLease("s-a")).release();
    await broker.register("s-a", { leased: true });
    await broker.send("s-a", { to_alias: "tide-runner", content: "x" });
    await broker.joinRoom("s-a", { room_id: "lounge" });
    await broker.sendRoom("s-a", { room_id: "lounge", content: "y" });
    await broker.pollInbox("s-b");
    (await broker.acquireLease("s-c")).release();
    await broker.register("s-c", { alias: "gone", leased: true });
    await broker.send("s-a", { to_alias: "gone", content: "z" }).catch(
      () => {},
    );
    await broker.sweep();
  } finally {
    Deno.umask(oldUmask);
  }
  const seen: string[] = [];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(dir)) {
      const path = `${dir}/${entry.name}`;
      const mode = Deno.statSync(path).mode! & 0o777;
      seen.push(entry.name);
      assert.ok(!/\.tmp$/.test(entry.name), `temp file left: ${path}`);
      if (entry.isDirectory) {
        assert.equal(mode, 0o700, `${path} is ${mode.toString(8)}`);
        walk(path);
      } else {
        assert.equal(mode, 0o600, `${path} is ${mode.toString(8)}`);
      }
    }
  };
  assert.equal(Deno.statSync(broker.root).mode! & 0o777, 0o700);
  walk(broker.root);
  for (const name of ["registry.json", "broker.log", "history.jsonl"]) {
    assert.ok(seen.includes(name), `expected ${name} among ${seen}`);
  }
});

Deno.test("a corrupt members.json fails that room only", async () => {
  await using broker = await tempBroker();
  await broker.register("s-a", { alias: "storm-beacon" });
  await broker.joinRoom("s-a", { room_id: "bad" });
  await broker.joinRoom("s-a", { room_id: "good" });
  await Deno.writeTextFile(broker.paths.roomMembers("bad"), "{{{");
  await assert.rejects(
    broker.sendRoom("s-a", { room_id: "bad", content: "x" }),
    CorruptFileError,
  );
  const r = await broker.sendRoom("s-a", { room_id: "good", content: "x" });
  assert.equal(r.member_count, 1);
  assert.equal(await Deno.readTextFile(broker.paths.roomMembers("bad")), "{{{");
});

Deno.test("operations recreate broker directories removed while running", async () => {
  await using broker = await tempBroker();
  await broker.register("s-a", { alias: "storm-beacon" });
  await broker.register("s-b", { alias: "tide-runner" });
  await broker.send("s-a", { to_alias: "tide-runner", content: "one" });
  await broker.pollInbox("s-b");
  await Deno.remove(broker.paths.locksDir, { recursive: true });
  await Deno.remove(broker.paths.archiveDir, { recursive: true });
  await broker.send("s-a", { to_alias: "tide-runner", content: "two" });
  const { messages } = await broker.pollInbox("s-b");
  assert.deepEqual(messages.map((m) => m.content), ["two"]);
  assert.equal((await broker.history("s-b")).messages.length, 1);
});
