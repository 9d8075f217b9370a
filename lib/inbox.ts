/**
 * Inboxes (`<session>.inbox.jsonl`, pending messages, oldest first) and their
 * archives (`archive/<session>.jsonl`, drained messages).
 *
 * A send is one locked append, so it costs the same however full the inbox
 * is. A drain is: read → append to the archive → truncate, all under the
 * inbox lock. A crash between the archive append and the truncate can deliver
 * a message twice (ids make that detectable); it can never lose one.
 *
 * The functions marked "caller holds the inbox lock" do not lock themselves,
 * so that callers can compose them under the fixed lock order.
 *
 * @module
 */

import type { BrokerPaths } from "./paths.ts";
import {
  appendJsonl,
  countLines,
  readJsonl,
  readJsonlTail,
  rewriteJsonl,
} from "./jsonl.ts";
import {
  type ArchivedMessage,
  type Message,
  messageProblem,
  toMessage,
} from "./message.ts";
import { removeIfExists, truncateFile } from "./_fs.ts";

/**
 * Reads the pending messages of a session without a lock. A half-written
 * last line (a send in progress) is skipped.
 *
 * Requires `--allow-read` on the broker root.
 *
 * @param paths Broker layout.
 * @param sessionId Inbox owner.
 * @returns Pending messages, oldest first.
 */
export function readInbox(paths: BrokerPaths, sessionId: string): Message[] {
  return readJsonl<Message>(paths.inbox(sessionId), messageProblem).records;
}

/**
 * Appends messages to an inbox. Caller holds the inbox lock.
 *
 * @param paths Broker layout.
 * @param sessionId Inbox owner.
 * @param messages Messages to queue, in order.
 */
export function appendToInbox(
  paths: BrokerPaths,
  sessionId: string,
  messages: readonly Message[],
): void {
  appendJsonl(paths.inbox(sessionId), messages);
}

/** Which messages a drain or peek takes. */
export interface InboxSelection {
  /** Only messages with these ids (a push channel drains what it pushed). */
  only?: ReadonlySet<string>;
  /** At most this many messages, oldest first. */
  limit?: number;
  /** Stop before the JSON of the taken messages passes this many bytes
   * (the first message is always taken, however large). */
  maxBytes?: number;
}

/** The messages a selection takes, and how many others stay pending. */
export interface Selected {
  /** Taken messages, oldest first. */
  messages: Message[];
  /** Pending messages not taken. */
  remaining: number;
}

/**
 * Picks messages from a pending list: bounded replies keep a client from
 * choking on (or a hook from flooding the model with) a huge backlog; the
 * rest stays queued for the next call.
 *
 * @param records Pending messages, oldest first.
 * @param selection Ids, count and size bounds.
 * @returns What is taken and how many remain.
 */
export function selectMessages(
  records: readonly Message[],
  selection: InboxSelection = {},
): Selected {
  const pool = selection.only
    ? records.filter((m) => selection.only!.has(m.id))
    : records;
  const limit = selection.limit ?? Infinity;
  const maxBytes = selection.maxBytes ?? Infinity;
  const messages: Message[] = [];
  let bytes = 0;
  for (const m of pool) {
    if (messages.length >= limit) break;
    bytes += m.content.length + 200;
    if (messages.length > 0 && bytes > maxBytes) break;
    messages.push(toMessage(m));
  }
  return { messages, remaining: records.length - messages.length };
}

/**
 * Drains an inbox into its archive. Caller holds the inbox lock.
 *
 * @param paths Broker layout.
 * @param sessionId Inbox owner.
 * @param drainedAt Timestamp recorded in the archive.
 * @param selection Which messages to drain (default: all); the rest stay.
 * @returns The drained messages, oldest first, and how many remain.
 */
export function drainInbox(
  paths: BrokerPaths,
  sessionId: string,
  drainedAt: string,
  selection: InboxSelection = {},
): Selected {
  const path = paths.inbox(sessionId);
  const { records, tornTail } = readJsonl<Message>(path, messageProblem);
  const taken = selectMessages(records, selection);
  if (taken.messages.length === 0) return taken;
  const archived: ArchivedMessage[] = taken.messages.map((m) => ({
    ...m,
    drained_at: drainedAt,
  }));
  appendJsonl(paths.archive(sessionId), archived);
  if (taken.remaining > 0) {
    const gone = new Set(taken.messages.map((m) => m.id));
    rewriteJsonl(path, records.filter((m) => !gone.has(m.id)));
  } else if (tornTail || records.length > 0) {
    // Everything complete was archived; a torn tail is an unacknowledged
    // partial write and goes with it.
    truncateFile(path);
  }
  return taken;
}

/**
 * Undoes a drain whose messages never reached the agent (a wake whose
 * delivery failed after the drain): takes them out of the archive and puts
 * them back at the head of the inbox, oldest first. Caller holds the inbox
 * lock (which also guards the archive).
 *
 * Rewrites the archive: only for this rare failure path, never per message.
 *
 * @param paths Broker layout.
 * @param sessionId Inbox owner.
 * @param messages The drained messages to restore.
 * @returns How many were restored.
 */
export function restoreDrained(
  paths: BrokerPaths,
  sessionId: string,
  messages: readonly Message[],
): number {
  if (messages.length === 0) return 0;
  const ids = new Set(messages.map((m) => m.id));
  const archive = readJsonl<ArchivedMessage>(
    paths.archive(sessionId),
    messageProblem,
  ).records;
  // Only the last archived copy of each id is this drain's.
  const drop = new Set<number>();
  const seen = new Set<string>();
  for (let i = archive.length - 1; i >= 0; i--) {
    const id = archive[i].id;
    if (ids.has(id) && !seen.has(id)) {
      seen.add(id);
      drop.add(i);
    }
  }
  if (drop.size > 0) {
    rewriteJsonl(
      paths.archive(sessionId),
      archive.filter((_, i) => !drop.has(i)),
    );
  }
  const pending = readInbox(paths, sessionId).filter((m) => !ids.has(m.id));
  rewriteJsonl(paths.inbox(sessionId), [
    ...messages.map(toMessage),
    ...pending,
  ]);
  return messages.length;
}

/**
 * Removes an inbox and returns what it held. Caller holds the inbox lock.
 *
 * @param paths Broker layout.
 * @param sessionId Inbox owner.
 * @returns Its pending messages.
 */
export function takeInbox(paths: BrokerPaths, sessionId: string): Message[] {
  const messages = readInbox(paths, sessionId);
  removeIfExists(paths.inbox(sessionId));
  return messages;
}

/**
 * Reads the newest part of a session's archive without a lock; the cost
 * depends on `limit`, not on the archive's size.
 *
 * Requires `--allow-read` on the broker root.
 *
 * @param paths Broker layout.
 * @param sessionId Archive owner.
 * @param limit How many of the newest messages (default: all).
 * @returns Drained messages, oldest first.
 */
export function readArchive(
  paths: BrokerPaths,
  sessionId: string,
  limit?: number,
): ArchivedMessage[] {
  if (limit === undefined) {
    return readJsonl<ArchivedMessage>(paths.archive(sessionId), messageProblem)
      .records;
  }
  if (limit === 0) return [];
  return readJsonlTail<ArchivedMessage>(
    paths.archive(sessionId),
    messageProblem,
    { limit },
  );
}

/**
 * Counts the pending messages of a session without parsing them (for `list`).
 *
 * @param paths Broker layout.
 * @param sessionId Inbox owner.
 * @returns Number of pending messages.
 */
export function countPending(paths: BrokerPaths, sessionId: string): number {
  return countLines(paths.inbox(sessionId));
}
