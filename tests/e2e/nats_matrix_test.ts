// Across machines with the real clients (issue 13): Claude Code on machine A
// and Codex on machine B, two machines that share nothing but a NATS server
// (own clone of one repository each, own local broker directory, own
// homes), each client configured by `c2c setup <client> --broker-url URL`
// through the real CLI. The DM matrix's own scenarios run there unchanged
// (`dm_cell.ts`, `idle_wake.ts`, `rewake_wake.ts`):
//
// - DM both ways: Claude Code's model sends to Codex's alias and Codex's
//   model gets the envelope exactly once through its PostToolUse hook (the
//   hook's no-Deno fast path looks at the local signal file the Codex
//   session's own server keeps from NATS); then Codex → Claude Code.
// - Idle wake across machines: a session on the other machine sends to a
//   client idle at its prompt, which its native wake path starts: Claude
//   Code's messaging socket, written by its c2c server; Codex's app-server
//   daemon; Claude Code's asyncRewake waiter (`--rewake`); and OpenCode (on
//   machine B too) through c2c's plugin, which must watch the signal file
//   the NATS store keeps, not an inbox file (it did not: fixed with this
//   test). One message, then a burst of 10 in one wake.
//
// Each scenario clones its own repository, so it has its own namespace on
// the one NATS server. The run writes the "Across machines" section of
// docs/dm-matrix.md (the matrix test keeps it), then fails one step per
// failed scenario.

import {
  CLIENTS,
  ensureClient,
  ensureOpencodePluginDeps,
  REPO_DIR,
} from "./clients.ts";
import { type Outcome, runCell } from "./dm_cell.ts";
import {
  type AcrossMachinesReport,
  type CellResult,
  renderAcrossMachines,
  spliceAcrossMachines,
} from "./dm_matrix_doc.ts";
import { runTuiWake, type WakeResult } from "./idle_wake.ts";
import { swapSides, twoMachines } from "./machines.ts";
import { runRewakeWake } from "./rewake_wake.ts";
import { startNats } from "../_nats.ts";

/** The document whose "Across machines" section this run writes. */
const DOC_PATH = `${REPO_DIR}/docs/dm-matrix.md`;

/** Scenarios at once (`C2C_E2E_JOBS`, else 2: the machine's two cores). */
const JOBS = Number(Deno.env.get("C2C_E2E_JOBS")) || 2;

/** Runs `tasks` with at most `limit` at once; results in task order. */
async function pool<T>(
  tasks: (() => Promise<T>)[],
  limit: number,
): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(limit, tasks.length) }, worker),
  );
  return results;
}

async function natsServerVersion(): Promise<string> {
  try {
    const out = await new Deno.Command("nats-server", { args: ["--version"] })
      .output();
    return new TextDecoder().decode(out.stdout).trim() || "nats-server";
  } catch {
    return "nats-server";
  }
}

type Job =
  | { kind: "cell"; outcome: Outcome<CellResult> }
  | { kind: "wake"; outcome: Outcome<WakeResult> };

Deno.test("across machines over NATS: Claude Code on machine A and Codex on machine B, each set up with c2c setup --broker-url, DM each other exactly once through their hooks; they and OpenCode are woken when idle by a sender on the other machine; docs/dm-matrix.md records it", async (t) => {
  await ensureClient("claude");
  await ensureClient("codex");
  await ensureClient("opencode");
  await ensureOpencodePluginDeps();
  await using nats = await startNats();
  const date = new Date().toISOString();
  const started = performance.now();
  // Machine A runs Claude Code, machine B Codex; each scenario its own
  // repository (namespace). runCell and the wakes send from side A to side
  // B, so a scenario whose receiver is on A swaps the sides.
  const jobs: (() => Promise<Job>)[] = [
    // The OpenCode and Codex TUIs are the longest scenarios: first.
    async () => {
      await using place = await twoMachines(nats.url, "wake-opencode");
      return { kind: "wake", outcome: await runTuiWake("opencode", place) };
    },
    async () => {
      await using place = await twoMachines(nats.url, "wake-codex");
      return { kind: "wake", outcome: await runTuiWake("codex", place) };
    },
    async () => {
      await using place = await twoMachines(nats.url, "dm-claude-codex");
      return {
        kind: "cell",
        outcome: await runCell("claude", "codex", 1, place),
      };
    },
    async () => {
      await using place = await twoMachines(nats.url, "dm-codex-claude");
      return {
        kind: "cell",
        outcome: await runCell("codex", "claude", 2, swapSides(place)),
      };
    },
    async () => {
      await using place = await twoMachines(nats.url, "wake-claude");
      return {
        kind: "wake",
        outcome: await runTuiWake("claude", swapSides(place)),
      };
    },
    async () => {
      await using place = await twoMachines(nats.url, "rewake-claude");
      return {
        kind: "wake",
        outcome: await runRewakeWake({ where: swapSides(place) }),
      };
    },
  ];
  const done = await pool(jobs, JOBS);
  const cells = done.flatMap((j) => j.kind === "cell" ? [j.outcome] : []);
  const wakes = done.flatMap((j) => j.kind === "wake" ? [j.outcome] : []);
  const report: AcrossMachinesReport = {
    date,
    deno: Deno.version.deno,
    nats_server: await natsServerVersion(),
    machine: { claude: "A", codex: "B", opencode: "B" },
    cells: cells.map((c) => c.result),
    wake: wakes.map((w) => w.result),
    jobs: JOBS,
    total_ms: Math.round(performance.now() - started),
  };
  const previous = await Deno.readTextFile(DOC_PATH).catch(() => "");
  await Deno.writeTextFile(
    DOC_PATH,
    spliceAcrossMachines(previous, renderAcrossMachines(report)),
  );
  console.log(
    `across machines: ${
      [...report.cells, ...report.wake].map((r) =>
        "from" in r
          ? `${r.from} → ${r.to} ${r.ok ? `ok ${r.deliver_ms} ms` : "FAILED"}`
          : `wake ${r.client}${r.variant ? ` ${r.variant}` : ""} ${
            r.ok ? `ok ${r.single_ms} ms` : "FAILED"
          }`
      ).join(", ")
    }; ${
      (report.total_ms / 1000).toFixed(1)
    } s with ${JOBS} at once; wrote ${DOC_PATH}`,
  );

  for (const { result: cell, detail } of cells) {
    await t.step(
      `${CLIENTS[cell.from].title} on machine ${report.machine[cell.from]} → ${
        CLIENTS[cell.to].title
      } on machine ${
        report.machine[cell.to]
      }: the envelope reaches the receiver's model once through ${cell.path}`,
      () => {
        if (!cell.ok) throw new Error(`${cell.reason}\n${detail}`);
      },
    );
  }
  for (const { result: wake, detail } of wakes) {
    await t.step(
      `${CLIENTS[wake.client].title}${
        wake.variant ? ` (${wake.variant})` : ""
      } idle on machine ${
        report.machine[wake.client]
      }, sender on the other: woken through ${wake.mechanism}; one message once, a burst of 10 in one wake`,
      () => {
        if (!wake.ok) throw new Error(`${wake.reason}\n${detail}`);
      },
    );
  }
});
