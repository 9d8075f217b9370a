// File claims in the file store only: a damaged claims.json, a link in its
// place, the guard's cue beside it, and a store that keeps no claims. The
// cases both stores share are in claims_conformance_test.ts.

import assert from "node:assert/strict";
import {
  CLAIMS_FILE,
  CLAIMS_GUARD_FILE,
  claimsOf,
  FileClaimStore,
} from "../lib/claims.ts";
import { CorruptFileError } from "../lib/errors.ts";
import type { Broker } from "../mod.ts";
import { checkHealth } from "../lib/health.ts";
import { tempBroker } from "./_helpers.ts";

/** Registers `alias` as session `<alias>-s` holding its lease. */
async function live(broker: Broker, alias: string): Promise<Disposable> {
  const lease = await broker.acquireLease(`${alias}-s`);
  await broker.register(`${alias}-s`, { alias, leased: true });
  return lease;
}

function claimsFile(broker: Broker): string {
  return `${broker.root}/${CLAIMS_FILE}`;
}

Deno.test("a damaged claims.json is an error naming it, left untouched, failed by c2c health; a link in its place is refused", async () => {
  await using broker = await tempBroker();
  using _a = await live(broker, "alice");
  const claims = claimsOf(broker);
  await claims.claim("alice-s", { paths: ["a.ts"], reason: "r" });
  const fine = checkHealth({ root: broker.root }).checks.find((c) =>
    c.name === "claims"
  );
  assert.match(fine!.detail, /^1 stored \(1 exclusive/);
  const file = claimsFile(broker);
  for (
    const bad of [
      "{not json",
      "[]",
      '{"version":1,"claims":{},"notified":[]}',
      '{"version":1,"claims":[{"path":"a"}],"notified":[]}',
    ]
  ) {
    Deno.writeTextFileSync(file, bad);
    await assert.rejects(
      claims.claim("alice-s", { paths: ["a.ts"], reason: "r" }),
      (e) => e instanceof CorruptFileError && e.path === file,
    );
    await assert.rejects(claims.list(), CorruptFileError);
    const health = checkHealth({ root: broker.root }).checks.find((c) =>
      c.name === "claims"
    );
    assert.equal(health?.status, "fail");
    assert.match(health!.fix!, /c2c repair/);
    assert.equal(Deno.readTextFileSync(file), bad);
  }
  Deno.removeSync(file);
  const elsewhere = await Deno.makeTempFile();
  try {
    Deno.writeTextFileSync(
      elsewhere,
      '{"version":1,"claims":[],"notified":[]}',
    );
    Deno.symlinkSync(elsewhere, file);
    await assert.rejects(
      new FileClaimStore(broker.paths).read(),
      /symlink/,
    );
  } finally {
    Deno.removeSync(elsewhere);
  }
});

Deno.test("claimsOf() on a store that keeps no claims says so, and list still works", async () => {
  await using broker = await tempBroker();
  using _a = await live(broker, "alice");
  Object.defineProperty(broker.store, "claims", { value: undefined });
  const claims = claimsOf(broker);
  await assert.rejects(
    claims.claim("alice-s", { paths: ["a.ts"], reason: "r" }),
    /not kept in the file store/,
  );
  await assert.rejects(claims.list(), /not kept in the file store/);
  const list = await broker.list();
  assert.deepEqual(await claims.withCounts(list), list);
});

Deno.test("claims.guard is present exactly while an exclusive claim is stored", async () => {
  await using broker = await tempBroker();
  using _a = await live(broker, "alice");
  const claims = claimsOf(broker);
  const cue = `${broker.root}/${CLAIMS_GUARD_FILE}`;
  const present = () => {
    try {
      Deno.lstatSync(cue);
      return true;
    } catch {
      return false;
    }
  };
  await claims.claim("alice-s", {
    paths: ["a"],
    reason: "r",
    exclusive: false,
  });
  assert.equal(present(), false);
  await claims.claim("alice-s", { paths: ["b"], reason: "r" });
  assert.equal(present(), true);
  await claims.release("alice-s", { paths: ["b"] });
  assert.equal(present(), false);
  // A link planted in its place is replaced, never followed.
  const elsewhere = await Deno.makeTempFile();
  try {
    Deno.symlinkSync(elsewhere, cue);
    await claims.claim("alice-s", { paths: ["c"], reason: "r" });
    assert.equal(Deno.lstatSync(cue).isFile, true);
  } finally {
    Deno.removeSync(elsewhere);
  }
});
