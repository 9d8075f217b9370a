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
  readJsonlHead,
  readJsonlTail,
  rewriteJsonl,
} from "./jsonl.ts";
import {
  type ArchivedMessage,
  type DeliveryVia,
  type Message,
  messageProblem,
  toMessage,
} from "./message.ts";
import { openFile, removeIfExists, truncateFile } from "./_fs.ts";
import { jsonBytes, utf8Bytes } from "./_bytes.ts";

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
  /**
   * At most this many bytes of output: `overhead` plus the `cost` of each
   * message taken. A first message that alone is bigger goes out alone, whole
   * up to `aloneBytes`, else cut to fit them ({@linkcode clipMessage}); the
   * inbox and the archive keep it whole.
   */
  maxBytes?: number;
  /**
   * At most this many bytes of output for a first message that alone passes
   * `maxBytes` (default: `maxBytes`).
   */
  aloneBytes?: number;
  /**
   * Bytes one message adds to the output, measured on the exact form the
   * caller emits (default: its JSON and a separator, {@linkcode jsonCost}).
   */
  cost?: (message: Message) => number;
  /** Bytes the output takes with no message in it (default 0). */
  overhead?: number;
}

/** The messages a selection takes, and how many others stay pending. */
export interface Selected {
  /** Taken messages, oldest first, as they are handed over. */
  messages: Message[];
  /** Pending messages not taken. */
  remaining: number;
  /** Ids of taken messages cut to fit the bound (absent when none was). */
  truncated?: string[];
}

/**
 * The default cost of a message: its JSON and the comma that separates it
 * from the next in an array.
 *
 * @param message The message.
 * @returns Bytes.
 */
export function jsonCost(message: Message): number {
  return jsonBytes(message) + 1;
}

/** Longest id, alias, timestamp or room id kept in a cut message. */
const FIELD_CAP = 256;

function capField(value: string): string {
  return value.length > FIELD_CAP ? value.slice(0, FIELD_CAP) : value;
}

/**
 * The notice that ends a cut body: how much is shown, and where the whole
 * message is (the CLI prints without a size bound).
 */
function cutNotice(shown: number, total: number): string {
  return `\n[c2c: message cut to fit one delivery: ${shown} of ${total} bytes shown. ` +
    "The whole message is kept: `c2c history` prints it once taken, " +
    "`c2c peek-inbox` while it waits.]";
}

/**
 * Cuts a message that alone is bigger than a delivery may be: the body is
 * shortened (never inside a surrogate pair) and ends with a notice saying
 * so; other oversized fields are shortened, and a `reply_to` too long to be
 * an id is dropped. Fields other than a message's (an archive's
 * `drained_at`) are kept. The stored message stays whole.
 *
 * @param message The message.
 * @param room Bytes it may cost.
 * @param cost How its cost is measured.
 * @returns The cut copy (as small as it gets, if even that does not fit).
 *
 * @example Usage
 * ```ts
 * import { clipMessage, jsonCost } from "./inbox.ts";
 * const m = { id: "1", ts: "t", from_alias: "a", to_alias: "b", content: "x".repeat(5000) };
 * jsonCost(clipMessage(m, 1000, jsonCost)) <= 1000; // true
 * ```
 */
export function clipMessage<T extends Message>(
  message: T,
  room: number,
  cost: (message: T) => number,
): T {
  const base: T = {
    ...message,
    id: capField(message.id),
    ts: capField(message.ts),
    from_alias: capField(message.from_alias),
    to_alias: capField(message.to_alias),
    content: "",
  };
  if (message.room_id !== undefined) base.room_id = capField(message.room_id);
  if (message.reply_to !== undefined && message.reply_to.length > FIELD_CAP) {
    delete base.reply_to;
  }
  const body = message.content;
  const total = utf8Bytes(body);
  const cut = (n: number): T => {
    const prefix = body.slice(0, n);
    return { ...base, content: prefix + cutNotice(utf8Bytes(prefix), total) };
  };
  // The longest prefix that fits: the cost grows with the prefix.
  let lo = 0;
  let hi = body.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (cost(cut(mid)) <= room) lo = mid;
    else hi = mid - 1;
  }
  const last = body.charCodeAt(lo - 1);
  if (lo > 0 && last >= 0xd800 && last <= 0xdbff) lo--; // never half a pair
  return cut(lo);
}

/** What a selection takes: the records' indexes, and what it hands over. */
interface Picked<T extends Message> {
  messages: T[];
  remaining: number;
  truncated?: string[];
  indexes: number[];
}

function pick<T extends Message>(
  records: readonly T[],
  selection: InboxSelection,
  normalize: (record: T) => T,
): Picked<T> {
  const limit = selection.limit ?? Infinity;
  const overhead = selection.overhead ?? 0;
  const room = (selection.maxBytes ?? Infinity) - overhead;
  const alone = (selection.aloneBytes ?? selection.maxBytes ?? Infinity) -
    overhead;
  const cost = selection.cost ?? jsonCost;
  const picked: Picked<T> = { messages: [], remaining: 0, indexes: [] };
  let used = 0;
  for (let i = 0; i < records.length; i++) {
    if (picked.messages.length >= limit) break;
    if (selection.only && !selection.only.has(records[i].id)) continue;
    const message = normalize(records[i]);
    if (room !== Infinity) {
      const bytes = cost(message);
      if (used + bytes > room) {
        // Handing nothing over would leave this message in the way of every
        // later one: too big to share, it goes out alone (cut, if too big
        // even for that), the rest next time.
        if (picked.messages.length === 0) {
          if (bytes <= alone) {
            picked.messages.push(message);
          } else {
            picked.messages.push(clipMessage(message, alone, cost));
            picked.truncated = [records[i].id];
          }
          picked.indexes.push(i);
        }
        break;
      }
      used += bytes;
    }
    picked.messages.push(message);
    picked.indexes.push(i);
  }
  picked.remaining = records.length - picked.messages.length;
  return picked;
}

function selected<T extends Message>(picked: Picked<T>) {
  const result: { messages: T[]; remaining: number; truncated?: string[] } = {
    messages: picked.messages,
    remaining: picked.remaining,
  };
  if (picked.truncated) result.truncated = picked.truncated;
  return result;
}

/**
 * Picks messages from a pending list, oldest first, within bounds measured
 * on what the caller will emit: a reply that never outgrows what its reader
 * takes (the MCP SDK closes a stdio connection on a line over 10 MiB), and a
 * hook that never floods the model. The rest stays queued for the next call.
 *
 * @param records Pending messages, oldest first.
 * @param selection Ids, count and size bounds.
 * @returns What is taken and how many remain.
 *
 * @example Usage
 * ```ts
 * import { selectMessages } from "./inbox.ts";
 * const m = { id: "1", ts: "t", from_alias: "a", to_alias: "b", content: "hi" };
 * selectMessages([m, { ...m, id: "2" }], { limit: 1 }).remaining; // 1
 * ```
 */
export function selectMessages(
  records: readonly Message[],
  selection: InboxSelection = {},
): Selected {
  return selected(pick(records, selection, toMessage));
}

/**
 * {@linkcode selectMessages} on an inbox file, reading only as far as the
 * selection can reach: a bounded look at a huge inbox parses what it hands
 * over, and only counts the rest.
 *
 * Requires `--allow-read` on the broker root.
 *
 * @param paths Broker layout.
 * @param sessionId Inbox owner.
 * @param selection Count and size bounds (without `only`, which needs all).
 * @returns What is taken and how many remain.
 */
export function peekInbox(
  paths: BrokerPaths,
  sessionId: string,
  selection: InboxSelection = {},
): Selected {
  if (selection.only) {
    return selectMessages(readInbox(paths, sessionId), selection);
  }
  const limit = selection.limit ?? Infinity;
  const maxBytes = selection.maxBytes ?? Infinity;
  // One more than the selection could take, so `pick` sees where it stops.
  const head = readJsonlHead<Message>(
    paths.inbox(sessionId),
    messageProblem,
    (records, bytes) => records.length > limit || bytes > maxBytes,
  );
  const picked = selectMessages(head.records, selection);
  return { ...picked, remaining: picked.remaining + head.unread };
}

/**
 * Picks the newest drained messages within bounds (for `history`, which
 * shows the newest): {@linkcode selectMessages} from the other end.
 *
 * @param records Drained messages, oldest first.
 * @param selection Count and size bounds (`only` is ignored).
 * @returns The newest that fit, oldest first; `remaining` counts the older
 * ones left out.
 */
export function selectNewest<T extends Message = ArchivedMessage>(
  records: readonly T[],
  selection: InboxSelection = {},
): {
  messages: T[];
  remaining: number;
  truncated?: string[];
} {
  const picked = pick(
    [...records].reverse(),
    { ...selection, only: undefined },
    (r) => ({ ...r }),
  );
  picked.messages.reverse();
  return selected(picked);
}

/**
 * Drains an inbox into its archive. Caller holds the inbox lock.
 *
 * The archive gets each message whole, even one handed over cut.
 *
 * @param paths Broker layout.
 * @param sessionId Inbox owner.
 * @param drainedAt Timestamp recorded in the archive.
 * @param selection Which messages to drain (default: all); the rest stay.
 * @param via How they reach the agent, recorded in the archive.
 * @returns The drained messages as handed over, oldest first, and how many
 * remain.
 */
export function drainInbox(
  paths: BrokerPaths,
  sessionId: string,
  drainedAt: string,
  selection: InboxSelection = {},
  via?: DeliveryVia,
): Selected {
  const path = paths.inbox(sessionId);
  const { records, tornTail } = readJsonl<Message>(path, messageProblem);
  const picked = pick(records, selection, toMessage);
  const taken = selected(picked);
  if (picked.indexes.length === 0) return taken;
  const archived: ArchivedMessage[] = picked.indexes.map((i) => ({
    ...toMessage(records[i]),
    drained_at: drainedAt,
    ...(via ? { delivered_via: via } : {}),
  }));
  appendJsonl(paths.archive(sessionId), archived);
  if (taken.remaining > 0) {
    const gone = new Set(picked.indexes);
    rewriteJsonl(path, records.filter((_, i) => !gone.has(i)));
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
  // What goes back is the archived original: a message handed over cut
  // returns whole.
  const whole = new Map<string, Message>();
  for (const i of drop) whole.set(archive[i].id, toMessage(archive[i]));
  const pending = readInbox(paths, sessionId).filter((m) => !ids.has(m.id));
  rewriteJsonl(paths.inbox(sessionId), [
    ...messages.map((m) => whole.get(m.id) ?? toMessage(m)),
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
 * The size of a session's pending inbox on disk, in bytes (0 when missing):
 * what the inbox quota compares. A link in place of the inbox is refused.
 *
 * @param paths Broker layout.
 * @param sessionId Inbox owner.
 * @returns Bytes pending.
 */
export function inboxBytes(paths: BrokerPaths, sessionId: string): number {
  const file = openFile(paths.inbox(sessionId), { read: true });
  if (file === null) return 0;
  try {
    return file.statSync().size;
  } finally {
    file.close();
  }
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
