/**
 * One callback per burst of events: fires once no event came for `quietMs`,
 * or `maxWaitMs` after the first event of the burst, whichever is first.
 * Ten sends in a row become one wake; a steady trickle cannot postpone the
 * wake forever.
 *
 * @module
 */

/** Options of {@linkcode Burst}. */
export interface BurstOptions {
  /** Fire after this long without a new event (ms). */
  quietMs: number;
  /** Fire at the latest this long after the burst's first event (ms). */
  maxWaitMs: number;
  /** What to do once per burst. */
  fire(): void;
}

/**
 * A trailing debounce with a cap.
 *
 * @example Usage
 * ```ts
 * import { Burst } from "./burst.ts";
 * let fired = 0;
 * const burst = new Burst({ quietMs: 20, maxWaitMs: 200, fire: () => fired++ });
 * for (let i = 0; i < 10; i++) burst.poke();
 * await new Promise((r) => setTimeout(r, 50));
 * console.log(fired); // 1
 * ```
 */
export class Burst {
  readonly #options: BurstOptions;
  #quiet: ReturnType<typeof setTimeout> | undefined;
  #cap: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param options Timing and callback.
   */
  constructor(options: BurstOptions) {
    this.#options = options;
  }

  /** Whether a burst is open (an event came and the callback has not run). */
  get pending(): boolean {
    return this.#cap !== undefined;
  }

  /** Notes an event. */
  poke(): void {
    clearTimeout(this.#quiet);
    this.#quiet = setTimeout(() => this.#fire(), this.#options.quietMs);
    this.#cap ??= setTimeout(() => this.#fire(), this.#options.maxWaitMs);
  }

  #fire(): void {
    this.cancel();
    this.#options.fire();
  }

  /** Drops the open burst without firing. */
  cancel(): void {
    clearTimeout(this.#quiet);
    clearTimeout(this.#cap);
    this.#quiet = undefined;
    this.#cap = undefined;
  }
}
