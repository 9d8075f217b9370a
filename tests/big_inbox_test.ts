// An inbox past V8's longest string (about 512 MiB), as one could grow before
// the inbox quota existed: it is read line by line, and the CLI prints a
// bounded part of it, never one giant string.

import assert from "node:assert/strict";
import { c2c, exits, registerAll, tempDir } from "./_cli.ts";

Deno.test("an inbox over 512 MiB reads: peek-inbox prints the oldest within bounds, repair finds nothing wrong", async () => {
  await using dir = await tempDir();
  await registerAll(dir.path, ["a", "b"]);
  const body = "q".repeat(64 * 1024 - 200);
  const file = await Deno.open(`${dir.path}/b-s.inbox.jsonl`, {
    write: true,
    create: true,
  });
  const encoder = new TextEncoder();
  let written = 0;
  for (let i = 0; written < 540 * 1024 * 1024; i++) {
    const line = encoder.encode(
      JSON.stringify({
        id: `m${i}`,
        ts: "2026-01-01T00:00:00.000Z",
        from_alias: "a",
        to_alias: "b",
        content: body,
      }) + "\n",
    );
    await file.write(line);
    written += line.length;
  }
  file.close();
  const peek = exits(
    await c2c(dir.path, [
      "peek-inbox",
      "--session-id",
      "b-s",
      "--limit",
      "2",
      "--json",
    ]),
    0,
  ).json<{ messages: { id: string }[]; remaining: number }>();
  assert.deepEqual(peek.messages.map((m) => m.id), ["m0", "m1"]);
  assert.ok(peek.remaining > 8000, `${peek.remaining}`);
  const repair = exits(await c2c(dir.path, ["repair", "--dry-run"]), 0);
  assert.match(repair.stdout, /nothing to repair/);
});

Deno.test("poll-inbox and peek-inbox print at most --limit and say how many more wait", async () => {
  await using dir = await tempDir();
  await registerAll(dir.path, ["a", "b"]);
  for (const n of ["one", "two", "three"]) {
    exits(await c2c(dir.path, ["send", "b", n, "--session-id", "a-s"]), 0);
  }
  const peek = exits(
    await c2c(dir.path, ["peek-inbox", "--session-id", "b-s", "--limit", "1"]),
    0,
  );
  assert.match(
    peek.stdout,
    />one<\/c2c>\n\(2 more messages waiting: run it again\)\n$/,
  );
  const poll = exits(
    await c2c(dir.path, ["poll-inbox", "--session-id", "b-s", "--limit", "2"]),
    0,
  );
  assert.match(
    poll.stdout,
    />two<\/c2c>\n\(1 more message waiting: run it again\)\n$/,
  );
  const rest = exits(
    await c2c(dir.path, ["poll-inbox", "--session-id", "b-s", "--json"]),
    0,
  ).json<{ messages: { content: string }[]; remaining: number }>();
  assert.deepEqual(rest.messages.map((m) => m.content), ["three"]);
  assert.equal(rest.remaining, 0);
});
