/**
 * File claims (issue 15): `claim` with 1,000 live claims held (the library
 * call, and `c2c claim` as a user runs it), and the commit guard as git
 * runs it — the hook `c2c guard install` writes, started in a temp
 * repository with a file staged: with no claims (no Deno process: target
 * p50 ≤ 5 ms), with 1,000 shared claims (no Deno either), and refusing a
 * commit over an exclusive claim (one Deno start-up). Each over the file
 * store and over the NATS store (a real single-node `nats-server` on a
 * random port, `tests/_nats.ts`).
 *
 * Requires `--allow-all` (temp repositories, child processes).
 *
 * @module
 */

import type { BenchGroup } from "./group.ts";
import {
  type Case,
  measureInterleaved,
  registerPeers,
  writeBenchConfig,
} from "./_harness.ts";
import {
  binTrue,
  childEnv,
  DENO,
  emptyDeno,
  type Invocation,
  launcherCli,
  REPO,
  runChecked,
  tempRepo,
} from "./_cli_harness.ts";
import { summarize } from "./stats.ts";
import { fmtInt, fmtMet, fmtMs, type Table } from "./table.ts";
import { Broker } from "../mod.ts";
import { claimsOf } from "../lib/claims.ts";
import { NatsStore } from "../lib/store/nats/nats_store.ts";
import { natsConfigFromEnv } from "../lib/store/nats/url.ts";
import { startNats } from "../tests/_nats.ts";

/** Issue 15: the guard's no-claims path, p50 ≤ 5 ms (no Deno start-up). */
export const GUARD_NO_CLAIMS_TARGET_MS = 5;

/** Title of the library table (the summary may find it by this). */
export const CLAIM_TABLE_TITLE = "`claim` with live claims held";
/** Title of the guard table. */
export const GUARD_TABLE_TITLE =
  "The commit guard's pre-commit hook (`c2c guard install`)";

/** Live claims held while `claim` is timed. */
const HELD = 1000;
/** Sessions holding them. */
const HOLDERS = 10;

/** Claims `HELD` paths, `HELD / HOLDERS` per holder, under `prefix/`. */
async function hold(
  broker: Broker,
  holders: string[],
  prefix: string,
  exclusive: boolean,
): Promise<void> {
  const claims = claimsOf(broker);
  const each = HELD / holders.length;
  for (const [h, session] of holders.entries()) {
    const paths = Array.from(
      { length: each },
      (_, i) => `${prefix}/h${h}/file-${i}.ts`,
    );
    await claims.claim(session, { paths, reason: "bench", exclusive });
  }
}

/** A broker on the NATS store at `url`, namespace `namespace`, here `root`. */
function natsBroker(url: string, namespace: string, root: string): Broker {
  return new Broker({
    store: new NatsStore({
      config: natsConfigFromEnv(new Map([["C2C_BROKER_URL", url]]))!,
      namespace,
      root,
    }),
  });
}

/**
 * `count` live sessions registered through the broker (the NATS store has
 * no registry file to write), their leases held by this process.
 */
async function natsPeers(
  broker: Broker,
  prefix: string,
  count: number,
): Promise<{ sessions: string[] } & Disposable> {
  const sessions: string[] = [];
  const leases: Disposable[] = [];
  for (let i = 0; i < count; i++) {
    const session = `${prefix}-session-${i}`;
    leases.push(await broker.acquireLease(session));
    await broker.register(session, { alias: `${prefix}-${i}`, leased: true });
    sessions.push(session);
  }
  return {
    sessions,
    [Symbol.dispose]: () => leases.forEach((l) => l[Symbol.dispose]()),
  };
}

/** Runs an invocation that must exit with `code`; returns its stdout. */
async function runExpecting(inv: Invocation, code: number): Promise<string> {
  const out = await new Deno.Command(inv.command, {
    args: inv.args,
    cwd: inv.cwd,
    clearEnv: true,
    env: inv.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.code !== code) {
    throw new Error(
      `${inv.command} exited ${out.code}, not ${code}: ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

/** git with no user or system configuration. */
function gitEnv(): Record<string, string> {
  return {
    ...childEnv(),
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_CONFIG_NOSYSTEM: "1",
    C2C_DENO: DENO,
  };
}

async function git(cwd: string, args: string[]): Promise<void> {
  await runChecked({ command: "git", args, cwd, env: gitEnv() });
}

/** A repository with the guard installed and `file` staged. */
async function guardedRepo(file: string) {
  const repo = await tempRepo();
  await runChecked({
    command: `${REPO}/bin/c2c-guard`,
    args: ["install"],
    cwd: repo.path,
    env: gitEnv(),
  });
  const path = `${repo.path}/${file}`;
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  await Deno.writeTextFile(path, "staged\n");
  await git(repo.path, ["add", file]);
  return repo;
}

/** The `claims` group. */
export const claimsGroup: BenchGroup = {
  name: "claims",
  title: "File claims (claim, the commit guard)",
  run: async ({ quick }) => {
    // ---- claim, in the library and through the CLI ----------------------
    await using repo = await tempRepo();
    writeBenchConfig(repo.root);
    const broker = new Broker({ root: repo.root });
    await using empty = await tempRepo();
    const emptyBroker = new Broker({ root: empty.root });
    using peers = await registerPeers(broker, "claims", HOLDERS + 1);
    using emptyPeers = await registerPeers(emptyBroker, "claims", 1);
    const holders = peers.sessions.slice(0, HOLDERS);
    const claimant = peers.sessions[HOLDERS];
    await hold(broker, holders, "lib", true);
    const claims = claimsOf(broker);
    const emptyClaims = claimsOf(emptyBroker);
    const lib = quick ? 100 : 500;
    const cli = quick ? 10 : 40;
    const freeClaim = (c: typeof claims, session: string): Case => ({
      samples: lib,
      before: async () => {
        await c.release(session);
      },
      op: async (i) => {
        const r = await c.claim(session, {
          paths: [`free/file-${i}.ts`],
          reason: "bench",
        });
        if (r.granted.length !== 1) throw new Error("claim not granted");
      },
    });
    const refusedClaim = (c: typeof claims, session: string): Case => ({
      samples: lib,
      op: async (i) => {
        const r = await c.claim(session, {
          paths: [`lib/h${i % HOLDERS}/file-${i % 100}.ts`],
          reason: "bench",
        });
        if (r.conflicts.length !== 1) throw new Error("no conflict");
      },
    });
    const listAll = (c: typeof claims): Case => ({
      samples: lib,
      op: async () => {
        const r = await c.list();
        if (r.claims.length < HELD) throw new Error("claims missing");
      },
    });
    const cliClaim = (
      c: typeof claims,
      session: string,
      cwd: string,
      env: Record<string, string>,
    ): Case => ({
      samples: cli,
      before: async () => {
        await c.release(session);
      },
      op: (i) =>
        runChecked(
          launcherCli(
            cwd,
            ["claim", `cli/file-${i}.ts`, "--reason", "bench"],
            { ...env, C2C_MCP_SESSION_ID: session },
          ),
        ),
    });

    // The same over NATS: a namespace per broker, this machine's local
    // directory the repository's (where the CLI looks for its keys).
    await using natsServer = await startNats();
    const ns = `bench-claims-${crypto.randomUUID().slice(0, 8)}`;
    const natsEnv = {
      C2C_BROKER_URL: natsServer.url,
      C2C_BROKER_NAMESPACE: ns,
    };
    await using natsRepo = await tempRepo();
    await using natsEmptyRepo = await tempRepo();
    const natsHeld = natsBroker(natsServer.url, ns, natsRepo.root);
    const natsEmpty = natsBroker(
      natsServer.url,
      `${ns}-empty`,
      natsEmptyRepo.root,
    );
    using natsHolders = await natsPeers(natsHeld, "claims", HOLDERS + 1);
    using natsLone = await natsPeers(natsEmpty, "claims", 1);
    await hold(natsHeld, natsHolders.sessions.slice(0, HOLDERS), "lib", true);
    const natsClaimant = natsHolders.sessions[HOLDERS];
    const natsClaims = claimsOf(natsHeld);
    const natsEmptyClaims = claimsOf(natsEmpty);

    const cases: Case[] = [
      freeClaim(emptyClaims, emptyPeers.sessions[0]),
      freeClaim(claims, claimant),
      refusedClaim(claims, claimant),
      listAll(claims),
      cliClaim(claims, claimant, repo.path, {}),
      freeClaim(natsEmptyClaims, natsLone.sessions[0]),
      freeClaim(natsClaims, natsClaimant),
      refusedClaim(natsClaims, natsClaimant),
      listAll(natsClaims),
      cliClaim(natsClaims, natsClaimant, natsRepo.path, natsEnv),
    ];
    const libStats = (await measureInterleaved(cases)).map(summarize);
    await natsHeld.close();
    await natsEmpty.close();
    const names = (store: string) => [
      `\`claim\` a free file, no claims held (library, ${store})`,
      `\`claim\` a free file, ${
        fmtInt(HELD)
      } live claims held (library, ${store})`,
      `\`claim\` a held file: refused, ${
        fmtInt(HELD)
      } held (library, ${store})`,
      `\`claims\`: list ${fmtInt(HELD)} live claims (library, ${store})`,
      `\`c2c claim\` a free file, ${
        fmtInt(HELD)
      } held (bin/c2c, one process, ${store})`,
    ];
    const labels = [...names("file"), ...names("NATS, 1 node")];
    const claimTable: Table = {
      title: CLAIM_TABLE_TITLE,
      columns: ["operation", "runs", "min", "p50", "p95"],
      rows: labels.map((name, i) => [
        name,
        fmtInt(libStats[i].n),
        fmtMs(libStats[i].min),
        fmtMs(libStats[i].p50),
        fmtMs(libStats[i].p95),
      ]),
      notes: [
        `**\`claim\` with ${fmtInt(HELD)} live claims held: p50 ${
          fmtMs(libStats[1].p50)
        } (${fmtMs(libStats[0].p50)} with none); refused: p50 ${
          fmtMs(libStats[2].p50)
        }; through \`c2c claim\`: p50 ${
          fmtMs(libStats[4].p50)
        }. NATS store: p50 ${fmtMs(libStats[6].p50)} with ${
          fmtInt(HELD)
        } held (${fmtMs(libStats[5].p50)} with none); refused: p50 ${
          fmtMs(libStats[7].p50)
        }; through \`c2c claim\`: p50 ${fmtMs(libStats[9].p50)}.**`,
        `The ${
          fmtInt(HELD)
        } claims are exclusive, held by ${HOLDERS} live sessions (${
          HELD / HOLDERS
        } files each; leases held by this process, as their MCP servers would) in a temp repository's broker. Each \`claim\` reads claims.json (${
          fmtInt(HELD)
        } claims, one line), probes each holder's lease once, checks the path against every claim, and writes the document whole (temp file + rename) under its lock; between runs the claimant's claim is released (untimed), so the count stays at ${
          fmtInt(HELD)
        }. The refused claim asks for a held file: it writes only when the holder is told (once a minute per path; here mostly not). The CLI row is one \`bin/c2c claim\` process, acting as the claimant's session from inside its client (C2C_MCP_SESSION_ID), Deno start-up included. NATS rows: the same document is one value of KV \`c2c_<ns>_claims\`; each \`claim\` reads it fresh (a stream-info round trip, then this process's mirror of the bucket), probes the holders together (one bulk request on the presence subject), and writes it with one compare-and-set on the revision read; the CLI row also connects to NATS and starts its mirror. Single node on loopback; rows of both stores interleaved.`,
      ],
    };

    // ---- the guard, as git runs it ---------------------------------------
    await using none = await guardedRepo("src/a.ts");
    await using shared = await guardedRepo("src/a.ts");
    await using refused = await guardedRepo("src/a.ts");
    const sharedBroker = new Broker({ root: shared.root });
    const refusedBroker = new Broker({ root: refused.root });
    using sharedPeers = await registerPeers(sharedBroker, "shared", HOLDERS);
    using refusedPeers = await registerPeers(refusedBroker, "held", HOLDERS);
    await hold(sharedBroker, sharedPeers.sessions, "src", false);
    await hold(refusedBroker, refusedPeers.sessions, "lib", true);
    await claimsOf(refusedBroker).claim(refusedPeers.sessions[0], {
      paths: ["src/**"],
      reason: "bench",
    });
    // Over NATS: the claims in a namespace, the cue in the repository's
    // local directory (written by the claim made here).
    await using natsNone = await guardedRepo("src/a.ts");
    await using natsRefused = await guardedRepo("src/a.ts");
    const guardNs = `${ns}-guard`;
    const guardEnv = {
      C2C_BROKER_URL: natsServer.url,
      C2C_BROKER_NAMESPACE: guardNs,
    };
    const natsGuardBroker = natsBroker(
      natsServer.url,
      guardNs,
      natsRefused.root,
    );
    using natsGuardPeers = await natsPeers(natsGuardBroker, "held", HOLDERS);
    await hold(natsGuardBroker, natsGuardPeers.sessions, "lib", true);
    await claimsOf(natsGuardBroker).claim(natsGuardPeers.sessions[0], {
      paths: ["src/**"],
      reason: "bench",
    });
    const hook = (
      repo: { path: string },
      env: Record<string, string> = {},
    ): Invocation => ({
      command: `${repo.path}/.git/hooks/pre-commit`,
      args: [],
      cwd: repo.path,
      env: { ...gitEnv(), ...env },
    });
    const fast = quick ? 100 : 300;
    const slow = quick ? 15 : 50;
    const rows: {
      name: string;
      target?: string;
      case: Case;
      limit?: number;
    }[] = [
      {
        name: "`/bin/true`",
        case: { samples: fast, op: () => runChecked(binTrue()) },
      },
      {
        name: "`/bin/sh -c :` (empty shell)",
        case: {
          samples: fast,
          op: () =>
            runChecked({
              command: "/bin/sh",
              args: ["-c", ":"],
              env: childEnv(),
            }),
        },
      },
      {
        name: "empty `deno run`",
        case: { samples: slow, op: () => runChecked(emptyDeno()) },
      },
      {
        name: "hook, no claims (no claims.json)",
        target: `p50 ≤ ${GUARD_NO_CLAIMS_TARGET_MS} ms`,
        limit: GUARD_NO_CLAIMS_TARGET_MS,
        case: {
          samples: fast,
          op: async () => {
            if ((await runChecked(hook(none))) !== "") {
              throw new Error("the no-claims hook printed something");
            }
          },
        },
      },
      {
        name: `hook, ${fmtInt(HELD)} shared claims (no exclusive one)`,
        target: `p50 ≤ ${GUARD_NO_CLAIMS_TARGET_MS} ms`,
        limit: GUARD_NO_CLAIMS_TARGET_MS,
        case: { samples: fast, op: () => runChecked(hook(shared)) },
      },
      {
        name: `hook refuses: staged file under an exclusive claim, ${
          fmtInt(HELD + 1)
        } held`,
        case: {
          samples: slow,
          op: async () => {
            const out = await runExpecting(hook(refused), 1);
            if (!out.includes("commit refused")) {
              throw new Error(`the hook did not refuse: ${out}`);
            }
          },
        },
      },
      {
        name: "hook, no claims, NATS store (no cue here)",
        target: `p50 ≤ ${GUARD_NO_CLAIMS_TARGET_MS} ms`,
        limit: GUARD_NO_CLAIMS_TARGET_MS,
        case: {
          samples: fast,
          op: async () => {
            if ((await runChecked(hook(natsNone, guardEnv))) !== "") {
              throw new Error("the no-claims hook printed something");
            }
          },
        },
      },
      {
        name:
          `hook refuses, NATS store: staged file under an exclusive claim, ${
            fmtInt(HELD + 1)
          } held`,
        case: {
          samples: slow,
          op: async () => {
            const out = await runExpecting(hook(natsRefused, guardEnv), 1);
            if (!out.includes("commit refused")) {
              throw new Error(`the hook did not refuse: ${out}`);
            }
          },
        },
      },
    ];
    const guardStats = (await measureInterleaved(rows.map((r) => r.case))).map(
      summarize,
    );
    await natsGuardBroker.close();
    const deno = guardStats[2].p50;
    const guardTable: Table = {
      title: GUARD_TABLE_TITLE,
      columns: ["run", "runs", "min", "p50", "p95", "target", "met"],
      rows: rows.map((r, i) => [
        r.name,
        fmtInt(guardStats[i].n),
        fmtMs(guardStats[i].min),
        fmtMs(guardStats[i].p50),
        fmtMs(guardStats[i].p95),
        r.target ?? "—",
        fmtMet(
          r.limit === undefined ? undefined : guardStats[i].p50 <= r.limit,
        ),
      ]),
      notes: [
        `**No claims: p50 ${
          fmtMs(guardStats[3].p50)
        } (target ≤ ${GUARD_NO_CLAIMS_TARGET_MS} ms); ${
          fmtInt(HELD)
        } shared claims: p50 ${
          fmtMs(guardStats[4].p50)
        }; refusing a commit: p50 ${
          fmtMs(guardStats[5].p50)
        } (an empty \`deno run\`: ${fmtMs(deno)}). NATS store: no claims p50 ${
          fmtMs(guardStats[6].p50)
        }; refusing p50 ${fmtMs(guardStats[7].p50)}.**`,
        `Each run starts the hook \`c2c guard install\` wrote (\`.git/hooks/pre-commit\`, which runs \`bin/c2c-guard pre-commit\`) in a temp repository with one file staged, as git does before a commit: working directory the repository's top, a clean environment. No claims and shared-only claims: the hook finds no \`claims.guard\` in the broker root (the broker keeps that empty file exactly while an exclusive claim is stored) and lets the commit through without starting any process, not even \`bin/c2c-guard\` (the shared claims' document is ~${
          Math.round(
            Deno.statSync(`${shared.root}/claims.json`).size / 1024,
          )
        } KiB, never read). Refusing: the hook starts \`bin/c2c-guard\`, which lists the staged files (\`git diff --cached --name-only -z\`) into \`cli.ts guard check --stdin\`, started with read/write on the broker root only, which finds the file under a live session's exclusive claim and exits 1 with the holder, reason and override (checked). NATS rows: the committing shell has C2C_BROKER_URL; the cue (\`claims.guard\` holding \`nats\`) is in the repository's local directory while the namespace's claims hold an exclusive one (written by the claim made here; a session's server keeps it for claims made elsewhere), so the no-claims path is the same test; refusing adds connecting to NATS, reading the claims bucket and probing the holder (\`cli.ts\` started with the NATS grants). Rows interleaved; ${fast} runs of the fast rows, ${slow} of the Deno ones.`,
      ],
    };
    return [claimTable, guardTable];
  },
};
