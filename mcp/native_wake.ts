/**
 * Native idle wake, on the recipient's side: the session's own MCP server
 * watches its inbox and, when messages wait and the client is idle, drains
 * them and pushes their envelopes through the client's native path (Claude
 * Code's messaging socket, Codex's app-server daemon). A send never waits on
 * a wake, and a failed wake never fails a send: the sender only appends to
 * the inbox.
 *
 * Exactly once: the messages are drained first and pushed second, under the
 * session's delivery lock ({@linkcode deliver}), so a `poll_inbox` or a hook
 * racing the wake takes each message at most once between them. The endpoint
 * is opened before the drain, so a dead socket leaves the messages in the
 * inbox; a push that fails after the drain puts them back.
 *
 * One wake per burst: inbox events are debounced ({@linkcode InboxWatch}),
 * and a busy client is not woken — its PostToolUse / Stop hooks deliver —
 * but looked at again shortly, in case its turn ends without a tool call.
 *
 * @module
 */

import { basename, dirname } from "node:path";
import type { Broker } from "../lib/broker.ts";
import { deliver, MAX_ALONE_BYTES } from "../lib/delivery.ts";
import { renderEnvelope } from "../lib/envelope.ts";
import type { Message } from "../lib/message.ts";
import { jsonBytes } from "../lib/_bytes.ts";
import { InboxWatch } from "../wake/inbox_watch.ts";

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
  /**
   * Most bytes of wake text per wake (default 256 KiB), measured by `cost`;
   * one message too big to share a wake goes alone.
   */
  maxBytes?: number;
  /**
   * Bytes one message adds to what the target sends (default
   * {@linkcode wakeCost}, which bounds both native targets' forms).
   */
  cost?(message: Message): number;
  /** Called after each wake. */
  onWake?(record: WakeRecord): void;
  /** Called when a wake fails (the messages stay pending). */
  onError?(error: unknown): void;
}

/**
 * An upper bound on what one message adds to a native wake: its envelope as
 * a JSON string (both targets send JSON: Claude Code's socket line, Codex's
 * JSON-RPC), the `&lt;` that keeps a body from closing Claude Code's
 * `<cross-session-message>` wrapper, and a wrapper of its own (a sender's
 * group, at worst one per message).
 *
 * @param message The message.
 * @returns Bytes.
 */
export function wakeCost(message: Message): number {
  const envelope = renderEnvelope(message);
  const wrappers = envelope.match(/<\/?cross-session-message/gi)?.length ?? 0;
  return jsonBytes(envelope) + 3 * wrappers + 96 +
    2 * jsonBytes(message.from_alias);
}

/** The wake text's own lines (the header, the JSON frame), at most. */
const WAKE_OVERHEAD = 1024;

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
  readonly #watch: InboxWatch;
  #pendingSince: number | null = null;
  #failures = 0;
  #retryAt = 0;
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
      cost: wakeCost,
      ...options,
    };
    this.#onWake = options.onWake;
    this.#onError = options.onError;
    const { paths } = this.#o.broker;
    const signal = () => paths.signal(this.#o.sessionId());
    this.#watch = new InboxWatch({
      root: [...new Set([dirname(signal()), this.#o.broker.root])],
      // The inbox's signal, and registry.json, where a Codex thread id
      // arrives (with the file store).
      relevant: (name) =>
        name === basename(signal()) || name === basename(paths.registry),
      pass: () => this.#wakeOnce(),
      quietMs: this.#o.quietMs,
      maxWaitMs: this.#o.maxWaitMs,
      onError: (e) => this.#onError?.(e),
    });
  }

  /** Starts watching; anything already waiting counts as a burst. */
  start(): void {
    this.#watch.start();
  }

  /** Stops watching and cancels anything scheduled. */
  stop(): void {
    this.#watch.stop();
  }

  async #wakeOnce(): Promise<void> {
    // After a failed wake, not before the retry is due: putting the
    // messages back changes the inbox, which would bring us straight back.
    const wait = this.#retryAt - Date.now();
    if (wait > 0) return this.#watch.later(wait);
    const { broker, target } = this.#o;
    const sessionId = this.#o.sessionId();
    if (!(await broker.registration(sessionId))) return;
    if ((await broker.pendingMessages(sessionId)).length === 0) {
      this.#pendingSince = null;
      this.#watch.cancelLater();
      return;
    }
    this.#pendingSince ??= Date.now();
    const state = await target.state();
    if (state === "unavailable") return; // a file event brings us back
    if (state === "busy") return this.#watch.later(this.#o.busyRecheckMs);
    if (state === "unknown") {
      const waited = Date.now() - this.#pendingSince;
      if (waited < this.#o.unknownGraceMs) {
        return this.#watch.later(this.#o.unknownGraceMs - waited);
      }
    }
    let delivery: WakeDelivery;
    try {
      delivery = await target.open();
    } catch (e) {
      return this.#failed(e);
    }
    try {
      const r = await deliver(broker, sessionId, {
        order: "take-then-show",
        via: "wake",
        bounds: {
          limit: this.#o.limit,
          maxBytes: this.#o.maxBytes,
          aloneBytes: Math.max(this.#o.maxBytes, MAX_ALONE_BYTES),
          cost: this.#o.cost,
          overhead: WAKE_OVERHEAD,
        },
        show: ({ messages }) => delivery.deliver(messages),
      });
      if (r.error !== undefined) return this.#failed(r.error);
      if (r.delivered.length === 0) return; // taken first elsewhere
      this.#failures = 0;
      this.wakes++;
      this.#onWake?.({ ids: r.delivered.map((m) => m.id), at: Date.now() });
      // More than one wake holds: the rest follows right away (a busy client
      // queues it after the turn this wake started).
      if (r.remaining > 0) this.#watch.runSoon();
      else this.#pendingSince = null;
    } finally {
      delivery[Symbol.dispose]();
    }
  }

  #failed(error: unknown): void {
    this.#onError?.(error);
    const delay = Math.min(30_000, this.#o.retryMs * 2 ** this.#failures);
    this.#failures++;
    this.#retryAt = Date.now() + delay;
    this.#watch.later(delay);
  }
}
