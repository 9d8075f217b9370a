// File claims through the library (lib/claims.ts): who wins, liveness, TTL,
// shared claims, the once-a-minute notice to a holder (an injected clock,
// never a sleep), release, the guard's check, and a damaged claims.json.

import assert from "node:assert/strict";
import {
  CLAIMS_FILE,
  CLAIMS_GUARD_FILE,
  claimsOf,
  FileClaimStore,
} from "../lib/claims.ts";
import { renderEnvelope } from "../lib/envelope.ts";
import { archiveEvents } from "../lib/verify.ts";
import { C2cError, CorruptFileError } from "../lib/errors.ts";
import type { Broker } from "../mod.ts";
import { tempBroker } from "./_helpers.ts";

/** A clock the test moves by hand. */
function clock(start = Date.parse("2026-03-01T10:00:00Z")) {
  let now = start;
  return {
    now: () => new Date(now),
    advance: (ms: number) => {
      now += ms;
    },
  };
}

/** Registers `alias` as session `<alias>-s` holding its lease. */
async function live(broker: Broker, alias: string): Promise<Disposable> {
  const lease = await broker.acquireLease(`${alias}-s`);
  await broker.register(`${alias}-s`, { alias, leased: true });
  return lease;
}

function claimsFile(broker: Broker): string {
  return `${broker.root}/${CLAIMS_FILE}`;
}

Deno.test("claim() grants what is free and returns the conflicts, overlap decided both ways", async () => {
  await using broker = await tempBroker();
  using _a = await live(broker, "alice");
  using _b = await live(broker, "bob");
  const t = clock();
  const claims = claimsOf(broker, { now: t.now });
  const a = await claims.claim("alice-s", {
    paths: ["lib/**"],
    reason: "moving lib to the store",
  });
  assert.deepEqual(a.granted.map((g) => [g.path, g.holder, g.exclusive]), [[
    "lib/**",
    "alice",
    true,
  ]]);
  assert.deepEqual(a.conflicts, []);
  t.advance(5_000);
  const b = await claims.claim("bob-s", {
    paths: ["lib/a.ts", "docs/x.md", "./lib//b.ts"],
    reason: "fixing a typo",
  });
  assert.deepEqual(b.granted.map((g) => g.path), ["docs/x.md"]);
  assert.deepEqual(b.conflicts, [
    {
      path: "lib/a.ts",
      held_path: "lib/**",
      holder: "alice",
      reason: "moving lib to the store",
      since: "2026-03-01T10:00:00.000Z",
      exclusive: true,
    },
    {
      path: "lib/b.ts",
      held_path: "lib/**",
      holder: "alice",
      reason: "moving lib to the store",
      since: "2026-03-01T10:00:00.000Z",
      exclusive: true,
    },
  ]);
  // The other way round: a glob over a file someone holds.
  const c = await claims.claim("alice-s", {
    paths: ["docs/*.md"],
    reason: "docs too",
  });
  assert.deepEqual(c.granted, []);
  assert.deepEqual(c.conflicts.map((x) => [x.path, x.held_path, x.holder]), [[
    "docs/*.md",
    "docs/x.md",
    "bob",
  ]]);
  // One's own claims never stand in one's way; claiming again keeps `since`.
  const again = await claims.claim("alice-s", {
    paths: ["lib/**", "lib/a.ts"],
    reason: "still moving",
  });
  assert.deepEqual(again.granted.map((g) => [g.path, g.since, g.reason]), [
    ["lib/**", "2026-03-01T10:00:00.000Z", "still moving"],
    ["lib/a.ts", "2026-03-01T10:00:05.000Z", "still moving"],
  ]);
  const all = await claims.list();
  assert.deepEqual(all.claims.map((x) => [x.path, x.holder]), [
    ["docs/x.md", "bob"],
    ["lib/**", "alice"],
    ["lib/a.ts", "alice"],
  ]);
  const under = await claims.list({ path: "lib/sub/c.ts" });
  assert.deepEqual(under.claims.map((x) => x.path), ["lib/**"]);
  assert.deepEqual(
    Object.fromEntries(await claims.counts()),
    { "alice-s": 2, "bob-s": 1 },
  );
});

Deno.test("claim() lets shared claims coexist and lists them, and an exclusive one excludes them both ways", async () => {
  await using broker = await tempBroker();
  using _a = await live(broker, "alice");
  using _b = await live(broker, "bob");
  using _c = await live(broker, "carol");
  const claims = claimsOf(broker);
  await claims.claim("alice-s", {
    paths: ["README.md"],
    reason: "adding a section",
    exclusive: false,
  });
  const b = await claims.claim("bob-s", {
    paths: ["*.md"],
    reason: "fixing links",
    exclusive: false,
  });
  assert.deepEqual(b.granted.map((g) => [g.path, g.exclusive]), [[
    "*.md",
    false,
  ]]);
  assert.deepEqual(b.shared_with.map((s) => [s.path, s.holder]), [[
    "README.md",
    "alice",
  ]]);
  const c = await claims.claim("carol-s", {
    paths: ["README.md"],
    reason: "rewrite",
  });
  assert.deepEqual(c.conflicts.map((x) => [x.held_path, x.holder]), [
    ["README.md", "alice"],
    ["*.md", "bob"],
  ]);
  await claims.claim("carol-s", { paths: ["LICENSE"], reason: "year" });
  const d = await claims.claim("alice-s", {
    paths: ["LICEN*"],
    reason: "look",
    exclusive: false,
  });
  assert.deepEqual(d.conflicts.map((x) => [x.held_path, x.exclusive]), [[
    "LICENSE",
    true,
  ]]);
});

Deno.test("claims die with their holder: a released lease ends them at once, and the next write prunes them", async () => {
  await using broker = await tempBroker();
  const lease = await live(broker, "alice");
  using _b = await live(broker, "bob");
  const claims = claimsOf(broker);
  await claims.claim("alice-s", { paths: ["a.ts"], reason: "mine" });
  assert.equal((await claims.list()).claims.length, 1);
  lease[Symbol.dispose]();
  assert.deepEqual((await claims.list()).claims, []);
  assert.equal((await claims.counts()).size, 0);
  assert.match(Deno.readTextFileSync(claimsFile(broker)), /alice-s/);
  const b = await claims.claim("bob-s", { paths: ["a.ts"], reason: "now" });
  assert.deepEqual(b.granted.map((g) => g.holder), ["bob"]);
  assert.doesNotMatch(Deno.readTextFileSync(claimsFile(broker)), /alice-s/);
  // A dead session cannot claim: its claims would end at once.
  await assert.rejects(
    claims.claim("alice-s", { paths: ["c.ts"], reason: "x" }),
    /is not alive/,
  );
});

Deno.test("claim() with ttl_s ends on its own; a session without a lease must give one", async () => {
  await using broker = await tempBroker();
  using _a = await live(broker, "alice");
  await broker.register("shell-s", { alias: "shell", leased: false });
  const t = clock();
  const claims = claimsOf(broker, { now: t.now });
  await assert.rejects(
    claims.claim("shell-s", { paths: ["a.ts"], reason: "x" }),
    /holds no lease.*ttl/,
  );
  const r = await claims.claim("shell-s", {
    paths: ["a.ts"],
    reason: "quick fix",
    ttl_s: 60,
  });
  assert.equal(r.granted[0].expires_at, "2026-03-01T10:01:00.000Z");
  t.advance(59_999);
  const early = await claims.claim("alice-s", { paths: ["a.ts"], reason: "y" });
  assert.equal(early.conflicts.length, 1);
  t.advance(1);
  assert.deepEqual((await claims.list()).claims, []);
  const late = await claims.claim("alice-s", { paths: ["a.ts"], reason: "y" });
  assert.deepEqual(late.granted.map((g) => g.holder), ["alice"]);
  for (const ttl of [0, -1, 1.5, 31 * 24 * 3600]) {
    await assert.rejects(
      claims.claim("alice-s", { paths: ["b.ts"], reason: "y", ttl_s: ttl }),
      /ttl_s must be/,
    );
  }
});

Deno.test('claim() tells the holder once per claimant and path per minute, in an event="claim" envelope', async () => {
  await using broker = await tempBroker();
  using _a = await live(broker, "alice");
  using _b = await live(broker, "bob");
  using _c = await live(broker, "carol");
  const t = clock();
  const claims = claimsOf(broker, { now: t.now });
  await claims.claim("alice-s", { paths: ["lib/**"], reason: "refactor" });
  const ask = async (who: string, path: string) =>
    (await claims.claim(`${who}-s`, { paths: [path], reason: "need it" }))
      .notified;
  assert.deepEqual(await ask("bob", "lib/a.ts"), ["alice"]);
  t.advance(30_000);
  assert.deepEqual(await ask("bob", "lib/a.ts"), []); // same claimant, path
  assert.deepEqual(await ask("bob", "lib/b.ts"), ["alice"]); // another path
  assert.deepEqual(await ask("carol", "lib/a.ts"), ["alice"]); // another claimant
  t.advance(29_999);
  assert.deepEqual(await ask("bob", "lib/a.ts"), []);
  t.advance(1);
  assert.deepEqual(await ask("bob", "lib/a.ts"), ["alice"]); // a minute on
  const inbox = await broker.peekInbox("alice-s");
  assert.equal(inbox.messages.length, 4);
  const first = inbox.messages[0];
  assert.equal(first.event, "claim");
  assert.equal(first.from_alias, "bob");
  assert.match(first.content, /bob asked to claim lib\/a\.ts/);
  assert.match(first.content, /lib\/\*\* covers \("refactor"\)/);
  const envelope = renderEnvelope(first);
  assert.match(envelope, /^<c2c event="claim" from="bob" alias="alice" /);
  // Nobody else got anything.
  assert.equal((await broker.peekInbox("bob-s")).messages.length, 0);
  // A notice survives the drain into the archive, still a claim.
  await broker.pollInbox("alice-s");
  const history = await broker.history("alice-s");
  assert.equal(history.messages[0].event, "claim");
  // `c2c verify` counts messages participants sent: a notice is not one.
  assert.deepEqual(archiveEvents(history.messages), []);
});

Deno.test("release() releases the paths named, or all of the caller's claims", async () => {
  await using broker = await tempBroker();
  using _a = await live(broker, "alice");
  using _b = await live(broker, "bob");
  const claims = claimsOf(broker);
  await claims.claim("alice-s", {
    paths: ["a.ts", "b.ts", "lib/"],
    reason: "x",
  });
  await claims.claim("bob-s", { paths: ["c.ts"], reason: "y" });
  assert.deepEqual(
    await claims.release("alice-s", { paths: ["./a.ts", "z.ts"] }),
    { released: ["a.ts"], not_held: ["z.ts"] },
  );
  // Bob cannot release Alice's claim: it is not his.
  assert.deepEqual(await claims.release("bob-s", { paths: ["b.ts"] }), {
    released: [],
    not_held: ["b.ts"],
  });
  assert.deepEqual(await claims.release("alice-s"), {
    released: ["b.ts", "lib/**"],
    not_held: [],
  });
  assert.deepEqual((await claims.list()).claims.map((c) => c.path), ["c.ts"]);
});

Deno.test("claim() refuses traversal, paths outside the repository and bad arguments, naming them", async () => {
  await using broker = await tempBroker();
  using _a = await live(broker, "alice");
  const claims = claimsOf(broker, { repoRoot: "/work/repo" });
  const refused = (args: Record<string, unknown>, why: RegExp) =>
    assert.rejects(
      claims.claim("alice-s", args as never),
      (e) =>
        e instanceof C2cError && e.code === "invalid_argument" &&
        why.test(e.message),
    );
  await refused({ paths: ["../x"], reason: "r" }, /'\.\.\/x' has a '\.\.'/);
  await refused({ paths: ["/etc/passwd"], reason: "r" }, /outside/);
  await refused({ paths: [], reason: "r" }, /at least one/);
  await refused({ paths: "a.ts", reason: "r" }, /list of paths/);
  await refused({ paths: ["a.ts"], reason: "" }, /reason/);
  await refused({ paths: ["a.ts"], reason: "a\nb" }, /one line/);
  await refused({ paths: ["a.ts"], reason: "x".repeat(501) }, /limit is 500/);
  await refused(
    { paths: Array.from({ length: 101 }, (_, i) => `f${i}`), reason: "r" },
    /at most 100/,
  );
  await refused({ paths: ["a.ts"], reason: "r", exclusive: "yes" }, /true/);
  const ok = await claims.claim("alice-s", {
    paths: ["/work/repo/src/x.ts"],
    reason: "absolute, inside",
  });
  assert.deepEqual(ok.granted.map((g) => g.path), ["src/x.ts"]);
  await assert.rejects(
    claims.claim("nobody", { paths: ["a.ts"], reason: "r" }),
    /not registered/,
  );
});

Deno.test("check() blocks files under another live session's exclusive claim only", async () => {
  await using broker = await tempBroker();
  using _a = await live(broker, "alice");
  using _b = await live(broker, "bob");
  const claims = claimsOf(broker);
  await claims.claim("alice-s", { paths: ["lib/**"], reason: "refactor" });
  await claims.claim("bob-s", {
    paths: ["docs/a.md"],
    reason: "edit",
    exclusive: false,
  });
  const files = ["lib/x.ts", "docs/a.md", "README.md", "lib/[x].ts"];
  const bob = await claims.check(files, "bob-s");
  assert.equal(bob.checked, 4);
  assert.deepEqual(bob.blocked.map((b) => [b.path, b.holder, b.reason]), [
    ["lib/x.ts", "alice", "refactor"],
    ["lib/[x].ts", "alice", "refactor"],
  ]);
  assert.deepEqual((await claims.check(files, "alice-s")).blocked, []);
  assert.equal((await claims.check(files, null)).blocked.length, 2);
});

Deno.test("a damaged claims.json is an error naming it, left untouched; a link in its place is refused", async () => {
  await using broker = await tempBroker();
  using _a = await live(broker, "alice");
  const claims = claimsOf(broker);
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
  Object.defineProperty(broker.store, "kind", { value: "nats" });
  const claims = claimsOf(broker);
  await assert.rejects(
    claims.claim("alice-s", { paths: ["a.ts"], reason: "r" }),
    /not kept in the nats store yet/,
  );
  await assert.rejects(claims.list(), /not kept in the nats store yet/);
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
