/**
 * Throughput of 1, 4 and 16 concurrent writer processes sending into one
 * inbox, and a check that nothing was lost, duplicated or reordered.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import type { BenchGroup } from "./group.ts";
import { registerPeers, withTempBroker } from "./_harness.ts";
import { median } from "./stats.ts";
import { fmtInt, fmtMet, fmtMs, type Table } from "./table.ts";

const WRITER = fileURLToPath(new URL("./_writer.ts", import.meta.url));
const WARM_SENDS = 20;

/** What one run with `writers` processes measured. */
interface Run {
  /** Wall time from "go" to the last writer's report, ms. */
  wallMs: number;
  /** Messages per second, all writers together. */
  rate: number;
  /** Messages expected but not in the inbox. */
  lost: number;
  /** Ids in the inbox more than once, or not reported by any writer. */
  extra: number;
  /** Whether every writer's messages are in the order it sent them. */
  ordered: boolean;
}

/** Reads a child's stdout line by line. */
async function* readLines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let at;
    while ((at = buffer.indexOf("\n")) !== -1) {
      yield buffer.slice(0, at);
      buffer = buffer.slice(at + 1);
    }
  }
  if (buffer) yield buffer;
}

async function nextLine(
  lines: AsyncGenerator<string>,
  what: string,
): Promise<string> {
  const { value, done } = await lines.next();
  if (done) throw new Error(`writer exited before printing ${what}`);
  return value;
}

/**
 * One run: `writers` processes, `perWriter` sends each, into one inbox. With
 * `scoped`, the writers get read/write on the broker root only (as the MCP
 * server does, docs/design.md#permissions); otherwise `--allow-all`.
 */
function runOnce(
  writers: number,
  perWriter: number,
  scoped: boolean,
): Promise<Run> {
  return withTempBroker(async (broker) => {
    using sink = await registerPeers(broker, "sink", 2); // [target, warm-up]
    using senders = await registerPeers(broker, "writer", writers);
    const children = senders.sessions.map((session) => {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--no-prompt",
          ...(scoped
            ? [`--allow-read=${broker.root}`, `--allow-write=${broker.root}`]
            : ["--allow-all"]),
          WRITER,
          broker.root,
          session,
          sink.aliases[0],
          String(perWriter),
          sink.aliases[1],
          String(WARM_SENDS),
        ],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stderr = new Response(child.stderr).text();
      return { child, lines: readLines(child.stdout), stderr };
    });
    try {
      for (const c of children) {
        const line = await nextLine(c.lines, "ready");
        if (line !== "ready") throw new Error(`writer said: ${line}`);
      }
      const go = new TextEncoder().encode("go\n");
      const start = performance.now();
      const writes = children.map(async (c) => {
        const writer = c.child.stdin.getWriter();
        await writer.write(go);
        await writer.close();
      });
      const reports = await Promise.all(children.map(async (c) => {
        const line = await nextLine(c.lines, "its report");
        const end = performance.now();
        return { ...(JSON.parse(line) as { ids: string[] }), end };
      }));
      await Promise.all(writes);
      const wallMs = Math.max(...reports.map((r) => r.end)) - start;
      for (const c of children) {
        const status = await c.child.status;
        if (!status.success) {
          throw new Error(`writer failed: ${(await c.stderr).trim()}`);
        }
      }
      const expected = new Set(reports.flatMap((r) => r.ids));
      const inbox = await broker.pendingMessages(sink.sessions[0]);
      const seen = new Set<string>();
      let extra = 0;
      const lastIndex = new Map<string, number>();
      let ordered = true;
      for (const m of inbox) {
        if (seen.has(m.id) || !expected.has(m.id)) extra++;
        seen.add(m.id);
        const i = Number(m.content.split(" ", 2)[1].slice(0, -1));
        if (i <= (lastIndex.get(m.from_alias) ?? -1)) ordered = false;
        lastIndex.set(m.from_alias, i);
      }
      const total = writers * perWriter;
      // A writer reporting fewer ids than it was asked for counts as loss too.
      const lost = [...expected].filter((id) => !seen.has(id)).length +
        Math.max(0, total - expected.size);
      return { wallMs, rate: (total * 1000) / wallMs, lost, extra, ordered };
    } finally {
      for (const c of children) {
        try {
          c.child.kill();
        } catch { /* already exited */ }
        await c.child.status;
        await c.stderr;
      }
    }
  });
}

/** The concurrent-writers throughput group. */
export const throughputGroup: BenchGroup = {
  name: "throughput",
  title: "throughput: concurrent writer processes into one inbox (library)",
  async run({ quick }) {
    const total = quick ? 960 : 9600;
    const reps = quick ? 1 : 5;
    const configs = [
      { writers: 1, scoped: true },
      { writers: 4, scoped: true },
      { writers: 16, scoped: true },
      { writers: 1, scoped: false },
    ];
    const rows: string[][] = [];
    let single = 0;
    let singleAll = 0;
    for (const { writers, scoped } of configs) {
      const perWriter = total / writers;
      const runs: Run[] = [];
      for (let rep = 0; rep < reps; rep++) {
        runs.push(await runOnce(writers, perWriter, scoped));
      }
      const rates = runs.map((r) => r.rate);
      const rate = median(rates);
      if (writers === 1 && scoped) single = rate;
      if (writers === 1 && !scoped) singleAll = rate;
      const lost = runs.reduce((sum, r) => sum + r.lost, 0);
      const extra = runs.reduce((sum, r) => sum + r.extra, 0);
      const ordered = runs.every((r) => r.ordered);
      rows.push([
        fmtInt(writers),
        scoped ? "root only" : "`--allow-all`",
        fmtInt(perWriter),
        fmtInt(runs.length),
        fmtMs(median(runs.map((r) => r.wallMs))),
        fmtInt(rate),
        `${fmtInt(Math.min(...rates))}–${fmtInt(Math.max(...rates))}`,
        fmtInt(lost),
        fmtInt(extra),
        ordered ? "yes" : "**NO**",
        "none lost or duplicated",
        fmtMet(lost === 0 && extra === 0),
      ]);
    }
    const table: Table = {
      title: `${fmtInt(total)} sends into one inbox by N writer processes`,
      columns: [
        "writers",
        "permissions",
        "sends each",
        "runs",
        "wall (median)",
        "msgs/s (median)",
        "msgs/s range",
        "lost",
        "duplicated",
        "per-writer order kept",
        "target",
        "met",
      ],
      rows,
      notes: [
        `**Single writer: ${
          fmtInt(single)
        } msgs/s** (one process calling \`Broker.send\` back to back, with read/write permission on the broker root only, as the MCP server runs; ${
          fmtInt(singleAll)
        } msgs/s with \`--allow-all\`: Deno's scoped permission check costs time on every file operation).`,
        `Each writer is its own \`deno run\` process with its own registered session and ${WARM_SENDS} untimed warm-up sends; all start on one "go" line, and the clock runs from "go" to the last writer's report. Afterwards the inbox must hold exactly the ids the writers reported, once each, in each writer's order. Fresh broker per run; the target comes from issue 8 ("and that nothing was lost").`,
      ],
    };
    return [table];
  },
};
