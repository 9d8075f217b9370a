/**
 * The results of the cross-client DM matrix run and their rendering as
 * `docs/dm-matrix.md`. The document is written by the test run from what
 * actually happened (never by hand), also when cells fail.
 *
 * @module
 */

import { CLIENT_NAMES, type ClientName, CLIENTS } from "./clients.ts";
import {
  CONFIG_ONLY,
  type ConfigOnlyClient,
  type ConfigOnlyResult,
} from "./config_only.ts";
import type { WakeResult } from "./idle_wake.ts";

/** One ordered pair of the DM matrix. */
export interface CellResult {
  /** Sender A. */
  from: ClientName;
  /** Receiver B. */
  to: ClientName;
  /** Whether the envelope reached B's model exactly once. */
  ok: boolean;
  /** Why not (one line), or `null`. */
  reason: string | null;
  /** B's delivery path, e.g. `PostToolUse hook additionalContext`. */
  path: string;
  /** Where B's next model request held the envelope (`whereSeen`). */
  seen_in: string[];
  /** Milliseconds from releasing B to its model request with the envelope. */
  deliver_ms: number | null;
  /** Wall time of the whole cell, setup included. */
  cell_ms: number;
}

/** One sender → receiver delivery inside a group scenario. */
export interface PairResult {
  /** Poster. */
  from: ClientName;
  /** Member who must see it. */
  to: ClientName;
  /** Whether it reached the member's model exactly once. */
  ok: boolean;
  /** Why not, or `null`. */
  reason: string | null;
}

/** The room or the broadcast scenario. */
export interface GroupResult {
  /** `room` (join_room + send_room) or `broadcast` (send_all). */
  name: "room" | "broadcast";
  /** Whether every delivery passed and nothing else failed. */
  ok: boolean;
  /** A failure of the scenario as a whole (a client that did not run), or `null`. */
  reason: string | null;
  /** Every ordered pair of distinct clients. */
  pairs: PairResult[];
  /** Wall time. */
  ms: number;
}

/** Ask and wait: one client asks another and waits for the answer. */
export interface AskResult {
  /** The client whose model calls `send`, then `wait_for_message`. */
  asker: ClientName;
  /** The client whose model answers with `send` and `reply_to`. */
  answerer: ClientName;
  /** Whether every check passed. */
  ok: boolean;
  /** Why not (one line), or `null`. */
  reason: string | null;
  /** How the question reached the answerer's model. */
  path: string;
  /** Where the asker's model saw the answer (`whereSeen`). */
  seen_in: string[];
  /** Milliseconds from the answer's send to the asker's next model request. */
  wait_ms: number | null;
  /** How long the asker's wait had been pending when the answer was sent. */
  pending_ms: number | null;
  /** The question's `message_status` as the asker's model read it. */
  status: string | null;
  /** Wall time, setup included. */
  ms: number;
}

/** Everything the document shows. */
export interface MatrixReport {
  /** When the run started (ISO 8601). */
  date: string;
  /** Deno running the tests. */
  deno: string;
  /** The 16 cells. */
  cells: CellResult[];
  /** The room scenario. */
  room: GroupResult;
  /** The broadcast scenario. */
  broadcast: GroupResult;
  /** Crush and Kimi Code. */
  config_only: ConfigOnlyResult[];
  /** Idle wake, per installable client. */
  wake: WakeResult[];
  /** Ask and wait (issue 14), per asker → answerer pair run. */
  ask: AskResult[];
  /** How many scenarios ran at once. */
  jobs: number;
  /** Wall time of the whole run. */
  total_ms: number;
}

/** How each client's model gets a message in these runs. */
export const DELIVERY: Readonly<Record<ClientName, string>> = {
  claude: "PostToolUse hook → `additionalContext`",
  codex: "PostToolUse hook → `additionalContext`",
  opencode: "the model calls `poll_inbox` → tool result",
  gemini: "AfterTool hook → `additionalContext`",
};

/** The idle-wake cell of a client in the clients table. */
function wakeCell(result: WakeResult | undefined): string {
  if (!result) return "✗ not run";
  if (!result.ok) return `✗ ${cellText(result.reason ?? "failed", 160)}`;
  return `✓ proven: ${result.mechanism}; ${result.single_ms} ms; burst of 10 → ${result.burst_wakes} wake`;
}

/** One row of the idle-wake table. */
function wakeRow(w: WakeResult): string {
  const name = w.variant
    ? `${title(w.client)} (\`${w.variant}\`)`
    : title(w.client);
  return `| ${name} | ${w.mechanism} | ${mark(w.ok, w.reason)} | ${
    w.single_ms === null ? "—" : `${w.single_ms} ms`
  } | ${
    w.burst_wakes === null
      ? "—"
      : `${w.burst_wakes} wake, ${w.burst_once}/10 seen once`
  } | ${w.shown === null ? "—" : w.shown ? "✓" : "✗"} | ${seconds(w.ms)} |`;
}

/** Text fit for one Markdown table cell. */
function cellText(text: string, limit = 300): string {
  const one = text.replace(/\s+/g, " ").trim();
  const cut = one.length > limit ? `${one.slice(0, limit)}…` : one;
  return cut.replace(/\|/g, "\\|");
}

function title(client: ClientName): string {
  return CLIENTS[client].title;
}

function mark(ok: boolean, reason: string | null): string {
  return ok ? "✓ proven" : `✗ ${cellText(reason ?? "failed", 160)}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function groupTable(group: GroupResult): string[] {
  const lines = [
    `| poster ↓ / seen by → | ${CLIENT_NAMES.map(title).join(" | ")} |`,
    `|---|${CLIENT_NAMES.map(() => "---").join("|")}|`,
  ];
  for (const from of CLIENT_NAMES) {
    const row = CLIENT_NAMES.map((to) => {
      if (from === to) return "—";
      const pair = group.pairs.find((p) => p.from === from && p.to === to);
      return pair ? mark(pair.ok, pair.reason) : "✗ not run";
    });
    lines.push(`| **${title(from)}** | ${row.join(" | ")} |`);
  }
  return lines;
}

/**
 * Renders `docs/dm-matrix.md`. Its "Across machines" section is written by
 * another test (`nats_matrix_test.ts`): it is taken over from the document
 * as it was.
 *
 * @param report The run's results.
 * @param previous The document before this run (empty: none).
 * @returns Markdown.
 */
export function renderMatrixDoc(report: MatrixReport, previous = ""): string {
  const proven = report.cells.filter((c) => c.ok).length;
  const configOnly = (client: ConfigOnlyClient) =>
    report.config_only.find((r) => r.client === client);
  const lines: string[] = [
    "# c2c cross-client DM matrix",
    "",
    "> **Generated** by `tests/e2e/dm_matrix_test.ts` (`./denow task e2e`, also",
    "> run by `./denow task test` and CI) from the results of its last run.",
    "> Do not edit by hand: the next run overwrites it.",
    "",
    `Run: ${report.date} · Deno ${report.deno} · ${report.jobs} scenarios at once · ${
      seconds(report.total_ms)
    } in all.`,
    "",
    `**${proven}/${report.cells.length} direct-message cells proven** · room: ${
      report.room.ok ? "✓ proven" : "✗ failed"
    } · broadcast: ${report.broadcast.ok ? "✓ proven" : "✗ failed"}`,
    "",
    "## Clients",
    "",
    "| client | installed from | version | how a message reaches its model here | idle wake |",
    "|---|---|---|---|---|",
  ];
  for (const client of CLIENT_NAMES) {
    const spec = CLIENTS[client];
    lines.push(
      `| ${spec.title} | npm \`${spec.pkg}\` | ${spec.version} | ${
        DELIVERY[client]
      } | ${
        wakeCell(report.wake.find((w) => w.client === client && !w.variant))
      } |`,
    );
  }
  for (const spec of Object.values(CONFIG_ONLY)) {
    lines.push(
      `| ${spec.title} | ${spec.source} | — | config only (cannot be installed here: ${spec.why}) | none native: \`c2c run\` (not run here) |`,
    );
  }
  lines.push(
    "",
    "Every agent is a real client process, configured by `c2c setup <client>",
    "--alias …` itself (the harness writes only the model-provider settings,",
    "before setup, which merges into them), driven by a scripted fake model on",
    "127.0.0.1. A cell is **proven** when agent A's model called the c2c `send`",
    "tool addressed to B (B alive, its model request held meanwhile), and the",
    'envelope `<c2c event="message" from="A\'s alias" …>exact body</c2c>` then',
    "appeared exactly once in B's next model request — after B's model called",
    "`whoami` (hook clients: only the hook can have put it there) or",
    "`poll_inbox` (OpenCode, which has no hooks) — and no more than once in",
    "anything B's model received afterwards.",
    "",
    "## Direct messages (row: sender A, column: receiver B)",
    "",
    `| A ↓ / B → | ${CLIENT_NAMES.map(title).join(" | ")} |`,
    `|---|${CLIENT_NAMES.map(() => "---").join("|")}|`,
  );
  for (const from of CLIENT_NAMES) {
    const row = CLIENT_NAMES.map((to) => {
      const cell = report.cells.find((c) => c.from === from && c.to === to);
      return cell ? mark(cell.ok, cell.reason) : "✗ not run";
    });
    lines.push(`| **${title(from)}** | ${row.join(" | ")} |`);
  }
  for (const spec of Object.values(CONFIG_ONLY)) {
    const cell = "config only (cannot be installed here)";
    lines.push(
      `| **${spec.title}** | ${CLIENT_NAMES.map(() => cell).join(" | ")} |`,
    );
  }
  lines.push(
    "",
    "### Per cell: delivery path and latency",
    "",
    "Latency: from releasing B's held model request to B's next model request,",
    "which carries the envelope (B's tool call, the hook or `poll_inbox`, and",
    "the client's own work in between).",
    "",
    "| A → B | result | delivered through | where B's model saw it | latency | cell time |",
    "|---|---|---|---|---|---|",
  );
  for (const cell of report.cells) {
    lines.push(
      `| ${title(cell.from)} → ${title(cell.to)} | ${
        cell.ok ? "✓" : "✗"
      } | ${cell.path} | ${cellText(cell.seen_in.join("; ") || "—")} | ${
        cell.deliver_ms === null ? "—" : `${cell.deliver_ms} ms`
      } | ${seconds(cell.cell_ms)} |`,
    );
  }
  for (const group of [report.room, report.broadcast]) {
    lines.push(
      "",
      group.name === "room"
        ? "## Room: all four join one room, each posts once"
        : "## Broadcast: each of the four calls `send_all` once",
      "",
      group.name === "room"
        ? "Each agent's model calls `join_room`; once all four are members, each calls `send_room`; then each calls `whoami` (OpenCode: `poll_inbox`). Each must see the three others' posts (`event=\"room_message\"`, with the room id) exactly once in what its model received, through its own delivery path."
        : "All four are alive (model requests held); each model calls `send_all`; then each calls `whoami` (OpenCode: `poll_inbox`). Each must see the three others' broadcasts exactly once in what its model received, through its own delivery path.",
      "",
      `Result: ${group.ok ? "✓ proven" : "✗ failed"} (${seconds(group.ms)})${
        group.reason ? ` — ${cellText(group.reason)}` : ""
      }`,
      "",
      ...groupTable(group),
    );
  }
  lines.push(
    "",
    "## Ask and wait: `send`, then `wait_for_message`; the peer answers in thread",
    "",
    "The answerer is alive, its model request held. The asker's model calls",
    "`send` (the question), then `wait_for_message({reply_to: <the id send",
    "returned>})` with the default `timeout_s`. Then the answerer is released:",
    "its model calls `whoami`, its hook shows it the question's envelope, and",
    "it calls `send` with `reply_to` = the id in that envelope. Proven when",
    "the asker's pending wait returns that answer (recorded as delivered by",
    "`wait`) with `reply_to` and the question's `thread_id`, its body exactly",
    "once in the asker's next model request and never more than once later,",
    "and the asker's `message_status` for the question then reads",
    "`delivered` via the answerer's hook; the wait must have begun before the",
    "answer was sent (audit log). Pending: how long the wait had been",
    "pending when the answer was sent. Answered in: from the answer's send to",
    "the asker's next model request (the wait waking, returning, and the",
    "client's own work).",
    "",
    "| asker → answerer | result | question reached the answerer through | where the asker's model saw the answer | pending | answered in | question's status | time |",
    "|---|---|---|---|---|---|---|---|",
  );
  for (const r of report.ask) {
    lines.push(
      `| ${title(r.asker)} → ${title(r.answerer)} | ${
        mark(r.ok, r.reason)
      } | ${r.path} | ${cellText(r.seen_in.join("; ") || "—")} | ${
        r.pending_ms === null ? "—" : `${r.pending_ms} ms`
      } | ${r.wait_ms === null ? "—" : `${r.wait_ms} ms`} | ${
        r.status ?? "—"
      } | ${seconds(r.ms)} |`,
    );
  }
  if (report.ask.length === 0) {
    lines.push("| — | ✗ not run | — | — | — | — | — | — |");
  }
  lines.push(
    "",
    "## Idle wake: an agent idle at its prompt is woken, once",
    "",
    "Claude Code, Codex and OpenCode run their interactive TUI in tmux, set up",
    "by `c2c setup <client>` and idle at their prompt; nothing is typed into",
    "the terminal to wake them (OpenCode gets one first prompt: it has no",
    "session before). Another session sends one message, then a burst of 10,",
    "while the matrix's other scenarios load the machine. Proven",
    "when the client's next model request carries each envelope exactly once",
    "(OpenCode: its plugin's pointer, then the `poll_inbox` result), the burst",
    "causes exactly one wake, and nothing is left in the inbox. Claude Code's",
    'TUI must also show "Message from @wake-peer-c2c". Gemini CLI runs',
    "`gemini -p`: the messages arrive during its turn and the AfterAgent hook",
    "continues the run with them, once. Latency: send → the model request",
    "(Gemini: end of the turn → the continued request).",
    "",
    "Claude Code (`--rewake`) is the wake for Claude Code versions without",
    "the messaging socket: set up with `c2c setup claude-code --rewake`, its",
    "server's socket wake is off and a waiter started by the SessionStart and",
    "Stop hooks (`asyncRewake`) exits 2 with the envelopes, which the model",
    'reads as hook feedback; the TUI must show "Stop hook feedback", exactly',
    "one waiter may be armed while the client is idle, and none may be left",
    "5 s after the client is killed with SIGKILL.",
    "",
    "| client | woken through | result | 1 message | burst of 10 | TUI shows it | scenario time |",
    "|---|---|---|---|---|---|---|",
  );
  for (const client of CLIENT_NAMES) {
    // The plain setup first, then its variants (Claude Code's `--rewake`).
    const results = report.wake.filter((r) => r.client === client)
      .sort((a, b) => (a.variant ? 1 : 0) - (b.variant ? 1 : 0));
    if (results.length === 0) {
      lines.push(`| ${title(client)} | — | ✗ not run | — | — | — | — |`);
    }
    for (const w of results) lines.push(wakeRow(w));
  }
  lines.push(
    "",
    "## Crush and Kimi Code: config files only",
    "",
    "They cannot be installed on this machine, so they are not proven live.",
    "What is checked instead, through the launcher as a user runs it:",
    "",
  );
  for (const client of ["crush", "kimi"] as const) {
    const result = configOnly(client);
    const spec = CONFIG_ONLY[client];
    if (!result) {
      lines.push(`- **${spec.title}**: ✗ not run`);
      continue;
    }
    lines.push(
      `- **${spec.title}**: ${
        result.ok ? "✓" : `✗ ${cellText(result.failure ?? "")}`
      }`,
    );
    for (const check of result.passed) lines.push(`  - ✓ ${check}`);
  }
  lines.push("");
  const across = acrossMachinesSection(previous);
  if (across) lines.push(across, "");
  return lines.join("\n");
}

// ---------------------------------------------------------------------------
// Across machines (issue 13)

/** What the across-machines run showed (`nats_matrix_test.ts`). */
export interface AcrossMachinesReport {
  /** When the run started (ISO 8601). */
  date: string;
  /** Deno running the tests. */
  deno: string;
  /** `nats-server --version`. */
  nats_server: string;
  /** The machine each client ran on. */
  machine: Partial<Record<ClientName, "A" | "B">>;
  /** The cells (sender's and receiver's machines from `machine`). */
  cells: CellResult[];
  /** Idle wake of a client on one machine by a sender on the other. */
  wake: WakeResult[];
  /** How many scenarios ran at once. */
  jobs: number;
  /** Wall time of the whole run. */
  total_ms: number;
}

/** First line of the generated "Across machines" section. */
export const ACROSS_BEGIN =
  "<!-- across machines: generated by tests/e2e/nats_matrix_test.ts -->";
/** Last line of it. */
export const ACROSS_END = "<!-- end of across machines -->";

/**
 * The "Across machines" section of a document, markers included, or `null`.
 *
 * @param doc The document.
 * @returns The section.
 */
export function acrossMachinesSection(doc: string): string | null {
  const begin = doc.indexOf(ACROSS_BEGIN);
  const end = doc.indexOf(ACROSS_END, begin);
  if (begin < 0 || end < 0) return null;
  return doc.slice(begin, end + ACROSS_END.length);
}

/**
 * The document with its "Across machines" section replaced by `section`
 * (appended when it had none).
 *
 * @param doc The document.
 * @param section The new section, markers included.
 * @returns The new document.
 */
export function spliceAcrossMachines(doc: string, section: string): string {
  const old = acrossMachinesSection(doc);
  if (old) return doc.replace(old, () => section);
  return `${doc.trimEnd()}\n\n${section}\n`;
}

/**
 * Renders the "Across machines" section of `docs/dm-matrix.md`.
 *
 * @param report The across-machines run's results.
 * @returns Markdown, between {@linkcode ACROSS_BEGIN} and {@linkcode ACROSS_END}.
 */
export function renderAcrossMachines(report: AcrossMachinesReport): string {
  const on = (client: ClientName) =>
    `${title(client)} (machine ${report.machine[client] ?? "?"})`;
  const proven = report.cells.filter((c) => c.ok).length +
    report.wake.filter((w) => w.ok).length;
  const total = report.cells.length + report.wake.length;
  const lines: string[] = [
    ACROSS_BEGIN,
    "## Across machines: the NATS store with the real clients",
    "",
    "> **Generated** by `tests/e2e/nats_matrix_test.ts` (also run by",
    "> `./denow task e2e` and CI); the rest of this document keeps it.",
    "",
    `Run: ${report.date} · Deno ${report.deno} · ${report.nats_server} · ${report.jobs} scenarios at once · ${
      seconds(report.total_ms)
    } in all. **${proven}/${total} proven.**`,
    "",
    "Two machines share nothing but a NATS server (`nats-server -js` on",
    "127.0.0.1, a random port): each has its own clone of one repository",
    "(`origin` `git@github.com:…` on A, `https://github.com/…` on B, so both",
    "derive the same namespace, and each its own local broker directory in",
    "its clone's `.git/c2c/mcp`) and its agents their own throwaway homes.",
    "Every client is configured by `c2c setup <client> --alias … --broker-url",
    "nats://…` itself. Each scenario is its own repository, so its own",
    "namespace on the one server. The checks are the matrix's: the envelope",
    "(rendered from the receiver's archive, read over NATS) exactly once in",
    "the receiver's next model request, never more than once later.",
    "",
    "| scenario | result | delivered through | seen by the model | latency | time |",
    "|---|---|---|---|---|---|",
  ];
  for (const cell of report.cells) {
    lines.push(
      `| ${on(cell.from)} → ${on(cell.to)}: DM | ${
        mark(cell.ok, cell.reason)
      } | ${cell.path} | ${cellText(cell.seen_in.join("; ") || "—")} | ${
        cell.deliver_ms === null ? "—" : `${cell.deliver_ms} ms`
      } | ${seconds(cell.cell_ms)} |`,
    );
  }
  for (const w of report.wake) {
    const other = report.machine[w.client] === "A" ? "B" : "A";
    lines.push(
      `| a session on machine ${other} → ${on(w.client)}${
        w.variant ? ` set up with \`${w.variant}\`` : ""
      }, idle at its prompt: 1 message, then a burst of 10 | ${
        mark(w.ok, w.reason)
      } | ${w.mechanism} | ${
        w.burst_wakes === null
          ? "—"
          : `burst: ${w.burst_wakes} wake, ${w.burst_once}/10 seen once`
      } | ${w.single_ms === null ? "—" : `${w.single_ms} ms`} | ${
        seconds(w.ms)
      }${w.ready_ms ? ` (TUI ready in ${seconds(w.ready_ms)})` : ""} |`,
    );
  }
  lines.push(
    "",
    "Seen by the model: where the DM's envelope was in the receiver's next",
    "request; for a wake, what the burst of 10 did (the single message must",
    "also be seen exactly once). DM latency: from releasing the receiver's held",
    "model request to its next request; wake latency: from the send of the",
    "single message to the model request it caused. Time: the scenario's,",
    "setup included; a TUI's start-up (to idle at its prompt) in brackets.",
    ACROSS_END,
  );
  return lines.join("\n");
}
