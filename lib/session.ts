/**
 * Which session a process speaks for (docs/design.md#identity). The MCP server and the CLI
 * resolve it the same way, from explicit input first, then from the ids the
 * client itself exports.
 *
 * @module
 */

/** Where a session id came from. */
export type SessionSource =
  | "flag"
  | "C2C_SESSION_ID"
  | "C2C_MCP_SESSION_ID"
  | "CLAUDE_CODE_SESSION_ID"
  | "GEMINI_SESSION_ID"
  | "alias"
  | "generated";

/** A resolved session id and its source. */
export interface ResolvedSession {
  /** The session id. */
  sessionId: string;
  /** Where it came from. */
  source: SessionSource;
}

/** Reads one environment variable; `undefined` when unset or empty. */
export type EnvReader = (name: string) => string | undefined;

/** Client-exported session variables, in the order they are trusted. */
const CLIENT_SESSION_VARS = [
  "CLAUDE_CODE_SESSION_ID",
  "GEMINI_SESSION_ID",
] as const;

/**
 * Resolves the MCP server's session: `C2C_MCP_SESSION_ID`, the client's own
 * id (`CLAUDE_CODE_SESSION_ID`, `GEMINI_SESSION_ID`), else the auto-register
 * alias (a stable id across restarts for clients that export none, such as
 * Codex and OpenCode), else a fresh id for this process.
 *
 * @param env Environment reader.
 * @returns The session id and its source.
 *
 * @example Usage
 * ```ts
 * import { resolveServerSession } from "./session.ts";
 * const env = new Map([["C2C_MCP_AUTO_REGISTER_ALIAS", "codex-alice-box"]]);
 * resolveServerSession((n) => env.get(n)).sessionId; // "codex-alice-box"
 * ```
 */
export function resolveServerSession(env: EnvReader): ResolvedSession {
  const explicit = env("C2C_MCP_SESSION_ID");
  if (explicit) return { sessionId: explicit, source: "C2C_MCP_SESSION_ID" };
  for (const name of CLIENT_SESSION_VARS) {
    const value = env(name);
    if (value) return { sessionId: value, source: name };
  }
  const alias = env("C2C_MCP_AUTO_REGISTER_ALIAS");
  if (alias) return { sessionId: alias, source: "alias" };
  return { sessionId: crypto.randomUUID(), source: "generated" };
}

/**
 * Resolves a CLI call's session: `--session-id`, else `C2C_SESSION_ID`, else
 * `C2C_MCP_SESSION_ID`, else the client's own id. `null` when none is set
 * (the caller may then look the session up by alias).
 *
 * @param flag Value of `--session-id`, if given.
 * @param env Environment reader.
 * @returns The session id and its source, or `null`.
 */
export function resolveCliSession(
  flag: string | undefined,
  env: EnvReader,
): ResolvedSession | null {
  if (flag) return { sessionId: flag, source: "flag" };
  const shell = env("C2C_SESSION_ID");
  const client = env("C2C_MCP_SESSION_ID");
  // `c2c run` exports both for the client it starts: the same id there is
  // the client's own (C2C_MCP_SESSION_ID), not a shell naming someone.
  if (shell && shell !== client) {
    return { sessionId: shell, source: "C2C_SESSION_ID" };
  }
  if (client) return { sessionId: client, source: "C2C_MCP_SESSION_ID" };
  for (const name of CLIENT_SESSION_VARS) {
    const value = env(name);
    if (value) return { sessionId: value, source: name };
  }
  return null;
}

/**
 * Reads an environment variable without throwing when the process lacks
 * permission for it (scoped `--allow-env` lists).
 *
 * @param name Variable name.
 * @returns Its value, or `undefined` when unset, empty or not permitted.
 */
export function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where a session id comes from when the process runs inside that
 * session's own client: the client (or `c2c run`) put it in the
 * environment of everything it starts.
 */
const OWN_SESSION_SOURCES: ReadonlySet<SessionSource> = new Set([
  "C2C_MCP_SESSION_ID",
  "CLAUDE_CODE_SESSION_ID",
  "GEMINI_SESSION_ID",
]);

/**
 * Whether a command may act as a session (send as it, read or drain its
 * inbox, rename it). A session whose lease a live process holds (its MCP
 * server, or `c2c run`) belongs to that process: another process may act as
 * it only from inside the session's own client, where the client's id for
 * it is in the environment. A flag (`--session-id`, `--alias`) or
 * `C2C_SESSION_ID` naming someone else's live session is borrowing it.
 *
 * This guards against careless and casual borrowing; a process of the same
 * OS user can still set those variables or read the broker's files (the
 * threat model in docs/design.md#acting-as).
 *
 * @param source Where the caller's session id came from (`alias` when it was
 * looked up from `--alias` / `C2C_ALIAS`).
 * @param alive The session's liveness.
 * @returns `true` when the caller may act as the session.
 *
 * @example Usage
 * ```ts
 * import { mayActAs } from "./session.ts";
 * mayActAs("flag", true); // false: someone else's live session
 * mayActAs("CLAUDE_CODE_SESSION_ID", true); // true: its own client's id
 * mayActAs("flag", null); // true: a shell session, no lease
 * ```
 */
export function mayActAs(
  source: SessionSource,
  alive: boolean | null,
): boolean {
  return alive !== true || OWN_SESSION_SOURCES.has(source);
}
