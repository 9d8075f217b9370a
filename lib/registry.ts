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
  /**
   * Whether the registering process held the session's lease (an MCP
   * server, `c2c run`); `false` from a shell. A store that cannot tell a
   * never-leased session from a dead one by itself reads it here.
   */
  leased?: boolean;
  /** What the session says it works on (`set_status`), one line. */
  status?: string;
  /** When the status was set. */
  status_at?: string;
  /** The session's working directory, as it registered. */
  cwd?: string;
  /** The git branch checked out there, as it registered. */
  git_branch?: string;
}

/**
 * A row of `registry.json` that c2c cannot use (a field of the wrong type, a
 * session id that could not be a file name, a malformed alias). It is kept
 * in the file, untouched, until `c2c repair` moves it out; every operation
 * ignores it, so one bad row breaks nothing for the others.
 */
export interface QuarantinedRow {
  /** Its index in the file's array. */
  index: number;
  /** What is wrong with it. */
  problem: string;
  /** The row as it is in the file. */
  raw: unknown;
}

interface CacheEntry {
  key: string;
  rows: Registration[];
  quarantined: QuarantinedRow[];
}

const cache = new Map<string, CacheEntry>();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * What makes a registry row unusable (see {@linkcode QuarantinedRow}), or
 * `null` for a usable one: the checks every store applies to its rows.
 *
 * @param row A parsed row.
 * @returns The problem, or `null`.
 */
export function rowProblem(row: unknown): string | null {
  if (typeof row !== "object" || row === null || Array.isArray(row)) {
    return "it is not an object";
  }
  const r = row as Record<string, unknown>;
  for (const key of ["session_id", "alias", "registered_at", "last_seen"]) {
    if (typeof r[key] !== "string") return `'${key}' is not a string`;
  }
  for (const key of ["pid", "pid_start_time"]) {
    if (r[key] !== null && r[key] !== undefined && typeof r[key] !== "number") {
      return `'${key}' is not a number`;
    }
  }
  for (const key of ["client", "client_session_id"]) {
    if (r[key] !== null && r[key] !== undefined && typeof r[key] !== "string") {
      return `'${key}' is not a string`;
    }
  }
  if (!SESSION_ID.test(r.session_id as string)) {
    return `session_id '${
      String(r.session_id).slice(0, 80)
    }' is not a valid session id`;
  }
  if (!ALIAS.test(r.alias as string)) {
    return `alias '${String(r.alias).slice(0, 80)}' is not a valid alias`;
  }
  return null;
}

// The shapes `validateSessionId` and `validateAlias` accept (reserved
// aliases aside: a row is judged by what could break, not by policy).
const SESSION_ID = /^[A-Za-z0-9_][A-Za-z0-9_.:@+-]{0,127}$/;
const ALIAS = /^[a-z0-9][a-z0-9._-]{0,63}$/;

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
  const rows: Registration[] = [];
  const quarantined: QuarantinedRow[] = [];
  parsed.forEach((raw, index) => {
    const problem = rowProblem(raw);
    if (problem !== null) {
      quarantined.push({ index, problem, raw });
      return;
    }
    const row = raw as Registration;
    row.pid ??= null;
    row.pid_start_time ??= null;
    row.client ??= null;
    rows.push(row);
  });
  cache.set(paths.registry, { key, rows, quarantined });
  return rows;
}

/**
 * The rows of `registry.json` that every operation ignores (see
 * {@linkcode QuarantinedRow}), for `c2c health` and `c2c repair`.
 *
 * Requires `--allow-read` on the broker root.
 *
 * @param paths Broker layout.
 * @returns The unusable rows, in file order.
 * @throws {CorruptFileError} When the file as a whole does not parse.
 */
export function quarantinedRows(paths: BrokerPaths): QuarantinedRow[] {
  readRegistry(paths);
  return cache.get(paths.registry)?.quarantined ?? [];
}

/**
 * Replaces `registry.json` with `rows`. Caller holds the registry lock.
 *
 * Requires `--allow-write` on the broker root.
 *
 * @param paths Broker layout.
 * @param rows The complete new registry.
 * @param options `dropQuarantined`: also drop the unusable rows the last
 * read found (repair); by default they are kept.
 */
export function writeRegistry(
  paths: BrokerPaths,
  rows: readonly Registration[],
  options: { dropQuarantined?: boolean } = {},
): void {
  // Rows c2c cannot use stay in the file (moved to its end) until repair
  // drops them: a row is never lost as a side effect of someone's register.
  const kept = options.dropQuarantined
    ? []
    : (cache.get(paths.registry)?.quarantined ?? []).map((q) => q.raw);
  atomicWriteText(
    paths.registry,
    JSON.stringify([...rows, ...kept], null, 2) + "\n",
  );
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
