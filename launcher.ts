/**
 * The permission helper of `bin/c2c` for its three rare commands: `setup`,
 * `unsetup` and `install` need grants on client config files whose paths
 * depend on the client, the flags and half a dozen variables
 * (`setup/paths.ts`). Repeating that in shell would double the launcher and
 * drift; these commands run seldom and by hand, so a second Deno start-up
 * there costs nothing that matters.
 *
 *   deno run --allow-env=HOME,… launcher.ts --grants CWD C2C_ARGS…
 *
 * prints one line of shell-quoted words for `bin/c2c` to `eval`: the backup
 * stamp the run will use, every `deno run` flag, and the path of `cli.ts`.
 * It needs no permission but reading a few variables: it starts nothing
 * (before, the launcher ran every command with all variables readable and
 * Deno runnable, which could start `deno -A`).
 *
 * @module
 */

import { codeDir } from "./lib/install_paths.ts";
import {
  cliGrant,
  permissionFlags,
  type PermissionScope,
} from "./lib/permissions.ts";
import type { EnvReader } from "./lib/session.ts";
import { CLIENTS, shellQuote } from "./setup/launch.ts";
import {
  setupCommandGrants,
  type SetupGrants,
  setupGrants,
  setupStamp,
} from "./setup/paths.ts";

/**
 * The grants of a `c2c setup|unsetup|install …` command line: `cliGrant()`'s,
 * plus the client config files `setup` edits (for `install`: every client's
 * user-wide files, which it moves to the new version), their temp and backup
 * files; `setup` may also run `git` (for `--target-dir`) and read the host
 * name (for the default alias).
 *
 * @param args The `c2c` arguments.
 * @param options Working directory, environment, backup stamp, Deno binary.
 * @returns The scope, without the root.
 *
 * @example Usage
 * ```ts ignore
 * import { helperScope } from "./launcher.ts";
 * helperScope(["setup", "kimi"], {
 *   cwd: "/p", env: (n) => n === "HOME" ? "/h" : undefined,
 *   stamp: "20260101T000000", deno: "/usr/bin/deno",
 * }).write; // ["/h/.kimi/mcp.json", "/h/.kimi/mcp.json.c2c-tmp", …]
 * ```
 */
export function helperScope(
  args: readonly string[],
  options: { cwd: string; env: EnvReader; stamp: string; deno: string },
): Omit<PermissionScope, "root"> {
  const { cwd, env, stamp, deno } = options;
  const scope = { ...cliGrant(args, deno, env).scope };
  const command = args.find((a) => !a.startsWith("-"));
  let files: SetupGrants | null = null;
  if (command === "install") {
    const home = env("HOME");
    if (home) {
      files = { read: [], write: [] };
      for (const client of CLIENTS) {
        const g = setupGrants(client, { home, env, targetDir: null }, stamp);
        files.read.push(...g.read);
        files.write.push(...g.write);
      }
    }
  } else if (command !== undefined) {
    files = setupCommandGrants(
      args.slice(args.indexOf(command)),
      env,
      cwd,
      stamp,
    );
    scope.run = ["git"];
    scope.sys = ["hostname"];
  }
  scope.read = [...(scope.read ?? []), ...(files?.read ?? [])];
  scope.write = [...(scope.write ?? []), ...(files?.write ?? [])];
  return scope;
}

/**
 * What the helper prints: the stamp, the flags and `cli.ts`, each quoted
 * for POSIX `sh`.
 *
 * @param args The `c2c` arguments.
 * @param options As for {@linkcode helperScope}, plus the broker root.
 * @returns One line of shell words.
 */
export function helperWords(
  args: readonly string[],
  options: {
    cwd: string;
    env: EnvReader;
    stamp: string;
    deno: string;
    root: string | null;
  },
): string {
  const flags = permissionFlags("cli", {
    root: options.root,
    ...helperScope(args, options),
  });
  return [options.stamp, ...flags, `${codeDir()}/cli.ts`].map(shellQuote)
    .join(" ");
}

function main(): number {
  const [mode, cwd, ...args] = Deno.args;
  if (mode !== "--grants" || !cwd) {
    console.error(
      "c2c: this command was installed by an older c2c, which ran launcher.ts; install again from the c2c checkout: ./denow task install",
    );
    return 1;
  }
  const env: EnvReader = (name) => {
    try {
      return Deno.env.get(name) || undefined;
    } catch {
      return undefined; // not one the helper may read: not one it needs
    }
  };
  console.log(helperWords(args, {
    cwd,
    env,
    stamp: setupStamp(new Date()),
    deno: Deno.execPath(),
    root: env("C2C_MCP_BROKER_ROOT") ?? null,
  }));
  return 0;
}

if (import.meta.main) Deno.exit(main());
