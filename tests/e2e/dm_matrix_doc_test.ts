// The matrix document's renderer on its own (no client): every table row
// has as many cells as its header, and the across-machines section is kept.

import assert from "node:assert/strict";
import {
  ACROSS_BEGIN,
  ACROSS_END,
  type AskResult,
  type GroupResult,
  type MatrixReport,
  renderMatrixDoc,
} from "./dm_matrix_doc.ts";

const group = (name: "room" | "broadcast"): GroupResult => ({
  name,
  ok: true,
  reason: null,
  pairs: [],
  ms: 1000,
});

const ask: AskResult = {
  asker: "claude",
  answerer: "codex",
  ok: true,
  reason: null,
  path: "PostToolUse hook",
  seen_in: ["messages[5] user tool_result"],
  wait_ms: 180,
  pending_ms: 700,
  status: "delivered via hook",
  ms: 5000,
};

function report(asks: AskResult[]): MatrixReport {
  return {
    date: "2026-12-04T00:00:00.000Z",
    deno: "2.9.6",
    cells: [],
    room: group("room"),
    broadcast: group("broadcast"),
    config_only: [],
    wake: [],
    ask: asks,
    jobs: 2,
    total_ms: 60_000,
  };
}

/** Cells of a Markdown table row (escaped pipes stay inside a cell). */
function cells(row: string): number {
  return row.replace(/\\\|/g, "").split("|").length - 2;
}

Deno.test("renderMatrixDoc() gives every ask-and-wait row as many cells as its header, with pending and answered-in times", () => {
  for (const asks of [[ask, { ...ask, ok: false, reason: "a | b" }], []]) {
    const doc = renderMatrixDoc(report(asks));
    const lines = doc.split("\n");
    const header = lines.findIndex((l) => l.startsWith("| asker → answerer"));
    assert.ok(header > 0, "the ask-and-wait table is there");
    const rows = lines.slice(header + 2, header + 2 + Math.max(1, asks.length));
    for (const row of rows) assert.equal(cells(row), cells(lines[header]), row);
  }
  const doc = renderMatrixDoc(report([ask]));
  assert.match(doc, /\| 700 ms \| 180 ms \| delivered via hook \| 5\.0 s \|/);
});

Deno.test("renderMatrixDoc() keeps the previous document's across-machines section", () => {
  const across = `${ACROSS_BEGIN}\n## Across machines\nkept\n${ACROSS_END}`;
  const doc = renderMatrixDoc(report([ask]), `old\n\n${across}\n`);
  assert.ok(doc.includes(across));
});
