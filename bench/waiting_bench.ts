/**
 * Waiting, search and the loop guard (issue 14,
 * docs/design.md#conversations): how soon a
 * `wait_for_message` returns after the matching send (through the library,
 * and through one persistent MCP server), `search_messages` over 100,000
 * archived messages, and `send` with the loop guard and rate limit on.
 *
 * Run alone: `deno run -A bench/main.ts --only waiting --no-write`.
 *
 * @module
 */

import type { BenchGroup } from "./group.ts";
import {
  BODY,
  fillInbox,
  measureInterleaved,
  registerPeers,
  withTempBroker,
  withTempBrokers,
} from "./_harness.ts";
import { connectMcp, serverCommand, sessionEnv } from "./_mcp_harness.ts";
import { summarize, type Summary } from "./stats.ts";
import { fmtInt, fmtMet, fmtMs, fmtRatio, type Table } from "./table.ts";
import type { Broker } from "../lib/broker.ts";
import { Broker as LibBroker } from "../lib/broker.ts";
import type { SentMessage } from "../lib/message.ts";

/** Issue 14: `wait_for_message` returns ≤ 5 ms (p50) after the send. */
export const WAKE_P50_TARGET_MS = 5;
/** Issue 14: `send` p50 with the guard on within 10% of the guard off. */
export const GUARD_RATIO_TARGET = 1.1;
/** Title of the wake table (the summary finds it by this). */
export const WAKE_TABLE_TITLE = "`wait_for_message`: wake after a send";
/** Title of the search table. */
export const SEARCH_TABLE_TITLE = "`search_messages` over";
/** Title of the guarded send table. */
export const GUARD_TABLE_TITLE = "`send` with the loop guard and rate limit";

const statRow = (label: string, s: Summary): string[] => [
  label,
  fmtInt(s.n),
  fmtMs(s.p50),
  fmtMs(s.p95),
  fmtMs(s.p99),
];

/**
 * Times waits woken by a send: the wait starts, `armed` says it waits on
 * its watch, the send goes, and the time from the send's return to the
 * wait's is one sample (also from the send's start).
 */
async function wakeSamples(
  samples: number,
  wait: (armed: () => void) => Promise<unknown>,
  send: (n: number) => Promise<unknown>,
): Promise<{ afterSend: number[]; fromSendStart: number[] }> {
  const afterSend: number[] = [];
  const fromSendStart: number[] = [];
  for (let n = 0; n < samples + 5; n++) {
    const armed = Promise.withResolvers<void>();
    const waited = wait(() => armed.resolve());
    await armed.promise;
    const start = performance.now();
    await send(n);
    const sent = performance.now();
    await waited;
    const done = performance.now();
    if (n < 5) continue; // warm-up
    afterSend.push(done - sent);
    fromSendStart.push(done - start);
  }
  return { afterSend, fromSendStart };
}

async function wakeTable(broker: Broker, quick: boolean): Promise<Table> {
  const samples = quick ? 30 : 200;
  const root = broker.root;
  using peers = await registerPeers(broker, "conv", 2);
  const [sender, waiter] = peers.sessions;
  const [senderAlias] = peers.aliases;
  // The waiter as another process would be: its own broker on the root.
  const waiting = new LibBroker({ root });
  const lib = await wakeSamples(
    samples,
    (armed) =>
      waiting.waitForMessage(waiter, {
        from_alias: senderAlias,
        timeout_s: 30,
      }, { onWaiting: armed }),
    (n) =>
      broker.send(sender, {
        to_alias: peers.aliases[1],
        content: `${n}: ${BODY}`,
      }),
  );
  // Through one persistent MCP server speaking for a third session.
  await using server = await connectMcp(serverCommand(root), {
    env: sessionEnv(root, "conv-mcp"),
  });
  await server.call("register");
  const mcp = await wakeSamples(
    samples,
    (armed) =>
      server.client.callTool(
        {
          name: "wait_for_message",
          arguments: { from_alias: senderAlias, timeout_s: 30 },
        },
        undefined,
        { onprogress: armed, timeout: 60_000 },
      ),
    (n) =>
      broker.send(sender, { to_alias: "conv-mcp", content: `${n}: ${BODY}` }),
  );
  const rows: string[][] = [];
  for (
    const [label, r] of [["library", lib], [
      "one persistent MCP server",
      mcp,
    ]] as const
  ) {
    const after = summarize(r.afterSend);
    const from = summarize(r.fromSendStart);
    rows.push([
      ...statRow(`${label}: after \`send\` returned`, after),
      `p50 ≤ ${WAKE_P50_TARGET_MS} ms`,
      fmtMet(after.p50 <= WAKE_P50_TARGET_MS),
    ]);
    rows.push([...statRow(`${label}: from \`send\` called`, from), "—", "—"]);
  }
  return {
    title: WAKE_TABLE_TITLE,
    columns: ["path", "samples", "p50", "p95", "p99", "target", "met"],
    rows,
    notes: [
      "Each sample: a wait for a message from the sender starts and reports that it waits on its armed watch (the library's `onWaiting`; the server's progress notification), then the sender's library broker sends one matching message and the time until the wait returns it is taken. The waiter is a second `Broker` on the same root (library row) or an MCP server process with the SDK client (server row). The file store wakes the waiter through `Deno.watchFs` on the broker directory (inotify); the wait then drains the match under the delivery lock.",
      "5 warm-up waits per path.",
    ],
  };
}

async function searchTable(broker: Broker, quick: boolean): Promise<Table> {
  const archived = 100_000;
  const samples = quick ? 5 : 20;
  using peers = await registerPeers(broker, "search", 1);
  const [session] = peers.sessions;
  fillInbox(broker, session, peers.aliases[0], archived);
  // One drain moves all of them into the archive.
  const drained = await broker.pollInbox(session);
  if (drained.messages.length !== archived) {
    throw new Error(`archived ${drained.messages.length} of ${archived}`);
  }
  const queries: [string, string][] = [
    ["one match", "99999: build"],
    ["every message matches (newest 20 returned)", "flaky lease"],
    ["no match", "no such words anywhere"],
  ];
  const results = await measureInterleaved(queries.map(([, query]) => ({
    samples,
    warmup: 2,
    op: () => broker.searchMessages(session, { query }),
  })));
  return {
    title: `${SEARCH_TABLE_TITLE} ${fmtInt(archived)} archived messages`,
    columns: ["query", "samples", "p50", "p95", "p99"],
    rows: queries.map(([label], i) => statRow(label, summarize(results[i]))),
    notes: [
      `The caller's archive holds ${
        fmtInt(archived)
      } messages of about 130 bytes (one drain of a pre-filled inbox); its sent log and rooms are empty. A search reads the newest 100,000 of each source and matches a lower-cased substring; the reply holds at most 100 hits.`,
    ],
  };
}

/** Pre-fills a sender's sent log with `count` messages sent just now. */
async function fillSent(
  broker: Broker,
  alias: string,
  count: number,
): Promise<void> {
  const ts = new Date().toISOString();
  const entries: SentMessage[] = [];
  for (let i = 0; i < count; i++) {
    entries.push({
      id: crypto.randomUUID(),
      ts,
      from_alias: alias,
      to_alias: `elsewhere-${i % 500}`,
      content: `${i}: ${BODY}`,
    });
  }
  await broker.store.appendSent(alias, entries);
}

async function guardTable(quick: boolean): Promise<Table> {
  const samples = quick ? 300 : 2000;
  const pairs = 100;
  return await withTempBrokers(3, async ([off, on, busy]) => {
    // Guard on for two of them (the harness turns it off everywhere).
    for (const b of [on, busy]) Deno.removeSync(`${b.root}/config.json`);
    const setups = [];
    for (const b of [off, on, busy]) {
      setups.push({
        b,
        senders: await registerPeers(b, "from", pairs),
        recipients: await registerPeers(b, "to", pairs),
      });
    }
    try {
      await fillSent(busy, setups[2].senders.aliases[0], 1_000);
      // Each sender writes to one recipient in turn, so that no pair
      // comes near the limits (≤ 60 a minute, 5 of one body): the figure is
      // the guard's reading of the sent log, not a refusal.
      const results = await measureInterleaved(setups.map((s, k) => ({
        samples,
        warmup: 100,
        op: (n) => {
          const from = k === 2 ? 0 : n % pairs;
          const to = (n + Math.floor(n / pairs)) % pairs;
          return s.b.send(s.senders.sessions[from], {
            to_alias: s.recipients.aliases[to],
            content: `${n}: ${BODY}`,
          });
        },
      })));
      const stats = results.map(summarize);
      const labels = [
        "guard off (`rate_limit_messages: 0, loop_repeat_limit: 0`)",
        "guard on (defaults), 100 senders in turn",
        "guard on, one sender with 1,000+ messages in its last minute",
      ];
      return {
        title: GUARD_TABLE_TITLE,
        columns: [
          "case",
          "samples",
          "p50",
          "p95",
          "p99",
          "p50 / off",
          "target",
          "met",
        ],
        rows: labels.map((label, i) => [
          ...statRow(label, stats[i]),
          fmtRatio(stats[i].p50 / stats[0].p50),
          i === 1 ? `p50 ≤ ${GUARD_RATIO_TARGET}× off` : "—",
          i === 1
            ? fmtMet(stats[1].p50 / stats[0].p50 <= GUARD_RATIO_TARGET)
            : "—",
        ]),
        notes: [
          "Three file-store roots, `Broker.send` from this process, interleaved. Every send also appends to the sender's sent log (the guard's input, which the other branch of this issue added); the guard reads that log back to the start of its longest window (60 s) before queuing. 100 senders write to 100 recipients in turn, each sender's last minute holding ~1/100 of the run; the last row is one sender whose last minute already holds 1,000 messages (and grows through the run), the guard's worst realistic case: it reads them all.",
        ],
      };
    } finally {
      for (const s of setups) {
        s.senders[Symbol.dispose]();
        s.recipients[Symbol.dispose]();
      }
    }
  });
}

/** The waiting, search and loop guard group. */
export const waitingGroup: BenchGroup = {
  name: "waiting",
  title: "Conversations: waiting, search, the loop guard",
  run: async ({ quick }) => {
    const tables: Table[] = [];
    tables.push(await withTempBroker((b) => wakeTable(b, quick)));
    tables.push(await withTempBroker((b) => searchTable(b, quick)));
    tables.push(await guardTable(quick));
    return tables;
  },
};
