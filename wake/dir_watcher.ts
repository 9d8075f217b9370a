/**
 * Watches a few directories (not recursively) and calls back once per burst
 * of file-system events: the trigger for rescanning an inbox.
 *
 * Events are only a hint. Which file changed, and how, is not trusted (the
 * kernel may merge or drop events, and a rename looks different from an
 * append): every burst leads to a rescan, and the rescan finds out what
 * changed. Non-recursive on purpose: inboxes and `registry.json` sit directly
 * in the broker root, while lock sidecars churn in `locks/`.
 *
 * Requires `--allow-read` on the watched directories.
 *
 * @module
 */

/** Options of {@linkcode DirWatcher}. */
export interface DirWatcherOptions {
  /** Directories to watch. */
  paths: readonly string[];
  /** Called once per burst with the paths the events named. */
  onChange(paths: ReadonlySet<string>): void;
  /** Events closer together than this are one burst (default 2 ms). */
  coalesceMs?: number;
  /** Called when the watch fails (it then stops). */
  onError?(error: unknown): void;
}

/**
 * A running watch; {@linkcode DirWatcher.close} (or `using`) stops it.
 *
 * @example Usage
 * ```ts ignore
 * import { DirWatcher } from "./dir_watcher.ts";
 * using watcher = new DirWatcher({
 *   paths: ["/repo/.git/c2c/mcp"],
 *   onChange: () => console.log("something changed; rescan"),
 * });
 * ```
 */
export class DirWatcher implements Disposable {
  readonly #watcher: Deno.FsWatcher;
  readonly #options: DirWatcherOptions;
  #changed = new Set<string>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  /**
   * Starts watching.
   *
   * @param options Directories and callback.
   */
  constructor(options: DirWatcherOptions) {
    this.#options = options;
    this.#watcher = Deno.watchFs([...options.paths], { recursive: false });
    void this.#run();
  }

  async #run(): Promise<void> {
    try {
      for await (const event of this.#watcher) {
        for (const path of event.paths) this.#changed.add(path);
        this.#timer ??= setTimeout(
          () => this.#fire(),
          this.#options.coalesceMs ?? 2,
        );
      }
    } catch (e) {
      if (!this.#closed) this.#options.onError?.(e);
    }
  }

  #fire(): void {
    this.#timer = undefined;
    if (this.#closed) return;
    const changed = this.#changed;
    this.#changed = new Set();
    this.#options.onChange(changed);
  }

  /** Stops watching. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    try {
      this.#watcher.close();
    } catch { /* already closed */ }
  }

  /** Stops watching at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.close();
  }
}
