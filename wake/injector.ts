/**
 * Typing the poll line into a client: the text (as a bracketed paste when the
 * client asked for bracketed paste mode), a pause, then `\r`.
 *
 * Whether the client is in bracketed paste mode is read from its own output:
 * a TUI turns the mode on with `ESC[?2004h` and off with `ESC[?2004l`.
 * Wrapping text in paste markers for a program that did not ask would show
 * them as garbage (`^[[200~`).
 *
 * @module
 */

import { type ClientProfile, pollLine } from "./clients.ts";

const PASTE_START = "\x1b[200~";
const PASTE_END = "\x1b[201~";
const MODE_ON = "\x1b[?2004h";
const MODE_OFF = "\x1b[?2004l";

/**
 * Follows a program's output for bracketed paste mode switches, including
 * ones split across chunks.
 *
 * @example Usage
 * ```ts
 * import { PasteModeWatch } from "./injector.ts";
 * const w = new PasteModeWatch();
 * w.feed(new TextEncoder().encode("\x1b[?20"));
 * w.feed(new TextEncoder().encode("04h"));
 * w.enabled; // true
 * ```
 */
export class PasteModeWatch {
  #enabled = false;
  #tail = "";
  readonly #decoder = new TextDecoder();

  /** Whether the program last turned bracketed paste mode on. */
  get enabled(): boolean {
    return this.#enabled;
  }

  /**
   * Feeds one chunk of the program's output.
   *
   * @param chunk Output bytes.
   */
  feed(chunk: Uint8Array): void {
    // Decoded as a stream so a character split across chunks stays whole;
    // the tail keeps a marker split across chunks findable.
    const text = this.#tail + this.#decoder.decode(chunk, { stream: true });
    const on = text.lastIndexOf(MODE_ON);
    const off = text.lastIndexOf(MODE_OFF);
    if (on !== -1 || off !== -1) this.#enabled = on > off;
    this.#tail = text.slice(-(MODE_ON.length - 1));
  }
}

/** Where a poll line is typed: a pty, a tmux pane. */
export interface PollSink {
  /** Types text (without submitting it). */
  type(text: string): void | Promise<void>;
  /** Submits the line (Enter). */
  submit(): void | Promise<void>;
}

/**
 * Types the poll line for `count` messages into `sink` and submits it.
 *
 * @param sink Where to type.
 * @param profile The client (text, submit delay).
 * @param count Messages waiting.
 * @param bracketed Wrap the text in bracketed paste markers.
 * @returns Once `\r` has been sent.
 *
 * @example Usage
 * ```ts
 * import { typePollLine } from "./injector.ts";
 * import { CLIENTS } from "./clients.ts";
 * let typed = "";
 * await typePollLine(
 *   { type: (t) => { typed += t; }, submit: () => { typed += "\r"; } },
 *   CLIENTS.generic,
 *   1,
 *   false,
 * );
 * typed; // "c2c: 1 new message - call the c2c poll_inbox tool\r"
 * ```
 */
export async function typePollLine(
  sink: PollSink,
  profile: ClientProfile,
  count: number,
  bracketed: boolean,
): Promise<void> {
  const line = pollLine(profile, count);
  await sink.type(bracketed ? PASTE_START + line + PASTE_END : line);
  if (profile.submitDelayMs > 0) {
    await new Promise((resolve) => setTimeout(resolve, profile.submitDelayMs));
  }
  await sink.submit();
}
