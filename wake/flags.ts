/**
 * The Deno permission flags each wake entry point needs (docs/design.md#permissions), for
 * `wake/main.ts`, the tests, and whoever wires these commands into `c2c`.
 *
 * - `run` (the harness): the broker root and `--allow-ffi` for the
 *   pseudo-terminal. No `--allow-run`: the client is started through libc's
 *   `posix_spawnp`, and signals go through libc's `kill`. No broad
 *   `--allow-env`: the client's environment is read from libc's `environ`
 *   (FFI already grants that much).
 * - `restart-me`: the broker root (the control file lives there) and the
 *   variables that locate the harness and name the client.
 * - `wake` (tmux): the broker root, `--allow-run=tmux`, `TMUX`, `TMUX_PANE`.
 *
 * Pure.
 *
 * @module
 */

import { RESTART_ME_ENV } from "./restart_me.ts";
import { TMUX_WAKE_ENV } from "./tmux.ts";

/** A wake entry point. */
export type WakeCommand = "run" | "restart-me" | "wake";

/**
 * Environment variables the harness reads (besides the root): none. The
 * client's environment is passed on from libc's `environ`, not read through
 * Deno.
 */
export const HARNESS_ENV: readonly string[] = [];

/** The variable that names the broker root. */
const ROOT_ENV = "C2C_MCP_BROKER_ROOT";

/**
 * Environment variables an entry point reads.
 *
 * @param command The entry point.
 * @returns Variable names, the root's first.
 */
export function wakeEnv(command: WakeCommand): string[] {
  const own = command === "run"
    ? HARNESS_ENV
    : command === "restart-me"
    ? RESTART_ME_ENV
    : TMUX_WAKE_ENV;
  return [...new Set([ROOT_ENV, ...own])];
}

/**
 * Computes the `deno run` flags for a wake entry point.
 *
 * @param command The entry point.
 * @param root Absolute broker root.
 * @returns Flags, e.g. for `run`: `["--no-prompt", "--allow-read=ROOT",
 * "--allow-write=ROOT", "--allow-env=C2C_MCP_BROKER_ROOT", "--allow-ffi"]`.
 *
 * @example Usage
 * ```ts
 * import { wakePermissionFlags } from "./flags.ts";
 * wakePermissionFlags("wake", "/repo/.git/c2c/mcp");
 * // ["--no-prompt", "--allow-read=/repo/.git/c2c/mcp",
 * //  "--allow-write=/repo/.git/c2c/mcp",
 * //  "--allow-env=C2C_MCP_BROKER_ROOT,TMUX,TMUX_PANE", "--allow-run=tmux"]
 * ```
 */
export function wakePermissionFlags(
  command: WakeCommand,
  root: string,
): string[] {
  const flags = [
    "--no-prompt",
    `--allow-read=${root}`,
    `--allow-write=${root}`,
    `--allow-env=${wakeEnv(command).join(",")}`,
  ];
  if (command === "run") flags.push("--allow-ffi");
  if (command === "wake") flags.push("--allow-run=tmux");
  return flags;
}
