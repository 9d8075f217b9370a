/**
 * Result tables and their markdown rendering, plus the number formats every
 * group shares so that all tables read alike.
 *
 * @module
 */

/** One result table: what a benchmark group returns. */
export interface Table {
  /** Heading of the table (a short sentence: what was measured). */
  title: string;
  /** Column headers. */
  columns: string[];
  /** Rows of cells, already formatted; each as long as `columns`. */
  rows: string[][];
  /** Lines printed under the table: method, caveats, key figures. */
  notes?: string[];
}

/** Characters that would break a markdown table cell. */
function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

/**
 * Renders a table as GitHub-flavoured markdown: a `###` heading, the table
 * with columns padded to line up in a terminal, then its notes.
 *
 * @param table The table.
 * @returns Markdown text ending in a newline.
 *
 * @example Usage
 * ```ts
 * import { renderTable } from "./table.ts";
 * console.log(renderTable({
 *   title: "send latency",
 *   columns: ["queued", "p50"],
 *   rows: [["0", "0.20 ms"]],
 * }));
 * ```
 */
export function renderTable(table: Table): string {
  const header = table.columns.map(cell);
  const body = table.rows.map((row) => row.map(cell));
  for (const row of body) {
    if (row.length !== header.length) {
      throw new Error(
        `table "${table.title}": a row has ${row.length} cells, not ${header.length}`,
      );
    }
  }
  const widths = header.map((h, i) =>
    Math.max(3, h.length, ...body.map((row) => row[i].length))
  );
  // Numbers read best right-aligned; a column is numeric when every cell
  // that is not a dash starts with a digit.
  const numeric = header.map((_, i) => {
    const cells = body.map((row) => row[i]).filter((c) => c !== "—");
    return cells.length > 0 && cells.every((c) => /^\d/.test(c));
  });
  const line = (cells: string[]) =>
    "| " +
    cells.map((c, i) =>
      numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])
    ).join(" | ") + " |";
  const rule = "|" +
    widths.map((w, i) =>
      numeric[i] ? "-".repeat(w + 1) + ":" : "-".repeat(w + 2)
    ).join("|") + "|";
  const out = [`### ${table.title}`, "", line(header), rule];
  for (const row of body) out.push(line(row));
  if (table.notes?.length) {
    out.push("");
    for (const note of table.notes) out.push(note, "");
    out.pop();
  }
  return out.join("\n") + "\n";
}

/**
 * Formats a duration in milliseconds with about three significant digits.
 *
 * @param ms Duration.
 * @returns E.g. `0.213 ms`, `4.12 ms`, `182 ms`.
 */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return "—";
  if (ms < 1) return `${ms.toFixed(3)} ms`;
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  return `${fmtInt(ms)} ms`;
}

/**
 * Formats a duration in microseconds (for per-item costs).
 *
 * @param ms Duration in milliseconds.
 * @returns E.g. `3.4 µs`, `120 µs`.
 */
export function fmtUs(ms: number): string {
  const us = ms * 1000;
  if (!Number.isFinite(us)) return "—";
  if (us < 10) return `${us.toFixed(2)} µs`;
  if (us < 100) return `${us.toFixed(1)} µs`;
  return `${fmtInt(us)} µs`;
}

/**
 * Formats a count or rate with thousands separators.
 *
 * @param n The number (rounded to an integer).
 * @returns E.g. `12,345`.
 */
export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/**
 * Formats a ratio to a baseline.
 *
 * @param ratio The ratio.
 * @returns E.g. `1.07×`, `62.9×`, `970×`.
 */
export function fmtRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return "—";
  if (ratio < 10) return `${ratio.toFixed(2)}×`;
  if (ratio < 100) return `${ratio.toFixed(1)}×`;
  return `${fmtInt(ratio)}×`;
}

/**
 * The "met?" cell of a row that has a target.
 *
 * @param met Whether the target was met; `undefined` when there is none.
 * @returns `yes`, `**NO**`, or `—`.
 */
export function fmtMet(met: boolean | undefined): string {
  if (met === undefined) return "—";
  return met ? "yes" : "**NO**";
}
