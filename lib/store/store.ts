/**
 * What the broker keeps, and the atomic steps it needs: the contract between
 * {@linkcode Broker} (which holds every rule — aliases, identity, rooms,
 * fan-out, dedupe, sweep, dead letters, limits, audit) and the two places it
 * can keep them: the file store (a directory of files and locks on one
 * machine, `lib/store/file/`) and the NATS store (a JetStream cluster shared
 * by several machines, `lib/store/nats/`). See docs/design.md#stores.
 *
 * The interface is shaped by what both can make atomic:
 * - reads of the registry take a *view* in which messages can be queued
 *   without racing an alias takeover (the file store holds its registry lock
 *   shared; the NATS store keys inboxes by alias, so a takeover moves none);
 * - changes to the registry are computed from a view and committed as a
 *   whole, with the inbox moves they imply ({@linkcode RegistryEffect})
 *   applied in the same step (the file store under its exclusive lock; the
 *   NATS store after a compare-and-set of the keys that changed, re-running
 *   the computation when another process won);
 * - inbox drains are one atomic step each (select, archive, remove);
 * - a room is changed under its own scope.
 *
 * @module
 */

import type { AuditEntry } from "../audit.ts";
import type { ClaimStore } from "../claims.ts";
import type { BrokerConfig } from "../config.ts";
import type { InboxSelection, Selected } from "../inbox.ts";
import type { Liveness } from "../lease.ts";
import type {
  ArchivedMessage,
  DeadLetter,
  DeliveryVia,
  Message,
  Receipt,
  RoomMessage,
  SentMessage,
} from "../message.ts";
import type { BrokerPaths } from "../paths.ts";
import type { QuarantinedRow, Registration } from "../registry.ts";
import type { RoomMember } from "../rooms.ts";

/** Whose inbox: each store keys inboxes its own way (session or alias). */
export interface InboxOwner {
  /** The session. */
  readonly session_id: string;
  /** The alias it holds. */
  readonly alias: string;
}

/** Held for as long as a session lives; peers see it alive meanwhile. */
export interface SessionLease extends Disposable {
  /** The session. */
  readonly sessionId: string;
  /** Whether it is still held. */
  readonly held: boolean;
  /** Releases it: peers see the session dead from now on. Idempotent. */
  release(): void;
}

/** A consistent look at the registry, in which messages may be queued. */
export interface RegistryView {
  /** Every usable registration, in registration order. */
  readonly rows: readonly Registration[];
  /**
   * Whether a registration's session is alive.
   *
   * @param row The registration (or just its session id).
   */
  liveness(row: Pick<Registration, "session_id">): Promise<Liveness>;
  /**
   * Queues messages into an inbox now, refusing when the inbox would pass
   * `quota` bytes ({@linkcode InboxFullError}).
   *
   * @param to The recipient.
   * @param messages The messages, in order.
   * @param quota Largest pending inbox allowed, if any.
   */
  enqueue(
    to: InboxOwner,
    messages: readonly Message[],
    quota?: number,
  ): Promise<void>;
}

/** An inbox move a registry change implies. */
export type RegistryEffect =
  /**
   * A takeover: the dead holder's pending messages follow the alias, but
   * those that expired at `expire_before` go to the dead letters instead
   * (reason `expired`, stamped `dead_at`).
   */
  | {
    kind: "transfer";
    from: InboxOwner;
    to: InboxOwner;
    expire_before?: string;
    dead_at?: string;
  }
  /** A rename: the session's pending messages follow it to its new alias. */
  | { kind: "rename"; from: InboxOwner; to: InboxOwner }
  /**
   * Dead letters for this alias or session come back into its inbox, but
   * never those that expired (reason `expired`, or `expires_at` at or
   * before `expire_before`).
   */
  | { kind: "redeliver"; to: InboxOwner; expire_before?: string }
  /**
   * Messages whose `expires_at` is at or before `before` move from these
   * inboxes to the dead letters, and dead letters that expired are marked
   * so (reason `expired`, stamped `dead_at`): docs/design.md#conversations.
   */
  | {
    kind: "expire";
    owners: readonly InboxOwner[];
    before: string;
    dead_at: string;
  }
  /** A swept session's pending messages go to the dead letters. */
  | { kind: "rescue"; owner: InboxOwner; dead_at: string }
  /** Pending messages of a session nobody is registered as go to the dead letters. */
  | { kind: "rescue_orphans"; known: readonly string[]; dead_at: string }
  /**
   * A session registered without a lease (from a shell) reads unknown, not
   * dead, whatever an earlier process of it left behind.
   */
  | { kind: "forget_lease"; session_id: string };

/** What applying the effects of a registry change did. */
export interface EffectOutcome {
  /** Messages moved into an inbox (transfers, renames, redeliveries). */
  moved: number;
  /** Messages that expired into the dead letters (`expire`, transfers). */
  expired?: number;
  /** Messages rescued to the dead letters. */
  rescued: number;
  /** Orphan inboxes rescued. */
  orphans: number;
  /** Something an effect had to skip (e.g. a damaged dead-letter file). */
  warning?: string;
}

/** A registry change: the new registry, its effects and the caller's result. */
export interface RegistryChange<T> {
  /** The complete new registry (`null`: unchanged). */
  rows: Registration[] | null;
  /** Inbox moves to make with it, in order. */
  effects?: RegistryEffect[];
  /** The result, from what the effects did. */
  result(outcome: EffectOutcome): T;
}

/** A room, locked for a change. */
export interface RoomScope {
  /** The room's id. */
  readonly roomId: string;
  /** Its members. */
  members(): Promise<RoomMember[]>;
  /**
   * Replaces its members.
   *
   * @param members The complete new list.
   */
  setMembers(members: readonly RoomMember[]): Promise<void>;
  /**
   * Appends to its history.
   *
   * @param messages Room messages, in order.
   */
  append(messages: readonly RoomMessage[]): Promise<void>;
  /**
   * Its newest messages.
   *
   * @param options How far back to read.
   */
  recent(options: HistoryRange): Promise<RoomMessage[]>;
}

/**
 * A watch of one inbox, armed when {@linkcode Store.watchInbox} resolves:
 * any message queued into the inbox after that is reported. Reports are
 * hints (a drain or a restore may report too); the reader re-reads the
 * inbox. Dispose of it to stop watching.
 */
export interface InboxWatch extends Disposable {
  /**
   * Resolves at the first change seen since the watch was armed or since
   * the last call resolved (at once when one was seen meanwhile).
   */
  changed(): Promise<void>;
}

/** Which part of a room's history to read. */
export interface HistoryRange {
  /** At most this many, newest last. */
  limit?: number;
  /** Going backwards, stop at (and exclude) the first message this accepts. */
  stopAt?: (message: RoomMessage) => boolean;
}

/** Most receipts or sent-log lines one look-up by id reads, newest first. */
export const RECEIPT_SCAN = 10_000;

/** Which part of a sent log to read (docs/design.md#conversations). */
export interface SentRange {
  /** At most this many, the newest (newest last). */
  limit?: number;
  /** Only messages sent at or after this ISO-8601 time. */
  since?: string;
  /**
   * Only these ids: reading stops once every one was found (or `limit`
   * entries were looked at, newest first).
   */
  ids?: ReadonlySet<string>;
}

/** Where a broker keeps everything; see the module doc. */
export interface Store {
  /** Which store this is. */
  readonly kind: "file" | "nats";
  /**
   * This machine's own files: the broker root of the file store, the local
   * directory of the NATS store (delivery and rewake locks, the harness's
   * control files, the pending signal its hooks look at).
   */
  readonly paths: BrokerPaths;
  /** One line for people: where the broker is. */
  describe(): string;
  /** Lets go of connections and leases. */
  close(): Promise<void>;

  /** The broker's settings. */
  config(): Promise<BrokerConfig>;

  /**
   * Makes `sessionId` read alive while the lease is held.
   *
   * @param sessionId The session.
   */
  acquireLease(sessionId: string): Promise<SessionLease>;
  /**
   * Whether a session is alive: `true`, `false`, or `null` when it never
   * held a lease (registered from a shell).
   *
   * @param row The registration (or just its session id).
   */
  liveness(row: Pick<Registration, "session_id">): Promise<Liveness>;

  /** Every usable registration. */
  registrations(): Promise<readonly Registration[]>;
  /** Registry rows no operation can use (for health and repair). */
  quarantined(): Promise<QuarantinedRow[]>;
  /**
   * Runs `fn` on a view of the registry in which queued messages cannot
   * race an alias takeover.
   *
   * @param fn What to do.
   */
  viewRegistry<T>(fn: (view: RegistryView) => Promise<T>): Promise<T>;
  /**
   * Computes a change from the current registry and commits it, with its
   * effects, as one step. `fn` may run more than once (when another process
   * changed the registry first); it must not change anything itself.
   *
   * @param fn Computes the change.
   */
  changeRegistry<T>(
    fn: (view: Omit<RegistryView, "enqueue">) => Promise<RegistryChange<T>>,
  ): Promise<T>;

  /**
   * Pending messages, oldest first.
   *
   * @param owner Whose inbox.
   */
  pending(owner: InboxOwner): Promise<Message[]>;
  /**
   * A bounded look at the pending messages (`peek_inbox`): a store that can
   * read only as far as the selection reaches (the file store, for a huge
   * inbox) provides it; otherwise the broker selects from
   * {@linkcode Store.pending}.
   *
   * @param owner Whose inbox.
   * @param selection Count and size bounds.
   */
  peek?(owner: InboxOwner, selection: InboxSelection): Promise<Selected>;
  /**
   * How many messages wait, for several inboxes at once (`list`).
   *
   * @param owners Whose inboxes.
   */
  pendingCounts(owners: readonly InboxOwner[]): Promise<number[]>;
  /**
   * Starts watching an inbox for messages queued into it (`wait_for_message`
   * wakes on it instead of polling, docs/design.md#conversations): the
   * file store watches the broker directory for the inbox file, the NATS
   * store subscribes to the alias's inbox subject.
   *
   * @param owner Whose inbox.
   * @returns The watch, once armed.
   */
  watchInbox(owner: InboxOwner): Promise<InboxWatch>;
  /**
   * Drains a selection of an inbox into its archive, atomically.
   *
   * @param owner Whose inbox.
   * @param selection Which messages, within which bounds.
   * @param drainedAt Timestamp for the archive.
   * @param via How they reach the agent (the archive's `delivered_via`).
   */
  drain(
    owner: InboxOwner,
    selection: InboxSelection,
    drainedAt: string,
    via?: DeliveryVia,
  ): Promise<Selected>;
  /**
   * Puts drained messages back at the head of the inbox.
   *
   * @param owner Whose inbox.
   * @param messages The messages a failed delivery took.
   */
  restore(owner: InboxOwner, messages: readonly Message[]): Promise<number>;
  /**
   * The newest drained messages, oldest first.
   *
   * @param owner Whose archive.
   * @param limit How many (default: all).
   */
  archive(owner: InboxOwner, limit?: number): Promise<ArchivedMessage[]>;

  /**
   * Appends to an alias's sent log (docs/design.md#conversations): what the
   * holders of `alias` sent, kept with the alias across takeovers.
   *
   * @param alias The sender's alias.
   * @param entries Direct messages and room posts, in order.
   */
  appendSent(alias: string, entries: readonly SentMessage[]): Promise<void>;
  /**
   * Reads an alias's sent log; the cost depends on `range`, not on the
   * log's size.
   *
   * @param alias The sender's alias.
   * @param range The newest `limit`, and/or those since a time.
   * @returns Sent messages, oldest first.
   */
  sent(alias: string, range?: SentRange): Promise<SentMessage[]>;

  /**
   * Appends receipts to a sender's receipt log (docs/design.md#conversations).
   *
   * @param senderAlias Who sent the messages.
   * @param receipts One per direct message handed over.
   * @param by The recipient's inbox whose drain handed them over (the NATS
   * store signs with its session's key).
   */
  appendReceipts(
    senderAlias: string,
    receipts: readonly Receipt[],
    by: InboxOwner,
  ): Promise<void>;
  /**
   * Reads a sender's receipts for some ids, newest first until every id was
   * found (or {@linkcode RECEIPT_SCAN} receipts were looked at).
   *
   * @param senderAlias Who sent the messages.
   * @param ids The message ids.
   * @param since Stop at receipts delivered before this ISO-8601 time (no
   * receipt of these messages is older: they were sent after it).
   * @returns The receipts found (one per id, the first written).
   */
  receipts(
    senderAlias: string,
    ids: ReadonlySet<string>,
    since?: string,
  ): Promise<Receipt[]>;
  /**
   * Adds dead letters directly: a message sent to an alias nobody holds
   * right now, which waits there until the alias registers again.
   *
   * @param letters The letters (signed as their sender's, NATS store).
   */
  appendDeadLetters(letters: readonly DeadLetter[]): Promise<void>;

  /**
   * Inboxes of sessions nobody is registered as, and how much waits there.
   *
   * @param known Registered sessions.
   */
  orphanInboxes(
    known: ReadonlySet<string>,
  ): Promise<{ session_id: string; pending: number }[]>;
  /**
   * Sessions that left traces (an inbox, a lease) but no registration.
   *
   * @param known Registered sessions.
   */
  unregisteredSessions(known: ReadonlySet<string>): Promise<string[]>;

  /** Every dead letter. */
  deadLetters(): Promise<DeadLetter[]>;
  /**
   * Deletes dead letters older than a time.
   *
   * @param before Epoch ms.
   * @param dryRun Only count them.
   */
  purgeDeadLetters(before: number, dryRun: boolean): Promise<number>;

  /** Every room's id. */
  roomIds(): Promise<string[]>;
  /**
   * A room's members, unlocked.
   *
   * @param roomId The room.
   */
  members(roomId: string): Promise<RoomMember[]>;
  /**
   * Runs `fn` with the room locked (members and history).
   *
   * @param roomId The room.
   * @param fn What to do.
   */
  withRoom<T>(roomId: string, fn: (room: RoomScope) => Promise<T>): Promise<T>;
  /**
   * Reads a room's history.
   *
   * @param roomId The room.
   * @param range The newest `limit`, or from `offset` forward.
   */
  roomHistory(
    roomId: string,
    range: HistoryRange & { offset?: number },
  ): Promise<RoomMessage[]>;
  /**
   * How many messages a room's history holds.
   *
   * @param roomId The room.
   */
  roomCount(roomId: string): Promise<number>;

  /**
   * Records an operation (never content); never fails the operation.
   *
   * @param entry The entry.
   */
  audit(entry: AuditEntry): void;
  /**
   * The newest audit entries, oldest first.
   *
   * @param limit How many.
   */
  auditTail(limit: number): Promise<AuditEntry[]>;

  /**
   * For a store whose local signal is not the inbox itself (the NATS
   * store): keeps `paths.signal(session)` non-empty while messages wait, for
   * the session's long-lived process to run with its lease, and the commit
   * guard's local cue in step with the claims. The file store needs none:
   * its inbox file is the signal, its claim writes keep the cue.
   *
   * @param sessionId The session.
   * @returns The running watch; dispose of it with the lease.
   */
  watchSignal?(sessionId: string): Disposable;

  /**
   * Where the file claims are kept (docs/design.md#claims): one document,
   * changed by an atomic read-modify-write — `claims.json` under its lock
   * in the file store, a KV value changed by compare-and-set in the NATS
   * store. A store without it answers every claim operation with an error.
   *
   * @returns The claim store.
   */
  claims?(): ClaimStore;

  /**
   * Removes files of sessions that are gone (lock sidecars and the like).
   *
   * @param registered Sessions still registered.
   * @returns How many were removed.
   */
  removeIdleFiles(registered: ReadonlySet<string>): Promise<number>;
}
