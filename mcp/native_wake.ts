/**
 * Native idle wake, on the recipient's side: the session's own MCP server
 * watches its inbox and, when messages wait and the client is idle, drains
 * them and pushes their envelopes through the client's native path (Claude
 * Code's messaging socket, Codex's app-server daemon). A send never waits on
 * a wake, and a failed wake never fails a send: the sender only appends to
 * the inbox.
 *
 * Exactly once: the messages are drained first and pushed second, so a
 * `poll_inbox` or a hook racing the wake takes each message at most once
 * between them. The endpoint is opened before the drain, so a dead socket
 * leaves the messages in the inbox; a push that fails after the drain puts
 * them back ({@linkcode Broker.restoreMessages}).
 *
 * One wake per burst: inbox events are debounced ({@linkcode Burst}), and a
 * busy client is not woken — its PostToolUse / Stop hooks deliver — but
 * looked at again shortly, in case its turn ends without a tool call.
 *
 * @module
 */

import { basename } from "node:path";
import type { Broker } from "../lib/broker.ts";
import type { Message } from "../lib/message.ts";
import { withDeliveryLock } from "../lib/delivery_lock.ts";
import { Burst } from "../wake/burst.ts";
import { DirWatcher } from "../wake/dir_watcher.ts";

/** Whether the client can take a wake now. */
export type TargetState =
  /** At its prompt: wake it. */
  | "idle"
  /** In a turn (or a dialog): its hooks deliver; look again soon. */
  | "busy"
  /** Cannot tell: wake once messages have waited a grace period. */
  | "unknown"
  /** No way to wake it now (no thread known, no daemon): wait for a change. */
  | "unavailable";

/** An opened endpoint, ready to take the drained messages. */
export interface WakeDelivery extends Disposable {
  /**
   * Pushes the messages to the client.
   *
   * @param messages Drained messages, oldest first.
   */
  deliver(messages: readonly Message[]): Promise<void>;
}

/** A client's native wake path. */
export interface WakeTarget {
  /** Name for logs and errors (`claude-socket`, `codex-daemon`). */
  readonly name: string;
  /** Whether the client is idle. */
  state(): Promise<TargetState>;
  /** Connects to the endpoint (before anything is drained). */
  open(): Promise<WakeDelivery>;
}

/** What one wake did (for tests, benches and `onWake`). */
export interface WakeRecord {
  /** Message ids pushed. */
  ids: string[];
  /** When the push completed (`Date.now()`). */
  at: number;
}

/** Options of {@linkcode NativeWaker}. */
export interface NativeWakerOptions {
  /** The broker. */
  broker: Broker;
  /** The session whose inbox to watch (it may change after a rename). */
  sessionId: () => string;
  /** The client's wake path. */
  target: WakeTarget;
  /** Fire after the inbox was quiet this long (default 25 ms). */
  quietMs?: number;
  /** Fire at the latest this long after the first arrival (default 200 ms). */
  maxWaitMs?: number;
  /** Look again this long after finding the client busy (default 400 ms). */
  busyRecheckMs?: number;
  /** With an unknown state, wake once messages waited this long (default 300 ms). */
  unknownGraceMs?: number;
  /** Retry this long after a failed wake (default 2 s, doubling to 30 s). */
  retryMs?: number;
  /** Most messages per wake (default 50; more follow in the next wake). */
  limit?: number;
  /** About this many bytes of messages per wake (default 256 KiB). */
  maxBytes?: number;
  /** Called after each wake. */
  onWake?(record: WakeRecord): void;
  /** Called when a wake fails (the messages stay pending). */
  onError?(error: unknown): void;
}

/**
 * Watches one session's inbox and wakes its idle client.
 *
 * Requires `--allow-read` and `--allow-write` on the broker root, plus what
 * the target needs.
 *
 * @example Usage
 * ```ts ignore
 * import { NativeWaker } from "./native_wake.ts";
 * const waker = new NativeWaker({ broker, sessionId: () => id, target });
 * waker.start();
 * // … later
 * waker.stop();
 * ```
 */
export class NativeWaker {
  readonly #o: Required<Omit<NativeWakerOptions, "onWake" | "onError">>;
  readonly #onWake?: (record: WakeRecord) => void;
  readonly #onError?: (error: unknown) => void;
  readonly #burst: Burst;
  #watcher: DirWatcher | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running = false;
  #again = false;
  #stopped = true;
  #pendingSince: number | null = null;
  #failures = 0;
  /** Wakes delivered so far. */
  wakes = 0;

  /**
   * @param options Broker, session, target and timing.
   */
  constructor(options: NativeWakerOptions) {
    this.#o = {
      quietMs: 25,
      maxWaitMs: 200,
      busyRecheckMs: 400,
      unknownGraceMs: 300,
      retryMs: 2_000,
      limit: 50,
      maxBytes: 256 * 1024,
      ...options,
    };
    this.#onWake = options.onWake;
    this.#onError = options.onError;
    this.#burst = new Burst({
      quietMs: this.#o.quietMs,
      maxWaitMs: this.#o.maxWaitMs,
      fire: () => this.#attempt(),
    });
  }

  /** Starts watching; anything already waiting counts as a burst. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    // Watch the root, not the inbox file: the file may not exist yet, and
    // registry.json (where a Codex thread id arrives) sits beside it.
    this.#watcher = new DirWatcher({
      paths: [this.#o.broker.root],
      onChange: (paths) => {
        const { paths: files } = this.#o.broker;
        const inbox = basename(files.inbox(this.#o.sessionId()));
        const registry = basename(files.registry);
        for (const path of paths) {
          const name = basename(path);
          if (name === inbox || name === registry) {
            return this.#burst.poke();
          }
        }
      },
      onError: (e) => this.#onError?.(e),
    });
    this.#burst.poke();
  }

  /** Stops watching and cancels anything scheduled. */
  stop(): void {
    this.#stopped = true;
    this.#burst.cancel();
    clearTimeout(this.#timer);
    this.#watcher?.close();
    this.#watcher = null;
  }

  #later(ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#attempt(), ms);
  }

  #attempt(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    (async () => {
      do {
        this.#again = false;
        try {
          await this.#wakeOnce();
        } catch (e) {
          this.#onError?.(e);
        }
      } while (this.#again && !this.#stopped);
    })().finally(() => this.#running = false);
  }

  async #wakeOnce(): Promise<void> {
    const { broker, target } = this.#o;
    const sessionId = this.#o.sessionId();
    if (!broker.registration(sessionId)) return;
    const pending = broker.pendingMessages(sessionId);
    if (pending.length === 0) {
      this.#pendingSince = null;
      clearTimeout(this.#timer);
      return;
    }
    this.#pendingSince ??= Date.now();
    const state = await target.state();
    if (state === "unavailable") return; // a file event brings us back
    if (state === "busy") return this.#later(this.#o.busyRecheckMs);
    if (state === "unknown") {
      const waited = Date.now() - this.#pendingSince;
      if (waited < this.#o.unknownGraceMs) {
        return this.#later(this.#o.unknownGraceMs - waited);
      }
    }
    let delivery: WakeDelivery;
    try {
      delivery = await target.open();
    } catch (e) {
      return this.#failed(e);
    }
    try {
      // Under the session's delivery lock, like the hooks: a Stop hook that
      // shows messages before taking them cannot interleave with this drain
      // and push and show the same message twice.
      const outcome = await withDeliveryLock(
        broker.paths,
        sessionId,
        async () => {
          const { messages } = await broker.drainMessages(
            sessionId,
            this.#select(broker.pendingMessages(sessionId)),
          );
          if (messages.length === 0) return { messages }; // taken first elsewhere
          try {
            await delivery.deliver(messages);
            return { messages };
          } catch (e) {
            await broker.restoreMessages(sessionId, messages);
            return { messages, error: e };
          }
        },
      );
      const { messages } = outcome;
      if (messages.length === 0) return;
      if ("error" in outcome) return this.#failed(outcome.error);
      this.#failures = 0;
      this.wakes++;
      this.#onWake?.({ ids: messages.map((m) => m.id), at: Date.now() });
      // More than one wake holds: the rest follows right away (a busy client
      // queues it after the turn this wake started).
      if (broker.pendingMessages(sessionId).length > 0) this.#again = true;
      else this.#pendingSince = null;
    } finally {
      delivery[Symbol.dispose]();
    }
  }

  #select(pending: readonly Message[]): string[] {
    const ids: string[] = [];
    let bytes = 0;
    for (const m of pending) {
      if (ids.length >= this.#o.limit) break;
      bytes += m.content.length + 200;
      if (ids.length > 0 && bytes > this.#o.maxBytes) break;
      ids.push(m.id);
    }
    return ids;
  }

  #failed(error: unknown): void {
    this.#onError?.(error);
    const delay = Math.min(30_000, this.#o.retryMs * 2 ** this.#failures);
    this.#failures++;
    this.#later(delay);
  }
}
