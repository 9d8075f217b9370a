// Two (and more) sessions claiming the same file at the same instant:
// exactly one wins, every time. Each racer is its own process holding its
// session's lease; a round starts when the test writes "go N" to every
// racer at once (an event, not a timer), so their claims meet in the store.
// Then the same through the CLI: `c2c claim` processes started together.

import assert from "node:assert/strict";
import { DENO, lines, REPO } from "./_helpers.ts";
import { c2c, tempDir } from "./_cli.ts";

const RACERS = 8;
const ROUNDS = 25;

interface Racer {
  child: Deno.ChildProcess;
  out: AsyncGenerator<string>;
  writer: WritableStreamDefaultWriter<Uint8Array>;
}

async function racer(root: string, i: number): Promise<Racer> {
  const child = new Deno.Command(DENO, {
    args: [
      "run",
      "--no-prompt",
      `--allow-read=${root}`,
      `--allow-write=${root}`,
      `${REPO}/tests/fixtures/claim_racer.ts`,
      root,
      `racer-${i}-s`,
      `racer-${i}`,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const out = lines(child.stdout);
  const first = await out.next();
  assert.equal(first.value, "ready");
  return { child, out, writer: child.stdin.getWriter() };
}

Deno.test("claim() from 8 processes at the same instant: exactly one wins, 25 rounds in a row", async () => {
  await using dir = await tempDir("c2c-claim-race-");
  const racers = await Promise.all(
    Array.from({ length: RACERS }, (_, i) => racer(dir.path, i)),
  );
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const go = new TextEncoder().encode(`go ${round}\n`);
      await Promise.all(racers.map((r) => r.writer.write(go)));
      const results = await Promise.all(
        racers.map(async (r) =>
          JSON.parse((await r.out.next()).value as string) as {
            round: number;
            granted: boolean;
            holder: string;
          }
        ),
      );
      const winners = results.filter((r) => r.granted);
      assert.equal(
        winners.length,
        1,
        `round ${round}: ${JSON.stringify(results)}`,
      );
      // Every loser was told who holds it: the one winner.
      const winner = winners[0].holder;
      for (const r of results) {
        assert.equal(r.round, round);
        assert.equal(r.holder, winner);
      }
    }
  } finally {
    for (const r of racers) await r.writer.close().catch(() => {});
    for (const r of racers) await r.child.status;
  }
});

Deno.test("c2c claim from 6 processes started together: exactly one exits 0, the others name the winner", async () => {
  await using dir = await tempDir("c2c-claim-race-cli-");
  // The sessions are live (their leases held by racers), and each command
  // runs as its own session, as inside its client.
  const racers = await Promise.all(
    Array.from({ length: 6 }, (_, i) => racer(dir.path, i)),
  );
  try {
    for (let round = 1; round <= 3; round++) {
      const runs = await Promise.all(racers.map((_, i) =>
        c2c(dir.path, [
          "claim",
          `cli-${round}.ts`,
          "--reason",
          `cli racer ${i}`,
          "--json",
        ], { env: { C2C_MCP_SESSION_ID: `racer-${i}-s` } })
      ));
      const winners = runs.filter((r) => r.code === 0);
      assert.equal(
        winners.length,
        1,
        runs.map((r) => `${r.code} ${r.stdout} ${r.stderr}`).join("\n"),
      );
      const winner = winners[0].json<{ granted: { holder: string }[] }>()
        .granted[0].holder;
      for (const r of runs.filter((r) => r.code !== 0)) {
        assert.equal(r.code, 1, r.stderr);
        const out = r.json<{ conflicts: { holder: string }[] }>();
        assert.deepEqual(out.conflicts.map((c) => c.holder), [winner]);
      }
    }
  } finally {
    for (const r of racers) await r.writer.close().catch(() => {});
    for (const r of racers) await r.child.status;
  }
});
