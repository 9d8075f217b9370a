// The MCP server through the official SDK client over stdio, spawning the real
// server process with the documented permission flags.

import assert from "node:assert/strict";
import { Broker } from "../mod.ts";
import { C2C_TOOL_NAMES, connect, type Connection } from "./_mcp.ts";
import { waitFor } from "./_helpers.ts";

async function tempRoot(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "c2c-mcp-" });
}

/** Starts a server that auto-registers `alias` under session `alias-s`. */
function agent(
  root: string,
  alias: string,
  env: Record<string, string> = {},
): Promise<Connection> {
  return connect(root, {
    C2C_MCP_SESSION_ID: `${alias}-s`,
    C2C_MCP_AUTO_REGISTER_ALIAS: alias,
    ...env,
  });
}

Deno.test("server lists every tool with schemas, titles and annotations", async () => {
  const root = await tempRoot();
  await using a = await agent(root, "storm-beacon");
  const { tools } = await a.client.listTools();
  const names = tools.map((t) => t.name).sort();
  assert.deepEqual(names, [...C2C_TOOL_NAMES]);
  for (const tool of tools) {
    assert.ok(tool.title, `${tool.name} has no title`);
    assert.ok(tool.outputSchema, `${tool.name} has no output schema`);
    assert.equal(tool.inputSchema.type, "object");
    assert.equal(typeof tool.annotations?.readOnlyHint, "boolean");
  }
  const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
  assert.equal(byName.peek_inbox.annotations?.readOnlyHint, true);
  assert.equal(byName.sweep.annotations?.destructiveHint, true);
  assert.equal(byName.send.annotations?.destructiveHint, false);
  assert.equal(byName.join_room.annotations?.idempotentHint, true);
  assert.ok(byName.send.inputSchema.required?.includes("to_alias"));
  const caps = a.client.getServerCapabilities();
  assert.deepEqual(caps?.experimental, { "claude/channel": {} });
  assert.match(a.client.getInstructions() ?? "", /poll_inbox/);
});

Deno.test("server auto-registers, answers whoami, and records the client", async () => {
  const root = await tempRoot();
  await using a = await agent(root, "storm-beacon");
  const me = await a.ok<{ alias: string; alive: boolean; session_id: string }>(
    "whoami",
  );
  assert.equal(me.alias, "storm-beacon");
  assert.equal(me.session_id, "storm-beacon-s");
  assert.equal(me.alive, true);
  const row = await new Broker({ root }).registration("storm-beacon-s");
  assert.equal(row?.client, "c2c-test");
  const r = await a.call("whoami");
  assert.deepEqual(
    JSON.parse((r.content[0] as { text: string }).text),
    r.structuredContent,
  );
});

Deno.test("server register tool registers, refreshes and renames", async () => {
  const root = await tempRoot();
  await using a = await connect(root, { C2C_MCP_SESSION_ID: "s-1" });
  assert.match(await a.fails("whoami"), /not registered; call register/);
  const first = await a.ok<{ alias: string; status: string }>("register");
  assert.equal(first.status, "registered");
  assert.match(first.alias, /^[a-z]+-[a-z]+$/);
  const again = await a.ok<{ status: string }>("register");
  assert.equal(again.status, "already_registered");
  const renamed = await a.ok<{ status: string; previous_alias: string }>(
    "register",
    { alias: "tide-runner" },
  );
  assert.equal(renamed.status, "renamed");
  assert.equal(renamed.previous_alias, first.alias);
  assert.match(
    await a.fails("register", { alias: "Tide" }),
    /aliases are lowercase; use 'tide'/,
  );
  assert.match(await a.fails("register", { alias: "broker" }), /reserved/);
});

Deno.test("two server processes exchange DMs with envelopes in the text", async () => {
  const root = await tempRoot();
  await using a = await agent(root, "storm-beacon");
  await using b = await agent(root, "tide-runner");
  const receipt = await a.ok<{ to_alias: string; queued: boolean; id: string }>(
    "send",
    { to_alias: "tide-runner", content: "hello b", from_alias: "storm-beacon" },
  );
  assert.equal(receipt.queued, true);
  const peek = await b.ok<{ messages: { id: string }[] }>("peek_inbox");
  assert.deepEqual(peek.messages.map((m) => m.id), [receipt.id]);
  const polled = await b.call("poll_inbox");
  const messages = (polled.structuredContent as {
    messages: { content: string; from_alias: string }[];
  }).messages;
  assert.equal(messages[0].content, "hello b");
  assert.equal(messages[0].from_alias, "storm-beacon");
  // The text block is the envelopes (what text-only clients show), the
  // structured result the fields: each body once in each.
  assert.equal(polled.content.length, 1);
  const envelopes = (polled.content[0] as { text: string }).text;
  assert.equal(
    "envelopes" in (polled.structuredContent as Record<string, unknown>),
    false,
  );
  assert.match(
    envelopes,
    /^<c2c event="message" from="storm-beacon" alias="tide-runner" id="[^"]+" ts="[^"]+">hello b<\/c2c>$/,
  );
  assert.deepEqual(
    (await b.ok<{ messages: unknown[] }>("poll_inbox")).messages,
    [],
  );
  const history = await b.ok<{ messages: { content: string }[] }>("history", {
    limit: 5,
  });
  assert.deepEqual(history.messages.map((m) => m.content), ["hello b"]);
  await b.ok("send", { to_alias: "storm-beacon", content: "hi a" });
  const back = await a.ok<{ messages: { content: string }[] }>("poll_inbox");
  assert.deepEqual(back.messages.map((m) => m.content), ["hi a"]);
});

Deno.test("server send reports every error as one line and sends nothing", async () => {
  const root = await tempRoot();
  await using a = await agent(root, "storm-beacon");
  await using b = await agent(root, "tide-runner");
  assert.match(
    await a.fails("send", { to_alias: "nobody", content: "x" }),
    /unknown alias 'nobody'/,
  );
  assert.match(
    await a.fails("send", {
      to_alias: "tide-runner",
      content: "x",
      from_alias: "tide-runner",
    }),
    /from_alias 'tide-runner' is not your alias; this session is registered as 'storm-beacon'/,
  );
  assert.match(
    await a.fails("send", { to_alias: "storm-beacon", content: "x" }),
    /cannot send to yourself/,
  );
  assert.match(
    await a.fails("send", {
      to_alias: "tide-runner",
      content: "x".repeat(70_000),
    }),
    /70000 bytes; the limit is 65536/,
  );
  assert.match(
    await a.fails("send", { to_alias: 5, content: "x" }),
    /expected string.*to_alias/,
  );
  assert.match(
    await a.fails("send", { to_alias: 5 }),
    /to_alias.*content/,
  );
  assert.match(await a.fails("no_such_tool"), /Tool no_such_tool not found/);
  assert.deepEqual(
    (await b.ok<{ messages: unknown[] }>("peek_inbox")).messages,
    [],
  );
});

Deno.test("three server processes: broadcast, rooms and room history", async () => {
  const root = await tempRoot();
  await using a = await agent(root, "storm-beacon");
  await using b = await agent(root, "tide-runner");
  await using c = await agent(root, "ember-fox");
  const all = await a.ok<
    { sent_to: { to_alias: string }[]; skipped: unknown[] }
  >(
    "send_all",
    { content: "hello all" },
  );
  assert.deepEqual(all.sent_to.map((r) => r.to_alias).sort(), [
    "ember-fox",
    "tide-runner",
  ]);
  assert.deepEqual(all.skipped, []);
  for (const peer of [b, c]) {
    const { messages } = await peer.ok<{ messages: { content: string }[] }>(
      "poll_inbox",
    );
    assert.deepEqual(messages.map((m) => m.content), ["hello all"]);
  }
  for (const peer of [a, b, c]) {
    const joined = await peer.ok<{ joined: boolean }>("join_room", {
      room_id: "swarm-lounge",
    });
    assert.equal(joined.joined, true);
  }
  const joinedAgain = await a.ok<
    { already_member: boolean; history: unknown[] }
  >(
    "join_room",
    { room_id: "swarm-lounge", history_limit: 2 },
  );
  assert.equal(joinedAgain.already_member, true);
  assert.equal(joinedAgain.history.length, 2);
  const post = await b.ok<{ member_count: number; queued_count: number }>(
    "send_room",
    { room_id: "swarm-lounge", content: "room hello" },
  );
  assert.deepEqual([post.member_count, post.queued_count], [3, 2]);
  const dup = await b.ok<{ deduplicated: boolean }>("send_room", {
    room_id: "swarm-lounge",
    content: "room hello",
  });
  assert.equal(dup.deduplicated, true);
  for (const peer of [a, c]) {
    const r = await peer.call("poll_inbox");
    const text = (r.content[0] as { text: string }).text;
    assert.match(
      text,
      /^<c2c event="room_message" from="tide-runner" alias="[a-z-]+" room_id="swarm-lounge" id=.*>room hello<\/c2c>$/,
    );
  }
  assert.deepEqual(
    (await b.ok<{ messages: unknown[] }>("peek_inbox")).messages,
    [],
  );
  const history = await c.ok<
    { messages: { content: string }[]; total: number }
  >(
    "room_history",
    { room_id: "swarm-lounge", limit: 1 },
  );
  assert.deepEqual(history.messages.map((m) => m.content), ["room hello"]);
  assert.equal(history.total, 4);
  const rooms = await c.ok<{ rooms: unknown[] }>("list_rooms");
  assert.deepEqual(rooms.rooms, [
    { room_id: "swarm-lounge", member_count: 3, message_count: 4 },
  ]);
  assert.deepEqual((await c.ok<{ rooms: unknown[] }>("my_rooms")).rooms, [
    { room_id: "swarm-lounge", member_count: 3 },
  ]);
  const left = await c.ok<{ left: boolean; member_count: number }>(
    "leave_room",
    { room_id: "swarm-lounge" },
  );
  assert.deepEqual([left.left, left.member_count], [true, 2]);
  assert.match(
    await c.fails("send_room", { room_id: "swarm-lounge", content: "x" }),
    /not a member of room 'swarm-lounge'/,
  );
  assert.match(
    await c.fails("join_room", { room_id: "../etc" }),
    /invalid room id '..\/etc'/,
  );
  assert.match(
    await c.fails("room_history", { room_id: "a/b" }),
    /invalid room id/,
  );
});

Deno.test("a session whose server exits reads dead at once; its alias can be taken over with pending mail", async () => {
  const root = await tempRoot();
  await using a = await agent(root, "storm-beacon");
  const b = await agent(root, "tide-runner");
  await a.ok("send", {
    to_alias: "tide-runner",
    content: "while you were out",
  });
  await b.close();
  await waitFor(
    async () => await new Broker({ root }).liveness("tide-runner-s") === false,
    5000,
    "the exited server's lease to be released",
  );
  const peers = await a.ok<{ peers: { alias: string; alive: boolean }[] }>(
    "list",
  );
  assert.deepEqual(
    peers.peers.map((p) => [p.alias, p.alive]),
    [["storm-beacon", true], ["tide-runner", false]],
  );
  // Queued for the alias's next session (docs/design.md#conversations).
  const queued = await a.ok<{ recipient_alive: boolean; expires_at: string }>(
    "send",
    { to_alias: "tide-runner", content: "x" },
  );
  assert.equal(queued.recipient_alive, false);
  assert.ok(queued.expires_at);
  // A new session (as `claude -p` starts each run) takes the alias over.
  await using b2 = await connect(root, {
    C2C_MCP_SESSION_ID: "tide-runner-s2",
    C2C_MCP_AUTO_REGISTER_ALIAS: "tide-runner",
  });
  const { messages } = await b2.ok<{ messages: { content: string }[] }>(
    "poll_inbox",
  );
  assert.deepEqual(messages.map((m) => m.content), ["while you were out", "x"]);
  await a.ok("send", { to_alias: "tide-runner", content: "welcome back" });
  assert.equal(
    (await b2.ok<{ messages: unknown[] }>("poll_inbox")).messages.length,
    1,
  );
});

Deno.test("auto-register does not hijack a live holder; whoami and tools report the collision", async () => {
  const root = await tempRoot();
  await using a = await agent(root, "storm-beacon");
  await using impostor = await connect(root, {
    C2C_MCP_SESSION_ID: "other-s",
    C2C_MCP_AUTO_REGISTER_ALIAS: "storm-beacon",
  });
  const err = await impostor.fails("whoami");
  assert.match(
    err,
    /C2C_MCP_AUTO_REGISTER_ALIAS 'storm-beacon' could not be registered: alias 'storm-beacon' is held by a live session \(storm-beacon-s\)/,
  );
  assert.match(
    await impostor.fails("send", { to_alias: "storm-beacon", content: "x" }),
    /not registered/,
  );
  assert.equal(
    (await a.ok<{ session_id: string }>("whoami")).session_id,
    "storm-beacon-s",
  );
  const r = await impostor.ok<{ alias: string }>("register", {
    alias: "storm-beacon-2",
  });
  assert.equal(r.alias, "storm-beacon-2");
});

Deno.test("auto-join rooms and alias-derived session ids", async () => {
  const root = await tempRoot();
  await using a = await connect(root, {
    C2C_MCP_AUTO_REGISTER_ALIAS: "codex-alice",
    C2C_MCP_AUTO_JOIN_ROOMS: "lounge, ops",
  });
  const me = await a.ok<{ session_id: string }>("whoami");
  assert.equal(me.session_id, "codex-alice");
  const rooms = await a.ok<{ rooms: { room_id: string }[] }>("my_rooms");
  assert.deepEqual(rooms.rooms.map((r) => r.room_id), ["lounge", "ops"]);
});

Deno.test("session ids come from CLAUDE_CODE_SESSION_ID and GEMINI_SESSION_ID", async () => {
  const root = await tempRoot();
  await using claude = await connect(root, {
    CLAUDE_CODE_SESSION_ID: "11111111-2222-3333-4444-555555555555",
    C2C_MCP_AUTO_REGISTER_ALIAS: "claude-x",
  });
  await using gemini = await connect(root, {
    GEMINI_SESSION_ID: "gem-1",
    C2C_MCP_AUTO_REGISTER_ALIAS: "gemini-x",
  });
  assert.equal(
    (await claude.ok<{ session_id: string }>("whoami")).session_id,
    "11111111-2222-3333-4444-555555555555",
  );
  assert.equal(
    (await gemini.ok<{ session_id: string }>("whoami")).session_id,
    "gem-1",
  );
});

Deno.test("server records Codex's per-call session id from _meta", async () => {
  const root = await tempRoot();
  await using a = await agent(root, "codex-alice");
  await a.client.callTool({
    name: "whoami",
    arguments: {},
    _meta: {
      "x-codex-turn-metadata": {
        session_id: "019a-thread",
        thread_id: "019a-thread",
        turn_id: "t1",
      },
    },
  });
  const row = await new Broker({ root }).registration("codex-alice-s");
  assert.equal(row?.client_session_id, "019a-thread");
});

Deno.test("sweep and tail_log tools", async () => {
  const root = await tempRoot();
  await using a = await agent(root, "storm-beacon");
  const b = await agent(root, "tide-runner");
  await a.ok("send", { to_alias: "tide-runner", content: "rescue me" });
  await b.close();
  await waitFor(
    async () => await new Broker({ root }).liveness("tide-runner-s") === false,
    5000,
  );
  const swept = await a.ok<
    { removed_registrations: number; rescued_messages: number }
  >(
    "sweep",
  );
  assert.deepEqual([swept.removed_registrations, swept.rescued_messages], [
    1,
    1,
  ]);
  const log = await a.ok<{ entries: { tool: string; ok: boolean }[] }>(
    "tail_log",
    { limit: 3 },
  );
  assert.equal(log.entries.length, 3);
  assert.equal(log.entries.at(-1)?.tool, "sweep");
  assert.ok(
    !(await Deno.readTextFile(`${root}/broker.log`)).includes("rescue"),
  );
});

Deno.test("channel push: each message is pushed once and drained; off by default", async () => {
  const root = await tempRoot();
  await using sender = await agent(root, "storm-beacon");
  const pushed: { content: string; meta: Record<string, string> }[] = [];
  await using pushee = await agent(root, "tide-runner", {
    C2C_MCP_AUTO_DRAIN_CHANNEL: "1",
  });
  pushee.client.fallbackNotificationHandler = (n) => {
    if (n.method === "notifications/claude/channel") {
      pushed.push(n.params as (typeof pushed)[number]);
    }
    return Promise.resolve();
  };
  await using quiet = await agent(root, "ember-fox");
  let quietNotes = 0;
  quiet.client.fallbackNotificationHandler = () => {
    quietNotes++;
    return Promise.resolve();
  };
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    ids.push(
      (await sender.ok<{ id: string }>("send", {
        to_alias: "tide-runner",
        content: `push ${i}`,
      })).id,
    );
    await sender.ok("send", { to_alias: "ember-fox", content: `keep ${i}` });
  }
  await waitFor(() => pushed.length >= 5, 5000, "5 channel notifications");
  await new Promise((r) => setTimeout(r, 200)); // a duplicate would show now
  assert.deepEqual(pushed.map((p) => p.meta.id), ids);
  assert.equal(pushed[0].meta.from_alias, "storm-beacon");
  assert.equal(pushed[0].meta.to_alias, "tide-runner");
  assert.match(pushed[0].content, /^<c2c event="message" .*>push 0<\/c2c>$/);
  assert.deepEqual(
    (await pushee.ok<{ messages: unknown[] }>("peek_inbox")).messages,
    [],
  );
  const history = await pushee.ok<{ messages: { id: string }[] }>("history");
  assert.deepEqual(history.messages.map((m) => m.id), ids);
  assert.equal(quietNotes, 0);
  assert.equal(
    (await quiet.ok<{ messages: unknown[] }>("peek_inbox")).messages.length,
    5,
  );
});

Deno.test("poll_inbox replies are bounded; the rest stays queued with a count", async () => {
  const root = await tempRoot();
  await using a = await agent(root, "storm-beacon");
  await using b = await agent(root, "tide-runner");
  for (let i = 0; i < 7; i++) {
    await a.ok("send", { to_alias: "tide-runner", content: `m${i}` });
  }
  const peek = await b.ok<{ messages: unknown[]; remaining: number }>(
    "peek_inbox",
    { limit: 2 },
  );
  assert.deepEqual([peek.messages.length, peek.remaining], [2, 5]);
  const first = await b.ok<
    { messages: { content: string }[]; remaining: number }
  >(
    "poll_inbox",
    { limit: 3 },
  );
  assert.deepEqual(first.messages.map((m) => m.content), ["m0", "m1", "m2"]);
  assert.equal(first.remaining, 4);
  const rest = await b.ok<
    { messages: { content: string }[]; remaining: number }
  >(
    "poll_inbox",
  );
  assert.deepEqual(rest.messages.map((m) => m.content), [
    "m3",
    "m4",
    "m5",
    "m6",
  ]);
  assert.equal(rest.remaining, 0);
  assert.match(await b.fails("poll_inbox", { limit: 0 }), /limit/);
});
