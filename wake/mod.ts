/**
 * Waking agents that have no hook path (issue 6): the managed harness behind
 * `c2c run <client>`, `c2c restart-me`, and `c2c wake --tmux-pane`. This is
 * what the `c2c` command imports; `main.ts` runs the same functions
 * standalone.
 *
 * | command | function | Deno flags (besides read/write on the broker root) |
 * |---|---|---|
 * | `c2c run <client> [--alias A] [--] [args…]` | {@linkcode parseRunArgs} + {@linkcode runHarness} | `--allow-ffi` |
 * | `c2c restart-me` | {@linkcode restartMe} | `--allow-env` for {@linkcode RESTART_ME_ENV} |
 * | `c2c wake --tmux-pane %N --alias A` | {@linkcode wakeTmuxPane} | `--allow-run=tmux`, `--allow-env=TMUX,TMUX_PANE` |
 *
 * {@linkcode wakePermissionFlags} gives the exact flags.
 *
 * @example Run Codex under the harness
 * ```ts ignore
 * import { parseRunArgs, runHarness } from "./mod.ts";
 * const run = parseRunArgs(["codex", "--alias", "cx", "--", "--model", "o4-mini"]);
 * Deno.exit(await runHarness({ root: "/repo/.git/c2c/mcp", ...run }));
 * ```
 *
 * @module
 */

export {
  DOUBLE_INTERRUPT_MS,
  HarnessError,
  type HarnessOptions,
  runHarness,
} from "./harness.ts";
export { parseRunArgs, type RunArgs } from "./run_args.ts";
export {
  RESTART_ME_ENV,
  restartMe,
  type RestartMeOptions,
  type RestartMeResult,
} from "./restart_me.ts";
export {
  TMUX_WAKE_ENV,
  TmuxError,
  type TmuxWakeOptions,
  wakeTmuxPane,
} from "./tmux.ts";
export {
  HARNESS_ENV,
  type WakeCommand,
  wakeEnv,
  wakePermissionFlags,
} from "./flags.ts";
export {
  type ClientName,
  type ClientProfile,
  clientProfile,
  CLIENTS,
  detectClient,
  pollLine,
} from "./clients.ts";
export { CONTROL_ENV } from "./control.ts";
