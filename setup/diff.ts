/**
 * A small unified-style line diff for `setup --dry-run`. Config edits are
 * local, so the common prefix and suffix are trimmed first and the LCS runs
 * only on the changed middle (even `~/.claude.json` stays cheap).
 *
 * @module
 */

/**
 * Renders the difference between two texts as `-`/`+` lines with up to
 * `context` unchanged lines around each change.
 *
 * @param before Old text (`null`: absent).
 * @param after New text (`null`: deleted).
 * @param context Unchanged lines to show around changes.
 * @returns The diff, or `""` when the texts are equal.
 */
export function lineDiff(
  before: string | null,
  after: string | null,
  context = 2,
): string {
  if (before === after) return "";
  const a = before === null ? [] : splitLines(before);
  const b = after === null ? [] : splitLines(after);
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (
    tail < a.length - head && tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  ) tail++;
  const midA = a.slice(head, a.length - tail);
  const midB = b.slice(head, b.length - tail);
  const ops = lcsOps(midA, midB);
  const out: string[] = [];
  for (const line of a.slice(Math.max(0, head - context), head)) {
    out.push(`  ${line}`);
  }
  out.push(...ops);
  for (const line of a.slice(a.length - tail, a.length - tail + context)) {
    out.push(`  ${line}`);
  }
  return out.join("\n");
}

function splitLines(text: string): string[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

function lcsOps(a: string[], b: string[]): string[] {
  const n = a.length;
  const m = b.length;
  const table = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[i][j] = a[i] === b[j]
        ? table[i + 1][j + 1] + 1
        : Math.max(table[i + 1][j], table[i][j + 1]);
    }
  }
  const ops: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push(`  ${a[i++]}`);
      j++;
    } else if (j < m && (i === n || table[i][j + 1] >= table[i + 1][j])) {
      ops.push(`+ ${b[j++]}`);
    } else {
      ops.push(`- ${a[i++]}`);
    }
  }
  return ops;
}
