/**
 * File claims (issue 15): `claim` with 1,000 live claims held (the library
 * call, and `c2c claim` as a user runs it), and the commit guard as git
 * runs it — the hook `c2c guard install` writes, started in a temp
 * repository with a file staged: with no claims (no Deno process: target
 * p50 ≤ 5 ms), with 1,000 shared claims (no Deno either), and refusing a
 * commit over an exclusive claim (one Deno start-up).
 *
 * Requires `--allow-all` (temp repositories, child processes).
 *
 * @module
 */

import type { BenchGroup } from "./group.ts";
import { type Case, measureInterleaved, registerPeers } from "./_harness.ts";
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
    const cases: Case[] = [
      freeClaim(emptyClaims, emptyPeers.sessions[0]),
      freeClaim(claims, claimant),
      {
        samples: lib,
        op: async (i) => {
          const r = await claims.claim(claimant, {
            paths: [`lib/h${i % HOLDERS}/file-${i % 100}.ts`],
            reason: "bench",
          });
          if (r.conflicts.length !== 1) throw new Error("no conflict");
        },
      },
      {
        samples: lib,
        op: async () => {
          const r = await claims.list();
          if (r.claims.length < HELD) throw new Error("claims missing");
        },
      },
      {
        samples: cli,
        before: async () => {
          await claims.release(claimant);
        },
        op: (i) =>
          runChecked(
            launcherCli(
              repo.path,
              ["claim", `cli/file-${i}.ts`, "--reason", "bench"],
              { C2C_MCP_SESSION_ID: claimant },
            ),
          ),
      },
    ];
    const libStats = (await measureInterleaved(cases)).map(summarize);
    const names = [
      "`claim` a free file, no claims held (library)",
      `\`claim\` a free file, ${fmtInt(HELD)} live claims held (library)`,
      `\`claim\` a held file: refused, ${fmtInt(HELD)} held (library)`,
      `\`claims\`: list ${fmtInt(HELD)} live claims (library)`,
      `\`c2c claim\` a free file, ${fmtInt(HELD)} held (bin/c2c, one process)`,
    ];
    const claimTable: Table = {
      title: CLAIM_TABLE_TITLE,
      columns: ["operation", "runs", "min", "p50", "p95"],
      rows: names.map((name, i) => [
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
        }; through \`c2c claim\`: p50 ${fmtMs(libStats[4].p50)}.**`,
        `The ${
          fmtInt(HELD)
        } claims are exclusive, held by ${HOLDERS} live sessions (${
          HELD / HOLDERS
        } files each; leases held by this process, as their MCP servers would) in a temp repository's broker. Each \`claim\` reads claims.json (${
          fmtInt(HELD)
        } claims, one line), probes each holder's lease once, checks the path against every claim, and writes the document whole (temp file + rename) under its lock; between runs the claimant's claim is released (untimed), so the count stays at ${
          fmtInt(HELD)
        }. The refused claim asks for a held file: it writes only when the holder is told (once a minute per path; here mostly not). The CLI row is one \`bin/c2c claim\` process, acting as the claimant's session from inside its client (C2C_MCP_SESSION_ID), Deno start-up included.`,
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
    const hook = (repo: { path: string }): Invocation => ({
      command: `${repo.path}/.git/hooks/pre-commit`,
      args: [],
      cwd: repo.path,
      env: gitEnv(),
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
    ];
    const guardStats = (await measureInterleaved(rows.map((r) => r.case))).map(
      summarize,
    );
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
        } (an empty \`deno run\`: ${fmtMs(deno)}).**`,
        `Each run starts the hook \`c2c guard install\` wrote (\`.git/hooks/pre-commit\`, which runs \`bin/c2c-guard pre-commit\`) in a temp repository with one file staged, as git does before a commit: working directory the repository's top, a clean environment. No claims and shared-only claims: the hook finds no \`claims.guard\` in the broker root (the broker keeps that empty file exactly while an exclusive claim is stored) and lets the commit through without starting any process, not even \`bin/c2c-guard\` (the shared claims' document is ~${
          Math.round(
            Deno.statSync(`${shared.root}/claims.json`).size / 1024,
          )
        } KiB, never read). Refusing: the hook starts \`bin/c2c-guard\`, which lists the staged files (\`git diff --cached --name-only -z\`) into \`cli.ts guard check --stdin\`, started with read/write on the broker root only, which finds the file under a live session's exclusive claim and exits 1 with the holder, reason and override (checked). Rows interleaved; ${fast} runs of the fast rows, ${slow} of the Deno ones.`,
      ],
    };
    return [claimTable, guardTable];
  },
};
