/**
 * `send_room` fan-out through the library: rooms of 2, 10 and 50 members,
 * each post appended to the history and copied into every other member's
 * inbox.
 *
 * @module
 */

import type { BenchGroup } from "./group.ts";
import {
  BODY,
  fileSize,
  measureInterleaved,
  registerPeers,
  withTempBroker,
} from "./_harness.ts";
import { summarize } from "./stats.ts";
import { fmtInt, fmtMs, fmtUs, type Table } from "./table.ts";

/** Posts between two resets of a room's history to its starting length. */
const HISTORY_RESET_EVERY = 50;

/** The `send_room` fan-out group. */
export const sendRoomGroup: BenchGroup = {
  name: "send_room",
  title: "send_room fan-out (library)",
  run: ({ quick }) =>
    withTempBroker(async (broker) => {
      const sizes = [2, 10, 50];
      const samples = quick ? 150 : 2000;
      using members = await registerPeers(
        broker,
        "member",
        Math.max(...sizes),
      );
      const sender = members.sessions[0];
      const rooms = sizes.map((size) => `room-${size}`);
      const baselines: number[] = [];
      for (const [r, size] of sizes.entries()) {
        for (const session of members.sessions.slice(0, size)) {
          await broker.joinRoom(session, {
            room_id: rooms[r],
            history_limit: 0,
          });
        }
        baselines.push(fileSize(broker.paths.roomHistory(rooms[r])));
      }
      const results = await measureInterleaved(sizes.map((size, r) => ({
        samples,
        warmup: 50,
        // Reading the history for dedupe grows with it (see the room_history
        // group); keep it short here so this table shows fan-out alone.
        before: (i) => {
          if (i % HISTORY_RESET_EVERY === 0) {
            Deno.truncateSync(broker.paths.roomHistory(rooms[r]), baselines[r]);
          }
        },
        op: async (i) => {
          const result = await broker.sendRoom(sender, {
            room_id: rooms[r],
            content: `${i}: ${BODY}`,
          });
          if (result.queued_count !== size - 1) {
            throw new Error(`send_room queued ${result.queued_count} copies`);
          }
        },
      })));
      const rows = sizes.map((size, r) => {
        const s = summarize(results[r]);
        return [
          fmtInt(size),
          fmtInt(size - 1),
          fmtInt(s.n),
          fmtMs(s.p50),
          fmtMs(s.p95),
          fmtMs(s.p99),
          fmtMs(s.mean),
          fmtUs(s.p50 / (size - 1)),
        ];
      });
      const table: Table = {
        title: "`send_room` to a room of N members",
        columns: [
          "members",
          "copies queued",
          "samples",
          "p50",
          "p95",
          "p99",
          "mean",
          "p50 per copy",
        ],
        rows,
        notes: [
          `Every member holds a live lease. Rooms are posted to in turn (interleaved) after 50 warm-up posts each; each room's history is cut back to its starting length every ${HISTORY_RESET_EVERY} posts (untimed), so it never exceeds ${
            HISTORY_RESET_EVERY + 2
          } lines and this table shows fan-out cost, not history growth. No target in the issues.`,
        ],
      };
      return [table];
    }),
};
