/**
 * `send` latency through the library while the recipient's inbox already
 * holds 0, 1,000, 10,000 and 100,000 messages. An inbox is append-only, so a
 * send must cost the same however full it is (issues 3 and 8).
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
} from "./_harness.ts";
import { summarize } from "./stats.ts";
import { fmtInt, fmtMet, fmtMs, fmtRatio, type Table } from "./table.ts";

/** Issue 3: `send` p50 ≤ 1 ms (through the MCP server; the library is its floor). */
export const SEND_P50_TARGET_MS = 1;
/** Issues 3 and 8: a send into a full inbox is no slower than into an empty one, ±50%. */
export const FLAT_RATIO_TARGET = 1.5;

/** The `send` scaling group. */
export const sendGroup: BenchGroup = {
  name: "send",
  title: "send latency vs. inbox size (library)",
  run: ({ quick }) =>
    withTempBroker(async (broker) => {
      const sizes = [0, 1_000, 10_000, 100_000];
      const samples = quick ? 300 : 2000;
      using sender = await registerPeers(broker, "sender", 1);
      using inboxes = await registerPeers(broker, "inbox", sizes.length);
      sizes.forEach((size, i) =>
        fillInbox(broker, inboxes.sessions[i], inboxes.aliases[i], size)
      );
      const from = sender.sessions[0];
      const results = await measureInterleaved(sizes.map((_, i) => ({
        samples,
        warmup: 100,
        op: (n) =>
          broker.send(from, {
            to_alias: inboxes.aliases[i],
            content: `${n}: ${BODY}`,
          }),
      })));
      const stats = results.map(summarize);
      const base = stats[0];
      const rows = sizes.map((size, i) => {
        const s = stats[i];
        const ratio = s.p50 / base.p50;
        const target = i === 0
          ? `p50 ≤ ${SEND_P50_TARGET_MS} ms¹`
          : `p50 ≤ ${FLAT_RATIO_TARGET}× empty`;
        const met = i === 0
          ? s.p50 <= SEND_P50_TARGET_MS
          : ratio <= FLAT_RATIO_TARGET;
        return [
          fmtInt(size),
          fmtInt(s.n),
          fmtMs(s.p50),
          fmtMs(s.p95),
          fmtMs(s.p99),
          fmtMs(s.mean),
          fmtInt(s.opsPerSec),
          fmtRatio(ratio),
          fmtRatio(s.p99 / base.p99),
          target,
          fmtMet(met),
        ];
      });
      const table: Table = {
        title: "`send` into an inbox already holding N messages",
        columns: [
          "queued",
          "samples",
          "p50",
          "p95",
          "p99",
          "mean",
          "ops/s",
          "p50 / empty",
          "p99 / empty",
          "target",
          "met",
        ],
        rows,
        notes: [
          `One process, \`Broker.send\` called directly; the four inboxes are sent to in turn (interleaved) after 100 warm-up sends each, so machine drift hits every row alike. Recipients hold live leases, as MCP servers do. The bench runs with \`--allow-all\`; with read/write scoped to the broker root, as the MCP server runs, Deno's permission check adds to every file operation (see the throughput group's two single-writer rows). Each inbox grows by ${
            fmtInt(samples + 100)
          } during the run.`,
          "¹ Issue 3 sets `send` p50 ≤ 1 ms through a persistent MCP server; the library call is the floor of that figure, not the figure itself.",
        ],
      };
      return [table];
    }),
};
