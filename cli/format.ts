/**
 * Text output helpers: the sanitiser every human-readable output goes
 * through ({@linkcode inert}), aligned tables, optional colour, JSON,
 * relative times, and message lines that cannot forge an envelope.
 *
 * @module
 */

import { escapeBody } from "../lib/envelope.ts";
import type { RoomMessage } from "../lib/message.ts";

// C0 and C1 controls and DEL (Cc); invisible format characters (Cf: bidi
// overrides and isolates, zero-width spaces, the BOM, tag characters); line
// and paragraph separators. Zero-width (non-)joiners stay: scripts and emoji
// sequences need them, and they move nothing on a terminal.
const UNSAFE = /(?![\u200c\u200d])[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

/**
 * Makes text safe to print on a terminal: every control character, DEL,
 * bidi override and other invisible format character becomes visible and
 * inert — C0 controls and DEL in caret notation (`^[` for ESC, `^?` for DEL,
 * as `cat -v` shows them), the rest as `<U+202E>`. Nothing else changes, so
 * already inert text stays as it is.
 *
 * Every human-readable output of `c2c` goes through this; `--json` output
 * keeps the exact bytes.
 *
 * @param text Text from anywhere: a message body, an alias, a client name,
 * a path, an error that echoes input.
 * @param lines Keep `\n` and `\t` (message bodies, which are meant to span
 * lines). Without it — a table cell, an alias, one line of an error — they
 * are shown too, so a field can never start a row or a line of its own.
 * @returns The inert text.
 *
 * @example Usage
 * ```ts
 * import { inert } from "./format.ts";
 * inert("hi\x1b]0;pwned\x07"); // "hi^[]0;pwned^G"
 * inert("a\nb"); // "a^Jb"
 * inert("a\nb", { lines: true }); // "a\nb"
 * ```
 */
export function inert(text: string, options: { lines?: boolean } = {}): string {
  const keep = options.lines === true;
  return text.replace(UNSAFE, (c) => {
    if (keep && (c === "\n" || c === "\t")) return c;
    const code = c.codePointAt(0)!;
    if (code < 0x20) return "^" + String.fromCharCode(code + 0x40);
    if (code === 0x7f) return "^?";
    return `<U+${code.toString(16).toUpperCase().padStart(4, "0")}>`;
  });
}

/**
 * Makes every string in a result inert for display ({@linkcode inert}):
 * message `content` keeps its lines, every other field becomes one line. The
 * result itself is not changed.
 *
 * @param value A command's result.
 * @returns A copy safe to render as text.
 */
export function inertFields<T>(value: T): T {
  const walk = (v: unknown, key: string | null): unknown => {
    if (typeof v === "string") return inert(v, { lines: key === "content" });
    if (Array.isArray(v)) return v.map((x) => walk(x, null));
    if (v !== null && typeof v === "object") {
      return Object.fromEntries(
        Object.entries(v).map(([k, x]) => [k, walk(x, k)]),
      );
    }
    return v;
  };
  return walk(value, null) as T;
}

/**
 * A time as people read it: `just now`, `42s ago`, `5m ago`, `3h ago`,
 * `2d ago` (or `in 5m` for a clock ahead of ours). An unparseable value is
 * returned as it is.
 *
 * @param iso An ISO-8601 time.
 * @param now The current time.
 * @returns The relative time.
 *
 * @example Usage
 * ```ts
 * import { relativeTime } from "./format.ts";
 * relativeTime("2026-01-01T00:00:00Z", new Date("2026-01-01T00:05:00Z")); // "5m ago"
 * ```
 */
export function relativeTime(iso: string, now: Date = new Date()): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const seconds = Math.round((now.getTime() - at) / 1000);
  const size = Math.abs(seconds);
  if (size < 5) return "just now";
  const [n, unit] = size < 60
    ? [size, "s"]
    : size < 3600
    ? [Math.floor(size / 60), "m"]
    : size < 86400
    ? [Math.floor(size / 3600), "h"]
    : [Math.floor(size / 86400), "d"];
  return seconds > 0 ? `${n}${unit} ago` : `in ${n}${unit}`;
}

/** Colours the CLI uses. */
export type Colour = "red" | "green" | "yellow" | "dim" | "bold";

const CODES: Record<Colour, [number, number]> = {
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  dim: [2, 22],
  bold: [1, 22],
};

/** Paints text, or leaves it plain. */
export type Painter = (colour: Colour, text: string) => string;

/**
 * Returns a painter that colours only when asked to: colour is used when
 * `NO_COLOR` is unset or empty and standard output is a terminal.
 *
 * @param noColor Value of `NO_COLOR`.
 * @param isTerminal Whether standard output is a terminal.
 * @returns The painter.
 *
 * @example Usage
 * ```ts
 * import { painter } from "./format.ts";
 * painter(undefined, false)("red", "FAIL"); // "FAIL" (not a terminal)
 * ```
 */
export function painter(
  noColor: string | undefined,
  isTerminal: boolean,
): Painter {
  if (noColor || !isTerminal) return (_colour, text) => text;
  return (colour, text) =>
    `\x1b[${CODES[colour][0]}m${text}\x1b[${CODES[colour][1]}m`;
}

/** A table cell: plain text, or text with a colour applied after padding. */
export type Cell = string | { text: string; colour: Colour };

/**
 * Renders rows as columns aligned on their widest cell, with a header row.
 * Every cell is made {@linkcode inert} and kept to one line first, so no
 * value (an alias, a client name) can move the cursor or forge a row.
 *
 * @param headers Column titles.
 * @param rows Cells.
 * @param paint Painter for the header and coloured cells.
 * @returns The table, one line per row, without trailing spaces.
 *
 * @example Usage
 * ```ts
 * import { painter, table } from "./format.ts";
 * table(["ROOM", "MEMBERS"], [["lounge", "2"]], painter("1", false));
 * // "ROOM    MEMBERS\nlounge  2"
 * ```
 */
export function table(
  headers: string[],
  rows: Cell[][],
  paint: Painter,
): string {
  const text = (c: Cell) => inert(typeof c === "string" ? c : c.text);
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => text(r[i] ?? "").length))
  );
  const line = (cells: Cell[], header = false) =>
    cells.map((c, i) => {
      const last = i === cells.length - 1;
      const padded = last ? text(c) : text(c).padEnd(widths[i]);
      if (header) return paint("bold", padded);
      return typeof c === "string" ? padded : paint(c.colour, padded);
    }).join("  ").trimEnd();
  return [line(headers, true), ...rows.map((r) => line(r))].join("\n");
}

/**
 * Serialises a result for `--json`: one compact line, so a stream of results
 * (`broker-gc`) is JSON Lines and every command's output parses the same way.
 *
 * @param value The result object.
 * @returns The JSON text.
 */
export function toJson(value: unknown): string {
  return JSON.stringify(value);
}

/**
 * Renders a room message as `TS FROM: BODY`, with `<c2c`/`</c2c` in the body
 * escaped like an envelope body, so room history shown to an agent cannot
 * forge an envelope either, and every field {@linkcode inert}.
 *
 * @param message The room message.
 * @returns One line (more if the body has newlines).
 *
 * @example Usage
 * ```ts
 * import { roomLine } from "./format.ts";
 * roomLine({ id: "1", ts: "2026-01-01T00:00:00.000Z", room_id: "r", from_alias: "a", content: "hi" });
 * // "2026-01-01T00:00:00.000Z a: hi"
 * ```
 */
export function roomLine(message: RoomMessage): string {
  return `${inert(message.ts)} ${inert(message.from_alias)}: ${
    inert(escapeBody(message.content), { lines: true })
  }`;
}

/**
 * Liveness as a word: `yes`, `no`, or `unknown` (no lease).
 *
 * @param alive The liveness.
 * @returns The word.
 */
export function livenessWord(alive: boolean | null): string {
  return alive === null ? "unknown" : alive ? "yes" : "no";
}

/**
 * Pluralises a count: `1 message`, `2 messages`.
 *
 * @param n The count.
 * @param word Singular noun.
 * @returns The phrase.
 */
export function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
