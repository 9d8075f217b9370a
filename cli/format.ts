/**
 * Text output helpers: aligned tables, optional colour, JSON, and message
 * lines that cannot forge an envelope.
 *
 * @module
 */

import { escapeBody } from "../lib/envelope.ts";
import type { RoomMessage } from "../lib/message.ts";

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
  const text = (c: Cell) => typeof c === "string" ? c : c.text;
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
 * forge an envelope either.
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
  return `${message.ts} ${message.from_alias}: ${escapeBody(message.content)}`;
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
