/**
 * The file store: the broker as a directory of files guarded by file locks,
 * on one machine (docs/design.md#files). Every process is a peer that reads
 * and writes the same root; there is no daemon.
 *
 * Atomicity comes from sidecar locks taken in a fixed order — room →
 * registry → inbox → dead-letter — with the registry lock held shared while
 * messages are queued (so no takeover moves an inbox meanwhile) and
 * exclusive while the registry changes together with the inbox moves that
 * change implies.
 *
 * Requires `--allow-read` and `--allow-write` on the broker root.
 *
 * @module
 */

import { ChangeLatch } from "../../_change_latch.ts";
import { ensureDir } from "../../_fs.ts";
import { FileClaimStore } from "../../claims.ts";
import { appendAudit, type AuditEntry, tailAudit } from "../../audit.ts";
import { type BrokerConfig, readConfig } from "../../config.ts";
import {
  CorruptFileError,
  InboxFullError,
  SymlinkRefusedError,
} from "../../errors.ts";
import {
  appendToInbox,
  countPending,
  drainInbox,
  inboxBytes,
  type InboxSelection,
  peekInbox,
  readArchive,
  readInbox,
  restoreDrained,
  type Selected,
  takeInbox,
} from "../../inbox.ts";
import {
  appendJsonl,
  appendJsonlUnlocked,
  readJsonl,
  readJsonlTail,
  rewriteJsonl,
} from "../../jsonl.ts";
import {
  clearStaleLease,
  Lease,
  type Liveness,
  probeLease,
} from "../../lease.ts";
import { removeLockIfIdle, withLock } from "../../lock.ts";
import {
  type ArchivedMessage,
  type DeadLetter,
  deadLetterProblem,
  type DeliveryVia,
  isExpired,
  type Message,
  type Receipt,
  receiptProblem,
  type RoomMessage,
  type SentMessage,
  sentMessageProblem,
  toMessage,
  toReceipt,
} from "../../message.ts";
import {
  type BrokerPaths,
  brokerPaths,
  INBOX_SUFFIX,
  validateSessionId,
} from "../../paths.ts";
import {
  type QuarantinedRow,
  quarantinedRows,
  readRegistry,
  type Registration,
  writeRegistry,
} from "../../registry.ts";
import {
  appendHistory,
  countHistory,
  listRoomIds,
  readHistory,
  readMembers,
  type RoomMember,
  writeMembers,
} from "../../rooms.ts";
import type {
  EffectOutcome,
  HistoryRange,
  InboxOwner,
  InboxWatch,
  RegistryChange,
  RegistryEffect,
  RegistryView,
  RoomScope,
  SentRange,
  SessionLease,
  Store,
} from "../store.ts";
import { RECEIPT_SCAN } from "../store.ts";
import { withScopedLock } from "./scoped_lock.ts";

const encoder = new TextEncoder();

/**
 * The broker's data in a directory. Cheap to construct; holds no open files
 * except the leases it was asked to take.
 *
 * @example Usage
 * ```ts ignore
 * import { FileStore } from "./file_store.ts";
 * import { Broker } from "../../broker.ts";
 * const broker = new Broker({ store: new FileStore("/repo/.git/c2c/mcp") });
 * ```
 */
export class FileStore implements Store {
  /** Which store this is. */
  readonly kind = "file" as const;
  /** The broker root's layout. */
  readonly paths: BrokerPaths;

  /**
   * Opens the store at `root`, creating it (0700) when missing.
   *
   * @param root Absolute path of the broker root (it may be a symlink).
   */
  constructor(root: string) {
    this.paths = brokerPaths(root);
    ensureDir(root, true); // the root itself may be a symlink by choice
    // Made now rather than by a process's first send or drain: a watcher of
    // the root (c2c ui) then sees no directory appear in the middle of
    // traffic, whose first files it could miss. Best effort: an append makes
    // them when missing anyway.
    for (const dir of [this.paths.sentDir, this.paths.receiptsDir]) {
      try {
        ensureDir(dir);
      } catch { /* made on first use */ }
    }
  }

  /**
   * Where the broker is, for people.
   *
   * @returns `file store at <root>`.
   */
  describe(): string {
    return `file store at ${this.paths.root}`;
  }

  /** Nothing to close: every file is opened per operation. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * The broker's settings.
   *
   * @returns The settings in `config.json`, or the defaults.
   */
  config(): Promise<BrokerConfig> {
    return Promise.resolve(readConfig(this.paths));
  }

  /**
   * Takes the lease that makes a session read alive.
   *
   * @param sessionId The session.
   * @returns Its held lease (`leases/<session>.lock`).
   */
  acquireLease(sessionId: string): Promise<SessionLease> {
    return Lease.acquire(this.paths, validateSessionId(sessionId));
  }

  /**
   * Whether a session is alive.
   *
   * @param row The registration.
   * @returns Whether its lease is held.
   */
  liveness(row: Pick<Registration, "session_id">): Promise<Liveness> {
    return Promise.resolve(probeLease(this.paths, row.session_id));
  }

  /**
   * Every usable registration.
   *
   * @returns The usable rows of `registry.json`.
   */
  registrations(): Promise<readonly Registration[]> {
    return Promise.resolve(readRegistry(this.paths));
  }

  /**
   * Registry rows no operation uses.
   *
   * @returns The rows of `registry.json` no operation uses.
   */
  quarantined(): Promise<QuarantinedRow[]> {
    return Promise.resolve(quarantinedRows(this.paths));
  }

  /**
   * Holds the registry lock shared while `fn` runs: sends run side by side,
   * but never while a takeover moves the recipient's inbox (which would
   * strand the message in the dead session's inbox).
   *
   * @param fn What to do.
   * @returns Whatever `fn` returns.
   */
  viewRegistry<T>(fn: (view: RegistryView) => Promise<T>): Promise<T> {
    return withScopedLock(this.paths.registryLock, false, () =>
      fn({
        rows: readRegistry(this.paths),
        liveness: (row) => this.liveness(row),
        enqueue: (to, messages, quota) => {
          this.#enqueue(to, messages, quota);
          return Promise.resolve();
        },
      }));
  }

  /**
   * Holds the registry lock exclusively: computes the change, makes its
   * inbox moves, then writes `registry.json` (a crash between the two leaves
   * moved messages in an inbox nobody is registered for: sweep rescues them
   * to the dead letters, and they come back when the alias registers).
   *
   * @param fn Computes the change.
   * @returns The change's result.
   */
  changeRegistry<T>(
    fn: (view: Omit<RegistryView, "enqueue">) => Promise<RegistryChange<T>>,
  ): Promise<T> {
    return withScopedLock(this.paths.registryLock, true, async () => {
      const rows = readRegistry(this.paths).map((r) => ({ ...r }));
      const change = await fn({ rows, liveness: (row) => this.liveness(row) });
      const effects = change.effects ?? [];
      const outcome: EffectOutcome = { moved: 0, rescued: 0, orphans: 0 };
      for (const effect of effects) this.#apply(effect, outcome);
      if (change.rows) writeRegistry(this.paths, change.rows);
      // A session that left the registry (swept, taken over) or registered
      // again from a shell must not read dead from a lease file it left.
      for (const effect of effects) {
        if (effect.kind === "rescue" || effect.kind === "transfer") {
          const gone = effect.kind === "rescue" ? effect.owner : effect.from;
          clearStaleLease(this.paths, gone.session_id);
        }
      }
      for (const effect of effects) {
        if (effect.kind === "forget_lease") {
          clearStaleLease(this.paths, effect.session_id);
        }
      }
      return change.result(outcome);
    });
  }

  #enqueue(to: InboxOwner, messages: readonly Message[], quota?: number) {
    withLock(this.paths.inboxLock(to.session_id), true, () => {
      if (quota !== undefined) {
        const pending = inboxBytes(this.paths, to.session_id);
        let adding = 0;
        for (const m of messages) {
          adding += encoder.encode(JSON.stringify(m)).length + 1;
        }
        if (pending + adding > quota) {
          throw new InboxFullError(to.alias, pending, quota);
        }
      }
      appendToInbox(this.paths, to.session_id, messages);
    });
  }

  #apply(effect: RegistryEffect, outcome: EffectOutcome): void {
    const paths = this.paths;
    switch (effect.kind) {
      case "transfer": {
        // Messages were addressed to the alias, which the new session holds.
        const { from, to } = effect;
        withLock(paths.inboxLock(to.session_id), true, () => {
          let moved = withLock(
            paths.inboxLock(from.session_id),
            true,
            () => takeInbox(paths, from.session_id),
          );
          if (effect.expire_before !== undefined) {
            const before = Date.parse(effect.expire_before);
            const gone = moved.filter((m) => isExpired(m, before));
            moved = moved.filter((m) => !isExpired(m, before));
            this.#expireInto(gone, from.session_id, effect.dead_at, outcome);
          }
          appendToInbox(paths, to.session_id, moved);
          outcome.moved += moved.length;
        });
        return;
      }
      case "expire":
        return this.#expire(effect, outcome);
      case "rename":
        return; // inboxes are the session's: nothing moves
      case "forget_lease":
        return; // after the registry is written
      case "redeliver":
        return this.#redeliver(
          { ...effect.to, expire_before: effect.expire_before },
          outcome,
        );
      case "rescue":
        outcome.rescued += this.#rescue(
          effect.owner.session_id,
          effect.dead_at,
        );
        return;
      case "rescue_orphans": {
        const known = new Set(effect.known);
        for (const id of this.#inboxSessions()) {
          if (known.has(id)) continue;
          outcome.rescued += this.#rescue(id, effect.dead_at);
          outcome.orphans++;
        }
        return;
      }
    }
  }

  /**
   * Moves dead letters for this alias or session into its inbox. A damaged
   * dead-letter file is reported and left alone: it must not stop anyone
   * from registering.
   */
  #redeliver(
    to: InboxOwner & { expire_before?: string },
    outcome: EffectOutcome,
  ): void {
    const paths = this.paths;
    try {
      withLock(
        paths.inboxLock(to.session_id),
        true,
        () =>
          withLock(paths.deadLetterLock, true, () => {
            const { records } = readJsonl<DeadLetter>(
              paths.deadLetter,
              deadLetterProblem,
            );
            const before = to.expire_before === undefined
              ? -Infinity
              : Date.parse(to.expire_before);
            const mine = (d: DeadLetter) =>
              (d.to_alias === to.alias ||
                d.dead_session_id === to.session_id) && !isExpired(d, before);
            const back = records.filter(mine);
            if (back.length === 0) return;
            appendToInbox(paths, to.session_id, back.map(toMessage));
            rewriteJsonl(paths.deadLetter, records.filter((d) => !mine(d)));
            outcome.moved += back.length;
          }),
      );
    } catch (e) {
      if (
        !(e instanceof CorruptFileError || e instanceof SymlinkRefusedError)
      ) {
        throw e;
      }
      outcome.warning = `dead letters were not checked: ${e.message}`;
    }
  }

  /** Expired messages of a transfer go to the dead letters, marked so. */
  #expireInto(
    messages: readonly Message[],
    sessionId: string,
    deadAt: string | undefined,
    outcome: EffectOutcome,
  ): void {
    if (messages.length === 0) return;
    const at = deadAt ?? new Date().toISOString();
    withLock(this.paths.deadLetterLock, true, () =>
      appendJsonl(
        this.paths.deadLetter,
        messages.map((m): DeadLetter => ({
          ...toMessage(m),
          dead_session_id: sessionId,
          dead_at: at,
          reason: "expired",
        })),
      ));
    outcome.expired = (outcome.expired ?? 0) + messages.length;
  }

  /**
   * Moves the expired messages of some inboxes to the dead letters, and
   * marks the dead letters that expired. A damaged dead-letter file is
   * reported and left alone, as in {@linkcode FileStore.#redeliver}.
   */
  #expire(
    effect: Extract<RegistryEffect, { kind: "expire" }>,
    outcome: EffectOutcome,
  ): void {
    const paths = this.paths;
    const before = Date.parse(effect.before);
    for (const owner of effect.owners) {
      withLock(paths.inboxLock(owner.session_id), true, () => {
        const pending = readInbox(paths, owner.session_id);
        const gone = pending.filter((m) => isExpired(m, before));
        if (gone.length === 0) return;
        rewriteJsonl(
          paths.inbox(owner.session_id),
          pending.filter((m) => !isExpired(m, before)),
        );
        this.#expireInto(gone, owner.session_id, effect.dead_at, outcome);
      });
    }
    try {
      withLock(paths.deadLetterLock, true, () => {
        const { records } = readJsonl<DeadLetter>(
          paths.deadLetter,
          deadLetterProblem,
        );
        const fresh = (d: DeadLetter) =>
          d.reason !== "expired" && isExpired(d, before);
        const count = records.filter(fresh).length;
        if (count === 0) return;
        rewriteJsonl(
          paths.deadLetter,
          records.map((d) =>
            fresh(d) ? { ...d, reason: "expired", dead_at: effect.dead_at } : d
          ),
        );
        outcome.expired = (outcome.expired ?? 0) + count;
      });
    } catch (e) {
      if (
        !(e instanceof CorruptFileError || e instanceof SymlinkRefusedError)
      ) {
        throw e;
      }
      outcome.warning = `dead letters were not checked: ${e.message}`;
    }
  }

  #rescue(sessionId: string, deadAt: string): number {
    const paths = this.paths;
    return withLock(paths.inboxLock(sessionId), true, () => {
      const pending = takeInbox(paths, sessionId);
      if (pending.length > 0) {
        withLock(paths.deadLetterLock, true, () =>
          appendJsonl(
            paths.deadLetter,
            pending.map((m): DeadLetter => ({
              ...toMessage(m),
              dead_session_id: sessionId,
              dead_at: deadAt,
            })),
          ));
      }
      return pending.length;
    });
  }

  /** Session ids that have an inbox file. */
  #inboxSessions(): string[] {
    const ids: string[] = [];
    for (const entry of Deno.readDirSync(this.paths.root)) {
      if (!entry.isFile || !entry.name.endsWith(INBOX_SUFFIX)) continue;
      ids.push(entry.name.slice(0, -INBOX_SUFFIX.length));
    }
    return ids.sort();
  }

  /**
   * Sessions with an inbox but no registration, and how much waits there.
   *
   * @param known Registered sessions.
   * @returns Each orphan inbox's session and pending count.
   */
  orphanInboxes(
    known: ReadonlySet<string>,
  ): Promise<{ session_id: string; pending: number }[]> {
    return Promise.resolve(
      this.#inboxSessions().filter((id) => !known.has(id)).map((id) => ({
        session_id: id,
        pending: readInbox(this.paths, id).length,
      })),
    );
  }

  /**
   * Sessions with an inbox or lease file but no registration (`list --all`).
   *
   * @param known Registered sessions.
   * @returns Their ids, sorted.
   */
  unregisteredSessions(known: ReadonlySet<string>): Promise<string[]> {
    const ids = new Set(this.#inboxSessions().filter((id) => !known.has(id)));
    try {
      for (const entry of Deno.readDirSync(this.paths.leasesDir)) {
        const id = entry.name.match(/^(.+)\.lock$/)?.[1];
        if (id && !known.has(id)) ids.add(id);
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    return Promise.resolve([...ids].sort());
  }

  /**
   * A session's pending messages.
   *
   * @param owner Whose inbox.
   * @returns Its pending messages, oldest first.
   */
  pending(owner: InboxOwner): Promise<Message[]> {
    return Promise.resolve(
      readInbox(this.paths, validateSessionId(owner.session_id)),
    );
  }

  /**
   * A bounded look at a session's pending messages.
   *
   * @param owner Whose inbox.
   * @param selection Count and size bounds.
   * @returns The oldest messages within them, reading only that far.
   */
  peek(owner: InboxOwner, selection: InboxSelection): Promise<Selected> {
    return Promise.resolve(
      peekInbox(this.paths, validateSessionId(owner.session_id), selection),
    );
  }

  /**
   * How many messages wait in each inbox.
   *
   * @param owners Whose inboxes.
   * @returns How many messages wait in each, by counting lines.
   */
  pendingCounts(owners: readonly InboxOwner[]): Promise<number[]> {
    return Promise.resolve(
      owners.map((o) => countPending(this.paths, o.session_id)),
    );
  }

  /**
   * Watches the broker directory (not recursively: inboxes sit directly in
   * it) for events on the session's inbox file. Deno's watch is armed when
   * `watchFs` returns, so an append after this resolves is reported.
   *
   * Requires `--allow-read` on the broker root.
   *
   * @param owner Whose inbox.
   * @returns The armed watch.
   */
  watchInbox(owner: InboxOwner): Promise<InboxWatch> {
    const file = validateSessionId(owner.session_id) + INBOX_SUFFIX;
    const watcher = Deno.watchFs(this.paths.root, { recursive: false });
    const latch = new ChangeLatch(() => {
      try {
        watcher.close();
      } catch { /* already closed */ }
    });
    (async () => {
      for await (const event of watcher) {
        if (event.paths.some((p) => p.endsWith(`/${file}`))) latch.notify();
      }
    })().catch(() => latch.notify()); // a failed watch: let the reader re-read
    return Promise.resolve(latch);
  }

  /**
   * Read → archive → remove, under the inbox lock.
   *
   * @param owner Whose inbox.
   * @param selection Which messages.
   * @param drainedAt Timestamp for the archive.
   * @param via How they reach the agent (recorded in the archive).
   * @returns What was taken, as handed over.
   */
  drain(
    owner: InboxOwner,
    selection: InboxSelection,
    drainedAt: string,
    via?: DeliveryVia,
  ): Promise<Selected> {
    const id = validateSessionId(owner.session_id);
    return Promise.resolve(
      withLock(
        this.paths.inboxLock(id),
        true,
        () => drainInbox(this.paths, id, drainedAt, selection, via),
      ),
    );
  }

  /**
   * Puts drained messages back at the head of the inbox.
   *
   * @param owner Whose inbox.
   * @param messages What a failed delivery took.
   * @returns How many were put back.
   */
  restore(owner: InboxOwner, messages: readonly Message[]): Promise<number> {
    const id = validateSessionId(owner.session_id);
    return Promise.resolve(
      withLock(
        this.paths.inboxLock(id),
        true,
        () => restoreDrained(this.paths, id, messages),
      ),
    );
  }

  /**
   * The newest drained messages of a session.
   *
   * @param owner Whose archive.
   * @param limit How many of the newest.
   * @returns Drained messages, oldest first.
   */
  archive(owner: InboxOwner, limit?: number): Promise<ArchivedMessage[]> {
    return Promise.resolve(readArchive(this.paths, owner.session_id, limit));
  }

  /**
   * Appends to an alias's sent log: one `O_APPEND` write, no lock (a line
   * torn by a crash is skipped by readers).
   *
   * @param alias The sender's alias.
   * @param entries What it sent, in order (`archive/sent/<alias>.jsonl`).
   */
  appendSent(alias: string, entries: readonly SentMessage[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    // One O_APPEND write, no lock: a send pays one open and one write.
    appendJsonlUnlocked(this.paths.sent(alias), entries);
    return Promise.resolve();
  }

  /**
   * Reads the newest part of an alias's sent log, from its end: the cost
   * depends on the range asked for, not on the log's size.
   *
   * @param alias The sender's alias.
   * @param range The newest `limit`, and/or those since a time.
   * @returns Sent messages, oldest first.
   */
  sent(alias: string, range: SentRange = {}): Promise<SentMessage[]> {
    if (range.limit === 0) return Promise.resolve([]);
    const since = range.since === undefined
      ? undefined
      : Date.parse(range.since);
    const ids = range.ids;
    if (ids !== undefined) {
      // Collected on the way back: stops once every id was seen.
      const found: SentMessage[] = [];
      readJsonlTail<SentMessage>(this.paths.sent(alias), sentMessageProblem, {
        limit: range.limit ?? RECEIPT_SCAN,
        skipBad: true,
        stopAt: (m) => {
          if (since !== undefined && Date.parse(m.ts) < since) return true;
          if (ids.has(m.id) && !found.some((f) => f.id === m.id)) {
            found.push(m);
          }
          return found.length >= ids.size;
        },
      });
      return Promise.resolve(found.reverse());
    }
    return Promise.resolve(
      readJsonlTail<SentMessage>(this.paths.sent(alias), sentMessageProblem, {
        limit: range.limit,
        skipBad: true,
        stopAt: since === undefined
          ? undefined
          : (m) => Date.parse(m.ts) < since,
      }),
    );
  }

  /**
   * Appends to a sender's receipt log: one `O_APPEND` write, no lock.
   *
   * @param senderAlias Who sent the messages.
   * @param receipts One per message handed over
   * (`archive/receipts/<alias>.jsonl`).
   * @param _by The draining inbox (the file store does not sign).
   */
  appendReceipts(
    senderAlias: string,
    receipts: readonly Receipt[],
    _by: InboxOwner,
  ): Promise<void> {
    if (receipts.length === 0) return Promise.resolve();
    appendJsonlUnlocked(
      this.paths.receipts(senderAlias),
      receipts.map(toReceipt),
    );
    return Promise.resolve();
  }

  /**
   * Reads a sender's receipts for some ids, from the end of its log.
   *
   * @param senderAlias Who sent the messages.
   * @param ids The message ids.
   * @param since Stop at receipts delivered before this time.
   * @returns One receipt per id found (the earliest of the ones read).
   */
  receipts(
    senderAlias: string,
    ids: ReadonlySet<string>,
    since?: string,
  ): Promise<Receipt[]> {
    if (ids.size === 0) return Promise.resolve([]);
    const found = new Map<string, Receipt>();
    readJsonlTail<Receipt>(this.paths.receipts(senderAlias), receiptProblem, {
      limit: RECEIPT_SCAN,
      skipBad: true,
      stopAt: (r) => {
        if (since !== undefined && r.delivered_at < since) return true;
        if (ids.has(r.id)) found.set(r.id, toReceipt(r));
        return found.size >= ids.size;
      },
    });
    return Promise.resolve([...found.values()]);
  }

  /**
   * Appends dead letters, under the dead-letter lock.
   *
   * @param letters The letters (`dead-letter.jsonl`).
   */
  appendDeadLetters(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return Promise.resolve();
    withLock(
      this.paths.deadLetterLock,
      true,
      () => appendJsonl(this.paths.deadLetter, letters),
    );
    return Promise.resolve();
  }

  /**
   * Every dead letter.
   *
   * @returns Every line of `dead-letter.jsonl`.
   */
  deadLetters(): Promise<DeadLetter[]> {
    return Promise.resolve(
      readJsonl<DeadLetter>(this.paths.deadLetter, deadLetterProblem).records,
    );
  }

  /**
   * Deletes dead letters older than a time.
   *
   * @param before Epoch ms.
   * @param dryRun Only count.
   * @returns How many dead letters were (or would be) deleted.
   */
  purgeDeadLetters(before: number, dryRun: boolean): Promise<number> {
    const paths = this.paths;
    return Promise.resolve(withLock(paths.deadLetterLock, true, () => {
      const { records } = readJsonl<DeadLetter>(
        paths.deadLetter,
        deadLetterProblem,
      );
      const old = (d: DeadLetter) => Date.parse(d.dead_at) < before;
      const count = records.filter(old).length;
      if (count > 0 && !dryRun) {
        rewriteJsonl(paths.deadLetter, records.filter((d) => !old(d)));
      }
      return count;
    }));
  }

  /**
   * Every room's id.
   *
   * @returns Room ids (directories under `rooms/`).
   */
  roomIds(): Promise<string[]> {
    return Promise.resolve(listRoomIds(this.paths));
  }

  /**
   * A room's members.
   *
   * @param roomId The room.
   * @returns Its members.
   */
  members(roomId: string): Promise<RoomMember[]> {
    return Promise.resolve(readMembers(this.paths, roomId));
  }

  /**
   * Holds the room's lock while `fn` runs.
   *
   * @param roomId The room.
   * @param fn What to do.
   * @returns Whatever `fn` returns.
   */
  withRoom<T>(
    roomId: string,
    fn: (room: RoomScope) => Promise<T>,
  ): Promise<T> {
    const paths = this.paths;
    return withScopedLock(paths.roomLock(roomId), true, () =>
      fn({
        roomId,
        members: () => Promise.resolve(readMembers(paths, roomId)),
        setMembers: (members) => {
          ensureDir(paths.roomDir(roomId));
          writeMembers(paths, roomId, members);
          return Promise.resolve();
        },
        append: (messages) => {
          appendHistory(paths, roomId, messages);
          return Promise.resolve();
        },
        recent: (range) => Promise.resolve(this.#tail(roomId, range)),
      }));
  }

  #tail(roomId: string, range: HistoryRange): RoomMessage[] {
    return readHistory(this.paths, roomId, {
      limit: range.limit,
      stopAt: range.stopAt,
    });
  }

  /**
   * Reads a room's history.
   *
   * @param roomId The room.
   * @param range The newest `limit`, or `limit` from `offset`.
   * @returns Messages, oldest first.
   */
  roomHistory(
    roomId: string,
    range: HistoryRange & { offset?: number },
  ): Promise<RoomMessage[]> {
    if (range.offset !== undefined) {
      const all = readHistory(this.paths, roomId);
      const end = range.limit === undefined
        ? undefined
        : range.offset + range.limit;
      return Promise.resolve(all.slice(range.offset, end));
    }
    return Promise.resolve(this.#tail(roomId, range));
  }

  /**
   * How many messages a room's history holds.
   *
   * @param roomId The room.
   * @returns Lines in its history.
   */
  roomCount(roomId: string): Promise<number> {
    return Promise.resolve(countHistory(this.paths, roomId));
  }

  /**
   * The file claims: `claims.json` in the broker root, under its lock.
   *
   * @returns The claim store.
   */
  claims(): FileClaimStore {
    return new FileClaimStore(this.paths);
  }

  /**
   * Records an operation in `broker.log`.
   *
   * @param entry Appended to `broker.log` (never content).
   */
  audit(entry: AuditEntry): void {
    appendAudit(this.paths, entry);
  }

  /**
   * The newest audit entries.
   *
   * @param limit How many.
   * @returns The newest entries of `broker.log`, oldest first.
   */
  auditTail(limit: number): Promise<AuditEntry[]> {
    return Promise.resolve(tailAudit(this.paths, limit));
  }

  /**
   * Removes idle lock, lease, delivery and rewake files of sessions that
   * are no longer registered.
   *
   * @param registered Registered sessions.
   * @returns How many files went.
   */
  removeIdleFiles(registered: ReadonlySet<string>): Promise<number> {
    let count = 0;
    const dirs: [string, (name: string) => string | null][] = [
      [this.paths.locksDir, (n) => n.match(/^inbox\.(.+)\.lock$/)?.[1] ?? null],
      [this.paths.leasesDir, (n) => n.match(/^(.+)\.lock$/)?.[1] ?? null],
      [
        this.paths.locksDir,
        (n) => n.match(/^deliver\.(.+)\.lock$/)?.[1] ?? null,
      ],
      [this.paths.rewakeDir, (n) => n.match(/^(.+)\.lock$/)?.[1] ?? null],
    ];
    for (const [dir, sessionOf] of dirs) {
      let entries: Deno.DirEntry[];
      try {
        entries = [...Deno.readDirSync(dir)];
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) continue;
        throw e;
      }
      for (const entry of entries) {
        const sessionId = sessionOf(entry.name);
        if (sessionId === null || registered.has(sessionId)) continue;
        if (removeLockIfIdle(`${dir}/${entry.name}`)) count++;
      }
    }
    return Promise.resolve(count);
  }
}
