/**
 * The NATS store (issue 13) beside the file store, through persistent MCP
 * servers (the documented command line plus the NATS grants) on loopback:
 * `send` latency, send → visible to the recipient's `poll_inbox`, `send`
 * into a deep inbox, 10 senders' sustained rate (every message checked
 * received once), `list` with 1,000 registered sessions — on one
 * nats-server, then the same on a 3-node JetStream cluster (R3 streams and
 * buckets). Servers are real `nats-server` processes on random ports
 * (`tests/_nats.ts`).
 *
 * @module
 */

import type { BenchGroup } from "./group.ts";
import {
  BODY,
  GUARD_OFF,
  measureInterleaved,
  writeGuardOff,
} from "./_harness.ts";
import { putNatsConfig } from "../tests/_stores.ts";
import {
  connectMcp,
  DENO,
  echoCommand,
  type McpProcess,
  SERVER,
  sessionEnv,
} from "./_mcp_harness.ts";
import { natsScope, permissionFlags } from "../lib/permissions.ts";
import { Broker } from "../lib/broker.ts";
import { FileStore } from "../lib/store/file/file_store.ts";
import { NatsStore } from "../lib/store/nats/nats_store.ts";
import { natsConfigFromEnv } from "../lib/store/nats/url.ts";
import type { SessionLease, Store } from "../lib/store/store.ts";
import type { Message } from "../lib/message.ts";
import { startNats, startNatsCluster } from "../tests/_nats.ts";
import { summarize, type Summary } from "./stats.ts";
import { fmtInt, fmtMet, fmtMs, fmtRatio, type Table } from "./table.ts";

/** Issue 13: NATS `send` p50 ≤ 2× the file store's, single node. */
export const NATS_SEND_RATIO_TARGET = 2;
/** Issue 13: send → visible to the recipient's poll, p50 ≤ 5 ms. */
export const NATS_VISIBLE_TARGET_MS = 5;
/** Issue 13: 10 senders sustain ≥ 2,000 msgs/s. */
export const NATS_THROUGHPUT_TARGET = 2000;
/** Issue 8's flatness rule, applied to the NATS store. */
export const NATS_FLAT_TARGET = 1.5;

const text = (n: number) => `${n}: ${BODY}`;

/** Where one set of servers keeps its data. */
interface Backend {
  /** `file` or `nats (1 node)`, `nats (3 nodes)`. */
  label: string;
  /** The URL, for NATS. */
  url?: string;
  /** The namespace, for NATS. */
  namespace?: string;
  /** File store: the shared root. */
  root?: string;
  /** Temp directories to remove. */
  dirs: string[];
  /** Library stores to close. */
  stores: Store[];
}

async function backend(
  label: string,
  url?: string,
): Promise<Backend> {
  const b: Backend = { label, dirs: [], stores: [] };
  // The guard off: these groups flood one peer to measure the floor.
  if (url) {
    b.url = url;
    b.namespace = `bench-${crypto.randomUUID().slice(0, 8)}`;
    await putNatsConfig(url, b.namespace, GUARD_OFF);
  } else {
    b.root = await Deno.makeTempDir({ prefix: "c2c-bench-file-" });
    b.dirs.push(b.root);
    writeGuardOff(b.root);
  }
  return b;
}

async function disposeBackend(b: Backend): Promise<void> {
  for (const s of b.stores) await s.close().catch(() => {});
  for (const d of b.dirs) {
    await Deno.remove(d, { recursive: true }).catch(() => {});
  }
}

/** An MCP server for `session` on `b` (NATS: its own local root). */
async function server(b: Backend, session: string): Promise<McpProcess> {
  let root = b.root;
  const env: Record<string, string> = {};
  if (b.url) {
    root = await Deno.makeTempDir({ prefix: "c2c-bench-local-" });
    b.dirs.push(root);
    env.C2C_BROKER_URL = b.url;
    env.C2C_BROKER_NAMESPACE = b.namespace!;
  }
  const nats = natsScope((n) => env[n]);
  return await connectMcp({
    command: DENO,
    args: [
      "run",
      ...permissionFlags("server", {
        root: root!,
        net: nats.net,
        read: nats.read,
      }),
      SERVER,
    ],
  }, { env: { ...sessionEnv(root!, session), ...env } });
}

/** A library broker on `b` (the bench's own hands: fill, drain, hold). */
async function library(b: Backend): Promise<Broker> {
  let store: Store;
  if (b.url) {
    const root = await Deno.makeTempDir({ prefix: "c2c-bench-lib-" });
    b.dirs.push(root);
    store = new NatsStore({
      config: natsConfigFromEnv(new Map([["C2C_BROKER_URL", b.url]]))!,
      namespace: b.namespace!,
      root,
    });
  } else {
    store = new FileStore(b.root!);
  }
  b.stores.push(store);
  return new Broker({ store });
}

/** Queues `count` messages for `alias` from a library session. */
async function fill(
  lib: Broker,
  from: string,
  alias: string,
  count: number,
): Promise<void> {
  const batch = 100;
  for (let i = 0; i < count; i += batch) {
    await Promise.all(
      Array.from(
        { length: Math.min(batch, count - i) },
        (_, k) => lib.send(from, { to_alias: alias, content: text(i + k) }),
      ),
    );
  }
}

function row(label: string, s: Summary, extra: string[]): string[] {
  return [
    label,
    fmtInt(s.n),
    fmtMs(s.p50),
    fmtMs(s.p95),
    fmtMs(s.p99),
    fmtMs(s.mean),
    ...extra,
  ];
}

/** A sends to B; B polls until it has the message (each sample). */
function visibleOp(a: McpProcess, b: McpProcess, to: string) {
  return async (n: number) => {
    const sent = await a.call("send", { to_alias: to, content: text(n) });
    const id = (sent.structuredContent as { id: string }).id;
    for (;;) {
      const r = await b.call("poll_inbox");
      const got = (r.structuredContent as { messages: Message[] }).messages;
      if (got.some((m) => m.id === id)) return;
    }
  };
}

/** `send` and send → visible, for each backend, interleaved. */
async function latencyTables(
  backends: Backend[],
  quick: boolean,
  title: string,
): Promise<Table[]> {
  const samples = quick ? 200 : 1000;
  await using echo = await connectMcp({
    command: echoCommand().command,
    args: echoCommand().args,
  });
  const pairs: { a: McpProcess; b: McpProcess; lib: Broker }[] = [];
  try {
    for (const b of backends) {
      const a = await server(b, "bench-a");
      const bb = await server(b, "bench-b");
      pairs.push({ a, b: bb, lib: await library(b) });
    }
    const cases = [
      {
        samples,
        warmup: 50,
        op: (n: number) => echo.call("echo", { text: text(n) }),
      },
      ...pairs.map((p) => ({
        samples,
        warmup: 50,
        before: async (n: number) => {
          if (n % 100 === 0) await p.b.call("poll_inbox"); // untimed
        },
        op: (n: number) =>
          p.a.call("send", { to_alias: "bench-b", content: text(n) }),
      })),
    ];
    const [echoS, ...sends] = (await measureInterleaved(cases)).map(summarize);
    for (const p of pairs) await p.b.call("poll_inbox");
    const visible = (await measureInterleaved(pairs.map((p) => ({
      samples: quick ? 100 : 500,
      warmup: 20,
      op: visibleOp(p.a, p.b, "bench-b"),
    })))).map(summarize);
    const file = backends.findIndex((b) => b.root !== undefined);
    const sendRows = [
      row("`echo` (floor)", echoS, ["—", "—", "—", "—"]),
      ...backends.map((b, i) => {
        const s = sends[i];
        const isFile = i === file;
        const ratio = file >= 0 ? s.p50 / sends[file].p50 : NaN;
        return row(`\`send\`, ${b.label}`, s, [
          fmtRatio(s.p50 / echoS.p50),
          isFile || file < 0 ? "—" : fmtRatio(ratio),
          isFile || file < 0
            ? "—"
            : `p50 ≤ ${NATS_SEND_RATIO_TARGET}× file store`,
          isFile || file < 0 ? "—" : fmtMet(ratio <= NATS_SEND_RATIO_TARGET),
        ]);
      }),
    ];
    return [
      {
        title: `\`send\` through one persistent server${title}`,
        columns: [
          "call",
          "samples",
          "p50",
          "p95",
          "p99",
          "mean",
          "p50 / echo",
          "p50 / file",
          "target",
          "met",
        ],
        rows: sendRows,
        notes: [
          "Two server processes per store (`bench-a` sends to `bench-b`, which drains its inbox untimed every 100 sends), started with the documented command line; for NATS each has its own local directory and `--allow-net` to the NATS server only, as on separate machines. One SDK `Client` per server, one call at a time; cases interleaved after 50 warm-up calls each. A NATS `send` is a registry read from the process's KV mirror (no round trip), a liveness request to the recipient's server (answered through NATS) in parallel with the inbox's count, an Ed25519 signature, and one acknowledged JetStream publish.",
        ],
      },
      {
        title: `send → visible to the recipient's \`poll_inbox\`${title}`,
        columns: [
          "path",
          "samples",
          "p50",
          "p95",
          "p99",
          "mean",
          "target",
          "met",
        ],
        rows: backends.map((b, i) =>
          row(`\`bench-a\` send → \`bench-b\` poll, ${b.label}`, visible[i], [
            b.url ? `p50 ≤ ${NATS_VISIBLE_TARGET_MS} ms` : "—",
            b.url ? fmtMet(visible[i].p50 <= NATS_VISIBLE_TARGET_MS) : "—",
          ])
        ),
        notes: [
          "From the start of A's `send` call until B's `poll_inbox` reply holds the message (B polls again while it does not: a send is durable when it returns, so the first poll has it). Both calls through their servers.",
        ],
      },
    ];
  } finally {
    for (const p of pairs) {
      await p.a.close();
      await p.b.close();
    }
  }
}

/** `send` into inboxes already holding 0, 1,000 and 10,000 messages. */
async function depthTable(b: Backend, quick: boolean): Promise<Table> {
  const depths = quick ? [0, 1_000] : [0, 1_000, 10_000];
  const samples = quick ? 200 : 1000;
  const lib = await library(b);
  const filler: SessionLease = await lib.acquireLease("bench-filler");
  const a = await server(b, "bench-a");
  const sinks = await Promise.all(
    depths.map((_, i) => server(b, `bench-q${i}`)),
  );
  try {
    await lib.register("bench-filler", { alias: "bench-filler", leased: true });
    for (let i = 0; i < depths.length; i++) {
      await fill(lib, "bench-filler", `bench-q${i}`, depths[i]);
    }
    const stats = (await measureInterleaved(depths.map((_, i) => ({
      samples,
      warmup: 50,
      op: (n: number) =>
        a.call("send", { to_alias: `bench-q${i}`, content: text(n) }),
    })))).map(summarize);
    return {
      title: `\`send\` into an inbox already holding N messages, ${b.label}`,
      columns: [
        "queued",
        "samples",
        "p50",
        "p95",
        "p99",
        "mean",
        "p50 / empty",
        "target",
        "met",
      ],
      rows: depths.map((d, i) =>
        row(fmtInt(d), stats[i], [
          fmtRatio(stats[i].p50 / stats[0].p50),
          i === 0 ? "—" : `p50 ≤ ${NATS_FLAT_TARGET}× empty`,
          i === 0
            ? "—"
            : fmtMet(stats[i].p50 / stats[0].p50 <= NATS_FLAT_TARGET),
        ])
      ),
      notes: [
        `One sender server, ${depths.length} live recipient servers whose inboxes were filled first (library sends, untimed); each grows by ${
          fmtInt(samples + 50)
        } during the run; cases interleaved. Past the point where count × the largest message could pass the inbox quota, the quota check adds the pending bytes up from the sizes this process remembers by sequence (it reads only what arrived since its last send), so its cost stays flat.`,
      ],
    };
  } finally {
    filler.release();
    await a.close();
    for (const s of sinks) await s.close();
  }
}

/** 10 sender servers, each sending `perSender` back to back, all at once. */
async function throughputRow(
  b: Backend,
  perSender: number,
): Promise<string[]> {
  const senders = 10;
  const sink = await server(b, "bench-sink");
  const writers = await Promise.all(
    Array.from({ length: senders }, (_, i) => server(b, `bench-w${i}`)),
  );
  try {
    // Warm each path once (not counted).
    await Promise.all(
      writers.map((w) =>
        w.call("send", { to_alias: "bench-sink", content: "warm" })
      ),
    );
    await drainAll(sink);
    const start = performance.now();
    const ids = await Promise.all(writers.map(async (w, i) => {
      const out: string[] = [];
      for (let k = 0; k < perSender; k++) {
        const r = await w.call("send", {
          to_alias: "bench-sink",
          content: `${i}:${k}`,
        });
        out.push((r.structuredContent as { id: string }).id);
      }
      return out;
    }));
    const wall = performance.now() - start;
    const got = await drainAll(sink);
    const sent = new Set(ids.flat());
    const seen = new Set<string>();
    let duplicated = 0;
    for (const id of got) {
      if (seen.has(id)) duplicated++;
      seen.add(id);
    }
    const lost = [...sent].filter((id) => !seen.has(id)).length;
    const rate = (senders * perSender) / (wall / 1000);
    return [
      `${b.label}, MCP`,
      fmtInt(senders),
      fmtInt(perSender),
      fmtMs(wall),
      fmtInt(rate),
      fmtInt(lost),
      fmtInt(duplicated),
      `≥ ${fmtInt(NATS_THROUGHPUT_TARGET)} msgs/s`,
      b.url ? fmtMet(rate >= NATS_THROUGHPUT_TARGET && lost === 0) : "—",
    ];
  } finally {
    await sink.close();
    for (const w of writers) await w.close();
  }
}

async function drainAll(sink: McpProcess): Promise<string[]> {
  const ids: string[] = [];
  for (;;) {
    const r = await sink.call("poll_inbox");
    const { messages, remaining } = r.structuredContent as {
      messages: Message[];
      remaining: number;
    };
    ids.push(...messages.map((m) => m.id));
    if (messages.length === 0 && remaining === 0) return ids;
  }
}

/**
 * 10 senders in the bench process, each a broker on its own store (for
 * NATS its own connection), sending back to back at once: the store's own
 * rate, without the MCP servers' CPU on the 2 cores.
 */
async function libraryThroughputRow(
  b: Backend,
  perSender: number,
): Promise<string[]> {
  const senders = 10;
  const brokers = await Promise.all(
    Array.from({ length: senders + 1 }, () => library(b)),
  );
  const sinkBroker = brokers[senders];
  const leases: SessionLease[] = [];
  try {
    leases.push(await sinkBroker.acquireLease("lib-sink"));
    await sinkBroker.register("lib-sink", { alias: "lib-sink", leased: true });
    for (let i = 0; i < senders; i++) {
      leases.push(await brokers[i].acquireLease(`lib-w${i}`));
      await brokers[i].register(`lib-w${i}`, {
        alias: `lib-w${i}`,
        leased: true,
      });
      await brokers[i].send(`lib-w${i}`, {
        to_alias: "lib-sink",
        content: "warm",
      });
    }
    await sinkBroker.pollInbox("lib-sink");
    const start = performance.now();
    const ids = await Promise.all(
      brokers.slice(0, senders).map(async (w, i) => {
        const out: string[] = [];
        for (let k = 0; k < perSender; k++) {
          out.push(
            (await w.send(`lib-w${i}`, {
              to_alias: "lib-sink",
              content: `${i}:${k}`,
            }))
              .id,
          );
        }
        return out;
      }),
    );
    const wall = performance.now() - start;
    const got: string[] = [];
    for (;;) {
      const r = await sinkBroker.pollInbox("lib-sink");
      got.push(...r.messages.map((m) => m.id));
      if (r.messages.length === 0 && r.remaining === 0) break;
    }
    const seen = new Set(got);
    const lost = ids.flat().filter((id) => !seen.has(id)).length;
    const duplicated = got.length - seen.size;
    const rate = (senders * perSender) / (wall / 1000);
    return [
      `${b.label}, library`,
      fmtInt(senders),
      fmtInt(perSender),
      fmtMs(wall),
      fmtInt(rate),
      fmtInt(lost),
      fmtInt(duplicated),
      `≥ ${fmtInt(NATS_THROUGHPUT_TARGET)} msgs/s`,
      b.url ? fmtMet(rate >= NATS_THROUGHPUT_TARGET && lost === 0) : "—",
    ];
  } finally {
    for (const l of leases) l.release();
  }
}

function throughputTable(rows: string[][], title: string): Table {
  return {
    title: `10 sender servers sending at once to one recipient${title}`,
    columns: [
      "store",
      "senders",
      "sends each",
      "wall",
      "msgs/s",
      "lost",
      "duplicated",
      "target",
      "met",
    ],
    rows,
    notes: [
      "MCP rows: ten MCP server processes, one SDK client each, every client calling `send` back to back, all started together; the clock runs until the last send returned. Then the recipient's server drains its inbox and every id is checked: received, once. On this 2-core machine the bench client, eleven Deno servers and nats-server share the cores, so these rows measure the machine as much as the store.",
      "Library rows: ten brokers in the bench process, each on its own store instance (for NATS its own connection, as ten processes would have), sending back to back at once; the recipient drains and every id is checked the same way.",
    ],
  };
}

/** `list` through a server with 1,000 registered, live sessions. */
async function listTable(backends: Backend[], quick: boolean): Promise<Table> {
  const registered = 1000;
  const rows: string[][] = [];
  for (const b of backends) {
    const lib = await library(b);
    const leases: SessionLease[] = [];
    const viewer = await server(b, "bench-viewer");
    try {
      for (let i = 0; i < registered - 1; i += 50) {
        await Promise.all(
          Array.from(
            { length: Math.min(50, registered - 1 - i) },
            async (_, k) => {
              const id = `bench-s${i + k}`;
              leases.push(await lib.acquireLease(id));
              await lib.register(id, { alias: id, leased: true });
            },
          ),
        );
      }
      const [s] = (await measureInterleaved([{
        samples: quick ? 20 : 100,
        warmup: 5,
        op: async () => {
          const r = await viewer.call("list");
          const peers = (r.structuredContent as { peers: unknown[] }).peers;
          if (peers.length !== registered) {
            throw new Error(`list saw ${peers.length} of ${registered}`);
          }
        },
      }])).map(summarize);
      rows.push(row(b.label, s, [fmtInt(registered)]));
    } finally {
      for (const l of leases) l.release();
      await viewer.close();
    }
  }
  return {
    title: "`list` with 1,000 registered live sessions",
    columns: ["store", "samples", "p50", "p95", "p99", "mean", "sessions"],
    rows,
    notes: [
      "999 sessions registered by the bench process, which holds their leases (it answers their liveness), plus the viewer's own; `list` through the viewer's server returns all 1,000 with liveness and pending counts. The NATS store asks every live session at once on the namespace's presence subject (one request, answers gathered until 50 ms pass without one) and counts every inbox with one stream-info request; the file store probes 1,000 lease files and counts 1,000 inbox files.",
    ],
  };
}

/** The NATS store group. */
export const natsGroup: BenchGroup = {
  name: "nats",
  title: "NATS store (issue 13), beside the file store",
  run: async ({ quick }) => {
    const tables: Table[] = [];
    const perSender = quick ? 50 : 200;
    {
      await using single = await startNats();
      const file = await backend("file store");
      const nats = await backend("NATS, 1 node", single.url);
      try {
        tables.push(...await latencyTables([file, nats], quick, ""));
        tables.push(await depthTable(nats, quick));
        const libPerSender = quick ? 100 : 500;
        const tp = [
          await libraryThroughputRow(file, libPerSender),
          await libraryThroughputRow(nats, libPerSender),
          await throughputRow(file, perSender),
          await throughputRow(nats, perSender),
        ];
        const cluster = await startNatsCluster();
        const nats3 = await backend("NATS, 3 nodes (R3)", cluster.url);
        try {
          tp.push(await libraryThroughputRow(nats3, libPerSender));
          tp.push(await throughputRow(nats3, perSender));
          tables.push(throughputTable(tp, ""));
          tables.push(
            ...await latencyTables([nats3], quick, ", 3-node cluster"),
          );
          // Fresh namespaces: exactly 1,000 sessions each.
          const fresh = [
            await backend("file store"),
            await backend("NATS, 1 node", single.url),
            await backend("NATS, 3 nodes (R3)", cluster.url),
          ];
          try {
            tables.push(await listTable(fresh, quick));
          } finally {
            for (const b of fresh) await disposeBackend(b);
          }
        } finally {
          await disposeBackend(nats3);
          await cluster[Symbol.asyncDispose]();
        }
      } finally {
        await disposeBackend(file);
        await disposeBackend(nats);
      }
    }
    return tables;
  },
};
