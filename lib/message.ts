/**
 * Message records as stored in inboxes, archives, dead letters and room
 * histories, with strict parsing: a record that does not have the right shape
 * is reported, never guessed at.
 *
 * @module
 */

/** A direct or room message as it sits in an inbox. */
export interface Message {
  /** Unique id (`crypto.randomUUID()`); a room message keeps one id across all copies. */
  id: string;
  /** ISO-8601 UTC time it was sent. */
  ts: string;
  /** Sender's alias. */
  from_alias: string;
  /** Recipient's alias. */
  to_alias: string;
  /** Body, as written by the sender. */
  content: string;
  /** Set on the inbox copies of a room message. */
  room_id?: string;
  /** Id of the message this one answers, if any. */
  reply_to?: string;
  /**
   * Id of the thread's root (docs/design.md#conversations): a direct
   * message that answers none is its own root; a reply takes the thread of
   * the message it answers.
   */
  thread_id?: string;
  /**
   * ISO-8601 UTC time after which the message expires into the dead
   * letters: only on a direct message queued while its recipient was not
   * alive.
   */
  expires_at?: string;
  /**
   * What the envelope's `event` says, when it is not a plain or room
   * message: `claim` for a broker notice about a file claim (the sender
   * asked for a file the recipient claims).
   */
  event?: string;
}

/**
 * How a message reached its recipient's agent: `poll_inbox` (`poll`), a
 * hook (`hook`), a channel push (`push`), a native wake (`wake`),
 * `wait_for_message` (`wait`), or the `c2c run` harness (`run`).
 */
export type DeliveryVia = "poll" | "hook" | "push" | "wake" | "wait" | "run";

/** Every {@linkcode DeliveryVia}. */
export const DELIVERY_VIAS: readonly DeliveryVia[] = [
  "poll",
  "hook",
  "push",
  "wake",
  "wait",
  "run",
];

/**
 * Whether a value is a {@linkcode DeliveryVia}.
 *
 * @param value Anything.
 * @returns `true` for one of {@linkcode DELIVERY_VIAS}.
 */
export function isDeliveryVia(value: unknown): value is DeliveryVia {
  return DELIVERY_VIAS.includes(value as DeliveryVia);
}

/** A message in `archive/<session>.jsonl`, after `poll_inbox` drained it. */
export interface ArchivedMessage extends Message {
  /** ISO-8601 UTC time it was drained. */
  drained_at: string;
  /** How it was handed to the agent, when the drain said so. */
  delivered_via?: DeliveryVia;
}

/**
 * A line of a sender's sent log (`archive/sent/<alias>.jsonl`): a direct
 * message (`to_alias`) or a room post (`room_id`) exactly as it was sent.
 */
export interface SentMessage {
  /** The message's id (a room post's id is shared with its inbox copies). */
  id: string;
  /** ISO-8601 UTC time it was sent. */
  ts: string;
  /** The sender's alias. */
  from_alias: string;
  /** Recipient of a direct message. */
  to_alias?: string;
  /** Room of a room post. */
  room_id?: string;
  /** Body. */
  content: string;
  /** Id of the message this one answers, if any. */
  reply_to?: string;
  /** Id of the thread's root (direct messages). */
  thread_id?: string;
  /** When a message queued for a recipient that was not alive expires. */
  expires_at?: string;
}

/** A message rescued from the inbox of a swept session. */
export interface DeadLetter extends Message {
  /** Session whose inbox held it. */
  dead_session_id: string;
  /** ISO-8601 UTC time it was rescued. */
  dead_at: string;
  /**
   * Why it is here when not a swept session's inbox: `expired` (its
   * `expires_at` passed before anyone took its alias; never delivered
   * again), `offline` (sent to an alias nobody holds right now, waiting for
   * it to register again). See docs/design.md#conversations.
   */
  reason?: "expired" | "offline";
}

/**
 * A sender's proof that a direct message reached its recipient's agent:
 * never any content (docs/design.md#conversations).
 */
export interface Receipt {
  /** The message's id. */
  id: string;
  /** Its recipient. */
  to_alias: string;
  /** ISO-8601 UTC time it was handed over. */
  delivered_at: string;
  /** How. */
  via: DeliveryVia;
}

/**
 * Checks that `value` is a {@linkcode Receipt}; returns a reason when not.
 *
 * @param value Parsed JSON.
 * @returns `null` when valid, else what is wrong.
 */
export function receiptProblem(value: unknown): string | null {
  if (!isObject(value)) return "not a JSON object";
  for (const key of ["id", "to_alias", "delivered_at"]) {
    if (typeof value[key] !== "string") return `field '${key}' is not a string`;
  }
  if (!isDeliveryVia(value.via)) return "field 'via' is not a delivery path";
  return null;
}

/**
 * Keeps only the {@linkcode Receipt} fields of a record.
 *
 * @param record A stored receipt.
 * @returns The receipt.
 */
export function toReceipt(record: Receipt): Receipt {
  return {
    id: record.id,
    to_alias: record.to_alias,
    delivered_at: record.delivered_at,
    via: record.via,
  };
}

/**
 * Whether a message's `expires_at` has passed.
 *
 * @param message A message, dead letter or sent-log line.
 * @param now Epoch ms.
 * @returns `true` once it expired (never for one without `expires_at`).
 */
export function isExpired(
  message: { expires_at?: string; reason?: string },
  now: number,
): boolean {
  if (message.reason === "expired") return true;
  return message.expires_at !== undefined &&
    Date.parse(message.expires_at) <= now;
}

/** A line of `rooms/<room>/history.jsonl`. */
export interface RoomMessage {
  /** Unique id, shared with the inbox copies. */
  id: string;
  /** ISO-8601 UTC time it was posted. */
  ts: string;
  /** The room. */
  room_id: string;
  /** Poster's alias (`c2c-system` for joins and leaves). */
  from_alias: string;
  /** Body. */
  content: string;
}

/** Alias used for membership lines in room history. */
export const SYSTEM_ALIAS = "c2c-system";

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function optionalString(record: Record<string, unknown>, key: string): boolean {
  return record[key] === undefined || typeof record[key] === "string";
}

/**
 * Checks that `value` is a {@linkcode Message}; returns a reason when not.
 *
 * @param value Parsed JSON.
 * @returns `null` when valid, else what is wrong.
 */
export function messageProblem(value: unknown): string | null {
  if (!isObject(value)) return "not a JSON object";
  for (const key of ["id", "ts", "from_alias", "to_alias", "content"]) {
    if (typeof value[key] !== "string") return `field '${key}' is not a string`;
  }
  if (!optionalString(value, "room_id")) {
    return "field 'room_id' is not a string";
  }
  if (!optionalString(value, "reply_to")) {
    return "field 'reply_to' is not a string";
  }
  if (!optionalString(value, "event")) return "field 'event' is not a string";
  for (const key of ["thread_id", "expires_at"]) {
    if (!optionalString(value, key)) return `field '${key}' is not a string`;
  }
  return null;
}

/**
 * Checks that `value` is a {@linkcode SentMessage}; returns a reason when
 * not.
 *
 * @param value Parsed JSON.
 * @returns `null` when valid, else what is wrong.
 */
export function sentMessageProblem(value: unknown): string | null {
  if (!isObject(value)) return "not a JSON object";
  for (const key of ["id", "ts", "from_alias", "content"]) {
    if (typeof value[key] !== "string") return `field '${key}' is not a string`;
  }
  for (
    const key of ["to_alias", "room_id", "reply_to", "thread_id", "expires_at"]
  ) {
    if (!optionalString(value, key)) return `field '${key}' is not a string`;
  }
  if ((value.to_alias === undefined) === (value.room_id === undefined)) {
    return "exactly one of 'to_alias' and 'room_id' must be set";
  }
  return null;
}

/**
 * Checks that `value` is a {@linkcode DeadLetter}; returns a reason when not.
 *
 * @param value Parsed JSON.
 * @returns `null` when valid, else what is wrong.
 */
export function deadLetterProblem(value: unknown): string | null {
  const problem = messageProblem(value);
  if (problem) return problem;
  const record = value as Record<string, unknown>;
  if (typeof record.dead_session_id !== "string") {
    return "field 'dead_session_id' is not a string";
  }
  if (
    record.reason !== undefined && record.reason !== "expired" &&
    record.reason !== "offline"
  ) {
    return "field 'reason' is not 'expired' or 'offline'";
  }
  return null;
}

/**
 * Checks that `value` is a {@linkcode RoomMessage}; returns a reason when not.
 *
 * @param value Parsed JSON.
 * @returns `null` when valid, else what is wrong.
 */
export function roomMessageProblem(value: unknown): string | null {
  if (!isObject(value)) return "not a JSON object";
  for (const key of ["id", "ts", "room_id", "from_alias", "content"]) {
    if (typeof value[key] !== "string") return `field '${key}' is not a string`;
  }
  return null;
}

/** Keeps only the {@linkcode Message} fields of a stored record. */
export function toMessage(record: Message): Message {
  const message: Message = {
    id: record.id,
    ts: record.ts,
    from_alias: record.from_alias,
    to_alias: record.to_alias,
    content: record.content,
  };
  if (record.room_id !== undefined) message.room_id = record.room_id;
  if (record.reply_to !== undefined) message.reply_to = record.reply_to;
  if (record.event !== undefined) message.event = record.event;
  if (record.thread_id !== undefined) message.thread_id = record.thread_id;
  if (record.expires_at !== undefined) message.expires_at = record.expires_at;
  return message;
}

/**
 * Keeps only the {@linkcode SentMessage} fields of a record (a direct
 * message as queued, or a stored sent-log line).
 *
 * @param record A sent-log line, or a {@linkcode Message}.
 * @returns Its {@linkcode SentMessage}.
 */
export function toSentMessage(record: SentMessage | Message): SentMessage {
  const sent: SentMessage = {
    id: record.id,
    ts: record.ts,
    from_alias: record.from_alias,
    content: record.content,
  };
  if (record.room_id !== undefined) sent.room_id = record.room_id;
  else if (record.to_alias !== undefined) sent.to_alias = record.to_alias;
  if (record.reply_to !== undefined) sent.reply_to = record.reply_to;
  if (record.thread_id !== undefined) sent.thread_id = record.thread_id;
  if (record.expires_at !== undefined) sent.expires_at = record.expires_at;
  return sent;
}
