/**
 * Broker root resolution (docs/design.md#root): `C2C_MCP_BROKER_ROOT`, else
 * `<git common dir>/c2c/mcp` so that every worktree of a repository shares one
 * broker, else a clear error.
 *
 * @module
 */

import { absolutePath, joinPath } from "./_path.ts";
import { BrokerRootError } from "./errors.ts";

/** Environment variable that names the broker root explicitly. */
export const BROKER_ROOT_ENV = "C2C_MCP_BROKER_ROOT";

/** Where the root came from. */
export type BrokerRootSource = "env" | "git";

/** A resolved broker root. */
export interface ResolvedRoot {
  /** Absolute path of the broker root. */
  root: string;
  /** Whether it came from the environment or from git. */
  source: BrokerRootSource;
}

/** Inputs to {@linkcode resolveBrokerRoot}; defaults come from the process. */
export interface ResolveRootOptions {
  /** Value of `C2C_MCP_BROKER_ROOT` (default: read from the environment). */
  envRoot?: string;
  /** Directory to ask git from (default: the current directory). */
  cwd?: string;
}

/**
 * Resolves the broker root.
 *
 * Requires `--allow-env=C2C_MCP_BROKER_ROOT`, and `--allow-run=git` when the
 * variable is unset.
 *
 * @param options Overrides for the environment and working directory.
 * @returns The absolute root and its source.
 * @throws {BrokerRootError} Outside a git repository with the variable unset.
 *
 * @example Usage
 * ```ts ignore
 * import { resolveBrokerRoot } from "./root.ts";
 * const { root } = await resolveBrokerRoot();
 * ```
 */
export async function resolveBrokerRoot(
  options: ResolveRootOptions = {},
): Promise<ResolvedRoot> {
  const cwd = options.cwd ?? Deno.cwd();
  const envRoot = options.envRoot ?? Deno.env.get(BROKER_ROOT_ENV);
  if (envRoot) return { root: absolutePath(cwd, envRoot), source: "env" };
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("git", {
      args: ["rev-parse", "--git-common-dir"],
      cwd,
      stdout: "piped",
      stderr: "null",
    }).output();
  } catch (e) {
    throw new BrokerRootError(
      `cannot run git to find the broker root (${
        (e as Error).message
      }); set ${BROKER_ROOT_ENV}=/path/to/broker`,
    );
  }
  if (!output.success) {
    throw new BrokerRootError(
      `${cwd} is not inside a git repository; run c2c inside one, or set ${BROKER_ROOT_ENV}=/path/to/broker`,
    );
  }
  const dir = new TextDecoder().decode(output.stdout).trim();
  return {
    root: joinPath(absolutePath(cwd, dir), "c2c", "mcp"),
    source: "git",
  };
}
