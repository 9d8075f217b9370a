/**
 * Resident memory (`VmRSS` from `/proc/<pid>/status`) of an idle MCP server
 * after `initialize` and a few tool calls, next to the idle echo server (the
 * same SDK doing nothing) and an idle `deno run` of an empty script, and of
 * the idle PTY harness (`c2c run`) around a client waiting at its prompt
 * (issue 8). Linux only.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import type { BenchGroup } from "./group.ts";
import { BODY, fillInbox, registerPeers, withTempBroker } from "./_harness.ts";
import {
  connectMcp,
  DENO,
  echoCommand,
  IDLE_SCRIPT,
  LAUNCHER,
  launcherCommand,
  type Memory,
  readMemory,
  serverCommand,
  sessionEnv,
} from "./_mcp_harness.ts";
import { median } from "./stats.ts";
import { fmtInt, fmtRatio, type Table } from "./table.ts";
import type { Broker, Message } from "../mod.ts";
import { Pty } from "../wake/pty.ts";
import { wakePermissionFlags } from "../wake/flags.ts";

/** How long a process is left alone after its calls before it is measured. */
const SETTLE_MS = 500;

/** One kind of process to measure. */
interface Subject {
  /** Row label. */
  name: string;
  /** What it did before going idle. */
  did: string;
  /**
   * Starts it, does its calls, lets it settle and measures it; returns one
   * memory reading per process it consists of, and stops it.
   */
  measure(run: number): Promise<Memory[]>;
}

const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));

/** `wake/main.ts`, the harness's own entry point. */
const WAKE_MAIN = fileURLToPath(new URL("../wake/main.ts", import.meta.url));
/** The scripted TUI stand-in the harness runs as its client. */
const FAKE_TUI = fileURLToPath(
  new URL("../tests/fixtures/fake_tui.ts", import.meta.url),
);

/**
 * Starts a harness command line in a pseudo-terminal owned by this process
 * (the harness wants a terminal, as under a user's shell), with the fake TUI
 * as its client; waits until the client has drawn its prompt and the alias is
 * registered, lets it settle, and returns the memory of the processes
 * `pick` names (never the client's: that is the agent's, not c2c's).
 */
async function idleHarness(
  broker: Broker,
  alias: string,
  start: { command: string; args: string[] },
  pick: (pid: number) => number[],
): Promise<Memory[]> {
  const { command, args } = start;
  const pty = Pty.spawn({
    command,
    args: [
      ...args,
      "generic",
      "--alias",
      alias,
      "--",
      DENO,
      "run",
      "--no-prompt",
      "--allow-env",
      FAKE_TUI,
    ],
    env: { C2C_MCP_BROKER_ROOT: broker.root, NO_COLOR: "1" },
    cols: 120,
    rows: 40,
  });
  let output = "";
  const reader = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of pty.readable) {
      output += decoder.decode(chunk, { stream: true });
    }
  })();
  try {
    const deadline = performance.now() + 15_000;
    while (
      !/ready \d+x\d+/.test(output) ||
      !(await broker.registrationByAlias(alias))
    ) {
      if (performance.now() > deadline) {
        throw new Error(`memory: the harness did not start:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await settle();
    return pick(pty.pid).map(readMemory);
  } finally {
    pty.kill("SIGTERM", false);
    await pty.exited;
    await pty.close();
    await reader;
  }
}

/** The calls a freshly started c2c server gets before it is measured. */
async function someCalls(
  call: (name: string, args?: Record<string, unknown>) => Promise<unknown>,
  peer: string,
): Promise<void> {
  await call("whoami");
  await call("list");
  for (let i = 0; i < 5; i++) {
    await call("send", { to_alias: peer, content: `${i}: ${BODY}` });
  }
  await call("peek_inbox");
  await call("poll_inbox");
}

function subjects(broker: Broker, peer: string): Subject[] {
  const root = broker.root;
  return [
    {
      name: "empty `deno run` (waits on stdin)",
      did: "nothing",
      measure: async () => {
        const child = new Deno.Command(DENO, {
          args: ["run", "--no-prompt", IDLE_SCRIPT],
          stdin: "piped",
          stdout: "null",
          stderr: "null",
        }).spawn();
        try {
          await settle();
          return [readMemory(child.pid)];
        } finally {
          await child.stdin.close();
          await child.status;
        }
      },
    },
    {
      name: "echo server",
      did: "initialize, 5 × `echo`",
      measure: async () => {
        await using p = await connectMcp(echoCommand());
        for (let i = 0; i < 5; i++) await p.call("echo", { text: BODY });
        await settle();
        return [readMemory(p.pid)];
      },
    },
    {
      name: "c2c server, documented flags",
      did: "initialize, whoami, list, 5 × send, peek, poll",
      measure: async (run) => {
        const session = `mem-server-${run}`;
        await using p = await connectMcp(serverCommand(root), {
          env: sessionEnv(root, session),
        });
        await someCalls(p.call, peer);
        await settle();
        return [readMemory(p.pid)];
      },
    },
    {
      name: "c2c server, after a large poll",
      did: "as above, then `poll_inbox` until 10,000 are drained",
      measure: async (run) => {
        const session = `mem-large-${run}`;
        await using p = await connectMcp(serverCommand(root), {
          env: sessionEnv(root, session),
          maxBufferSize: 256 * 1024 * 1024,
        });
        await someCalls(p.call, peer);
        fillInbox(broker, session, session, 10_000);
        // A reply is bounded (500 messages): call again while some remain.
        for (;;) {
          const r = await p.call("poll_inbox");
          const reply = r.structuredContent as {
            messages: Message[];
            remaining: number;
          };
          if (reply.remaining === 0 || reply.messages.length === 0) break;
        }
        await settle();
        return [readMemory(p.pid)];
      },
    },
    {
      name: "`c2c mcp` via bin/c2c (execs the server)",
      did: "initialize, whoami, list, 5 × send, peek, poll",
      measure: async (run) => {
        const session = `mem-launcher-${run}`;
        await using p = await connectMcp(launcherCommand(), {
          env: sessionEnv(root, session),
        });
        await someCalls(p.call, peer);
        await settle();
        return [readMemory(p.pid)];
      },
    },
    {
      name: "PTY harness, `wake/main.ts run` (documented flags)",
      did: "started the fake TUI, registered, client idle at its prompt",
      measure: (run) =>
        idleHarness(
          broker,
          `mem-harness-${run}`,
          {
            command: DENO,
            args: [
              "run",
              ...wakePermissionFlags("run", root),
              WAKE_MAIN,
              "run",
            ],
          },
          (pid) => [pid],
        ),
    },
    {
      name: "`c2c run` via bin/c2c (execs the harness)",
      did: "started the fake TUI, registered, client idle at its prompt",
      measure: (run) =>
        idleHarness(
          broker,
          `mem-run-${run}`,
          { command: LAUNCHER, args: ["run"] },
          (pid) => [pid],
        ),
    },
  ];
}

const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;

/** The memory group. */
export const memoryGroup: BenchGroup = {
  name: "memory",
  title: "memory of idle processes",
  run: ({ quick }) =>
    withTempBroker(async (broker) => {
      using peers = await registerPeers(broker, "mem-peer", 1);
      const list = subjects(broker, peers.aliases[0]);
      const runs = quick ? 1 : 3;
      const readings: Memory[][][] = list.map(() => []);
      // Round-robin, so each kind sees the same machine state.
      for (let run = 0; run < runs; run++) {
        for (let k = 0; k < list.length; k++) {
          readings[k].push(await list[k].measure(run));
        }
      }
      // Sum over a subject's processes, then the median over runs.
      const rss = readings.map((rs) =>
        median(rs.map((r) => r.reduce((n, m) => n + m.rssKiB, 0)))
      );
      const peak = readings.map((rs) =>
        median(rs.map((r) => r.reduce((n, m) => n + m.peakKiB, 0)))
      );
      const floor = rss[0];
      const echo = rss[1];
      const harness = rss[5];
      const rows = list.map((s, i) => [
        s.name,
        s.did,
        fmtInt(runs),
        mib(rss[i]),
        mib(peak[i]),
        i === 0 ? "—" : `+${mib(rss[i] - floor)}`,
        fmtRatio(rss[i] / echo),
      ]);
      const table: Table = {
        title: "Resident memory (RSS) of idle processes",
        columns: [
          "process",
          "before going idle",
          "runs",
          "RSS idle",
          "peak RSS",
          "above empty deno",
          "RSS / echo",
        ],
        rows,
        notes: [
          `\`VmRSS\` (RSS idle) and \`VmHWM\` (peak RSS) from \`/proc/<pid>/status\`, read ${SETTLE_MS} ms after the last call; the median of ${runs} fresh process(es) each, started round-robin. Servers are spawned and driven by the SDK \`StdioClientTransport\` and \`Client\`, with the same command lines as the \`mcp\` group; sends go to a live peer. \`bin/c2c\` execs Deno, so \`c2c mcp\` and \`c2c run\` through it are one process each, like the server and harness rows. The empty \`deno run\` is Deno itself with no imports; the echo server is the same MCP SDK and zod with one trivial tool, so \`RSS / echo\` is what c2c adds on top of the SDK. The harness rows run the harness in a pseudo-terminal this process owns, with the scripted TUI stand-in (\`tests/fixtures/fake_tui.ts\`, itself a Deno process) as the client, read once the client has drawn its prompt and the harness has registered its alias; the client's own memory is not counted (it is the agent's). **Idle harness: ${
            mib(harness)
          }** (${
            fmtRatio(harness / floor)
          } an empty \`deno run\`). No target in the issues.`,
        ],
      };
      return [table];
    }),
};
