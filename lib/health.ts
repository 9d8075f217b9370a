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
import { describeClaims, FileClaimStore, parseClaimsFile } from "./claims.ts";
import { readBytesOrNull } from "./_fs.ts";
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
  /**
   * Only this machine's directory: the registry, inboxes, rooms and dead
   * letters live elsewhere (the NATS store, checked by its own health).
   */
  localOnly?: boolean;
  /**
   * The client configs `c2c setup` writes, to check (none: the check is
   * skipped).
   */
  clients?: readonly ClientConfig[];
  /** How a shell gets an identity, for the fix of a missing session. */
  shellAdvice?: string;
}

/** Where one client keeps what `c2c setup` writes (`setup/paths.ts`). */
export interface ClientConfig {
  /** Client name, as `c2c setup` takes it. */
  client: string;
  /** The file holding c2c's MCP server entry. */
  server: string;
  /** The file holding c2c's hooks, for clients whose setup adds them. */
  hooks?: string;
  /** c2c's wake plugin file (OpenCode). */
  plugin?: string;
}

/**
 * Diagnoses a broker root: whether it exists and is writable, whether the
 * registry, the session's inbox and archive, every room and the dead letters
 * parse, the session's registration and lease, dead registrations and stale
 * inboxes; and, given `clients`, each client `c2c setup` configured: its
 * server entry, hooks and wake plugin, and that what they run still exists.
 *
 * Requires `--allow-read` and `--allow-write` on the broker root, and read
 * access to the client configs and whatever they run (`c2c health` has read
 * access everywhere).
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
  const report = (sessionId: string | null): HealthReport => {
    const all = [...checks, ...clientChecks(options.clients)];
    return {
      healthy: all.every((c) => c.status !== "fail"),
      root: options.root,
      session_id: sessionId,
      checks: all,
    };
  };
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
  if (!root.readable || options.localOnly) {
    return report(options.sessionId ?? null);
  }

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
      fix: options.shellAdvice ??
        "pass --session-id ID, or set C2C_SESSION_ID",
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
    attempt("claims", () => {
      const file = new FileClaimStore(paths).file;
      const bytes = readBytesOrNull(file); // refuses a link
      const state = bytes === null
        ? { claims: [], notified: [] }
        : parseClaimsFile(file, bytes);
      return { check: ok("claims", `${describeClaims(state)} in ${file}`) };
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
      fix:
        "from a shell: 'c2c register --alias NAME', then --alias NAME; in a client: call its register tool, or restart it",
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

// What `c2c setup` adds per client: hook events that deliver messages, and
// those of the idle wake path (left out with --no-wake).
const CLIENT_HOOKS: Readonly<
  Record<string, { delivery: string[]; wake: string[] }>
> = {
  "claude-code": { delivery: ["PostToolUse", "Stop"], wake: [] },
  codex: { delivery: ["PostToolUse", "Stop"], wake: ["SessionStart"] },
  gemini: { delivery: ["AfterTool"], wake: ["AfterAgent"] },
};
const HOOK_SCRIPT = "/bin/c2c-hook";
const PLUGIN_MARKER = "c2c wake plugin";
const WAKE_OFF = "C2C_MCP_WAKE";

/** c2c's server entry in a client config, as far as the check needs it. */
interface ServerEntry {
  /** The command and its arguments. */
  words: string[];
  /** Whether setup turned the wake path off (`--no-wake`). */
  wakeOff: boolean;
}

/**
 * One check per client that `c2c setup` configured: its server entry and
 * hooks are there, the wake path's hook or plugin is there (unless set up
 * with --no-wake), and every program and file they run still exists (a
 * config left pointing at a removed checkout or install breaks delivery
 * silently). Clients never set up are not listed.
 */
function clientChecks(
  clients: readonly ClientConfig[] | undefined,
): HealthCheck[] {
  if (clients === undefined) return [];
  const checks: HealthCheck[] = [];
  for (const config of clients) {
    try {
      const check = clientCheck(config);
      if (check) checks.push(check);
    } catch (e) {
      checks.push({
        name: `client ${config.client}`,
        status: "unknown",
        detail: `not checked: ${describeError(e)}`,
      });
    }
  }
  if (checks.length > 0) return checks;
  return [{
    name: "client_hooks",
    status: "unknown",
    detail: "no client is set up for c2c in your user configs",
    fix: `run 'c2c setup <client>' (${
      clients.map((c) => c.client).join(", ")
    }), or 'c2c run <client>'`,
  }];
}

function clientCheck(config: ClientConfig): HealthCheck | null {
  const name = `client ${config.client}`;
  const fix =
    `run 'c2c setup ${config.client} --force' to rewrite c2c's entries`;
  const serverText = readOptional(config.server);
  const hooksText = config.hooks === undefined
    ? null
    : config.hooks === config.server
    ? serverText
    : readOptional(config.hooks);
  let entries: ServerEntry[];
  try {
    entries = serverText === null
      ? []
      : serverEntries(config.server, serverText);
  } catch (e) {
    return {
      name,
      status: "warn",
      detail: `${config.server} does not parse (${(e as Error).message})`,
      fix: `fix ${config.server}; c2c's entries there were not checked`,
    };
  }
  let hooks: Map<string, string[]>;
  try {
    hooks = hooksText === null ? new Map() : hookCommands(hooksText);
  } catch (e) {
    return {
      name,
      status: "warn",
      detail: `${config.hooks} does not parse (${(e as Error).message})`,
      fix: `fix ${config.hooks}; c2c's hooks there were not checked`,
    };
  }
  const pluginText = config.plugin === undefined
    ? null
    : readOptional(config.plugin);
  const plugin = pluginText?.includes(PLUGIN_MARKER) ? config.plugin! : null;
  if (entries.length === 0 && hooks.size === 0 && plugin === null) return null;

  // Everything c2c's entries run must still be there.
  const runs = new Map<string, string>();
  for (const entry of entries) {
    for (const path of programPaths(entry.words)) runs.set(path, config.server);
  }
  for (const commands of hooks.values()) {
    for (const command of commands) {
      for (const path of programPaths(shellWords(command))) {
        runs.set(path, config.hooks!);
      }
    }
  }
  const broken: string[] = [];
  for (const [path, file] of runs) {
    const problem = pathProblem(path);
    if (problem) broken.push(`${file} points at ${path}, which ${problem}`);
  }
  if (broken.length > 0) {
    return {
      name,
      status: "fail",
      detail: broken.join("; "),
      fix: `${fix} (c2c install moves configs to the installed version)`,
    };
  }

  const expected = CLIENT_HOOKS[config.client];
  const missing: string[] = [];
  if (entries.length === 0) {
    missing.push(`no c2c server entry in ${config.server}`);
  }
  const wakeOff = entries.length > 0 && entries.every((e) => e.wakeOff);
  if (expected) {
    const lacking = expected.delivery.filter((e) => !hooks.has(e));
    if (lacking.length > 0) {
      missing.push(
        `no c2c ${
          lacking.join(", ")
        } hook in ${config.hooks}: messages wait until the agent polls`,
      );
    }
    const noWake = expected.wake.filter((e) => !hooks.has(e));
    if (!wakeOff && noWake.length > 0) {
      missing.push(
        `no c2c ${
          noWake.join(", ")
        } hook in ${config.hooks}: an idle agent is not woken`,
      );
    }
  }
  if (config.plugin !== undefined && !wakeOff && plugin === null) {
    missing.push(
      `no c2c wake plugin at ${config.plugin}: an idle agent is not woken`,
    );
  }
  if (missing.length > 0) {
    return { name, status: "warn", detail: missing.join("; "), fix };
  }
  const parts = ["server entry"];
  if (hooks.size > 0) {
    const order = expected ? [...expected.delivery, ...expected.wake] : [];
    const rank = (e: string) =>
      order.includes(e) ? order.indexOf(e) : order.length;
    const events = [...hooks.keys()].sort((a, b) => rank(a) - rank(b));
    parts.push(`${events.join(", ")} hooks`);
  }
  if (plugin) parts.push("wake plugin");
  if (wakeOff) parts.push("idle wake off (--no-wake)");
  return ok(
    name,
    `${parts.join(", ")}; the ${
      runs.size === 1 ? "program" : `${runs.size} programs and files`
    } they run exist`,
  );
}

function readOptional(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** Why a path a config runs is unusable, or `null` when it is fine. */
function pathProblem(path: string): string | null {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "no longer exists";
    if (e instanceof Deno.errors.NotADirectory) return "no longer exists";
    throw e;
  }
  if (!info.isFile) return "is not a file";
  const script = !/\.(ts|json)$/.test(path);
  if (script && info.mode !== null && (info.mode & 0o111) === 0) {
    return "is not executable";
  }
  return null;
}

/**
 * The absolute paths a command runs or loads: the program, script
 * arguments, `--config=FILE` and `--deno PATH`. Permission flags
 * (`--allow-read=/root`) and environment paths are not things it runs.
 */
function programPaths(words: readonly string[]): string[] {
  const paths: string[] = [];
  let program = true;
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    if (program && /^[A-Za-z_][A-Za-z0-9_]*=/.test(word)) continue; // VAR=…
    if (word === "exec" && program) continue;
    if (word === "--deno" && words[i + 1]?.startsWith("/")) {
      paths.push(words[++i]);
    } else if (word.startsWith("--config=/")) {
      paths.push(word.slice("--config=".length));
    } else if (word.startsWith("/") && (program || /\.ts$/.test(word))) {
      paths.push(word);
    }
    program = false;
  }
  return paths;
}

/** Splits a POSIX shell command line as `setup` writes them (single quotes). */
function shellWords(command: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  for (let i = 0; i < command.length; i++) {
    const c = command[i];
    if (c === "'") {
      const end = command.indexOf("'", i + 1);
      word += command.slice(i + 1, end === -1 ? undefined : end);
      i = end === -1 ? command.length : end;
      inWord = true;
    } else if (c === "\\" && i + 1 < command.length) {
      word += command[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** c2c's server entries (`…c2c: {command, args, env}`) in a config file. */
function serverEntries(path: string, text: string): ServerEntry[] {
  if (path.endsWith(".toml")) return tomlServerEntries(text);
  const entries: ServerEntry[] = [];
  const walk = (value: unknown, depth: number) => {
    if (depth > 6 || value === null || typeof value !== "object") return;
    for (const [key, child] of Object.entries(value)) {
      if (key === "c2c" && isRecord(child) && child.command !== undefined) {
        const words = [
          ...(Array.isArray(child.command) ? child.command : [child.command]),
          ...(Array.isArray(child.args) ? child.args : []),
        ].filter((w): w is string => typeof w === "string");
        const env = isRecord(child.env)
          ? child.env
          : isRecord(child.environment)
          ? child.environment
          : {};
        entries.push({ words, wakeOff: env[WAKE_OFF] === "off" });
      } else {
        walk(child, depth + 1);
      }
    }
  };
  walk(parseJsonc(text), 0);
  return entries;
}

/** Codex's `[mcp_servers.c2c]` table, read without a TOML library. */
function tomlServerEntries(text: string): ServerEntry[] {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => /^\s*\[mcp_servers\.c2c\]\s*$/.test(l));
  if (start === -1) return [];
  let end = lines.findIndex((l, i) =>
    i > start && /^\s*\[/.test(l) && !/^\s*\[mcp_servers\.c2c\./.test(l)
  );
  if (end === -1) end = lines.length;
  const table = lines.slice(start + 1, end).join("\n");
  const strings = (source: string) =>
    [...source.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) =>
      JSON.parse(`"${m[1]}"`) as string
    );
  const command = /^\s*command\s*=\s*("(?:[^"\\]|\\.)*")/m.exec(table);
  const args = /^\s*args\s*=\s*\[([^\]]*)\]/m.exec(table);
  return [{
    words: [
      ...(command ? strings(command[1]) : []),
      ...(args ? strings(args[1]) : []),
    ],
    wakeOff: new RegExp(`${WAKE_OFF}\\s*=\\s*"off"`).test(table),
  }];
}

/** Hook commands that run c2c's hook script, by event. */
function hookCommands(text: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const doc = parseJsonc(text);
  const hooks = isRecord(doc) && isRecord(doc.hooks) ? doc.hooks : {};
  for (const [event, groups] of Object.entries(hooks)) {
    if (!Array.isArray(groups)) continue;
    for (const group of groups) {
      const list = isRecord(group) && Array.isArray(group.hooks)
        ? group.hooks
        : [];
      for (const hook of list) {
        const command = isRecord(hook) ? hook.command : undefined;
        if (typeof command === "string" && command.includes(HOOK_SCRIPT)) {
          found.set(event, [...(found.get(event) ?? []), command]);
        }
      }
    }
  }
  return found;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * Parses JSON, also with the comments and trailing commas OpenCode and
 * others allow (JSONC).
 */
function parseJsonc(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Drop comments outside strings, then trailing commas, and try again.
    let out = "";
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (c === '"') {
        const start = i;
        for (i++; i < text.length && text[i] !== '"'; i++) {
          if (text[i] === "\\") i++;
        }
        out += text.slice(start, i + 1);
      } else if (c === "/" && text[i + 1] === "/") {
        while (i < text.length && text[i] !== "\n") i++;
        out += "\n";
      } else if (c === "/" && text[i + 1] === "*") {
        const end = text.indexOf("*/", i + 2);
        i = end === -1 ? text.length : end + 1;
      } else {
        out += c;
      }
    }
    return JSON.parse(out.replace(/,(\s*[}\]])/g, "$1"));
  }
}
