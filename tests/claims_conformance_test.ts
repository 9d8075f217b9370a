// File claims through the library (lib/claims.ts), the same cases over both
// stores (tests/_stores.ts): the file store's claims.json under its lock,
// and the NATS store's KV value changed by compare-and-set, on a real
// nats-server. Who wins, liveness, TTL, shared claims, the once-a-minute
// notice to a holder (an injected clock, never a sleep), release, the
// guard's check. Each case runs twice, and checks the behaviour itself;
// sessions are live while another broker (another process, or for NATS
// another machine) holds their leases. What only one store has (claims.json
// and its cue, the KV value) is in claims_test.ts and nats_claims_test.ts.

import assert from "node:assert/strict";
import { CLAIMS_GUARD_FILE, claimsOf } from "../lib/claims.ts";
import { renderEnvelope } from "../lib/envelope.ts";
import { archiveEvents } from "../lib/verify.ts";
import { C2cError } from "../lib/errors.ts";
import type { Broker } from "../mod.ts";
import type { SessionLease } from "../lib/store/store.ts";
import { startNats } from "./_nats.ts";
import { openWorld, type StoreKind } from "./_stores.ts";

const server = await startNats();
globalThis.addEventListener("unload", () => {
  server.stop("SIGKILL");
});

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

interface StoreCase {
  /** The broker the claims go through. */
  broker: Broker;
  /**
   * Registers `alias` as session `<alias>-s` through `broker`, its lease
   * held by another broker of the same world.
   */
  live(broker: Broker, alias: string): Promise<SessionLease>;
}

/** Runs `body` once over each store. */
function storeTest(name: string, body: (c: StoreCase) => Promise<void>) {
  for (const kind of ["file", "nats"] as StoreKind[]) {
    Deno.test(`${name} [${kind}]`, async () => {
      await using world = await openWorld(kind, { url: server.url });
      const broker = await world.broker();
      const peer = await world.broker();
      const leases: SessionLease[] = [];
      try {
        await body({
          broker,
          live: async (on, alias) => {
            const lease = await peer.acquireLease(`${alias}-s`);
            leases.push(lease);
            await on.register(`${alias}-s`, { alias, leased: true });
            return lease;
          },
        });
      } finally {
        for (const l of leases) l.release();
      }
    });
  }
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The claims as stored, live or not. */
async function stored(broker: Broker): Promise<string> {
  return JSON.stringify((await broker.store.claims!().read()).claims);
}

storeTest(
  "claim() grants what is free and returns the conflicts, overlap decided both ways",
  async ({ broker, live }) => {
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
  },
);

storeTest(
  "claim() lets shared claims coexist and lists them, and an exclusive one excludes them both ways",
  async ({ broker, live }) => {
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
  },
);

storeTest(
  "claims die with their holder: a released lease ends them at once, and the next write prunes them",
  async ({ broker, live }) => {
    const lease = await live(broker, "alice");
    using _b = await live(broker, "bob");
    const claims = claimsOf(broker);
    await claims.claim("alice-s", { paths: ["a.ts"], reason: "mine" });
    assert.equal((await claims.list()).claims.length, 1);
    lease[Symbol.dispose]();
    assert.deepEqual((await claims.list()).claims, []);
    assert.equal((await claims.counts()).size, 0);
    assert.match(await stored(broker), /alice-s/);
    const b = await claims.claim("bob-s", { paths: ["a.ts"], reason: "now" });
    assert.deepEqual(b.granted.map((g) => g.holder), ["bob"]);
    assert.doesNotMatch(await stored(broker), /alice-s/);
    // A dead session cannot claim: its claims would end at once.
    await assert.rejects(
      claims.claim("alice-s", { paths: ["c.ts"], reason: "x" }),
      /is not alive/,
    );
  },
);

storeTest(
  "claim() with ttl_s ends on its own; a session without a lease must give one",
  async ({ broker, live }) => {
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
    const early = await claims.claim("alice-s", {
      paths: ["a.ts"],
      reason: "y",
    });
    assert.equal(early.conflicts.length, 1);
    t.advance(1);
    assert.deepEqual((await claims.list()).claims, []);
    const late = await claims.claim("alice-s", {
      paths: ["a.ts"],
      reason: "y",
    });
    assert.deepEqual(late.granted.map((g) => g.holder), ["alice"]);
    for (const ttl of [0, -1, 1.5, 31 * 24 * 3600]) {
      await assert.rejects(
        claims.claim("alice-s", { paths: ["b.ts"], reason: "y", ttl_s: ttl }),
        /ttl_s must be/,
      );
    }
  },
);

storeTest(
  'claim() tells the holder once per claimant and path per minute, in an event="claim" envelope',
  async ({ broker, live }) => {
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
  },
);

storeTest(
  "release() releases the paths named, or all of the caller's claims",
  async ({ broker, live }) => {
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
  },
);

storeTest(
  "claim() refuses traversal, paths outside the repository and bad arguments, naming them",
  async ({ broker, live }) => {
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
  },
);

storeTest(
  "check() blocks files under another live session's exclusive claim only",
  async ({ broker, live }) => {
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
  },
);

storeTest(
  "check() prunes dead claims, so the guard's cue goes with the last exclusive one",
  async ({ broker, live }) => {
    const alice = await live(broker, "alice");
    await live(broker, "bob");
    const claims = claimsOf(broker);
    await claims.claim("alice-s", { paths: ["lib/**"], reason: "refactor" });
    await claims.claim("bob-s", {
      paths: ["docs/a.md"],
      reason: "edit",
      exclusive: false,
    });
    const cue = `${broker.root}/${CLAIMS_GUARD_FILE}`;
    assert.equal(exists(cue), true);
    assert.equal((await claims.check(["lib/x.ts"], "bob-s")).blocked.length, 1);
    alice.release();
    // Dead, so not in the way; and gone from the document and the cue.
    assert.deepEqual((await claims.check(["lib/x.ts"], "bob-s")).blocked, []);
    assert.doesNotMatch(await stored(broker), /alice-s/);
    assert.match(await stored(broker), /bob-s/);
    assert.equal(exists(cue), false);
  },
);
