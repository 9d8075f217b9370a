/**
 * Just enough TOML editing for `c2c setup codex`: validate the file, read a
 * table, and add or remove one `[table]` block as text, so every other byte
 * (comments, formatting, order) stays as it was. Setup marks its block with a
 * comment line so that removing it restores the file exactly.
 *
 * @module
 */

import { parse, TomlError } from "smol-toml";
import { ConfigParseError } from "./errors.ts";

/** The comment line setup writes above its block. */
export const BLOCK_MARKER =
  "# Added by `c2c setup codex`; `c2c setup --uninstall codex` removes it.";

/**
 * Parses TOML, reporting errors against the file.
 *
 * @param path The file, for messages.
 * @param text Its contents.
 * @returns The parsed document.
 * @throws {ConfigParseError} When the text is not valid TOML.
 */
export function parseToml(path: string, text: string): Record<string, unknown> {
  try {
    return parse(text) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TomlError) {
      throw new ConfigParseError(
        path,
        e.line,
        e.column,
        e.message.split("\n")[0],
      );
    }
    throw e;
  }
}

/** Serialises one TOML value (strings, numbers, booleans, arrays, tables). */
export function tomlValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") {
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(tomlValue).join(", ")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).map(([k, v]) =>
      `${tomlKey(k)} = ${tomlValue(v)}`
    );
    return entries.length ? `{ ${entries.join(", ")} }` : "{}";
  }
  throw new TypeError(`cannot write ${typeof value} as TOML`);
}

function tomlKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
}

/**
 * Renders a `[header]` block with the marker comment.
 *
 * @param header Dotted table name, e.g. `mcp_servers.c2c`.
 * @param table Its keys and values.
 * @returns The block text, ending in a newline.
 */
export function tomlBlock(
  header: string,
  table: Record<string, unknown>,
): string {
  const lines = [BLOCK_MARKER, `[${header}]`];
  for (const [key, value] of Object.entries(table)) {
    lines.push(`${tomlKey(key)} = ${tomlValue(value)}`);
  }
  return lines.join("\n") + "\n";
}

const headerLine = (header: string) =>
  new RegExp(
    `^\\s*\\[\\s*${
      header.split(".").map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
        .join("\\s*\\.\\s*")
    }\\s*\\]\\s*(#.*)?$`,
  );

/**
 * Finds the lines of the `[header]` block (through its sub-tables), with the
 * marker comment and one blank line before it when present.
 *
 * @param text The file.
 * @param header Dotted table name.
 * @returns Character range `[start, end)`, or `null` when absent.
 */
export function findBlock(
  text: string,
  header: string,
): { start: number; end: number; marked: boolean } | null {
  const lines = text.split(/(?<=\n)/);
  const isHeader = headerLine(header);
  let first = lines.findIndex((l) => isHeader.test(l.replace(/\n$/, "")));
  if (first === -1) return null;
  let last = first + 1;
  const sub = new RegExp(
    `^\\s*\\[\\s*${header.replace(/\./g, "\\s*\\.\\s*")}\\s*\\.`,
  );
  while (
    last < lines.length &&
    !(/^\s*\[/.test(lines[last]) && !sub.test(lines[last]))
  ) last++;
  // Trailing blank lines belong to whatever follows.
  while (last > first + 1 && lines[last - 1].trim() === "") last--;
  const marked = first > 0 && lines[first - 1].trim() === BLOCK_MARKER;
  if (marked) {
    first--;
    if (first > 0 && lines[first - 1].trim() === "") first--;
  }
  const offset = (n: number) => lines.slice(0, n).join("").length;
  return { start: offset(first), end: offset(last), marked };
}

/**
 * Appends a block at the end of the file, separated by one blank line.
 *
 * @param text The file ("" when absent).
 * @param block From {@linkcode tomlBlock}.
 * @returns The new text.
 */
export function appendBlock(text: string, block: string): string {
  if (text === "") return block;
  const base = text.endsWith("\n") ? text : text + "\n";
  return `${base}\n${block}`;
}

/**
 * Removes the `[header]` block found by {@linkcode findBlock}.
 *
 * @param text The file.
 * @param header Dotted table name.
 * @returns The text without the block (unchanged when absent).
 */
export function removeBlock(text: string, header: string): string {
  const found = findBlock(text, header);
  if (!found) return text;
  return text.slice(0, found.start) + text.slice(found.end);
}
