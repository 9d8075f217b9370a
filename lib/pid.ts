/**
 * Whether a process id names a running process, for `refresh-peer`.
 *
 * Deno has no `kill(pid, 0)` and refuses `/proc` reads without
 * `--allow-all`, so this asks `ps`, which the CLI may run for this command
 * only (see `cliGrant` in `permissions.ts`).
 *
 * @module
 */

/**
 * Checks that `pid` is a running process with `ps -p PID` (exit status 0 when
 * it exists).
 *
 * Requires `--allow-run=ps`.
 *
 * @param pid Process id.
 * @returns `true` when the process exists.
 * @throws {Error} When `ps` cannot be run (missing, or not permitted).
 *
 * @example Usage
 * ```ts ignore
 * import { isPidAlive } from "./pid.ts";
 * isPidAlive(Deno.pid); // true
 * ```
 */
export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    return new Deno.Command("ps", {
      args: ["-p", String(pid)],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch (e) {
    throw new Error(
      `cannot run 'ps' to check pid ${pid}: ${(e as Error).message}`,
    );
  }
}
