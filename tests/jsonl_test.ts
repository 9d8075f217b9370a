// JSON Lines readers: the backward tail reader agrees with the forward one.

import assert from "node:assert/strict";
import {
  appendJsonlUnlocked,
  countLines,
  readJsonl,
  readJsonlTail,
} from "../lib/jsonl.ts";
import { CorruptFileError } from "../mod.ts";

const ok = () => null;

Deno.test("readJsonlTail() matches readJsonl() across chunk boundaries and multi-byte text", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/t.jsonl`;
  const records = Array.from({ length: 3000 }, (_, i) => ({
    i,
    text: "é✓𝄞".repeat(i % 37) + "x".repeat(i % 101),
  }));
  await Deno.writeTextFile(
    path,
    records.map((r) => JSON.stringify(r)).join("\n") + "\n",
  );
  const all = readJsonl<{ i: number }>(path, ok).records;
  for (const limit of [0, 1, 2, 7, 500, 2999, 3000, 5000]) {
    assert.deepEqual(
      readJsonlTail(path, ok, { limit }),
      limit === 0 ? [] : all.slice(-limit),
      `limit ${limit}`,
    );
  }
  assert.deepEqual(
    readJsonlTail<{ i: number }>(path, ok, { stopAt: (r) => r.i < 2990 })
      .map((r) => r.i),
    [2990, 2991, 2992, 2993, 2994, 2995, 2996, 2997, 2998, 2999],
  );
  assert.equal(countLines(path), 3000);
  // A torn tail (even one longer than a chunk) is skipped.
  await Deno.writeTextFile(path, '{"i": 9999, "text": "' + "y".repeat(70_000), {
    append: true,
  });
  assert.deepEqual(readJsonlTail(path, ok, { limit: 1 }), [all.at(-1)]);
  assert.equal(countLines(path), 3000);
});

Deno.test("readJsonlTail() reports a bad line with the file name", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/bad.jsonl`;
  await Deno.writeTextFile(path, '{"a":1}\nnot json\n{"a":2}\n');
  assert.deepEqual(readJsonlTail(path, ok, { limit: 1 }), [{ a: 2 }]);
  assert.throws(
    () => readJsonlTail(path, ok, { limit: 3 }),
    (e: unknown) => e instanceof CorruptFileError && e.message.includes(path),
  );
  assert.deepEqual(readJsonlTail(`${dir}/missing`, ok, { limit: 3 }), []);
});

Deno.test("appendJsonlUnlocked() after a torn line: readJsonlTail({skipBad}) skips the damaged line and keeps the rest", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/sent/a.jsonl`;
  appendJsonlUnlocked(path, [{ i: 1 }]);
  await Deno.writeTextFile(path, '{"i": 2, "torn', { append: true });
  appendJsonlUnlocked(path, [{ i: 3 }, { i: 4 }]);
  assert.throws(() => readJsonlTail(path, ok, {}), CorruptFileError);
  assert.deepEqual(
    readJsonlTail<{ i: number }>(path, ok, { skipBad: true }).map((r) => r.i),
    [1, 4],
  );
  await Deno.remove(dir, { recursive: true });
});
