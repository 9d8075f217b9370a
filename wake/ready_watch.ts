/**
 * Tells when a client's prompt has appeared: watches its output for one of
 * the texts the client shows once it takes input (`ClientProfile.readyText`).
 *
 * Terminal control sequences are removed before matching, so colours and
 * cursor moves inside the text do not hide it. Only a tail of the visible
 * text is kept, and nothing once the text was seen.
 *
 * Pure: no I/O.
 *
 * @module
 */

// CSI (ESC [ … final), OSC/DCS/APC/PM/SOS strings (to BEL or ESC \), and
// two-byte escapes.
const CONTROL =
  // deno-lint-ignore no-control-regex
  /\x1b\[[0-?]*[ -/]*[@-~]|\x1b[\]P_^X][\s\S]*?(?:\x07|\x1b\\)|\x1b[@-Z\\-_]|\x1b[()][0-9A-Za-z]/g;
const TAIL = 4096;

/**
 * Watches output for a ready text.
 *
 * @example Usage
 * ```ts
 * import { ReadyWatch } from "./ready_watch.ts";
 * const w = new ReadyWatch(["for shortcuts"]);
 * w.feed(new TextEncoder().encode("? \x1b[2mfor short"));
 * w.feed(new TextEncoder().encode("cuts\x1b[0m"));
 * w.seen; // true
 * ```
 */
export class ReadyWatch {
  readonly #texts: readonly string[];
  readonly #decoder = new TextDecoder();
  #tail = "";
  #seen: boolean;

  /**
   * Creates a watch; with no texts it reads as seen from the start.
   *
   * @param texts Any one of these shown means ready.
   */
  constructor(texts: readonly string[]) {
    this.#texts = texts;
    this.#seen = texts.length === 0;
  }

  /** Whether one of the texts has been shown. */
  get seen(): boolean {
    return this.#seen;
  }

  /**
   * Feeds one chunk of the client's output.
   *
   * @param chunk Output bytes.
   * @returns Whether this chunk made the watch see its text.
   */
  feed(chunk: Uint8Array): boolean {
    if (this.#seen) return false;
    // Escapes split across chunks are completed by keeping the raw tail.
    this.#tail = (this.#tail + this.#decoder.decode(chunk, { stream: true }))
      .slice(-TAIL);
    const visible = this.#tail.replace(CONTROL, "");
    this.#seen = this.#texts.some((text) => visible.includes(text));
    if (this.#seen) this.#tail = "";
    return this.#seen;
  }
}
