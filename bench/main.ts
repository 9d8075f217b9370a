/**
 * `deno task bench`: runs the benchmark groups, prints one markdown table per
 * measurement to stdout (progress to stderr), and writes them all, with the
 * machine and the reference figures, to `docs/benchmarks.md`, ending with a
 * summary of every target of the issues against this run's figures.
 *
 * ```
 * deno task bench                      # full run (a few minutes)
 * deno task bench --quick              # under a minute
 * deno task bench --only send,poll     # some groups; does not write the report
 * deno task bench --list               # group names
 * deno task bench --out /tmp/b.md      # write elsewhere
 * deno task bench --no-write           # print only
 * ```
 *
 * To add a group: write `bench/<name>_bench.ts` exporting a
 * {@linkcode BenchGroup} and append it to {@linkcode GROUPS}.
 *
 * Requires `--allow-all` (temp brokers, child processes, `/proc`).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { dirname, resolve } from "node:path";
import type { BenchGroup } from "./group.ts";
import { machineInfo } from "./machine.ts";
import { fmtDuration, type GroupResult, renderReport } from "./report.ts";
import { renderTable } from "./table.ts";
import { renderSummary } from "./summary.ts";
import { sendGroup } from "./send_bench.ts";
import { pollGroup } from "./poll_bench.ts";
import { listGroup } from "./list_bench.ts";
import { sendRoomGroup } from "./send_room_bench.ts";
import { roomHistoryGroup } from "./room_history_bench.ts";
import { throughputGroup } from "./throughput_bench.ts";
import { wakeGroup } from "./wake_bench.ts";
import { mcpGroup } from "./mcp_bench.ts";
import { memoryGroup } from "./memory_bench.ts";
import { cliGroup } from "./cli_bench.ts";
import { hookGroup } from "./hook_bench.ts";
import { nativeWakeGroup } from "./native_wake_bench.ts";
import { claimsGroup } from "./claims_bench.ts";
import { uiGroup } from "./ui_bench.ts";
import { natsGroup } from "./nats_bench.ts";
import { waitingGroup } from "./waiting_bench.ts";
import { conversationsGroup } from "./conversations_bench.ts";

/** Every benchmark group, in the order a full run goes through them. */
export const GROUPS: readonly BenchGroup[] = [
  sendGroup,
  pollGroup,
  listGroup,
  sendRoomGroup,
  roomHistoryGroup,
  throughputGroup,
  wakeGroup,
  mcpGroup,
  memoryGroup,
  cliGroup,
  hookGroup,
  nativeWakeGroup,
  claimsGroup,
  uiGroup,
  natsGroup,
  waitingGroup,
  conversationsGroup,
];

/** Where the report goes unless `--out` says otherwise. */
export const DEFAULT_REPORT = fileURLToPath(
  new URL("../docs/benchmarks.md", import.meta.url),
);

const USAGE =
  `usage: deno task bench [--quick] [--only GROUP[,GROUP…]] [--out FILE] [--no-write] [--list]
groups: ${GROUPS.map((g) => g.name).join(", ")}`;

/**
 * Runs the benchmark command.
 *
 * @param args Command-line arguments.
 * @returns The exit code.
 */
export async function main(args: string[]): Promise<number> {
  let flags;
  try {
    flags = parseArgs({
      args,
      options: {
        quick: { type: "boolean", default: false },
        only: { type: "string", multiple: true },
        out: { type: "string" },
        "no-write": { type: "boolean", default: false },
        list: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    console.error(`bench: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  if (flags.list) {
    for (const g of GROUPS) console.log(`${g.name.padEnd(14)} ${g.title}`);
    return 0;
  }
  const wanted = (flags.only ?? []).flatMap((s) => s.split(",")).map((s) =>
    s.trim()
  ).filter(Boolean);
  const unknown = wanted.filter((name) => !GROUPS.some((g) => g.name === name));
  if (unknown.length > 0) {
    console.error(`bench: unknown group '${unknown[0]}'\n${USAGE}`);
    return 2;
  }
  const groups = wanted.length > 0
    ? GROUPS.filter((g) => wanted.includes(g.name))
    : GROUPS;
  // A partial run must not overwrite the full report unless asked to.
  const out = flags["no-write"]
    ? null
    : flags.out !== undefined
    ? resolve(flags.out)
    : (wanted.length > 0 ? null : DEFAULT_REPORT);

  const machine = machineInfo();
  const quick = flags.quick;
  const started = performance.now();
  const results: GroupResult[] = [];
  console.error(
    `bench: ${
      quick ? "quick" : "full"
    } run of ${groups.length} group(s) on ${machine.cores} cores (${machine.cpu})`,
  );
  for (const group of groups) {
    console.error(`bench: ${group.name} …`);
    const t0 = performance.now();
    const tables = await group.run({ quick });
    const ms = performance.now() - t0;
    results.push({ name: group.name, title: group.title, tables, ms });
    console.log(`## ${group.title}\n`);
    for (const table of tables) console.log(renderTable(table));
    console.error(`bench: ${group.name} done in ${fmtDuration(ms)}`);
  }
  const totalMs = performance.now() - started;
  const summary = renderSummary(results);
  console.log(summary);
  console.error(`bench: finished in ${fmtDuration(totalMs)}`);
  if (out !== null) {
    const report = renderReport({ machine, quick, groups: results, totalMs }) +
      "\n" + summary;
    await Deno.mkdir(dirname(out), { recursive: true });
    await Deno.writeTextFile(out, report);
    console.error(`bench: wrote ${out}`);
  } else {
    console.error("bench: report not written (--only or --no-write)");
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
