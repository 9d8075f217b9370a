/**
 * The wake registry's vocabulary: how an idle session can be woken, as `c2c
 * setup` writes it (`C2C_MCP_WAKE` in the MCP entry's environment), as the
 * server records it in its registration (`wake: {path, …}`), and as `c2c
 * list` and `c2c health` show it. Pure: no I/O.
 *
 * | path | who wakes | how |
 * |---|---|---|
 * | `claude-socket` | the session's MCP server | one line to Claude Code's messaging socket |
 * | `claude-rewake` | a waiter run by Claude Code's `asyncRewake` hooks | exits 2 with the envelopes on stderr |
 * | `codex-daemon` | the session's MCP server | `thread/queue/add` on Codex's app-server daemon |
 * | `opencode-plugin` | c2c's OpenCode plugin | `client.session.promptAsync` with a pointer |
 * | `gemini-hook` | Gemini's AfterAgent hook | `{"decision":"deny","reason":…}` once |
 * | `harness` | `c2c run` | a poll line typed into its pseudo-terminal |
 * | `off` | nobody | `c2c setup <client> --no-wake` |
 *
 * @module
 */

import type { WakeInfo } from "./registry.ts";

/** The environment variable `c2c setup` writes the wake path into. */
export const WAKE_ENV = "C2C_MCP_WAKE";

/** Every wake path c2c knows. */
export const WAKE_PATHS = [
  "claude-socket",
  "claude-rewake",
  "codex-daemon",
  "opencode-plugin",
  "gemini-hook",
  "harness",
  "off",
] as const;

/** One of {@linkcode WAKE_PATHS}. */
export type WakePath = (typeof WAKE_PATHS)[number];

/**
 * The `timeout` (seconds) of the `asyncRewake` waiter hooks `c2c setup
 * claude-code --rewake` writes: Claude Code kills a waiter then, and the
 * waiter ends itself a little before (`wake/rewake.ts`).
 */
export const REWAKE_TIMEOUT_S = 1800;

/**
 * Parses `C2C_MCP_WAKE`.
 *
 * @param value The variable's value.
 * @returns The wake path, or `null` when unset or not one c2c knows.
 *
 * @example Usage
 * ```ts
 * import { parseWakePath } from "./wake_info.ts";
 * parseWakePath("codex-daemon"); // "codex-daemon"
 * parseWakePath(undefined); // null
 * ```
 */
export function parseWakePath(value: string | undefined): WakePath | null {
  return (WAKE_PATHS as readonly string[]).includes(value ?? "")
    ? value as WakePath
    : null;
}

/**
 * The wake path a registration records, or `null` when it records none.
 *
 * @param wake The registration's `wake` field.
 * @returns Its `path`, when it is one c2c knows.
 */
export function wakePathOf(wake: WakeInfo | undefined): WakePath | null {
  const path = wake?.path;
  return typeof path === "string" ? parseWakePath(path) : null;
}

/**
 * Whether a registration's wake path can wake the session now: not `off`,
 * and not a server path that lacks what it needs (`enabled: false`).
 *
 * @param wake The registration's `wake` field.
 * @returns `true` when an idle session is woken.
 */
export function wakeEnabled(wake: WakeInfo | undefined): boolean {
  const path = wakePathOf(wake);
  return path !== null && path !== "off" && wake?.enabled !== false;
}

/**
 * A short word for `c2c list`'s WAKE column: the path, `off`, or the path
 * followed by `?` when it cannot wake yet (e.g. a Codex thread not known).
 *
 * @param wake The registration's `wake` field.
 * @returns The cell text; `-` when no path is recorded.
 */
export function wakeCell(wake: WakeInfo | undefined): string {
  const path = wakePathOf(wake);
  if (path === null) return "-";
  return wakeEnabled(wake) || path === "off" ? path : `${path}?`;
}

/**
 * One line for `c2c health`: the wake path and whether it is enabled.
 *
 * @param wake The registration's `wake` field.
 * @returns The wake path's state in words.
 */
export function describeWake(wake: WakeInfo | undefined): string {
  const path = wakePathOf(wake);
  if (path === null) {
    return "no wake path recorded: an idle agent sees messages only on its next tool call or poll";
  }
  if (path === "off") return "off (set up with --no-wake)";
  const why = typeof wake?.reason === "string" ? `: ${wake.reason}` : "";
  return `${path}, ${wakeEnabled(wake) ? "enabled" : "not usable yet"}${why}`;
}
