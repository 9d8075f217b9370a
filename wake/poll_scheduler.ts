/**
 * Decides when to type a poll line: once per burst of messages, as soon as
 * the first one lands, and not again while the agent has not yet polled.
 *
 * The scheduler remembers which message ids a poll line already announced.
 * A scan that finds unannounced messages triggers a new line only when none
 * of the announced ones is still pending, i.e. the agent has polled since:
 * five sends in a row give one line (the agent's one poll drains all five),
 * while a message that arrives right after a poll gets its own line even if
 * the scan never saw the inbox empty. If the agent leaves messages unread
 * for `remindMs`, one reminder goes out (a line typed while the client was
 * not ready may have been lost), and then one per `remindMs` while new
 * messages keep arriving unread; an agent that ignores a quiet inbox is not
 * nagged.
 *
 * Nothing here polls: it acts on {@linkcode PollScheduler.update} calls
 * (from the inbox watcher) and on one timer at a time.
 *
 * @module
 */

/** Options of {@linkcode PollScheduler}. */
export interface PollSchedulerOptions {
  /** Types the poll line for `count` waiting messages. */
  inject(count: number): Promise<void>;
  /**
   * Whether a line may be typed now: `0` yes, a positive number of ms to
   * wait (a timer retries then), or `Infinity` to wait for
   * {@linkcode PollScheduler.retry} (e.g. the user is typing).
   */
  gate?(): number;
  /** Remind after this long when messages stay unread (ms). */
  remindMs?: number;
  /** Clock (ms), for tests. */
  now?(): number;
  /** Called when `inject` throws (the next update tries again). */
  onError?(error: unknown): void;
}

/** Default reminder interval: one minute. */
export const DEFAULT_REMIND_MS = 60_000;

const RETRY_AFTER_ERROR_MS = 1000;

/**
 * Turns inbox scans into debounced poll-line injections.
 *
 * @example Usage
 * ```ts
 * import { PollScheduler } from "./poll_scheduler.ts";
 * const lines: number[] = [];
 * const s = new PollScheduler({ inject: async (n) => { lines.push(n); } });
 * s.update([{ id: "a" }]);
 * s.update([{ id: "a" }, { id: "b" }]); // same burst: no second line
 * s.dispose();
 * ```
 */
export class PollScheduler {
  readonly #options: PollSchedulerOptions;
  readonly #remindMs: number;
  readonly #now: () => number;
  #pending: string[] = [];
  #announced = new Set<string>();
  #lastInjectAt = -Infinity;
  #injecting = false;
  #reminded = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #disposed = false;
  #injections = 0;

  /**
   * Creates a scheduler.
   *
   * @param options Injection callback, gate and timings.
   */
  constructor(options: PollSchedulerOptions) {
    this.#options = options;
    this.#remindMs = options.remindMs ?? DEFAULT_REMIND_MS;
    this.#now = options.now ?? (() => performance.now());
  }

  /** How many poll lines were typed so far. */
  get injections(): number {
    return this.#injections;
  }

  /**
   * Reports the messages now pending (the latest scan of the inbox).
   *
   * @param messages Pending messages, any order.
   */
  update(messages: readonly { id: string }[]): void {
    this.#pending = messages.map((m) => m.id);
    const still = new Set(this.#pending);
    for (const id of this.#announced) {
      if (!still.has(id)) this.#announced.delete(id);
    }
    this.#evaluate();
  }

  /** Tries again now: call when a gate that said `Infinity` opens. */
  retry(): void {
    this.#evaluate();
  }

  /** Forgets what was announced (a new client process starts fresh). */
  reset(): void {
    this.#announced.clear();
    this.#lastInjectAt = -Infinity;
    this.#reminded = false;
    this.#evaluate();
  }

  /** Stops the timer; no more injections. */
  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#timer);
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#evaluate(), Math.max(1, ms));
  }

  #evaluate(): void {
    if (this.#disposed || this.#injecting) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const pending = this.#pending;
    if (pending.length === 0) return;
    const fresh = pending.some((id) => !this.#announced.has(id));
    // Everything was announced and a reminder already went out: wait for
    // the agent, or for new messages.
    if (!fresh && this.#reminded) return;
    // The agent has not polled since the last line: it will get these too.
    const outstanding = pending.some((id) => this.#announced.has(id));
    const now = this.#now();
    if (outstanding && now - this.#lastInjectAt < this.#remindMs) {
      return this.#schedule(this.#lastInjectAt + this.#remindMs - now);
    }
    const wait = this.#options.gate?.() ?? 0;
    if (wait === Infinity) return;
    if (wait > 0) return this.#schedule(wait);
    void this.#inject(pending, !fresh);
  }

  async #inject(
    pending: readonly string[],
    reminder: boolean,
  ): Promise<void> {
    this.#injecting = true;
    this.#reminded = reminder;
    for (const id of pending) this.#announced.add(id);
    this.#lastInjectAt = this.#now();
    this.#injections++;
    let failed = false;
    try {
      await this.#options.inject(pending.length);
    } catch (e) {
      // Announce them again later; a retry loop would spin on a lasting fault.
      failed = true;
      for (const id of pending) this.#announced.delete(id);
      this.#options.onError?.(e);
    } finally {
      this.#injecting = false;
    }
    if (failed) this.#schedule(RETRY_AFTER_ERROR_MS);
    else this.#evaluate();
  }
}
