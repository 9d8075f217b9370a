/**
 * Zod schemas of the broker's results (`lib/types.ts`), used as the MCP
 * tools' output schemas. Only the server imports this module: the CLI's
 * import graph stays free of zod, which costs start-up time.
 * `tests/schemas_test.ts` proves each schema and its TypeScript type agree.
 *
 * @module
 */

import { z } from "zod";

const liveness = z.boolean().nullable().describe(
  "true alive, false dead, null unknown (registered without a lease)",
);

/** A message in an inbox. */
export const MessageSchema = z.object({
  id: z.string(),
  ts: z.string(),
  from_alias: z.string(),
  to_alias: z.string(),
  content: z.string(),
  room_id: z.string().optional(),
  reply_to: z.string().optional(),
  thread_id: z.string().optional().describe(
    "Id of the thread's root: answer with reply_to to stay in it",
  ),
  expires_at: z.string().optional().describe(
    "Set on a message queued while its recipient was not alive",
  ),
  event: z.string().optional().describe(
    "Set on notices from the broker: 'claim' when a peer asked for a file you claim",
  ),
});

/** A drained message in the archive. */
export const ArchivedMessageSchema = MessageSchema.extend({
  drained_at: z.string(),
  delivered_via: z.enum(["poll", "hook", "push", "wake", "wait", "run"])
    .optional(),
});

/** A line of a room's history. */
export const RoomMessageSchema = z.object({
  id: z.string(),
  ts: z.string(),
  room_id: z.string(),
  from_alias: z.string(),
  content: z.string(),
});

/** Result of `register`. */
export const RegisterResultSchema = z.object({
  alias: z.string(),
  session_id: z.string(),
  status: z.enum(["registered", "already_registered", "renamed", "taken_over"]),
  previous_alias: z.string().optional(),
  replaced_session_id: z.string().optional(),
  redelivered: z.number(),
  warning: z.string().optional(),
});

/** Result of `whoami`. */
export const WhoamiResultSchema = z.object({
  alias: z.string(),
  session_id: z.string(),
  alive: liveness,
  client: z.string().nullable(),
  pid: z.number().nullable(),
  registered_at: z.string(),
  last_seen: z.string(),
});

const wakeInfo = z.record(
  z.string(),
  z.union([z.string(), z.number(), z.boolean()]),
);

/** One peer in `list`. */
export const PeerInfoSchema = z.object({
  alias: z.string().nullable(),
  session_id: z.string(),
  alive: liveness,
  client: z.string().nullable(),
  pid: z.number().nullable(),
  last_seen: z.string().nullable(),
  pending: z.number(),
  wake: wakeInfo.optional(),
  status: z.string().optional().describe(
    "What it says it works on (set_status); absent while it is dead",
  ),
  status_at: z.string().optional(),
  cwd: z.string().optional().describe("Its working directory"),
  git_branch: z.string().optional().describe(
    "The git branch checked out there",
  ),
  claims: z.number().optional().describe("Live file claims it holds"),
});

/** Result of `list`. */
export const ListResultSchema = z.object({ peers: z.array(PeerInfoSchema) });

/** Receipt of one direct message. */
export const SendReceiptSchema = z.object({
  id: z.string(),
  ts: z.string(),
  to_alias: z.string(),
  queued: z.literal(true),
  recipient_alive: liveness.optional().describe(
    "false: the recipient's session is not alive; the message waits for the next session of that alias, until expires_at",
  ),
  expires_at: z.string().optional(),
  thread_id: z.string().optional().describe("The thread this message is in"),
});

/** Result of `send_all`. */
export const SendAllResultSchema = z.object({
  sent_to: z.array(SendReceiptSchema),
  skipped: z.array(z.object({ alias: z.string(), reason: z.string() })),
});

const truncated = z.array(z.string()).optional().describe(
  "Ids of messages whose body was cut to fit this reply (it ends with a notice; c2c history prints the whole message)",
);

/** Result of `poll_inbox` and `peek_inbox`. */
export const InboxResultSchema = z.object({
  messages: z.array(MessageSchema),
  remaining: z.number().describe(
    "Messages still waiting after this reply; call again while above 0",
  ),
  truncated,
});

/** Result of `set_status`. */
export const SetStatusResultSchema = z.object({
  alias: z.string(),
  status: z.string().nullable().describe(
    "The status now shown (null: cleared)",
  ),
  status_at: z.string(),
});

/** Result of `search_messages`. */
export const SearchResultSchema = z.object({
  query: z.string(),
  hits: z.array(z.object({
    id: z.string(),
    ts: z.string(),
    from_alias: z.string(),
    to_alias: z.string().optional(),
    room_id: z.string().optional(),
    direction: z.enum(["in", "out"]).describe(
      "in: you received it; out: you sent it",
    ),
    content: z.string(),
    truncated: z.literal(true).optional().describe(
      "The body was cut to 2,000 characters",
    ),
  })).describe("Newest first"),
  more: z.boolean().describe(
    "More messages matched than this reply holds: raise limit or narrow the query",
  ),
});

/** Result of `wait_for_message`. */
export const WaitResultSchema = InboxResultSchema.extend({
  timed_out: z.boolean().describe(
    "true: no matching message came within timeout_s (nothing was taken)",
  ),
});

/** A message in `history`. */
export const HistoryEntrySchema = MessageSchema.extend({
  direction: z.enum(["in", "out"]).describe("in: received; out: sent"),
  drained_at: z.string().optional(),
  delivered_via: z.enum(["poll", "hook", "push", "wake", "wait", "run"])
    .optional(),
});

/** Result of `history`. */
export const HistoryResultSchema = z.object({
  messages: z.array(HistoryEntrySchema),
  omitted: z.number().optional().describe(
    "Older messages within limit left out to keep the reply bounded",
  ),
  truncated,
});

/** Result of `join_room`. */
export const JoinRoomResultSchema = z.object({
  room_id: z.string(),
  joined: z.literal(true),
  already_member: z.boolean(),
  member_count: z.number(),
  history: z.array(RoomMessageSchema),
});

/** Result of `leave_room`. */
export const LeaveRoomResultSchema = z.object({
  room_id: z.string(),
  left: z.boolean(),
  member_count: z.number(),
});

/** Result of `send_room`. */
export const SendRoomResultSchema = z.object({
  id: z.string(),
  ts: z.string(),
  room_id: z.string(),
  member_count: z.number(),
  queued_count: z.number(),
  deduplicated: z.boolean(),
  skipped: z.array(z.object({ alias: z.string(), reason: z.string() }))
    .optional(),
});

/** Result of `room_history`. */
export const RoomHistoryResultSchema = z.object({
  room_id: z.string(),
  messages: z.array(RoomMessageSchema),
  total: z.number(),
});

/** Result of `list_rooms`. */
export const ListRoomsResultSchema = z.object({
  rooms: z.array(z.object({
    room_id: z.string(),
    member_count: z.number(),
    message_count: z.number(),
  })),
});

/** Result of `my_rooms`. */
export const MyRoomsResultSchema = z.object({
  rooms: z.array(z.object({ room_id: z.string(), member_count: z.number() })),
});

/** Result of `sweep`. */
export const SweepResultSchema = z.object({
  removed_registrations: z.number(),
  removed: z.array(z.object({
    alias: z.string(),
    session_id: z.string(),
    reason: z.enum(["dead", "expired"]),
  })),
  rescued_messages: z.number(),
  orphan_inboxes: z.number(),
  expired_messages: z.number().optional(),
});

/** Result of `tail_log`. */
export const TailLogResultSchema = z.object({
  entries: z.array(z.object({
    ts: z.string(),
    tool: z.string(),
    ok: z.boolean(),
    ms: z.number(),
    error: z.string().optional(),
  })),
});

/** One live file claim. */
export const ClaimInfoSchema = z.object({
  path: z.string().describe(
    "Claimed path or glob, relative to the repository root",
  ),
  holder: z.string().describe("The holder's alias"),
  session_id: z.string(),
  reason: z.string(),
  exclusive: z.boolean(),
  since: z.string(),
  expires_at: z.string().nullable().describe(
    "When it ends on its own (ttl_s); null: when the holder's session ends",
  ),
});

/** A path not granted, and the claim in the way. */
export const ClaimConflictSchema = z.object({
  path: z.string().describe(
    "The path asked for (a staged file, for the guard)",
  ),
  held_path: z.string().describe("The holder's claim that overlaps it"),
  holder: z.string(),
  reason: z.string(),
  since: z.string(),
  exclusive: z.boolean(),
});

/** Result of `claim`. */
export const ClaimResultSchema = z.object({
  granted: z.array(ClaimInfoSchema),
  conflicts: z.array(ClaimConflictSchema).describe(
    "Paths not granted: edit them only after their holder releases them",
  ),
  shared_with: z.array(ClaimInfoSchema).describe(
    "Others' shared claims overlapping a path you claimed as shared",
  ),
  notified: z.array(z.string()).describe("Holders told you asked"),
});

/** Result of `release`. */
export const ReleaseResultSchema = z.object({
  released: z.array(z.string()),
  not_held: z.array(z.string()),
});

/** Result of `claims`. */
export const ClaimsResultSchema = z.object({
  claims: z.array(ClaimInfoSchema),
});

/** Result of `message_status`. */
export const MessageStatusResultSchema = z.object({
  messages: z.array(z.object({
    id: z.string(),
    state: z.enum([
      "queued",
      "delivered",
      "expired",
      "dead_lettered",
      "posted",
      "unknown",
    ]),
    to_alias: z.string().optional(),
    room_id: z.string().optional(),
    ts: z.string().optional(),
    thread_id: z.string().optional(),
    via: z.enum(["poll", "hook", "push", "wake", "wait", "run"]).optional(),
    delivered_at: z.string().optional(),
    expires_at: z.string().optional(),
  })),
});
