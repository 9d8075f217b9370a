// Delivery over MCP, with the real server process and the SDK client: every
// message reaches the client and the connection survives hostile sizes; each
// body reaches every client's model once; channel push respects the
// session's delivery lock and puts back what it could not push.

import assert from "node:assert/strict";
import { Broker } from "../mod.ts";
import { ChannelPusher } from "../mcp/channel.ts";
import { INBOX_REPLY_BYTES } from "../mcp/tools.ts";
import { MAX_ALONE_BYTES } from "../lib/delivery.ts";
import type { Message } from "../lib/message.ts";
import { jsonBytes } from "../lib/_bytes.ts";
import { type CallToolResult, connect, type Connection } from "./_mcp.ts";
import { tempBroker, unguarded, waitFor } from "./_helpers.ts";

async function tempRoot(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "c2c-delivery-" });
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

interface InboxReply {
  messages: Message[];
  remaining: number;
  truncated?: string[];
}

/** The JSON-RPC line a result came in, as the server wrote it (about). */
function lineBytes(result: CallToolResult): number {
  return jsonBytes({ result, jsonrpc: "2.0", id: 1_000 }) + 1;
}

/**
 * What each client's model is shown of a tool result (measured with the real
 * clients, tests/e2e/NOTES.md): Claude Code and Codex show only the JSON of
 * `structuredContent` when there is one; OpenCode and Gemini CLI show only
 * the text blocks.
 */
function modelViews(r: CallToolResult): Record<string, string> {
  const text = r.content.map((c) => (c as { text: string }).text).join("\n");
  return {
    "Claude Code / Codex": JSON.stringify(r.structuredContent),
    "OpenCode / Gemini CLI": text,
  };
}

function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

Deno.test("poll_inbox, peek_inbox and history show each body to every client's model once, and give programs every field", async () => {
  const root = await tempRoot();
  await using a = await agent(root, "storm-beacon");
  await using b = await agent(root, "tide-runner");
  await a.ok("join_room", { room_id: "lounge" });
  await b.ok("join_room", { room_id: "lounge" });
  const replyTo = "0b0e7a8e-1d2c-4c59-9a57-3f1b2c3d4e5f";
  const direct = 'direct "quoted" <b>body</b> & more';
  const roomBody = "a room body, said once";
  const dm = await a.ok<{ id: string; ts: string }>("send", {
    to_alias: "tide-runner",
    content: direct,
    reply_to: replyTo,
  });
  await a.ok("send_room", { room_id: "lounge", content: roomBody });
  for (const tool of ["peek_inbox", "poll_inbox", "history"]) {
    const r = await b.call(tool);
    assert.equal(r.isError, undefined, JSON.stringify(r.content));
    for (const [client, view] of Object.entries(modelViews(r))) {
      for (const body of [direct, roomBody]) {
        const shown = client.startsWith("Claude")
          ? JSON.stringify(body).slice(1, -1)
          : body;
        assert.equal(
          count(view, shown),
          1,
          `${tool}: ${client}'s model sees ${JSON.stringify(body)} ${
            count(view, shown)
          } times in ${view}`,
        );
      }
    }
    assert.match(
      modelViews(r)["OpenCode / Gemini CLI"],
      /^<c2c event="message" from="storm-beacon" alias="tide-runner" reply_to="[^"]+" id="[^"]+" ts="[^"]+">direct "quoted" <b>body<\/b> & more<\/c2c>\n<c2c event="room_message" /,
    );
    const { messages } = r.structuredContent as unknown as InboxReply;
    // history adds where each came from: received, and how.
    const extra = tool === "history"
      ? { direction: "in", delivered_via: "poll" }
      : {};
    assert.deepEqual(
      { ...messages[0], drained_at: undefined },
      {
        id: dm.id,
        ts: dm.ts,
        from_alias: "storm-beacon",
        to_alias: "tide-runner",
        content: direct,
        reply_to: replyTo,
        // A reply to a message its sender never saw starts its thread there.
        thread_id: replyTo,
        drained_at: undefined,
        ...extra,
      },
    );
    assert.equal(messages[1].room_id, "lounge");
    assert.equal(messages[1].content, roomBody);
  }
});

Deno.test("poll_inbox hands over a flood of 64 KiB control-character bodies and the messages between them: none lost, connection up", async () => {
  const root = await tempRoot();
  await unguarded(root); // a flood to one peer, on purpose
  await using b = await agent(root, "tide-runner");
  const sender = new Broker({ root });
  await sender.register("flood-s", { alias: "flooder" });
  const expected = new Map<string, string>();
  for (let i = 0; i < 16; i++) {
    for (
      const content of ["\u0001".repeat(64 * 1024), `innocent ${i}`]
    ) {
      const { id } = await sender.send("flood-s", {
        to_alias: "tide-runner",
        content,
      });
      expected.set(id, content);
    }
  }
  const got = new Map<string, string>();
  let biggest = 0;
  for (let polls = 0; polls < 100; polls++) {
    const r = await b.call("poll_inbox");
    assert.equal(r.isError, undefined, JSON.stringify(r.content));
    biggest = Math.max(biggest, lineBytes(r));
    const reply = r.structuredContent as unknown as InboxReply;
    assert.equal(reply.truncated, undefined);
    for (const m of reply.messages) {
      assert.ok(!got.has(m.id), `${m.id} delivered twice`);
      got.set(m.id, m.content);
    }
    if (reply.remaining === 0) break;
  }
  assert.deepEqual(got, expected);
  assert.ok(biggest <= INBOX_REPLY_BYTES, `a ${biggest}-byte reply`);
  assert.equal(
    (await b.ok<{ alias: string }>("whoami")).alias,
    "tide-runner",
    "the connection is still up",
  );
});

Deno.test("a message bigger than any reply goes out alone and cut, with a notice; the archive keeps it whole; the connection stays up", async () => {
  const root = await tempRoot();
  await using b = await agent(root, "tide-runner");
  const broker = new Broker({ root });
  // Left in the inbox by an older broker: no bound on reply_to, a bigger
  // size limit.
  const huge: Message = {
    id: crypto.randomUUID(),
    ts: new Date().toISOString(),
    from_alias: "old-peer",
    to_alias: "tide-runner",
    content: "z".repeat(5 * 1024 * 1024),
    reply_to: "r".repeat(3 * 1024 * 1024),
  };
  const after: Message = { ...huge, id: crypto.randomUUID(), content: "next" };
  delete after.reply_to;
  await Deno.writeTextFile(
    broker.paths.inbox("tide-runner-s"),
    `${JSON.stringify(huge)}\n${JSON.stringify(after)}\n`,
    { append: true },
  );
  const first = await b.call("poll_inbox");
  assert.equal(first.isError, undefined, JSON.stringify(first.content));
  assert.ok(lineBytes(first) <= MAX_ALONE_BYTES, `${lineBytes(first)} bytes`);
  const reply = first.structuredContent as unknown as InboxReply;
  assert.deepEqual(reply.truncated, [huge.id]);
  assert.equal(reply.remaining, 1);
  const [cut] = reply.messages;
  assert.equal(cut.id, huge.id);
  assert.equal(cut.reply_to, undefined);
  assert.ok(cut.content.startsWith("zzzz"));
  assert.match(
    cut.content,
    /\[c2c: message cut to fit one delivery: \d+ of 5242880 bytes shown\. The whole message is kept: `c2c history` prints it once taken, `c2c peek-inbox` while it waits\.\]$/,
  );
  const second = await b.ok<InboxReply>("poll_inbox");
  assert.deepEqual(second.messages.map((m) => m.content), ["next"]);
  const archived = (await broker.history("tide-runner-s")).messages;
  assert.equal(archived[0].content, huge.content);
  assert.equal(archived[0].reply_to, huge.reply_to);
  // history shows the newest that fit, and says it left the huge one out.
  const history = await b.call("history");
  assert.ok(lineBytes(history) <= INBOX_REPLY_BYTES);
  const shown = history.structuredContent as {
    messages: Message[];
    omitted?: number;
  };
  assert.deepEqual(shown.messages.map((m) => m.content), ["next"]);
  assert.equal(shown.omitted, 1);
  assert.match(
    (history.content[0] as { text: string }).text,
    /\n\(1 older not shown: too big for one reply; c2c history prints them\)$/,
  );
  assert.equal((await b.ok<{ alias: string }>("whoami")).alias, "tide-runner");
});

/** Whether a process other than this one waits for the lock file's lock. */
function lockAwaited(path: string): boolean {
  const inode = Deno.statSync(path).ino;
  return Deno.readTextFileSync("/proc/locks").split("\n").some((line) =>
    line.includes("->") && line.includes(`:${inode} `)
  );
}

Deno.test("channel push waits for the session's delivery lock: a hook delivering meanwhile is never doubled", async () => {
  const root = await tempRoot();
  const pushed: string[] = [];
  await using b = await agent(root, "tide-runner", {
    C2C_MCP_AUTO_DRAIN_CHANNEL: "1",
  });
  b.client.fallbackNotificationHandler = (n) => {
    if (n.method === "notifications/claude/channel") {
      pushed.push((n.params as { meta: { id: string } }).meta.id);
    }
    return Promise.resolve();
  };
  const broker = new Broker({ root });
  await broker.register("a-s", { alias: "storm-beacon" });
  const send = async (content: string) =>
    (await broker.send("a-s", { to_alias: "tide-runner", content })).id;
  await b.ok("whoami"); // the server is up and registered
  // This process plays a hook of the same session: it holds the delivery
  // lock while it shows a message and takes it.
  await broker.withDeliveryLock("tide-runner-s", async () => {
    const first = await send("shown by the hook");
    await waitFor(
      () =>
        pushed.length > 0 ||
        lockAwaited(broker.paths.deliveryLock("tide-runner-s")),
      10_000,
      "the channel to push, or to wait for the lock",
    );
    assert.deepEqual(pushed, [], "pushed while a hook held the lock");
    const { messages } = await broker.peekInbox("tide-runner-s");
    assert.deepEqual(messages.map((m) => m.id), [first]);
    await broker.drainMessages("tide-runner-s", [first], "hook");
  });
  const second = await send("pushed by the channel");
  await waitFor(() => pushed.length > 0, 10_000, "a channel notification");
  assert.deepEqual(pushed, [second]);
});

Deno.test("ChannelPusher puts back, whole and in order, what it drained and could not push", async () => {
  await using broker = await tempBroker();
  await broker.register("a", { alias: "alice" });
  await broker.register("b", { alias: "bob" });
  const ids: string[] = [];
  for (const content of ["one", "two", "three"]) {
    ids.push((await broker.send("a", { to_alias: "bob", content })).id);
  }
  const pushed: string[] = [];
  const errors: unknown[] = [];
  let fail = true;
  const pusher = new ChannelPusher(
    broker,
    () => "b",
    (params) => {
      // The second push fails once: the client's pipe broke.
      if (pushed.length === 1 && fail) {
        fail = false;
        return Promise.reject(new Error("broken pipe"));
      }
      pushed.push(params.meta.id);
      return Promise.resolve();
    },
    { onError: (e) => errors.push(e) },
  );
  pusher.start();
  try {
    await waitFor(() => errors.length > 0, 10_000, "the failed push");
    assert.deepEqual(pushed, [ids[0]]);
    assert.deepEqual(
      (await broker.pendingMessages("b")).map((m) => m.id),
      ids.slice(1),
      "what was not pushed is pending again",
    );
    assert.deepEqual(
      (await broker.history("b")).messages.map((m) => m.id),
      [ids[0]],
    );
    // The retry (after a back-off) pushes them, each once.
    await waitFor(() => pushed.length === 3, 10_000, "the retry");
    assert.deepEqual(pushed, ids);
    assert.deepEqual(await broker.pendingMessages("b"), []);
    assert.deepEqual(
      (await broker.history("b")).messages.map((m) => m.id),
      ids,
    );
  } finally {
    pusher.stop();
  }
});
