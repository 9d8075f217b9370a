/**
 * The MCP tools: for each, its schemas, annotations and the one Broker call it
 * makes. Handlers hold no logic of their own (that lives in `lib/`), so a tool
 * and its `c2c` command cannot behave differently.
 *
 * @module
 */

import { z } from "zod";
import {
  type Broker,
  DEFAULT_STATUS_LAST,
  MAX_STATUS_IDS,
} from "../lib/broker.ts";
import { claimsOf, MAX_PATHS_PER_CALL, MAX_TTL_S } from "../lib/claims.ts";
import {
  boundHistory,
  type DeliveryBounds,
  MAX_ALONE_BYTES,
} from "../lib/delivery.ts";
import { renderEnvelope, renderEnvelopes } from "../lib/envelope.ts";
import type { Message } from "../lib/message.ts";
import type { HistoryResult, InboxResult, WaitResult } from "../lib/types.ts";
import { DEFAULT_WAIT_S, MAX_WAIT_S } from "../lib/wait.ts";
import { MAX_STATUS_LENGTH } from "../lib/status.ts";
import {
  DEFAULT_SEARCH_LIMIT,
  MAX_QUERY_LENGTH,
  MAX_SEARCH_LIMIT,
} from "../lib/search.ts";
import { jsonBytes } from "../lib/_bytes.ts";
import {
  ClaimResultSchema,
  ClaimsResultSchema,
  HistoryResultSchema,
  InboxResultSchema,
  JoinRoomResultSchema,
  LeaveRoomResultSchema,
  ListResultSchema,
  ListRoomsResultSchema,
  MessageStatusResultSchema,
  MyRoomsResultSchema,
  RegisterResultSchema,
  ReleaseResultSchema,
  RoomHistoryResultSchema,
  SearchResultSchema,
  SendAllResultSchema,
  SendReceiptSchema,
  SendRoomResultSchema,
  SetStatusResultSchema,
  SweepResultSchema,
  TailLogResultSchema,
  WaitResultSchema,
  WhoamiResultSchema,
} from "./schemas.ts";
import type { ToolAnnotations } from "./sdk.ts";

/** What a tool handler gets besides its arguments. */
export interface ToolContext {
  /** The broker. */
  broker: Broker;
  /** The calling session. */
  sessionId: string;
  /** Alias to use when `register` is called without one. */
  defaultAlias: string | undefined;
  /** Register arguments for this session (client details, lease flag). */
  registerArgs: (
    alias: string | undefined,
  ) => Parameters<Broker["register"]>[1];
  /** Aborts when the client cancels the call (or gives up on it). */
  signal?: AbortSignal;
  /**
   * Reports progress of a long call, when the client asked for it (a
   * `progressToken`); otherwise does nothing.
   */
  progress?: (message: string) => void;
}

/** One MCP tool. */
export interface ToolSpec {
  /** Tool name (`send`, `poll_inbox`, …). */
  name: string;
  /** Human title. */
  title: string;
  /** What the tool does, for the model. */
  description: string;
  /** Zod shape of the arguments. */
  input: z.ZodRawShape;
  /** Zod schema of the result (`structuredContent`). */
  output: z.ZodObject;
  /** MCP behaviour hints. */
  annotations: ToolAnnotations;
  /** Runs the tool. */
  // deno-lint-ignore no-explicit-any
  run: (ctx: ToolContext, args: any) => Promise<object>;
  /**
   * The text block of a result that carries message bodies (default: the
   * result's JSON). What a model sees differs by client: Claude Code and
   * Codex show it only `structuredContent` (as JSON) when a result has one;
   * OpenCode and Gemini CLI show only the text blocks. So a message tool's
   * `structuredContent` holds the messages with every field (what programs
   * read, and what Claude Code's and Codex's models see), and its text
   * block holds the same messages as `<c2c>` envelopes (what OpenCode's and
   * Gemini's models see): each body reaches every client's model once.
   */
  text?: (result: never) => string;
}

const alias = (what: string) =>
  z.string().describe(`${what} (lowercase a-z 0-9 . _ -, 1-64 chars)`);
const fromAlias = alias(
  "Your own alias; optional, and checked against your registration",
).optional();
const content = z.string().describe(
  "Message body (plain text, up to 64 KiB)",
);
const roomId = z.string().describe(
  "Room id: 1-64 of A-Z a-z 0-9 _ . - (e.g. swarm-lounge)",
);
const limit = (what: string) =>
  z.number().int().min(0).optional().describe(what);

/** Most messages one `poll_inbox`/`peek_inbox` returns by default. */
export const INBOX_REPLY_LIMIT = 500;
/**
 * Most bytes of one message tool's reply, as the JSON-RPC line it is sent
 * in, for several messages; one message too big to share a reply goes alone
 * (up to `MAX_ALONE_BYTES`), all far below the 10 MiB line at which the
 * SDK's stdio reader gives up (and closes the connection).
 */
export const INBOX_REPLY_BYTES = 1024 * 1024;

/**
 * What one message adds to a message tool's reply line: its JSON in
 * `structuredContent.messages` with a comma, and its envelope in the text
 * block as a JSON string (the quotes pay for the `\n` between envelopes).
 *
 * @param message The message as returned.
 * @returns Bytes.
 */
export function replyCost(message: Message): number {
  return jsonBytes(message) + 1 + jsonBytes(renderEnvelope(message));
}

/**
 * The rest of a reply line: the JSON-RPC frame, `remaining`, the ids of a
 * cut message, and the text block's last line. Generous: a client may pick
 * a long request id.
 */
const REPLY_OVERHEAD = 2048;

/** A message tool's bounds, on the serialized reply. */
function replyBounds(limit?: number): DeliveryBounds {
  return {
    limit,
    maxBytes: INBOX_REPLY_BYTES,
    aloneBytes: MAX_ALONE_BYTES,
    cost: replyCost,
    overhead: REPLY_OVERHEAD,
  };
}

/** The text block of `poll_inbox` / `peek_inbox`: envelopes, and what waits. */
function inboxText(more: (n: number) => string) {
  return (r: InboxResult): string => {
    const lines = [
      r.messages.length > 0 ? renderEnvelopes(r.messages) : "(no messages)",
    ];
    if (r.remaining > 0) lines.push(more(r.remaining));
    return lines.join("\n");
  };
}

/** The text block of `history`. */
function historyText(r: HistoryResult): string {
  const lines = [
    r.messages.length > 0 ? renderEnvelopes(r.messages) : "(no messages)",
  ];
  if (r.omitted) {
    lines.push(
      `(${r.omitted} older not shown: too big for one reply; c2c history prints them)`,
    );
  }
  return lines.join("\n");
}

const inboxInput = {
  limit: z.number().int().min(1).max(INBOX_REPLY_LIMIT).optional().describe(
    `At most this many messages (default ${INBOX_REPLY_LIMIT}); the rest stay queued`,
  ),
};

const READ_ONLY: ToolAnnotations = {
  readOnlyHint: true,
  openWorldHint: false,
};
const WRITES: ToolAnnotations = {
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint: false,
  openWorldHint: false,
};
const IDEMPOTENT: ToolAnnotations = { ...WRITES, idempotentHint: true };

/** Every c2c tool, in the order clients list them. */
export const TOOLS: readonly ToolSpec[] = [
  {
    name: "register",
    title: "Register alias",
    description:
      "Register (or refresh, or rename) your alias so peers can reach you. Without an alias, keeps your current one or the configured default, else generates one. Safe to call again.",
    input: { alias: alias("Desired alias").optional() },
    output: RegisterResultSchema,
    annotations: IDEMPOTENT,
    run: async (ctx, args: { alias?: string }) =>
      ctx.broker.register(
        ctx.sessionId,
        ctx.registerArgs(
          args.alias ??
            (await ctx.broker.registration(ctx.sessionId))?.alias ??
            ctx.defaultAlias,
        ),
      ),
  },
  {
    name: "whoami",
    title: "Who am I",
    description: "Show your alias, session id and liveness.",
    input: {},
    output: WhoamiResultSchema,
    annotations: READ_ONLY,
    run: (ctx) => ctx.broker.whoami(ctx.sessionId),
  },
  {
    name: "list",
    title: "List peers",
    description:
      "List registered peers with liveness (alive true/false, null = unknown), what each says it works on (status), its working directory and git branch, pending message counts and how many files each claims.",
    input: {},
    output: ListResultSchema,
    annotations: READ_ONLY,
    run: async (ctx) =>
      claimsOf(ctx.broker).withCounts(await ctx.broker.list()),
  },
  {
    name: "set_status",
    title: "Set status",
    description:
      `Tell peers in one line what you are working on; list shows it next to your alias (with your working directory and git branch) until you change it or your session ends. "" clears it.`,
    input: {
      status: z.string().describe(
        `One line, at most ${MAX_STATUS_LENGTH} characters, e.g. "fixing the flaky login test on fix/login"; "" clears it`,
      ),
    },
    output: SetStatusResultSchema,
    annotations: IDEMPOTENT,
    run: (ctx, args) => ctx.broker.setStatus(ctx.sessionId, args),
  },
  {
    name: "send",
    title: "Send direct message",
    description:
      "Send a direct message to another agent by alias (unknown aliases are an error). If the recipient's session is not alive (restarting, crashed), the message is queued anyway: the answer says recipient_alive: false and expires_at (default 7 days), and the next session that takes the alias gets it. Answer a message with reply_to set to its id to stay in its thread; message_status tells whether it was delivered.",
    input: {
      to_alias: alias("Recipient's alias"),
      content,
      from_alias: fromAlias,
      reply_to: z.string().optional().describe(
        "Id of the message you are answering",
      ),
    },
    output: SendReceiptSchema,
    annotations: WRITES,
    run: (ctx, args) => ctx.broker.send(ctx.sessionId, args),
  },
  {
    name: "send_all",
    title: "Broadcast",
    description: "Send a message to every live peer except yourself.",
    input: { content, from_alias: fromAlias },
    output: SendAllResultSchema,
    annotations: WRITES,
    run: (ctx, args) => ctx.broker.sendAll(ctx.sessionId, args),
  },
  {
    name: "poll_inbox",
    title: "Poll inbox",
    description:
      "Return and remove your pending messages (they move to your history). Call it when told messages are waiting; call again while `remaining` is above 0.",
    input: inboxInput,
    output: InboxResultSchema,
    annotations: WRITES,
    // Under the delivery lock, like every other path that hands messages
    // over: a hook showing messages meanwhile cannot show these too.
    run: (ctx, args) =>
      ctx.broker.withDeliveryLock(
        ctx.sessionId,
        () =>
          ctx.broker.pollInbox(
            ctx.sessionId,
            replyBounds(args.limit ?? INBOX_REPLY_LIMIT),
            "poll",
          ),
      ),
    text: inboxText((n) => `(${n} more waiting: call poll_inbox again)`),
  },
  {
    name: "wait_for_message",
    title: "Wait for a message",
    description:
      `Block until a message arrives that matches (any message, or from_alias, room_id, reply_to: all given must match), then return it taken from your inbox as poll_inbox does. Messages that do not match stay queued. Returns {timed_out: true} when none came within timeout_s (default ${DEFAULT_WAIT_S}, max ${MAX_WAIT_S}: below the clients' own tool-call timeouts; call again to keep waiting). Use it after send to wait for the answer: wait_for_message({reply_to: <id send returned>}).`,
    input: {
      from_alias: alias("Only a message from this alias").optional(),
      room_id: roomId.optional().describe(
        "Only a message posted to this room",
      ),
      reply_to: z.string().optional().describe(
        "Only a message answering this message id (e.g. the id send returned)",
      ),
      timeout_s: z.number().min(0).max(MAX_WAIT_S).optional().describe(
        `Seconds to wait (default ${DEFAULT_WAIT_S}, max ${MAX_WAIT_S}; 0: only look)`,
      ),
    },
    output: WaitResultSchema,
    annotations: WRITES,
    run: (ctx, args) =>
      ctx.broker.waitForMessage(ctx.sessionId, args, {
        signal: ctx.signal,
        bounds: replyBounds(INBOX_REPLY_LIMIT),
        onWaiting: () => ctx.progress?.("waiting for a matching message"),
      }),
    text: (r: WaitResult) =>
      r.timed_out
        ? `(no matching message came; ${r.remaining} other message(s) waiting)`
        : inboxText((n) => `(${n} more waiting: call poll_inbox)`)(r),
  },
  {
    name: "peek_inbox",
    title: "Peek inbox",
    description: "Show your pending messages without removing them.",
    input: inboxInput,
    output: InboxResultSchema,
    annotations: READ_ONLY,
    run: (ctx, args) =>
      ctx.broker.peekInbox(
        ctx.sessionId,
        replyBounds(args.limit ?? INBOX_REPLY_LIMIT),
      ),
    text: inboxText((n) => `(${n} more pending)`),
  },
  {
    name: "history",
    title: "Inbox history",
    description:
      "Show your conversations, newest last: messages you received (direction 'in') and sent ('out'), merged by time. Optionally only the direct messages with one peer, or one thread.",
    input: {
      limit: limit("How many (default 50)"),
      peer: alias("Only direct messages with this alias, both ways")
        .optional(),
      thread_id: z.string().optional().describe(
        "Only this thread (a message's thread_id, or its root's id)",
      ),
    },
    output: HistoryResultSchema,
    annotations: READ_ONLY,
    run: async (ctx, args) =>
      boundHistory(
        await ctx.broker.history(ctx.sessionId, args),
        replyBounds(),
      ),
    text: historyText,
  },
  {
    name: "search_messages",
    title: "Search messages",
    description:
      "Find messages by words: a case-insensitive search of what you received, what you sent and the rooms you are in, newest first. Bodies are cut to 2,000 characters.",
    input: {
      query: z.string().min(1).max(MAX_QUERY_LENGTH).describe(
        "Text to look for (case-insensitive substring), e.g. a word or an error message",
      ),
      limit: z.number().int().min(0).max(MAX_SEARCH_LIMIT).optional()
        .describe(
          `Most hits (default ${DEFAULT_SEARCH_LIMIT}, max ${MAX_SEARCH_LIMIT})`,
        ),
    },
    output: SearchResultSchema,
    annotations: READ_ONLY,
    run: (ctx, args) => ctx.broker.searchMessages(ctx.sessionId, args),
  },
  {
    name: "message_status",
    title: "Message status",
    description:
      "Where messages you sent are: queued (waiting for the recipient), delivered (handed to its agent: via poll, hook, push, wake or wait, and when), expired, dead_lettered, posted (room), or unknown (not yours). Give ids, or get your last N sent. Never shows content.",
    input: {
      ids: z.array(z.string()).max(MAX_STATUS_IDS).optional().describe(
        `Message ids you sent (at most ${MAX_STATUS_IDS})`,
      ),
      last: z.number().int().min(0).max(MAX_STATUS_IDS).optional().describe(
        `Without ids: your newest N sent messages (default ${DEFAULT_STATUS_LAST})`,
      ),
    },
    output: MessageStatusResultSchema,
    annotations: READ_ONLY,
    run: (ctx, args) => ctx.broker.messageStatus(ctx.sessionId, args),
  },
  {
    name: "join_room",
    title: "Join room",
    description:
      "Join a persistent group room (created if new) and get its recent history. Idempotent.",
    input: {
      room_id: roomId,
      alias: fromAlias,
      history_limit: limit("Recent messages to return (default 20, max 200)"),
    },
    output: JoinRoomResultSchema,
    annotations: IDEMPOTENT,
    run: (ctx, args) => ctx.broker.joinRoom(ctx.sessionId, args),
  },
  {
    name: "leave_room",
    title: "Leave room",
    description: "Leave a room; you stop receiving its messages.",
    input: { room_id: roomId, alias: fromAlias },
    output: LeaveRoomResultSchema,
    annotations: IDEMPOTENT,
    run: (ctx, args) => ctx.broker.leaveRoom(ctx.sessionId, args),
  },
  {
    name: "send_room",
    title: "Post to room",
    description:
      "Post a message to a room you joined; every other member gets a copy. An identical post within 60 s is not repeated.",
    input: { room_id: roomId, content, from_alias: fromAlias },
    output: SendRoomResultSchema,
    annotations: WRITES,
    run: (ctx, args) => ctx.broker.sendRoom(ctx.sessionId, args),
  },
  {
    name: "room_history",
    title: "Room history",
    description:
      "Read a room's messages, newest last: the last `limit` by default, or from `offset` forward.",
    input: {
      room_id: roomId,
      limit: limit("How many (default 50)"),
      offset: limit("Skip this many from the start (pagination)"),
    },
    output: RoomHistoryResultSchema,
    annotations: READ_ONLY,
    run: (ctx, args) => ctx.broker.roomHistory(args),
  },
  {
    name: "list_rooms",
    title: "List rooms",
    description: "List every room with member and message counts.",
    input: {},
    output: ListRoomsResultSchema,
    annotations: READ_ONLY,
    run: (ctx) => ctx.broker.listRooms(),
  },
  {
    name: "my_rooms",
    title: "My rooms",
    description: "List the rooms you are a member of.",
    input: { alias: fromAlias },
    output: MyRoomsResultSchema,
    annotations: READ_ONLY,
    run: (ctx, args) => ctx.broker.myRooms(ctx.sessionId, args),
  },
  {
    name: "claim",
    title: "Claim files",
    description:
      "Say which files you are about to edit, so that peers do not edit them too and git refuses their commits over them (c2c guard). Grants the paths nobody else holds and returns the others as conflicts (holder, reason, since) without waiting; the holders are told. Your claims end when your session ends, when you release them, or after ttl_s. Claim before editing; release when done.",
    input: {
      paths: z.array(z.string()).min(1).max(MAX_PATHS_PER_CALL).describe(
        "Files or globs relative to the repository root: lib/a.ts, lib/** (everything under lib), docs/*.md, src/ (a directory)",
      ),
      reason: z.string().describe(
        "Why, in a few words (peers and the commit guard show it)",
      ),
      exclusive: z.boolean().optional().describe(
        "true (default): nobody else may claim an overlapping path; false: shared with other shared claims",
      ),
      ttl_s: z.number().int().min(1).max(MAX_TTL_S).optional().describe(
        "End the claim after this many seconds (default: when your session ends)",
      ),
    },
    output: ClaimResultSchema,
    annotations: WRITES,
    run: (ctx, args) => claimsOf(ctx.broker).claim(ctx.sessionId, args),
  },
  {
    name: "release",
    title: "Release claims",
    description:
      "Release your file claims: the paths given (as you claimed them), or all of them.",
    input: {
      paths: z.array(z.string()).max(MAX_PATHS_PER_CALL).optional().describe(
        "Claims to release, as you claimed them (default: all of yours)",
      ),
    },
    output: ReleaseResultSchema,
    annotations: IDEMPOTENT,
    run: (ctx, args) => claimsOf(ctx.broker).release(ctx.sessionId, args),
  },
  {
    name: "claims",
    title: "List file claims",
    description:
      "List live file claims (holder, reason, since, exclusive or shared): all, or those overlapping a path or glob.",
    input: {
      path: z.string().optional().describe(
        "Only claims that overlap this file or glob",
      ),
    },
    output: ClaimsResultSchema,
    annotations: READ_ONLY,
    run: (ctx, args) => claimsOf(ctx.broker).list(args),
  },
  {
    name: "sweep",
    title: "Sweep dead sessions",
    description:
      "Remove registrations whose session is dead; their pending messages go to dead-letter.jsonl and return if they register again.",
    input: {},
    output: SweepResultSchema,
    annotations: { ...WRITES, destructiveHint: true, idempotentHint: true },
    run: (ctx) => ctx.broker.sweep(),
  },
  {
    name: "tail_log",
    title: "Broker audit log",
    description:
      "Read the last entries of the broker's audit log (operation, ok, duration; never message content).",
    input: { limit: limit("How many (default 50, max 500)") },
    output: TailLogResultSchema,
    annotations: READ_ONLY,
    run: (ctx, args) => ctx.broker.tailLog(args),
  },
];

/** Tools that work without a registration of the caller. */
export const NO_REGISTRATION_NEEDED: ReadonlySet<string> = new Set([
  "register",
  "list",
  "claims",
  "room_history",
  "list_rooms",
  "sweep",
  "tail_log",
]);
