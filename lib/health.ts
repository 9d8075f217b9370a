/**
 * `c2c health`: a diagnosis of one broker root, as a typed report. Each check
 * says what it found and, when something is wrong, how to fix it. Only
 * `fail` makes the broker unhealthy; `warn` is worth knowing (dead
 * registrations, stale inboxes) but nothing is broken.
 *
 * Reads only, except for a probe file written and removed to test that the
 * root is writable (some sandboxes make `.git/` read-only).
 *
 * @module
 */

import { joinPath } from "./_path.ts";
import { C2cError, CorruptFileError, describeError } from "./errors.ts";
import { readArchive, readInbox } from "./inbox.ts";
import { readJsonl } from "./jsonl.ts";
import { probeLease } from "./lease.ts";
import { messageProblem } from "./message.ts";
import { type BrokerPaths, brokerPaths, INBOX_SUFFIX } from "./paths.ts";
import {
  findByAlias,
  findBySession,
  quarantinedRows,
  readRegistry,
} from "./registry.ts";
import { listRoomIds, readHistory, readMembers } from "./rooms.ts";
import { describeWake, wakeEnabled, wakePathOf } from "./wake_info.ts";
import { RewakeLock } from "./rewake_lock.ts";

/** Outcome of one check: only `fail` makes the broker unhealthy. */
export type HealthStatus = "ok" | "warn" | "fail" | "unknown";

/** One check of the report. */
export interface HealthCheck {
  /** What was checked (`broker_root`, `registry`, `session`, …). */
  name: string;
  /** Outcome. */
  status: HealthStatus;
  /** What was found, in one line. */
  detail: string;
  /** How to fix it, when it is not `ok`. */
  fix?: string;
}

/** Result of `health`. */
export interface HealthReport {
  /** `false` when any check failed. */
  healthy: boolean;
  /** The broker root, or `null` when none could be resolved. */
  root: string | null;
  /** The session checked, or `null` when none was given. */
  session_id: string | null;
  /** Every check, in a fixed order. */
  checks: HealthCheck[];
}

/** Inputs to {@linkcode checkHealth}. */
export interface HealthOptions {
  /** Absolute broker root, or `null` when it could not be resolved. */
  root: string | null;
  /** Why the root could not be resolved. */
  rootError?: string;
  /** The caller's session id, if known. */
  sessionId?: string | null;
  /** With no session id: the alias whose registration to check. */
  alias?: string | null;
}

const HOOKS_CHECK: HealthCheck = {
  name: "client_hooks",
  status: "unknown",
  detail: "not checked yet: client hook checks come with 'c2c setup'",
};

/**
 * Diagnoses a broker root: whether it exists and is writable, whether the
 * registry, the session's inbox and archive, every room and the dead letters
 * parse, the session's registration and lease, dead registrations and stale
 * inboxes. Client hooks are reported as not checked (yet).
 *
 * Requires `--allow-read` and `--allow-write` on the broker root.
 *
 * @param options Root, and the session (or alias) to check.
 * @returns The report; `healthy` is `false` when any check failed.
 *
 * @example Usage
 * ```ts ignore
 * import { checkHealth } from "./health.ts";
 * const report = checkHealth({ root: "/repo/.git/c2c/mcp", sessionId: "s1" });
 * for (const c of report.checks) console.log(c.status, c.name, c.detail);
 * ```
 */
export function checkHealth(options: HealthOptions): HealthReport {
  const checks: HealthCheck[] = [];
  const report = (sessionId: string | null): HealthReport => ({
    healthy: checks.every((c) => c.status !== "fail"),
    root: options.root,
    session_id: sessionId,
    checks: [...checks, HOOKS_CHECK],
  });
  if (options.root === null) {
    checks.push({
      name: "broker_root",
      status: "fail",
      detail: options.rootError ?? "no broker root could be resolved",
      fix:
        "run c2c inside a git repository, or set C2C_MCP_BROKER_ROOT=/path/to/broker",
    });
    return report(options.sessionId ?? null);
  }
  const paths = brokerPaths(options.root);
  const root = checkRoot(options.root);
  checks.push(root.check);
  // An unreadable root would fail every check below for the same reason.
  if (!root.readable) return report(options.sessionId ?? null);

  const registry = attempt("registry", () => {
    const rows = readRegistry(paths);
    return { rows, check: registryCheck(paths, rows.length) };
  });
  checks.push(registry.check);
  const rows = registry.rows ?? null;

  if (rows) {
    const dead = rows.filter((r) => safeProbe(paths, r.session_id) === false);
    if (dead.length > 0) {
      checks.push({
        name: "dead_registrations",
        status: "warn",
        detail: `${dead.length} registration(s) whose process exited: ${
          dead.map((r) => r.alias).join(", ")
        }`,
        fix:
          "run 'c2c sweep' to remove them (their pending messages go to dead-letter.jsonl)",
      });
    }
  }

  let sessionId = options.sessionId ?? null;
  if (!sessionId && options.alias && rows) {
    sessionId = findByAlias(rows, options.alias)?.session_id ?? null;
    if (!sessionId) {
      checks.push({
        name: "session",
        status: "fail",
        detail: `alias '${options.alias}' is not registered`,
        fix: `run 'c2c register --alias ${options.alias}'`,
      });
    }
  }
  if (sessionId) {
    if (rows) checks.push(sessionCheck(paths, rows, sessionId));
    if (rows) checks.push(wakeCheck(paths, rows, sessionId));
    checks.push(
      attempt("inbox", () => ({
        check: ok("inbox", `${readInbox(paths, sessionId!).length} pending`),
      })).check,
      attempt("archive", () => ({
        check: ok(
          "archive",
          `${readArchive(paths, sessionId!).length} drained message(s)`,
        ),
      })).check,
    );
  } else if (!options.alias) {
    checks.push({
      name: "session",
      status: "unknown",
      detail:
        "no session given, so its registration and inbox were not checked",
      fix: "pass --session-id ID, or set C2C_SESSION_ID",
    });
  }

  checks.push(...roomChecks(paths));
  checks.push(
    attempt("dead_letters", () => {
      const n = readJsonl(paths.deadLetter, messageProblem).records.length;
      return {
        check: ok(
          "dead_letters",
          n === 0
            ? "none"
            : `${n} dead letter(s), redelivered when their session registers again`,
        ),
      };
    }).check,
  );
  checks.push(
    attempt("stale_inboxes", () => ({
      check: staleInboxCheck(paths, rows ?? []),
    })).check,
  );
  return report(sessionId);
}

function ok(name: string, detail: string): HealthCheck {
  return { name, status: "ok", detail };
}

/** Runs a check; a bad file or a refused read becomes a failed check. */
function attempt<T extends { check: HealthCheck }>(
  name: string,
  fn: () => T,
): Partial<T> & { check: HealthCheck } {
  try {
    return fn();
  } catch (e) {
    return { check: failure(name, e) } as Partial<T> & { check: HealthCheck };
  }
}

function failure(name: string, error: unknown): HealthCheck {
  if (error instanceof CorruptFileError) {
    return {
      name,
      status: "fail",
      detail: error.message,
      fix:
        `inspect ${error.path}, then run 'c2c repair': it moves the file aside and keeps every readable line`,
    };
  }
  if (
    error instanceof Deno.errors.NotCapable ||
    error instanceof Deno.errors.PermissionDenied
  ) {
    return {
      name,
      status: "fail",
      detail: describeError(error),
      fix:
        "run c2c through its launcher (the installed 'c2c'), which grants the broker root; check the root's file permissions",
    };
  }
  return {
    name,
    status: "fail",
    detail: describeError(error),
    fix: error instanceof C2cError ? undefined : "report this as a c2c bug",
  };
}

function checkRoot(root: string): { check: HealthCheck; readable: boolean } {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(root);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return {
        readable: true,
        check: {
          name: "broker_root",
          status: "warn",
          detail: `${root} does not exist yet`,
          fix: "c2c creates it on first use, e.g. 'c2c register'",
        },
      };
    }
    return { readable: false, check: failure("broker_root", e) };
  }
  if (!info.isDirectory) {
    return {
      readable: false,
      check: {
        name: "broker_root",
        status: "fail",
        detail: `${root} is not a directory`,
        fix: "remove it, or set C2C_MCP_BROKER_ROOT to a directory",
      },
    };
  }
  const probe = joinPath(root, `.health-${crypto.randomUUID()}.tmp`);
  try {
    // Exclusive create: a link planted under the probe's name is never followed.
    Deno.writeTextFileSync(probe, "", { mode: 0o600, createNew: true });
    Deno.removeSync(probe);
  } catch (e) {
    return {
      readable: true,
      check: {
        name: "broker_root",
        status: "fail",
        detail: `${root} is not writable (${describeError(e)})`,
        fix:
          "make it writable, or set C2C_MCP_BROKER_ROOT to a writable directory (some sandboxes make .git/ read-only)",
      },
    };
  }
  return { readable: true, check: ok("broker_root", `${root} is writable`) };
}

function registryCheck(paths: BrokerPaths, count: number): HealthCheck {
  const bad = quarantinedRows(paths);
  if (bad.length > 0) {
    return {
      name: "registry",
      status: "warn",
      detail: `${count} registration(s); ${
        bad.map((q) => `registry.json entry ${q.index}: ${q.problem}`).join(
          "; ",
        )
      } (ignored by every operation)`,
      fix: "run 'c2c repair' to move the unusable rows out (a copy is kept)",
    };
  }
  return ok(
    "registry",
    count === 0
      ? `${paths.registry}: no registrations yet`
      : `${count} registration(s), file parses`,
  );
}

function safeProbe(paths: BrokerPaths, sessionId: string): boolean | null {
  try {
    return probeLease(paths, sessionId);
  } catch {
    return null;
  }
}

function sessionCheck(
  paths: BrokerPaths,
  rows: Parameters<typeof findBySession>[0],
  sessionId: string,
): HealthCheck {
  const me = findBySession(rows, sessionId);
  if (!me) {
    return {
      name: "session",
      status: "fail",
      detail: `session '${sessionId}' is not registered`,
      fix: "run 'c2c register --alias NAME' (or call the register tool)",
    };
  }
  let alive: boolean | null;
  try {
    alive = probeLease(paths, sessionId);
  } catch (e) {
    return failure("session", e);
  }
  if (alive === false) {
    return {
      name: "session",
      status: "fail",
      detail:
        `registered as '${me.alias}', but its lease is released: the process that held it exited, so peers cannot send to it`,
      fix:
        "restart the client (its MCP server takes the lease again), or 'c2c register' from this shell",
    };
  }
  return ok(
    "session",
    alive
      ? `registered as '${me.alias}', lease held (alive)`
      : `registered as '${me.alias}' without a lease (from a shell; treated as alive)`,
  );
}

/**
 * This session's wake path (issue 9): how an idle agent of this session is
 * woken, and whether that works now.
 */
function wakeCheck(
  paths: BrokerPaths,
  rows: Parameters<typeof findBySession>[0],
  sessionId: string,
): HealthCheck {
  const wake = findBySession(rows, sessionId)?.wake;
  const path = wakePathOf(wake);
  let detail = describeWake(wake);
  if (path === "claude-rewake") {
    detail += RewakeLock.armed(paths, sessionId)
      ? "; a waiter is armed"
      : "; no waiter armed now (Claude Code arms one as the session starts and at each turn end)";
  }
  if (path === null) {
    return {
      name: "wake",
      status: "unknown",
      detail,
      fix:
        "'c2c setup <client>' records the client's native wake path; 'c2c run <client>' wakes any client",
    };
  }
  if (path === "off") {
    return {
      name: "wake",
      status: "warn",
      detail,
      fix: "run 'c2c setup <client> --force' without --no-wake to turn it on",
    };
  }
  return wakeEnabled(wake)
    ? ok("wake", detail)
    : { name: "wake", status: "warn", detail };
}

function roomChecks(paths: BrokerPaths): HealthCheck[] {
  let ids: string[];
  try {
    ids = listRoomIds(paths);
  } catch (e) {
    return [failure("rooms", e)];
  }
  const bad: HealthCheck[] = [];
  for (const id of ids) {
    for (const read of [readMembers, readHistory]) {
      try {
        read(paths, id);
      } catch (e) {
        bad.push(failure(`room ${id}`, e));
      }
    }
  }
  if (bad.length > 0) return bad;
  return [
    ok(
      "rooms",
      ids.length === 0 ? "none yet" : `${ids.length} room(s), all parse`,
    ),
  ];
}

function staleInboxCheck(
  paths: BrokerPaths,
  rows: Parameters<typeof findBySession>[0],
): HealthCheck {
  const known = new Set(rows.map((r) => r.session_id));
  const stale: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(paths.root)];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return ok("stale_inboxes", "none");
    throw e;
  }
  for (const entry of entries) {
    if (!entry.isFile || !entry.name.endsWith(INBOX_SUFFIX)) continue;
    const id = entry.name.slice(0, -INBOX_SUFFIX.length);
    if (!known.has(id)) stale.push(id);
  }
  if (stale.length === 0) return ok("stale_inboxes", "none");
  return {
    name: "stale_inboxes",
    status: "warn",
    detail: `${stale.length} inbox file(s) without a registration: ${
      stale.sort().join(", ")
    }`,
    fix: "run 'c2c sweep' to move their messages to dead-letter.jsonl",
  };
}
