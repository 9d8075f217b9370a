/**
 * Where `c2c install` puts the command. Free of `node:` imports, so the
 * launcher can grant `install` access to exactly the shim without loading
 * Deno's Node layer on every call.
 *
 * @module
 */

import { InvalidArgumentError } from "./errors.ts";
import type { EnvReader } from "./session.ts";
import { absolutePath, joinPath } from "./_path.ts";

/** Name of the installed command. */
export const COMMAND_NAME = "c2c";

/**
 * Where `deno install -g` puts commands: `--root DIR`, else
 * `DENO_INSTALL_ROOT`, else `$HOME/.deno` (Deno's own rule). The command goes
 * into `<root>/bin`.
 *
 * @param flag Value of `--root`, if given (relative to the current directory).
 * @param env Environment reader.
 * @returns The absolute install root.
 * @throws {InvalidArgumentError} When none of the three is available.
 *
 * @example Usage
 * ```ts
 * import { installRoot } from "./install.ts";
 * installRoot(undefined, (n) => n === "HOME" ? "/home/me" : undefined);
 * // "/home/me/.deno"
 * ```
 */
export function installRoot(flag: string | undefined, env: EnvReader): string {
  if (flag) return absolutePath(Deno.cwd(), flag);
  const fromEnv = env("DENO_INSTALL_ROOT");
  if (fromEnv) return absolutePath(Deno.cwd(), fromEnv);
  const home = env("HOME");
  if (home) return joinPath(home, ".deno");
  throw new InvalidArgumentError(
    "cannot tell where to install: pass --root DIR, or set DENO_INSTALL_ROOT or HOME",
  );
}

/**
 * Path of the installed shim under an install root.
 *
 * @param root Install root.
 * @returns `<root>/bin/c2c`.
 */
export function shimPath(root: string): string {
  return joinPath(root, "bin", COMMAND_NAME);
}
