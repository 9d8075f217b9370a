/**
 * The MCP tools: for each, its schemas, annotations and the one Broker call it
 * makes. Handlers hold no logic of their own (that lives in `lib/`), so a tool
 * and its `c2c` command cannot behave differently.
 *
 * @module
 */

import { z } from "zod";
import type { Broker } from "../lib/broker.ts";
import type { Message } from "../lib/message.ts";
import {
  HistoryResultSchema,
  InboxResultSchema,
  JoinRoomResultSchema,
  LeaveRoomResultSchema,
  ListResultSchema,
  ListRoomsResultSchema,
  MyRoomsResultSchema,
  RegisterResultSchema,
  RoomHistoryResultSchema,
  SendAllResultSchema,
  SendReceiptSchema,
  SendRoomResultSchema,
  SweepResultSchema,
  TailLogResultSchema,
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
   * Messages in the result to render as `<c2c>` envelopes in an extra
   * `envelopes` field. It is a field, not a second text block, because
   * Claude Code and Codex show the model only `structuredContent` when a
   * tool returns it.
   */
  envelopes?: (result: never) => readonly Message[];
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

/** Adds the `envelopes` field to a message tool's output schema. */
function withEnvelopes(schema: z.ZodObject): z.ZodObject {
  return schema.extend({
    envelopes: z.string().describe(
      "The same messages as <c2c> envelopes, one per line: what to read",
    ),
  });
}

/** Most messages one `poll_inbox`/`peek_inbox` returns by default. */
export const INBOX_REPLY_LIMIT = 500;
/** About how many bytes of messages one reply carries at most. */
export const INBOX_REPLY_BYTES = 1024 * 1024;

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
    run: (ctx, args: { alias?: string }) =>
      ctx.broker.register(
        ctx.sessionId,
        ctx.registerArgs(
          args.alias ?? ctx.broker.registration(ctx.sessionId)?.alias ??
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
      "List registered peers with liveness (alive true/false, null = unknown) and pending message counts.",
    input: {},
    output: ListResultSchema,
    annotations: READ_ONLY,
    run: (ctx) => ctx.broker.list(),
  },
  {
    name: "send",
    title: "Send direct message",
    description:
      "Send a direct message to another agent by alias. Fails if the recipient is unknown or not alive.",
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
    output: withEnvelopes(InboxResultSchema),
    annotations: WRITES,
    run: (ctx, args) =>
      ctx.broker.pollInbox(ctx.sessionId, {
        limit: args.limit ?? INBOX_REPLY_LIMIT,
        maxBytes: INBOX_REPLY_BYTES,
      }),
    envelopes: (r: { messages: Message[] }) => r.messages,
  },
  {
    name: "peek_inbox",
    title: "Peek inbox",
    description: "Show your pending messages without removing them.",
    input: inboxInput,
    output: withEnvelopes(InboxResultSchema),
    annotations: READ_ONLY,
    run: (ctx, args) =>
      ctx.broker.peekInbox(ctx.sessionId, {
        limit: args.limit ?? INBOX_REPLY_LIMIT,
        maxBytes: INBOX_REPLY_BYTES,
      }),
    envelopes: (r: { messages: Message[] }) => r.messages,
  },
  {
    name: "history",
    title: "Inbox history",
    description: "Show messages you already received, newest last.",
    input: { limit: limit("How many (default 50)") },
    output: withEnvelopes(HistoryResultSchema),
    annotations: READ_ONLY,
    run: (ctx, args) => ctx.broker.history(ctx.sessionId, args),
    envelopes: (r: { messages: Message[] }) => r.messages,
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
  "room_history",
  "list_rooms",
  "sweep",
  "tail_log",
]);
