/**
 * `registry.json`: one row per registered session. Written whole, through a
 * temp file and `rename`, under the registry lock; read without a lock (a
 * rename is atomic, so a reader sees the old or the new file).
 *
 * @module
 */

import { atomicWriteText, readBytesOrNull } from "./_fs.ts";
import { CorruptFileError } from "./errors.ts";
import type { BrokerPaths } from "./paths.ts";

/** How a session can be woken when it is idle (filled in by wake paths). */
export type WakeInfo = Record<string, string | number | boolean>;

/** One registered session. */
export interface Registration {
  /** The session's id (a file-name-safe string). */
  session_id: string;
  /** Its alias, lowercase. */
  alias: string;
  /** The client process's pid, when known. */
  pid: number | null;
  /** That pid's start time (`/proc/<pid>/stat` field 22), when readable. */
  pid_start_time: number | null;
  /** Client name (`claude-code`, `codex`, `cli`, …), when known. */
  client: string | null;
  /** ISO-8601 UTC time of the first registration under this alias. */
  registered_at: string;
  /** ISO-8601 UTC time of the last register/refresh. */
  last_seen: string;
  /** An id the client itself uses for this session (e.g. a Codex thread id). */
  client_session_id?: string;
  /** How to wake this session when idle, if it can be woken. */
  wake?: WakeInfo;
}

interface CacheEntry {
  key: string;
  rows: Registration[];
}

const cache = new Map<string, CacheEntry>();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function rowProblem(row: unknown, index: number): string | null {
  if (typeof row !== "object" || row === null || Array.isArray(row)) {
    return `entry ${index} is not an object`;
  }
  const r = row as Record<string, unknown>;
  for (const key of ["session_id", "alias", "registered_at", "last_seen"]) {
    if (typeof r[key] !== "string") {
      return `entry ${index}: '${key}' is not a string`;
    }
  }
  for (const key of ["pid", "pid_start_time"]) {
    if (r[key] !== null && r[key] !== undefined && typeof r[key] !== "number") {
      return `entry ${index}: '${key}' is not a number`;
    }
  }
  return null;
}

/**
 * Reads `registry.json`. A missing file is an empty registry; a file that is
 * not a valid registry is an error (never silently "empty", which the next
 * write would turn into data loss).
 *
 * Parsing is skipped when the file is unchanged since the last read (same
 * inode, size and mtime: every write renames a new inode into place).
 *
 * Requires `--allow-read` on the broker root.
 *
 * @param paths Broker layout.
 * @returns The rows, in registration order. Do not mutate them.
 * @throws {CorruptFileError} When the file does not parse.
 */
export function readRegistry(paths: BrokerPaths): readonly Registration[] {
  let stat: Deno.FileInfo;
  try {
    stat = Deno.lstatSync(paths.registry);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  const key = `${stat.ino}:${stat.size}:${stat.mtime?.getTime()}`;
  const hit = cache.get(paths.registry);
  if (hit && hit.key === key) return hit.rows;
  if (stat.isDirectory) {
    throw new CorruptFileError(paths.registry, "it is a directory, not a file");
  }
  // Through the symlink-refusing open; a file removed meanwhile is empty.
  const bytes = readBytesOrNull(paths.registry);
  if (bytes === null) return [];
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    throw new CorruptFileError(paths.registry, "not UTF-8 text");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new CorruptFileError(
      paths.registry,
      `JSON parse error: ${(e as Error).message}`,
    );
  }
  if (!Array.isArray(parsed)) {
    throw new CorruptFileError(paths.registry, "top level is not an array");
  }
  parsed.forEach((row, i) => {
    const reason = rowProblem(row, i);
    if (reason) throw new CorruptFileError(paths.registry, reason);
  });
  const rows = parsed as Registration[];
  for (const row of rows) {
    row.pid ??= null;
    row.pid_start_time ??= null;
    row.client ??= null;
  }
  cache.set(paths.registry, { key, rows });
  return rows;
}

/**
 * Replaces `registry.json` with `rows`. Caller holds the registry lock.
 *
 * Requires `--allow-write` on the broker root.
 *
 * @param paths Broker layout.
 * @param rows The complete new registry.
 */
export function writeRegistry(
  paths: BrokerPaths,
  rows: readonly Registration[],
): void {
  atomicWriteText(paths.registry, JSON.stringify(rows, null, 2) + "\n");
}

/** Finds the row of a session. */
export function findBySession(
  rows: readonly Registration[],
  sessionId: string,
): Registration | undefined {
  return rows.find((r) => r.session_id === sessionId);
}

/** Finds the row holding an alias (aliases compare case-insensitively). */
export function findByAlias(
  rows: readonly Registration[],
  alias: string,
): Registration | undefined {
  const wanted = alias.toLowerCase();
  return rows.find((r) => r.alias.toLowerCase() === wanted);
}
