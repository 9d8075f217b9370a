/**
 * `list` through the library with 10, 100 and 1,000 registrations.
 *
 * @module
 */

import type { BenchGroup } from "./group.ts";
import {
  fillInbox,
  measureInterleaved,
  type Peers,
  registerPeers,
  withTempBrokers,
} from "./_harness.ts";
import { summarize } from "./stats.ts";
import { fmtInt, fmtMs, fmtUs, type Table } from "./table.ts";

const BIG_INBOX = 100_000;

/** The `list` group. */
export const listGroup: BenchGroup = {
  name: "list",
  title: "list vs. number of registrations (library)",
  run: ({ quick }) => {
    const cases = [
      { peers: 10, bigInbox: 0, samples: quick ? 200 : 2000 },
      { peers: 100, bigInbox: 0, samples: quick ? 100 : 1000 },
      { peers: 1000, bigInbox: 0, samples: quick ? 20 : 200 },
      { peers: 10, bigInbox: BIG_INBOX, samples: quick ? 20 : 200 },
    ];
    return withTempBrokers(cases.length, async (brokers) => {
      const all: Peers[] = [];
      try {
        for (const [i, c] of cases.entries()) {
          const peers = await registerPeers(brokers[i], "peer", c.peers);
          all.push(peers);
          peers.sessions.forEach((session, k) =>
            fillInbox(
              brokers[i],
              session,
              peers.aliases[k],
              k === 0 && c.bigInbox > 0 ? c.bigInbox : 1,
            )
          );
        }
        const results = await measureInterleaved(cases.map((c, i) => ({
          samples: c.samples,
          op: async () => {
            const { peers } = await brokers[i].list();
            if (peers.length !== c.peers) {
              throw new Error(`list returned ${peers.length} peers`);
            }
          },
        })));
        const rows = cases.map((c, i) => {
          const s = summarize(results[i]);
          return [
            fmtInt(c.peers),
            c.bigInbox > 0 ? `1 × ${fmtInt(c.bigInbox)}, rest 1` : "1 each",
            fmtInt(s.n),
            fmtMs(s.p50),
            fmtMs(s.p95),
            fmtMs(s.p99),
            fmtMs(s.mean),
            c.bigInbox > 0 ? "—" : fmtUs(s.p50 / c.peers),
          ];
        });
        const table: Table = {
          title: "`list` with N registered sessions",
          columns: [
            "registrations",
            "pending",
            "samples",
            "p50",
            "p95",
            "p99",
            "mean",
            "p50 per registration",
          ],
          rows,
          notes: [
            "Every session holds a live lease, so each registration costs a lease probe and an inbox read (`pending` counts the newlines of the whole inbox file; the last row shows what one large inbox adds). The registry parse is cached in-process after the first call (as in a long-lived MCP server; a CLI call pays it once). No target in the issues.",
          ],
        };
        return [table];
      } finally {
        for (const peers of all) peers[Symbol.dispose]();
      }
    });
  },
};
