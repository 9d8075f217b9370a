/**
 * File claims (issue 15): an agent says which files it is editing, peers see
 * it, and `c2c guard`'s pre-commit hook refuses a commit over another live
 * agent's exclusive claim.
 *
 * A claim belongs to a session and lives exactly as long as it: a claim
 * whose holder's lease is released (the process died, however it died), or
 * whose holder is no longer registered, or whose `ttl_s` ran out, is
 * ignored at once by every reader and pruned by the next write. Nothing is
 * stale and no timer runs. A session that holds no lease (registered from
 * a shell) has nothing that would end its claims, so it must give a TTL.
 *
 * Who wins: the claims live in one document (`claims.json` in the file
 * store), changed only by an atomic read-modify-write of the whole
 * ({@linkcode ClaimStore.update}); of two sessions asking for one file at
 * the same instant, the first change sees nothing in the way and the second
 * sees the first's claim. Overlap is decided both ways
 * (`lib/claim_paths.ts`): a claim on `lib/**` stands in the way of one on
 * `lib/a.ts` and the other way round. Shared claims (`exclusive: false`)
 * coexist with each other; an exclusive one coexists with nothing.
 *
 * A holder whose claim refused someone is told with one short message in
 * its inbox whose envelope reads `event="claim"`, at most once a minute per
 * claimant and path (the times told are kept in the same document, so two
 * processes cannot both decide to tell).
 *
 * Everything here goes through {@linkcode ClaimStore}, which each store
 * provides ({@linkcode Store.claims}): {@linkcode FileClaimStore} keeps the
 * document in the broker root, the NATS store in a KV value changed by
 * compare-and-set (`lib/store/nats/claim_store.ts`), with the same
 * semantics (docs/design.md#claims).
 *
 * @module
 */

import type { AuditEntry } from "./audit.ts";
import type { Broker } from "./broker.ts";
import {
  type ClaimPattern,
  literalPattern,
  normalizeClaimPath,
  overlaps,
  parseClaimPattern,
  repoRootOf,
} from "./claim_paths.ts";
import {
  C2cError,
  CorruptFileError,
  InvalidArgumentError,
  NotRegisteredError,
} from "./errors.ts";
import type { Liveness } from "./lease.ts";
import { withLock } from "./lock.ts";
import type { Message } from "./message.ts";
import { type BrokerPaths, validateSessionId } from "./paths.ts";
import type {
  ClaimConflict,
  ClaimInfo,
  ClaimResult,
  ClaimsResult,
  GuardCheckResult,
  ListResult,
  ReleaseResult,
} from "./types.ts";
import { joinPath } from "./_path.ts";
import { atomicWriteText, readBytesOrNull, removeIfExists } from "./_fs.ts";

/** Most paths one `claim` or `release` call may name. */
export const MAX_PATHS_PER_CALL = 100;
/** Most live claims one session may hold. */
export const MAX_CLAIMS_PER_SESSION = 1000;
/** Longest reason accepted, in characters. */
export const MAX_REASON_LENGTH = 500;
/** Longest `ttl_s` accepted: 30 days. */
export const MAX_TTL_S = 30 * 24 * 3600;
/** A holder is told at most once per claimant and path in this window. */
export const CLAIM_NOTICE_INTERVAL_MS = 60_000;
/** The `event` of a claim notice's envelope. */
export const CLAIM_EVENT = "claim";
/** The claim document's name in the broker root. */
export const CLAIMS_FILE = "claims.json";
/**
 * An empty file beside the claim document, present exactly while it holds
 * an exclusive claim: the commit guard's hook tests for it and, when it is
 * absent (the common case), lets the commit through without starting any
 * process at all.
 */
export const CLAIMS_GUARD_FILE = "claims.guard";

/** A claim as the store keeps it. */
export interface StoredClaim {
  /** The normalised path or glob. */
  path: string;
  /** The holder's session. */
  session_id: string;
  /** The holder's alias when it claimed (for display). */
  alias: string;
  /** Why. */
  reason: string;
  /** Exclusive or shared. */
  exclusive: boolean;
  /** When first claimed (ISO-8601 UTC). */
  since: string;
  /** When it ends on its own, if it was given a TTL. */
  expires_at?: string;
}

/** A holder told about a claimant's request for a path, and when. */
export interface StoredNotice {
  /** The holder's session. */
  holder: string;
  /** The claimant's session. */
  claimant: string;
  /** The path the claimant asked for. */
  path: string;
  /** When the holder was told (ISO-8601 UTC). */
  at: string;
}

/** The whole claim document. */
export interface ClaimsState {
  /** Every claim written (some may be dead: readers judge liveness). */
  readonly claims: readonly StoredClaim[];
  /** Recent notices, for the once-a-minute rule. */
  readonly notified: readonly StoredNotice[];
}

/** What a change to the claim document computes. */
export interface ClaimsChange<T> {
  /** The new document, or `null` to leave it as it is. */
  state: ClaimsState | null;
  /** The caller's result. */
  result: T;
}

/**
 * Where claims are kept: a document read whole, and changed only by an
 * atomic read-modify-write. Store-agnostic: the file store guards a file
 * with a lock; a KV store would compare-and-set a key and run the change
 * again when another process won.
 */
export interface ClaimStore {
  /** Reads the document (a snapshot; empty when there is none). */
  read(): Promise<ClaimsState>;
  /**
   * Computes a change from the current document and commits it as one
   * step. `change` may run more than once and must have no side effects;
   * an error it throws is passed on and nothing is written.
   *
   * @param change Computes the new document and the result.
   */
  update<T>(change: (current: ClaimsState) => ClaimsChange<T>): Promise<T>;
}

const EMPTY: ClaimsState = { claims: [], notified: [] };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function claimProblem(value: unknown): string | null {
  if (!isObject(value)) return "not an object";
  for (const key of ["path", "session_id", "alias", "reason", "since"]) {
    if (typeof value[key] !== "string") return `'${key}' is not a string`;
  }
  if (typeof value.exclusive !== "boolean") {
    return "'exclusive' is not a boolean";
  }
  if (value.expires_at !== undefined && typeof value.expires_at !== "string") {
    return "'expires_at' is not a string";
  }
  return null;
}

function noticeProblem(value: unknown): string | null {
  if (!isObject(value)) return "not an object";
  for (const key of ["holder", "claimant", "path", "at"]) {
    if (typeof value[key] !== "string") return `'${key}' is not a string`;
  }
  return null;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Parses the claim document, strictly: anything that is not exactly its
 * shape is an error naming the file, never an empty document (which the
 * next write would turn into lost claims).
 *
 * @param path The file, for the error.
 * @param bytes Its bytes.
 * @returns The document.
 * @throws {CorruptFileError} When it is not a claim document.
 */
export function parseClaimsFile(path: string, bytes: Uint8Array): ClaimsState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(strictUtf8.decode(bytes));
  } catch (e) {
    throw new CorruptFileError(
      path,
      `not JSON: ${
        (e as Error).message
      }; it holds only claims, which their holders can make again`,
    );
  }
  if (!isObject(parsed) || parsed.version !== 1) {
    throw new CorruptFileError(path, "not a version 1 claim document");
  }
  const { claims, notified } = parsed;
  if (!Array.isArray(claims) || !Array.isArray(notified)) {
    throw new CorruptFileError(path, "'claims' or 'notified' is not an array");
  }
  claims.forEach((c, i) => {
    const problem = claimProblem(c);
    if (problem) throw new CorruptFileError(path, `claim ${i}: ${problem}`);
  });
  notified.forEach((n, i) => {
    const problem = noticeProblem(n);
    if (problem) throw new CorruptFileError(path, `notice ${i}: ${problem}`);
  });
  return { claims, notified } as ClaimsState;
}

/**
 * Serialises the claim document: one compact line.
 *
 * @param state The document.
 * @returns Its text.
 */
export function serializeClaims(state: ClaimsState): string {
  return JSON.stringify({
    version: 1,
    claims: state.claims,
    notified: state.notified,
  }) + "\n";
}

/**
 * One line about a stored claim document, for `c2c health`: how many claims
 * it holds and how many are exclusive (live or not: health does not probe
 * their holders).
 *
 * @param state The document.
 * @returns E.g. `3 stored (2 exclusive; …)`, or `none stored`.
 *
 * @example Usage
 * ```ts
 * import { describeClaims } from "./claims.ts";
 * describeClaims({ claims: [], notified: [] }); // "none stored"
 * ```
 */
export function describeClaims(state: ClaimsState): string {
  const n = state.claims.length;
  if (n === 0) return "none stored";
  const exclusive = state.claims.filter((c) => c.exclusive).length;
  return `${n} stored (${exclusive} exclusive; readers ignore those of dead sessions)`;
}

/**
 * The file store's claims: `claims.json` in the broker root, written whole
 * through a temp file and `rename` under its own lock (`locks/claims.lock`),
 * read without a lock (a rename is atomic). Never through a symlink.
 *
 * Requires `--allow-read` and `--allow-write` on the broker root.
 *
 * @example Usage
 * ```ts ignore
 * import { FileClaimStore } from "./claims.ts";
 * import { brokerPaths } from "./paths.ts";
 * const store = new FileClaimStore(brokerPaths("/repo/.git/c2c/mcp"));
 * (await store.read()).claims.length; // 0
 * ```
 */
export class FileClaimStore implements ClaimStore {
  /** The document's path. */
  readonly file: string;
  /** Its lock sidecar. */
  readonly lock: string;
  /** The guard's cue ({@linkcode CLAIMS_GUARD_FILE}). */
  readonly cue: string;
  #cache: { key: string; state: ClaimsState } | null = null;

  /**
   * Creates the store over a broker root.
   *
   * @param paths The broker's layout.
   */
  constructor(paths: BrokerPaths) {
    this.file = joinPath(paths.root, CLAIMS_FILE);
    this.lock = joinPath(paths.locksDir, "claims.lock");
    this.cue = joinPath(paths.root, CLAIMS_GUARD_FILE);
  }

  /**
   * Reads the document.
   *
   * @returns The document (empty when the file does not exist).
   * @throws {CorruptFileError} When the file is not a claim document.
   */
  // deno-lint-ignore require-await
  async read(): Promise<ClaimsState> {
    return this.#read();
  }

  /**
   * Changes the document under its lock. The change runs synchronously
   * while the lock is held: no `await` in between, as everywhere in the
   * broker.
   *
   * @param change Computes the new document and the result.
   * @returns The change's result.
   */
  // deno-lint-ignore require-await
  async update<T>(
    change: (current: ClaimsState) => ClaimsChange<T>,
  ): Promise<T> {
    return withLock(this.lock, true, () => {
      const { state, result } = change(this.#read());
      if (state !== null) this.#write(state);
      return result;
    });
  }

  /**
   * Writes the document, and keeps the guard's cue in step: created before
   * a document with an exclusive claim, removed after one without. A crash
   * in between leaves a cue with nothing behind it (the guard then starts
   * Deno and finds nothing to refuse), never an exclusive claim the guard
   * would not see.
   */
  #write(state: ClaimsState): void {
    const exclusive = state.claims.some((c) => c.exclusive);
    if (exclusive && !this.#cueExists()) atomicWriteText(this.cue, "");
    atomicWriteText(this.file, serializeClaims(state));
    if (!exclusive) removeIfExists(this.cue);
  }

  #cueExists(): boolean {
    try {
      return Deno.lstatSync(this.cue).isFile;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return false;
      throw e;
    }
  }

  #read(): ClaimsState {
    let stat: Deno.FileInfo;
    try {
      stat = Deno.lstatSync(this.file);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return EMPTY;
      throw e;
    }
    // Every write renames a new inode into place: same inode, size and
    // time means the same document, parsed already.
    const key = `${stat.ino}:${stat.size}:${stat.mtime?.getTime()}`;
    if (this.#cache?.key === key) return this.#cache.state;
    const bytes = readBytesOrNull(this.file); // refuses a link
    if (bytes === null) return EMPTY;
    const state = parseClaimsFile(this.file, bytes);
    this.#cache = { key, state };
    return state;
  }
}

/** Arguments of {@linkcode Claims.claim}. */
export interface ClaimArgs {
  /** Files or globs, relative to the repository root (or absolute in it). */
  paths: string[];
  /** Why: shown to peers, and by the guard when it refuses a commit. */
  reason: string;
  /** `true` (default): nobody else may claim an overlapping path. */
  exclusive?: boolean;
  /** Seconds until the claim ends on its own (default: with the session). */
  ttl_s?: number;
}

/** Options of {@linkcode claimsOf}. */
export interface ClaimsOptions {
  /**
   * Absolute path of the repository root, for absolute claim paths (default:
   * derived from the broker root, `<repo>/.git/c2c/mcp`).
   */
  repoRoot?: string | null;
  /** Where claims are kept (default: the broker root's `claims.json`). */
  store?: ClaimStore;
  /** Clock, for tests (default: the system clock). */
  now?: () => Date;
}

/**
 * A store that has no claim document: every operation says so. What a
 * broker on a store without claims gets, rather than claims kept on this
 * machine only, which peers on other machines would never see.
 */
class NoClaimStore implements ClaimStore {
  readonly #why: string;
  constructor(why: string) {
    this.#why = why;
  }
  read(): Promise<ClaimsState> {
    return Promise.reject(new InvalidArgumentError(this.#why));
  }
  update<T>(): Promise<T> {
    return Promise.reject(new InvalidArgumentError(this.#why));
  }
}

/**
 * The claim store of a broker's store: `claims.json` for the file store, a
 * KV value for the NATS store.
 */
function defaultStore(broker: Broker): ClaimStore {
  const store = broker.store.claims?.();
  if (store) return store;
  return new NoClaimStore(
    `file claims are not kept in the ${broker.store.kind} store; coordinate edits with messages meanwhile`,
  );
}

const patterns = new Map<string, ClaimPattern>();

/** Parses a stored path, remembering the result (claims are read often). */
function patternOf(path: string): ClaimPattern {
  let pattern = patterns.get(path);
  if (pattern === undefined) {
    if (patterns.size >= 10_000) patterns.clear();
    pattern = parseClaimPattern(path);
    patterns.set(path, pattern);
  }
  return pattern;
}

/** A stored path that no longer parses (edited by hand) overlaps nothing. */
function safePattern(path: string): ClaimPattern | null {
  try {
    return patternOf(path);
  } catch {
    return null;
  }
}

function info(c: StoredClaim): ClaimInfo {
  return {
    path: c.path,
    holder: c.alias,
    session_id: c.session_id,
    reason: c.reason,
    exclusive: c.exclusive,
    since: c.since,
    expires_at: c.expires_at ?? null,
  };
}

function conflict(path: string, c: StoredClaim): ClaimConflict {
  return {
    path,
    held_path: c.path,
    holder: c.alias,
    reason: c.reason,
    since: c.since,
    exclusive: c.exclusive,
  };
}

function byPath(a: ClaimInfo, b: ClaimInfo): number {
  return a.path < b.path
    ? -1
    : a.path > b.path
    ? 1
    : a.since < b.since
    ? -1
    : a.since > b.since
    ? 1
    : 0;
}

// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;

function checkReason(reason: unknown): string {
  if (typeof reason !== "string" || reason.trim() === "") {
    throw new InvalidArgumentError(
      "reason must say why you claim these files (shown to peers and by the commit guard)",
    );
  }
  if (reason.length > MAX_REASON_LENGTH) {
    throw new InvalidArgumentError(
      `reason is ${reason.length} characters; the limit is ${MAX_REASON_LENGTH}`,
    );
  }
  if (CONTROL.test(reason)) {
    throw new InvalidArgumentError(
      "reason must be one line without control characters",
    );
  }
  return reason;
}

function checkPathList(paths: unknown, what: string): string[] {
  if (!Array.isArray(paths) || paths.some((p) => typeof p !== "string")) {
    throw new InvalidArgumentError(`${what} must be a list of paths`);
  }
  if (paths.length > MAX_PATHS_PER_CALL) {
    throw new InvalidArgumentError(
      `${what} names ${paths.length} paths; at most ${MAX_PATHS_PER_CALL} per call (a glob such as lib/** covers many)`,
    );
  }
  return paths;
}

/** One notice to send once the change is committed. */
interface Notice {
  holder: StoredClaim;
  path: string;
}

/**
 * The claim operations of one broker: `claim`, `release`, `claims`, the
 * per-session counts `list` shows, and the guard's check. Adapters get one
 * with {@linkcode claimsOf}.
 *
 * Requires `--allow-read` and `--allow-write` on the broker root.
 */
export class Claims {
  readonly #broker: Broker;
  readonly #store: ClaimStore;
  readonly #repoRoot: string | null;
  readonly #now: () => Date;

  /**
   * Creates the operations over a broker.
   *
   * @param broker The broker (registrations, liveness, inboxes).
   * @param options Repository root, store and clock.
   */
  constructor(broker: Broker, options: ClaimsOptions = {}) {
    this.#broker = broker;
    this.#store = options.store ?? defaultStore(broker);
    this.#repoRoot = options.repoRoot !== undefined
      ? options.repoRoot
      : repoRootOf(broker.root);
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * Claims files for the caller: grants each path no other live session
   * holds in a way that excludes it, and returns the others with the claims
   * in the way, without waiting. A path the caller claimed already is
   * claimed again (new reason, mode and TTL; the same `since`). Each holder
   * in the way is told, at most once a minute per claimant and path.
   *
   * @param sessionId The caller's session.
   * @param args Paths, reason, mode, TTL.
   * @returns What was granted, what was not and why, shared neighbours.
   * @throws {NotRegisteredError} When the caller is not registered.
   * @throws {InvalidArgumentError} On a bad path, reason or TTL, a dead
   * caller, a caller without a lease and without a TTL, or too many claims.
   */
  claim(sessionId: string, args: ClaimArgs): Promise<ClaimResult> {
    return this.#op("claim", async () => {
      validateSessionId(sessionId);
      const paths = [
        ...new Set(
          checkPathList(args.paths, "paths").map((p) =>
            normalizeClaimPath(p, this.#repoRoot)
          ),
        ),
      ];
      if (paths.length === 0) {
        throw new InvalidArgumentError("paths must name at least one path");
      }
      const reason = checkReason(args.reason);
      const exclusive = args.exclusive ?? true;
      if (typeof exclusive !== "boolean") {
        throw new InvalidArgumentError("exclusive must be true or false");
      }
      const ttl = args.ttl_s;
      if (
        ttl !== undefined &&
        (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL_S)
      ) {
        throw new InvalidArgumentError(
          `ttl_s must be a whole number of seconds from 1 to ${MAX_TTL_S} (30 days)`,
        );
      }
      const me = await this.#broker.registration(sessionId);
      if (!me) throw new NotRegisteredError(sessionId);
      const alive = await this.#broker.liveness(sessionId);
      if (alive === false) {
        throw new InvalidArgumentError(
          `'${me.alias}' is not alive (its session's lease was released), so its claims would end at once; claim from the live session`,
        );
      }
      if (alive === null && ttl === undefined) {
        throw new InvalidArgumentError(
          `'${me.alias}' holds no lease (registered from a shell), so nothing would end its claims: give the claim a time to live (ttl_s; for the command, --ttl 2h)`,
        );
      }
      const now = this.#now();
      const nowMs = now.getTime();
      const stamp = now.toISOString();
      const expiresAt = ttl === undefined
        ? undefined
        : new Date(nowMs + ttl * 1000).toISOString();
      const live = await this.#liveness(await this.#store.read());
      const outcome = await this.#store.update((state) => {
        const current = state.claims.filter((c) => live.alive(c, nowMs));
        const next = current.slice();
        const granted: ClaimInfo[] = [];
        const conflicts: ClaimConflict[] = [];
        const shared = new Map<StoredClaim, true>();
        const notices: Notice[] = [];
        const recent = state.notified.filter((n) =>
          nowMs - Date.parse(n.at) < CLAIM_NOTICE_INTERVAL_MS
        );
        const notified = recent.slice();
        for (const path of paths) {
          const pattern = patternOf(path);
          const others = current.filter((c) => {
            if (c.session_id === sessionId) return false;
            const theirs = safePattern(c.path);
            return theirs !== null && overlaps(pattern, theirs);
          });
          const blocking = others.filter((c) => exclusive || c.exclusive);
          if (blocking.length > 0) {
            for (const c of blocking) {
              conflicts.push(conflict(path, c));
              const told = notified.some((n) =>
                n.holder === c.session_id && n.claimant === sessionId &&
                n.path === path
              );
              if (!told) {
                notified.push({
                  holder: c.session_id,
                  claimant: sessionId,
                  path,
                  at: stamp,
                });
                notices.push({ holder: c, path });
              }
            }
            continue;
          }
          const at = next.findIndex((c) =>
            c.session_id === sessionId && c.path === path
          );
          const record: StoredClaim = {
            path,
            session_id: sessionId,
            alias: me.alias,
            reason,
            exclusive,
            since: at === -1 ? stamp : next[at].since,
          };
          if (expiresAt !== undefined) record.expires_at = expiresAt;
          if (at === -1) next.push(record);
          else next[at] = record;
          granted.push(info(record));
          for (const c of others) shared.set(c, true);
        }
        const held = next.filter((c) => c.session_id === sessionId).length;
        if (held > MAX_CLAIMS_PER_SESSION) {
          throw new InvalidArgumentError(
            `'${me.alias}' would hold ${held} claims; the limit is ${MAX_CLAIMS_PER_SESSION}: release some, or claim a directory (lib/) instead of its files`,
          );
        }
        const changed = granted.length > 0 || notices.length > 0 ||
          current.length < state.claims.length ||
          recent.length < state.notified.length;
        return {
          state: changed ? { claims: next, notified } : null,
          result: {
            notices,
            result: {
              granted,
              conflicts,
              shared_with: [...shared.keys()].map(info).sort(byPath),
              notified: [],
            } as ClaimResult,
          },
        };
      });
      const told = await this.#notify(me.alias, outcome.notices, stamp);
      outcome.result.notified = told;
      return outcome.result;
    });
  }

  /**
   * Releases the caller's claims: the paths named (as they were claimed),
   * or all of them.
   *
   * @param sessionId The caller's session.
   * @param args `paths`: which (default: every claim of the caller).
   * @returns What was released, and the named paths it did not hold.
   */
  release(
    sessionId: string,
    args: { paths?: string[] } = {},
  ): Promise<ReleaseResult> {
    return this.#op("release", async () => {
      validateSessionId(sessionId);
      const wanted = args.paths === undefined || args.paths.length === 0
        ? null
        : new Set(
          checkPathList(args.paths, "paths").map((p) =>
            normalizeClaimPath(p, this.#repoRoot)
          ),
        );
      const nowMs = this.#now().getTime();
      const live = await this.#liveness(await this.#store.read());
      return await this.#store.update((state) => {
        const mine = (c: StoredClaim) =>
          c.session_id === sessionId && (wanted === null || wanted.has(c.path));
        const released = [
          ...new Set(state.claims.filter(mine).map((c) => c.path)),
        ].sort();
        const next = state.claims.filter((c) =>
          !mine(c) && live.alive(c, nowMs)
        );
        const notHeld = wanted === null
          ? []
          : [...wanted].filter((p) => !released.includes(p)).sort();
        const changed = next.length < state.claims.length;
        return {
          state: changed ? { claims: next, notified: state.notified } : null,
          result: { released, not_held: notHeld },
        };
      });
    });
  }

  /**
   * Lists live claims: all of them, or those overlapping a path or glob.
   *
   * @param args `path`: only claims that overlap it.
   * @returns The claims, by path.
   */
  list(args: { path?: string } = {}): Promise<ClaimsResult> {
    return this.#op("claims", async () => {
      const filter = args.path === undefined
        ? null
        : patternOf(normalizeClaimPath(args.path, this.#repoRoot));
      const state = await this.#store.read();
      const live = await this.#liveness(state);
      const nowMs = this.#now().getTime();
      const claims = state.claims.filter((c) => {
        if (!live.alive(c, nowMs)) return false;
        if (filter === null) return true;
        const pattern = safePattern(c.path);
        return pattern !== null && overlaps(filter, pattern);
      });
      return { claims: claims.map(info).sort(byPath) };
    });
  }

  /**
   * Counts each session's live claims (for `list`).
   *
   * @returns Live claims by session id.
   */
  async counts(): Promise<Map<string, number>> {
    const state = await this.#store.read();
    const live = await this.#liveness(state);
    const nowMs = this.#now().getTime();
    const counts = new Map<string, number>();
    for (const c of state.claims) {
      if (!live.alive(c, nowMs)) continue;
      counts.set(c.session_id, (counts.get(c.session_id) ?? 0) + 1);
    }
    return counts;
  }

  /**
   * Adds each peer's live claim count to a `list` result (`claims`). When
   * the claim document cannot be read, the result is returned as it is:
   * `list` must work whatever state the claims are in.
   *
   * @param result What `list` returned.
   * @returns The same peers, with their claim counts.
   */
  async withCounts(result: ListResult): Promise<ListResult> {
    let counts: Map<string, number>;
    try {
      counts = await this.counts();
    } catch (e) {
      if (e instanceof C2cError) return result;
      throw e;
    }
    return {
      ...result,
      peers: result.peers.map((p) => ({
        ...p,
        claims: counts.get(p.session_id) ?? 0,
      })),
    };
  }

  /**
   * The guard's check: which of `files` (staged for a commit, as git names
   * them) fall under another live session's exclusive claim. Claims it
   * finds dead (holder gone, TTL run out) are pruned on the way, so that
   * the guard's cue goes with the last exclusive one and later commits
   * start nothing again; a prune that fails never fails the check.
   *
   * @param files Repository-relative file paths.
   * @param self The committing session, whose own claims never block.
   * @returns One entry per file and claim in the way.
   */
  check(
    files: readonly string[],
    self: string | null,
  ): Promise<GuardCheckResult> {
    return this.#op("guard_check", async () => {
      const state = await this.#store.read();
      const live = await this.#liveness(state);
      const nowMs = this.#now().getTime();
      if (state.claims.some((c) => !live.alive(c, nowMs))) {
        await this.#prune(live, nowMs);
      }
      const blocking = state.claims.filter((c) =>
        c.exclusive && c.session_id !== self && live.alive(c, nowMs)
      ).map((c) => ({ claim: c, pattern: safePattern(c.path) }));
      const blocked: ClaimConflict[] = [];
      if (blocking.length > 0) {
        for (const file of files) {
          if (file === "") continue;
          const target = literalPattern(file);
          for (const { claim, pattern } of blocking) {
            if (pattern !== null && overlaps(pattern, target)) {
              blocked.push(conflict(file, claim));
            }
          }
        }
      }
      return { checked: files.filter((f) => f !== "").length, blocked };
    });
  }

  /** Removes dead claims from the document; a failure is left for later. */
  async #prune(
    live: { alive: (c: StoredClaim, nowMs: number) => boolean },
    nowMs: number,
  ): Promise<void> {
    try {
      await this.#store.update((state) => {
        const next = state.claims.filter((c) => live.alive(c, nowMs));
        return {
          state: next.length < state.claims.length
            ? { claims: next, notified: state.notified }
            : null,
          result: undefined,
        };
      });
    } catch {
      // Best effort: the next write prunes them as well.
    }
  }

  /**
   * Liveness of the holders in a document, probed once each: registered,
   * and a lease that is held (or was never taken). A holder that appears
   * only later (a claim made between this read and the change) is taken to
   * be alive: it was a moment ago, when it claimed.
   */
  async #liveness(state: ClaimsState): Promise<{
    alive: (c: StoredClaim, nowMs: number) => boolean;
  }> {
    const known = new Map<string, boolean>();
    if (state.claims.length > 0) {
      const registered = new Map(
        (await this.#broker.registrations()).map((r) => [r.session_id, r]),
      );
      const holders = [...new Set(state.claims.map((c) => c.session_id))];
      // Asked together: the NATS store answers them with one bulk probe.
      const answers: Liveness[] = await Promise.all(holders.map((id) => {
        const row = registered.get(id);
        return row ? this.#broker.store.liveness(row) : false;
      }));
      holders.forEach((id, i) => known.set(id, answers[i] !== false));
    }
    return {
      alive: (c, nowMs) => {
        if (c.expires_at !== undefined && Date.parse(c.expires_at) <= nowMs) {
          return false;
        }
        return known.get(c.session_id) ?? true;
      },
    };
  }

  /**
   * Tells each holder in `notices` that `claimant` asked for a path it
   * holds: one message each in its inbox, envelope `event="claim"`, queued
   * through the store like any send (registry view → inbox, within the
   * broker's inbox quota). A holder whose inbox is full, or who went away
   * meanwhile, is not told, nor is one when the notice cannot be signed
   * here (NATS: the claimant registered on another machine); that never
   * fails the claim.
   *
   * @returns The aliases told.
   */
  async #notify(
    claimant: string,
    notices: readonly Notice[],
    ts: string,
  ): Promise<string[]> {
    if (notices.length === 0) return [];
    let quota: number;
    try {
      quota = (await this.#broker.config()).max_inbox_bytes;
    } catch {
      return []; // a damaged config.json: `c2c health` reports it
    }
    const told = new Set<string>();
    await this.#broker.store.viewRegistry(async (view) => {
      for (const { holder, path } of notices) {
        const row = view.rows.find((r) => r.session_id === holder.session_id);
        if (!row) continue;
        const message: Message = {
          id: crypto.randomUUID(),
          ts,
          from_alias: claimant,
          to_alias: row.alias,
          content: `${claimant} asked to claim ${path}, which your ${
            holder.exclusive ? "exclusive" : "shared"
          } claim on ${holder.path} covers ("${holder.reason}"); it was refused. Release it when you are done (release), or answer ${claimant}.`,
          event: CLAIM_EVENT,
        };
        try {
          await view.enqueue(row, [message], quota);
          told.add(row.alias);
        } catch (e) {
          // A full inbox, or (NATS) a claimant whose signing key is on
          // another machine: the holder is not told, the claim stands.
          if (!(e instanceof C2cError)) throw e;
        }
      }
    });
    return [...told].sort();
  }

  async #op<T>(tool: string, fn: () => Promise<T>): Promise<T> {
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
        ts: this.#now().toISOString(),
        tool,
        ok,
        ms: Math.round((performance.now() - start) * 1000) / 1000,
      };
      if (code) entry.error = code;
      this.#broker.store.audit(entry);
    }
  }
}

/**
 * The claim operations of a broker, for the MCP tools and the CLI commands
 * (one function each, so they cannot drift apart).
 *
 * Requires `--allow-read` and `--allow-write` on the broker root.
 *
 * @param broker The broker.
 * @param options Repository root (default: derived from the broker root),
 * store and clock.
 * @returns The operations.
 *
 * @example Usage
 * ```ts ignore
 * import { Broker } from "./broker.ts";
 * import { claimsOf } from "./claims.ts";
 * const broker = new Broker({ root: "/repo/.git/c2c/mcp" });
 * const r = await claimsOf(broker).claim("s-a", {
 *   paths: ["lib/broker.ts"],
 *   reason: "splitting the store out",
 * });
 * r.granted.length; // 1, unless someone else holds it
 * ```
 */
export function claimsOf(broker: Broker, options: ClaimsOptions = {}): Claims {
  return new Claims(broker, options);
}
