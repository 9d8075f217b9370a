// File claims over the NATS store, where only it differs from the file
// store (the shared cases are in claims_conformance_test.ts and
// claims_race_test.ts): the claim document in KV (a damaged value is an
// error naming the bucket, left untouched; one larger than a NATS message
// is refused), and `c2c guard` with real git commits while the claims are
// in NATS — a claim made on another machine (its own MCP server and local
// root) reaches this machine's hook through the cue this machine's server
// keeps, and is refused, released and allowed; a committing shell without
// C2C_BROKER_URL is told why the commit was not checked; with no cue the
// hook starts no Deno, and with one the check starts with exactly the
// grants cliGrant() gives (NATS included).

import assert from "node:assert/strict";
import { Kvm } from "@nats-io/kv";
import { jetstream } from "@nats-io/jetstream";
import { claimsOf } from "../lib/claims.ts";
import { cliGrant, natsScope, permissionFlags } from "../lib/permissions.ts";
import { natsNames } from "../lib/store/nats/names.ts";
import { CLAIMS_KEY } from "../lib/store/nats/claim_store.ts";
import { storeHealth } from "../lib/store/nats/health.ts";
import { natsConfigFromEnv } from "../lib/store/nats/url.ts";
import { connect as natsConnect } from "../lib/store/nats/transport.ts";
import type * as types from "../lib/types.ts";
import { DENO, REPO, waitFor } from "./_helpers.ts";
import { connect, type Connection } from "./_mcp.ts";
import {
  baseEnv,
  exits,
  git,
  gitEnv,
  launch,
  tempDir,
  tempRepo,
} from "./_cli.ts";
import { startNats } from "./_nats.ts";
import { openWorld } from "./_stores.ts";
import { start } from "./_recording_deno.ts";

const server = await startNats();
globalThis.addEventListener("unload", () => {
  server.stop("SIGKILL");
});

/** What selects the NATS store and the namespace. */
function natsEnv(namespace: string): Record<string, string> {
  return { C2C_BROKER_URL: server.url, C2C_BROKER_NAMESPACE: namespace };
}

/** An MCP server on NATS for session `<alias>-s`, local directory `root`. */
function natsServer(
  root: string,
  alias: string,
  namespace: string,
): Promise<Connection> {
  const env: Record<string, string> = {
    ...natsEnv(namespace),
    C2C_MCP_SESSION_ID: `${alias}-s`,
    C2C_MCP_AUTO_REGISTER_ALIAS: alias,
  };
  const nats = natsScope((n) => env[n]);
  return connect(root, env, {
    args: [
      "run",
      ...permissionFlags("server", { root, net: nats.net, read: nats.read }),
      `${REPO}/server.ts`,
    ],
  });
}

async function stage(repo: string, path: string, text: string): Promise<void> {
  const file = `${repo}/${path}`;
  await Deno.mkdir(file.slice(0, file.lastIndexOf("/")), { recursive: true });
  await Deno.writeTextFile(file, text);
  assert.equal((await git(repo, ["add", path])).code, 0);
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("NATS claims: a damaged claim document is an error naming the bucket, left untouched, and c2c health fails it", async () => {
  await using world = await openWorld("nats", { url: server.url });
  const broker = await world.broker();
  const lease = await broker.acquireLease("alice-s");
  try {
    await broker.register("alice-s", { alias: "alice", leased: true });
    const claims = claimsOf(broker);
    await claims.claim("alice-s", { paths: ["a.ts"], reason: "r" });
    const bucket = natsNames(world.where).buckets.claims;
    const config = natsConfigFromEnv(
      new Map([["C2C_BROKER_URL", server.url]]),
    )!;
    const env = (n: string) =>
      n === "C2C_BROKER_NAMESPACE" ? world.where : undefined;
    const healthy = (await storeHealth(config, env)).checks.find((c) =>
      c.name === "claims"
    );
    assert.equal(healthy?.status, "ok");
    assert.match(healthy!.detail, /^1 stored \(1 exclusive/);
    const nc = await natsConnect({ servers: [server.hostPort] });
    try {
      const kv = await new Kvm(jetstream(nc)).open(bucket);
      await kv.put(CLAIMS_KEY, '{"version":1,"claims":{}}');
      for (
        const op of [
          claims.list(),
          claims.claim("alice-s", { paths: ["b.ts"], reason: "r" }),
        ]
      ) {
        await assert.rejects(op, (e: Error & { code?: string }) => {
          assert.equal(e.code, "corrupt_file");
          assert.match(e.message, new RegExp(`NATS KV ${bucket}`));
          assert.match(e.message, /nats kv del/);
          return true;
        });
      }
      const sick = (await storeHealth(config, env)).checks.find((c) =>
        c.name === "claims"
      );
      assert.equal(sick?.status, "fail");
      assert.match(sick!.detail, /is not a claim document/);
      assert.match(sick!.fix!, /nats kv del/);
      const left = await kv.get(CLAIMS_KEY);
      assert.equal(left?.string(), '{"version":1,"claims":{}}');
    } finally {
      await nc.close();
    }
  } finally {
    lease.release();
  }
});

Deno.test("c2c guard over NATS: a claim made on another machine refuses this machine's commit, until it is released", async () => {
  await using repo = await tempRepo();
  await using other = await tempDir("c2c-claims-machine-b-");
  const r = repo.path;
  const namespace = `guard-${crypto.randomUUID().slice(0, 8)}`;
  const env = natsEnv(namespace);
  const root = `${Deno.realPathSync(r)}/.git/c2c/mcp`;
  await Deno.mkdir(root, { recursive: true });
  const cue = `${root}/claims.guard`;
  exits(
    await launch(["guard", "install", "--json"], {
      cwd: r,
      env: { ...gitEnv(), ...env },
    }),
    0,
  );
  // This machine: bob's server, which keeps the cue. Another machine:
  // alice's, with its own local directory.
  await using bob = await natsServer(root, "bob", namespace);
  await using alice = await natsServer(other.path, "alice", namespace);
  await bob.ok("register");
  await alice.ok("register");
  assert.equal(exists(cue), false);

  // Nothing claimed: the hook lets the commit through.
  await stage(r, "README.md", "hi\n");
  const first = await git(r, ["commit", "-m", "readme"], env);
  assert.equal(first.code, 0, first.out);

  const claimed = await alice.ok<types.ClaimResult>("claim", {
    paths: ["src/"],
    reason: "rewriting src",
  });
  assert.deepEqual(claimed.granted.map((g) => g.path), ["src/**"]);
  // The claim reaches this machine: bob's server follows the bucket.
  await waitFor(() => exists(cue), 10_000, "the cue on this machine");
  assert.equal(Deno.readTextFileSync(cue), "nats\n");

  await stage(r, "src/a.ts", "export const a = 1;\n");
  const refused = await git(r, ["commit", "-m", "touch src"], env);
  assert.equal(refused.code, 1, refused.out);
  assert.match(refused.out, /commit refused/);
  assert.match(refused.out, /src\/a\.ts: alice holds src\/\*\* \(exclusive/);
  assert.match(refused.out, /"rewriting src"/);

  // A shell that does not name NATS commits, told it was not checked.
  const blind = await git(r, ["commit", "-m", "blind"]);
  assert.equal(blind.code, 0, blind.out);
  assert.match(blind.out, /kept in NATS, but C2C_BROKER_URL is not set/);

  // C2C_GUARD=warn reports and commits.
  await stage(r, "src/c.ts", "export const c = 3;\n");
  const warned = await git(r, ["commit", "-m", "warned"], {
    ...env,
    C2C_GUARD: "warn",
  });
  assert.equal(warned.code, 0, warned.out);
  assert.match(warned.out, /src\/c\.ts: alice holds src\/\*\*/);

  // Released on the other machine: the cue goes, the commit goes through.
  await alice.ok("release", { paths: ["src/"] });
  await waitFor(() => !exists(cue), 10_000, "the cue to go");
  await stage(r, "src/b.ts", "export const b = 2;\n");
  const allowed = await git(r, ["commit", "-m", "after release"], env);
  assert.equal(allowed.code, 0, allowed.out);
});

Deno.test("bin/c2c-guard over NATS: no cue starts no Deno; with the cue it starts `cli.ts guard check` with exactly the flags cliGrant() gives, NATS grants included", async () => {
  await using repo = await tempRepo();
  const r = repo.path;
  const root = `${Deno.realPathSync(r)}/.git/c2c/mcp`;
  await Deno.mkdir(root, { recursive: true });
  const env = natsEnv("guard-flags");
  exits(
    await launch(["guard", "install"], {
      cwd: r,
      env: { ...gitEnv(), ...env },
    }),
    0,
  );
  // No cue: the installed hook starts nothing, NATS or not.
  const marker = `${r}/.git/deno-started`;
  const fake = `${r}/.git/fake-deno`;
  await Deno.writeTextFile(fake, `#!/bin/sh\ntouch '${marker}'\nexit 0\n`);
  await Deno.chmod(fake, 0o755);
  await stage(r, "a.txt", "a\n");
  const quiet = await git(r, ["commit", "-m", "a"], { ...env, C2C_DENO: fake });
  assert.equal(quiet.code, 0, quiet.out);
  assert.equal(exists(marker), false);
  // The cue of the NATS store: the guard starts the check, with NATS grants.
  await Deno.writeTextFile(`${root}/claims.guard`, "nats\n");
  const got = await start(["pre-commit"], {
    cwd: r,
    launcher: `${REPO}/bin/c2c-guard`,
    env: { ...env, C2C_GUARD: "warn" },
  });
  const args = ["guard", "check", "--stdin", "--warn"];
  const all = { ...baseEnv(), ...env };
  const grant = cliGrant(args, DENO, (n) => all[n]);
  assert.ok(grant.scope.net?.includes(server.hostPort));
  assert.deepEqual(got.argv, [
    "run",
    "--quiet",
    `--config=${REPO}/deno.json`,
    ...permissionFlags("cli", { root, ...grant.scope }),
    `${REPO}/cli.ts`,
    ...args,
  ]);
  assert.equal(got.env.C2C_BROKER_URL, server.url);
});

Deno.test("NATS claims: a document larger than the server takes in one message is refused, naming the limit, and nothing is lost", async () => {
  await using small = await startNats({ extra: "max_payload: 16384" });
  await using world = await openWorld("nats", { url: small.url });
  const broker = await world.broker();
  const lease = await broker.acquireLease("alice-s");
  try {
    await broker.register("alice-s", { alias: "alice", leased: true });
    const claims = claimsOf(broker);
    await claims.claim("alice-s", { paths: ["kept.ts"], reason: "r" });
    const paths = Array.from({ length: 100 }, (_, i) => `big/file-${i}.ts`);
    await assert.rejects(
      claims.claim("alice-s", { paths, reason: "x".repeat(200) }),
      /more than NATS accepts in one value.*release claims, or claim directories/,
    );
    assert.deepEqual((await claims.list()).claims.map((c) => c.path), [
      "kept.ts",
    ]);
  } finally {
    lease.release();
  }
});
