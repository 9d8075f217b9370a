/**
 * The `c2c` command as users run it (issue 4): wall time of real subprocess
 * runs of `c2c send`, `c2c poll-inbox` (empty and with one message) and
 * `c2c list`, through the launcher (the installed `c2c`, which finds the
 * broker through git and starts `cli.ts` with scoped flags) and as `cli.ts`
 * run directly with those flags (what the launcher starts), next to an empty
 * `deno run` and `/bin/true`. All cases interleaved in one run, so ratios to
 * the empty `deno run` hold on a noisy machine.
 *
 * Requires `--allow-all` (temp repository, child processes).
 *
 * @module
 */

import type { BenchGroup } from "./group.ts";
import {
  BODY,
  type Case,
  measureInterleaved,
  registerPeers,
  writeBenchConfig,
} from "./_harness.ts";
import {
  binTrue,
  directCli,
  emptyDeno,
  type Invocation,
  launcherCli,
  runChecked,
  tempRepo,
} from "./_cli_harness.ts";
import { median, summarize } from "./stats.ts";
import { fmtInt, fmtMet, fmtMs, fmtRatio, type Table } from "./table.ts";
import { Broker } from "../mod.ts";

/** Issue 4: a CLI call's median ≤ 4× an empty `deno run`. */
export const CLI_RATIO_TARGET = 4;

/** Title of the group's table (the summary finds it by this). */
export const CLI_TABLE_TITLE =
  "`c2c` commands as subprocesses, next to an empty `deno run`";

/** The original Python CLI on this machine kind (issue 4). */
const ORIGINAL: Record<string, string> = {
  send: "184 ms",
  "poll-inbox": "200 ms",
};

/** One timed row. */
interface Row {
  /** What runs (first column). */
  command: string;
  /** How it is started (second column). */
  path: string;
  /** The original's figure for this command, if quoted. */
  original?: string;
  /** Whether the target applies. */
  target: boolean;
  /** The timed case. */
  case: Case;
}

/** The `cli` group. */
export const cliGroup: BenchGroup = {
  name: "cli",
  title: "The c2c command (CLI subprocesses)",
  run: async ({ quick }) => {
    await using repo = await tempRepo();
    writeBenchConfig(repo.root);
    const broker = new Broker({ root: repo.root });
    // Four sessions: the sender, its recipient, a poller whose inbox stays
    // empty and one that gets one message before each run. The command acts
    // as sessions registered from a shell (no lease): a command may not act
    // as a session whose MCP server holds its lease. The recipient is live.
    const peers = await registerPeers(broker, "cli", 4);
    peers[Symbol.dispose](); // releases the leases; files removed below
    const [sender, recipient, empty, one] = peers.sessions;
    for (const session of [sender, empty, one]) {
      Deno.removeSync(`${repo.root}/leases/${session}.lock`);
    }
    using _live = await broker.acquireLease(recipient);
    const samples = quick ? 8 : 40;
    const warmup = quick ? 2 : 5;
    const as = (session: string) => ({ C2C_SESSION_ID: session });
    const timed = (inv: (i: number) => Invocation, check?: RegExp) => ({
      samples,
      warmup,
      op: async (i: number) => {
        const out = await runChecked(inv(i));
        if (check && !check.test(out)) {
          throw new Error(`cli bench: unexpected output: ${out}`);
        }
      },
    });
    const commands: {
      name: string;
      label: string;
      args: (i: number) => string[];
      session: string;
      check?: RegExp;
      before?: (i: number) => Promise<void>;
    }[] = [
      {
        name: "send",
        label: "`c2c send <alias> <text>`",
        args: (i) => ["send", peers.aliases[1], `${i}: ${BODY}`],
        session: sender,
        // Keep the recipient's inbox small (untimed); send cost is flat
        // anyway (the `send` group).
        before: async (i) => {
          if (i % 20 === 0) await broker.pollInbox(recipient);
        },
      },
      {
        name: "poll-inbox",
        label: "`c2c poll-inbox`, empty inbox",
        args: () => ["poll-inbox"],
        session: empty,
      },
      {
        name: "poll-inbox",
        label: "`c2c poll-inbox`, 1 message",
        args: () => ["poll-inbox"],
        session: one,
        check: /<c2c event="message"/,
        before: async (i) => {
          await broker.send(sender, {
            to_alias: peers.aliases[3],
            content: `${i}: ${BODY}`,
          });
        },
      },
      {
        name: "list",
        label: "`c2c list`",
        args: () => ["list"],
        session: sender,
      },
    ];
    const rows: Row[] = [
      {
        command: "`/bin/true`",
        path: "—",
        target: false,
        case: timed(binTrue),
      },
      {
        command: "empty script",
        path: "`deno run`",
        target: false,
        case: timed(() => emptyDeno()),
      },
      {
        command: "empty script",
        path: "`deno run --config=deno.json`",
        target: false,
        case: timed(() => emptyDeno(true)),
      },
    ];
    for (const c of commands) {
      for (const launcher of [true, false]) {
        rows.push({
          command: c.label,
          path: launcher ? "launcher (installed `c2c`)" : "`cli.ts` direct",
          original: ORIGINAL[c.name],
          target: true,
          case: {
            ...timed(
              (i) =>
                launcher
                  ? launcherCli(repo.path, c.args(i), as(c.session))
                  : directCli(repo.root, c.args(i), as(c.session)),
              c.check,
            ),
            before: c.before,
          },
        });
      }
    }
    const stats = (await measureInterleaved(rows.map((r) => r.case))).map(
      summarize,
    );
    const floor = stats[1].p50;
    const launcherRatios: number[] = [];
    const directRatios: number[] = [];
    const launcherP50s: number[] = [];
    const directP50s: number[] = [];
    const table: Table = {
      title: CLI_TABLE_TITLE,
      columns: [
        "command",
        "started as",
        "runs",
        "min",
        "p50",
        "p95",
        "p50 / empty deno run",
        "original (Python CLI)",
        "target",
        "met",
      ],
      rows: rows.map((r, i) => {
        const s = stats[i];
        const ratio = s.p50 / floor;
        if (r.target) {
          const launcher = r.path.startsWith("launcher");
          (launcher ? launcherRatios : directRatios).push(ratio);
          (launcher ? launcherP50s : directP50s).push(s.p50);
        }
        return [
          r.command,
          r.path,
          fmtInt(s.n),
          fmtMs(s.min),
          fmtMs(s.p50),
          fmtMs(s.p95),
          fmtRatio(ratio),
          r.original ?? "—",
          r.target ? `p50 ≤ ${CLI_RATIO_TARGET}× empty deno run` : "—",
          fmtMet(r.target ? ratio <= CLI_RATIO_TARGET : undefined),
        ];
      }),
      notes: [
        `**Empty \`deno run\`: ${
          fmtMs(floor)
        }; through the launcher, c2c commands take ${
          fmtRatio(Math.min(...launcherRatios))
        }–${
          fmtRatio(Math.max(...launcherRatios))
        } that; \`cli.ts\` run directly ${
          fmtRatio(Math.min(...directRatios))
        }–${
          fmtRatio(Math.max(...directRatios))
        }.** The original Python CLI measured on this machine kind: \`send\` 184 ms, \`poll-inbox\` 200 ms.`,
        `Each run is a fresh process, timed from spawn to exit with its output collected; ${samples} runs per row after ${warmup} untimed ones (warm Deno module and code caches), all rows interleaved, direction alternating. The launcher row runs what the shim \`c2c install\` puts on PATH runs (\`deno run --config=<repo>/deno.json --allow-env --allow-run=git,<deno> launcher.ts …\`, plus \`--quiet\` as the tests run it) in a temp git repository, which asks git for the broker root (\`.git/c2c/mcp\`) and then starts \`cli.ts\`; the direct row is that second process alone, \`deno run --quiet --config=<repo>/deno.json\` + \`permissionFlags("cli")\` (read/write scoped to the root) + \`cli.ts …\` with \`C2C_MCP_BROKER_ROOT\` set. Every child starts from a clean environment (PATH, HOME, a pinned DENO_DIR) and speaks for a registered session through \`C2C_SESSION_ID\`; the peers' leases are held by the bench process, as live MCP servers would hold them. For the 1-message row one message is queued with the library before each run (untimed).`,
        `The launcher adds ${
          fmtMs(median(launcherP50s.map((p, i) => p - directP50s[i])))
        } per command (median over the four commands of launcher p50 − direct p50): a second Deno start-up (${
          fmtMs(floor)
        } for an empty script), the launcher's own modules, a \`git rev-parse\` for the root and spawning \`cli.ts\`. The direct rows are the floor a launcher-free install (permission paths fixed at install time, or a compiled binary) could reach.`,
      ],
    };
    return [table];
  },
};
