/**
 * The MCP server as clients use it: real `server.ts` processes started with
 * the documented command line and driven by the official SDK `Client` over
 * stdio. `send` next to a trivial `echo` tool on the same SDK transport (the
 * floor), `send` into a full inbox, `poll_inbox` of 1 to 10,000 messages, a
 * send + poll round trip between two servers, and cold start to the first
 * tool response, directly, through the launcher and for the echo server
 * (issues 3 and 8).
 *
 * @module
 */

import type { BenchGroup } from "./group.ts";
import {
  BODY,
  type Case,
  fillInbox,
  measureInterleaved,
  withTempBroker,
} from "./_harness.ts";
import {
  connectMcp,
  connectRaw,
  DENO,
  echoCommand,
  IDLE_SCRIPT,
  launcherCommand,
  type McpProcess,
  type RawMcpClient,
  SERVER,
  serverCommand,
  sessionEnv,
} from "./_mcp_harness.ts";
import { permissionFlags } from "../lib/permissions.ts";
import { FLAT_RATIO_TARGET, SEND_P50_TARGET_MS } from "./send_bench.ts";
import { summarize } from "./stats.ts";
import { fmtInt, fmtMet, fmtMs, fmtRatio, fmtUs, type Table } from "./table.ts";
import type { Broker, Message } from "../mod.ts";
import type { CallToolResult } from "../mcp/sdk_client.ts";

/** Issue 3: `send` through the server within 3× of an `echo` tool. */
export const ECHO_RATIO_TARGET = 3;
/** Issue 3: cold start to first response ≤ 150 ms with a warm cache. */
export const COLD_START_TARGET_MS = 150;

/** Messages already queued in the "full" recipient's inbox. */
const FULL_INBOX = 10_000;
/** Client read limit: a 10,000-message poll reply is larger than the SDK's 10 MiB default. */
const MAX_REPLY_BYTES = 256 * 1024 * 1024;
/** The SDK client's default read limit (`STDIO_DEFAULT_MAX_BUFFER_SIZE`). */
const SDK_DEFAULT_MAX_BYTES = 10 * 1024 * 1024;

const text = (n: number) => `${n}: ${BODY}`;

/** The servers one run of the warm measurements talks to. */
interface Servers {
  /** Sender (session and alias `bench-a`). */
  a: McpProcess;
  /** Live peer, kept nearly empty; also the poller (`bench-b`). */
  b: McpProcess;
  /** Live peer whose inbox holds {@linkcode FULL_INBOX} (`bench-full`). */
  full: McpProcess;
  /** The echo server. */
  echo: McpProcess;
  /** A poller driven by the linear-time raw client (`bench-raw`). */
  raw: RawMcpClient;
}

/** `send` vs `echo`, and `send` into a full inbox, interleaved. */
async function sendTable(
  broker: Broker,
  s: Servers,
  quick: boolean,
): Promise<Table> {
  const samples = quick ? 300 : 2000;
  fillInbox(broker, "bench-full", "bench-full", FULL_INBOX);
  const [echo, empty, full] = (await measureInterleaved([
    { samples, warmup: 100, op: (n) => s.echo.call("echo", { text: text(n) }) },
    {
      samples,
      warmup: 100,
      // Keep the "empty" inbox near empty: drained (untimed) every 100 sends.
      before: async (n) => {
        if (n % 100 === 0) await broker.pollInbox("bench-b");
      },
      op: (n) => s.a.call("send", { to_alias: "bench-b", content: text(n) }),
    },
    {
      samples,
      warmup: 100,
      op: (n) => s.a.call("send", { to_alias: "bench-full", content: text(n) }),
    },
  ])).map(summarize);
  const row = (
    call: string,
    inbox: string,
    st: typeof echo,
    target: string,
    met: boolean | undefined,
    vsEmpty: string,
  ) => [
    call,
    inbox,
    fmtInt(st.n),
    fmtMs(st.p50),
    fmtMs(st.p95),
    fmtMs(st.p99),
    fmtMs(st.mean),
    fmtInt(st.opsPerSec),
    fmtRatio(st.p50 / echo.p50),
    fmtRatio(st.p99 / echo.p99),
    vsEmpty,
    target,
    fmtMet(met),
  ];
  const flat = full.p50 / empty.p50;
  return {
    title: "`send` through one persistent server, next to an `echo` tool",
    columns: [
      "call",
      "recipient's inbox",
      "samples",
      "p50",
      "p95",
      "p99",
      "mean",
      "calls/s",
      "p50 / echo",
      "p99 / echo",
      "p50 / empty",
      "target",
      "met",
    ],
    rows: [
      row("`echo` (floor)", "—", echo, "—", undefined, "—"),
      row(
        "`send`",
        "0–100 queued",
        empty,
        `p50 ≤ ${SEND_P50_TARGET_MS} ms and ≤ ${ECHO_RATIO_TARGET}× echo`,
        empty.p50 <= SEND_P50_TARGET_MS &&
          empty.p50 / echo.p50 <= ECHO_RATIO_TARGET,
        "1.00×",
      ),
      row(
        "`send`",
        `${fmtInt(FULL_INBOX)} queued`,
        full,
        `p50 ≤ ${FLAT_RATIO_TARGET}× empty`,
        flat <= FLAT_RATIO_TARGET,
        fmtRatio(flat),
      ),
    ],
    notes: [
      `**\`send\` p50 ${fmtMs(empty.p50)}, p99 ${fmtMs(empty.p99)}; ${
        fmtRatio(empty.p50 / echo.p50)
      } the echo floor (${
        fmtMs(echo.p50)
      }).** Original OCaml broker on this machine kind: p50 0.58 ms, p99 1.06 ms.`,
      `Three server processes started with the documented command line (\`deno run\` + \`permissionFlags("server")\` + \`server.ts\`, read/write scoped to the broker root), each speaking for one auto-registered session and holding its lease: \`bench-a\` sends to \`bench-b\` (drained, untimed, every 100 sends) and to \`bench-full\` (${
        fmtInt(FULL_INBOX)
      } messages queued first; it grows by ${
        fmtInt(samples + 100)
      }). The echo server is the same SDK (\`McpServer\` + \`StdioServerTransport\`, zod input schema) with one tool that returns its argument, run with no permissions. One SDK \`Client\` per server, one call at a time; the three cases interleaved after 100 warm-up calls each. The time is the client's: request serialised, piped, parsed and validated by the server, handled, the reply validated, serialised, piped and parsed back. The client never calls \`tools/list\`, so it does not validate replies against output schemas.`,
      "The echo row is what the SDK and the pipe cost per call: JSON-RPC parsing and zod validation of every message on both sides, Deno's `node:process` stdin (each read handed to a blocking thread) and one stdout write per reply. The gap from echo to `send` is c2c's own work, mostly the file system calls of the library's send (lease probe, locked append, audit line; compare the library `send` group and the throughput group's scoped-permission row, since Deno checks each path against the scoped permissions); the SDK's validation of `send`'s input and output schemas costs microseconds.",
    ],
  };
}

/** `poll_inbox` of N queued messages through the server. */
async function pollTable(
  broker: Broker,
  s: Servers,
  quick: boolean,
): Promise<Table> {
  await broker.pollInbox("bench-b"); // what the send table left
  const sizes = [
    { queued: 1, samples: quick ? 200 : 1000 },
    { queued: 100, samples: quick ? 100 : 500 },
    { queued: 500, samples: quick ? 40 : 200 },
    { queued: FULL_INBOX, samples: quick ? 4 : 20 },
  ];
  const replyBytes = sizes.map(() => 0);
  const calls = sizes.map(() => 0);
  const poller = (
    session: string,
    poll: () => Promise<CallToolResult>,
    i: number,
  ): Case => ({
    samples: sizes[i].samples,
    warmup: Math.max(2, Math.round(sizes[i].samples / 10)),
    before: () => fillInbox(broker, session, session, sizes[i].queued),
    op: async () => {
      // A reply is bounded (INBOX_REPLY_LIMIT messages, INBOX_REPLY_BYTES),
      // so drain as a client does: call again while `remaining` > 0.
      let got = 0;
      let n = 0;
      for (;;) {
        const r = await poll();
        n++;
        const reply = r.structuredContent as {
          messages: Message[];
          remaining: number;
        };
        got += reply.messages.length;
        if (replyBytes[i] === 0) {
          // The reply's size on the wire (the JSON-RPC envelope adds ~40 bytes).
          replyBytes[i] = new TextEncoder().encode(JSON.stringify(r)).length;
        }
        if (reply.remaining === 0 || reply.messages.length === 0) break;
      }
      if (got !== sizes[i].queued) {
        throw new Error(`poll_inbox returned ${got}, not ${sizes[i].queued}`);
      }
      calls[i] = n;
    },
  });
  // Both clients' cases interleaved: [sdk 1, raw 1, sdk 100, raw 100, …].
  const results = await measureInterleaved(sizes.flatMap((_, i) => [
    poller("bench-b", () => s.b.call("poll_inbox"), i),
    poller("bench-raw", () => s.raw.call("poll_inbox"), i),
  ]));
  const rows = sizes.map((c, i) => {
    const st = summarize(results[2 * i]);
    const raw = summarize(results[2 * i + 1]);
    return [
      fmtInt(c.queued),
      fmtInt(calls[i]),
      fmtInt(st.n),
      fmtMs(st.p50),
      fmtMs(st.p95),
      fmtMs(st.p99),
      fmtMs(st.mean),
      fmtUs(st.p50 / c.queued),
      fmtMs(raw.p50),
      fmtUs(raw.p50 / c.queued),
      fmtBytes(replyBytes[i]),
    ];
  });
  const over = sizes.filter((_, i) => replyBytes[i] > SDK_DEFAULT_MAX_BYTES);
  return {
    title: "`poll_inbox` of N queued messages through the server",
    columns: [
      "queued",
      "calls to drain",
      "samples",
      "p50",
      "p95",
      "p99",
      "mean",
      "p50 per message",
      "raw client p50",
      "raw per message",
      "reply size",
    ],
    rows,
    notes: [
      "Two servers poll their own inboxes: `bench-b` through the SDK `Client` (p50 to p50 per message), `bench-raw` through a minimal JSON-RPC client that reads replies in linear time (raw client columns). Before each sample the bench process queues N messages (untimed); sizes and clients interleaved. Each reply carries every message three times: as `structuredContent`, as the same JSON in a text block (for clients without structured output), and as rendered `<c2c …>` envelopes for the model. A reply holds at most 500 messages and about 1 MiB (the rest stay queued and `remaining` says how many), so larger inboxes take several calls; a sample is every call until the inbox is empty, and the reply size is the first reply's. The library's own cost for the same drain is in the `poll` group. Issue 3 asks for the 500 row and sets no target.",
      "Large replies are slow in the SDK client, not in the server: `StdioClientTransport`'s read buffer re-joins (`Buffer.concat`) and re-scans (`indexOf(\"\\n\")`) everything received so far for each 64 KiB chunk, quadratic in the reply's size, and Deno's `node:buffer` `indexOf` is slow at it. The raw client's figures are the server's own cost plus one `JSON.parse`.",
      over.length > 0
        ? `A ${
          fmtInt(over[0].queued)
        }-message reply is over the SDK client's default 10 MiB read limit (\`maxBufferSize\`): an SDK client with default settings drops the connection on it (this bench raises the limit).`
        : "Every reply fits in the SDK client's default 10 MiB read limit (`maxBufferSize`).",
    ],
  };
}

/** A sends, B polls until it has the message. */
async function roundTripTable(
  broker: Broker,
  s: Servers,
  quick: boolean,
): Promise<Table> {
  await broker.pollInbox("bench-b");
  let polls = 0;
  let trips = 0;
  const [rt] = (await measureInterleaved([{
    samples: quick ? 100 : 500,
    warmup: 10,
    op: async (n) => {
      const sent = await s.a.call("send", {
        to_alias: "bench-b",
        content: text(n),
      });
      const id = (sent.structuredContent as { id: string }).id;
      trips++;
      for (;;) {
        polls++;
        const r = await s.b.call("poll_inbox");
        const got = (r.structuredContent as { messages: Message[] }).messages;
        if (got.some((m) => m.id === id)) return;
      }
    },
  }])).map(summarize);
  return {
    title: "send + poll round trip between two servers",
    columns: [
      "path",
      "samples",
      "p50",
      "p95",
      "p99",
      "mean",
      "polls per trip",
    ],
    rows: [[
      "`bench-a` `send` → `bench-b` `poll_inbox`",
      fmtInt(rt.n),
      fmtMs(rt.p50),
      fmtMs(rt.p95),
      fmtMs(rt.p99),
      fmtMs(rt.mean),
      (polls / trips).toFixed(2),
    ]],
    notes: [
      "Two server processes, two SDK clients in the bench process: A's `send` returns once the message is in B's inbox file, then B polls until its reply holds the message (a send is durable when it returns, so the first poll has it). This is the broker's part of a message's trip; how soon an agent polls (hooks, channel push, wake) is measured elsewhere. No target in the issues.",
    ],
  };
}

/** One cold start: spawn → `initialize` answered → first tool answered. */
interface ColdStart {
  /** Spawn until `connect()` (initialize + initialized) resolved, ms. */
  initMs: number;
  /** The first `tools/call` after that, ms. */
  callMs: number;
}

/** The processes whose cold start is timed. */
interface ColdSubject {
  /** Row label. */
  name: string;
  /** Starts one, times it, stops it. */
  once(i: number): Promise<ColdStart>;
  /** Whether the cold-start target applies. */
  target: boolean;
}

async function coldMcp(
  start: () => Promise<McpProcess>,
  tool: string,
  args: Record<string, unknown>,
): Promise<ColdStart> {
  const t0 = performance.now();
  const p = await start();
  const t1 = performance.now();
  try {
    await p.call(tool, args);
    return { initMs: t1 - t0, callMs: performance.now() - t1 };
  } finally {
    await p.close();
  }
}

/**
 * Bundles `server.ts` into one file with `deno bundle` (esbuild: fetched from
 * npm on first use, then cached in Deno's cache, so it also works offline),
 * for the row that shows what an install-time bundle would give.
 *
 * @param dir Where to write it.
 * @returns The bundle's path, or the reason it could not be built.
 */
async function bundleServer(
  dir: string,
): Promise<{ path: string } | { error: string }> {
  const path = `${dir}/server.bundle.js`;
  const out = await new Deno.Command(DENO, {
    args: ["bundle", "--quiet", "--platform", "deno", "-o", path, SERVER],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr).trim();
    return { error: text.split("\n").find((l) => /error/i.test(l)) ?? text };
  }
  return { path };
}

/** Cold start of the server, through the launcher, and of the floors. */
async function coldStartTable(root: string, quick: boolean): Promise<Table> {
  const bundleDir = await Deno.makeTempDir({ prefix: "c2c-bench-bundle-" });
  try {
    return await coldStartRows(root, quick, await bundleServer(bundleDir));
  } finally {
    await Deno.remove(bundleDir, { recursive: true }).catch(() => {});
  }
}

async function coldStartRows(
  root: string,
  quick: boolean,
  bundle: { path: string } | { error: string },
): Promise<Table> {
  const subjects: ColdSubject[] = [
    {
      name: "empty `deno run` (spawn → exit)",
      target: false,
      once: async () => {
        const t0 = performance.now();
        const out = await new Deno.Command(DENO, {
          args: ["run", "--no-prompt", IDLE_SCRIPT],
          stdin: "null",
          stdout: "null",
          stderr: "piped",
        }).output();
        if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
        return { initMs: performance.now() - t0, callMs: 0 };
      },
    },
    {
      name: "echo server (`echo`)",
      target: false,
      once: () =>
        coldMcp(() => connectMcp(echoCommand()), "echo", { text: "x" }),
    },
    {
      name: "c2c server, documented flags (`whoami`)",
      target: true,
      once: (i) =>
        coldMcp(
          () =>
            connectMcp(serverCommand(root), {
              env: sessionEnv(root, `cold-server-${i}`),
            }),
          "whoami",
          {},
        ),
    },
    ...("path" in bundle
      ? [{
        name: "c2c server as one `deno bundle` file, not shipped (`whoami`)",
        target: false,
        once: (i: number) =>
          coldMcp(
            () =>
              connectMcp({
                command: DENO,
                args: [
                  "run",
                  "--no-config",
                  ...permissionFlags("server", { root }),
                  bundle.path,
                ],
              }, { env: sessionEnv(root, `cold-bundle-${i}`) }),
            "whoami",
            {},
          ),
      }]
      : []),
    {
      name: "`c2c mcp` via bin/c2c (`whoami`)",
      target: true,
      once: (i) =>
        coldMcp(
          () =>
            connectMcp(launcherCommand(), {
              env: sessionEnv(root, `cold-launcher-${i}`),
            }),
          "whoami",
          {},
        ),
    },
  ];
  const runs = quick ? 5 : 20;
  const warmup = 2;
  const results: ColdStart[][] = subjects.map(() => []);
  // Round-robin, direction alternating, so drift hits every row alike; the
  // first rounds are untimed and make sure every cache is warm.
  for (let round = 0; round < warmup + runs; round++) {
    for (let k = 0; k < subjects.length; k++) {
      const c = round % 2 === 0 ? k : subjects.length - 1 - k;
      const r = await subjects[c].once(round);
      if (round >= warmup) results[c].push(r);
    }
  }
  const p50s = results.map((rs) =>
    summarize(rs.map((r) => r.initMs + r.callMs)).p50
  );
  const [denoP50, echoP50, serverP50] = p50s;
  const launcherP50 = p50s[subjects.length - 1];
  const bundleP50 = "path" in bundle ? p50s[3] : null;
  const missed = subjects.some((subject, i) =>
    subject.target && p50s[i] > COLD_START_TARGET_MS
  );
  const rows = subjects.map((subject, i) => {
    const total = summarize(results[i].map((r) => r.initMs + r.callMs));
    const isDeno = i === 0;
    return [
      subject.name,
      fmtInt(total.n),
      isDeno ? "—" : fmtMs(summarize(results[i].map((r) => r.initMs)).p50),
      isDeno ? "—" : fmtMs(summarize(results[i].map((r) => r.callMs)).p50),
      fmtMs(total.min),
      fmtMs(total.p50),
      fmtMs(total.max),
      fmtRatio(total.p50 / echoP50),
      subject.target ? `p50 ≤ ${COLD_START_TARGET_MS} ms` : "—",
      fmtMet(
        subject.target ? total.p50 <= COLD_START_TARGET_MS : undefined,
      ),
    ];
  });
  return {
    title: "Cold start: spawn → `initialize` → first tool response",
    columns: [
      "process",
      "runs",
      "to initialized (p50)",
      "first call (p50)",
      "min",
      "p50",
      "max",
      "p50 / echo",
      "target",
      "met",
    ],
    rows,
    notes: [
      `Each run spawns a fresh process through the SDK's \`StdioClientTransport\`, connects a \`Client\` (\`initialize\` + \`notifications/initialized\`) and calls one tool; the clock stops at the tool's reply. The c2c servers auto-register a new session each run (\`C2C_MCP_SESSION_ID\`, \`C2C_MCP_AUTO_REGISTER_ALIAS\`), as a client's first launch does; \`bin/c2c\` (a POSIX shell script) takes the root from \`C2C_MCP_BROKER_ROOT\` and execs the same server: one Deno start-up, plus two shells. ${warmup} untimed rounds first (warm module and code caches); then ${runs} rounds, the kinds in turn. The empty \`deno run\` row is Deno's own start-up and exit with no imports, the floor under every other row. For reference, the original OCaml broker answers a fresh process per call in 1.9 ms.`,
      `${
        missed ? "**Why rows miss:** the" : "The"
      } floor is high: the echo server, which is nothing but the MCP SDK and zod, needs ${
        fmtMs(echoP50)
      } (Deno alone ${
        fmtMs(denoP50)
      }). Most of that is loading the module graph (\`server.ts\` and its imports are about 265 modules, among them ajv and ajv-formats, which the SDK's \`Server\` loads eagerly though zod-schema tools never use them). c2c adds ${
        fmtMs(serverP50 - echoP50)
      } on top (its own modules, taking the lease, auto-registering); \`bin/c2c\`'s two shells add ${
        fmtMs(launcherP50 - serverP50)
      }.`,
      bundleP50 === null
        ? `No bundle row: \`deno bundle\` failed here (${
          "error" in bundle ? bundle.error : ""
        }).`
        : `The bundle row is \`server.ts\` bundled by \`deno bundle\` (esbuild, fetched from npm once, then offline) and run with the same flags: ${
          fmtMs(bundleP50)
        }, ${
          serverP50 >= bundleP50
            ? `${fmtMs(serverP50 - bundleP50)} less`
            : `${fmtMs(bundleP50 - serverP50)} more (a noisy run)`
        } than the module graph, with the same code. The saving is module loading: some 280 files become one, among them the ~70 CommonJS files of ajv and its helpers, which Deno's CommonJS loader otherwise resolves, reads and wraps one by one. What stays is Deno itself, the Node layer that \`node:process\` starts (the SDK's stdio transport, \`server.ts\`; ~28 ms), and evaluating the SDK's zod schemas for the MCP types. c2c does not ship the bundle: it would have to be built at install time next to the sources it was made from and be what \`bin/c2c-mcp\` runs.`,
    ],
  };
}

/** Formats a byte count: `812 B`, `41.2 KiB`, `6.3 MiB`. */
function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** The MCP server group. */
export const mcpGroup: BenchGroup = {
  name: "mcp",
  title: "MCP server over stdio (official SDK client)",
  run: ({ quick }) =>
    withTempBroker(async (broker) => {
      const root = broker.root;
      const tables: Table[] = [];
      const started: (McpProcess | RawMcpClient)[] = [];
      try {
        const server = async (session: string) => {
          const p = await connectMcp(serverCommand(root), {
            env: sessionEnv(root, session),
            maxBufferSize: MAX_REPLY_BYTES,
          });
          started.push(p);
          return p;
        };
        const echo = await connectMcp(echoCommand());
        started.push(echo);
        const raw = await connectRaw(
          serverCommand(root),
          sessionEnv(root, "bench-raw"),
        );
        started.push(raw);
        const s: Servers = {
          a: await server("bench-a"),
          b: await server("bench-b"),
          full: await server("bench-full"),
          echo,
          raw,
        };
        tables.push(await sendTable(broker, s, quick));
        tables.push(await pollTable(broker, s, quick));
        tables.push(await roundTripTable(broker, s, quick));
      } finally {
        for (const p of started) await p.close();
      }
      tables.push(await coldStartTable(root, quick));
      return tables;
    }),
};
