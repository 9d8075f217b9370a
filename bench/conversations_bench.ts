/**
 * What conversations cost (issue 14, docs/design.md#conversations): `send`
 * with the sent log and `poll_inbox` with receipts, against the same calls
 * with both switched off (the store's `appendSent` and `appendReceipts` made
 * no-ops: what they themselves cost); and `message_status` of 100 ids
 * in a sent log of 10,000.
 *
 * @module
 */

import { Broker } from "../lib/broker.ts";
import type { Store } from "../lib/store/store.ts";
import type { BenchGroup } from "./group.ts";
import {
  BODY,
  measureInterleaved,
  registerPeers,
  writeGuardOff,
} from "./_harness.ts";
import { summarize } from "./stats.ts";
import { fmtInt, fmtMet, fmtMs, fmtRatio, type Table } from "./table.ts";

/** Issue 14: `send` p50 unchanged within 10% with receipts (and the guard) on. */
export const CONV_SEND_RATIO_TARGET = 1.1;
/** The design's bound for `message_status` of 100 ids (the issue sets none). */
export const STATUS_P50_TARGET_MS = 20;
/** Title of the table the summary reads the `send` figures from. */
export const CONV_SEND_TITLE = "`send` and `poll_inbox` with";
/** Title of the table the summary reads `message_status` from. */
export const CONV_STATUS_TITLE = "`message_status`";

/** The same store with the sent log and receipts switched off. */
function withoutConversations(store: Store): Store {
  return new Proxy(store, {
    get(target, key) {
      if (key === "appendSent" || key === "appendReceipts") {
        return () => Promise.resolve();
      }
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function row(
  label: string,
  s: ReturnType<typeof summarize>,
  base: ReturnType<typeof summarize> | null,
  target: string,
  met: boolean | undefined,
): string[] {
  return [
    label,
    fmtInt(s.n),
    fmtMs(s.p50),
    fmtMs(s.p95),
    fmtMs(s.p99),
    fmtInt(s.opsPerSec),
    base ? fmtRatio(s.p50 / base.p50) : "—",
    target,
    fmtMet(met),
  ];
}

const COLUMNS = [
  "case",
  "samples",
  "p50",
  "p95",
  "p99",
  "ops/s",
  "p50 / off",
  "target",
  "met",
];

/** The conversations group. */
export const conversationsGroup: BenchGroup = {
  name: "conversations",
  title: "Conversations: sent log, receipts, message_status (library)",
  run: async ({ quick }) => {
    const root = await Deno.makeTempDir({ prefix: "c2c-bench-" });
    // Thousands of sends to one peer: the guard (measured by the waiting
    // group) would refuse them.
    writeGuardOff(root);
    try {
      const on = new Broker({ root });
      const off = new Broker({ store: withoutConversations(on.store) });
      const samples = quick ? 300 : 2000;
      using peers = await registerPeers(on, "conv", 4);
      const [from, toOn, toOff, other] = peers.sessions;
      const [, aliasOn, aliasOff] = peers.aliases;
      const send = (broker: Broker, to: string) => (n: number) =>
        broker.send(from, { to_alias: to, content: `${n}: ${BODY}` });
      // Each poll drains the one message its `before` queued.
      const poll = (broker: Broker, session: string, alias: string) => ({
        samples,
        warmup: 100,
        before: async () => {
          await on.send(other, { to_alias: alias, content: BODY });
        },
        op: () => broker.pollInbox(session),
      });
      const results = await measureInterleaved([
        { samples, warmup: 100, op: send(on, aliasOn) },
        { samples, warmup: 100, op: send(off, aliasOff) },
        poll(on, toOn, aliasOn),
        poll(off, toOff, aliasOff),
      ]);
      const [sendOn, sendOff, pollOn, pollOff] = results.map(summarize);
      const sendRatio = sendOn.p50 / sendOff.p50;
      const sendTable: Table = {
        title:
          `${CONV_SEND_TITLE} the sent log and receipts on vs. off (file store)`,
        columns: COLUMNS,
        rows: [
          row(
            "`send`, sent log on",
            sendOn,
            sendOff,
            `p50 ≤ ${CONV_SEND_RATIO_TARGET}× off`,
            sendRatio <= CONV_SEND_RATIO_TARGET,
          ),
          row(
            "`send`, sent log off (as before)",
            sendOff,
            null,
            "—",
            undefined,
          ),
          row(
            "`poll_inbox` of 1 DM, receipt on",
            pollOn,
            pollOff,
            "—",
            undefined,
          ),
          row(
            "`poll_inbox` of 1 DM, receipt off",
            pollOff,
            null,
            "—",
            undefined,
          ),
        ],
        notes: [
          'One process, `Broker` called directly, cases interleaved after 100 warm-up runs each. "Off" is the same broker over the same store with `appendSent` and `appendReceipts` made no-ops: what the sent log and receipts themselves cost. Recipients hold live leases. The loop guard (issue 14, built separately) is not in these rows.',
        ],
      };
      const statusTable = await measureStatus(on, from, other, quick);
      return [sendTable, statusTable];
    } finally {
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
};

/** `message_status` of 100 ids (half delivered) in a sent log of 10,000. */
async function measureStatus(
  broker: Broker,
  from: string,
  reader: string,
  quick: boolean,
): Promise<Table> {
  const total = quick ? 2_000 : 10_000;
  const me = (await broker.registration(from))!;
  const them = (await broker.registration(reader))!;
  // A log built over time, as a conversation builds it: one send a second
  // (the run's own clock), ending now.
  let at = Date.now() - total * 1000;
  const past = new Broker({
    store: broker.store,
    now: () => new Date(at += 1000),
  });
  const ids: string[] = [];
  for (let i = 0; i < total; i++) {
    ids.push(
      (await past.send(from, {
        to_alias: them.alias,
        content: `${i}: ${BODY}`,
      })).id,
    );
    if (i % 500 === 499 && i < total - 1) await past.pollInbox(reader);
  }
  // The last 500 stay queued: half the asked ids are delivered, half not.
  const asked = [...ids.slice(-600, -550), ...ids.slice(-50)];
  const spread = ids.filter((_, i) => i % Math.floor(total / 100) === 0)
    .slice(0, 100);
  const samples = quick ? 30 : 200;
  const results = await measureInterleaved([
    {
      samples,
      op: () => broker.messageStatus(from, { ids: asked }),
    },
    {
      samples,
      op: () => broker.messageStatus(from, { ids: spread }),
    },
    {
      samples,
      op: () => broker.messageStatus(from, { last: 100 }),
    },
  ]);
  const [recent, wide, last] = results.map(summarize);
  const met = (s: ReturnType<typeof summarize>) =>
    s.p50 <= STATUS_P50_TARGET_MS;
  const target = `p50 ≤ ${STATUS_P50_TARGET_MS} ms`;
  return {
    title: `${CONV_STATUS_TITLE} of 100 ids, sent log of ${
      fmtInt(total)
    } (file store)`,
    columns: COLUMNS,
    rows: [
      row(
        "100 recent ids (50 delivered, 50 queued)",
        recent,
        null,
        target,
        met(recent),
      ),
      row(
        "100 ids spread over the whole log (reads it all)",
        wide,
        null,
        "—",
        undefined,
      ),
      row("`last: 100`", last, null, target, met(last)),
    ],
    notes: [
      `${me.alias} sent ${
        fmtInt(total)
      } DMs, one a second; its peer drained them every 500 (one receipt each), the newest 500 wait. A lookup by id reads the sent log from its end until every id is found, and the receipt log from its end back to 5 minutes before the oldest asked message was sent (at most 10,000 lines each), then the recipient's pending inbox for those not delivered.`,
    ],
  };
}
