/**
 * `poll_inbox` through the library: the time to drain an inbox holding 1,
 * 100, 500 and 10,000 messages (read, append to the archive, truncate).
 *
 * @module
 */

import type { BenchGroup } from "./group.ts";
import {
  fillInbox,
  measureInterleaved,
  registerPeers,
  withTempBroker,
} from "./_harness.ts";
import { summarize } from "./stats.ts";
import { fmtInt, fmtMs, fmtUs, type Table } from "./table.ts";

/** The `poll_inbox` group. */
export const pollGroup: BenchGroup = {
  name: "poll",
  title: "poll_inbox drain time (library)",
  run: ({ quick }) =>
    withTempBroker(async (broker) => {
      const cases = [
        { queued: 1, samples: quick ? 200 : 2000 },
        { queued: 100, samples: quick ? 100 : 1000 },
        { queued: 500, samples: quick ? 40 : 400 },
        { queued: 10_000, samples: quick ? 5 : 50 },
      ];
      using peers = await registerPeers(broker, "poller", cases.length);
      const results = await measureInterleaved(cases.map((c, i) => ({
        samples: c.samples,
        warmup: Math.max(2, Math.round(c.samples / 10)),
        before: () =>
          fillInbox(broker, peers.sessions[i], peers.aliases[i], c.queued),
        op: async () => {
          const { messages } = await broker.pollInbox(peers.sessions[i]);
          if (messages.length !== c.queued) {
            throw new Error(
              `poll returned ${messages.length} messages, expected ${c.queued}`,
            );
          }
        },
      })));
      const rows = cases.map((c, i) => {
        const s = summarize(results[i]);
        return [
          fmtInt(c.queued),
          fmtInt(s.n),
          fmtMs(s.p50),
          fmtMs(s.p95),
          fmtMs(s.p99),
          fmtMs(s.mean),
          fmtUs(s.p50 / c.queued),
          fmtInt((1000 * c.queued) / s.mean),
        ];
      });
      const table: Table = {
        title: "`poll_inbox` draining N queued messages",
        columns: [
          "queued",
          "samples",
          "p50",
          "p95",
          "p99",
          "mean",
          "p50 per message",
          "messages/s",
        ],
        rows,
        notes: [
          "Each sample re-fills the inbox (untimed) and then times one `Broker.pollInbox`, which parses and validates every line, appends them to the archive and truncates the inbox. Sizes are interleaved. No target in the issues for the library; issue 3 asks for `poll_inbox` of 500 through the MCP server (measured by the MCP group).",
        ],
      };
      return [table];
    }),
};
