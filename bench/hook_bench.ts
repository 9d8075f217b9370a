/**
 * The Claude Code hook as the client runs it after every tool call (issue 5):
 * `bin/c2c-hook claude-code --deno <deno>` in the project (a temp git
 * repository whose broker is `.git/c2c/mcp`), the hook's JSON on stdin. The
 * empty-inbox path is a shell check of the inbox file's size and must not
 * start Deno; with a message waiting it starts `cli.ts hook`, which drains
 * the inbox and prints the hook JSON. Both next to `/bin/true`, an empty
 * shell and an empty `deno run`, interleaved in one run.
 *
 * Requires `--allow-all` (temp repository, child processes).
 *
 * @module
 */

import { fileURLToPath } from "node:url";
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
  childEnv,
  DENO,
  emptyDeno,
  type Invocation,
  runChecked,
  tempRepo,
} from "./_cli_harness.ts";
import { summarize } from "./stats.ts";
import { fmtInt, fmtMet, fmtMs, fmtRatio, type Table } from "./table.ts";
import { Broker } from "../mod.ts";

/** Issue 5: empty-inbox hook p50 ≤ 0.5× an empty `deno run` (no Deno start). */
export const HOOK_EMPTY_RATIO_TARGET = 0.5;
/** Issue 5: hook p50 with one message waiting ≤ 60 ms. */
export const HOOK_MESSAGE_TARGET_MS = 60;

/** Title of the group's table (the summary finds it by this). */
export const HOOK_TABLE_TITLE =
  "`c2c-hook claude-code` after a tool call (PostToolUse)";

/** The hook script clients' configs run. */
const HOOK_SCRIPT = fileURLToPath(new URL("../bin/c2c-hook", import.meta.url));

/** One timed row. */
interface Row {
  /** Row label. */
  name: string;
  /** Target text, or `undefined` when none. */
  target?: string;
  /** Whether the p50 meets the target, given the empty `deno run` p50. */
  met?: (p50: number, denoP50: number) => boolean;
  /** The original product's figure. */
  original?: string;
  /** The timed case. */
  case: Case;
}

/** The `hook` group. */
export const hookGroup: BenchGroup = {
  name: "hook",
  title: "Claude Code hook (bin/c2c-hook)",
  run: async ({ quick }) => {
    await using repo = await tempRepo();
    writeBenchConfig(repo.root);
    const broker = new Broker({ root: repo.root });
    // A live peer that sends, and the hook's own session (Claude Code's
    // session id is the server's, which holds its lease).
    using peers = await registerPeers(broker, "hook", 2);
    const [sender, session] = peers.sessions;
    // The inbox file exists and is empty, as after any earlier delivery.
    await broker.send(sender, { to_alias: peers.aliases[1], content: BODY });
    await broker.pollInbox(session);
    const hook: Invocation = {
      command: HOOK_SCRIPT,
      args: ["claude-code", "--deno", DENO],
      cwd: repo.path,
      env: childEnv(),
      stdin: JSON.stringify({
        session_id: session,
        hook_event_name: "PostToolUse",
      }),
    };
    // A whole tool output as clients send it: pretty-printed, ~1.35 MB over
    // 50k lines (issue 12: the shell used to read it for 107 s).
    const bigHook: Invocation = {
      ...hook,
      stdin: JSON.stringify(
        {
          session_id: session,
          hook_event_name: "PostToolUse",
          tool_name: "Bash",
          tool_response: {
            stdout: Array.from(
              { length: 50_000 },
              (_, i) => `output line ${i}`,
            ),
          },
        },
        null,
        2,
      ),
    };
    const fast = quick ? 100 : 300;
    const slow = quick ? 15 : 60;
    const run = (inv: Invocation, samples: number, check?: RegExp): Case => ({
      samples,
      warmup: Math.max(3, Math.round(samples / 10)),
      op: async () => {
        const out = await runChecked(inv);
        if (check ? !check.test(out) : out !== "") {
          throw new Error(`hook bench: unexpected output: ${out}`);
        }
      },
    });
    const rows: Row[] = [
      { name: "`/bin/true`", case: run(binTrue(), fast) },
      {
        name: "`/bin/sh -c :` (empty shell)",
        case: run(
          { command: "/bin/sh", args: ["-c", ":"], env: childEnv() },
          fast,
        ),
      },
      { name: "empty `deno run`", case: run(emptyDeno(), slow) },
      {
        name: "hook, empty inbox",
        target: `p50 ≤ ${HOOK_EMPTY_RATIO_TARGET}× empty deno run`,
        met: (p50, deno) => p50 <= HOOK_EMPTY_RATIO_TARGET * deno,
        original: "1.4 ms (bash fast path)",
        case: run(hook, fast),
      },
      {
        name: "hook, 1 message waiting",
        target: `p50 ≤ ${HOOK_MESSAGE_TARGET_MS} ms`,
        met: (p50) => p50 <= HOOK_MESSAGE_TARGET_MS,
        original: "103 ms (Python path)",
        case: {
          ...run(hook, slow, /"additionalContext":"c2c: 1 new message/),
          // Re-queue one message before each run (untimed).
          before: async (i) => {
            await broker.send(sender, {
              to_alias: peers.aliases[1],
              content: `${i}: ${BODY}`,
            });
          },
        },
      },
      {
        name: `hook, empty inbox, ${
          (bigHook.stdin!.length / 1e6).toFixed(2)
        } MB input (50k lines)`,
        target: `p50 ≤ ${HOOK_EMPTY_RATIO_TARGET}× empty deno run`,
        met: (p50, deno) => p50 <= HOOK_EMPTY_RATIO_TARGET * deno,
        original: "107 s (shell read loop)",
        case: run(bigHook, slow),
      },
    ];
    const stats = (await measureInterleaved(rows.map((r) => r.case))).map(
      summarize,
    );
    const deno = stats[2].p50;
    const [empty, message, big] = [stats[3], stats[4], stats[5]];
    const table: Table = {
      title: HOOK_TABLE_TITLE,
      columns: [
        "run",
        "runs",
        "min",
        "p50",
        "p95",
        "p50 / empty deno run",
        "original",
        "target",
        "met",
      ],
      rows: rows.map((r, i) => {
        const s = stats[i];
        return [
          r.name,
          fmtInt(s.n),
          fmtMs(s.min),
          fmtMs(s.p50),
          fmtMs(s.p95),
          fmtRatio(s.p50 / deno),
          r.original ?? "—",
          r.target ?? "—",
          fmtMet(r.met?.(s.p50, deno)),
        ];
      }),
      notes: [
        `**Empty inbox: p50 ${fmtMs(empty.p50)} (${
          fmtRatio(empty.p50 / deno)
        } an empty \`deno run\`, ${fmtMs(deno)}); one message: p50 ${
          fmtMs(message.p50)
        }; empty inbox with a ${
          (bigHook.stdin!.length / 1e6).toFixed(2)
        } MB input: p50 ${
          fmtMs(big.p50)
        }.** The original measured on this machine kind: 1.4 ms (bash fast path), 103 ms (Python path).`,
        "The big-input row writes a pretty-printed PostToolUse input of 50k lines; the script reads a 4 KiB head with `head -c` and drains the rest with `cat` (the time includes the bench writing 1.35 MB into the pipe).",
        `Each run spawns the hook script as a client does: \`bin/c2c-hook claude-code --deno <deno>\`, working directory a temp git repository (the broker at \`.git/c2c/mcp\`), a clean environment (PATH, HOME, a pinned DENO_DIR), and \`{"session_id":…,"hook_event_name":"PostToolUse"}\` written to its stdin; timed from spawn to exit with its output collected. The session is registered and its lease held (by the bench process, as its MCP server would). Empty inbox: the script reads a bounded head of stdin, finds the inbox file empty and exits without starting Deno (its output must be empty). One message: one message is queued with the library before each run (untimed); the script then starts \`deno run --config=<repo>/deno.json\` with read/write scoped to the root and \`cli.ts hook claude-code\`, which drains the inbox and prints \`{"hookSpecificOutput":{…,"additionalContext":…}}\` (checked). Rows interleaved; ${fast} runs of the fast rows, ${slow} of the Deno ones.`,
        message.p50 > HOOK_MESSAGE_TARGET_MS
          ? `**Why the one-message row misses:** it is one Deno start-up (${
            fmtMs(deno)
          } for an empty script) plus loading the CLI's module graph and draining one message; the shell part costs about what the empty-inbox row does. Loading one bundled file instead of the module graph is the way under the target.`
          : "The one-message path is one Deno start-up plus the CLI's module graph and one drain; the shell part costs about what the empty-inbox row does.",
      ],
    };
    return [table];
  },
};
