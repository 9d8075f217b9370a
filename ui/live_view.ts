/**
 * What `c2c ui` shows, kept current: the agents (liveness, pending counts,
 * claims), the rooms (members, message counts) and the traffic — direct
 * messages as they are queued and room posts as they are appended — built
 * from the broker's public reads ({@linkcode Broker} and its
 * {@linkcode Store}), so it works over any store. {@linkcode watchBroker}
 * says what changed; this re-reads just that: one inbox, one archive, one
 * room, one lease.
 *
 * The broker keeps no log of messages as such: a direct message is found in
 * the recipient's inbox (or, once drained, its archive) and a room post in
 * the room's history; the copies of a room post in members' inboxes carry
 * the room's id and are left to the history. Every message is shown once
 * (by id).
 *
 * @module
 */

import type { Broker } from "../lib/broker.ts";
import {
  type BrokerChange,
  type BrokerWatch,
  watchBroker,
} from "../lib/broker_watch.ts";
import { claimsOf } from "../lib/claims.ts";
import type { Liveness } from "../lib/lease.ts";
import type { Message, RoomMessage } from "../lib/message.ts";
import type { Registration } from "../lib/registry.ts";
import type { InboxOwner } from "../lib/store/store.ts";
import {
  MAX_BRANCH_LENGTH,
  MAX_STATUS_LENGTH,
  oneLine,
} from "../lib/status.ts";

/** An agent's status and branch, each one bounded inert line. */
function placeOf(row: Registration): Pick<AgentView, "status" | "git_branch"> {
  const out: Pick<AgentView, "status" | "git_branch"> = {};
  const status = oneLine(row.status, MAX_STATUS_LENGTH);
  if (status !== undefined) out.status = status;
  const branch = oneLine(row.git_branch, MAX_BRANCH_LENGTH);
  if (branch !== undefined) out.git_branch = branch;
  return out;
}

/** One agent, as the page shows it. */
export interface AgentView {
  /** Its alias. */
  alias: string;
  /** Its session. */
  session_id: string;
  /** Its client, when known. */
  client: string | null;
  /** `true` alive, `false` dead, `null` unknown (registered from a shell). */
  alive: Liveness;
  /** Messages waiting in its inbox. */
  pending: number;
  /** Its last register or refresh (ISO-8601). */
  last_seen: string;
  /** Its live file claims (empty where the store keeps none). */
  claims: ClaimView[];
  /** What it says it works on (`set_status`); the page hides it when dead. */
  status?: string;
  /** The git branch it works on. */
  git_branch?: string;
}

/** A live file claim of an agent. */
export interface ClaimView {
  /** The path or glob. */
  path: string;
  /** Why. */
  reason: string;
  /** Exclusive or shared. */
  exclusive: boolean;
}

/** One room, as the page lists it. */
export interface RoomView {
  /** Its id. */
  room_id: string;
  /** Its members' aliases. */
  members: string[];
  /** Messages in its history. */
  message_count: number;
}

/** One message of the traffic stream. */
export interface TrafficItem {
  /** The message id (a room post: the post's). */
  id: string;
  /** When it was sent (ISO-8601). */
  ts: string;
  /** Sender. */
  from: string;
  /** Recipient of a direct message; `null` for a room post. */
  to: string | null;
  /** The room of a room post; `null` for a direct message. */
  room_id: string | null;
  /** The body (cut to the view's content limit). */
  content: string;
  /** The body's full length in UTF-16 units, when `content` was cut. */
  cut?: number;
  /** A message's `event`, when it has one (a claim notice). */
  event?: string;
  /**
   * Order of discovery: breaks ties between messages of the same
   * millisecond (in a room's history or an inbox: file order).
   */
  seq: number;
}

/** What changed, for subscribers. */
export type LiveEvent =
  /** The whole agent list, after any change to it. */
  | { type: "agents"; agents: AgentView[] }
  /** The whole room list. */
  | { type: "rooms"; rooms: RoomView[] }
  /** New messages, oldest first; `seq` as in {@linkcode LiveSnapshot}. */
  | { type: "traffic"; items: TrafficItem[]; seq: number };

/** Everything at once (what a page gets when it connects). */
export interface LiveSnapshot {
  /** Agents, in registration order. */
  agents: AgentView[];
  /** Rooms, by id. */
  rooms: RoomView[];
  /** The newest messages, newest first. */
  traffic: TrafficItem[];
  /**
   * Every message found before this `seq` is accounted for: what a page
   * that has this snapshot asks {@linkcode LiveView.since} for.
   */
  seq: number;
}

/** Options of {@linkcode LiveView}. */
export interface LiveViewOptions {
  /** Messages kept for the stream (default 1000). */
  trafficLimit?: number;
  /** Longest body kept in the stream, in UTF-16 units (default 4000). */
  contentLimit?: number;
  /** Agent-list events at most this often (default every 100 ms). */
  agentsEveryMs?: number;
  /**
   * Every lease is probed again this often (default 2000 ms): a safety net
   * under the watch, which reports a death at once.
   */
  livenessEveryMs?: number;
  /** Called after a session's inbox was read (the human drains its own). */
  onInbox?(sessionId: string): void;
  /** Gets what failed in a pass (a damaged file, a store error). */
  onError?(error: unknown): void;
}

/** Ids remembered to show each message once. */
const SEEN_LIMIT = 50_000;
/** Archive lines read first when an archive changes. */
const ARCHIVE_TAIL = 50;
/** Most messages read from one archive or room in one pass. */
const MAX_READ = 5000;
/** Recent messages of each inbox, archive and room read at start. */
const START_DEPTH = 200;
/**
 * The kernel reports a dead holder's closed lease file a moment before it
 * drops the lock — a moment that grows on a busy machine: a lease that
 * still reads held after its event is probed again after each of these
 * delays (about 2 s in all; the periodic probe covers what is left).
 */
const RECHECK_DELAYS_MS = [30, 60, 120, 250, 500, 1000];

interface Dirty {
  all: boolean;
  registry: boolean;
  claims: boolean;
  inboxes: Map<string, { session_id?: string; alias?: string }>;
  archives: Map<string, { session_id?: string; alias?: string }>;
  rooms: Set<string>;
  leases: Set<string>;
  /** Sessions to probe again, with the index of their next follow-up delay. */
  rechecks: Map<string, number>;
}

function clean(): Dirty {
  return {
    all: false,
    registry: false,
    claims: false,
    inboxes: new Map(),
    archives: new Map(),
    rooms: new Set(),
    leases: new Set(),
    rechecks: new Map(),
  };
}

function owner(row: Registration): InboxOwner {
  return { session_id: row.session_id, alias: row.alias };
}

/**
 * The live model behind `c2c ui`. {@linkcode LiveView.start} reads the
 * starting state and starts watching; subscribers get each change.
 *
 * Requires what the broker's store requires (the file store: `--allow-read`
 * and `--allow-write` on the broker root).
 *
 * @example Usage
 * ```ts ignore
 * import { LiveView } from "./live_view.ts";
 * const view = new LiveView(broker);
 * await view.start();
 * view.subscribe((e) => console.log(e.type));
 * view.snapshot().agents; // every agent
 * view.close();
 * ```
 */
export class LiveView implements Disposable {
  readonly #broker: Broker;
  readonly #o: Required<Omit<LiveViewOptions, "onInbox" | "onError">>;
  readonly #onInbox: ((sessionId: string) => void) | undefined;
  readonly #onError: (error: unknown) => void;
  readonly #listeners = new Set<(event: LiveEvent) => void>();
  #rows: readonly Registration[] = [];
  #agents = new Map<string, AgentView>();
  #claims = new Map<string, ClaimView[]>();
  #rooms = new Map<string, RoomView>();
  #traffic: TrafficItem[] = [];
  #seen = new Map<string, true>();
  #seq = 0;
  #published = 0;
  #dirty = clean();
  #running: Promise<void> | null = null;
  #again = false;
  #watch: BrokerWatch | null = null;
  #every: ReturnType<typeof setInterval> | undefined;
  #agentsTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #recheckTimers = new Set<ReturnType<typeof setTimeout>>();
  #agentsAt = -Infinity;
  #agentsSent = "";
  #roomsSent = "";
  #closed = false;

  /**
   * Sets the view up; nothing is read before {@linkcode LiveView.start}.
   *
   * @param broker The broker to show.
   * @param options Limits, timing and callbacks.
   */
  constructor(broker: Broker, options: LiveViewOptions = {}) {
    this.#broker = broker;
    this.#o = {
      trafficLimit: options.trafficLimit ?? 1000,
      contentLimit: options.contentLimit ?? 4000,
      agentsEveryMs: options.agentsEveryMs ?? 100,
      livenessEveryMs: options.livenessEveryMs ?? 2000,
    };
    this.#onInbox = options.onInbox;
    this.#onError = options.onError ?? (() => {});
  }

  /** The `seq` of {@linkcode LiveView.snapshot}, without the copy. */
  get seq(): number {
    return this.#published;
  }

  /** Whether the view runs on change events (`false`: on a timer). */
  get live(): boolean {
    return this.#watch?.mode === "events";
  }

  /**
   * Starts watching, then reads the starting state. Changes made during
   * the read are caught by the watch (and shown once).
   */
  async start(): Promise<void> {
    this.#watch = watchBroker(this.#broker, (changes) => this.#hint(changes), {
      onError: (e) => this.#onError(e),
    });
    await this.#load(true);
    this.#agentsSent = JSON.stringify(this.agents());
    this.#roomsSent = JSON.stringify(this.rooms());
    this.#every = setInterval(() => {
      for (const row of this.#rows) {
        if (!this.#dirty.rechecks.has(row.session_id)) {
          this.#dirty.rechecks.set(row.session_id, RECHECK_DELAYS_MS.length);
        }
      }
      this.#runSoon();
    }, this.#o.livenessEveryMs);
  }

  /**
   * Calls `listener` with every change from now on.
   *
   * @param listener Gets each event.
   * @returns Unsubscribes.
   */
  subscribe(listener: (event: LiveEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** @returns The agents, in registration order. */
  agents(): AgentView[] {
    return this.#rows.flatMap((r) => {
      const a = this.#agents.get(r.session_id);
      return a ? [{ ...a, claims: this.#claims.get(r.session_id) ?? [] }] : [];
    });
  }

  /** @returns The rooms, by id. */
  rooms(): RoomView[] {
    return [...this.#rooms.values()].sort((a, b) =>
      a.room_id < b.room_id ? -1 : 1
    );
  }

  /** @returns Everything the page shows, the traffic newest first. */
  snapshot(): LiveSnapshot {
    return {
      agents: this.agents(),
      rooms: this.rooms(),
      traffic: [...this.#traffic],
      seq: this.#published,
    };
  }

  /**
   * The messages a page that has the snapshot (or events) up to `seq` has
   * not seen, oldest first; `null` when `seq` is not one of this view's.
   *
   * @param seq The page's `seq`.
   * @returns The messages since, or `null`.
   */
  since(seq: number): TrafficItem[] | null {
    if (!Number.isSafeInteger(seq) || seq < 0 || seq > this.#published) {
      return null;
    }
    return this.#traffic.filter((i) => i.seq >= seq).reverse();
  }

  /**
   * Re-reads an inbox soon: what the human sent shows even where the store
   * offers no change feed.
   *
   * @param who The inbox's session or alias.
   */
  touchInbox(who: { session_id?: string; alias?: string }): void {
    this.#dirty.inboxes.set(`${who.session_id}\0${who.alias}`, who);
    this.#runSoon();
  }

  /**
   * Re-reads a room soon.
   *
   * @param roomId The room.
   */
  touchRoom(roomId: string): void {
    this.#dirty.rooms.add(roomId);
    this.#runSoon();
  }

  /** Resolves once no pass is running. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** Stops watching. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#watch?.close();
    clearInterval(this.#every);
    clearTimeout(this.#agentsTimer);
    for (const timer of this.#recheckTimers) clearTimeout(timer);
    this.#recheckTimers.clear();
    this.#listeners.clear();
  }

  /** Stops at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.close();
  }

  #hint(changes: readonly BrokerChange[]): void {
    const d = this.#dirty;
    for (const c of changes) {
      switch (c.kind) {
        case "unknown":
          d.all = true;
          break;
        case "registry":
          d.registry = true;
          break;
        case "claims":
          d.claims = true;
          break;
        case "room":
          d.rooms.add(c.room_id);
          break;
        case "lease":
          d.leases.add(c.session_id);
          break;
        case "inbox":
          d.inboxes.set(`${c.session_id}\0${c.alias}`, c);
          break;
        case "archive":
          d.archives.set(`${c.session_id}\0${c.alias}`, c);
          break;
      }
    }
    this.#runSoon();
  }

  #runSoon(): void {
    if (this.#closed) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#loop();
  }

  async #loop(): Promise<void> {
    try {
      do {
        this.#again = false;
        const dirty = this.#dirty;
        this.#dirty = clean();
        try {
          await this.#pass(dirty);
        } catch (e) {
          this.#onError(e);
        }
      } while (this.#again && !this.#closed);
    } finally {
      this.#running = null;
    }
  }

  async #pass(d: Dirty): Promise<void> {
    const fresh: TrafficItem[] = [];
    if (d.all) {
      await this.#load(false, fresh);
    } else {
      if (d.registry) await this.#readRegistry();
      for (const sessionId of d.leases) await this.#probe(sessionId, 0);
      for (const [sessionId, next] of d.rechecks) {
        if (!d.leases.has(sessionId)) await this.#probe(sessionId, next);
      }
      for (const who of d.inboxes.values()) await this.#readInbox(who, fresh);
      for (const who of d.archives.values()) {
        await this.#readArchive(who, ARCHIVE_TAIL, fresh);
      }
      for (const roomId of d.rooms) await this.#readRoom(roomId, fresh);
      if (d.claims || d.registry) await this.#readClaims();
    }
    this.#publish(fresh);
  }

  /** Reads everything: at start (the snapshot) and after lost events. */
  async #load(first: boolean, fresh: TrafficItem[] = []): Promise<void> {
    // A damaged registry leaves the agents as they were; rooms still show.
    await this.#guard(() => this.#readRegistry());
    const store = this.#broker.store;
    const depth = first ? START_DEPTH : ARCHIVE_TAIL;
    for (const row of this.#rows) {
      await this.#guard(async () => {
        await this.#readInbox(owner(row), fresh);
        await this.#readArchive(owner(row), depth, fresh);
      });
    }
    await this.#guard(async () => {
      const ids = await store.roomIds();
      for (const gone of this.#rooms.keys()) {
        if (!ids.includes(gone)) this.#rooms.delete(gone);
      }
      for (const roomId of ids) {
        await this.#guard(() => this.#readRoom(roomId, fresh, depth));
      }
    });
    await this.#readClaims();
    if (first) {
      this.#traffic = [];
      this.#remember(fresh);
      fresh.length = 0;
      this.#published = this.#seq;
    }
  }

  async #guard(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.#onError(e);
    }
  }

  async #readRegistry(): Promise<void> {
    const store = this.#broker.store;
    const rows = await store.registrations();
    const [alive, pending] = await Promise.all([
      Promise.all(rows.map((r) => store.liveness(r))),
      store.pendingCounts(rows.map(owner)),
    ]);
    const agents = new Map<string, AgentView>();
    rows.forEach((r, i) => {
      agents.set(r.session_id, {
        alias: r.alias,
        session_id: r.session_id,
        client: r.client,
        alive: alive[i],
        pending: pending[i],
        last_seen: r.last_seen,
        claims: [],
        ...placeOf(r),
      });
    });
    this.#rows = rows;
    this.#agents = agents;
  }

  /**
   * Probes a session's lease; while it reads held, probes it again after
   * `RECHECK_DELAYS_MS[next]` (none when `next` is past the list).
   */
  async #probe(sessionId: string, next: number): Promise<void> {
    const agent = this.#agents.get(sessionId);
    if (!agent) return;
    agent.alive = await this.#broker.store.liveness({ session_id: sessionId });
    if (next < RECHECK_DELAYS_MS.length && agent.alive === true) {
      if (this.#closed) return;
      const timer = setTimeout(() => {
        this.#recheckTimers.delete(timer);
        this.#dirty.rechecks.set(sessionId, next + 1);
        this.#runSoon();
      }, RECHECK_DELAYS_MS[next]);
      this.#recheckTimers.add(timer);
    }
  }

  /** The registration a hint names (by session, else alias). */
  #row(who: { session_id?: string; alias?: string }): Registration | undefined {
    return this.#rows.find((r) =>
      who.session_id !== undefined
        ? r.session_id === who.session_id
        : r.alias === who.alias
    );
  }

  async #owner(
    who: { session_id?: string; alias?: string },
  ): Promise<InboxOwner | null> {
    let row = this.#row(who);
    if (!row) {
      // A registration newer than the view's: its first message can come
      // before the registry's own event.
      await this.#readRegistry();
      row = this.#row(who);
    }
    if (row) return owner(row);
    // An inbox nobody is registered for (the file store keys by session).
    return who.session_id !== undefined
      ? { session_id: who.session_id, alias: who.alias ?? "" }
      : null;
  }

  async #readInbox(
    who: { session_id?: string; alias?: string },
    fresh: TrafficItem[],
  ): Promise<void> {
    const inbox = await this.#owner(who);
    if (!inbox) return;
    const pending = await this.#broker.store.pending(inbox);
    for (const m of pending) this.#direct(m, fresh);
    const agent = this.#agents.get(inbox.session_id);
    if (agent) agent.pending = pending.length;
    this.#onInbox?.(inbox.session_id);
  }

  async #readArchive(
    who: { session_id?: string; alias?: string },
    depth: number,
    fresh: TrafficItem[],
  ): Promise<void> {
    const archive = await this.#owner(who);
    if (!archive) return;
    // Read deeper only while every message read is new: a large drain.
    for (let limit = depth;; limit *= 10) {
      const messages = await this.#broker.store.archive(archive, limit);
      const unseen = messages.filter((m) => !this.#seen.has(m.id));
      if (
        unseen.length < messages.length || messages.length < limit ||
        limit >= MAX_READ
      ) {
        for (const m of messages) this.#direct(m, fresh);
        return;
      }
    }
  }

  async #readRoom(
    roomId: string,
    fresh: TrafficItem[],
    depth = MAX_READ,
  ): Promise<void> {
    const store = this.#broker.store;
    const [members, count] = await Promise.all([
      store.members(roomId),
      store.roomCount(roomId),
    ]);
    // A hint for a room not (yet, or any more) there.
    if (members.length === 0 && count === 0 && !this.#rooms.has(roomId)) return;
    const known = this.#rooms.get(roomId)?.message_count ?? 0;
    // Histories only grow (a repair may shorten one: nothing new then).
    const added = this.#rooms.has(roomId) ? count - known : count;
    if (added > 0) {
      const posts = await store.roomHistory(roomId, {
        limit: Math.min(added, depth),
      });
      for (const m of posts) this.#post(m, fresh);
    }
    this.#rooms.set(roomId, {
      room_id: roomId,
      members: members.map((m) => m.alias),
      message_count: count,
    });
  }

  async #readClaims(): Promise<void> {
    const claims = new Map<string, ClaimView[]>();
    try {
      const { claims: live } = await claimsOf(this.#broker).list();
      for (const c of live) {
        const list = claims.get(c.session_id) ?? [];
        list.push({ path: c.path, reason: c.reason, exclusive: c.exclusive });
        claims.set(c.session_id, list);
      }
    } catch {
      // A store without claims, or a damaged claim file: the agents are
      // still worth showing (`c2c health` reports the file).
    }
    this.#claims = claims;
  }

  /** A direct message found in an inbox or archive (room copies skipped). */
  #direct(m: Message, fresh: TrafficItem[]): void {
    if (m.room_id !== undefined || this.#seen.has(m.id)) return;
    this.#see(m.id);
    const item = this.#item(m, m.to_alias, null);
    if (m.event !== undefined) item.event = m.event;
    fresh.push(item);
  }

  #post(m: RoomMessage, fresh: TrafficItem[]): void {
    if (this.#seen.has(m.id)) return;
    this.#see(m.id);
    fresh.push(this.#item(m, null, m.room_id));
  }

  #item(
    m: Message | RoomMessage,
    to: string | null,
    roomId: string | null,
  ): TrafficItem {
    const limit = this.#o.contentLimit;
    const item: TrafficItem = {
      id: m.id,
      ts: m.ts,
      from: m.from_alias,
      to,
      room_id: roomId,
      content: m.content.length > limit ? m.content.slice(0, limit) : m.content,
      seq: this.#seq++,
    };
    if (m.content.length > limit) item.cut = m.content.length;
    return item;
  }

  #see(id: string): void {
    this.#seen.set(id, true);
    if (this.#seen.size > SEEN_LIMIT) {
      // Maps iterate in insertion order: the oldest goes.
      this.#seen.delete(this.#seen.keys().next().value!);
    }
  }

  /** Adds messages to the stream, newest first, within its limit. */
  #remember(items: TrafficItem[]): void {
    const merged = [...items, ...this.#traffic];
    merged.sort(newestFirst);
    this.#traffic = merged.slice(0, this.#o.trafficLimit);
  }

  #publish(fresh: TrafficItem[]): void {
    // Every message found so far is in the stream (or was pushed out of it).
    this.#published = this.#seq;
    if (fresh.length > 0) {
      this.#remember(fresh);
      const items = [...fresh].sort(newestFirst).reverse();
      this.#emit({ type: "traffic", items, seq: this.#published });
    }
    const rooms = JSON.stringify(this.rooms());
    if (rooms !== this.#roomsSent) {
      this.#roomsSent = rooms;
      this.#emit({ type: "rooms", rooms: this.rooms() });
    }
    this.#agentsSoon();
  }

  /**
   * Sends the agent list when it changed, at most every `agentsEveryMs`:
   * under heavy traffic every message changes a pending count.
   */
  #agentsSoon(): void {
    if (this.#agentsTimer !== undefined || this.#closed) return;
    const wait = this.#agentsAt + this.#o.agentsEveryMs - performance.now();
    const send = () => {
      this.#agentsTimer = undefined;
      if (this.#closed) return;
      const agents = this.agents();
      const text = JSON.stringify(agents);
      if (text === this.#agentsSent) return;
      this.#agentsSent = text;
      this.#agentsAt = performance.now();
      this.#emit({ type: "agents", agents });
    };
    if (wait <= 0) send();
    else this.#agentsTimer = setTimeout(send, wait);
  }

  #emit(event: LiveEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (e) {
        this.#onError(e);
      }
    }
  }
}

function newestFirst(a: TrafficItem, b: TrafficItem): number {
  if (a.ts !== b.ts) return a.ts < b.ts ? 1 : -1;
  return b.seq - a.seq;
}
