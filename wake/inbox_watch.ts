/**
 * The watch-and-coalesce loop of every path that waits for messages and
 * delivers them on its own: Claude Code's rewake waiter, the MCP server's
 * native wake and its channel push. It watches the broker root
 * ({@linkcode DirWatcher}), folds each burst of inbox events into one
 * ({@linkcode Burst}), and runs the path's `pass` — look at the inbox,
 * deliver — never two at once: a trigger during a pass runs one more pass
 * after it, so nothing that arrived meanwhile is missed.
 *
 * Events are a hint, never the truth: a pass reads the inbox itself. When the
 * watch cannot start or dies (inotify limits, a removed root), passes run on
 * a timer instead, so messages are still found, only later.
 *
 * Requires `--allow-read` on the broker root.
 *
 * @module
 */

import { basename } from "node:path";
import { Burst } from "./burst.ts";
import { DirWatcher } from "./dir_watcher.ts";

/** Options of {@linkcode InboxWatch}. */
export interface InboxWatchOptions {
  /**
   * The directory (or directories) to watch: where the session's signal
   * file is (`paths.signal`: the inbox in the file store's root, or the NATS
   * store's local `signals/`), and `registry.json`'s where that matters.
   */
  root: string | readonly string[];
  /** Whether an event on this file name (in those directories) may matter. */
  relevant(name: string): boolean;
  /** One pass: read the inbox and deliver what waits. */
  pass(): Promise<void> | void;
  /** A burst ends after this long without an event (default 25 ms). */
  quietMs?: number;
  /** A burst ends at the latest this long after its first event (default 200 ms). */
  maxWaitMs?: number;
  /** Also run a pass this often, events or not (default: only without a watch). */
  everyMs?: number;
  /** Passes run this often when the watch fails (default 1 s). */
  fallbackMs?: number;
  /** Called with what a pass threw, or why the watch failed. */
  onError?(error: unknown): void;
}

/**
 * Watches a session's inbox and runs one pass per burst of changes.
 *
 * @example Usage
 * ```ts ignore
 * import { InboxWatch } from "./inbox_watch.ts";
 * const watch = new InboxWatch({
 *   root: dirname(broker.paths.signal(sessionId)),
 *   relevant: (name) => name === basename(broker.paths.signal(sessionId)),
 *   pass: () => deliverWhatWaits(),
 * });
 * watch.start(); // a first pass runs for what already waits
 * // … later
 * watch.stop();
 * ```
 */
export class InboxWatch implements Disposable {
  readonly #o: InboxWatchOptions;
  readonly #burst: Burst;
  #watcher: DirWatcher | null = null;
  #every: ReturnType<typeof setInterval> | undefined;
  #later: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | null = null;
  #again = false;
  #stopped = true;

  /**
   * Sets the watch up; nothing runs before {@linkcode InboxWatch.start}.
   *
   * @param options Root, what matters, the pass and timing.
   */
  constructor(options: InboxWatchOptions) {
    this.#o = options;
    this.#burst = new Burst({
      quietMs: options.quietMs ?? 25,
      maxWaitMs: options.maxWaitMs ?? 200,
      fire: () => this.runSoon(),
    });
  }

  /** Whether a burst of events is still arriving (its end runs a pass). */
  get settling(): boolean {
    return this.#burst.pending;
  }

  /** Starts watching; what already waits counts as a burst. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    try {
      this.#watcher = new DirWatcher({
        paths: typeof this.#o.root === "string"
          ? [this.#o.root]
          : [...this.#o.root],
        onChange: (paths) => {
          for (const path of paths) {
            if (this.#o.relevant(basename(path))) return this.poke();
          }
        },
        onError: (e) => this.#watchFailed(e),
      });
    } catch (e) {
      this.#watchFailed(e);
    }
    if (this.#o.everyMs !== undefined) this.#tick(this.#o.everyMs);
    this.poke();
  }

  /** Notes a change: a pass runs once the burst settles. */
  poke(): void {
    if (!this.#stopped) this.#burst.poke();
  }

  /** Runs a pass now, or right after the one in progress. */
  runSoon(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#loop();
  }

  /**
   * Runs a pass after `ms` (replacing an earlier `later`): a recheck of a
   * busy client, a retry after a failure.
   *
   * @param ms Delay.
   */
  later(ms: number): void {
    clearTimeout(this.#later);
    if (!this.#stopped) this.#later = setTimeout(() => this.runSoon(), ms);
  }

  /** Cancels a pending {@linkcode InboxWatch.later}. */
  cancelLater(): void {
    clearTimeout(this.#later);
    this.#later = undefined;
  }

  /**
   * Stops watching and cancels what is scheduled. A pass in progress runs
   * to its end; {@linkcode InboxWatch.idle} waits for it.
   */
  stop(): void {
    this.#stopped = true;
    this.#burst.cancel();
    clearTimeout(this.#later);
    clearInterval(this.#every);
    this.#watcher?.close();
    this.#watcher = null;
  }

  /** Resolves once no pass is running. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** Stops at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.stop();
  }

  async #loop(): Promise<void> {
    try {
      do {
        this.#again = false;
        try {
          await this.#o.pass();
        } catch (e) {
          this.#o.onError?.(e);
        }
      } while (this.#again && !this.#stopped);
    } finally {
      this.#running = null;
    }
  }

  #watchFailed(error: unknown): void {
    this.#o.onError?.(error);
    this.#watcher?.close();
    this.#watcher = null;
    if (this.#stopped) return;
    // Without events, time is the trigger.
    if (this.#o.everyMs === undefined) this.#tick(this.#o.fallbackMs ?? 1_000);
  }

  #tick(ms: number): void {
    clearInterval(this.#every);
    this.#every = setInterval(() => this.runSoon(), ms);
  }
}
