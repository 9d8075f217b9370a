/**
 * The NATS store: the broker's data on a NATS JetStream server or cluster
 * shared by several machines (docs/design.md#stores), so agents that share
 * no disk meet in one namespace. Every rule stays in `Broker`; this keeps
 * the data and makes each step the broker needs atomic:
 *
 * - **registry**: KV `sessions` (session → registration, with its public
 *   key) and KV `aliases` (alias → session). An alias is claimed by
 *   `create()` (one of many concurrent claimers wins), taken over by a
 *   compare-and-set on the revision read; a change is computed from a
 *   snapshot and committed key by key as compare-and-sets, re-computed when
 *   another process changed a key first. A row whose alias key does not
 *   point back at it (a crash between two steps) is ignored.
 * - **liveness**: the process holding a session's lease answers requests
 *   (`liveness.ts`); no clocks are compared. A probe waits
 *   {@linkcode LIVENESS_TIMEOUT_MS} (1 s): a session frozen or cut off for
 *   longer reads as not alive.
 * - **inboxes** are keyed by alias (stream `INBOX`, subject
 *   `inbox.<alias>`): a takeover moves nothing and a send never races it.
 *   Publishes carry a message id, so a retry through a cluster's failover
 *   stores a message once. A drain reads, archives, then claims a prefix
 *   with one `purge` (exactly once under concurrent pollers: only the
 *   poller whose purge removed a message delivers it;
 *   docs/design.md#nats-facts 4).
 * - **dead letters**, **rooms**, **audit** and **config** as streams and
 *   buckets of the namespace (`names.ts`).
 * - **provenance**: each message is signed by its sender's session key
 *   (`signing.ts`); messages that do not verify against the key that
 *   session published are never returned, but deleted and audited.
 * - **local signal**: `paths.signal(session)` is kept non-empty while
 *   messages wait ({@linkcode NatsStore.watchSignal}), for hooks that start
 *   no process.
 *
 * A store constructed while NATS is down does not throw: each method
 * answers the connection's one-line typed error, and works once NATS is
 * back.
 *
 * Requires `--allow-net` to the configured servers (`--allow-read` on the
 * CA or credentials files named), and `--allow-read`/`--allow-write` on the
 * local directory.
 *
 * @module
 */

import type { MsgHdrs, NatsConnection, Subscription } from "@nats-io/nats-core";
import { headers as makeHeaders, nanos } from "@nats-io/nats-core";
import {
  DeliverPolicy,
  DiscardPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import {
  atomicWriteText,
  ensureDir,
  readTextOrNull,
  removeIfExists,
} from "../../_fs.ts";
import { joinPath } from "../../_path.ts";
import { ChangeLatch } from "../../_change_latch.ts";
import type { AuditEntry } from "../../audit.ts";
import type { BrokerChange } from "../../broker_watch.ts";
import {
  type BrokerConfig,
  DEFAULT_CONFIG,
  parseConfig,
} from "../../config.ts";
import {
  C2cError,
  InboxFullError,
  NatsUnavailableError,
  SessionInUseError,
} from "../../errors.ts";
import {
  type InboxSelection,
  type Selected,
  selectMessages,
} from "../../inbox.ts";
import type { Liveness } from "../../lease.ts";
import { openSidecar, removeLockIfIdle } from "../../lock.ts";
import {
  type ArchivedMessage,
  type DeadLetter,
  deadLetterProblem,
  type DeliveryVia,
  isDeliveryVia,
  isExpired,
  type Message,
  messageProblem,
  type Receipt,
  receiptProblem,
  type RoomMessage,
  roomMessageProblem,
  type SentMessage,
  sentMessageProblem,
  SYSTEM_ALIAS,
  toMessage,
  toReceipt,
  toSentMessage,
} from "../../message.ts";
import {
  type BrokerPaths,
  brokerPaths,
  validateSessionId,
} from "../../paths.ts";
import {
  findByAlias,
  type QuarantinedRow,
  type Registration,
  rowProblem,
} from "../../registry.ts";
import type { RoomMember } from "../../rooms.ts";
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
import {
  FAILOVER_BUDGET_MS,
  isTransientNatsError,
  JS_REQUEST_TIMEOUT_MS,
  mapNatsError,
  withFailover,
} from "./connect.ts";
import { KvMirror } from "./kv_mirror.ts";
import { CLAIMS_KEY, NatsClaimStore } from "./claim_store.ts";
import { InboxBytes, type InboxState } from "./_quota.ts";
import { NatsLink } from "./link.ts";
import { LIVENESS_TIMEOUT_MS, NatsLease, presence, probe } from "./liveness.ts";
import { decodeName, encodeName } from "./namespace.ts";
import { type NatsNames, natsNames } from "./names.ts";
import {
  readSessionKey,
  type SessionKey,
  sessionKey,
  SIG_HEADER,
  SIGNER_HEADER,
  signRecord,
  verifyRecord,
} from "./signing.ts";
import type { NatsConfig } from "./url.ts";
import {
  type JsHandles,
  nextOf,
  readSince,
  readSlice,
  readSubject,
  startOfLast,
  type StoredRecord,
  subjectCount,
  subjectCounts,
} from "./_streams.ts";

export { LIVENESS_TIMEOUT_MS };

/** Header naming the session an inbox message was queued for. */
export const OWNER_HEADER = "c2c-owner";
/** `C2C_NATS_REPLICAS`: replicas of every stream and bucket (1–5). */
export const NATS_REPLICAS_ENV = "C2C_NATS_REPLICAS";
/**
 * How long a call waits for the connection while it is being re-made (a
 * cluster node went away): a failover is ridden out, a dead server is
 * reported.
 */
export const CONNECTION_WAIT_MS = 5000;
/** Window in which a re-published message id is stored once. */
export const DUPLICATE_WINDOW_MS = 120_000;
/** Newest drained messages kept per session. */
export const ARCHIVE_KEEP = 10_000;
/** Newest sent messages kept per alias (docs/design.md#conversations). */
export const SENT_KEEP = 10_000;
/** Newest receipts kept per sending alias (docs/design.md#conversations). */
export const RECEIPTS_KEEP = 10_000;
/** Newest audit entries kept. */
export const AUDIT_KEEP = 100_000;
/** How many times a registry change is recomputed after losing a race. */
export const MAX_REGISTRY_ATTEMPTS = 50;
/**
 * How long an operation that acts on a session being dead (a send refused,
 * a takeover, a sweep) keeps asking a session that is gone: a session whose
 * NATS node went down is gone until it has reconnected to another one.
 */
export const LIVENESS_GRACE_MS = 1500;
// How often watchChanges compares who answers on the presence subject.
const PRESENCE_EVERY_MS = 1000;
// Longest close() waits for audit entries still on their way.
const CLOSE_WAIT_MS = 1000;
// A bulk presence probe pays off from this many sessions on.
const BULK_LIVENESS = 16;
// Reading a room's recent posts by time starts this far back, then widens.
const RECENT_WINDOW_MS = 5 * 60_000;
// Read this many pending messages before checking whether a selection
// already stopped.
const DRAIN_CHUNK = 64;
// Pending messages published per batch when moving an inbox.
const MOVE_BATCH = 256;
// A sent log read by time starts with this many of its newest entries.
const SENT_TAIL = 64;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Inputs of {@linkcode NatsStore}. */
export interface NatsStoreOptions {
  /** The checked configuration (`natsConfigFromEnv`). */
  config: NatsConfig;
  /** The namespace (not encoded). */
  namespace: string;
  /**
   * This machine's local directory (keys, signals, delivery and rewake
   * locks): the root the file store would use here.
   */
  root: string;
  /** Connection name the server shows in its monitoring. */
  name?: string;
  /**
   * Replicas of streams and buckets the store creates (default: 3 in a
   * cluster, else 1).
   */
  replicas?: number;
}

/** A running {@linkcode NatsStore.watchSignal}. */
export interface SignalWatch extends Disposable {
  /** Stops watching. */
  stop(): void;
}

interface Context extends JsHandles {
  nc: NatsConnection;
  replicas: number;
  ready: Map<string, Promise<unknown>>;
  mirrors: Map<string, Promise<KvMirror>>;
}

type StreamRole = keyof NatsNames["streams"];
type BucketRole = keyof NatsNames["buckets"];

/** A registration as the NATS store keeps it: with its session's key. */
type StoredRow = Registration & { pubkey?: string };

interface Snapshot {
  /** Usable registrations, in revision order. */
  rows: StoredRow[];
  /** Every key of the registry bucket: its revision and session, if any. */
  entries: Map<string, { revision: number; session_id?: string }>;
  /** Unusable entries. */
  quarantined: QuarantinedRow[];
}

interface Pending {
  seq: number;
  message: Message;
  headers: MsgHdrs | undefined;
}

interface PublishItem {
  data: Uint8Array;
  msgID: string;
  headers: MsgHdrs | undefined;
}

interface KeyEntry {
  /** The key the session signs with now. */
  pubkey: string;
  /** Every alias it has held. */
  aliases: string[];
  /** Keys it signed with before its server moved machines (newest last). */
  retired?: string[];
}

/** Older keys of a session kept verifiable. */
const MAX_RETIRED_KEYS = 8;

class Conflict extends Error {}

/**
 * The broker's data on NATS JetStream. Cheap to construct: it connects in
 * the background and never throws for an unreachable server.
 *
 * @example Usage
 * ```ts ignore
 * import { NatsStore } from "./nats_store.ts";
 * import { natsConfigFromEnv } from "./url.ts";
 * import { Broker } from "../../broker.ts";
 * const store = new NatsStore({
 *   config: natsConfigFromEnv(Deno.env)!,
 *   namespace: "team-a",
 *   root: "/repo/.git/c2c/mcp",
 * });
 * const broker = new Broker({ store });
 * await broker.close();
 * ```
 */
export class NatsStore implements Store {
  /** Which store this is. */
  readonly kind = "nats" as const;
  /** This machine's local directory. */
  readonly paths: BrokerPaths;
  /** The namespace's subjects, streams and buckets. */
  readonly names: NatsNames;
  readonly #config: NatsConfig;
  readonly #link: NatsLink;
  readonly #replicas: number | undefined;
  #context: Promise<Context> | undefined;
  #contextNc: NatsConnection | undefined;
  #snapshotCache: { key: string; snapshot: Snapshot } | undefined;
  readonly #leases = new Map<string, NatsLease>();
  readonly #watches = new Set<SignalWatch>();
  readonly #roomQueues = new Map<string, Promise<unknown>>();
  readonly #keys = new Map<string, SessionKey>();
  readonly #inboxBytes = new InboxBytes();
  #livenessBatch: {
    row: Pick<Registration, "session_id">;
    resolve: (v: Liveness) => void;
    reject: (e: unknown) => void;
  }[] = [];
  #orphanAliases = new Map<string, string>();
  #claims: NatsClaimStore | undefined;
  /** Audit publishes and signal rewrites still on their way. */
  readonly #auditing = new Set<Promise<void>>();
  #closed = false;

  /**
   * Starts connecting in the background; never throws for NATS.
   *
   * @param options Configuration, namespace, local directory.
   */
  constructor(options: NatsStoreOptions) {
    const base = brokerPaths(options.root);
    this.paths = {
      ...base,
      signal: (id) => joinPath(options.root, "signals", validateSessionId(id)),
    };
    ensureDir(options.root, true);
    this.names = natsNames(options.namespace);
    this.#config = options.config;
    this.#replicas = options.replicas;
    this.#link = new NatsLink({
      config: options.config,
      namespace: options.namespace,
      name: options.name ?? "c2c",
    });
  }

  /**
   * One line for people: where the broker is.
   *
   * @returns `NATS at <url>, namespace '<ns>'`.
   */
  describe(): string {
    return `NATS at ${this.#config.display}, namespace '${this.names.namespace}'`;
  }

  /** The background connection (for health). */
  get link(): NatsLink {
    return this.#link;
  }

  /** Releases leases, stops watchers and mirrors, closes the connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const lease of [...this.#leases.values()]) lease.release();
    for (const watch of [...this.#watches]) watch.stop();
    // Entries on their way, then a flush (the last publishes leave before
    // the connection closes) — bounded: NATS may be gone, and a flush
    // waits for a reconnection.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const nc = this.#link.state === "connected" ? this.#contextNc : undefined;
    await Promise.race([
      Promise.all([...this.#auditing]).then(() => nc?.flush()).catch(() => {}),
      new Promise((r) => timer = setTimeout(r, CLOSE_WAIT_MS)),
    ]);
    clearTimeout(timer);
    await this.#dropContext();
    await this.#link.close();
  }

  // ---- connection ----------------------------------------------------------

  async #ctx(): Promise<Context> {
    const nc = await this.#link.connection(CONNECTION_WAIT_MS);
    if (this.#context && this.#contextNc === nc) return this.#context;
    await this.#dropContext();
    this.#contextNc = nc;
    this.#context = (async () => {
      const jsm = await jetstreamManager(nc, {
        checkAPI: false,
        timeout: JS_REQUEST_TIMEOUT_MS,
      });
      const js = jetstream(nc, { timeout: JS_REQUEST_TIMEOUT_MS });
      const replicas = this.#replicas ?? clusterReplicas(nc);
      return {
        nc,
        js,
        jsm,
        retry: <T>(step: () => Promise<T>) => this.#retry(step),
        replicas,
        ready: new Map(),
        mirrors: new Map(),
      };
    })();
    this.#context.catch(() => {
      this.#context = undefined;
      this.#contextNc = undefined;
    });
    return this.#context;
  }

  async #dropContext(): Promise<void> {
    const old = this.#context;
    this.#context = undefined;
    this.#contextNc = undefined;
    this.#snapshotCache = undefined;
    if (!old) return;
    try {
      const ctx = await old;
      for (const m of ctx.mirrors.values()) m.then((x) => x.stop(), () => {});
    } catch {
      // never made
    }
  }

  /** Runs `fn` with a context; errors become c2c's typed errors. */
  async #op<T>(fn: (ctx: Context) => Promise<T>): Promise<T> {
    try {
      const ctx = await this.#ctx();
      try {
        return await fn(ctx);
      } catch (e) {
        // A stream or bucket removed behind our back (a wiped server):
        // make it again once.
        if (!isNotFound(e)) throw e;
        ctx.ready.clear();
        for (const m of ctx.mirrors.values()) m.then((x) => x.stop(), () => {});
        ctx.mirrors.clear();
        this.#snapshotCache = undefined;
        return await fn(ctx);
      }
    } catch (e) {
      throw mapNatsError(e, this.#config, {
        namespace: this.names.namespace,
        retrying: true,
      });
    }
  }

  /** An idempotent step, retried through a failover. */
  #retry<T>(step: () => Promise<T>): Promise<T> {
    return withFailover(step, { config: this.#config });
  }

  #stream(ctx: Context, role: StreamRole): Promise<unknown> {
    const name = this.names.streams[role];
    let ready = ctx.ready.get(name);
    if (!ready) {
      const config = this.#streamConfig(ctx, role);
      ready = this.#retry(async () => {
        try {
          return await ctx.jsm.streams.add(config);
        } catch (e) {
          // Same name, other settings (another version, other replicas),
          // or another process made it at the same moment: the stream is
          // there, which is what matters.
          if (await madeMeanwhile(ctx, name, e)) return;
          throw e;
        }
      });
      ready.catch(() => ctx.ready.delete(name));
      ctx.ready.set(name, ready);
    }
    return ready;
  }

  #streamConfig(
    ctx: Context,
    role: StreamRole,
  ): Partial<StreamConfig> & { name: string } {
    const n = this.names;
    const base: Partial<StreamConfig> & { name: string } = {
      name: n.streams[role],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      num_replicas: ctx.replicas,
      duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    };
    switch (role) {
      case "inbox":
        return { ...base, subjects: [n.inboxes] };
      case "archive":
        return {
          ...base,
          subjects: [`${n.prefix}.archive.>`],
          max_msgs_per_subject: ARCHIVE_KEEP,
        };
      case "sent":
        return {
          ...base,
          subjects: [`${n.prefix}.sent.>`],
          max_msgs_per_subject: SENT_KEEP,
        };
      case "receipts":
        return {
          ...base,
          subjects: [`${n.prefix}.receipts.>`],
          max_msgs_per_subject: RECEIPTS_KEEP,
        };
      case "dead":
        return { ...base, subjects: [n.deadAll] };
      case "rooms":
        return { ...base, subjects: [`${n.prefix}.room.>`] };
      case "audit":
        return { ...base, subjects: [n.audit], max_msgs: AUDIT_KEEP };
    }
  }

  #bucket(ctx: Context, role: BucketRole): Promise<KV> {
    const name = this.names.buckets[role];
    let ready = ctx.ready.get(name) as Promise<KV> | undefined;
    if (!ready) {
      const options = {
        history: 1,
        replicas: ctx.replicas,
        storage: StorageType.File,
        // Read-modify-write buckets read from the leader: a lagging
        // replica's answer would make every compare-and-set fail (§3).
        allow_direct: false,
      };
      ready = this.#retry(async () => {
        try {
          return await new Kvm(ctx.js).create(name, options);
        } catch (e) {
          // Made by another process at the same moment ("subjects
          // overlap", "name already in use"): use it.
          if (await madeMeanwhile(ctx, `KV_${name}`, e)) {
            return await new Kvm(ctx.js).open(name, options);
          }
          throw e;
        }
      });
      ready.catch(() => ctx.ready.delete(name));
      ctx.ready.set(name, ready);
    }
    return ready;
  }

  #mirror(ctx: Context, role: BucketRole): Promise<KvMirror> {
    const name = this.names.buckets[role];
    let mirror = ctx.mirrors.get(name);
    if (!mirror) {
      mirror = this.#bucket(ctx, role).then(() =>
        this.#retry(() => KvMirror.start(ctx.js, name))
      );
      mirror.catch(() => ctx.mirrors.delete(name));
      ctx.mirrors.set(name, mirror);
    }
    return mirror;
  }

  // ---- config --------------------------------------------------------------

  /**
   * The broker's settings: KV `config`, key `config`, checked like
   * `config.json`; absent means the defaults.
   *
   * @returns The settings.
   * @throws {C2cError} `corrupt_file`, naming the bucket, when invalid.
   */
  config(): Promise<BrokerConfig> {
    return this.#op(async (ctx) => {
      const mirror = await this.#mirror(ctx, "config");
      const entry = mirror.get("config");
      if (!entry) return { ...DEFAULT_CONFIG };
      try {
        return parseConfig(JSON.parse(decoder.decode(entry.value)));
      } catch (e) {
        throw new C2cError(
          "corrupt_file",
          `the broker settings in NATS KV ${this.names.buckets.config} (key 'config') are not valid (${
            (e as Error).message
          }); fix them, or delete the key to use the defaults`,
        );
      }
    });
  }

  // ---- liveness ------------------------------------------------------------

  /**
   * Takes a session's lease: from now on this process answers for it.
   *
   * @param sessionId The session.
   * @returns The held lease.
   * @throws {SessionInUseError} When another live process answers for it.
   */
  async acquireLease(sessionId: string): Promise<SessionLease> {
    validateSessionId(sessionId);
    const held = this.#leases.get(sessionId);
    if (held?.held) throw new SessionInUseError(sessionId);
    const lease = await NatsLease.acquire({
      link: this.#link,
      sessionId,
      live: this.names.live(sessionId),
      presence: this.names.presence,
      onRelease: () => {
        if (this.#leases.get(sessionId) === lease) {
          this.#leases.delete(sessionId);
        }
      },
    });
    this.#leases.set(sessionId, lease);
    return lease;
  }

  /**
   * Whether a session is alive: it answers within 1 s → `true`; nobody
   * answers → `false` when its registration says a leased process held it,
   * else `null` (registered from a shell: unknown).
   *
   * @param row The registration (or just its session id).
   * @returns The liveness.
   */
  liveness(row: Pick<Registration, "session_id">): Promise<Liveness> {
    // Calls made together (list) are answered by one bulk probe.
    return new Promise((resolve, reject) => {
      this.#livenessBatch.push({ row, resolve, reject });
      if (this.#livenessBatch.length === 1) {
        queueMicrotask(() => this.#flushLiveness());
      }
    });
  }

  async #flushLiveness(): Promise<void> {
    const batch = this.#livenessBatch;
    this.#livenessBatch = [];
    try {
      const answers = await this.#op(async (ctx) => {
        let present: Set<string> | undefined;
        if (batch.length >= BULK_LIVENESS) {
          present = await presence(
            ctx.nc,
            this.names.presence,
            // Shell registrations never answer: waiting for them would
            // only add the stall.
            new Set(
              batch.filter((b) =>
                (b.row as Partial<Registration>).leased !== false
              ).map((b) => b.row.session_id),
            ),
          );
        }
        return Promise.all(batch.map(({ row }) => {
          if (present?.has(row.session_id)) return true;
          return this.#probeOne(ctx, row);
        }));
      });
      batch.forEach((b, i) => b.resolve(answers[i]));
    } catch (e) {
      for (const b of batch) b.reject(e);
    }
  }

  /**
   * Liveness for a decision that acts on "dead" (refusing a send, taking an
   * alias over, sweeping): a session found gone is asked again until
   * `graceEnd`, since one whose NATS server just went down is gone for the
   * moment it takes to reconnect to another node of the cluster. One grace
   * per operation, however many sessions it asks about.
   */
  async #settledLiveness(
    row: Pick<Registration, "session_id">,
    graceEnd: number,
  ): Promise<Liveness> {
    for (;;) {
      const alive = await this.liveness(row);
      if (alive !== false || performance.now() >= graceEnd) return alive;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async #probeOne(
    ctx: Context,
    row: Pick<Registration, "session_id">,
  ): Promise<Liveness> {
    if (this.#leases.get(row.session_id)?.held) return true;
    const answer = await probe(
      ctx.nc,
      this.names.live(row.session_id),
      LIVENESS_TIMEOUT_MS,
    );
    if (answer === "alive") return true;
    let leased = (row as Partial<Registration>).leased;
    if (!("alias" in row)) {
      const snap = await this.#snapshot(ctx, false);
      leased = snap.rows.find((r) => r.session_id === row.session_id)?.leased;
    }
    return leased === true ? false : null;
  }

  // ---- registry ------------------------------------------------------------

  /**
   * The registry: KV `registry`, one key per alias holding the whole
   * registration, so that claiming an alias and registering are one
   * compare-and-set. A session found under two aliases (a rename that
   * stopped between its two writes) is the newer one.
   */
  async #snapshot(ctx: Context, fresh = true): Promise<Snapshot> {
    const mirror = await this.#mirror(ctx, "registry");
    if (fresh) await this.#retry(() => mirror.fresh(ctx.jsm));
    const key = String(mirror.lastSeq);
    if (this.#snapshotCache?.key === key) return this.#snapshotCache.snapshot;
    const snapshot: Snapshot = {
      rows: [],
      entries: new Map(),
      quarantined: [],
    };
    const bySession = new Map<string, StoredRow>();
    mirror.entries().forEach((e, index) => {
      const raw = parseJson(e.value);
      const problem = raw === null ? "not JSON" : rowProblem(raw);
      if (problem !== null) {
        snapshot.entries.set(e.key, { revision: e.revision });
        snapshot.quarantined.push({ index, problem, raw });
        return;
      }
      const row = raw as StoredRow;
      snapshot.entries.set(e.key, {
        revision: e.revision,
        session_id: row.session_id,
      });
      if (encodeName(row.alias) !== e.key) {
        snapshot.quarantined.push({
          index,
          problem: `stored under key '${e.key}', not its alias`,
          raw,
        });
        return;
      }
      row.pid ??= null;
      row.pid_start_time ??= null;
      row.client ??= null;
      bySession.delete(row.session_id); // the newer entry wins
      bySession.set(row.session_id, row);
    });
    snapshot.rows = [...bySession.values()];
    this.#snapshotCache = { key, snapshot };
    return snapshot;
  }

  /**
   * The registrations, from this process's mirror of the registry.
   *
   * @returns Every usable registration, in registration order.
   */
  registrations(): Promise<readonly Registration[]> {
    return this.#op(async (ctx) => (await this.#snapshot(ctx, false)).rows);
  }

  /**
   * Registry entries that fail the registry's checks (for health, repair).
   *
   * @returns Registry rows no operation can use.
   */
  quarantined(): Promise<QuarantinedRow[]> {
    return this.#op(async (ctx) => (await this.#snapshot(ctx)).quarantined);
  }

  /**
   * Runs `fn` on a fresh snapshot of the registry. Inboxes are keyed by
   * alias, so queued messages cannot race a takeover.
   *
   * @param fn What to do.
   * @returns Whatever `fn` returns.
   */
  viewRegistry<T>(fn: (view: RegistryView) => Promise<T>): Promise<T> {
    return this.#op(async (ctx) => {
      const snap = await this.#snapshot(ctx, false);
      const grace = performance.now() + LIVENESS_GRACE_MS;
      // A send probes its recipient, then queues: the inbox's count is
      // read while the probe is out, so the two cost one round trip.
      const states = new Map<string, Promise<InboxState>>();
      return fn({
        rows: snap.rows,
        liveness: (row) => {
          const alias = (row as Partial<Registration>).alias;
          if (alias && !states.has(alias)) {
            const state = this.#inboxState(ctx, alias);
            state.catch(() => {});
            states.set(alias, state);
          }
          return this.#settledLiveness(row, grace);
        },
        enqueue: (to, messages, quota) => {
          const state = states.get(to.alias);
          states.delete(to.alias);
          return this.#enqueue(ctx, snap, to, messages, quota, state);
        },
      });
    });
  }

  /**
   * Computes a change on a fresh snapshot and commits it key by key as
   * compare-and-sets (aliases first, the contended keys; then the rows;
   * then deletions). When another process changed a key first, `fn` runs
   * again on a new snapshot. Then the change's inbox moves are made.
   *
   * @param fn Computes the change.
   * @returns Its result.
   */
  changeRegistry<T>(
    fn: (view: Omit<RegistryView, "enqueue">) => Promise<RegistryChange<T>>,
  ): Promise<T> {
    return this.#op(async (ctx) => {
      const grace = performance.now() + LIVENESS_GRACE_MS;
      for (let attempt = 1;; attempt++) {
        const snap = await this.#snapshot(ctx);
        const change = await fn({
          rows: snap.rows.map((r) => ({ ...r })),
          liveness: (row) => this.#settledLiveness(row, grace),
        });
        if (change.rows !== null) {
          try {
            await this.#commit(ctx, snap, change.rows as StoredRow[]);
          } catch (e) {
            if (!(e instanceof Conflict)) throw e;
            if (attempt >= MAX_REGISTRY_ATTEMPTS) {
              throw new NatsUnavailableError(
                this.#config.display,
                "the registry kept changing under this update",
              );
            }
            // Another process is mid-change: give it time to finish.
            await new Promise((r) =>
              setTimeout(r, Math.min(2 * attempt, 50) * (0.5 + Math.random()))
            );
            continue;
          }
        }
        const outcome: EffectOutcome = { moved: 0, rescued: 0, orphans: 0 };
        const known = change.rows ?? snap.rows;
        for (const effect of change.effects ?? []) {
          await this.#apply(ctx, effect, outcome, [...snap.rows, ...known]);
        }
        return change.result(outcome);
      }
    });
  }

  async #commit(
    ctx: Context,
    snap: Snapshot,
    rows: StoredRow[],
  ): Promise<void> {
    const before = new Map(snap.rows.map((r) => [r.session_id, r]));
    const after = new Map(rows.map((r) => [r.session_id, r]));
    const kv = await this.#bucket(ctx, "registry");
    const upserts: StoredRow[] = [];
    for (const row of after.values()) {
      const old = before.get(row.session_id);
      if (old && JSON.stringify(old) === JSON.stringify(row)) continue;
      await this.#attachKey(row, old === undefined);
      upserts.push(row);
    }
    // What receivers verify a session's messages against is published
    // before the registration that lets it send.
    for (const row of upserts) await this.#publishKey(ctx, row);
    // Each registration is one compare-and-set on its alias's key: a claim
    // (create), a refresh or a takeover (update of the revision read). Two
    // claimers of one alias: one wins, the other's change runs again.
    const written = new Set<string>();
    for (const row of upserts) {
      const key = encodeName(row.alias);
      await this.#cas(
        kv,
        key,
        encoder.encode(JSON.stringify(row)),
        snap.entries.get(key)?.revision ?? 0,
      );
      written.add(key);
    }
    // Then what left: removed registrations, a renamed one's old alias.
    for (const old of before.values()) {
      const key = encodeName(old.alias);
      if (written.has(key) || after.get(old.session_id)?.alias === old.alias) {
        continue;
      }
      await this.#cas(kv, key, null, snap.entries.get(key)!.revision);
      written.add(key);
    }
    // Leftovers of the sessions written (a rename that stopped halfway).
    const mine = new Set(upserts.map((r) => r.session_id));
    for (const [key, e] of snap.entries) {
      if (written.has(key) || !e.session_id || !mine.has(e.session_id)) {
        continue;
      }
      await this.#cas(kv, key, null, e.revision).catch((err) => {
        if (!(err instanceof Conflict)) throw err;
      });
    }
    // Read-your-writes: later reads in this process see the change.
    const mirror = await this.#mirror(ctx, "registry");
    await this.#retry(() => mirror.fresh(ctx.jsm));
  }

  /**
   * A compare-and-set of one key: `value` `null` deletes, `revision` 0
   * creates. An attempt whose outcome is unknown (a timeout through a
   * failover) is settled by reading the key back and recognising our own
   * write (docs/design.md#nats-facts 3).
   *
   * @throws {Conflict} When another process changed the key first.
   */
  async #cas(
    kv: KV,
    key: string,
    value: Uint8Array | null,
    revision: number,
  ): Promise<number> {
    const deadline = performance.now() + FAILOVER_BUDGET_MS;
    for (let wait = 50;; wait = Math.min(wait * 2, 500)) {
      try {
        if (value === null) {
          await kv.delete(key, { previousSeq: revision });
          return 0;
        }
        return revision === 0
          ? await kv.create(key, value)
          : await kv.update(key, value, revision);
      } catch (e) {
        if (isWrongSequence(e)) throw new Conflict();
        if (!isTransientNatsError(e)) throw e;
        if (performance.now() > deadline) throw e;
      }
      await new Promise((r) => setTimeout(r, wait));
      let entry;
      try {
        entry = await kv.get(key);
      } catch (e) {
        if (isTransientNatsError(e) && performance.now() < deadline) continue;
        throw e;
      }
      const live = entry !== null && entry.operation === "PUT";
      if (value === null) {
        if (!live) return 0; // our delete (or an equivalent one) landed
        if (entry!.revision !== revision) throw new Conflict();
      } else if (live && sameBytes(entry!.value, value)) {
        return entry!.revision; // our write landed
      } else if (revision === 0 ? live : entry?.revision !== revision) {
        throw new Conflict();
      }
    }
  }

  async #localKey(
    sessionId: string,
    create: boolean,
  ): Promise<SessionKey | null> {
    const cached = this.#keys.get(sessionId);
    if (cached) return cached;
    const key = create
      ? await sessionKey(this.paths.root, sessionId)
      : await readSessionKey(this.paths.root, sessionId);
    if (key) this.#keys.set(sessionId, key);
    return key;
  }

  /**
   * The row carries the key of its session on this machine. A key is made
   * here for a new registration, and for one whose session this process
   * holds the lease of (its server moved here: from now on it signs with
   * this machine's key); any other change (an operator's `refresh_peer`
   * from elsewhere) keeps the key the row has.
   */
  async #attachKey(row: StoredRow, isNew: boolean): Promise<void> {
    const ours = this.#leases.get(row.session_id)?.held === true;
    const local = await this.#localKey(
      row.session_id,
      isNew || ours || row.pubkey === undefined,
    );
    if (local) row.pubkey = local.pubkey;
  }

  /** Adds the row's key and alias to KV `keys` (merge, never removal). */
  async #publishKey(ctx: Context, row: StoredRow): Promise<void> {
    if (row.pubkey === undefined) return;
    const kv = await this.#bucket(ctx, "keys");
    const key = encodeName(row.session_id);
    for (let attempt = 0; attempt < MAX_REGISTRY_ATTEMPTS; attempt++) {
      const entry = await this.#retry(() => kv.get(key));
      const current = entry?.operation === "PUT"
        ? parseKeyEntry(entry.value)
        : null;
      let next: KeyEntry;
      if (current && current.pubkey === row.pubkey) {
        if (current.aliases.includes(row.alias)) return;
        next = { pubkey: row.pubkey, aliases: [...current.aliases, row.alias] };
      } else if (current) {
        // Re-keyed: its server moved machines. What it signed before stays
        // verifiable (messages still in flight, dead letters).
        next = {
          pubkey: row.pubkey,
          aliases: current.aliases.includes(row.alias)
            ? current.aliases
            : [...current.aliases, row.alias],
          retired: [...(current.retired ?? []), current.pubkey]
            .filter((k) => k !== row.pubkey).slice(-MAX_RETIRED_KEYS),
        };
      } else {
        next = { pubkey: row.pubkey, aliases: [row.alias] };
      }
      try {
        await this.#cas(
          kv,
          key,
          encoder.encode(JSON.stringify(next)),
          entry?.operation === "PUT" ? entry.revision : 0,
        );
        return;
      } catch (e) {
        if (!(e instanceof Conflict)) throw e;
      }
    }
  }

  // ---- effects -------------------------------------------------------------

  async #apply(
    ctx: Context,
    effect: RegistryEffect,
    outcome: EffectOutcome,
    rows: readonly StoredRow[],
  ): Promise<void> {
    const n = this.names;
    switch (effect.kind) {
      case "transfer": {
        if (effect.expire_before !== undefined) {
          outcome.expired = (outcome.expired ?? 0) +
            await this.#expireInbox(
              ctx,
              effect.from.alias,
              effect.from.session_id,
              Date.parse(effect.expire_before),
              effect.dead_at ?? new Date().toISOString(),
            );
        }
        if (effect.from.alias === effect.to.alias) {
          // Inboxes follow the alias already: what waits there comes with it.
          await this.#stream(ctx, "inbox");
          outcome.moved += await this.#retry(() =>
            subjectCount(ctx.jsm, n.streams.inbox, n.inbox(effect.to.alias))
          );
        } else {
          outcome.moved += await this.#moveInbox(
            ctx,
            effect.from.alias,
            effect.to.alias,
            effect.to.session_id,
          );
        }
        this.#signalLater(ctx, effect.to);
        return;
      }
      case "rename":
        // Counted as nothing moved, like the file store whose inboxes are
        // the session's.
        await this.#moveInbox(
          ctx,
          effect.from.alias,
          effect.to.alias,
          effect.to.session_id,
        );
        this.#signalLater(ctx, effect.to);
        return;
      case "forget_lease":
        return; // liveness reads `leased` from the registration itself
      case "redeliver":
        outcome.moved += await this.#redeliver(
          ctx,
          effect.to,
          effect.expire_before === undefined
            ? -Infinity
            : Date.parse(effect.expire_before),
        );
        return;
      case "expire": {
        const before = Date.parse(effect.before);
        let expired = 0;
        for (const owner of effect.owners) {
          if (!owner.alias) continue;
          expired += await this.#expireInbox(
            ctx,
            owner.alias,
            owner.session_id,
            before,
            effect.dead_at,
          );
        }
        expired += await this.#expireDead(ctx, before, effect.dead_at);
        outcome.expired = (outcome.expired ?? 0) + expired;
        return;
      }
      case "rescue":
        outcome.rescued += await this.#rescue(
          ctx,
          effect.owner.alias,
          effect.owner.session_id,
          effect.dead_at,
        );
        return;
      case "rescue_orphans": {
        const known = new Set(effect.known);
        const held = new Set(
          rows.filter((r) => known.has(r.session_id)).map((r) => r.alias),
        );
        const snap = await this.#snapshot(ctx);
        for (const r of snap.rows) held.add(r.alias);
        await this.#stream(ctx, "inbox");
        const counts = await this.#retry(() =>
          subjectCounts(ctx.jsm, n.streams.inbox, n.inboxes)
        );
        for (const subject of Object.keys(counts).sort()) {
          const alias = this.#aliasOfInbox(subject);
          if (alias === null || held.has(alias)) continue;
          const first = await this.#retry(() =>
            nextOf(ctx.jsm, n.streams.inbox, subject, 1)
          );
          const owner = first?.headers?.get(OWNER_HEADER) || "";
          outcome.rescued += await this.#rescue(
            ctx,
            alias,
            owner,
            effect.dead_at,
          );
          outcome.orphans++;
        }
        return;
      }
    }
  }

  #aliasOfInbox(subject: string): string | null {
    const prefix = `${this.names.prefix}.inbox.`;
    if (!subject.startsWith(prefix)) return null;
    try {
      return decodeName(subject.slice(prefix.length));
    } catch {
      return null;
    }
  }

  /**
   * Moves an inbox to another alias's: each message re-published (under an
   * id of its own, so a retry stores it once), then the old subject cut up
   * to the last one moved.
   */
  async #moveInbox(
    ctx: Context,
    fromAlias: string,
    toAlias: string,
    toSession: string,
  ): Promise<number> {
    const n = this.names;
    await this.#stream(ctx, "inbox");
    const from = n.inbox(fromAlias);
    const pending = await this.#readInbox(ctx, from);
    if (pending.length === 0) return 0;
    await this.#publishAll(
      ctx,
      n.inbox(toAlias),
      pending.map((p) => ({
        data: encoder.encode(JSON.stringify(p.message)),
        msgID: `${p.message.id}:mv:${encodeName(fromAlias)}:${p.seq}`,
        headers: withOwner(p.headers, toSession),
      })),
    );
    const last = pending[pending.length - 1].seq;
    await this.#retry(() =>
      ctx.jsm.streams.purge(n.streams.inbox, { filter: from, seq: last + 1 })
    );
    return pending.length;
  }

  /**
   * Moves an alias's inbox to the dead letters, recording the session it
   * was rescued from. Skipped when the alias is held again by another
   * session (what waits there is that session's now).
   */
  async #rescue(
    ctx: Context,
    alias: string,
    sessionId: string,
    deadAt: string,
  ): Promise<number> {
    const n = this.names;
    const snap = await this.#snapshot(ctx);
    const holder = findByAlias(snap.rows, alias);
    if (holder && holder.session_id !== sessionId) return 0;
    await Promise.all([this.#stream(ctx, "inbox"), this.#stream(ctx, "dead")]);
    const from = n.inbox(alias);
    const pending = await this.#readInbox(ctx, from);
    if (pending.length === 0) return 0;
    await this.#publishAll(
      ctx,
      n.dead(alias, sessionId || "unknown"),
      pending.map((p) => {
        const dead: DeadLetter = {
          ...toMessage(p.message),
          dead_session_id: sessionId,
          dead_at: deadAt,
        };
        return {
          data: encoder.encode(JSON.stringify(dead)),
          msgID: `${p.message.id}:dead:${encodeName(alias)}:${p.seq}`,
          headers: p.headers,
        };
      }),
    );
    const last = pending[pending.length - 1].seq;
    await this.#retry(() =>
      ctx.jsm.streams.purge(n.streams.inbox, { filter: from, seq: last + 1 })
    );
    return pending.length;
  }

  /**
   * Moves the messages of an alias's inbox that expired at `before` to the
   * dead letters (reason `expired`): each published there, then deleted
   * from the inbox.
   */
  async #expireInbox(
    ctx: Context,
    alias: string,
    sessionId: string,
    before: number,
    deadAt: string,
  ): Promise<number> {
    const n = this.names;
    await Promise.all([this.#stream(ctx, "inbox"), this.#stream(ctx, "dead")]);
    const gone = (await this.#readInbox(ctx, n.inbox(alias))).filter((p) =>
      isExpired(p.message, before)
    );
    if (gone.length === 0) return 0;
    await this.#publishAll(
      ctx,
      n.dead(alias, sessionId || "unknown"),
      gone.map((p) => ({
        data: encoder.encode(JSON.stringify(
          {
            ...toMessage(p.message),
            dead_session_id: sessionId,
            dead_at: deadAt,
            reason: "expired",
          } satisfies DeadLetter,
        )),
        msgID: `${p.message.id}:expired:${p.seq}`,
        headers: p.headers,
      })),
    );
    await Promise.all(
      gone.map((p) => this.#deleteSeq(ctx, n.streams.inbox, p.seq)),
    );
    return gone.length;
  }

  /** Marks the dead letters that expired at `before` (reason `expired`). */
  async #expireDead(
    ctx: Context,
    before: number,
    deadAt: string,
  ): Promise<number> {
    const n = this.names;
    await this.#stream(ctx, "dead");
    const fresh = (await this.#readDead(ctx, n.deadAll)).filter(({ letter }) =>
      letter.reason !== "expired" && isExpired(letter, before)
    );
    for (const { letter, rec } of fresh) {
      const subject = n.dead(
        letter.to_alias,
        letter.dead_session_id || "unknown",
      );
      await this.#publishAll(ctx, subject, [{
        data: encoder.encode(JSON.stringify(
          {
            ...letter,
            reason: "expired",
            dead_at: deadAt,
          } satisfies DeadLetter,
        )),
        msgID: `${letter.id}:expired:${rec.seq}`,
        headers: rec.headers,
      }]);
      await this.#deleteSeq(ctx, n.streams.dead, rec.seq);
    }
    return fresh.length;
  }

  /**
   * Dead letters for the alias or the session come back into the inbox,
   * except those that expired at `before`.
   */
  async #redeliver(
    ctx: Context,
    to: InboxOwner,
    before = -Infinity,
  ): Promise<number> {
    const n = this.names;
    await Promise.all([this.#stream(ctx, "inbox"), this.#stream(ctx, "dead")]);
    const found = new Map<number, { letter: DeadLetter; rec: StoredRecord }>();
    for (
      const filter of [
        n.deadForAlias(to.alias),
        n.deadForSession(to.session_id),
      ]
    ) {
      for (const d of await this.#readDead(ctx, filter)) {
        if (!isExpired(d.letter, before)) found.set(d.rec.seq, d);
      }
    }
    if (found.size === 0) return 0;
    const back = [...found.values()].sort((a, b) => a.rec.seq - b.rec.seq);
    await this.#publishAll(
      ctx,
      n.inbox(to.alias),
      back.map(({ letter, rec }) => ({
        data: encoder.encode(JSON.stringify(toMessage(letter))),
        msgID: `${letter.id}:back:${rec.seq}`,
        headers: withOwner(rec.headers, to.session_id),
      })),
    );
    await Promise.all(
      back.map(({ rec }) => this.#deleteSeq(ctx, n.streams.dead, rec.seq)),
    );
    this.#signalLater(ctx, to);
    return back.length;
  }

  async #deleteSeq(
    ctx: Context,
    stream: string,
    seq: number,
  ): Promise<boolean> {
    try {
      return await this.#retry(() =>
        ctx.jsm.streams.deleteMessage(stream, seq, false)
      );
    } catch (e) {
      if (apiCode(e) === 10043 || apiCode(e) === 10057) return false;
      throw e;
    }
  }

  async #publishAll(
    ctx: Context,
    subject: string,
    items: PublishItem[],
  ): Promise<number[]> {
    const seqs: number[] = [];
    for (let i = 0; i < items.length; i += MOVE_BATCH) {
      // Issued in order on one connection, so stored in order.
      const acks = await Promise.all(
        items.slice(i, i + MOVE_BATCH).map((item) =>
          this.#retry(() =>
            ctx.js.publish(subject, item.data, {
              msgID: item.msgID,
              headers: item.headers,
            })
          )
        ),
      );
      for (const ack of acks) seqs.push(ack.seq);
    }
    return seqs;
  }

  // ---- verification --------------------------------------------------------

  /**
   * Whether a stored record's signature verifies against the key its
   * signer published, and the signer held the alias it is from.
   */
  async #verified(
    ctx: Context,
    headers: MsgHdrs | undefined,
    fields: unknown,
    fromAlias: string,
  ): Promise<boolean> {
    const sig = headers?.get(SIG_HEADER);
    const signer = headers?.get(SIGNER_HEADER);
    if (!sig || !signer) return false;
    let key: string;
    try {
      key = encodeName(signer);
    } catch {
      return false;
    }
    const mirror = await this.#mirror(ctx, "keys");
    const check = async () => {
      const e = mirror.get(key);
      const entry = e ? parseKeyEntry(e.value) : null;
      if (!entry) return false;
      if (fromAlias !== SYSTEM_ALIAS && !entry.aliases.includes(fromAlias)) {
        return false;
      }
      for (const pubkey of [entry.pubkey, ...(entry.retired ?? [])]) {
        if (await verifyRecord(pubkey, sig, fields)) return true;
      }
      return false;
    };
    if (await check()) return true;
    // Perhaps a session that registered a moment ago on another machine.
    await this.#retry(() => mirror.fresh(ctx.jsm));
    return await check();
  }

  /** Never delivered: removed from its stream and audited (no content). */
  async #forged(ctx: Context, stream: string, seq: number): Promise<void> {
    await this.#deleteSeq(ctx, stream, seq).catch(() => false);
    this.audit({
      ts: new Date().toISOString(),
      tool: "verify",
      ok: false,
      ms: 0,
      error: "forged",
    });
  }

  async #checkMessage(
    ctx: Context,
    stream: string,
    rec: StoredRecord,
  ): Promise<Message | null> {
    const value = parseJson(rec.data);
    if (messageProblem(value) === null) {
      const message = toMessage(value as Message);
      if (await this.#verified(ctx, rec.headers, message, message.from_alias)) {
        return message;
      }
    }
    await this.#forged(ctx, stream, rec.seq);
    return null;
  }

  async #checkRoomMessage(
    ctx: Context,
    rec: StoredRecord,
  ): Promise<RoomMessage | null> {
    const value = parseJson(rec.data);
    if (roomMessageProblem(value) === null) {
      const message = toRoomMessage(value as RoomMessage);
      if (await this.#verified(ctx, rec.headers, message, message.from_alias)) {
        return message;
      }
    }
    await this.#forged(ctx, this.names.streams.rooms, rec.seq);
    return null;
  }

  /** An inbox's verified messages, oldest first. */
  async #readInbox(ctx: Context, subject: string): Promise<Pending[]> {
    const out: Pending[] = [];
    const count = this.#retry(() =>
      subjectCount(ctx.jsm, this.names.streams.inbox, subject)
    );
    count.catch(() => {});
    for await (const p of this.#inboxReader(ctx, subject, count)) out.push(p);
    return out;
  }

  async *#inboxReader(
    ctx: Context,
    subject: string,
    count?: Promise<number>,
  ): AsyncGenerator<Pending> {
    const stream = this.names.streams.inbox;
    for await (const rec of readSubject(ctx, stream, subject, 1, count)) {
      const message = await this.#checkMessage(ctx, stream, rec);
      if (message) yield { seq: rec.seq, message, headers: rec.headers };
    }
  }

  async #readDead(
    ctx: Context,
    filter: string,
  ): Promise<{ letter: DeadLetter; rec: StoredRecord }[]> {
    const stream = this.names.streams.dead;
    const out: { letter: DeadLetter; rec: StoredRecord }[] = [];
    for await (const rec of readSubject(ctx, stream, filter)) {
      const value = parseJson(rec.data);
      if (deadLetterProblem(value) === null) {
        const letter = value as DeadLetter;
        const fields = toMessage(letter);
        if (await this.#verified(ctx, rec.headers, fields, fields.from_alias)) {
          out.push({
            letter: {
              ...fields,
              dead_session_id: letter.dead_session_id,
              dead_at: letter.dead_at,
              ...(letter.reason ? { reason: letter.reason } : {}),
            },
            rec,
          });
          continue;
        }
      }
      await this.#forged(ctx, stream, rec.seq);
    }
    return out;
  }

  // ---- inboxes -------------------------------------------------------------

  async #signerKey(
    rows: readonly Registration[],
    fromAlias: string,
  ): Promise<{ session: string; key: SessionKey }> {
    const row = findByAlias(rows, fromAlias);
    const key = row ? await this.#localKey(row.session_id, false) : null;
    if (!row || !key) {
      throw new C2cError(
        "session_borrowed",
        `'${fromAlias}' has no signing key on this machine (${this.paths.root}/keys); it can send only from the machine it registered from — register here to send from here`,
      );
    }
    return { session: row.session_id, key };
  }

  async #enqueue(
    ctx: Context,
    snap: Snapshot,
    to: InboxOwner,
    messages: readonly Message[],
    quota: number | undefined,
    state: Promise<InboxState> | undefined,
  ): Promise<void> {
    if (messages.length === 0) return;
    await this.#stream(ctx, "inbox");
    const subject = this.names.inbox(to.alias);
    // Signed while the quota is checked: neither waits for the other.
    const signing = Promise.all(
      messages.map(async (m): Promise<PublishItem> => {
        const { session, key } = await this.#signerKey(snap.rows, m.from_alias);
        const h = makeHeaders();
        h.set(SIG_HEADER, await signRecord(key.privateKey, toMessage(m)));
        h.set(SIGNER_HEADER, session);
        h.set(OWNER_HEADER, to.session_id);
        return {
          data: encoder.encode(JSON.stringify(m)),
          // Room copies share their id: the recipient makes each one unique.
          msgID: `${m.id}@${encodeName(to.alias)}`,
          headers: h,
        };
      }),
    );
    signing.catch(() => {});
    if (quota !== undefined) {
      let adding = 0;
      for (const m of messages) {
        adding += encoder.encode(JSON.stringify(m)).length + 1;
      }
      await this.#checkQuota(
        ctx,
        to.alias,
        subject,
        await (state ?? this.#inboxState(ctx, to.alias)),
        adding,
        quota,
      );
    }
    const items = await signing;
    const seqs = await this.#publishAll(ctx, subject, items);
    seqs.forEach((seq, i) =>
      this.#inboxBytes.published(subject, seq, items[i].data.length + 1)
    );
  }

  /** How many messages wait in an alias's inbox, and from where. */
  #inboxState(ctx: Context, alias: string): Promise<InboxState> {
    return this.#stream(ctx, "inbox").then(() =>
      this.#retry(() =>
        this.#inboxBytes.state(
          ctx,
          this.names.streams.inbox,
          this.names.inbox(alias),
        )
      )
    );
  }

  /**
   * Refuses a send that would take an inbox past `quota` bytes of JSON
   * lines, as the file store counts them. Free while the inbox is short
   * (its count times the largest line cannot pass the quota); past that an
   * upper bound from the sizes this process knows ({@linkcode InboxBytes}),
   * then the sizes of what it has not seen, and an exact count before any
   * refusal.
   */
  async #checkQuota(
    ctx: Context,
    alias: string,
    subject: string,
    state: InboxState,
    adding: number,
    quota: number,
  ): Promise<void> {
    if (state.count === 0) {
      if (adding > quota) throw new InboxFullError(alias, 0, quota);
      return;
    }
    const largest = largestLine(await this.config());
    if (state.count * largest + adding <= quota) return;
    const sizes = this.#inboxBytes;
    const stream = this.names.streams.inbox;
    // Every inbox together is below the quota: nothing to read.
    if (state.streamBytes + adding <= quota) return;
    await this.#retry(() => sizes.locate(ctx, stream, subject, state));
    if (sizes.bound(subject, state, largest) + adding <= quota) return;
    await sizes.catchUp(ctx, stream, subject, state);
    if (sizes.bound(subject, state, largest) + adding <= quota) return;
    const pending = await sizes.exact(ctx, stream, subject);
    if (pending + adding > quota) {
      throw new InboxFullError(alias, pending, quota);
    }
  }

  /**
   * Reads an inbox without taking anything (forged messages are removed).
   *
   * @param owner Whose inbox.
   * @returns Its verified pending messages, oldest first.
   */
  pending(owner: InboxOwner): Promise<Message[]> {
    if (!owner.alias) return Promise.resolve([]);
    return this.#op(async (ctx) => {
      await this.#stream(ctx, "inbox");
      return (await this.#readInbox(ctx, this.names.inbox(owner.alias)))
        .map((p) => p.message);
    });
  }

  /**
   * Counts several inboxes at once (`list`).
   *
   * @param owners Whose inboxes.
   * @returns How many messages wait in each (one request for all).
   */
  pendingCounts(owners: readonly InboxOwner[]): Promise<number[]> {
    if (owners.length === 0) return Promise.resolve([]);
    return this.#op(async (ctx) => {
      await this.#stream(ctx, "inbox");
      const n = this.names;
      const counts = await this.#retry(() =>
        subjectCounts(ctx.jsm, n.streams.inbox, n.inboxes)
      );
      return owners.map((o) => {
        const alias = o.alias || this.#orphanAliases.get(o.session_id);
        return alias ? counts[n.inbox(alias)] ?? 0 : 0;
      });
    });
  }

  /**
   * Subscribes to the alias's inbox subject: every message published there
   * (a send, a room copy, a redelivery) is a hint. The subscription is
   * flushed to the server before this resolves, so a publish after that is
   * seen. The client resubscribes by itself after a reconnection; a
   * connection replaced meanwhile leaves the reader to its timeout.
   *
   * Requires `--allow-net` to the NATS servers.
   *
   * @param owner Whose inbox.
   * @returns The armed watch.
   */
  watchInbox(owner: InboxOwner): Promise<InboxWatch> {
    return this.#op(async (ctx) => {
      const latch = new ChangeLatch(() => sub?.unsubscribe());
      let sub: Subscription | undefined = owner.alias
        ? ctx.nc.subscribe(this.names.inbox(owner.alias), {
          callback: () => latch.notify(),
        })
        : undefined;
      try {
        await ctx.nc.flush();
      } catch (e) {
        sub?.unsubscribe();
        sub = undefined;
        throw e;
      }
      return latch;
    });
  }

  /**
   * Reads the inbox, archives the selection, then claims it: a prefix by
   * one `purge` up to its last message (the purge's count says how many of
   * them this call removed — the newest ones, since every claim cuts a
   * prefix — and exactly those are handed over); a selection by id by
   * deleting each message (those whose delete succeeded are handed over).
   *
   * @param owner Whose inbox.
   * @param selection Which messages.
   * @param drainedAt Timestamp for the archive.
   * @param via How they reach the agent (recorded in the archive).
   * @returns What this call took, as handed over.
   */
  drain(
    owner: InboxOwner,
    selection: InboxSelection,
    drainedAt: string,
    via?: DeliveryVia,
  ): Promise<Selected> {
    if (!owner.alias) return Promise.resolve({ messages: [], remaining: 0 });
    return this.#op(async (ctx) => {
      const n = this.names;
      await Promise.all([
        this.#stream(ctx, "inbox"),
        this.#stream(ctx, "archive"),
      ]);
      const subject = n.inbox(owner.alias);
      const read: Pending[] = [];
      let exhausted = true;
      const count = this.#retry(() =>
        subjectCount(ctx.jsm, n.streams.inbox, subject)
      );
      count.catch(() => {});
      for await (const p of this.#inboxReader(ctx, subject, count)) {
        read.push(p);
        if (!selection.only && read.length % DRAIN_CHUNK === 0) {
          const sel = selectMessages(read.map((r) => r.message), selection);
          if (sel.messages.length < read.length) {
            exhausted = false;
            break;
          }
        }
      }
      const picked = selectMessages(read.map((r) => r.message), selection);
      const k = picked.messages.length;
      const taken = selection.only
        ? read.filter((r) => selection.only!.has(r.message.id)).slice(0, k)
        : read.slice(0, k);
      const total = exhausted ? read.length : await count;
      if (k === 0) {
        // A signal left standing by a drain elsewhere is put right.
        if (
          (readTextOrNull(this.paths.signal(owner.session_id)) ?? "") !== ""
        ) {
          this.#signalLater(ctx, owner);
        }
        return { messages: [], remaining: total };
      }
      await this.#publishAll(
        ctx,
        n.archive(owner.session_id),
        taken.map((p) => ({
          data: encoder.encode(JSON.stringify(
            {
              ...toMessage(p.message),
              drained_at: drainedAt,
              ...(via ? { delivered_via: via } : {}),
            } satisfies ArchivedMessage,
          )),
          msgID: `${p.message.id}:${p.seq}`,
          headers: p.headers,
        })),
      );
      let claimed: boolean[];
      if (selection.only) {
        claimed = await Promise.all(
          taken.map((p) => this.#deleteSeq(ctx, n.streams.inbox, p.seq)),
        );
      } else {
        const last = taken[k - 1].seq;
        let purged: number;
        try {
          purged = (await ctx.jsm.streams.purge(n.streams.inbox, {
            filter: subject,
            seq: last + 1,
          })).purged;
        } catch (e) {
          if (!isTransientNatsError(e)) throw e;
          // Whether that purge landed is unknown: make sure it did, and
          // hand over all (may deliver twice, never loses).
          await this.#retry(() =>
            ctx.jsm.streams.purge(n.streams.inbox, {
              filter: subject,
              seq: last + 1,
            })
          );
          purged = k;
        }
        claimed = taken.map((_, i) => i >= k - purged);
      }
      const messages = picked.messages.filter((_, i) => claimed[i]);
      const result: Selected = { messages, remaining: total - k };
      const truncated = picked.truncated?.filter((id) =>
        messages.some((m) => m.id === id)
      );
      if (truncated && truncated.length > 0) result.truncated = truncated;
      this.#signalLater(ctx, owner);
      return result;
    });
  }

  /**
   * Puts drained messages back at the head of the inbox (and out of the
   * archive): they are re-published, then what was pending after them,
   * then the old copies are cut.
   *
   * @param owner Whose inbox.
   * @param messages What a failed delivery took.
   * @returns How many were put back.
   */
  restore(owner: InboxOwner, messages: readonly Message[]): Promise<number> {
    if (messages.length === 0) return Promise.resolve(0);
    const alias = owner.alias || messages[0].to_alias;
    return this.#op(async (ctx) => {
      const n = this.names;
      await Promise.all([
        this.#stream(ctx, "inbox"),
        this.#stream(ctx, "archive"),
      ]);
      const ids = new Set(messages.map((m) => m.id));
      // The last archived copy of each id is this drain's; they are among
      // the newest, but read on until every one is found.
      const archived = new Map<string, StoredRecord>();
      const archiveSubject = n.archive(owner.session_id);
      const count = await this.#retry(() =>
        subjectCount(ctx.jsm, n.streams.archive, archiveSubject)
      );
      for (let want = messages.length + 16;; want *= 4) {
        archived.clear();
        const start = await this.#retry(() =>
          startOfLast(
            ctx.jsm,
            n.streams.archive,
            archiveSubject,
            Math.min(want, count),
            count,
          )
        );
        if (start !== null) {
          for await (
            const rec of readSubject(
              ctx,
              n.streams.archive,
              archiveSubject,
              start,
            )
          ) {
            const v = parseJson(rec.data) as Message | null;
            if (v && typeof v.id === "string" && ids.has(v.id)) {
              archived.set(v.id, rec);
            }
          }
        }
        if (archived.size === ids.size || want >= count) break;
      }
      await Promise.all(
        [...archived.values()].map((r) =>
          this.#deleteSeq(ctx, n.streams.archive, r.seq)
        ),
      );
      const subject = n.inbox(alias);
      const pending = (await this.#readInbox(ctx, subject)).filter((p) =>
        !ids.has(p.message.id)
      );
      const back = messages.map((m) => {
        const rec = archived.get(m.id);
        const whole = rec
          ? toMessage(parseJson(rec.data) as Message)
          : toMessage(m);
        return {
          data: encoder.encode(JSON.stringify(whole)),
          msgID: `${m.id}:restore:${rec?.seq ?? crypto.randomUUID()}`,
          headers: withOwner(rec?.headers, owner.session_id),
        };
      });
      await this.#publishAll(ctx, subject, [
        ...back,
        ...pending.map((p) => ({
          data: encoder.encode(JSON.stringify(p.message)),
          msgID: `${p.message.id}:behind:${p.seq}`,
          headers: p.headers,
        })),
      ]);
      if (pending.length > 0) {
        const last = pending[pending.length - 1].seq;
        await this.#retry(() =>
          ctx.jsm.streams.purge(n.streams.inbox, {
            filter: subject,
            seq: last + 1,
          })
        );
      }
      this.#signalLater(ctx, { ...owner, alias });
      return messages.length;
    });
  }

  /**
   * The newest drained messages of a session.
   *
   * @param owner Whose archive.
   * @param limit How many of the newest.
   * @returns Drained messages, oldest first.
   */
  archive(owner: InboxOwner, limit?: number): Promise<ArchivedMessage[]> {
    if (limit === 0) return Promise.resolve([]);
    return this.#op(async (ctx) => {
      const n = this.names;
      await this.#stream(ctx, "archive");
      const subject = n.archive(owner.session_id);
      const count = await this.#retry(() =>
        subjectCount(ctx.jsm, n.streams.archive, subject)
      );
      if (count === 0) return [];
      const start = await this.#retry(() =>
        startOfLast(
          ctx.jsm,
          n.streams.archive,
          subject,
          Math.min(limit ?? count, count),
          count,
        )
      );
      const out: ArchivedMessage[] = [];
      if (start === null) return out;
      for await (
        const rec of readSubject(ctx, n.streams.archive, subject, start)
      ) {
        const v = parseJson(rec.data) as ArchivedMessage | null;
        if (messageProblem(v) !== null || typeof v!.drained_at !== "string") {
          continue;
        }
        const archived: ArchivedMessage = {
          ...toMessage(v!),
          drained_at: v!.drained_at,
        };
        if (isDeliveryVia(v!.delivered_via)) {
          archived.delivered_via = v!.delivered_via;
        }
        out.push(archived);
        if (limit !== undefined && out.length >= limit) break;
      }
      return out;
    });
  }

  /**
   * Appends to an alias's sent log, each entry signed by the sender.
   *
   * @param alias The sender's alias.
   * @param entries What it sent, in order (subject `sent.<alias>`).
   */
  appendSent(alias: string, entries: readonly SentMessage[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    return this.#op(async (ctx) => {
      await this.#stream(ctx, "sent");
      const snap = await this.#snapshot(ctx, false);
      const items: PublishItem[] = [];
      for (const entry of entries) {
        const record = toSentMessage(entry);
        const { session, key } = await this.#signerKey(snap.rows, alias);
        const h = makeHeaders();
        h.set(SIG_HEADER, await signRecord(key.privateKey, record));
        h.set(SIGNER_HEADER, session);
        items.push({
          data: encoder.encode(JSON.stringify(record)),
          msgID: `sent:${record.id}`,
          headers: h,
        });
      }
      await this.#publishAll(ctx, this.names.sent(alias), items);
    });
  }

  /**
   * Reads an alias's sent log from its end: the newest `limit`; for `since`,
   * a growing tail until it reaches an entry sent before then (by each
   * entry's `ts`, so no clock but the senders' matters); for `ids`, a
   * growing tail until every id was found. Entries whose signature does not
   * verify are left out.
   *
   * @param alias The sender's alias.
   * @param range The newest `limit`, and/or those since a time, or by id.
   * @returns Sent messages, oldest first.
   */
  sent(alias: string, range: SentRange = {}): Promise<SentMessage[]> {
    if (range.limit === 0) return Promise.resolve([]);
    const { since, ids } = range;
    return this.#op(async (ctx) => {
      const n = this.names;
      await this.#stream(ctx, "sent");
      const subject = n.sent(alias);
      const most = ids
        ? Math.min(range.limit ?? RECEIPT_SCAN, RECEIPT_SCAN)
        : Infinity;
      const first = ids
        ? Math.min(Math.max(SENT_TAIL, ids.size * 2), most)
        : range.limit ?? SENT_TAIL;
      const wanted = (e: SentMessage) =>
        (since === undefined || e.ts >= since) && (!ids || ids.has(e.id));
      const enough = (out: SentMessage[], want: number, count: number) => {
        if (want >= count || want >= most) return true;
        if (ids) return out.filter((e) => ids.has(e.id)).length >= ids.size;
        if (since !== undefined && range.limit === undefined) {
          return out.length > 0 && out[0].ts < since;
        }
        return true;
      };
      const out = await this.#tail(
        ctx,
        "sent",
        subject,
        first,
        (rec) => this.#checkSent(ctx, rec, alias),
        enough,
      );
      const fresh = out.filter(wanted);
      if (ids) {
        const seen = new Set<string>();
        return fresh.filter((e) => !seen.has(e.id) && seen.add(e.id));
      }
      return range.limit === undefined ? fresh : fresh.slice(-range.limit);
    });
  }

  /**
   * Reads the newest `first` records of a subject, then 4 times as many,
   * until `enough` says the tail read reaches far enough.
   */
  async #tail<T>(
    ctx: Context,
    role: StreamRole,
    subject: string,
    first: number,
    check: (rec: StoredRecord) => Promise<T | null>,
    enough: (out: T[], want: number, count: number) => boolean,
  ): Promise<T[]> {
    const stream = this.names.streams[role];
    const count = await this.#retry(() =>
      subjectCount(ctx.jsm, stream, subject)
    );
    if (count === 0) return [];
    for (let want = Math.max(1, first);; want *= 4) {
      const start = await this.#retry(() =>
        startOfLast(ctx.jsm, stream, subject, Math.min(want, count), count)
      );
      if (start === null) return [];
      const out: T[] = [];
      for await (const rec of readSubject(ctx, stream, subject, start)) {
        const value = await check(rec);
        if (value !== null) out.push(value);
      }
      if (enough(out, want, count)) return out;
    }
  }

  /**
   * Appends receipts to a sender's receipt log, signed with the key of the
   * session whose drain handed the messages over.
   *
   * @param senderAlias Who sent the messages.
   * @param receipts One per message (subject `receipts.<alias>`).
   * @param by The draining inbox.
   */
  appendReceipts(
    senderAlias: string,
    receipts: readonly Receipt[],
    by: InboxOwner,
  ): Promise<void> {
    if (receipts.length === 0) return Promise.resolve();
    return this.#op(async (ctx) => {
      await this.#stream(ctx, "receipts");
      const key = await this.#localKey(by.session_id, false);
      if (!key) {
        throw new C2cError(
          "session_borrowed",
          `session '${by.session_id}' has no signing key on this machine (${this.paths.root}/keys) to sign receipts with`,
        );
      }
      const items: PublishItem[] = [];
      for (const receipt of receipts) {
        const record = toReceipt(receipt);
        const h = makeHeaders();
        h.set(SIG_HEADER, await signRecord(key.privateKey, record));
        h.set(SIGNER_HEADER, by.session_id);
        items.push({
          data: encoder.encode(JSON.stringify(record)),
          msgID: `receipt:${record.id}:${encodeName(record.to_alias)}`,
          headers: h,
        });
      }
      await this.#publishAll(ctx, this.names.receipts(senderAlias), items);
    });
  }

  /**
   * Reads a sender's receipts for some ids, from the end of its log.
   *
   * @param senderAlias Who sent the messages.
   * @param ids The message ids.
   * @param since Stop at receipts delivered before this time.
   * @returns One receipt per id found whose signer held its recipient.
   */
  receipts(
    senderAlias: string,
    ids: ReadonlySet<string>,
    since?: string,
  ): Promise<Receipt[]> {
    if (ids.size === 0) return Promise.resolve([]);
    return this.#op(async (ctx) => {
      await this.#stream(ctx, "receipts");
      const out = await this.#tail(
        ctx,
        "receipts",
        this.names.receipts(senderAlias),
        Math.max(SENT_TAIL, ids.size * 2),
        async (rec) => {
          const value = parseJson(rec.data);
          if (receiptProblem(value) !== null) return null;
          const receipt = toReceipt(value as Receipt);
          // Kept for where the read reaches; only the asked ids are checked.
          if (!ids.has(receipt.id)) return { ...receipt, id: "" };
          if (
            await this.#verified(ctx, rec.headers, receipt, receipt.to_alias)
          ) {
            return receipt;
          }
          await this.#forged(ctx, this.names.streams.receipts, rec.seq);
          return null;
        },
        (out, want) =>
          want >= RECEIPT_SCAN ||
          (since !== undefined && out.length > 0 &&
            out[0].delivered_at < since) ||
          new Set(out.filter((r) => r.id).map((r) => r.id)).size >= ids.size,
      );
      const found = new Map<string, Receipt>();
      for (const r of out) if (r.id && !found.has(r.id)) found.set(r.id, r);
      return [...found.values()];
    });
  }

  /**
   * Adds dead letters, each signed as its sender's.
   *
   * @param letters The letters (subject `dead.<alias>.<session>`).
   */
  appendDeadLetters(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return Promise.resolve();
    return this.#op(async (ctx) => {
      await this.#stream(ctx, "dead");
      const snap = await this.#snapshot(ctx, false);
      for (const letter of letters) {
        const { session, key } = await this.#signerKey(
          snap.rows,
          letter.from_alias,
        );
        const h = makeHeaders();
        h.set(SIG_HEADER, await signRecord(key.privateKey, toMessage(letter)));
        h.set(SIGNER_HEADER, session);
        await this.#publishAll(
          ctx,
          this.names.dead(letter.to_alias, letter.dead_session_id || "unknown"),
          [{
            data: encoder.encode(JSON.stringify(letter)),
            msgID: `${letter.id}:offline`,
            headers: h,
          }],
        );
      }
    });
  }

  async #checkSent(
    ctx: Context,
    rec: StoredRecord,
    alias: string,
  ): Promise<SentMessage | null> {
    const value = parseJson(rec.data);
    if (sentMessageProblem(value) === null) {
      const entry = toSentMessage(value as SentMessage);
      if (
        entry.from_alias === alias &&
        await this.#verified(ctx, rec.headers, entry, entry.from_alias)
      ) {
        return entry;
      }
    }
    await this.#forged(ctx, this.names.streams.sent, rec.seq);
    return null;
  }

  /**
   * Inboxes whose alias no known session holds.
   *
   * @param known Registered sessions.
   * @returns The session each was queued for (`c2c-owner`), and its count.
   */
  orphanInboxes(
    known: ReadonlySet<string>,
  ): Promise<{ session_id: string; pending: number }[]> {
    return this.#op(async (ctx) => {
      const orphans = await this.#orphans(ctx, known);
      return orphans.map((o) => ({
        session_id: o.session_id,
        pending: o.pending,
      }));
    });
  }

  async #orphans(
    ctx: Context,
    known: ReadonlySet<string>,
  ): Promise<{ session_id: string; alias: string; pending: number }[]> {
    const n = this.names;
    await this.#stream(ctx, "inbox");
    const snap = await this.#snapshot(ctx);
    const held = new Set(
      snap.rows.filter((r) => known.has(r.session_id)).map((r) => r.alias),
    );
    const counts = await this.#retry(() =>
      subjectCounts(ctx.jsm, n.streams.inbox, n.inboxes)
    );
    const out = [];
    for (const [subject, pending] of Object.entries(counts).sort()) {
      const alias = this.#aliasOfInbox(subject);
      if (alias === null || held.has(alias)) continue;
      const first = await this.#retry(() =>
        nextOf(ctx.jsm, n.streams.inbox, subject, 1)
      );
      const session = first?.headers?.get(OWNER_HEADER) ?? "";
      out.push({ session_id: session, alias, pending });
    }
    return out;
  }

  /**
   * Sessions with an orphan inbox, or a live process, but no registration.
   *
   * @param known Registered sessions.
   * @returns Their ids, sorted.
   */
  unregisteredSessions(known: ReadonlySet<string>): Promise<string[]> {
    return this.#op(async (ctx) => {
      const ids = new Set<string>();
      for (const o of await this.#orphans(ctx, known)) {
        if (!o.session_id || known.has(o.session_id)) continue;
        ids.add(o.session_id);
        this.#orphanAliases.set(o.session_id, o.alias);
      }
      for (const id of await presence(ctx.nc, this.names.presence)) {
        if (!known.has(id)) ids.add(id);
      }
      return [...ids].sort();
    });
  }

  // ---- dead letters --------------------------------------------------------

  /**
   * The dead letters, each checked like any message.
   *
   * @returns Every verified dead letter, oldest first.
   */
  deadLetters(): Promise<DeadLetter[]> {
    return this.#op(async (ctx) => {
      await this.#stream(ctx, "dead");
      return (await this.#readDead(ctx, this.names.deadAll)).map((d) =>
        d.letter
      );
    });
  }

  /**
   * Deletes dead letters rescued before a time.
   *
   * @param before Epoch ms.
   * @param dryRun Only count.
   * @returns How many dead letters were (or would be) deleted.
   */
  purgeDeadLetters(before: number, dryRun: boolean): Promise<number> {
    return this.#op(async (ctx) => {
      await this.#stream(ctx, "dead");
      const old = (await this.#readDead(ctx, this.names.deadAll)).filter((d) =>
        Date.parse(d.letter.dead_at) < before
      );
      if (!dryRun) {
        await Promise.all(
          old.map((d) =>
            this.#deleteSeq(ctx, this.names.streams.dead, d.rec.seq)
          ),
        );
      }
      return old.length;
    });
  }

  // ---- rooms ---------------------------------------------------------------

  /**
   * The rooms (KV `rooms`).
   *
   * @returns Every room's id, sorted.
   */
  roomIds(): Promise<string[]> {
    return this.#op(async (ctx) => {
      const mirror = await this.#mirror(ctx, "rooms");
      await this.#retry(() => mirror.fresh(ctx.jsm));
      const ids: string[] = [];
      for (const e of mirror.entries()) {
        try {
          ids.push(decodeName(e.key));
        } catch {
          // not a key c2c wrote
        }
      }
      return ids.sort();
    });
  }

  /**
   * A room's members (KV `members`).
   *
   * @param roomId The room.
   * @returns Its members, in the order they joined.
   */
  members(roomId: string): Promise<RoomMember[]> {
    return this.#op((ctx) => this.#members(ctx, roomId));
  }

  async #members(ctx: Context, roomId: string): Promise<RoomMember[]> {
    const mirror = await this.#mirror(ctx, "members");
    await this.#retry(() => mirror.fresh(ctx.jsm));
    const prefix = `${encodeName(roomId)}.`;
    const out: { member: RoomMember; revision: number }[] = [];
    for (const e of mirror.entries()) {
      if (!e.key.startsWith(prefix)) continue;
      const m = parseJson(e.value) as RoomMember | null;
      if (
        m === null || typeof m.alias !== "string" ||
        typeof m.session_id !== "string"
      ) continue;
      out.push({ member: m, revision: e.revision });
    }
    // Join order: a renamed member keeps its place, as in members.json.
    out.sort((a, b) =>
      (a.member.joined_at ?? "").localeCompare(b.member.joined_at ?? "") ||
      a.revision - b.revision
    );
    return out.map((o) => o.member);
  }

  /**
   * Runs `fn` with the room serialised within this process. Membership is
   * one key per member, so processes elsewhere change other keys, and
   * history is append-only: no lock across machines is needed.
   *
   * @param roomId The room.
   * @param fn What to do.
   * @returns Whatever `fn` returns.
   */
  withRoom<T>(roomId: string, fn: (room: RoomScope) => Promise<T>): Promise<T> {
    const previous = this.#roomQueues.get(roomId) ?? Promise.resolve();
    const run = previous.catch(() => {}).then(() => this.#inRoom(roomId, fn));
    const tail = run.catch(() => {});
    this.#roomQueues.set(roomId, tail);
    tail.then(() => {
      if (this.#roomQueues.get(roomId) === tail) {
        this.#roomQueues.delete(roomId);
      }
    });
    return run;
  }

  #inRoom<T>(roomId: string, fn: (room: RoomScope) => Promise<T>): Promise<T> {
    // Who joined or left last: signs the system line that says so.
    let actor: string | undefined;
    // The members this scope read: a change is applied as the difference
    // from them, so a member another machine added meanwhile stays.
    let read: RoomMember[] | undefined;
    const scope: RoomScope = {
      roomId,
      members: async () => {
        read = await this.members(roomId);
        return read.map((m) => ({ ...m }));
      },
      setMembers: (members) =>
        this.#op(async (ctx) => {
          actor = await this.#setMembers(ctx, roomId, members, read) ?? actor;
          read = members.map((m) => ({ ...m }));
        }),
      append: (messages) =>
        this.#op((ctx) => this.#append(ctx, roomId, messages, actor)),
      recent: (range) => this.#op((ctx) => this.#recent(ctx, roomId, range)),
    };
    return fn(scope);
  }

  async #ensureRoom(ctx: Context, roomId: string): Promise<void> {
    const rooms = await this.#bucket(ctx, "rooms");
    const mirror = await this.#mirror(ctx, "rooms");
    const key = encodeName(roomId);
    if (mirror.get(key)) return;
    try {
      await this.#retry(() =>
        rooms.create(
          key,
          encoder.encode(JSON.stringify({
            created_at: new Date().toISOString(),
          })),
        )
      );
    } catch (e) {
      if (!isWrongSequence(e)) throw e; // made by someone else meanwhile
    }
  }

  async #setMembers(
    ctx: Context,
    roomId: string,
    members: readonly RoomMember[],
    read: readonly RoomMember[] | undefined,
  ): Promise<string | undefined> {
    await this.#ensureRoom(ctx, roomId);
    const kv = await this.#bucket(ctx, "members");
    const current = read ?? await this.#members(ctx, roomId);
    const room = encodeName(roomId);
    const keyOf = (m: RoomMember) => `${room}.${encodeName(m.alias)}`;
    const wanted = new Map(members.map((m) => [keyOf(m), m]));
    const had = new Map(current.map((m) => [keyOf(m), m]));
    const changed: string[] = [];
    let last = 0;
    for (const [key, m] of wanted) {
      const old = had.get(key);
      if (old && JSON.stringify(old) === JSON.stringify(m)) continue;
      if (!old) changed.push(m.session_id);
      last = Math.max(
        last,
        await this.#retry(() => kv.put(key, encoder.encode(JSON.stringify(m)))),
      );
    }
    for (const [key, m] of had) {
      if (wanted.has(key)) continue;
      changed.push(m.session_id);
      await this.#retry(() => kv.delete(key));
    }
    const mirror = await this.#mirror(ctx, "members");
    await this.#retry(() => mirror.fresh(ctx.jsm));
    return changed.length === 1 ? changed[0] : undefined;
  }

  async #append(
    ctx: Context,
    roomId: string,
    messages: readonly RoomMessage[],
    actor: string | undefined,
  ): Promise<void> {
    if (messages.length === 0) return;
    await Promise.all([
      this.#stream(ctx, "rooms"),
      this.#ensureRoom(ctx, roomId),
    ]);
    const snap = await this.#snapshot(ctx, false);
    const items: PublishItem[] = [];
    for (const m of messages) {
      const record = toRoomMessage(m);
      let signer: { session: string; key: SessionKey };
      if (m.from_alias === SYSTEM_ALIAS) {
        const key = actor ? await this.#localKey(actor, false) : null;
        if (!actor || !key) {
          throw new C2cError(
            "session_borrowed",
            `room '${roomId}' changed without a session of this machine to sign its history line`,
          );
        }
        signer = { session: actor, key };
      } else {
        signer = await this.#signerKey(snap.rows, m.from_alias);
      }
      const h = makeHeaders();
      h.set(SIG_HEADER, await signRecord(signer.key.privateKey, record));
      h.set(SIGNER_HEADER, signer.session);
      items.push({
        data: encoder.encode(JSON.stringify(m)),
        msgID: m.id,
        headers: h,
      });
    }
    await this.#publishAll(ctx, this.names.room(roomId), items);
  }

  async #recent(
    ctx: Context,
    roomId: string,
    range: HistoryRange,
  ): Promise<RoomMessage[]> {
    if (range.limit === 0) return [];
    const n = this.names;
    await this.#stream(ctx, "rooms");
    const subject = n.room(roomId);
    const count = await this.#retry(() =>
      subjectCount(ctx.jsm, n.streams.rooms, subject)
    );
    if (count === 0) return [];
    const cut = (list: RoomMessage[]) => {
      if (!range.stopAt) return list;
      for (let i = list.length - 1; i >= 0; i--) {
        if (range.stopAt(list[i])) return list.slice(i + 1);
      }
      return list;
    };
    if (range.limit !== undefined) {
      const start = await this.#retry(() =>
        startOfLast(
          ctx.jsm,
          n.streams.rooms,
          subject,
          Math.min(range.limit!, count),
          count,
        )
      );
      return cut(await this.#readRoom(ctx, subject, start ?? 1));
    }
    if (!range.stopAt) return await this.#readRoom(ctx, subject, 1);
    // Newest first is not a direction streams read in: read what was stored
    // lately (by the server's clock), widening until the stop is found.
    for (let window = RECENT_WINDOW_MS;; window *= 4) {
      const since = new Date(Date.now() - window);
      const list: RoomMessage[] = [];
      let seen = 0;
      for await (const rec of readSince(ctx, n.streams.rooms, subject, since)) {
        seen++;
        const m = await this.#checkRoomMessage(ctx, rec);
        if (m) list.push(m);
      }
      const stop = list.findLastIndex((m) => range.stopAt!(m));
      if (stop >= 0) return list.slice(stop + 1);
      if (seen >= count || window > 365 * 24 * 3600_000) return list;
    }
  }

  async #readRoom(
    ctx: Context,
    subject: string,
    from: number,
    limit = Infinity,
  ): Promise<RoomMessage[]> {
    const out: RoomMessage[] = [];
    for await (
      const rec of readSubject(ctx, this.names.streams.rooms, subject, from)
    ) {
      const m = await this.#checkRoomMessage(ctx, rec);
      if (m) out.push(m);
      if (out.length >= limit) break;
    }
    return out;
  }

  /**
   * Reads a room's history, each post checked.
   *
   * @param roomId The room.
   * @param range The newest `limit`, or `limit` from `offset`.
   * @returns Verified messages, oldest first.
   */
  roomHistory(
    roomId: string,
    range: HistoryRange & { offset?: number },
  ): Promise<RoomMessage[]> {
    return this.#op(async (ctx) => {
      if (range.offset === undefined) return this.#recent(ctx, roomId, range);
      await this.#stream(ctx, "rooms");
      const recs = await this.#retry(() =>
        readSlice(
          ctx,
          this.names.streams.rooms,
          this.names.room(roomId),
          range.offset!,
          range.limit,
        )
      );
      const out: RoomMessage[] = [];
      for (const rec of recs) {
        const m = await this.#checkRoomMessage(ctx, rec);
        if (m) out.push(m);
      }
      return out;
    });
  }

  /**
   * Counts a room's history (one request).
   *
   * @param roomId The room.
   * @returns Messages in its history.
   */
  roomCount(roomId: string): Promise<number> {
    return this.#op(async (ctx) => {
      await this.#stream(ctx, "rooms");
      return await this.#retry(() =>
        subjectCount(ctx.jsm, this.names.streams.rooms, this.names.room(roomId))
      );
    });
  }

  // ---- audit ---------------------------------------------------------------

  /**
   * Publishes the entry without waiting for an acknowledgement (it adds no
   * round trip to the operation); dropped while NATS is unreachable.
   *
   * @param entry The entry (never content).
   */
  audit(entry: AuditEntry): void {
    if (this.#closed) return;
    const data = encoder.encode(JSON.stringify(entry));
    const sending = (async () => {
      const ctx = await this.#ctxNow();
      if (!ctx) return;
      await this.#stream(ctx, "audit");
      ctx.nc.publish(this.names.audit, data);
    })().catch(() => {});
    // A short-lived process (a CLI call) closes right after its operation:
    // close() waits for these so its entries are not lost.
    this.#auditing.add(sending);
    sending.then(() => this.#auditing.delete(sending));
  }

  async #ctxNow(): Promise<Context | undefined> {
    if (this.#link.state !== "connected") return undefined;
    try {
      return await this.#ctx();
    } catch {
      return undefined;
    }
  }

  /**
   * The audit log's newest entries.
   *
   * @param limit How many.
   * @returns The newest entries, oldest first.
   */
  auditTail(limit: number): Promise<AuditEntry[]> {
    return this.#op(async (ctx) => {
      await this.#stream(ctx, "audit");
      // Entries published just before reach the stream before this asks.
      await ctx.nc.flush();
      const name = this.names.streams.audit;
      const info = await this.#retry(() => ctx.jsm.streams.info(name));
      if (info.state.messages === 0) return [];
      const from = Math.max(
        info.state.first_seq,
        info.state.last_seq - limit + 1,
      );
      const out: AuditEntry[] = [];
      for await (const rec of readSubject(ctx, name, this.names.audit, from)) {
        const v = parseJson(rec.data) as AuditEntry | null;
        if (v && typeof v.tool === "string" && typeof v.ok === "boolean") {
          out.push(v);
        }
        if (out.length >= limit) break;
      }
      return out.slice(-limit);
    });
  }

  // ---- local files ---------------------------------------------------------

  /**
   * Removes this machine's idle delivery and rewake locks and signal files
   * of sessions that are no longer registered. Keys stay: a session that
   * comes back signs with the key its earlier messages were signed with.
   *
   * @param registered Registered sessions.
   * @returns How many files went.
   */
  removeIdleFiles(registered: ReadonlySet<string>): Promise<number> {
    let count = 0;
    const signals = joinPath(this.paths.root, "signals");
    const dirs: [string, (name: string) => string | null][] = [
      [
        this.paths.locksDir,
        (n) => n.match(/^deliver\.(.+)\.lock$/)?.[1] ?? null,
      ],
      [this.paths.rewakeDir, (n) => n.match(/^(.+)\.lock$/)?.[1] ?? null],
      [signals, (n) => n.match(/^(.+)\.lock$/)?.[1] ?? null],
    ];
    for (const [dir, sessionOf] of dirs) {
      for (const name of listDir(dir)) {
        const id = sessionOf(name);
        if (id === null || registered.has(id)) continue;
        if (removeLockIfIdle(joinPath(dir, name))) count++;
      }
    }
    for (const name of listDir(signals)) {
      if (
        name.endsWith(".lock") || name.endsWith(".tmp") || registered.has(name)
      ) {
        continue;
      }
      try {
        removeIfExists(joinPath(signals, name));
        count++;
      } catch {
        // not ours to remove
      }
    }
    return Promise.resolve(count);
  }

  /**
   * Reports what may have changed, as hints (`lib/broker_watch.ts`): the
   * subjects of inboxes, archives, dead letters and rooms as messages are
   * published there (a drain shows as its archive copies; a rescue as its
   * dead letters), the registry, room and claims buckets through their
   * mirrors, and sessions coming and going through a presence probe each
   * second (a killed process publishes nothing). Hints may repeat; readers
   * re-read.
   *
   * Requires `--allow-net` to the NATS servers.
   *
   * @param onChange Gets each batch of hints.
   * @param onError Gets the error when the feed stops working.
   * @returns Stops the feed.
   */
  watchChanges(
    onChange: (changes: readonly BrokerChange[]) => void,
    onError: (error: unknown) => void,
  ): Disposable {
    let stopped = false;
    const stops: (() => void)[] = [];
    const drain = () => {
      for (const s of stops.splice(0)) s();
    };
    const stop = () => {
      stopped = true;
      drain();
    };
    const n = this.names;
    const token = (subject: string, part: string) => {
      const rest = subject.slice(`${n.prefix}.${part}.`.length).split(".")[0];
      try {
        return decodeName(rest);
      } catch {
        return undefined;
      }
    };
    (async () => {
      const ctx = await this.#ctx();
      const subs = [
        ctx.nc.subscribe(n.inboxes, {
          callback: (_e, m) => {
            const alias = token(m.subject, "inbox");
            if (alias) onChange([{ kind: "inbox", alias }]);
          },
        }),
        ctx.nc.subscribe(`${n.prefix}.archive.>`, {
          callback: (_e, m) => {
            const session_id = token(m.subject, "archive");
            if (session_id) {
              onChange([{ kind: "archive", session_id }, {
                kind: "inbox",
                session_id,
              }]);
            }
          },
        }),
        ctx.nc.subscribe(n.deadAll, {
          callback: (_e, m) => {
            const alias = token(m.subject, "dead");
            if (alias) onChange([{ kind: "inbox", alias }]);
          },
        }),
        ctx.nc.subscribe(`${n.prefix}.room.>`, {
          callback: (_e, m) => {
            const room_id = token(m.subject, "room");
            if (room_id) onChange([{ kind: "room", room_id }]);
          },
        }),
      ];
      stops.push(() => subs.forEach((sub) => sub.unsubscribe()));
      const registry = await this.#mirror(ctx, "registry");
      stops.push(registry.onChange(() => onChange([{ kind: "registry" }])));
      const claims = await this.#mirror(ctx, "claims");
      stops.push(claims.onChange(() => onChange([{ kind: "claims" }])));
      for (const role of ["rooms", "members"] as const) {
        const mirror = await this.#mirror(ctx, role);
        let seen = mirror.lastSeq;
        stops.push(mirror.onChange(() => {
          const changed = new Set<string>();
          for (const e of mirror.entries()) {
            if (e.revision <= seen) continue;
            const room = e.key.split(".")[0];
            try {
              changed.add(decodeName(room));
            } catch {
              // not a key c2c wrote
            }
          }
          seen = mirror.lastSeq;
          // A member who left is a deleted key: no entry says which room.
          onChange(
            changed.size > 0
              ? [...changed].map((room_id) => ({ kind: "room", room_id }))
              : [{ kind: "unknown" }],
          );
        }));
      }
      // Presence, compared each second: who came, who went.
      let present = new Set<string>();
      const tick = async () => {
        if (stopped) return;
        try {
          const now = await presence(ctx.nc, n.presence);
          const changes: BrokerChange[] = [];
          for (const id of now) {
            if (!present.has(id)) {
              changes.push({ kind: "lease", session_id: id });
            }
          }
          for (const id of present) {
            if (!now.has(id)) changes.push({ kind: "lease", session_id: id });
          }
          present = now;
          if (changes.length > 0 && !stopped) onChange(changes);
        } catch (e) {
          if (!stopped) onError(e);
          stop();
          return;
        }
        if (!stopped) timer = setTimeout(tick, PRESENCE_EVERY_MS);
      };
      let timer: ReturnType<typeof setTimeout> | undefined = setTimeout(
        tick,
        0,
      );
      stops.push(() => clearTimeout(timer));
      ctx.nc.closed().then(() => {
        if (!stopped) onError(new Error("the NATS connection closed"));
        stop();
      });
      if (stopped) drain(); // stopped while the feed was being set up
    })().catch((e) => {
      if (!stopped) onError(mapNatsError(e, this.#config));
      stop();
    });
    return { [Symbol.dispose]: stop };
  }

  /**
   * Keeps `paths.signal(session)` non-empty while messages wait for the
   * session: for its long-lived process (the MCP server, with its lease).
   * It follows the session's alias (a rename moves the inbox), rewrites
   * the file from the inbox's count on every stored arrival (an ordered
   * consumer delivers only stored messages: docs/design.md#nats-facts 5),
   * and starts again on each new connection. Drains and restores by any
   * process on this machine rewrite it too. It also keeps the commit
   * guard's cue in step with the namespace's claims
   * (docs/design.md#claims-guard-nats).
   *
   * Requires `--allow-write` on `<root>/signals`.
   *
   * @param sessionId The session.
   * @returns The running watch; stop it with the lease.
   */
  watchSignal(sessionId: string): SignalWatch {
    validateSessionId(sessionId);
    let stopped = false;
    let wake: (() => void) | undefined;
    const watch: SignalWatch = {
      stop: () => {
        stopped = true;
        this.#watches.delete(watch);
        wake?.();
      },
      [Symbol.dispose]: () => watch.stop(),
    };
    this.#watches.add(watch);
    // The commit guard's hook on this machine looks at a local cue too.
    const stopCue = this.#keepClaimCue();
    const stopWatch = watch.stop;
    watch.stop = () => {
      stopCue();
      stopWatch();
    };
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        const t = setTimeout(resolve, ms);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    (async () => {
      while (!stopped) {
        let ctx: Context;
        try {
          ctx = await this.#ctx();
          await this.#stream(ctx, "inbox");
        } catch {
          await sleep(500);
          continue;
        }
        let alias: string | undefined;
        let stopConsumer = () => {};
        let unlisten = () => {};
        try {
          const sessions = await this.#mirror(ctx, "registry");
          const aliasNow = async () =>
            (await this.#snapshot(ctx, false)).rows.find((r) =>
              r.session_id === sessionId
            )?.alias;
          alias = await aliasNow();
          await this.#refreshSignal(ctx, {
            session_id: sessionId,
            alias: alias ?? "",
          });
          if (alias !== undefined) {
            const consumer = await ctx.js.consumers.get(
              this.names.streams.inbox,
              {
                filter_subjects: this.names.inbox(alias),
                deliver_policy: DeliverPolicy.New,
              },
            );
            const owner = { session_id: sessionId, alias };
            let running = false;
            let again = false;
            const refresh = async () => {
              if (running) {
                again = true;
                return;
              }
              running = true;
              do {
                again = false;
                await this.#refreshSignal(ctx, owner).catch(() => {});
              } while (again);
              running = false;
            };
            const messages = await consumer.consume({
              callback: () => void refresh(),
            });
            stopConsumer = () => {
              messages.stop();
              consumer.delete().catch(() => {});
            };
          }
          // Until the alias changes, the connection is replaced, or stop.
          await new Promise<void>((resolve) => {
            wake = resolve;
            unlisten = sessions.onChange(() => {
              aliasNow().then((a) => {
                if (a !== alias || sessions.stopped) resolve();
              }, () => resolve());
            });
            ctx.nc.closed().then(() => resolve());
          });
        } catch {
          await sleep(500);
        } finally {
          unlisten();
          stopConsumer();
        }
      }
    })();
    return watch;
  }

  // ---- claims --------------------------------------------------------------

  /**
   * The namespace's file claims: one document in KV `claims`, changed by
   * compare-and-set (`claim_store.ts`, docs/design.md#claims).
   *
   * @returns The claim store (one per store).
   */
  claims(): NatsClaimStore {
    this.#claims ??= new NatsClaimStore({
      name: this.names.buckets.claims,
      root: this.paths.root,
      display: this.#config.display,
      current: () =>
        this.#op(async (ctx) => {
          const mirror = await this.#mirror(ctx, "claims");
          await this.#retry(() => mirror.fresh(ctx.jsm));
          const entry = mirror.get(CLAIMS_KEY);
          return entry
            ? { value: entry.value, revision: entry.revision }
            : null;
        }),
      write: (value, revision) =>
        this.#op(async (ctx) => {
          const kv = await this.#bucket(ctx, "claims");
          let written: number;
          try {
            written = await this.#cas(kv, CLAIMS_KEY, value, revision);
          } catch (e) {
            if (e instanceof Conflict) return null;
            throw e;
          }
          // Read-your-writes: the next read in this process sees it.
          await (await this.#mirror(ctx, "claims")).waitFor(written);
          return written;
        }),
      maxPayload: () =>
        this.#op((ctx) =>
          Promise.resolve(ctx.nc.info?.max_payload ?? 1024 * 1024)
        ),
    });
    return this.#claims;
  }

  /**
   * Keeps the commit guard's cue on this machine in step with the claims
   * bucket, whoever writes it and from wherever: started by
   * {@linkcode watchSignal}, that is by each session's long-lived server,
   * and restarted on each new connection.
   *
   * @returns A function that stops it.
   */
  #keepClaimCue(): () => void {
    let stopped = false;
    let wake: (() => void) | undefined;
    (async () => {
      while (!stopped) {
        try {
          const ctx = await this.#ctx();
          const mirror = await this.#mirror(ctx, "claims");
          const claims = this.claims();
          await new Promise<void>((resolve) => {
            wake = resolve;
            const sync = () => {
              if (mirror.stopped) return resolve();
              claims.syncCue(mirror.get(CLAIMS_KEY)?.value ?? null);
            };
            const off = mirror.onChange(sync);
            ctx.nc.closed().then(() => resolve());
            sync();
            if (stopped) resolve();
            wake = () => {
              off();
              resolve();
            };
          });
        } catch {
          // NATS away: try again shortly.
        }
        if (stopped) break;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 500);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    })();
    return () => {
      stopped = true;
      wake?.();
    };
  }

  /**
   * {@linkcode #refreshSignal} after the operation has answered; close()
   * waits for it.
   */
  #signalLater(ctx: Context, owner: InboxOwner): void {
    const done = this.#refreshSignal(ctx, owner).catch(() => {});
    this.#auditing.add(done);
    done.then(() => this.#auditing.delete(done));
  }

  /**
   * Rewrites the session's signal file from its inbox's count, under a
   * lock so that a stale count never overwrites a newer one.
   */
  async #refreshSignal(ctx: Context, owner: InboxOwner): Promise<void> {
    const n = this.names;
    const path = this.paths.signal(owner.session_id);
    const dir = joinPath(this.paths.root, "signals");
    ensureDir(dir);
    const lock = openSidecar(`${path}.lock`);
    try {
      await lock.lock(true);
      const count = owner.alias
        ? await this.#retry(() =>
          subjectCount(ctx.jsm, n.streams.inbox, n.inbox(owner.alias))
        )
        : 0;
      const text = count > 0 ? `${count}\n` : "";
      const current = readTextOrNull(path);
      if (current !== text && !(current === null && text === "")) {
        atomicWriteText(path, text);
      }
    } finally {
      lock.close();
    }
  }
}

/**
 * Replicas for what the store creates: 3 in a cluster (2 if it has only
 * two servers), else 1. The servers a cluster member announces are its
 * peers' client URLs and its own.
 */
function clusterReplicas(nc: NatsConnection): number {
  if (!nc.info?.cluster) return 1;
  const servers = nc.info.connect_urls?.length ?? 0;
  return servers === 0 ? 3 : Math.max(1, Math.min(3, servers));
}

/** A JSON line of a message at the size limit, every character escaped. */
function largestLine(config: BrokerConfig): number {
  return 6 * config.max_message_bytes + 2048;
}

function listDir(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].filter((e) => e.isFile).map((e) =>
      e.name
    );
  } catch {
    return [];
  }
}

function parseJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(data));
  } catch {
    return null;
  }
}

function parseKeyEntry(value: Uint8Array): KeyEntry | null {
  const v = parseJson(value) as KeyEntry | null;
  const strings = (a: unknown) =>
    Array.isArray(a) && a.every((x) => typeof x === "string");
  if (
    v === null || typeof v.pubkey !== "string" || !strings(v.aliases) ||
    (v.retired !== undefined && !strings(v.retired))
  ) return null;
  return v;
}

function toRoomMessage(m: RoomMessage): RoomMessage {
  return {
    id: m.id,
    ts: m.ts,
    room_id: m.room_id,
    from_alias: m.from_alias,
    content: m.content,
  };
}

function withOwner(h: MsgHdrs | undefined, sessionId: string): MsgHdrs {
  const out = makeHeaders();
  for (const name of [SIG_HEADER, SIGNER_HEADER]) {
    const v = h?.get(name);
    if (v) out.set(name, v);
  }
  if (sessionId) out.set(OWNER_HEADER, sessionId);
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function apiCode(e: unknown): number | undefined {
  const code = (e as { code?: unknown })?.code;
  return typeof code === "number" ? code : undefined;
}

/**
 * Whether creating stream `name` failed only because it exists: another
 * process made it at the same moment ("subjects overlap", 10065) or with
 * other settings ("name already in use", 10058).
 */
async function madeMeanwhile(
  ctx: Context,
  name: string,
  e: unknown,
): Promise<boolean> {
  const code = apiCode(e);
  if (code !== 10058 && code !== 10065) return false;
  try {
    await ctx.jsm.streams.info(name);
    return true;
  } catch {
    return false;
  }
}

function isWrongSequence(e: unknown): boolean {
  return apiCode(e) === 10071 ||
    /wrong last sequence/.test(String((e as Error)?.message));
}

function isNotFound(e: unknown): boolean {
  return (e as Error)?.name === "StreamNotFoundError" || apiCode(e) === 10059;
}
