/**
 * A latch of "something changed" hints: the shared half of every store's
 * {@linkcode InboxWatch}. A hint that comes while nobody waits is kept (one
 * flag, however many came), so a reader that re-reads between two waits
 * never misses the change that came meanwhile.
 *
 * @module
 */

import type { InboxWatch } from "./store/store.ts";

/** An {@linkcode InboxWatch} fed by {@linkcode ChangeLatch.notify}. */
export class ChangeLatch implements InboxWatch {
  #seen = false;
  #waiters: (() => void)[] = [];
  #closed = false;
  readonly #onClose: () => void;

  /**
   * Creates the latch.
   *
   * @param onClose Stops what feeds it (called once, on dispose).
   */
  constructor(onClose: () => void) {
    this.#onClose = onClose;
  }

  /** Records a change and wakes every waiter. */
  notify(): void {
    if (this.#waiters.length === 0) {
      this.#seen = true;
      return;
    }
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /**
   * Resolves at the next change, or at once when one came since the last.
   *
   * @returns When a change was seen.
   */
  changed(): Promise<void> {
    if (this.#seen) {
      this.#seen = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Stops the feed. Idempotent; a pending `changed()` never resolves. */
  [Symbol.dispose](): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#waiters = [];
    this.#onClose();
  }
}
