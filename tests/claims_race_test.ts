// Two (and more) sessions claiming the same file at the same instant:
// exactly one wins, every time, over both stores. Each racer is its own
// process holding its session's lease (over NATS, each its own "machine":
// its own local directory, sharing only the NATS URL and namespace); a
// round starts when the test writes "go N" to every racer at once (an
// event, not a timer), so their claims meet in the store. Then the same
// through the CLI (`c2c claim` processes started together), and a racer
// SIGKILLed while holding a claim: the others get the file at once.

import assert from "node:assert/strict";
import { Broker } from "../mod.ts";
import { claimsOf } from "../lib/claims.ts";
import { openStore } from "../lib/store/open.ts";
import { DENO, lines, REPO } from "./_helpers.ts";
import { c2c, tempDir } from "./_cli.ts";
import { startNats } from "./_nats.ts";

const RACERS = 8;
const ROUNDS = 25;

const server = await startNats();
globalThis.addEventListener("unload", () => {
  server.stop("SIGKILL");
});

type Kind = "file" | "nats";

/** What selects the store: nothing for the file store. */
function storeEnv(kind: Kind, namespace: string): Record<string, string> {
  return kind === "file"
    ? {}
    : { C2C_BROKER_URL: server.url, C2C_BROKER_NAMESPACE: namespace };
}

interface Racer {
  child: Deno.ChildProcess;
  out: AsyncGenerator<string>;
  writer: WritableStreamDefaultWriter<Uint8Array>;
}

async function racer(
  root: string,
  i: number,
  env: Record<string, string>,
): Promise<Racer> {
  const child = new Deno.Command(DENO, {
    args: [
      "run",
      "--no-prompt",
      `--allow-read=${root}`,
      `--allow-write=${root}`,
      "--allow-env",
      `--allow-net=${server.hostPort}`,
      `${REPO}/tests/fixtures/claim_racer.ts`,
      root,
      `racer-${i}-s`,
      `racer-${i}`,
    ],
    env,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const out = lines(child.stdout);
  const first = await out.next();
  assert.equal(first.value, "ready");
  return { child, out, writer: child.stdin.getWriter() };
}

/** Racers of one world: one root (file), or one local root each (NATS). */
async function racers(
  kind: Kind,
  base: string,
  count: number,
  env: Record<string, string>,
): Promise<Racer[]> {
  return await Promise.all(Array.from({ length: count }, async (_, i) => {
    const root = kind === "file" ? base : `${base}/machine-${i}`;
    await Deno.mkdir(root, { recursive: true });
    return racer(root, i, env);
  }));
}

async function stop(all: Racer[]): Promise<void> {
  for (const r of all) await r.writer.close().catch(() => {});
  for (const r of all) await r.child.status;
}

async function round(all: Racer[], n: number) {
  const go = new TextEncoder().encode(`go ${n}\n`);
  await Promise.all(all.map((r) => r.writer.write(go)));
  return await Promise.all(
    all.map(async (r) =>
      JSON.parse((await r.out.next()).value as string) as {
        round: number;
        granted: boolean;
        holder: string;
      }
    ),
  );
}

for (const kind of ["file", "nats"] as Kind[]) {
  const namespace = () => `race-${crypto.randomUUID().slice(0, 8)}`;

  Deno.test(`claim() from ${RACERS} processes at the same instant: exactly one wins, ${ROUNDS} rounds in a row [${kind}]`, async () => {
    await using dir = await tempDir("c2c-claim-race-");
    const all = await racers(
      kind,
      dir.path,
      RACERS,
      storeEnv(kind, namespace()),
    );
    try {
      for (let n = 1; n <= ROUNDS; n++) {
        const results = await round(all, n);
        const winners = results.filter((r) => r.granted);
        assert.equal(
          winners.length,
          1,
          `round ${n}: ${JSON.stringify(results)}`,
        );
        // Every loser was told who holds it: the one winner.
        const winner = winners[0].holder;
        for (const r of results) {
          assert.equal(r.round, n);
          assert.equal(r.holder, winner);
        }
      }
    } finally {
      await stop(all);
    }
  });

  Deno.test(`c2c claim from 6 processes started together: exactly one exits 0, the others name the winner [${kind}]`, async () => {
    await using dir = await tempDir("c2c-claim-race-cli-");
    const env = storeEnv(kind, namespace());
    // The sessions are live (their leases held by racers), and each command
    // runs as its own session, as inside its client: on its machine.
    const all = await racers(kind, dir.path, 6, env);
    try {
      for (let n = 1; n <= 3; n++) {
        const runs = await Promise.all(
          all.map((_, i) =>
            c2c(kind === "file" ? dir.path : `${dir.path}/machine-${i}`, [
              "claim",
              `cli-${n}.ts`,
              "--reason",
              `cli racer ${i}`,
              "--json",
            ], { env: { ...env, C2C_MCP_SESSION_ID: `racer-${i}-s` } })
          ),
        );
        const winners = runs.filter((r) => r.code === 0);
        assert.equal(
          winners.length,
          1,
          runs.map((r) => `${r.code} ${r.stdout} ${r.stderr}`).join("\n"),
        );
        const winner = winners[0].json<{ granted: { holder: string }[] }>()
          .granted[0].holder;
        for (const r of runs.filter((r) => r.code !== 0)) {
          assert.equal(r.code, 1, r.stderr);
          const out = r.json<{ conflicts: { holder: string }[] }>();
          assert.deepEqual(out.conflicts.map((c) => c.holder), [winner]);
        }
      }
    } finally {
      await stop(all);
    }
  });

  Deno.test(`a SIGKILLed holder's claims are gone for the others at once [${kind}]`, async () => {
    await using dir = await tempDir("c2c-claim-kill-");
    const env = storeEnv(kind, namespace());
    const [holder, other] = await racers(kind, dir.path, 2, env);
    const root = kind === "file" ? dir.path : `${dir.path}/observer`;
    await Deno.mkdir(root, { recursive: true });
    const broker = new Broker({
      store: await openStore({ root, env: new Map(Object.entries(env)) }),
    });
    try {
      // The holder claims race-1.ts alone, then the other is refused it.
      await holder.writer.write(new TextEncoder().encode("go 1\n"));
      assert.equal(JSON.parse((await holder.out.next()).value!).granted, true);
      const claims = claimsOf(broker);
      assert.deepEqual(
        (await claims.list()).claims.map((c) => c.holder),
        ["racer-0"],
      );
      holder.child.kill("SIGKILL");
      await holder.child.status; // gone: its lease (lock or connection) with it
      assert.deepEqual((await claims.list()).claims, []);
      const [r] = await round([other], 1);
      assert.equal(r.granted, true, JSON.stringify(r));
      assert.doesNotMatch(
        JSON.stringify((await broker.store.claims!().read()).claims),
        /racer-0-s/,
      );
    } finally {
      await holder.writer.close().catch(() => {});
      await stop([other]);
      await broker.close();
    }
  });
}
