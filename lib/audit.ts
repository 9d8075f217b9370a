/**
 * The audit log, `broker.log`: one JSON line per operation with its name,
 * outcome and duration — never message content, aliases or bodies, so the log
 * can be shared when debugging delivery.
 *
 * @module
 */

import type { BrokerPaths } from "./paths.ts";
import { readJsonlTail } from "./jsonl.ts";
import { openCreating, writeAll } from "./_fs.ts";

/** One audit line. */
export interface AuditEntry {
  /** ISO-8601 UTC time the operation finished. */
  ts: string;
  /** Operation name (the MCP tool name). */
  tool: string;
  /** Whether it succeeded. */
  ok: boolean;
  /** Duration in milliseconds. */
  ms: number;
  /** Error code when it failed. */
  error?: string;
}

function auditProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null) return "not an object";
  const v = value as Record<string, unknown>;
  if (typeof v.tool !== "string" || typeof v.ok !== "boolean") {
    return "missing 'tool' or 'ok'";
  }
  return null;
}

const encoder = new TextEncoder();

/** `broker.log` is rotated to `broker.log.1` past this size. */
export const LOG_ROTATE_BYTES = 8 * 1024 * 1024;

/**
 * Appends one entry. Lines are short and written with `O_APPEND` in a single
 * write, so concurrent writers do not interleave and no lock is needed. A
 * failure to log never fails the operation being logged.
 *
 * Requires `--allow-write` on the broker root.
 *
 * @param paths Broker layout.
 * @param entry The entry.
 */
export function appendAudit(paths: BrokerPaths, entry: AuditEntry): void {
  try {
    // Never through a link: a planted `broker.log -> elsewhere` is refused
    // (and, the log being diagnostics, the operation goes on unlogged).
    const file = openCreating(paths.log, { append: true });
    try {
      writeAll(file, encoder.encode(JSON.stringify(entry) + "\n"));
      // Every operation (each hook poll too) appends a line: keep one older
      // generation and start afresh past the limit, so the log cannot grow
      // without bound. Two processes rotating at once lose only diagnostics.
      if (file.statSync().size > LOG_ROTATE_BYTES) {
        Deno.renameSync(paths.log, `${paths.log}.1`);
      }
    } finally {
      file.close();
    }
  } catch {
    // The log is diagnostics; a full disk or read-only root must not turn a
    // delivered message into a reported failure.
  }
}

/**
 * Reads the last `limit` entries, oldest first. A torn last line is skipped;
 * a truncated write from a crash in the middle is reported like any bad line.
 *
 * @param paths Broker layout.
 * @param limit How many entries.
 * @returns The entries.
 */
export function tailAudit(paths: BrokerPaths, limit: number): AuditEntry[] {
  return readJsonlTail<AuditEntry>(paths.log, auditProblem, { limit });
}
