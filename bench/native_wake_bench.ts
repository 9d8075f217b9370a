/**
 * Native idle wake (issue 9) with the real clients: send → model request
 * latency, per client, over 20 wakes. Each client is configured by `c2c
 * setup` and pointed at the scripted fake model of the e2e tests; a peer in
 * this process sends one message, and the sample is the time from the send
 * to the fake receiving the client's next model request.
 *
 * - Claude Code, Codex, OpenCode: the interactive TUI in tmux, idle at its
 *   prompt between samples (tests/e2e/idle_wake.ts `IdleAgent`). OpenCode's
 *   sample ends at the plugin's pointer turn (the `poll_inbox` follows).
 * - Gemini CLI: one `gemini -p` run per sample, its turn held while the
 *   message arrives; the sample is the end of the turn → the request the
 *   AfterAgent hook continues the run with.
 *
 * Needs the installed clients (`.cache/e2e-clients`, installed on first
 * use), tmux, and a few minutes: left out of `--quick`.
 *
 * Requires `--allow-all`.
 *
 * @module
 */

import type { BenchGroup } from "./group.ts";
import { summarize } from "./stats.ts";
import { fmtInt, fmtMet, fmtMs, type Table } from "./table.ts";
import {
  geminiRun,
  IdleAgent,
  Sender,
  type TuiClient,
  WAKE_MECHANISM,
} from "../tests/e2e/idle_wake.ts";
import { initRepo } from "../tests/e2e/run_client.ts";
import { type ClientName, CLIENTS } from "../tests/e2e/clients.ts";

/** Issue 9: p50 target per client (ms). */
export const NATIVE_WAKE_TARGET_MS: Readonly<Record<ClientName, number>> = {
  claude: 200,
  codex: 200,
  opencode: 500,
  gemini: 200,
};

/** Wakes measured per client. */
export const NATIVE_WAKES = 20;

/** Samples of one client, or why there are none. */
interface ClientSamples {
  client: ClientName;
  latencies: number[];
  error?: string;
}

async function tuiSamples(
  client: TuiClient,
  wakes: number,
): Promise<ClientSamples> {
  const project = await Deno.makeTempDir({ prefix: `c2c-bench-wake-` });
  const latencies: number[] = [];
  try {
    await initRepo(project);
    await using agent = await IdleAgent.start({
      client,
      project,
      alias: `${client}-bench`,
    });
    const sender = await Sender.create(project);
    for (let i = 0; i < wakes; i++) {
      await agent.waitIdle();
      const turn = agent.fake.turns.length;
      if (client === "opencode") {
        agent.fake.script.push({ call: "poll_inbox" }, { text: "read it" });
      }
      const { t0 } = await sender.send(agent.alias, 1, `bench ${i}`);
      const wake = await agent.turn(turn);
      latencies.push(wake.wall_ms - t0);
      if (client === "opencode") await agent.turn(turn + 1);
    }
    return { client, latencies };
  } catch (e) {
    return {
      client,
      latencies,
      error: (e as Error).message.split("\n")[0],
    };
  } finally {
    await Deno.remove(project, { recursive: true }).catch(() => {});
  }
}

async function geminiSamples(wakes: number): Promise<ClientSamples> {
  const project = await Deno.makeTempDir({ prefix: "c2c-bench-wake-" });
  const latencies: number[] = [];
  try {
    await initRepo(project);
    const sender = await Sender.create(project);
    for (let i = 0; i < wakes; i++) {
      const run = await geminiRun(project, sender, 1);
      if (run.ms === null || run.problem) {
        throw new Error(run.problem ?? "no continued request");
      }
      latencies.push(run.ms);
    }
    return { client: "gemini", latencies };
  } catch (e) {
    return {
      client: "gemini",
      latencies,
      error: (e as Error).message.split("\n")[0],
    };
  } finally {
    await Deno.remove(project, { recursive: true }).catch(() => {});
  }
}

/** The `native-wake` group. */
export const nativeWakeGroup: BenchGroup = {
  name: "native-wake",
  title: "Native idle wake with the real clients (issue 9)",
  async run(options) {
    const title =
      `send → the idle client's next model request, ${NATIVE_WAKES} wakes per client`;
    if (options.quick) {
      return [{
        title,
        columns: ["skipped"],
        rows: [["needs the real clients and tmux: run without --quick"]],
      }];
    }
    const results: ClientSamples[] = [];
    for (const client of ["claude", "codex", "opencode"] as const) {
      console.error(`bench: native-wake ${client} …`);
      results.push(await tuiSamples(client, NATIVE_WAKES));
    }
    console.error("bench: native-wake gemini …");
    results.push(await geminiSamples(NATIVE_WAKES));
    const table: Table = {
      title,
      columns: [
        "client",
        "woken through",
        "wakes",
        "p50",
        "p99",
        "max",
        "target (p50)",
        "met",
      ],
      rows: results.map((r) => {
        const target = NATIVE_WAKE_TARGET_MS[r.client];
        if (r.latencies.length === 0) {
          return [
            CLIENTS[r.client].title,
            WAKE_MECHANISM[r.client],
            "0",
            "—",
            "—",
            "—",
            `≤ ${target} ms`,
            `✗ ${r.error ?? "no samples"}`,
          ];
        }
        const s = summarize(r.latencies);
        return [
          CLIENTS[r.client].title,
          WAKE_MECHANISM[r.client],
          fmtInt(s.n),
          fmtMs(s.p50),
          fmtMs(s.p99),
          fmtMs(s.max),
          `≤ ${target} ms`,
          r.error ? `✗ ${r.error}` : fmtMet(s.p50 <= target),
        ];
      }),
      notes: [
        "Claude Code 2.1.330, Codex 0.169.0, OpenCode 1.18.33 (interactive TUIs in tmux, idle between samples), Gemini CLI 0.61.0 (`-p`), each against the scripted fake model of tests/e2e.",
        "OpenCode: until the plugin's pointer turn; the model then calls poll_inbox. Gemini: from the end of the held turn to the request the AfterAgent hook continues the run with (messages sent during the turn).",
      ],
    };
    return [table];
  },
};
