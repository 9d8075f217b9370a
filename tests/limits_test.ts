// Limits that protect a receiver from its senders: every field bounded, the
// body limit and the inbox quota set by the broker (config.json), never by a
// sender's environment.

import assert from "node:assert/strict";
import { c2c, exits, registerAll, tempDir } from "./_cli.ts";
import { connect } from "./_mcp.ts";

function writeConfig(root: string, config: Record<string, number>): void {
  Deno.writeTextFileSync(`${root}/config.json`, JSON.stringify(config));
}

Deno.test("send refuses a reply_to that is not a message id, however long", async () => {
  await using dir = await tempDir();
  await using alice = await connect(dir.path, {
    C2C_MCP_SESSION_ID: "alice-s",
    C2C_MCP_AUTO_REGISTER_ALIAS: "alice",
  });
  await using _bob = await connect(dir.path, {
    C2C_MCP_SESSION_ID: "bob-s",
    C2C_MCP_AUTO_REGISTER_ALIAS: "bob",
  });
  const huge = "x".repeat(3 * 1024 * 1024);
  for (const replyTo of [huge, "", "a b", "<c2c>"]) {
    const text = await alice.fails("send", {
      to_alias: "bob",
      content: "hi",
      reply_to: replyTo,
    });
    assert.match(text, /reply_to must be the id of a message/);
  }
  const ok = await alice.ok<{ id: string }>("send", {
    to_alias: "bob",
    content: "hi",
    reply_to: crypto.randomUUID(),
  });
  assert.ok(ok.id);
  assert.equal(
    Deno.statSync(`${dir.path}/bob-s.inbox.jsonl`).size < 1024,
    true,
  );
});

Deno.test("a sender's C2C_MAX_MESSAGE_BYTES does not raise the broker's limit", async () => {
  await using dir = await tempDir();
  const big = "y".repeat(100 * 1024);
  await using alice = await connect(dir.path, {
    C2C_MCP_SESSION_ID: "alice-s",
    C2C_MCP_AUTO_REGISTER_ALIAS: "alice",
    C2C_MAX_MESSAGE_BYTES: String(64 * 1024 * 1024),
  });
  await using _bob = await connect(dir.path, {
    C2C_MCP_SESSION_ID: "bob-s",
    C2C_MCP_AUTO_REGISTER_ALIAS: "bob",
  });
  const text = await alice.fails("send", { to_alias: "bob", content: big });
  assert.match(text, /the limit is 65536 bytes/);
  const cli = exits(
    await c2c(dir.path, [
      "send",
      "bob",
      big,
      "--json",
    ], {
      // Inside alice's own client: the CLI may act as its live session.
      env: { C2C_MAX_MESSAGE_BYTES: "99999999", C2C_MCP_SESSION_ID: "alice-s" },
    }),
    1,
  );
  assert.equal(cli.error().code, "message_too_large");
});

Deno.test("the broker's config.json sets the body limit for every process", async () => {
  await using dir = await tempDir();
  await registerAll(dir.path, ["a", "b"]);
  writeConfig(dir.path, { max_message_bytes: 10 });
  const r = exits(
    await c2c(dir.path, [
      "send",
      "b",
      "eleven chars",
      "--session-id",
      "a-s",
      "--json",
    ]),
    1,
  );
  assert.equal(r.error().code, "message_too_large");
  assert.match(r.error().message, /limit is 10 bytes \(max_message_bytes/);
  exits(
    await c2c(dir.path, ["send", "b", "ten chars!", "--session-id", "a-s"]),
    0,
  );
});

Deno.test("a config.json that is not valid names itself and is left alone", async () => {
  await using dir = await tempDir();
  await registerAll(dir.path, ["a", "b"]);
  for (const bad of ['{"max_message_bytes": "big"}', '{"nosuch": 1}', "{"]) {
    Deno.writeTextFileSync(`${dir.path}/config.json`, bad);
    const r = exits(
      await c2c(dir.path, ["send", "b", "hi", "--session-id", "a-s", "--json"]),
      1,
    );
    assert.equal(r.error().code, "corrupt_file");
    assert.match(r.error().message, /config\.json is not valid c2c data/);
    assert.equal(Deno.readTextFileSync(`${dir.path}/config.json`), bad);
  }
});

Deno.test("sends into an inbox over its quota are refused; broadcasts and rooms skip it", async () => {
  await using dir = await tempDir();
  await registerAll(dir.path, ["a", "b", "c"]);
  writeConfig(dir.path, { max_inbox_bytes: 4096 });
  const body = "z".repeat(1000);
  let sent = 0;
  for (;;) {
    const r = await c2c(dir.path, [
      "send",
      "b",
      body,
      "--session-id",
      "a-s",
      "--json",
    ]);
    if (r.code !== 0) {
      assert.equal(r.error().code, "inbox_full");
      assert.match(
        r.error().message,
        /'b' has 0\.0 MiB of messages waiting.*inbox quota.*nothing was queued/,
      );
      break;
    }
    sent++;
    assert.ok(sent < 10, "the quota never refused a send");
  }
  assert.ok(Deno.statSync(`${dir.path}/b-s.inbox.jsonl`).size <= 4096);
  const all = exits(
    await c2c(dir.path, ["send-all", body, "--session-id", "a-s", "--json"]),
    0,
  ).json<{ sent_to: { to_alias: string }[]; skipped: unknown[] }>();
  assert.deepEqual(all.sent_to.map((s) => s.to_alias), ["c"]);
  assert.deepEqual(all.skipped, [{ alias: "b", reason: "inbox full" }]);
  for (const s of ["a-s", "b-s", "c-s"]) {
    exits(await c2c(dir.path, ["room", "join", "r", "--session-id", s]), 0);
  }
  const post = exits(
    await c2c(dir.path, [
      "room",
      "send",
      "r",
      body,
      "--session-id",
      "a-s",
      "--json",
    ]),
    0,
  ).json();
  assert.equal(post.queued_count, 1);
  assert.deepEqual(post.skipped, [{ alias: "b", reason: "inbox full" }]);
  // Once b reads its inbox, sends go through again.
  exits(await c2c(dir.path, ["poll-inbox", "--session-id", "b-s"]), 0);
  exits(await c2c(dir.path, ["send", "b", body, "--session-id", "a-s"]), 0);
});
