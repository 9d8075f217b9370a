/**
 * The broker: every operation of DESIGN §6 as one method of {@linkcode Broker}.
 * The MCP server and the CLI are thin adapters over these methods, so a tool
 * and its command cannot behave differently.
 *
 * Lock order (never taken in another order): room → registry → inbox →
 * dead-letter. Every critical section is synchronous: no `await` while a lock
 * is held.
 *
 * @module
 */

import { generateAlias, suggestAlias, validateAlias } from "./alias.ts";
import { appendAudit, tailAudit } from "./audit.ts";
import {
  AliasTakenError,
  C2cError,
  CorruptFileError,
  DeadPidError,
  InboxFullError,
  InvalidArgumentError,
  MessageTooLargeError,
  NotMemberError,
  NotRegisteredError,
  RecipientDeadError,
  SelfSendError,
  SenderMismatchError,
  SymlinkRefusedError,
  UnknownAliasError,
} from "./errors.ts";
import {
  appendToInbox,
  countPending,
  drainInbox,
  inboxBytes,
  type InboxSelection,
  readArchive,
  readInbox,
  restoreDrained,
  selectMessages,
  takeInbox,
} from "./inbox.ts";
import { appendJsonl, readJsonl, rewriteJsonl } from "./jsonl.ts";
import {
  clearStaleLease,
  Lease,
  type Liveness,
  probeLease,
  readPidStartTime,
} from "./lease.ts";
import { removeLockIfIdle, withLock } from "./lock.ts";
import { withDeliveryLock } from "./delivery_lock.ts";
import { RewakeLock } from "./rewake_lock.ts";
import {
  type DeadLetter,
  type Message,
  messageProblem,
  type RoomMessage,
  SYSTEM_ALIAS,
  toMessage,
} from "./message.ts";
import {
  type BrokerPaths,
  brokerPaths,
  INBOX_SUFFIX,
  validateRoomId,
  validateSessionId,
} from "./paths.ts";
import {
  findByAlias,
  findBySession,
  readRegistry,
  type Registration,
  type WakeInfo,
  writeRegistry,
} from "./registry.ts";
import {
  appendHistory,
  countHistory,
  findRecentDuplicate,
  listRoomIds,
  readHistory,
  readMembers,
  type RoomMember,
  writeMembers,
} from "./rooms.ts";
import { resolveBrokerRoot, type ResolveRootOptions } from "./root.ts";
import { ensureDir } from "./_fs.ts";
import { type BrokerConfig, readConfig } from "./config.ts";
import type {
  GcResult,
  HistoryResult,
  InboxResult,
  JoinRoomResult,
  LeaveRoomResult,
  ListResult,
  ListRoomsResult,
  MyRoomsResult,
  PeerInfo,
  RefreshPeerResult,
  RegisterResult,
  RemovedRegistration,
  RoomHistoryResult,
  SendAllResult,
  SendReceipt,
  SendRoomResult,
  SkippedPeer,
  SweepResult,
  TailLogResult,
  WhoamiResult,
} from "./types.ts";

export { DEFAULT_MAX_MESSAGE_BYTES } from "./config.ts";
/** Longest `reply_to` accepted (message ids are UUIDs, 36 characters). */
export const MAX_REPLY_TO_LENGTH = 128;
/** Identical room posts from one sender within this window are not repeated. */
export const ROOM_DEDUPE_MS = 60_000;
/** Default number of room messages `join_room` returns. */
export const DEFAULT_JOIN_HISTORY = 20;
/** Most room messages `join_room` returns. */
export const MAX_JOIN_HISTORY = 200;
/** Default number of messages `history` and `room_history` return. */
export const DEFAULT_HISTORY_LIMIT = 50;
/** Default and maximum number of entries `tail_log` returns. */
export const DEFAULT_LOG_LIMIT = 50;
/** Most entries `tail_log` returns. */
export const MAX_LOG_LIMIT = 500;

/** Options of {@linkcode Broker}. */
export interface BrokerOptions {
  /** Absolute path of the broker root. */
  root: string;
  /**
   * Largest content accepted, in UTF-8 bytes (default: the broker's
   * `config.json`, else 64 KiB). For tests and embedders; processes that
   * share a broker read its config so that they agree.
   */
  maxMessageBytes?: number;
  /** Clock, for tests (default: the system clock). */
  now?: () => Date;
}

/** Arguments of {@linkcode Broker.register}. */
export interface RegisterArgs {
  /** Desired alias; omitted → keep the current one, or generate one. */
  alias?: string;
  /** Client name to record (`claude-code`, `codex`, `cli`, …). */
  client?: string;
  /** Client pid to record. */
  pid?: number | null;
  /** An id the client itself uses for the session (e.g. Codex's thread id). */
  client_session_id?: string;
  /** How this session can be woken when idle. */
  wake?: WakeInfo;
  /**
   * Whether the caller holds this session's lease. A registration made
   * without one (from a shell) clears a stale lease file left by an earlier
   * process of the same session, so it reads as unknown, not dead.
   */
  leased?: boolean;
}

/** Arguments of {@linkcode Broker.send}. */
export interface SendArgs {
  /** Recipient alias. */
  to_alias: string;
  /** Body. */
  content: string;
  /** The caller's alias, if the caller states it; checked, never trusted. */
  from_alias?: string;
  /** Id of a message this one answers. */
  reply_to?: string;
}

/** Arguments of {@linkcode Broker.sendRoom}. */
export interface SendRoomArgs {
  /** Target room. */
  room_id: string;
  /** Body. */
  content: string;
  /** The caller's alias, if stated; checked. */
  from_alias?: string;
}

/** Bounds on how much one `poll_inbox` / `peek_inbox` returns. */
export interface InboxBounds {
  /** At most this many messages (default: all). */
  limit?: number;
  /**
   * At most this many bytes of output (default: no bound), measured with
   * `cost` and `overhead`. An oldest message that alone is bigger is
   * returned alone: whole up to `aloneBytes`, else cut to fit, with a
   * notice; the archive keeps it whole.
   */
  maxBytes?: number;
  /** At most this many bytes for one message alone (default: `maxBytes`). */
  aloneBytes?: number;
  /** Bytes one message adds to the caller's output (default: its JSON). */
  cost?: (message: Message) => number;
  /** Bytes the caller's output takes with no message (default 0). */
  overhead?: number;
}

function checkBounds(bounds: InboxBounds): InboxBounds {
  if (
    bounds.limit !== undefined &&
    (!Number.isInteger(bounds.limit) || bounds.limit < 1)
  ) {
    throw new InvalidArgumentError("limit must be a positive integer");
  }
  return bounds;
}

/** Options of {@linkcode Broker.gc}. */
export interface GcOptions {
  /** Registrations without a lease idle longer than this expire (ms). */
  leaselessTtlMs?: number;
  /** Dead letters older than this are deleted (ms). */
  deadLetterTtlMs?: number;
  /** Report what would be removed without changing anything. */
  dryRun?: boolean;
}

/** Default TTL of lease-less registrations: 24 hours. */
export const DEFAULT_LEASELESS_TTL_MS = 24 * 3600_000;
/** Default TTL of dead letters: 7 days. */
export const DEFAULT_DEAD_LETTER_TTL_MS = 7 * 24 * 3600_000;

const encoder = new TextEncoder();

function deadLetterProblem(value: unknown): string | null {
  const problem = messageProblem(value);
  if (problem) return problem;
  const v = value as Record<string, unknown>;
  return typeof v.dead_session_id === "string"
    ? null
    : "field 'dead_session_id' is not a string";
}

/**
 * A client name as recorded: what an MCP client calls itself is shown in
 * every peer's `list`, so it is kept short and printable.
 */
function clientName(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  // deno-lint-ignore no-control-regex
  const printable = String(name).replace(/[\x00-\x1f\x7f-\x9f]/g, "?")
    .slice(0, MAX_CLIENT_NAME_LENGTH);
  return printable.length > 0 ? printable : undefined;
}

/** Longest client name recorded. */
const MAX_CLIENT_NAME_LENGTH = 64;
const SESSION_ID_SHAPE = /^[A-Za-z0-9_][A-Za-z0-9_.:@+-]{0,127}$/;

/** Throws unless `replyTo` looks like a message id. */
function checkReplyTo(replyTo: unknown): void {
  if (
    typeof replyTo !== "string" || replyTo.length === 0 ||
    replyTo.length > MAX_REPLY_TO_LENGTH || !MESSAGE_ID.test(replyTo)
  ) {
    throw new InvalidArgumentError(
      `reply_to must be the id of a message (up to ${MAX_REPLY_TO_LENGTH} of A-Z a-z 0-9 _ . : -)`,
    );
  }
}

const MESSAGE_ID = /^[A-Za-z0-9_.:-]+$/;

/** Runs `queue`, answering `true` when the recipient's inbox was full. */
function inboxFull(queue: () => void): boolean {
  try {
    queue();
    return false;
  } catch (e) {
    if (e instanceof InboxFullError) return true;
    throw e;
  }
}

function positiveInt(
  name: string,
  value: number | undefined,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) {
    throw new InvalidArgumentError(`${name} must be a non-negative integer`);
  }
  return Math.min(value, max);
}

/**
 * The broker over one root directory. Cheap to construct; holds no open files
 * except leases it was asked to take.
 *
 * Every method requires `--allow-read` and `--allow-write` on the broker root.
 *
 * @example Usage
 * ```ts ignore
 * import { Broker } from "./broker.ts";
 * const broker = new Broker({ root: await Deno.makeTempDir() });
 * await broker.register("s-a", { alias: "storm-beacon" });
 * await broker.register("s-b", { alias: "tide-runner" });
 * await broker.send("s-a", { to_alias: "tide-runner", content: "hello" });
 * const { messages } = await broker.pollInbox("s-b");
 * console.log(messages[0].content); // "hello"
 * ```
 */
export class Broker {
  /** The broker root directory. */
  readonly root: string;
  /** Absolute paths of every broker file. */
  readonly paths: BrokerPaths;
  readonly #maxBytes: number | undefined;
  readonly #now: () => Date;

  /**
   * Creates a broker over `options.root` (created 0700 if missing).
   *
   * @param options Root and limits.
   */
  constructor(options: BrokerOptions) {
    this.root = options.root;
    this.paths = brokerPaths(options.root);
    this.#maxBytes = options.maxMessageBytes;
    this.#now = options.now ?? (() => new Date());
    ensureDir(this.root, true); // the root itself may be a symlink by choice
  }

  /**
   * Opens the broker at the resolved root (`C2C_MCP_BROKER_ROOT`, else the
   * git common dir).
   *
   * Requires `--allow-env=C2C_MCP_BROKER_ROOT` and `--allow-run=git` (when the
   * variable is unset), plus read/write on the root.
   *
   * @param options Root resolution overrides and broker options.
   * @returns The broker.
   */
  static async open(
    options: ResolveRootOptions & Omit<BrokerOptions, "root"> = {},
  ): Promise<Broker> {
    const { root } = await resolveBrokerRoot(options);
    return new Broker({ ...options, root });
  }

  /** The content limit in bytes. */
  get maxMessageBytes(): number {
    return this.#maxBytes ?? this.config().max_message_bytes;
  }

  /**
   * The broker's settings (`config.json` in the root, else the defaults).
   *
   * @returns The settings.
   * @throws {CorruptFileError} When `config.json` is present but invalid.
   */
  config(): BrokerConfig {
    return readConfig(this.paths);
  }

  /**
   * Takes the lease that makes `sessionId` read alive while the returned
   * object is held (see {@linkcode Lease}).
   *
   * @param sessionId The session.
   * @returns The held lease.
   */
  acquireLease(sessionId: string): Promise<Lease> {
    return Lease.acquire(this.paths, validateSessionId(sessionId));
  }

  /**
   * Runs `fn` holding the session's delivery lock, so that no other hook or
   * waiter shows the same messages meanwhile (see `delivery_lock.ts`).
   *
   * @param sessionId The session whose messages `fn` delivers.
   * @param fn Reads, shows and takes the messages.
   * @returns Whatever `fn` returns.
   */
  withDeliveryLock<T>(sessionId: string, fn: () => Promise<T>): Promise<T> {
    return withDeliveryLock(this.paths, validateSessionId(sessionId), fn);
  }

  /**
   * Arms the caller as the session's one Claude Code rewake waiter (see
   * {@linkcode RewakeLock}).
   *
   * @param sessionId The session.
   * @returns The held lock, or `null` when another waiter is armed.
   */
  armRewake(sessionId: string): Promise<RewakeLock | null> {
    return RewakeLock.tryArm(this.paths, validateSessionId(sessionId));
  }

  /**
   * Whether a rewake waiter is armed for the session now.
   *
   * @param sessionId The session.
   * @returns `true` while one holds the session's rewake lock.
   */
  rewakeArmed(sessionId: string): boolean {
    return RewakeLock.armed(this.paths, validateSessionId(sessionId));
  }

  /**
   * Probes whether a session is alive.
   *
   * @param sessionId The session.
   * @returns `true`, `false`, or `null` when no lease was ever taken.
   */
  liveness(sessionId: string): Liveness {
    return probeLease(this.paths, sessionId);
  }

  /**
   * Registers (or refreshes, renames, takes over) the caller's alias.
   *
   * Same session and alias → refresh. Same session, new alias → rename, and
   * room memberships follow. An alias held by a live other session → error
   * naming the holder; by a dead one → taken over, with its pending messages.
   * Dead letters addressed to this alias or session are delivered again.
   *
   * @param sessionId The caller's session.
   * @param args Alias and client details.
   * @returns What happened.
   */
  register(
    sessionId: string,
    args: RegisterArgs = {},
  ): Promise<RegisterResult> {
    return this.#op("register", () => this.#register(sessionId, args));
  }

  #register(sessionId: string, args: RegisterArgs): RegisterResult {
    validateSessionId(sessionId);
    if (args.alias !== undefined) validateAlias(args.alias);
    const now = this.#stamp();
    const paths = this.paths;
    let roomUpdate: { from?: string; to: string } | null = null;
    let warning: string | undefined;
    const result = withLock(paths.registryLock, true, (): RegisterResult => {
      const rows = readRegistry(paths).map((r) => ({ ...r }));
      const mine = findBySession(rows, sessionId);
      const takenByOther = (alias: string) =>
        rows.some((r) =>
          r.session_id !== sessionId && r.alias.toLowerCase() === alias
        );
      const alias = args.alias ?? mine?.alias ??
        generateAlias(sessionId, takenByOther);
      let status: RegisterResult["status"] = mine
        ? (mine.alias === alias ? "already_registered" : "renamed")
        : "registered";
      let replaced: Registration | undefined;
      const holder = findByAlias(rows, alias);
      if (holder && holder.session_id !== sessionId) {
        // A live holder keeps its alias. A holder that never took a lease
        // (registered from a shell) yields to a session that holds one:
        // otherwise a forgotten shell registration would block the alias
        // for the agent that owns it until it expires (24 h).
        const held = probeLease(paths, holder.session_id);
        if (held === true || (held === null && args.leased !== true)) {
          throw new AliasTakenError(
            alias,
            holder.session_id,
            suggestAlias(alias, takenByOther),
          );
        }
        replaced = holder;
        status = "taken_over";
      }
      if (args.leased === false) clearStaleLease(paths, sessionId);
      const pid = args.pid ?? mine?.pid ?? null;
      const row: Registration = {
        ...mine,
        session_id: sessionId,
        alias,
        pid,
        pid_start_time: pid === null
          ? null
          : (pid === mine?.pid && mine.pid_start_time !== null
            ? mine.pid_start_time
            : readPidStartTime(pid)),
        client: clientName(args.client) ?? mine?.client ?? null,
        registered_at: mine?.alias === alias ? mine.registered_at : now,
        last_seen: now,
      };
      if (
        args.client_session_id !== undefined &&
        SESSION_ID_SHAPE.test(args.client_session_id)
      ) {
        row.client_session_id = args.client_session_id;
      }
      if (args.wake !== undefined) row.wake = args.wake;
      const next = rows.filter((r) =>
        r.session_id !== sessionId && r !== replaced
      );
      next.push(row);
      const redelivered = withLock(paths.inboxLock(sessionId), true, () => {
        let moved: Message[] = [];
        if (replaced) {
          const old = replaced;
          moved = withLock(
            paths.inboxLock(old.session_id),
            true,
            () => takeInbox(paths, old.session_id),
          );
          // Messages were addressed to the alias, which this session now holds.
          appendToInbox(paths, sessionId, moved);
        }
        return moved.length +
          this.#redeliverDeadLetters(
            sessionId,
            alias,
            (problem) => warning = problem,
          );
      });
      writeRegistry(paths, next);
      if (replaced) clearStaleLease(paths, replaced.session_id);
      if (status === "renamed" || status === "taken_over") {
        roomUpdate = { from: mine?.alias, to: alias };
      }
      const out: RegisterResult = {
        alias,
        session_id: sessionId,
        status,
        redelivered,
      };
      if (mine && mine.alias !== alias) out.previous_alias = mine.alias;
      if (replaced) out.replaced_session_id = replaced.session_id;
      if (warning) out.warning = warning;
      return out;
    });
    if (roomUpdate) this.#followInRooms(sessionId, roomUpdate);
    return result;
  }

  /**
   * Moves dead letters for this alias or session into its inbox. A damaged
   * dead-letter file is reported through `warn` and left alone: it must not
   * stop anyone from registering.
   */
  #redeliverDeadLetters(
    sessionId: string,
    alias: string,
    warn: (problem: string) => void,
  ): number {
    try {
      return this.#takeDeadLetters(sessionId, alias);
    } catch (e) {
      if (
        !(e instanceof CorruptFileError || e instanceof SymlinkRefusedError)
      ) {
        throw e;
      }
      warn(`dead letters were not checked: ${e.message}`);
      return 0;
    }
  }

  #takeDeadLetters(sessionId: string, alias: string): number {
    const paths = this.paths;
    return withLock(paths.deadLetterLock, true, () => {
      const { records } = readJsonl<DeadLetter>(
        paths.deadLetter,
        deadLetterProblem,
      );
      const mine = (d: DeadLetter) =>
        d.to_alias === alias || d.dead_session_id === sessionId;
      const back = records.filter(mine);
      if (back.length === 0) return 0;
      appendToInbox(paths, sessionId, back.map(toMessage));
      rewriteJsonl(paths.deadLetter, records.filter((d) => !mine(d)));
      return back.length;
    });
  }

  /** After a rename or takeover, room memberships follow the session. */
  #followInRooms(sessionId: string, change: { from?: string; to: string }) {
    for (const roomId of listRoomIds(this.paths)) {
      withLock(this.paths.roomLock(roomId), true, () => {
        const members = readMembers(this.paths, roomId);
        let changed = false;
        const next: RoomMember[] = [];
        for (const m of members) {
          if (m.session_id === sessionId && m.alias === change.from) {
            m.alias = change.to;
            changed = true;
          } else if (m.alias === change.to && m.session_id !== sessionId) {
            m.session_id = sessionId;
            changed = true;
          }
          if (!next.some((n) => n.alias === m.alias)) next.push(m);
          else changed = true;
        }
        if (changed) writeMembers(this.paths, roomId, next);
      });
    }
  }

  /**
   * Describes the caller's registration.
   *
   * @param sessionId The caller's session.
   * @returns Alias, liveness and client details.
   * @throws {NotRegisteredError} When the session has no registration.
   */
  whoami(sessionId: string): Promise<WhoamiResult> {
    return this.#op("whoami", () => {
      const me = this.#me(sessionId);
      return {
        alias: me.alias,
        session_id: me.session_id,
        alive: probeLease(this.paths, me.session_id),
        client: me.client,
        pid: me.pid,
        registered_at: me.registered_at,
        last_seen: me.last_seen,
      };
    });
  }

  /**
   * Lists registered peers with liveness.
   *
   * @param options `all`: also list sessions with an inbox or lease file but
   * no registration.
   * @returns The peers, in registration order.
   */
  list(options: { all?: boolean } = {}): Promise<ListResult> {
    return this.#op("list", () => {
      const rows = readRegistry(this.paths);
      const peers: PeerInfo[] = rows.map((r) => {
        const peer: PeerInfo = {
          alias: r.alias,
          session_id: r.session_id,
          alive: probeLease(this.paths, r.session_id),
          client: r.client,
          pid: r.pid,
          last_seen: r.last_seen,
          pending: countPending(this.paths, r.session_id),
        };
        if (r.wake) peer.wake = r.wake;
        return peer;
      });
      if (options.all) {
        const known = new Set(rows.map((r) => r.session_id));
        for (const sessionId of this.#unregisteredSessions(known)) {
          peers.push({
            alias: null,
            session_id: sessionId,
            alive: probeLease(this.paths, sessionId),
            client: null,
            pid: null,
            last_seen: null,
            pending: countPending(this.paths, sessionId),
          });
        }
      }
      return { peers };
    });
  }

  /**
   * Sends a direct message.
   *
   * @param sessionId The caller's session (the sender).
   * @param args Recipient, body, and optionally the sender's stated alias.
   * @returns The delivery receipt.
   * @throws {SenderMismatchError} When `from_alias` is not the caller's alias.
   * @throws {UnknownAliasError} When nobody holds `to_alias`.
   * @throws {RecipientDeadError} When the recipient's session is dead.
   * @throws {SelfSendError} When addressed to the caller.
   * @throws {MessageTooLargeError} When the body exceeds the limit.
   */
  send(sessionId: string, args: SendArgs): Promise<SendReceipt> {
    return this.#op("send", () => {
      this.#checkSize(args.content);
      const toAlias = validateAlias(args.to_alias);
      if (args.reply_to !== undefined) checkReplyTo(args.reply_to);
      const quota = this.config().max_inbox_bytes;
      const paths = this.paths;
      // Shared registry lock: sends run side by side, but never while a
      // takeover moves the recipient's inbox (which would strand this message).
      return withLock(paths.registryLock, false, () => {
        const rows = readRegistry(paths);
        const me = this.#sender(rows, sessionId, args.from_alias);
        if (toAlias === me.alias) throw new SelfSendError(me.alias);
        const target = findByAlias(rows, toAlias);
        if (!target) throw new UnknownAliasError(toAlias);
        if (probeLease(paths, target.session_id) === false) {
          throw new RecipientDeadError(toAlias);
        }
        const message = this.#message(me.alias, target.alias, args.content);
        if (args.reply_to !== undefined) message.reply_to = args.reply_to;
        withLock(
          paths.inboxLock(target.session_id),
          true,
          () => this.#queue(target, [message], quota),
        );
        return {
          id: message.id,
          ts: message.ts,
          to_alias: target.alias,
          queued: true as const,
        };
      });
    });
  }

  /**
   * Broadcasts to every live peer except the caller.
   *
   * @param sessionId The caller's session.
   * @param args Body, and optionally the sender's stated alias.
   * @returns Receipts, plus the peers skipped (dead) with the reason.
   */
  sendAll(
    sessionId: string,
    args: { content: string; from_alias?: string },
  ): Promise<SendAllResult> {
    return this.#op("send_all", () => {
      this.#checkSize(args.content);
      const quota = this.config().max_inbox_bytes;
      const paths = this.paths;
      return withLock(paths.registryLock, false, () => {
        const rows = readRegistry(paths);
        const me = this.#sender(rows, sessionId, args.from_alias);
        const result: SendAllResult = { sent_to: [], skipped: [] };
        for (const peer of rows) {
          if (peer.session_id === me.session_id) continue;
          if (probeLease(paths, peer.session_id) === false) {
            result.skipped.push({ alias: peer.alias, reason: "not alive" });
            continue;
          }
          const message = this.#message(me.alias, peer.alias, args.content);
          const full = withLock(
            paths.inboxLock(peer.session_id),
            true,
            () => inboxFull(() => this.#queue(peer, [message], quota)),
          );
          if (full) {
            result.skipped.push({ alias: peer.alias, reason: "inbox full" });
            continue;
          }
          result.sent_to.push({
            id: message.id,
            ts: message.ts,
            to_alias: peer.alias,
            queued: true,
          });
        }
        return result;
      });
    });
  }

  /**
   * Drains the caller's inbox: returns the pending messages (all, or the
   * oldest within `bounds`) and moves them to the archive.
   *
   * @param sessionId The caller's session.
   * @param bounds At most how many (or how many bytes of) messages.
   * @returns The messages, oldest first, and how many are still pending.
   */
  pollInbox(
    sessionId: string,
    bounds: InboxBounds = {},
  ): Promise<InboxResult> {
    return this.#op("poll_inbox", () => {
      this.#me(sessionId);
      return this.#drain(sessionId, checkBounds(bounds));
    });
  }

  /**
   * Drains only the listed messages (those a push channel delivered) and
   * leaves the rest pending.
   *
   * @param sessionId The caller's session.
   * @param ids Ids of the messages to drain.
   * @returns The drained messages.
   */
  drainMessages(
    sessionId: string,
    ids: Iterable<string>,
  ): Promise<InboxResult> {
    return this.#op(
      "drain",
      () => this.#drain(sessionId, { only: new Set(ids) }),
    );
  }

  /**
   * Puts drained messages back into the inbox (and out of the archive): a
   * push that drained them could not deliver them after all.
   *
   * @param sessionId The inbox owner.
   * @param messages The messages the failed push drained.
   * @returns How many were restored.
   */
  restoreMessages(
    sessionId: string,
    messages: readonly Message[],
  ): Promise<number> {
    return this.#op(
      "restore",
      () =>
        withLock(
          this.paths.inboxLock(validateSessionId(sessionId)),
          true,
          () => restoreDrained(this.paths, sessionId, messages),
        ),
    );
  }

  #drain(sessionId: string, selection: InboxSelection): InboxResult {
    const drainedAt = this.#stamp();
    return withLock(
      this.paths.inboxLock(sessionId),
      true,
      () => drainInbox(this.paths, sessionId, drainedAt, selection),
    );
  }

  /**
   * Reads the caller's pending messages without removing them.
   *
   * @param sessionId The caller's session.
   * @param bounds At most how many (or how many bytes of) messages.
   * @returns The messages, oldest first, and how many more are pending.
   */
  peekInbox(
    sessionId: string,
    bounds: InboxBounds = {},
  ): Promise<InboxResult> {
    return this.#op("peek_inbox", () => {
      this.#me(sessionId);
      return selectMessages(
        readInbox(this.paths, sessionId),
        checkBounds(bounds),
      );
    });
  }

  /**
   * Reads pending messages of a session whether or not it is registered
   * (hooks and health checks).
   *
   * @param sessionId The session.
   * @returns Pending messages.
   */
  pendingMessages(sessionId: string): Message[] {
    return readInbox(this.paths, validateSessionId(sessionId));
  }

  /**
   * Reads the caller's archive (messages already drained).
   *
   * @param sessionId The caller's session.
   * @param args `limit`: how many, newest last (default 50).
   * @returns The last `limit` drained messages.
   */
  history(
    sessionId: string,
    args: { limit?: number } = {},
  ): Promise<HistoryResult> {
    return this.#op("history", () => {
      const limit = positiveInt("limit", args.limit, DEFAULT_HISTORY_LIMIT);
      this.#me(sessionId);
      return { messages: readArchive(this.paths, sessionId, limit) };
    });
  }

  /**
   * Joins a room, creating it if needed. Idempotent.
   *
   * @param sessionId The caller's session.
   * @param args Room, optional stated alias, and how much history to return
   * (default 20, max 200).
   * @returns Membership and recent history.
   */
  joinRoom(
    sessionId: string,
    args: { room_id: string; alias?: string; history_limit?: number },
  ): Promise<JoinRoomResult> {
    return this.#op("join_room", () => {
      const roomId = validateRoomId(args.room_id);
      const limit = positiveInt(
        "history_limit",
        args.history_limit,
        DEFAULT_JOIN_HISTORY,
        MAX_JOIN_HISTORY,
      );
      const paths = this.paths;
      return withLock(paths.roomLock(roomId), true, () => {
        const me = this.#sender(readRegistry(paths), sessionId, args.alias);
        ensureDir(paths.roomDir(roomId));
        const members = readMembers(paths, roomId);
        const existing = members.find((m) => m.alias === me.alias);
        if (existing) {
          if (existing.session_id !== sessionId) {
            existing.session_id = sessionId;
            writeMembers(paths, roomId, members);
          }
        } else {
          const now = this.#stamp();
          members.push({
            alias: me.alias,
            session_id: sessionId,
            joined_at: now,
          });
          writeMembers(paths, roomId, members);
          appendHistory(paths, roomId, [
            this.#roomMessage(roomId, SYSTEM_ALIAS, `${me.alias} joined`, now),
          ]);
        }
        return {
          room_id: roomId,
          joined: true as const,
          already_member: existing !== undefined,
          member_count: members.length,
          history: readHistory(paths, roomId, { limit }),
        };
      });
    });
  }

  /**
   * Leaves a room. Leaving a room one is not in is not an error.
   *
   * @param sessionId The caller's session.
   * @param args Room and optional stated alias.
   * @returns Whether the caller left, and the remaining member count.
   */
  leaveRoom(
    sessionId: string,
    args: { room_id: string; alias?: string },
  ): Promise<LeaveRoomResult> {
    return this.#op("leave_room", () => {
      const roomId = validateRoomId(args.room_id);
      const paths = this.paths;
      return withLock(paths.roomLock(roomId), true, () => {
        const me = this.#sender(readRegistry(paths), sessionId, args.alias);
        const members = readMembers(paths, roomId);
        const rest = members.filter((m) => m.alias !== me.alias);
        const left = rest.length < members.length;
        if (left) {
          writeMembers(paths, roomId, rest);
          appendHistory(paths, roomId, [
            this.#roomMessage(roomId, SYSTEM_ALIAS, `${me.alias} left`),
          ]);
        }
        return { room_id: roomId, left, member_count: rest.length };
      });
    });
  }

  /**
   * Posts to a room: appends to its history and queues one copy into every
   * other member's inbox. The sender's identical post within 60 s is not
   * repeated. Members between sessions (dead) still get their copy: room
   * membership outlives a session, and the copy follows the alias when it is
   * taken over.
   *
   * @param sessionId The caller's session (must be a member).
   * @param args Room, body, optional stated alias.
   * @returns Counts, and whether this post was a duplicate.
   */
  sendRoom(sessionId: string, args: SendRoomArgs): Promise<SendRoomResult> {
    return this.#op("send_room", () => {
      this.#checkSize(args.content);
      const roomId = validateRoomId(args.room_id);
      const quota = this.config().max_inbox_bytes;
      const paths = this.paths;
      return withLock(paths.roomLock(roomId), true, () => {
        return withLock(paths.registryLock, false, () => {
          const rows = readRegistry(paths);
          const me = this.#sender(rows, sessionId, args.from_alias);
          const members = readMembers(paths, roomId);
          if (!members.some((m) => m.alias === me.alias)) {
            throw new NotMemberError(roomId, me.alias);
          }
          const now = this.#now();
          const duplicate = findRecentDuplicate(
            readHistory(paths, roomId, {
              stopAt: (m) => now.getTime() - Date.parse(m.ts) > ROOM_DEDUPE_MS,
            }),
            me.alias,
            args.content,
          );
          if (duplicate) {
            return {
              id: duplicate.id,
              ts: duplicate.ts,
              room_id: roomId,
              member_count: members.length,
              queued_count: 0,
              deduplicated: true,
            };
          }
          const post = this.#roomMessage(
            roomId,
            me.alias,
            args.content,
            now.toISOString(),
          );
          appendHistory(paths, roomId, [post]);
          let queued = 0;
          const skipped: SkippedPeer[] = [];
          for (const member of members) {
            if (member.alias === me.alias) continue;
            const target = findByAlias(rows, member.alias);
            if (!target) continue; // swept; it reads the history on rejoin
            const copy: Message = {
              id: post.id,
              ts: post.ts,
              from_alias: me.alias,
              to_alias: target.alias,
              content: args.content,
              room_id: roomId,
            };
            // A member whose inbox is full misses this copy (the post
            // stays in the room's history) rather than failing the post.
            const full = withLock(
              paths.inboxLock(target.session_id),
              true,
              () => inboxFull(() => this.#queue(target, [copy], quota)),
            );
            if (full) {
              skipped.push({ alias: target.alias, reason: "inbox full" });
            } else queued++;
          }
          const result: SendRoomResult = {
            id: post.id,
            ts: post.ts,
            room_id: roomId,
            member_count: members.length,
            queued_count: queued,
            deduplicated: false,
          };
          if (skipped.length > 0) result.skipped = skipped;
          return result;
        });
      });
    });
  }

  /**
   * Reads a room's history.
   *
   * Without `offset`: the newest `limit` messages. With `offset`: skips the
   * first `offset` messages of the whole history, then returns up to `limit`
   * (forward pagination). Newest last either way.
   *
   * @param args Room, `limit` (default 50), optional `offset`.
   * @returns The messages and the history's total length.
   */
  roomHistory(
    args: { room_id: string; limit?: number; offset?: number },
  ): Promise<RoomHistoryResult> {
    return this.#op("room_history", () => {
      const roomId = validateRoomId(args.room_id);
      const limit = positiveInt("limit", args.limit, DEFAULT_HISTORY_LIMIT);
      let messages: RoomMessage[];
      if (args.offset !== undefined) {
        const offset = positiveInt("offset", args.offset, 0);
        messages = readHistory(this.paths, roomId).slice(
          offset,
          offset + limit,
        );
      } else {
        messages = readHistory(this.paths, roomId, { limit });
      }
      return {
        room_id: roomId,
        messages,
        total: countHistory(this.paths, roomId),
      };
    });
  }

  /**
   * Lists every room.
   *
   * @returns Each room's id, member count and message count.
   */
  listRooms(): Promise<ListRoomsResult> {
    return this.#op("list_rooms", () => ({
      rooms: listRoomIds(this.paths).map((roomId) => ({
        room_id: roomId,
        member_count: readMembers(this.paths, roomId).length,
        message_count: countHistory(this.paths, roomId),
      })),
    }));
  }

  /**
   * Lists the rooms the caller belongs to.
   *
   * @param sessionId The caller's session.
   * @param args Optional stated alias (checked).
   * @returns The rooms.
   */
  myRooms(
    sessionId: string,
    args: { alias?: string } = {},
  ): Promise<MyRoomsResult> {
    return this.#op("my_rooms", () => {
      const me = this.#sender(readRegistry(this.paths), sessionId, args.alias);
      const rooms = [];
      for (const roomId of listRoomIds(this.paths)) {
        const members = readMembers(this.paths, roomId);
        if (members.some((m) => m.alias === me.alias)) {
          rooms.push({ room_id: roomId, member_count: members.length });
        }
      }
      return { rooms };
    });
  }

  /**
   * Removes registrations whose session is definitively dead, rescues their
   * pending messages (and those of inbox files nobody is registered for) into
   * `dead-letter.jsonl`, and removes them from rooms. Registrations without a
   * lease are never swept here: they expire through {@linkcode Broker.gc}.
   *
   * @returns What was removed and rescued.
   */
  sweep(): Promise<SweepResult> {
    return this.#op("sweep", () => {
      const { result } = this.#collect({ dryRun: false });
      return result;
    });
  }

  /**
   * {@linkcode Broker.sweep} for one session whose process ended cleanly
   * (`c2c run` as it exits, after releasing the lease): its registration
   * goes, its pending messages move to `dead-letter.jsonl` (and come back
   * when the alias registers again), it leaves its rooms. Nothing happens
   * while any process still holds its lease.
   *
   * @param sessionId The ended session.
   * @returns What was removed and rescued.
   */
  unregister(sessionId: string): Promise<SweepResult> {
    return this.#op("unregister", () => {
      const { result } = this.#collect({ dryRun: false, only: sessionId });
      return result;
    });
  }

  /**
   * Garbage collection: {@linkcode Broker.sweep}, plus expiry of lease-less
   * registrations idle past a TTL, deletion of old dead letters, and removal
   * of idle lock and lease files of sessions that are gone.
   *
   * @param options TTLs and dry run.
   * @returns What was (or, in a dry run, would be) removed.
   */
  gc(options: GcOptions = {}): Promise<GcResult> {
    return this.#op("gc", () => {
      const dryRun = options.dryRun ?? false;
      const now = this.#now().getTime();
      const expireBefore = now -
        (options.leaselessTtlMs ?? DEFAULT_LEASELESS_TTL_MS);
      const { result, registered } = this.#collect({ dryRun, expireBefore });
      const purgeBefore = now -
        (options.deadLetterTtlMs ?? DEFAULT_DEAD_LETTER_TTL_MS);
      const purged = withLock(this.paths.deadLetterLock, true, () => {
        const { records } = readJsonl<DeadLetter>(
          this.paths.deadLetter,
          deadLetterProblem,
        );
        const old = (d: DeadLetter) => Date.parse(d.dead_at) < purgeBefore;
        const count = records.filter(old).length;
        if (count > 0 && !dryRun) {
          rewriteJsonl(this.paths.deadLetter, records.filter((d) => !old(d)));
        }
        return count;
      });
      const removedLocks = dryRun ? 0 : this.#removeIdleLockFiles(registered);
      return {
        ...result,
        purged_dead_letters: purged,
        removed_lock_files: removedLocks,
        dry_run: dryRun,
      };
    });
  }

  #collect(
    options: { dryRun: boolean; expireBefore?: number; only?: string },
  ): { result: SweepResult; registered: Set<string> } {
    const paths = this.paths;
    const removed: RemovedRegistration[] = [];
    let rescued = 0;
    let orphans = 0;
    const registered = withLock(paths.registryLock, true, () => {
      const rows = readRegistry(paths);
      const keep: Registration[] = [];
      for (const row of rows) {
        if (options.only !== undefined && row.session_id !== options.only) {
          keep.push(row);
          continue;
        }
        const alive = probeLease(paths, row.session_id);
        if (alive === false) {
          removed.push({
            alias: row.alias,
            session_id: row.session_id,
            reason: "dead",
          });
        } else if (
          alive === null && options.expireBefore !== undefined &&
          Date.parse(row.last_seen) < options.expireBefore
        ) {
          removed.push({
            alias: row.alias,
            session_id: row.session_id,
            reason: "expired",
          });
        } else {
          keep.push(row);
        }
      }
      const kept = new Set(keep.map((r) => r.session_id));
      const orphanIds = options.only !== undefined
        ? []
        : this.#unregisteredInboxes(kept).filter((id) =>
          !removed.some((r) => r.session_id === id)
        );
      if (options.dryRun) {
        for (const r of removed) {
          rescued += readInbox(paths, r.session_id).length;
        }
        for (const id of orphanIds) {
          const n = readInbox(paths, id).length;
          rescued += n;
          orphans++;
        }
        return kept;
      }
      const rescue = (sessionId: string) => {
        return withLock(paths.inboxLock(sessionId), true, () => {
          const pending = takeInbox(paths, sessionId);
          if (pending.length > 0) {
            const deadAt = this.#stamp();
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
      };
      for (const r of removed) rescued += rescue(r.session_id);
      for (const id of orphanIds) {
        rescued += rescue(id);
        orphans++;
      }
      if (removed.length > 0) writeRegistry(paths, keep);
      for (const r of removed) clearStaleLease(paths, r.session_id);
      return kept;
    });
    if (!options.dryRun && removed.length > 0) {
      const gone = new Set(removed.map((r) => r.alias));
      for (const roomId of listRoomIds(paths)) {
        withLock(paths.roomLock(roomId), true, () => {
          // Re-read: an alias may have been registered again meanwhile.
          const rows = readRegistry(paths);
          const members = readMembers(paths, roomId);
          const rest = members.filter((m) =>
            !gone.has(m.alias) || findByAlias(rows, m.alias) !== undefined
          );
          if (rest.length < members.length) writeMembers(paths, roomId, rest);
        });
      }
    }
    return {
      result: {
        removed_registrations: removed.length,
        removed,
        rescued_messages: rescued,
        orphan_inboxes: orphans,
      },
      registered,
    };
  }

  #removeIdleLockFiles(registered: Set<string>): number {
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
    return count;
  }

  /**
   * Reads the last entries of the audit log (`broker.log`).
   *
   * @param args `limit`: default 50, max 500.
   * @returns The entries, oldest first.
   */
  tailLog(args: { limit?: number } = {}): Promise<TailLogResult> {
    return this.#op("tail_log", () => {
      const limit = positiveInt(
        "limit",
        args.limit,
        DEFAULT_LOG_LIMIT,
        MAX_LOG_LIMIT,
      );
      return { entries: limit === 0 ? [] : tailAudit(this.paths, limit) };
    });
  }

  /**
   * Operator escape hatch: points a registration at a new live pid and
   * refreshes its `last_seen` (restarting its expiry clock).
   *
   * @param args Alias, new pid, and a check that the pid is running.
   * @returns The updated registration details.
   * @throws {DeadPidError} When `isAlive(pid)` is false.
   */
  refreshPeer(
    args: { alias: string; pid: number; isAlive: (pid: number) => boolean },
  ): Promise<RefreshPeerResult> {
    return this.#op("refresh_peer", () => {
      const alias = validateAlias(args.alias);
      if (!Number.isInteger(args.pid) || args.pid <= 0) {
        throw new InvalidArgumentError("pid must be a positive integer");
      }
      if (!args.isAlive(args.pid)) throw new DeadPidError(args.pid);
      const paths = this.paths;
      return withLock(paths.registryLock, true, () => {
        const rows = readRegistry(paths).map((r) => ({ ...r }));
        const row = findByAlias(rows, alias);
        if (!row) throw new UnknownAliasError(alias);
        row.pid = args.pid;
        row.pid_start_time = readPidStartTime(args.pid);
        row.last_seen = this.#stamp();
        writeRegistry(paths, rows);
        return {
          alias: row.alias,
          session_id: row.session_id,
          pid: args.pid,
          pid_start_time: row.pid_start_time,
        };
      });
    });
  }

  /**
   * Finds the registration of a session, or `undefined`.
   *
   * @param sessionId The session.
   * @returns Its registration.
   */
  registration(sessionId: string): Registration | undefined {
    return findBySession(readRegistry(this.paths), sessionId);
  }

  /**
   * Finds the registration holding an alias, or `undefined`.
   *
   * @param alias The alias.
   * @returns Its registration.
   */
  registrationByAlias(alias: string): Registration | undefined {
    return findByAlias(readRegistry(this.paths), alias);
  }

  /** Reads every registration (a snapshot). */
  registrations(): readonly Registration[] {
    return readRegistry(this.paths);
  }

  /** Reads every dead letter. */
  deadLetters(): DeadLetter[] {
    return readJsonl<DeadLetter>(this.paths.deadLetter, deadLetterProblem)
      .records;
  }

  // ---- helpers -------------------------------------------------------------

  async #op<T>(tool: string, fn: () => T): Promise<T> {
    const start = performance.now();
    let ok = false;
    let code: string | undefined;
    try {
      const out = fn();
      ok = true;
      return await out;
    } catch (e) {
      code = e instanceof C2cError ? e.code : "internal";
      throw e;
    } finally {
      const entry: Parameters<typeof appendAudit>[1] = {
        ts: this.#stamp(),
        tool,
        ok,
        ms: Math.round((performance.now() - start) * 1000) / 1000,
      };
      if (code) entry.error = code;
      appendAudit(this.paths, entry);
    }
  }

  #stamp(): string {
    return this.#now().toISOString();
  }

  #checkSize(content: string): void {
    if (typeof content !== "string") {
      throw new InvalidArgumentError("content must be a string");
    }
    const limit = this.maxMessageBytes;
    // A UTF-16 code unit never encodes to more than 3 bytes: most bodies need
    // no encoding at all to be known small enough.
    if (content.length * 3 <= limit) return;
    const bytes = encoder.encode(content).length;
    if (bytes > limit) throw new MessageTooLargeError(bytes, limit);
  }

  /**
   * Queues messages into a recipient's inbox unless that would pass the
   * broker's inbox quota. Caller holds the inbox lock, so the size it checks
   * is the size it appends to.
   */
  #queue(
    target: Registration,
    messages: readonly Message[],
    quota: number,
  ): void {
    const pending = inboxBytes(this.paths, target.session_id);
    let adding = 0;
    for (const m of messages) {
      adding += encoder.encode(JSON.stringify(m)).length + 1;
    }
    if (pending + adding > quota) {
      throw new InboxFullError(target.alias, pending, quota);
    }
    appendToInbox(this.paths, target.session_id, messages);
  }

  #me(sessionId: string): Registration {
    validateSessionId(sessionId);
    const me = findBySession(readRegistry(this.paths), sessionId);
    if (!me) throw new NotRegisteredError(sessionId);
    return me;
  }

  #sender(
    rows: readonly Registration[],
    sessionId: string,
    claimed: string | undefined,
  ): Registration {
    validateSessionId(sessionId);
    const me = findBySession(rows, sessionId);
    if (!me) throw new NotRegisteredError(sessionId);
    if (claimed !== undefined && claimed !== me.alias) {
      throw new SenderMismatchError(claimed, me.alias);
    }
    return me;
  }

  #message(from: string, to: string, content: string): Message {
    return {
      id: crypto.randomUUID(),
      ts: this.#stamp(),
      from_alias: from,
      to_alias: to,
      content,
    };
  }

  #roomMessage(
    roomId: string,
    from: string,
    content: string,
    ts = this.#stamp(),
  ): RoomMessage {
    return {
      id: crypto.randomUUID(),
      ts,
      room_id: roomId,
      from_alias: from,
      content,
    };
  }

  #unregisteredInboxes(known: ReadonlySet<string>): string[] {
    const ids: string[] = [];
    for (const entry of Deno.readDirSync(this.root)) {
      if (!entry.isFile || !entry.name.endsWith(INBOX_SUFFIX)) continue;
      const id = entry.name.slice(0, -INBOX_SUFFIX.length);
      if (!known.has(id)) ids.push(id);
    }
    return ids.sort();
  }

  #unregisteredSessions(known: ReadonlySet<string>): string[] {
    const ids = new Set(this.#unregisteredInboxes(known));
    try {
      for (const entry of Deno.readDirSync(this.paths.leasesDir)) {
        const id = entry.name.match(/^(.+)\.lock$/)?.[1];
        if (id && !known.has(id)) ids.add(id);
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    return [...ids].sort();
  }
}
