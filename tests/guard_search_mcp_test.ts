// The loop guard, the rate limit and search over MCP, with real server
// processes and the SDK client: two agents answering each other by script
// are stopped within the window while another pair keeps talking; the audit
// log records the refusal, never the body; search finds by word across
// direct messages and rooms and never returns another session's private
// messages.

import assert from "node:assert/strict";
import type { Message } from "../lib/message.ts";
import type { SearchResult } from "../lib/search.ts";
import type { SendAllResult } from "../lib/types.ts";
import { connect, type Connection } from "./_mcp.ts";

function agent(root: string, alias: string): Promise<Connection> {
  return connect(root, {
    C2C_MCP_SESSION_ID: `${alias}-s`,
    C2C_MCP_AUTO_REGISTER_ALIAS: alias,
  });
}

async function agents(
  root: string,
  aliases: string[],
): Promise<Record<string, Connection>> {
  const out: Record<string, Connection> = {};
  for (const a of aliases) {
    out[a] = await agent(root, a);
    await out[a].ok("register");
  }
  return out;
}

async function closeAll(all: Record<string, Connection>): Promise<void> {
  for (const c of Object.values(all)) await c.close();
}

function errorText(r: { content: unknown[] }): string {
  return (r.content[0] as { text: string }).text;
}

/** One more message between the pair that keeps talking. */
async function chat(all: Record<string, Connection>, n: number): Promise<void> {
  await all.carol.ok("send", { to_alias: "dave", content: `note ${n}` });
}

Deno.test("two agents auto-replying the same words are stopped as a loop within the window; another pair keeps talking; the audit log has the refusal, not the body", async () => {
  const root = await Deno.makeTempDir({ prefix: "c2c-loop-" });
  const all = await agents(root, ["ping", "pong", "carol", "dave"]);
  try {
    const { ping, pong } = all;
    let rounds = 0;
    let refusal = "";
    // The scripted loop: each answers whatever the other said, with the
    // same words every time, and waits for the answer.
    for (let i = 0; i < 50 && refusal === ""; i++) {
      const asked = await ping.call("send", {
        to_alias: "pong",
        content: "are you still there?",
      });
      if (asked.isError) {
        refusal = errorText(asked);
        break;
      }
      const got = await pong.ok<{ messages: Message[] }>("wait_for_message", {
        from_alias: "ping",
        timeout_s: 30,
      });
      const answered = await pong.call("send", {
        to_alias: "ping",
        content: "yes, are you?",
        reply_to: got.messages[0].id,
      });
      if (answered.isError) {
        refusal = errorText(answered);
        break;
      }
      await ping.ok("wait_for_message", { from_alias: "pong", timeout_s: 30 });
      rounds++;
      await chat(all, i);
    }
    // The default loop_repeat_limit (5): the 6th identical message is refused.
    assert.equal(rounds, 5);
    assert.match(refusal, /reply loop/);
    assert.match(refusal, /retry after ([1-9]|[1-5]\d|60) s/);
    // The other pair is untouched, and so is a different message.
    await chat(all, 100);
    const notes = await all.dave.ok<{ messages: Message[] }>("poll_inbox");
    assert.equal(notes.messages.length, 6);
    await ping.ok("send", { to_alias: "pong", content: "stopping now" });
    const log = await ping.ok<{ entries: Record<string, unknown>[] }>(
      "tail_log",
      { limit: 100 },
    );
    assert.ok(log.entries.some((e) => e.error === "loop_detected"));
    assert.ok(!JSON.stringify(log).includes("are you still there"));
  } finally {
    await closeAll(all);
  }
});

Deno.test("a sender over rate_limit_messages to one peer is refused with when to retry; send_all skips that peer; other peers and rooms still get its messages", async () => {
  const root = await Deno.makeTempDir({ prefix: "c2c-rate-" });
  await Deno.writeTextFile(
    `${root}/config.json`,
    JSON.stringify({ rate_limit_messages: 8, rate_limit_window_s: 30 }),
  );
  const all = await agents(root, ["ping", "pong", "carol", "dave"]);
  try {
    const { ping, pong } = all;
    let sent = 0;
    let refusal = "";
    for (let i = 0; i < 50; i++) {
      const r = await ping.call("send", {
        to_alias: "pong",
        content: `status update ${i}`,
      });
      if (r.isError) {
        refusal = errorText(r);
        break;
      }
      sent++;
      // pong answers each, with new words: no loop, only volume.
      await pong.ok("send", { to_alias: "ping", content: `ack ${i}` });
      if (i % 4 === 0) await chat(all, i); // the other pair, at its own pace
    }
    assert.equal(sent, 8);
    assert.match(refusal, /you sent 8 messages to pong within 30 s/);
    assert.match(refusal, /retry after ([1-9]|[12]\d|30) s/);
    // Answers the other way were counted for pong → ping, not against ping.
    const acks = await ping.ok<{ messages: Message[] }>("poll_inbox");
    assert.equal(acks.messages.length, 8);
    const all_ = await ping.ok<SendAllResult>("send_all", {
      content: "heads up, everyone",
    });
    assert.deepEqual(all_.skipped, [{ alias: "pong", reason: "rate limited" }]);
    assert.deepEqual(all_.sent_to.map((s) => s.to_alias).sort(), [
      "carol",
      "dave",
    ]);
    await chat(all, 99);
    const notes = await all.dave.ok<{ messages: Message[] }>("poll_inbox");
    assert.deepEqual(
      notes.messages.map((m) => m.content).filter((c) => c.startsWith("note")),
      ["note 0", "note 4", "note 99"],
    );
  } finally {
    await closeAll(all);
  }
});

Deno.test("search_messages finds by word across direct messages and rooms, newest first, and never returns another session's private messages", async () => {
  const root = await Deno.makeTempDir({ prefix: "c2c-search-" });
  const all = await agents(root, ["alpha", "bravo", "charlie"]);
  try {
    const { alpha, bravo, charlie } = all;
    await alpha.ok("join_room", { room_id: "lounge" });
    await bravo.ok("join_room", { room_id: "lounge" });
    await alpha.ok("send", { to_alias: "bravo", content: "Deploy finished" });
    await bravo.ok("send", {
      to_alias: "charlie",
      content: "the secret deploy key is hunter2",
    });
    await charlie.ok("send", { to_alias: "alpha", content: "DEPLOY again?" });
    await bravo.ok("send_room", {
      room_id: "lounge",
      content: "deploy window opens at noon",
    });
    await alpha.ok("send", { to_alias: "bravo", content: "unrelated words" });
    await alpha.ok("poll_inbox");
    await charlie.ok("poll_inbox");

    const found = await alpha.ok<SearchResult>("search_messages", {
      query: "deploy",
    });
    assert.deepEqual(
      found.hits.map((h) => [h.direction, h.from_alias, h.content]),
      [
        ["in", "bravo", "deploy window opens at noon"],
        ["in", "charlie", "DEPLOY again?"],
        ["out", "alpha", "Deploy finished"],
      ],
    );
    assert.equal(found.hits[0].room_id, "lounge");
    assert.equal(found.more, false);
    assert.ok(!JSON.stringify(found).includes("hunter2"));

    // charlie, who is not in the room, finds what it received and sent.
    const theirs = await charlie.ok<SearchResult>("search_messages", {
      query: "DePlOy",
    });
    assert.deepEqual(theirs.hits.map((h) => h.content), [
      "DEPLOY again?",
      "the secret deploy key is hunter2",
    ]);
    const one = await charlie.ok<SearchResult>("search_messages", {
      query: "deploy",
      limit: 1,
    });
    assert.equal(one.hits.length, 1);
    assert.equal(one.more, true);
    assert.match(
      await charlie.fails("search_messages", { query: "" }),
      /query/,
    );
  } finally {
    await closeAll(all);
  }
});
