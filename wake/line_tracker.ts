/**
 * Follows what the user types into a managed client, byte by byte, to know
 * whether a half-typed line sits in the prompt (a poll line typed now would
 * merge with it) and to count Ctrl-C presses.
 *
 * It is a heuristic over raw terminal input, not a model of the client's
 * editor: printable characters (and pasted text) make the line "dirty",
 * Backspace takes one back, Enter, Ctrl-C and Ctrl-U clear it. Escape
 * sequences (arrows, function keys, focus and mouse reports) and the
 * terminal's answers to the client's queries (OSC/DCS strings, cursor and
 * device reports) are skipped.
 * Keys reported in the kitty keyboard protocol (`CSI <code>;<mods> u`, which
 * some TUIs turn on) are understood too.
 *
 * Pure: no I/O.
 *
 * @module
 */

/** What one chunk of input contained. */
export interface KeyEvents {
  /** Ctrl-C presses in the chunk. */
  interrupts: number;
  /** Whether the chunk submitted or cleared the line (Enter, Ctrl-C, Ctrl-U). */
  cleared: boolean;
}

type State = "ground" | "esc" | "csi" | "ss3" | "string" | "string-esc";

const ESC = 0x1b;
// ']' OSC, 'P' DCS, '_' APC, '^' PM, 'X' SOS.
const STRING_INTRODUCERS = new Set([0x5d, 0x50, 0x5f, 0x5e, 0x58]);

/**
 * Tracks the user's current input line across chunks.
 *
 * @example Usage
 * ```ts
 * import { LineTracker } from "./line_tracker.ts";
 * const t = new LineTracker();
 * t.feed(new TextEncoder().encode("hel"));
 * t.typing; // true
 * t.feed(new TextEncoder().encode("lo\r"));
 * t.typing; // false
 * ```
 */
export class LineTracker {
  #typed = 0;
  #state: State = "ground";
  #params = "";
  #inPaste = false;

  /** Whether the user has typed something not yet submitted or cleared. */
  get typing(): boolean {
    return this.#typed > 0;
  }

  /**
   * Feeds one chunk of the user's input.
   *
   * @param bytes Raw bytes read from the terminal.
   * @returns The Ctrl-C presses and whether the line was cleared.
   */
  feed(bytes: Uint8Array): KeyEvents {
    const events: KeyEvents = { interrupts: 0, cleared: false };
    for (const byte of bytes) this.#byte(byte, events);
    return events;
  }

  #clear(events: KeyEvents): void {
    this.#typed = 0;
    events.cleared = true;
  }

  #byte(byte: number, events: KeyEvents): void {
    switch (this.#state) {
      case "esc":
        if (byte === 0x5b) { // '['
          this.#state = "csi";
          this.#params = "";
        } else if (byte === 0x4f) { // 'O': SS3, one more byte follows
          this.#state = "ss3";
        } else if (STRING_INTRODUCERS.has(byte)) {
          // OSC, DCS, APC, PM, SOS: a terminal's answer to a query the client
          // made (colours, capabilities), up to BEL or ESC \. Not typing.
          this.#state = "string";
        } else {
          this.#state = "ground"; // Alt+key: not text in the prompt
        }
        return;
      case "ss3":
        this.#state = "ground";
        return;
      case "string":
        if (byte === 0x07) this.#state = "ground";
        else if (byte === ESC) this.#state = "string-esc";
        return;
      case "string-esc":
        this.#state = byte === 0x5c ? "ground" : "string"; // ESC \ ends it
        return;
      case "csi":
        if (byte >= 0x40 && byte <= 0x7e) {
          this.#state = "ground";
          this.#csi(this.#params, String.fromCharCode(byte), events);
        } else {
          this.#params += String.fromCharCode(byte);
        }
        return;
      case "ground":
        this.#ground(byte, events);
    }
  }

  #ground(byte: number, events: KeyEvents): void {
    if (byte === ESC) {
      this.#state = "esc";
    } else if (this.#inPaste) {
      this.#typed++; // pasted text, newlines included, stays in the prompt
    } else if (byte === 0x0d || byte === 0x0a || byte === 0x15) {
      this.#clear(events); // Enter, or Ctrl-U (kill line)
    } else if (byte === 0x03) {
      events.interrupts++;
      this.#clear(events);
    } else if (byte === 0x7f || byte === 0x08) {
      this.#typed = Math.max(0, this.#typed - 1);
    } else if (byte >= 0x20) {
      this.#typed++;
    }
  }

  #csi(params: string, final: string, events: KeyEvents): void {
    if (final === "~" && params === "200") this.#inPaste = true;
    else if (final === "~" && params === "201") this.#inPaste = false;
    else if (final === "u") this.#kittyKey(params, events);
  }

  /** `CSI code[:alts];mods[:event] u`: kitty keyboard protocol. */
  #kittyKey(params: string, events: KeyEvents): void {
    const [codeField = "", modsField = "1"] = params.split(";");
    const code = Number(codeField.split(":")[0]);
    const [modsText, eventType = "1"] = modsField.split(":");
    if (eventType === "3") return; // key release
    const mods = Math.max(0, Number(modsText) - 1);
    const ctrl = (mods & 4) !== 0;
    const alt = (mods & 2) !== 0;
    if (ctrl && code === 99) { // Ctrl+c
      events.interrupts++;
      this.#clear(events);
    } else if (code === 13 && !ctrl && !alt && mods === 0) {
      this.#clear(events);
    } else if (code === 127 || code === 8) {
      this.#typed = Math.max(0, this.#typed - 1);
    } else if (code >= 32 && !ctrl && !alt && code < 57344) {
      this.#typed++; // printable (57344+ are the protocol's functional keys)
    }
  }
}
