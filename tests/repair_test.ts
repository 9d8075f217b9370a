// `c2c repair`: unreadable broker files are moved aside, never deleted, and
// every readable line is kept.

import assert from "node:assert/strict";
import { CorruptFileError } from "../mod.ts";
import { repairBroker } from "../lib/repair.ts";
import { tempBroker } from "./_helpers.ts";
import { c2c, exits } from "./_cli.ts";

Deno.test("repairBroker() salvages the readable lines of a damaged inbox and keeps the original", async () => {
  await using broker = await tempBroker();
  await broker.register("s-a", { alias: "storm-beacon" });
  await broker.register("s-b", { alias: "tide-runner" });
  await broker.send("s-a", { to_alias: "tide-runner", content: "one" });
  const inbox = broker.paths.inbox("s-b");
  await Deno.writeTextFile(inbox, "garbage line\n", { append: true });
  await broker.send("s-a", { to_alias: "tide-runner", content: "two" });
  const original = await Deno.readTextFile(inbox);
  await assert.rejects(broker.pollInbox("s-b"), CorruptFileError);
  const dry = repairBroker(broker.paths, { dryRun: true });
  assert.equal(dry.repaired.length, 1);
  assert.equal(await Deno.readTextFile(inbox), original);
  const r = repairBroker(broker.paths, {
    now: new Date("2026-01-02T03:04:05Z"),
  });
  assert.deepEqual(
    r.repaired.map((a) => [a.path, a.salvaged, a.dropped]),
    [[inbox, 2, 1]],
  );
  assert.equal(await Deno.readTextFile(r.repaired[0].moved_to), original);
  const { messages } = await broker.pollInbox("s-b");
  assert.deepEqual(messages.map((m) => m.content), ["one", "two"]);
  assert.deepEqual(repairBroker(broker.paths).repaired, []);
});

Deno.test("c2c repair moves a garbage registry aside and the broker works again", async () => {
  await using broker = await tempBroker();
  await broker.register("s-a", { alias: "storm-beacon" });
  await Deno.writeTextFile(broker.paths.registry, "{not json");
  exits(await c2c(broker.root, ["list"]), 1);
  const r = exits(await c2c(broker.root, ["repair", "--json"]), 0).json<{
    repaired: { path: string; moved_to: string }[];
  }>();
  assert.equal(r.repaired[0].path, broker.paths.registry);
  assert.equal(await Deno.readTextFile(r.repaired[0].moved_to), "{not json");
  const list = exits(await c2c(broker.root, ["list", "--json"]), 0);
  assert.deepEqual(list.json<{ peers: unknown[] }>().peers, []);
  const again = exits(await c2c(broker.root, ["repair"]), 0);
  assert.match(again.stdout, /nothing to repair/);
});

Deno.test("c2c repair moves a damaged claims.json aside whole (claims are made again)", async () => {
  await using broker = await tempBroker();
  Deno.writeTextFileSync(`${broker.root}/claims.json`, "{garbage");
  const r = exits(await c2c(broker.root, ["repair", "--json"]), 0).json<{
    repaired: { path: string; moved_to: string }[];
  }>();
  assert.equal(r.repaired.length, 1);
  assert.equal(r.repaired[0].path, `${broker.root}/claims.json`);
  assert.equal(Deno.readTextFileSync(r.repaired[0].moved_to), "{garbage");
  assert.match(
    exits(await c2c(broker.root, ["repair"]), 0).stdout,
    /nothing to repair/,
  );
});
