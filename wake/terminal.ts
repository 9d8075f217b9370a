/**
 * The user's side of the harness: the terminal `c2c run` was started in.
 * Raw mode (only when stdin is a terminal), its size and SIGWINCH, writing
 * the client's output, and status lines that stay readable in raw mode.
 *
 * No permissions needed.
 *
 * @module
 */

import type { WindowSize } from "./pty.ts";

/**
 * The user's terminal. Call {@linkcode UserTerminal.restore} (or `using`)
 * before exiting, or the shell is left in raw mode.
 *
 * @example Usage
 * ```ts ignore
 * import { UserTerminal } from "./terminal.ts";
 * using term = new UserTerminal();
 * term.enterRaw();
 * term.onResize((size) => console.log(size));
 * ```
 */
export class UserTerminal implements Disposable {
  /** Whether stdin is a terminal (otherwise input is relayed as it comes). */
  readonly isTty: boolean;
  #raw = false;
  #listeners: [Deno.Signal, () => void][] = [];
  readonly #encoder = new TextEncoder();

  /** Looks at the process's stdin. */
  constructor() {
    this.isTty = Deno.stdin.isTerminal();
  }

  /**
   * Puts the terminal in raw mode: every key, Ctrl-C included, reaches the
   * client as bytes. Does nothing when stdin is not a terminal.
   */
  enterRaw(): void {
    if (!this.isTty || this.#raw) return;
    Deno.stdin.setRaw(true);
    this.#raw = true;
  }

  /**
   * The terminal's size, or `null` when no standard stream is a terminal.
   *
   * @returns Columns and rows.
   */
  size(): WindowSize | null {
    try {
      const { columns, rows } = Deno.consoleSize();
      return columns > 0 && rows > 0 ? { cols: columns, rows } : null;
    } catch {
      return null;
    }
  }

  /**
   * Calls `fn` with the new size whenever the terminal is resized.
   *
   * @param fn Receives the new size.
   */
  onResize(fn: (size: WindowSize) => void): void {
    if (!this.isTty) return;
    this.onSignal("SIGWINCH", () => {
      const size = this.size();
      if (size) fn(size);
    });
  }

  /**
   * Adds a signal listener that {@linkcode UserTerminal.restore} removes.
   *
   * @param signal The signal.
   * @param fn Handler.
   */
  onSignal(signal: Deno.Signal, fn: () => void): void {
    Deno.addSignalListener(signal, fn);
    this.#listeners.push([signal, fn]);
  }

  /**
   * Writes all of `bytes` to stdout. A closed stdout drops them: the client
   * must keep running (and be drained) even if nobody watches.
   *
   * @param bytes Output.
   */
  async write(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    try {
      while (offset < bytes.length) {
        offset += await Deno.stdout.write(bytes.subarray(offset));
      }
    } catch { /* stdout gone */ }
  }

  /**
   * Prints a status line on stderr, with `\r\n` in raw mode (a bare `\n`
   * would not return the cursor).
   *
   * @param line Text without a newline.
   */
  log(line: string): void {
    const end = this.#raw ? "\r\n" : "\n";
    try {
      Deno.stderr.writeSync(this.#encoder.encode(line + end));
    } catch { /* stderr gone */ }
  }

  /** Leaves raw mode and removes the signal listeners. Idempotent. */
  restore(): void {
    for (const [signal, fn] of this.#listeners) {
      Deno.removeSignalListener(signal, fn);
    }
    this.#listeners = [];
    if (this.#raw) {
      try {
        Deno.stdin.setRaw(false);
      } catch { /* terminal gone */ }
      this.#raw = false;
    }
  }

  /** Restores at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.restore();
  }
}
