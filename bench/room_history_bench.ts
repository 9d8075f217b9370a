/**
 * `send_room` latency as a room's history grows. The 60-second dedupe check
 * reads the room's history, so this shows how that cost scales.
 *
 * @module
 */

import type { BenchGroup } from "./group.ts";
import {
  BODY,
  fileSize,
  fillHistory,
  measureInterleaved,
  registerPeers,
  withTempBroker,
} from "./_harness.ts";
import { summarize } from "./stats.ts";
import { fmtInt, fmtMs, fmtRatio, fmtUs, type Table } from "./table.ts";

/** Posts between two resets of a room's history to its starting length. */
const HISTORY_RESET_EVERY = 20;

/** The room history growth group. */
export const roomHistoryGroup: BenchGroup = {
  name: "room_history",
  title: "send_room vs. room history length (library)",
  run: ({ quick }) =>
    withTempBroker(async (broker) => {
      const cases = quick
        ? [
          { history: 0, samples: 100 },
          { history: 1_000, samples: 100 },
          { history: 10_000, samples: 40 },
        ]
        : [
          { history: 0, samples: 1000 },
          { history: 1_000, samples: 1000 },
          { history: 10_000, samples: 200 },
          { history: 100_000, samples: 30 },
        ];
      using members = await registerPeers(broker, "member", 2);
      const rooms = cases.map((c) => `history-${c.history}`);
      const baselines: number[] = [];
      for (const [r, c] of cases.entries()) {
        for (const session of members.sessions) {
          await broker.joinRoom(session, {
            room_id: rooms[r],
            history_limit: 0,
          });
        }
        fillHistory(broker, rooms[r], c.history);
        baselines.push(fileSize(broker.paths.roomHistory(rooms[r])));
      }
      const sender = members.sessions[0];
      const results = await measureInterleaved(cases.map((c, r) => ({
        samples: c.samples,
        warmup: Math.max(3, Math.round(c.samples / 10)),
        before: (i) => {
          if (i % HISTORY_RESET_EVERY === 0) {
            Deno.truncateSync(broker.paths.roomHistory(rooms[r]), baselines[r]);
          }
        },
        op: (i) =>
          broker.sendRoom(sender, {
            room_id: rooms[r],
            content: `${i}: ${BODY}`,
          }),
      })));
      const stats = results.map(summarize);
      const base = stats[0];
      const rows = cases.map((c, r) => {
        const s = stats[r];
        return [
          fmtInt(c.history),
          fmtInt(s.n),
          fmtMs(s.p50),
          fmtMs(s.p95),
          fmtMs(s.p99),
          fmtMs(s.mean),
          fmtRatio(s.p50 / base.p50),
          c.history === 0 ? "—" : fmtUs((s.p50 - base.p50) / c.history),
        ];
      });
      const table: Table = {
        title: "`send_room` (2 members) with N messages already in the history",
        columns: [
          "history",
          "samples",
          "p50",
          "p95",
          "p99",
          "mean",
          "p50 / empty",
          "extra per history message",
        ],
        rows,
        notes: [
          `Pre-filled posts are an hour old (outside the 60 s dedupe window), as most history is. Rooms are posted to in turn; each history is cut back to its starting length every ${HISTORY_RESET_EVERY} posts (untimed). The issues set no target here; docs/design.md#files asks that a send cost the same whatever the inbox holds, and a room post is the one send whose cost grows with stored data.`,
        ],
      };
      return [table];
    }),
};
