/**
 * The broker: every operation (docs/design.md#operations) as one method of
 * {@linkcode Broker}, with every rule — aliases, identity, rooms, fan-out,
 * dedupe, sweep, dead letters, limits, audit — in this one place. Where the
 * data lives is a {@linkcode Store}: the file store on one machine, or the
 * NATS store shared by several (docs/design.md#stores). The MCP server and
 * the CLI are thin adapters over these methods, so a tool and its command
 * cannot behave differently.
 *
 * @module
 */

import { generateAlias, suggestAlias, validateAlias } from "./alias.ts";
import type { AuditEntry } from "./audit.ts";
import {
  AliasTakenError,
  C2cError,
  DeadPidError,
  InboxFullError,
  InvalidArgumentError,
  LoopDetectedError,
  MessageTooLargeError,
  NotMemberError,
  NotRegisteredError,
  RateLimitedError,
  SelfSendError,
  SenderMismatchError,
  UnknownAliasError,
  WaitCancelledError,
} from "./errors.ts";
import { checkGuard, guardSince, type GuardTarget } from "./guard.ts";
import {
  checkQuery,
  DEFAULT_SEARCH_LIMIT,
  findHits,
  MAX_SEARCH_LIMIT,
  SEARCH_SCAN_LIMIT,
  type Searchable,
  type SearchResult,
} from "./search.ts";
import {
  raceChange,
  type WaitArgs,
  waitMatcher,
  waitTimeoutMs,
} from "./wait.ts";
import { selectMessages } from "./inbox.ts";
import {
  checkStatus,
  MAX_BRANCH_LENGTH,
  MAX_CWD_LENGTH,
  MAX_STATUS_LENGTH,
  oneLine,
} from "./status.ts";
import { type Liveness, readPidStartTime } from "./lease.ts";
import { withDeliveryLock } from "./delivery_lock.ts";
import { RewakeLock } from "./rewake_lock.ts";
import {
  type DeadLetter,
  type DeliveryVia,
  isExpired,
  type Message,
  type Receipt,
  type RoomMessage,
  type SentMessage,
  SYSTEM_ALIAS,
  toSentMessage,
} from "./message.ts";
import {
  type BrokerPaths,
  validateRoomId,
  validateSessionId,
} from "./paths.ts";
import {
  findByAlias,
  findBySession,
  type Registration,
  type WakeInfo,
} from "./registry.ts";
import { findRecentDuplicate, type RoomMember } from "./rooms.ts";
import { resolveBrokerRoot, type ResolveRootOptions } from "./root.ts";
import type { BrokerConfig } from "./config.ts";
import type {
  InboxOwner,
  RegistryEffect,
  SessionLease,
  Store,
} from "./store/store.ts";
import { FileStore } from "./store/file/file_store.ts";
import type {
  GcResult,
  HistoryEntry,
  HistoryResult,
  InboxResult,
  JoinRoomResult,
  LeaveRoomResult,
  ListResult,
  ListRoomsResult,
  MessageStatus,
  MessageStatusResult,
  MyRoomsResult,
  PeerInfo,
  RefreshPeerResult,
  RegisterResult,
  RemovedRegistration,
  RoomHistoryResult,
  SendAllResult,
  SendReceipt,
  SendRoomResult,
  SetStatusResult,
  SkippedPeer,
  SweepResult,
  TailLogResult,
  WaitResult,
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
/**
 * How many of the newest received and sent messages a reply looks through
 * to find the thread of the message it answers (docs/design.md#conversations).
 */
export const THREAD_LOOKUP = 500;
/**
 * How many of the newest received and sent messages `history` looks
 * through when filtered by peer or thread (docs/design.md#conversations).
 */
export const HISTORY_SCAN = 10_000;
/** How many of the caller's newest sent messages `message_status` shows by default. */
export const DEFAULT_STATUS_LAST = 20;
/** Most messages one `message_status` shows. */
export const MAX_STATUS_IDS = 100;
/** How far a receipt's clock may run behind its message's sender's. */
const RECEIPT_CLOCK_SLACK_MS = 5 * 60_000;
/**
 * The dead letters' session for a message sent to an alias nobody holds:
 * it waits there for the alias, whichever session takes it.
 */
const OFFLINE_SESSION = "";
/** Default and maximum number of entries `tail_log` returns. */
export const DEFAULT_LOG_LIMIT = 50;
/** Most entries `tail_log` returns. */
export const MAX_LOG_LIMIT = 500;

/** Options of {@linkcode Broker}: a `root` (file store) or a `store`. */
export interface BrokerOptions {
  /** Absolute path of the broker root: the file store there. */
  root?: string;
  /** Where the broker keeps its data (instead of `root`). */
  store?: Store;
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
  /** The session's working directory (shown in `list`). */
  cwd?: string;
  /** The git branch checked out there (shown in `list`). */
  git_branch?: string;
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

/** Options of {@linkcode Broker.waitForMessage}. */
export interface WaitOptions {
  /** Aborts the wait (the MCP request was cancelled): nothing is taken. */
  signal?: AbortSignal;
  /** Bounds on what one reply takes. */
  bounds?: InboxBounds;
  /**
   * Called once, when nothing matched yet and the armed watch starts
   * waiting (the MCP server sends a progress notification then).
   */
  onWaiting?: () => void;
  /**
   * Longest `timeout_s` accepted (default 55 s: below MCP clients' call
   * timeouts; `c2c wait` allows an hour).
   */
  maxTimeoutS?: number;
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

/** Records where a session works, as one bounded line each. */
function placeFields(row: Registration, args: RegisterArgs): void {
  const cwd = oneLine(args.cwd, MAX_CWD_LENGTH);
  if (cwd !== undefined) row.cwd = cwd;
  const branch = oneLine(args.git_branch, MAX_BRANCH_LENGTH);
  if (branch !== undefined) row.git_branch = branch;
  else if (cwd !== undefined) delete row.git_branch; // moved off a branch
}

/**
 * What `list` shows of a session's status and place: each field re-checked
 * (a registry row may come from anyone), the status only while the session
 * is not known dead.
 */
function peerStatus(
  row: Registration,
  alive: Liveness,
): Pick<PeerInfo, "status" | "status_at" | "cwd" | "git_branch"> {
  const out: Pick<PeerInfo, "status" | "status_at" | "cwd" | "git_branch"> = {};
  const status = oneLine(row.status, MAX_STATUS_LENGTH);
  if (status !== undefined && alive !== false) {
    out.status = status;
    const at = oneLine(row.status_at, 64);
    if (at !== undefined) out.status_at = at;
  }
  const cwd = oneLine(row.cwd, MAX_CWD_LENGTH);
  if (cwd !== undefined) out.cwd = cwd;
  const branch = oneLine(row.git_branch, MAX_BRANCH_LENGTH);
  if (branch !== undefined) out.git_branch = branch;
  return out;
}

/** Longest client name recorded. */
const MAX_CLIENT_NAME_LENGTH = 64;
const SESSION_ID_SHAPE = /^[A-Za-z0-9_][A-Za-z0-9_.:@+-]{0,127}$/;

/** Throws unless `value` (the argument `name`) looks like a message id. */
function checkMessageId(value: unknown, name = "reply_to"): void {
  if (
    typeof value !== "string" || value.length === 0 ||
    value.length > MAX_REPLY_TO_LENGTH || !MESSAGE_ID.test(value)
  ) {
    throw new InvalidArgumentError(
      `${name} must be the id of a message (up to ${MAX_REPLY_TO_LENGTH} of A-Z a-z 0-9 _ . : -)`,
    );
  }
}

const MESSAGE_ID = /^[A-Za-z0-9_.:-]+$/;

/**
 * Runs a guard check, answering the reason `send_all` gives for skipping a
 * peer it refuses (`null`: passed).
 */
function guardRefusal(check: () => void): string | null {
  try {
    check();
    return null;
  } catch (e) {
    if (e instanceof RateLimitedError) return "rate limited";
    if (e instanceof LoopDetectedError) return "loop detected";
    throw e;
  }
}

/** Runs `queue`, answering `true` when the recipient's inbox was full. */
async function inboxFull(queue: () => Promise<void>): Promise<boolean> {
  try {
    await queue();
    return false;
  } catch (e) {
    if (e instanceof InboxFullError) return true;
    throw e;
  }
}

/** A sent-log line as a `history` entry. */
function sentEntry(e: SentMessage): HistoryEntry {
  const entry: HistoryEntry = {
    id: e.id,
    ts: e.ts,
    from_alias: e.from_alias,
    to_alias: e.to_alias ?? "",
    content: e.content,
    direction: "out",
  };
  if (e.room_id !== undefined) entry.room_id = e.room_id;
  if (e.reply_to !== undefined) entry.reply_to = e.reply_to;
  if (e.thread_id !== undefined) entry.thread_id = e.thread_id;
  if (e.expires_at !== undefined) entry.expires_at = e.expires_at;
  return entry;
}

/** What identifies an inbox in the store. */
function owner(row: Registration): InboxOwner {
  return { session_id: row.session_id, alias: row.alias };
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
 * The broker over a store. Cheap to construct; holds nothing open but what
 * its store holds (the file store: only leases it was asked to take).
 *
 * With the file store, every method requires `--allow-read` and
 * `--allow-write` on the broker root.
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
  /** Where the data is kept. */
  readonly store: Store;
  /** This machine's broker directory (the file store's root). */
  readonly root: string;
  /** Absolute paths of this machine's broker files. */
  readonly paths: BrokerPaths;
  readonly #maxBytes: number | undefined;
  readonly #now: () => Date;

  /**
   * Creates a broker over `options.store`, or the file store at
   * `options.root` (created 0700 if missing).
   *
   * @param options Store or root, and limits.
   */
  constructor(options: BrokerOptions) {
    if (options.store) {
      this.store = options.store;
    } else if (options.root !== undefined) {
      this.store = new FileStore(options.root);
    } else {
      throw new InvalidArgumentError("a Broker needs a root or a store");
    }
    this.paths = this.store.paths;
    this.root = this.paths.root;
    this.#maxBytes = options.maxMessageBytes;
    this.#now = options.now ?? (() => new Date());
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
    options: ResolveRootOptions & Omit<BrokerOptions, "root" | "store"> = {},
  ): Promise<Broker> {
    const { root } = await resolveBrokerRoot(options);
    return new Broker({ ...options, root });
  }

  /** Lets go of the store's connections. */
  close(): Promise<void> {
    return this.store.close();
  }

  /**
   * The content limit in bytes.
   *
   * @returns The limit: the option given, else the broker's settings.
   */
  async messageLimit(): Promise<number> {
    return this.#maxBytes ?? (await this.config()).max_message_bytes;
  }

  /**
   * The broker's settings (`config.json`, else the defaults).
   *
   * @returns The settings.
   * @throws {CorruptFileError} When the settings are present but invalid.
   */
  config(): Promise<BrokerConfig> {
    return this.store.config();
  }

  /**
   * Takes the lease that makes `sessionId` read alive while the returned
   * object is held.
   *
   * @param sessionId The session.
   * @returns The held lease.
   */
  acquireLease(sessionId: string): Promise<SessionLease> {
    return this.store.acquireLease(validateSessionId(sessionId));
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
  liveness(sessionId: string): Promise<Liveness> {
    return this.store.liveness({ session_id: validateSessionId(sessionId) });
  }

  /**
   * Registers (or refreshes, renames, takes over) the caller's alias.
   *
   * Same session and alias → refresh. Same session, new alias → rename, and
   * room memberships follow. An alias held by a live other session → error
   * naming the holder; by a dead one (or one registered without a lease,
   * when the caller holds one) → taken over, with its pending messages.
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

  async #register(
    sessionId: string,
    args: RegisterArgs,
  ): Promise<RegisterResult> {
    validateSessionId(sessionId);
    if (args.alias !== undefined) validateAlias(args.alias);
    const now = this.#stamp();
    let roomUpdate: { from?: string; to: string } | null = null;
    const result = await this.store.changeRegistry(async (view) => {
      const rows = view.rows.map((r) => ({ ...r }));
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
        const held = await view.liveness(holder);
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
      if (args.leased !== undefined) row.leased = args.leased;
      // The status is the session's own (from `mine`): a takeover never
      // inherits the dead holder's.
      placeFields(row, args);
      const next = rows.filter((r) =>
        r.session_id !== sessionId && r !== replaced
      );
      next.push(row);
      const effects: RegistryEffect[] = [];
      if (replaced) {
        effects.push({
          kind: "transfer",
          from: owner(replaced),
          to: owner(row),
          expire_before: now,
          dead_at: now,
        });
      }
      if (mine && mine.alias !== alias) {
        effects.push({ kind: "rename", from: owner(mine), to: owner(row) });
      }
      effects.push({ kind: "redeliver", to: owner(row), expire_before: now });
      if (args.leased === false) {
        effects.push({ kind: "forget_lease", session_id: sessionId });
      }
      return {
        rows: next,
        effects,
        result: (outcome): RegisterResult => {
          roomUpdate = status === "renamed" || status === "taken_over"
            ? { from: mine?.alias, to: alias }
            : null;
          const out: RegisterResult = {
            alias,
            session_id: sessionId,
            status,
            redelivered: outcome.moved,
          };
          if (mine && mine.alias !== alias) out.previous_alias = mine.alias;
          if (replaced) out.replaced_session_id = replaced.session_id;
          if (outcome.warning) out.warning = outcome.warning;
          return out;
        },
      };
    });
    if (roomUpdate) await this.#followInRooms(sessionId, roomUpdate);
    return result;
  }

  /** After a rename or takeover, room memberships follow the session. */
  async #followInRooms(
    sessionId: string,
    change: { from?: string; to: string },
  ): Promise<void> {
    for (const roomId of await this.store.roomIds()) {
      await this.store.withRoom(roomId, async (room) => {
        const members = await room.members();
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
        if (changed) await room.setMembers(next);
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
    return this.#op("whoami", async () => {
      const me = await this.#me(sessionId);
      return {
        alias: me.alias,
        session_id: me.session_id,
        alive: await this.store.liveness(me),
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
    return this.#op("list", async () => {
      const rows = await this.store.registrations();
      const [alive, pending] = await Promise.all([
        Promise.all(rows.map((r) => this.store.liveness(r))),
        this.store.pendingCounts(rows.map(owner)),
      ]);
      const peers: PeerInfo[] = rows.map((r, i) => {
        const peer: PeerInfo = {
          alias: r.alias,
          session_id: r.session_id,
          alive: alive[i],
          client: r.client,
          pid: r.pid,
          last_seen: r.last_seen,
          pending: pending[i],
        };
        if (r.wake) peer.wake = r.wake;
        Object.assign(peer, peerStatus(r, alive[i]));
        return peer;
      });
      if (options.all) {
        const known = new Set(rows.map((r) => r.session_id));
        for (const sessionId of await this.store.unregisteredSessions(known)) {
          const anyone = { session_id: sessionId, alias: "" };
          peers.push({
            alias: null,
            session_id: sessionId,
            alive: await this.store.liveness(anyone),
            client: null,
            pid: null,
            last_seen: null,
            pending: (await this.store.pendingCounts([anyone]))[0],
          });
        }
      }
      return { peers };
    });
  }

  /**
   * Sets (or, with `""`, clears) the one line peers see in `list` next to
   * the caller: what it is working on (docs/design.md#conversations). It
   * lives in the registration, so it goes when the session is swept, and
   * `list` leaves it out while the session is dead.
   *
   * @param sessionId The caller's session.
   * @param args `status`: one line, at most 120 characters.
   * @returns The status now shown.
   * @throws {InvalidArgumentError} When the status is too long.
   * @throws {NotRegisteredError} When the caller has no registration.
   */
  setStatus(
    sessionId: string,
    args: { status: string },
  ): Promise<SetStatusResult> {
    return this.#op("set_status", () => {
      validateSessionId(sessionId);
      const status = checkStatus(args.status);
      const at = this.#stamp();
      return this.store.changeRegistry((view) => {
        const rows = view.rows.map((r) => ({ ...r }));
        const me = findBySession(rows, sessionId);
        if (!me) throw new NotRegisteredError(sessionId);
        if (status === null) {
          delete me.status;
          delete me.status_at;
        } else {
          me.status = status;
          me.status_at = at;
        }
        return Promise.resolve({
          rows,
          result: (): SetStatusResult => ({
            alias: me.alias,
            status,
            status_at: at,
          }),
        });
      });
    });
  }

  /**
   * Sends a direct message.
   *
   * @param sessionId The caller's session (the sender).
   * @param args Recipient, body, and optionally the sender's stated alias.
   * @returns The delivery receipt.
   * @throws {SenderMismatchError} When `from_alias` is not the caller's alias.
   * @throws {UnknownAliasError} When nobody holds `to_alias`, and nothing
   * waits for it or was sent by it within the message TTL.
   * @throws {SelfSendError} When addressed to the caller.
   * @throws {MessageTooLargeError} When the body exceeds the limit.
   * @throws {InboxFullError} When the recipient's inbox is over its quota.
   */
  send(sessionId: string, args: SendArgs): Promise<SendReceipt> {
    return this.#op("send", async () => {
      await this.#checkSize(args.content);
      const toAlias = validateAlias(args.to_alias);
      if (args.reply_to !== undefined) checkMessageId(args.reply_to);
      const config = await this.config();
      return this.store.viewRegistry(async (view) => {
        const me = this.#sender(view.rows, sessionId, args.from_alias);
        if (toAlias === me.alias) throw new SelfSendError(me.alias);
        const target = findByAlias(view.rows, toAlias);
        const guard = await this.#recentSent(me.alias, config);
        guard.check({ to_alias: target?.alias ?? toAlias }, args.content);
        const message = this.#message(
          me.alias,
          target?.alias ?? toAlias,
          args.content,
        );
        if (args.reply_to !== undefined) {
          message.reply_to = args.reply_to;
          message.thread_id = await this.#threadOf(me, args.reply_to);
        }
        const expiresAt = new Date(
          Date.parse(message.ts) + config.message_ttl_s * 1000,
        ).toISOString();
        let alive: Liveness;
        if (target) {
          alive = await view.liveness(target);
          // Queued for whichever session takes the alias next, until then.
          if (alive === false) message.expires_at = expiresAt;
          await view.enqueue(owner(target), [message], config.max_inbox_bytes);
        } else {
          const session = await this.#awaitedAlias(toAlias, config);
          if (session === null) throw new UnknownAliasError(toAlias);
          alive = false;
          message.expires_at = expiresAt;
          await this.store.appendDeadLetters([{
            ...message,
            dead_session_id: session,
            dead_at: message.ts,
            reason: "offline",
          }]);
        }
        await this.store.appendSent(me.alias, [toSentMessage(message)]);
        const receipt: SendReceipt = {
          id: message.id,
          ts: message.ts,
          to_alias: message.to_alias,
          queued: true as const,
          recipient_alive: alive,
          thread_id: message.thread_id!,
        };
        if (message.expires_at) receipt.expires_at = message.expires_at;
        return receipt;
      });
    });
  }

  /**
   * Whether an alias nobody holds is still awaited: a swept session of it
   * left messages in the dead letters that have not expired, or it sent
   * something within the message TTL (a `c2c run` that exited and will be
   * back). Returns the session its dead letters name (`""` when none), or
   * `null` when the alias is unknown.
   */
  async #awaitedAlias(
    alias: string,
    config: BrokerConfig,
  ): Promise<string | null> {
    const now = this.#now().getTime();
    const waiting = (await this.store.deadLetters()).findLast((d) =>
      d.to_alias === alias && !isExpired(d, now)
    );
    if (waiting) return waiting.dead_session_id;
    const [last] = await this.store.sent(alias, { limit: 1 });
    if (last && now - Date.parse(last.ts) < config.message_ttl_s * 1000) {
      return OFFLINE_SESSION;
    }
    return null;
  }

  /**
   * Broadcasts to every live peer except the caller.
   *
   * @param sessionId The caller's session.
   * @param args Body, and optionally the sender's stated alias.
   * @returns Receipts, plus the peers skipped (dead, or inbox full) with the
   * reason.
   */
  sendAll(
    sessionId: string,
    args: { content: string; from_alias?: string },
  ): Promise<SendAllResult> {
    return this.#op("send_all", async () => {
      await this.#checkSize(args.content);
      const config = await this.config();
      const quota = config.max_inbox_bytes;
      return this.store.viewRegistry(async (view) => {
        const me = this.#sender(view.rows, sessionId, args.from_alias);
        const result: SendAllResult = { sent_to: [], skipped: [] };
        const sent: Message[] = [];
        const guard = await this.#recentSent(me.alias, config);
        for (const peer of view.rows) {
          if (peer.session_id === me.session_id) continue;
          if (await view.liveness(peer) === false) {
            result.skipped.push({ alias: peer.alias, reason: "not alive" });
            continue;
          }
          const refused = guardRefusal(() =>
            guard.check({ to_alias: peer.alias }, args.content)
          );
          if (refused) {
            result.skipped.push({ alias: peer.alias, reason: refused });
            continue;
          }
          const message = this.#message(me.alias, peer.alias, args.content);
          const full = await inboxFull(() =>
            view.enqueue(owner(peer), [message], quota)
          );
          if (full) {
            result.skipped.push({ alias: peer.alias, reason: "inbox full" });
            continue;
          }
          sent.push(message);
          result.sent_to.push({
            id: message.id,
            ts: message.ts,
            to_alias: peer.alias,
            queued: true,
            recipient_alive: await view.liveness(peer),
            thread_id: message.id,
          });
        }
        await this.store.appendSent(me.alias, sent.map(toSentMessage));
        return result;
      });
    });
  }

  /**
   * Drains the caller's inbox: returns the pending messages (all, or the
   * oldest within `bounds`) and moves them to the archive.
   *
   * Each direct message drained gets a receipt for its sender.
   *
   * @param sessionId The caller's session.
   * @param bounds At most how many (or how many bytes of) messages.
   * @param via How they reach the agent (default `poll`).
   * @returns The messages, oldest first, and how many are still pending.
   */
  pollInbox(
    sessionId: string,
    bounds: InboxBounds = {},
    via: DeliveryVia = "poll",
  ): Promise<InboxResult> {
    return this.#op("poll_inbox", async () => {
      const me = await this.#me(sessionId);
      const drainedAt = this.#stamp();
      const result = await this.store.drain(
        owner(me),
        checkBounds(bounds),
        drainedAt,
        via,
      );
      await this.#receipts(owner(me), result.messages, drainedAt, via);
      return result;
    });
  }

  /**
   * Waits for a matching message and takes it (docs/design.md#conversations):
   * drains the pending messages that match (within `bounds`), else watches
   * the inbox and tries again at each change, until `timeout_s` passes
   * (then `timed_out: true`, nothing taken). Non-matching messages stay
   * pending. It never polls on a timer: it wakes on the store's
   * {@linkcode Store.watchInbox}, armed before the first look so that a
   * message queued in between is not missed.
   *
   * A wait whose `signal` aborts takes nothing: it throws
   * {@linkcode WaitCancelledError}, and messages a take was handing over
   * as the signal came are put back.
   *
   * @param sessionId The caller's session.
   * @param args What to match, and how long to wait (seconds).
   * @param options The caller's cancellation, reply bounds, and a callback
   * for when it starts waiting.
   * @returns The messages taken, oldest first, or `timed_out`.
   * @throws {WaitCancelledError} When `signal` aborted.
   */
  waitForMessage(
    sessionId: string,
    args: WaitArgs = {},
    options: WaitOptions = {},
  ): Promise<WaitResult> {
    return this.#op("wait_for_message", async () => {
      const match = waitMatcher(args);
      const deadline = Date.now() +
        waitTimeoutMs(args.timeout_s, options.maxTimeoutS);
      const bounds = checkBounds(options.bounds ?? {});
      const { signal } = options;
      const me = await this.#me(sessionId);
      using watch = await this.store.watchInbox(owner(me));
      let waiting = false;
      for (;;) {
        if (signal?.aborted) throw new WaitCancelledError();
        const { taken, who, drainedAt } = await this.#takeMatching(
          sessionId,
          match,
          bounds,
        );
        if (taken.messages.length > 0) {
          if (signal?.aborted) {
            // Nobody will read the reply: what was taken goes back.
            await this.store.restore(who, taken.messages);
            throw new WaitCancelledError();
          }
          await this.#receipts(who, taken.messages, drainedAt, "wait");
          return { ...taken, timed_out: false };
        }
        if (!waiting) {
          waiting = true;
          options.onWaiting?.();
        }
        const outcome = await raceChange(watch.changed(), deadline, signal);
        if (outcome === "aborted") throw new WaitCancelledError();
        if (outcome === "timeout") {
          const [remaining] = await this.store.pendingCounts([owner(me)]);
          return { messages: [], remaining, timed_out: true };
        }
      }
    });
  }

  /**
   * Drains the pending messages that match, under the delivery lock (a
   * hook or a push cannot hand the same ones over meanwhile). The owner is
   * read again each time: a rename moves the inbox with the alias.
   */
  async #takeMatching(
    sessionId: string,
    match: (m: Message) => boolean,
    bounds: InboxBounds,
  ): Promise<{ taken: InboxResult; who: InboxOwner; drainedAt: string }> {
    return await this.withDeliveryLock(sessionId, async () => {
      const who = owner(await this.#me(sessionId));
      const ids = (await this.store.pending(who)).filter(match).map((m) =>
        m.id
      );
      if (ids.length === 0) {
        return { taken: { messages: [], remaining: 0 }, who, drainedAt: "" };
      }
      const drainedAt = this.#stamp();
      const taken = await this.store.drain(
        who,
        { ...bounds, only: new Set(ids) },
        drainedAt,
        "wait",
      );
      return { taken, who, drainedAt };
    });
  }

  /**
   * Appends a receipt for each drained direct message to its sender's
   * receipt log (docs/design.md#conversations). The messages are already
   * the recipient's: a receipt that cannot be written is audited, never
   * fails the drain.
   */
  async #receipts(
    by: InboxOwner,
    messages: readonly Message[],
    deliveredAt: string,
    via: DeliveryVia,
  ): Promise<void> {
    const bySender = new Map<string, Receipt[]>();
    for (const m of messages) {
      if (m.room_id !== undefined || m.event !== undefined) continue;
      const list = bySender.get(m.from_alias) ?? [];
      list.push({
        id: m.id,
        to_alias: m.to_alias,
        delivered_at: deliveredAt,
        via,
      });
      bySender.set(m.from_alias, list);
    }
    for (const [sender, receipts] of bySender) {
      try {
        await this.store.appendReceipts(sender, receipts, by);
      } catch (e) {
        this.store.audit({
          ts: this.#stamp(),
          tool: "receipt",
          ok: false,
          ms: 0,
          error: e instanceof C2cError ? e.code : "internal",
        });
      }
    }
  }

  /**
   * Drains only the listed messages (those a push channel delivered) and
   * leaves the rest pending.
   *
   * @param sessionId The caller's session.
   * @param ids Ids of the messages to drain.
   * @param via How they reached the agent (recorded, and in the receipts).
   * @param receipts Write their receipts now (default); `false` for a
   * caller that shows them after draining and confirms with
   * {@linkcode Broker.confirmDelivery}.
   * @returns The drained messages.
   */
  drainMessages(
    sessionId: string,
    ids: Iterable<string>,
    via: DeliveryVia,
    receipts = true,
  ): Promise<InboxResult> {
    return this.#op("drain", async () => {
      const who = await this.#owner(sessionId);
      const drainedAt = this.#stamp();
      const result = await this.store.drain(
        who,
        { only: new Set(ids) },
        drainedAt,
        via,
      );
      if (receipts) {
        await this.#receipts(who, result.messages, drainedAt, via);
      }
      return result;
    });
  }

  /**
   * Writes the receipts of messages drained earlier and shown since (see
   * `drainMessages(…, false)`).
   *
   * @param sessionId The recipient's session.
   * @param messages The messages shown.
   * @param via How.
   */
  async confirmDelivery(
    sessionId: string,
    messages: readonly Message[],
    via: DeliveryVia,
  ): Promise<void> {
    if (messages.length === 0) return;
    await this.#receipts(
      await this.#owner(sessionId),
      messages,
      this.#stamp(),
      via,
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
      async () => this.store.restore(await this.#owner(sessionId), messages),
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
    return this.#op("peek_inbox", async () => {
      const me = await this.#me(sessionId);
      const selection = checkBounds(bounds);
      return await this.store.peek?.(owner(me), selection) ??
        selectMessages(await this.store.pending(owner(me)), selection);
    });
  }

  /**
   * Reads pending messages of a session whether or not it is registered
   * (hooks and health checks).
   *
   * @param sessionId The session.
   * @returns Pending messages.
   */
  async pendingMessages(sessionId: string): Promise<Message[]> {
    return this.store.pending(await this.#owner(sessionId));
  }

  /**
   * Reads the caller's conversations: what it received (its archive) and
   * what its alias sent (the sent log), merged by time, each marked `in` or
   * `out`; optionally only those with one peer (direct messages) or in one
   * thread. Filtered reads look through the newest {@linkcode HISTORY_SCAN}
   * of each.
   *
   * @param sessionId The caller's session.
   * @param args `limit` (default 50), `peer` (an alias), `thread_id`.
   * @returns The last `limit` matching messages, newest last.
   */
  history(
    sessionId: string,
    args: { limit?: number; peer?: string; thread_id?: string } = {},
  ): Promise<HistoryResult> {
    return this.#op("history", async () => {
      const limit = positiveInt("limit", args.limit, DEFAULT_HISTORY_LIMIT);
      const peer = args.peer === undefined
        ? undefined
        : validateAlias(args.peer);
      const thread = args.thread_id;
      if (thread !== undefined) checkMessageId(thread, "thread_id");
      const me = await this.#me(sessionId);
      if (limit === 0) return { messages: [] };
      const filtered = peer !== undefined || thread !== undefined;
      const scan = filtered ? HISTORY_SCAN : limit;
      const received: HistoryEntry[] = (await this.store.archive(
        owner(me),
        scan,
      )).map((m) => ({ ...m, direction: "in" }));
      const sent: HistoryEntry[] = (await this.store.sent(me.alias, {
        limit: scan,
      })).map(sentEntry);
      const keep = (m: HistoryEntry) =>
        (peer === undefined ||
          (m.room_id === undefined &&
            (m.direction === "in" ? m.from_alias : m.to_alias) === peer)) &&
        (thread === undefined || m.id === thread || m.thread_id === thread);
      const merged = [...received, ...sent].filter(keep).sort((a, b) =>
        a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0
      );
      return { messages: merged.slice(-limit) };
    });
  }

  /**
   * Where the caller's sent messages are (docs/design.md#conversations):
   * delivered (with how and when), queued, expired, in the dead letters, or
   * posted to a room. Only messages the caller's alias sent: any other id
   * reads `unknown`, and no content is ever shown.
   *
   * @param sessionId The caller's session.
   * @param args `ids` (up to 100), or `last` (default 20, max 100) of the
   * caller's newest sent messages.
   * @returns One status per id (in the order asked), or per recent message
   * (oldest first).
   */
  messageStatus(
    sessionId: string,
    args: { ids?: readonly string[]; last?: number } = {},
  ): Promise<MessageStatusResult> {
    return this.#op("message_status", async () => {
      if (args.ids !== undefined) {
        if (!Array.isArray(args.ids) || args.ids.length > MAX_STATUS_IDS) {
          throw new InvalidArgumentError(
            `ids must be a list of at most ${MAX_STATUS_IDS} message ids`,
          );
        }
        for (const id of args.ids) checkMessageId(id, "each id");
      }
      const last = positiveInt(
        "last",
        args.last,
        DEFAULT_STATUS_LAST,
        MAX_STATUS_IDS,
      );
      const me = await this.#me(sessionId);
      const sent = args.ids === undefined
        ? await this.store.sent(me.alias, { limit: last })
        : args.ids.length === 0
        ? []
        : await this.store.sent(me.alias, { ids: new Set(args.ids) });
      const statuses = await this.#statuses(sent);
      if (args.ids === undefined) return { messages: statuses };
      const byId = new Map(statuses.map((s) => [s.id, s]));
      return {
        messages: args.ids.map((id) =>
          byId.get(id) ?? { id, state: "unknown" as const }
        ),
      };
    });
  }

  async #statuses(sent: readonly SentMessage[]): Promise<MessageStatus[]> {
    const now = this.#now().getTime();
    const direct = sent.filter((e) => e.to_alias !== undefined);
    const from = sent[0]?.from_alias;
    // A receipt is written after its message was sent: none of these is
    // older than the oldest of them (less a margin for clocks).
    const oldest = Math.min(...direct.map((e) => Date.parse(e.ts)));
    const since = Number.isFinite(oldest)
      ? new Date(oldest - RECEIPT_CLOCK_SLACK_MS).toISOString()
      : undefined;
    const receipts = new Map(
      from === undefined || direct.length === 0
        ? []
        : (await this.store.receipts(
          from,
          new Set(direct.map((e) => e.id)),
          since,
        )).map((r) => [r.id, r]),
    );
    const open = direct.filter((e) => !receipts.has(e.id));
    const pending = new Set<string>();
    const rows = open.length > 0 ? await this.store.registrations() : [];
    for (const alias of new Set(open.map((e) => e.to_alias!))) {
      const row = findByAlias(rows, alias);
      if (!row) continue;
      for (const m of await this.store.pending(owner(row))) pending.add(m.id);
    }
    const dead = new Map<string, DeadLetter>();
    if (open.some((e) => !pending.has(e.id))) {
      const wanted = new Set(open.map((e) => e.id));
      for (const d of await this.store.deadLetters()) {
        if (wanted.has(d.id)) dead.set(d.id, d);
      }
    }
    return sent.map((e): MessageStatus => {
      const status: MessageStatus = { id: e.id, state: "unknown", ts: e.ts };
      if (e.room_id !== undefined) {
        return { ...status, state: "posted", room_id: e.room_id };
      }
      status.to_alias = e.to_alias;
      if (e.thread_id !== undefined) status.thread_id = e.thread_id;
      if (e.expires_at !== undefined) status.expires_at = e.expires_at;
      const receipt = receipts.get(e.id);
      const letter = dead.get(e.id);
      if (receipt) {
        status.state = "delivered";
        status.via = receipt.via;
        status.delivered_at = receipt.delivered_at;
      } else if (isExpired(letter ?? e, now)) {
        status.state = "expired";
      } else if (pending.has(e.id)) {
        status.state = "queued";
      } else if (letter) {
        status.state = "dead_lettered";
      }
      return status;
    });
  }

  /**
   * Searches what the caller may read (docs/design.md#conversations): the
   * messages it received, what its alias sent, and the histories of the
   * rooms it is a member of — never anyone else's direct messages. Case-
   * insensitive substring; newest first; bodies cut to 2,000 characters;
   * the reply bounded in count and bytes.
   *
   * @param sessionId The caller's session.
   * @param args `query`, and `limit` (default 20, max 100).
   * @returns The hits, newest first.
   * @throws {InvalidArgumentError} On an empty or overlong query.
   */
  searchMessages(
    sessionId: string,
    args: { query: string; limit?: number },
  ): Promise<SearchResult> {
    return this.#op("search_messages", async () => {
      const query = checkQuery(args.query);
      const limit = positiveInt(
        "limit",
        args.limit,
        DEFAULT_SEARCH_LIMIT,
        MAX_SEARCH_LIMIT,
      );
      const me = await this.#me(sessionId);
      if (limit === 0) return { query: args.query, hits: [], more: false };
      const mine = (m: Searchable) =>
        m.from_alias === me.alias ? "out" as const : "in" as const;
      const sources: {
        messages: readonly Searchable[];
        direction: (m: Searchable) => "in" | "out";
      }[] = [
        {
          messages: await this.store.archive(owner(me), SEARCH_SCAN_LIMIT),
          direction: () => "in" as const,
        },
        {
          messages: await this.store.sent(me.alias, {
            limit: SEARCH_SCAN_LIMIT,
          }),
          direction: () => "out" as const,
        },
      ];
      for (const roomId of await this.store.roomIds()) {
        const members = await this.store.members(roomId);
        if (!members.some((m) => m.alias === me.alias)) continue;
        sources.push({
          messages: await this.store.roomHistory(roomId, {
            limit: SEARCH_SCAN_LIMIT,
          }),
          direction: mine,
        });
      }
      return { query: args.query, ...findHits(query, sources, limit) };
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
      return this.store.withRoom(roomId, async (room) => {
        const me = this.#sender(
          await this.store.registrations(),
          sessionId,
          args.alias,
        );
        const members = await room.members();
        const existing = members.find((m) => m.alias === me.alias);
        if (existing) {
          if (existing.session_id !== sessionId) {
            existing.session_id = sessionId;
            await room.setMembers(members);
          }
        } else {
          const now = this.#stamp();
          members.push({
            alias: me.alias,
            session_id: sessionId,
            joined_at: now,
          });
          await room.setMembers(members);
          await room.append([
            this.#roomMessage(roomId, SYSTEM_ALIAS, `${me.alias} joined`, now),
          ]);
        }
        return {
          room_id: roomId,
          joined: true as const,
          already_member: existing !== undefined,
          member_count: members.length,
          history: limit === 0 ? [] : await room.recent({ limit }),
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
      return this.store.withRoom(roomId, async (room) => {
        const me = this.#sender(
          await this.store.registrations(),
          sessionId,
          args.alias,
        );
        const members = await room.members();
        const rest = members.filter((m) => m.alias !== me.alias);
        const left = rest.length < members.length;
        if (left) {
          await room.setMembers(rest);
          await room.append([
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
   * taken over. A member whose inbox is full misses this copy (the post
   * stays in the room's history) rather than failing the post.
   *
   * @param sessionId The caller's session (must be a member).
   * @param args Room, body, optional stated alias.
   * @returns Counts, and whether this post was a duplicate.
   */
  sendRoom(sessionId: string, args: SendRoomArgs): Promise<SendRoomResult> {
    return this.#op("send_room", async () => {
      await this.#checkSize(args.content);
      const roomId = validateRoomId(args.room_id);
      const config = await this.config();
      const quota = config.max_inbox_bytes;
      // Lock order: the room, then the registry.
      return this.store.withRoom(
        roomId,
        (room) =>
          this.store.viewRegistry(async (view) => {
            const me = this.#sender(view.rows, sessionId, args.from_alias);
            const members = await room.members();
            if (!members.some((m) => m.alias === me.alias)) {
              throw new NotMemberError(roomId, me.alias);
            }
            const now = this.#now();
            const duplicate = findRecentDuplicate(
              await room.recent({
                stopAt: (m) =>
                  now.getTime() - Date.parse(m.ts) > ROOM_DEDUPE_MS,
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
            const guard = await this.#recentSent(me.alias, config);
            guard.check({ room_id: roomId }, args.content);
            const post = this.#roomMessage(
              roomId,
              me.alias,
              args.content,
              now.toISOString(),
            );
            await room.append([post]);
            await this.store.appendSent(me.alias, [{
              id: post.id,
              ts: post.ts,
              from_alias: me.alias,
              room_id: roomId,
              content: args.content,
            }]);
            let queued = 0;
            const skipped: SkippedPeer[] = [];
            for (const member of members) {
              if (member.alias === me.alias) continue;
              const target = findByAlias(view.rows, member.alias);
              if (!target) continue; // swept; it reads the history on rejoin
              const copy: Message = {
                id: post.id,
                ts: post.ts,
                from_alias: me.alias,
                to_alias: target.alias,
                content: args.content,
                room_id: roomId,
              };
              const full = await inboxFull(() =>
                view.enqueue(owner(target), [copy], quota)
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
          }),
      );
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
    return this.#op("room_history", async () => {
      const roomId = validateRoomId(args.room_id);
      const limit = positiveInt("limit", args.limit, DEFAULT_HISTORY_LIMIT);
      const offset = args.offset === undefined
        ? undefined
        : positiveInt("offset", args.offset, 0);
      const messages = limit === 0 && offset === undefined
        ? []
        : await this.store.roomHistory(roomId, { limit, offset });
      return {
        room_id: roomId,
        messages,
        total: await this.store.roomCount(roomId),
      };
    });
  }

  /**
   * Lists every room.
   *
   * @returns Each room's id, member count and message count.
   */
  listRooms(): Promise<ListRoomsResult> {
    return this.#op("list_rooms", async () => {
      const rooms = [];
      for (const roomId of await this.store.roomIds()) {
        rooms.push({
          room_id: roomId,
          member_count: (await this.store.members(roomId)).length,
          message_count: await this.store.roomCount(roomId),
        });
      }
      return { rooms };
    });
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
    return this.#op("my_rooms", async () => {
      const me = this.#sender(
        await this.store.registrations(),
        sessionId,
        args.alias,
      );
      const rooms = [];
      for (const roomId of await this.store.roomIds()) {
        const members = await this.store.members(roomId);
        if (members.some((m) => m.alias === me.alias)) {
          rooms.push({ room_id: roomId, member_count: members.length });
        }
      }
      return { rooms };
    });
  }

  /**
   * Removes registrations whose session is definitively dead, rescues their
   * pending messages (and those of inboxes nobody is registered for) into
   * the dead letters, and removes them from rooms. Registrations without a
   * lease are never swept here: they expire through {@linkcode Broker.gc}.
   *
   * @returns What was removed and rescued.
   */
  sweep(): Promise<SweepResult> {
    return this.#op("sweep", async () => {
      const { result } = await this.#collect({ dryRun: false });
      return result;
    });
  }

  /**
   * {@linkcode Broker.sweep} for one session whose process ended cleanly
   * (`c2c run` as it exits, after releasing the lease): its registration
   * goes, its pending messages move to the dead letters (and come back when
   * the alias registers again), it leaves its rooms. Nothing happens while
   * any process still holds its lease.
   *
   * @param sessionId The ended session.
   * @returns What was removed and rescued.
   */
  unregister(sessionId: string): Promise<SweepResult> {
    return this.#op("unregister", async () => {
      const { result } = await this.#collect({
        dryRun: false,
        only: sessionId,
      });
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
    return this.#op("gc", async () => {
      const dryRun = options.dryRun ?? false;
      const now = this.#now().getTime();
      const expireBefore = now -
        (options.leaselessTtlMs ?? DEFAULT_LEASELESS_TTL_MS);
      const { result, registered } = await this.#collect({
        dryRun,
        expireBefore,
      });
      const purged = await this.store.purgeDeadLetters(
        now - (options.deadLetterTtlMs ?? DEFAULT_DEAD_LETTER_TTL_MS),
        dryRun,
      );
      const removedLocks = dryRun
        ? 0
        : await this.store.removeIdleFiles(registered);
      return {
        ...result,
        purged_dead_letters: purged,
        removed_lock_files: removedLocks,
        dry_run: dryRun,
      };
    });
  }

  async #collect(
    options: { dryRun: boolean; expireBefore?: number; only?: string },
  ): Promise<{ result: SweepResult; registered: Set<string> }> {
    const { result, registered, gone } = await this.store.changeRegistry(
      async (view) => {
        const removed: RemovedRegistration[] = [];
        const keep: Registration[] = [];
        for (const row of view.rows) {
          if (options.only !== undefined && row.session_id !== options.only) {
            keep.push(row);
            continue;
          }
          const alive = await view.liveness(row);
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
        const registered = new Set(keep.map((r) => r.session_id));
        const summary = (rescued: number, orphans: number, expired = 0) => {
          const result: SweepResult = {
            removed_registrations: removed.length,
            removed,
            rescued_messages: rescued,
            orphan_inboxes: orphans,
          };
          if (expired > 0) result.expired_messages = expired;
          return { result, registered, gone: removed.map((r) => r.alias) };
        };
        if (options.dryRun) {
          let rescued = 0;
          for (const r of removed) {
            rescued += (await this.store.pending(r)).length;
          }
          const orphans = await this.store.orphanInboxes(
            new Set([...registered, ...removed.map((r) => r.session_id)]),
          );
          for (const o of orphans) rescued += o.pending;
          return {
            rows: null,
            result: () => summary(rescued, orphans.length),
          };
        }
        const deadAt = this.#stamp();
        const effects: RegistryEffect[] = removed.map((r) => ({
          kind: "rescue",
          owner: r,
          dead_at: deadAt,
        }));
        if (options.only === undefined) {
          effects.push({
            kind: "rescue_orphans",
            known: [...registered, ...removed.map((r) => r.session_id)],
            dead_at: deadAt,
          });
        }
        // After the rescues: what they moved expires in the dead letters
        // (every session that is not alive was just rescued).
        effects.push({
          kind: "expire",
          owners: [],
          before: deadAt,
          dead_at: deadAt,
        });
        return {
          rows: removed.length > 0 ? keep : null,
          effects,
          result: (outcome) =>
            summary(outcome.rescued, outcome.orphans, outcome.expired),
        };
      },
    );
    if (!options.dryRun && gone.length > 0) {
      const goneAliases = new Set(gone);
      for (const roomId of await this.store.roomIds()) {
        await this.store.withRoom(roomId, async (room) => {
          // Re-read: an alias may have been registered again meanwhile.
          const rows = await this.store.registrations();
          const members = await room.members();
          const rest = members.filter((m) =>
            !goneAliases.has(m.alias) ||
            findByAlias(rows, m.alias) !== undefined
          );
          if (rest.length < members.length) await room.setMembers(rest);
        });
      }
    }
    return { result, registered };
  }

  /**
   * Reads the last entries of the audit log.
   *
   * @param args `limit`: default 50, max 500.
   * @returns The entries, oldest first.
   */
  tailLog(args: { limit?: number } = {}): Promise<TailLogResult> {
    return this.#op("tail_log", async () => {
      const limit = positiveInt(
        "limit",
        args.limit,
        DEFAULT_LOG_LIMIT,
        MAX_LOG_LIMIT,
      );
      return { entries: limit === 0 ? [] : await this.store.auditTail(limit) };
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
      const lastSeen = this.#stamp();
      return this.store.changeRegistry((view) => {
        const rows = view.rows.map((r) => ({ ...r }));
        const row = findByAlias(rows, alias);
        if (!row) throw new UnknownAliasError(alias);
        row.pid = args.pid;
        row.pid_start_time = readPidStartTime(args.pid);
        row.last_seen = lastSeen;
        return Promise.resolve({
          rows,
          result: () => ({
            alias: row.alias,
            session_id: row.session_id,
            pid: args.pid,
            pid_start_time: row.pid_start_time,
          }),
        });
      });
    });
  }

  /**
   * Finds the registration of a session, or `undefined`.
   *
   * @param sessionId The session.
   * @returns Its registration.
   */
  async registration(sessionId: string): Promise<Registration | undefined> {
    return findBySession(await this.store.registrations(), sessionId);
  }

  /**
   * Finds the registration holding an alias, or `undefined`.
   *
   * @param alias The alias.
   * @returns Its registration.
   */
  async registrationByAlias(alias: string): Promise<Registration | undefined> {
    return findByAlias(await this.store.registrations(), alias);
  }

  /**
   * Reads every registration (a snapshot).
   *
   * @returns The usable rows, in registration order.
   */
  registrations(): Promise<readonly Registration[]> {
    return this.store.registrations();
  }

  /**
   * Reads every dead letter.
   *
   * @returns The dead letters, oldest first.
   */
  deadLetters(): Promise<DeadLetter[]> {
    return this.store.deadLetters();
  }

  // ---- helpers -------------------------------------------------------------

  async #op<T>(tool: string, fn: () => Promise<T> | T): Promise<T> {
    const start = performance.now();
    let ok = false;
    let code: string | undefined;
    try {
      const out = await fn();
      ok = true;
      return out;
    } catch (e) {
      code = e instanceof C2cError ? e.code : "internal";
      throw e;
    } finally {
      const entry: AuditEntry = {
        ts: this.#stamp(),
        tool,
        ok,
        ms: Math.round((performance.now() - start) * 1000) / 1000,
      };
      if (code) entry.error = code;
      this.store.audit(entry);
    }
  }

  #stamp(): string {
    return this.#now().toISOString();
  }

  async #checkSize(content: string): Promise<void> {
    if (typeof content !== "string") {
      throw new InvalidArgumentError("content must be a string");
    }
    const limit = await this.messageLimit();
    // A UTF-16 code unit never encodes to more than 3 bytes: most bodies need
    // no encoding at all to be known small enough.
    if (content.length * 3 <= limit) return;
    const bytes = encoder.encode(content).length;
    if (bytes > limit) throw new MessageTooLargeError(bytes, limit);
  }

  async #me(sessionId: string): Promise<Registration> {
    validateSessionId(sessionId);
    const me = findBySession(await this.store.registrations(), sessionId);
    if (!me) throw new NotRegisteredError(sessionId);
    return me;
  }

  /** A session's inbox, registered or not (an unregistered one has no alias). */
  async #owner(sessionId: string): Promise<InboxOwner> {
    validateSessionId(sessionId);
    const row = findBySession(await this.store.registrations(), sessionId);
    return { session_id: sessionId, alias: row?.alias ?? "" };
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

  /**
   * What the loop guard and rate limit need of a sender's sent log: its
   * messages within the longer of their windows (docs/design.md#loop-guard),
   * read once per operation.
   */
  async #recentSent(alias: string, config: BrokerConfig): Promise<{
    check: (target: GuardTarget, content: string) => void;
  }> {
    const now = this.#now().getTime();
    const since = guardSince(config, now);
    if (since === null) return { check: () => {} };
    // By time only: both stores read back from the end until they pass
    // `since`, so the cost follows what was sent lately, which the limits
    // themselves keep small.
    const recent = await this.store.sent(alias, { since });
    return {
      check: (target, content) =>
        checkGuard(recent, target, content, config, now),
    };
  }

  /** A new direct message: the root of its own thread until told otherwise. */
  #message(from: string, to: string, content: string): Message {
    const id = crypto.randomUUID();
    return {
      id,
      ts: this.#stamp(),
      from_alias: from,
      to_alias: to,
      content,
      thread_id: id,
    };
  }

  /**
   * The thread a reply joins: that of the message it answers, when the
   * sender received or sent it lately, else that message's id
   * (docs/design.md#conversations).
   */
  async #threadOf(me: Registration, replyTo: string): Promise<string> {
    const received = await this.store.archive(owner(me), THREAD_LOOKUP);
    const sent = await this.store.sent(me.alias, { limit: THREAD_LOOKUP });
    for (const list of [received, sent]) {
      const found = list.findLast((m) => m.id === replyTo);
      if (found) return found.thread_id ?? found.id;
    }
    return replyTo;
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
}
