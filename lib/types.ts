/**
 * Result types of the broker's operations (docs/design.md#operations). These are the stable
 * JSON shapes the MCP tools return as `structuredContent` and the CLI prints
 * with `--json`. Every result is an object (MCP requires it), so lists are
 * wrapped: `{peers: […]}`, `{messages: […]}`, `{rooms: […]}`.
 *
 * @module
 */

import type { AuditEntry } from "./audit.ts";
import type { Liveness } from "./lease.ts";
import type { DeliveryVia, Message, RoomMessage } from "./message.ts";
import type { WakeInfo } from "./registry.ts";

/** What `register` did. */
export type RegisterStatus =
  | "registered"
  | "already_registered"
  | "renamed"
  | "taken_over";

/** Result of `register`. */
export interface RegisterResult {
  /** The alias now held. */
  alias: string;
  /** The caller's session id. */
  session_id: string;
  /** `registered`, `already_registered` (refresh), `renamed` or `taken_over`. */
  status: RegisterStatus;
  /** The alias this session held before a rename. */
  previous_alias?: string;
  /** Session whose dead registration this one replaced (takeover). */
  replaced_session_id?: string;
  /** Messages moved into this inbox: a dead holder's pending ones and dead letters. */
  redelivered: number;
  /** Something the registration had to skip (a damaged dead-letter file). */
  warning?: string;
}

/** Result of `whoami`. */
export interface WhoamiResult {
  /** The caller's alias. */
  alias: string;
  /** The caller's session id. */
  session_id: string;
  /** Liveness of this session's lease. */
  alive: Liveness;
  /** Client name, when known. */
  client: string | null;
  /** Client pid, when known. */
  pid: number | null;
  /** First registration time. */
  registered_at: string;
  /** Last register/refresh time. */
  last_seen: string;
}

/** One row of `list`. */
export interface PeerInfo {
  /** The peer's alias (`null` for an unregistered session in `--all`). */
  alias: string | null;
  /** Its session id. */
  session_id: string;
  /** `true` alive, `false` dead, `null` unknown (no lease). */
  alive: Liveness;
  /** Client name, when known. */
  client: string | null;
  /** Client pid, when known. */
  pid: number | null;
  /** Last register/refresh time (`null` when unregistered). */
  last_seen: string | null;
  /** Messages waiting in its inbox. */
  pending: number;
  /** How it can be woken when idle, if known. */
  wake?: WakeInfo;
  /** What it says it works on (`set_status`); absent when it is dead. */
  status?: string;
  /** When it set that status. */
  status_at?: string;
  /** Its working directory. */
  cwd?: string;
  /** The git branch checked out there. */
  git_branch?: string;
  /**
   * Live file claims it holds (`claim`). Set by the tool and the command,
   * which count them in the claim store; absent when that cannot be read.
   */
  claims?: number;
}

/** Result of `list`. */
export interface ListResult {
  /** Registered peers (and, with `all`, unregistered sessions). */
  peers: PeerInfo[];
}

/** Delivery receipt of one direct message. */
export interface SendReceipt {
  /** The new message's id. */
  id: string;
  /** When it was queued. */
  ts: string;
  /** The recipient. */
  to_alias: string;
  /** Always `true`: the message is in the recipient's inbox. */
  queued: true;
  /**
   * Whether the recipient's session was alive when it was queued (`null`:
   * registered from a shell, unknown). `false`: it waits for a session to
   * take the alias, until `expires_at` (docs/design.md#conversations).
   */
  recipient_alive?: Liveness;
  /** When a message queued for a recipient that is not alive expires. */
  expires_at?: string;
  /** The thread it belongs to (its own id when it answers nothing). */
  thread_id?: string;
}

/** A peer `send_all` did not deliver to. */
export interface SkippedPeer {
  /** The peer. */
  alias: string;
  /** Why (e.g. `not alive`). */
  reason: string;
}

/** Result of `send_all`. */
export interface SendAllResult {
  /** One receipt per live peer. */
  sent_to: SendReceipt[];
  /** Peers skipped, with the reason. */
  skipped: SkippedPeer[];
}

/** Result of `poll_inbox` and `peek_inbox`. */
export interface InboxResult {
  /** Messages, oldest first. */
  messages: Message[];
  /** Pending messages not returned this time (bounded replies). */
  remaining: number;
  /**
   * Ids of returned messages whose body was cut to fit the reply (it ends
   * with a notice; the broker keeps the whole message). Absent when none.
   */
  truncated?: string[];
}

/** Result of `set_status`. */
export interface SetStatusResult {
  /** The caller's alias. */
  alias: string;
  /** The status now shown (`null`: cleared). */
  status: string | null;
  /** When it was set. */
  status_at: string;
}

/** Result of `wait_for_message`. */
export interface WaitResult extends InboxResult {
  /** `true` when no matching message came within the timeout. */
  timed_out: boolean;
}

/** A message in `history`: received (`in`) or sent (`out`). */
export interface HistoryEntry extends Message {
  /** `in`: received (from the archive); `out`: sent (from the sent log). */
  direction: "in" | "out";
  /** When a received message was drained. */
  drained_at?: string;
  /** How a received message was handed over. */
  delivered_via?: DeliveryVia;
}

/** Result of `history`. */
export interface HistoryResult {
  /**
   * Received and sent messages merged by time, newest last (a sent room
   * post has `room_id` and an empty `to_alias`).
   */
  messages: HistoryEntry[];
  /**
   * Older messages within `limit` left out to keep the reply bounded (MCP
   * only). Absent when none.
   */
  omitted?: number;
  /** Ids of returned messages whose body was cut to fit. Absent when none. */
  truncated?: string[];
}

/** Result of `join_room`. */
export interface JoinRoomResult {
  /** The room. */
  room_id: string;
  /** Always `true` on success. */
  joined: true;
  /** Whether the caller was a member already (joining is idempotent). */
  already_member: boolean;
  /** Members after joining. */
  member_count: number;
  /** The last `history_limit` messages, newest last. */
  history: RoomMessage[];
}

/** Result of `leave_room`. */
export interface LeaveRoomResult {
  /** The room. */
  room_id: string;
  /** Whether the caller was a member (and is no longer). */
  left: boolean;
  /** Members after leaving. */
  member_count: number;
}

/** Result of `send_room`. */
export interface SendRoomResult {
  /** The room message's id (a duplicate returns the original's). */
  id: string;
  /** When it was posted. */
  ts: string;
  /** The room. */
  room_id: string;
  /** Members of the room, sender included. */
  member_count: number;
  /** Inboxes it was queued into (0 for a duplicate). */
  queued_count: number;
  /** Whether it repeated the sender's identical post of the last 60 s. */
  deduplicated: boolean;
  /** Members whose copy was not queued (their inbox is full), if any. */
  skipped?: SkippedPeer[];
}

/** Result of `room_history`. */
export interface RoomHistoryResult {
  /** The room. */
  room_id: string;
  /** The selected messages, newest last. */
  messages: RoomMessage[];
  /** Messages in the room's whole history. */
  total: number;
}

/** One room in `list_rooms`. */
export interface RoomSummary {
  /** The room. */
  room_id: string;
  /** Its members. */
  member_count: number;
  /** Lines in its history. */
  message_count: number;
}

/** Result of `list_rooms`. */
export interface ListRoomsResult {
  /** Every room, by id. */
  rooms: RoomSummary[];
}

/** One room in `my_rooms`. */
export interface MyRoom {
  /** The room. */
  room_id: string;
  /** Its members. */
  member_count: number;
}

/** Result of `my_rooms`. */
export interface MyRoomsResult {
  /** Rooms the caller belongs to. */
  rooms: MyRoom[];
}

/** A registration removed by `sweep` or `broker-gc`. */
export interface RemovedRegistration {
  /** Its alias. */
  alias: string;
  /** Its session id. */
  session_id: string;
  /** `dead` (lease released) or `expired` (no lease, idle past the TTL). */
  reason: "dead" | "expired";
}

/** Result of `sweep`. */
export interface SweepResult {
  /** How many registrations were removed. */
  removed_registrations: number;
  /** Which ones. */
  removed: RemovedRegistration[];
  /** Pending messages moved to `dead-letter.jsonl`. */
  rescued_messages: number;
  /** Inbox files without a registration that were rescued and removed. */
  orphan_inboxes: number;
  /**
   * Messages whose `expires_at` passed, moved to (or marked in) the dead
   * letters with reason `expired`. Absent when none.
   */
  expired_messages?: number;
}

/** Result of `broker-gc`. */
export interface GcResult extends SweepResult {
  /** Dead letters older than their TTL that were deleted. */
  purged_dead_letters: number;
  /** Idle lock and lease files of unregistered sessions removed. */
  removed_lock_files: number;
  /** Whether this was a dry run (nothing written). */
  dry_run: boolean;
}

/** Result of `tail_log`. */
export interface TailLogResult {
  /** The last entries, oldest first. */
  entries: AuditEntry[];
}

/** Result of `refresh-peer`. */
export interface RefreshPeerResult {
  /** The refreshed alias. */
  alias: string;
  /** Its session id. */
  session_id: string;
  /** The pid now recorded. */
  pid: number;
  /** The pid's start time, when readable. */
  pid_start_time: number | null;
}

/** One live file claim. */
export interface ClaimInfo {
  /** The claimed path or glob, relative to the repository root. */
  path: string;
  /** The holder's alias. */
  holder: string;
  /** The holder's session. */
  session_id: string;
  /** Why the holder claimed it. */
  reason: string;
  /** `true`: no one else may claim an overlapping path; `false`: shared. */
  exclusive: boolean;
  /** When the holder first claimed this path (ISO-8601 UTC). */
  since: string;
  /** When the claim ends on its own (`ttl_s`), or `null`: with the session. */
  expires_at: string | null;
}

/** A path `claim` did not grant, and the live claim that stands in the way. */
export interface ClaimConflict {
  /** The path asked for (normalised; a staged file for the guard). */
  path: string;
  /** The holder's claim that overlaps it. */
  held_path: string;
  /** The holder's alias. */
  holder: string;
  /** The holder's reason. */
  reason: string;
  /** Since when the holder has held it. */
  since: string;
  /** Whether the holder's claim is exclusive. */
  exclusive: boolean;
}

/** Result of `claim`. */
export interface ClaimResult {
  /** The claims now held for the paths that were free. */
  granted: ClaimInfo[];
  /** The paths that were not: one entry per claim in the way. */
  conflicts: ClaimConflict[];
  /** Other sessions' shared claims that overlap a path granted as shared. */
  shared_with: ClaimInfo[];
  /** Holders told of the conflict now (at most once a minute per path). */
  notified: string[];
}

/** Result of `release`. */
export interface ReleaseResult {
  /** The claims released. */
  released: string[];
  /** Paths named that the caller did not hold (nothing to release). */
  not_held: string[];
}

/** Result of `claims`. */
export interface ClaimsResult {
  /** Live claims, by path. */
  claims: ClaimInfo[];
}

/** Result of `c2c guard check`: staged files under another's claim. */
export interface GuardCheckResult {
  /** How many files were checked. */
  checked: number;
  /** Each file under another live session's exclusive claim. */
  blocked: ClaimConflict[];
}

/** Where a sent message is (docs/design.md#conversations). */
export type MessageState =
  | "queued"
  | "delivered"
  | "expired"
  | "dead_lettered"
  | "posted"
  | "unknown";

/** One message in `message_status`: never any content. */
export interface MessageStatus {
  /** The message's id. */
  id: string;
  /**
   * `delivered` (handed to the recipient's agent), `queued` (waiting in its
   * inbox), `expired` (its `expires_at` passed first), `dead_lettered`
   * (waiting in the dead letters for its alias to register again),
   * `posted` (a room post), `unknown` (not a message the caller sent, or
   * no longer traceable).
   */
  state: MessageState;
  /** Recipient of a direct message. */
  to_alias?: string;
  /** Room of a room post. */
  room_id?: string;
  /** When it was sent. */
  ts?: string;
  /** Its thread (direct messages). */
  thread_id?: string;
  /** How it was handed over (`delivered`). */
  via?: DeliveryVia;
  /** When it was handed over (`delivered`). */
  delivered_at?: string;
  /** When it expires, or expired (queued for a recipient not alive). */
  expires_at?: string;
}

/** Result of `message_status`. */
export interface MessageStatusResult {
  /** One per id asked about, or the caller's newest sent, oldest first. */
  messages: MessageStatus[];
}
