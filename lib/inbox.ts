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
import { removeIfExists } from "./_fs.ts";

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

/**
 * Drains an inbox into its archive. Caller holds the inbox lock.
 *
 * @param paths Broker layout.
 * @param sessionId Inbox owner.
 * @param drainedAt Timestamp recorded in the archive.
 * @param only When given, drain only messages with these ids; the rest stay.
 * @returns The drained messages, oldest first.
 */
export function drainInbox(
  paths: BrokerPaths,
  sessionId: string,
  drainedAt: string,
  only?: ReadonlySet<string>,
): Message[] {
  const path = paths.inbox(sessionId);
  const { records, tornTail } = readJsonl<Message>(path, messageProblem);
  const drained = only ? records.filter((m) => only.has(m.id)) : records;
  if (drained.length === 0) return [];
  const archived: ArchivedMessage[] = drained.map((m) => ({
    ...toMessage(m),
    drained_at: drainedAt,
  }));
  appendJsonl(paths.archive(sessionId), archived);
  if (only && drained.length < records.length) {
    rewriteJsonl(path, records.filter((m) => !only.has(m.id)));
  } else if (tornTail || drained.length === records.length) {
    // Everything complete was archived; a torn tail is an unacknowledged
    // partial write and goes with it.
    Deno.truncateSync(path, 0);
  }
  return drained.map(toMessage);
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
