/**
 * `c2c install`: installs the `c2c` command with `deno install -g`, as a shim
 * that runs `launcher.ts` with the launcher's narrow permissions (DESIGN §10:
 * all environment variables, and running only `git` and this Deno binary).
 * The launcher then starts `cli.ts` scoped to the broker root.
 *
 * Never `deno compile` (it downloads a runtime); `deno install` works offline
 * because the launcher's graph has no remote modules.
 *
 * @module
 */

import { absolutePath, joinPath } from "./_path.ts";
import type { EnvReader } from "./session.ts";
import { readTextOrNull } from "./_fs.ts";
import { COMMAND_NAME, shimPath } from "./install_paths.ts";

export { COMMAND_NAME, installRoot, shimPath } from "./install_paths.ts";

/** What {@linkcode installPlan} computes. */
export interface InstallPlan {
  /** Install root. */
  root: string;
  /** `<root>/bin`, which must be on `PATH`. */
  bin_dir: string;
  /** The installed command, `<root>/bin/c2c`. */
  command: string;
  /** Arguments to pass to Deno. */
  deno_args: string[];
}

/**
 * Computes the `deno install` invocation. Pure.
 *
 * @param repoDir Absolute path of the c2c checkout (holds `launcher.ts`).
 * @param denoPath Absolute path of the Deno binary.
 * @param root Install root (see {@linkcode installRoot}).
 * @returns The plan.
 *
 * @example Usage
 * ```ts
 * import { installPlan } from "./install.ts";
 * installPlan("/src/c2c", "/usr/bin/deno", "/home/me/.deno").deno_args;
 * // ["install", "-g", "-f", "--root", "/home/me/.deno", "-n", "c2c",
 * //  "--config", "/src/c2c/deno.json", "--allow-env",
 * //  "--allow-run=git,/usr/bin/deno", "/src/c2c/launcher.ts"]
 * ```
 */
export function installPlan(
  repoDir: string,
  denoPath: string,
  root: string,
): InstallPlan {
  return {
    root,
    bin_dir: joinPath(root, "bin"),
    command: shimPath(root),
    deno_args: [
      "install",
      "-g",
      "-f",
      "--root",
      root,
      "-n",
      COMMAND_NAME,
      "--config",
      joinPath(repoDir, "deno.json"),
      "--allow-env",
      `--allow-run=git,${denoPath}`,
      joinPath(repoDir, "launcher.ts"),
    ],
  };
}

/**
 * Makes the shim run this Deno binary by absolute path instead of whatever
 * `deno` is first on `PATH`. The launcher may run only the Deno it was
 * installed with (`--allow-run=git,<deno>`), and starts its child with
 * `Deno.execPath()`, so any other `deno` (or none on `PATH`, as when Deno came
 * from npm) would break the command. Pure.
 *
 * @param shim The shim `deno install` wrote.
 * @param denoPath Absolute path of the Deno binary.
 * @returns The shim with `exec deno` replaced (unchanged if not found).
 *
 * @example Usage
 * ```ts
 * import { pinDeno } from "./install.ts";
 * pinDeno("exec deno run x.ts \"$@\"", "/opt/deno");
 * // "exec '/opt/deno' run x.ts \"$@\""
 * ```
 */
export function pinDeno(shim: string, denoPath: string): string {
  const quoted = `'${denoPath.replaceAll("'", `'\\''`)}'`;
  return shim.replace(/^exec deno /m, `exec ${quoted} `);
}

/** Result of `install`. */
export interface InstallResult {
  /** `installed` (new), `updated` (changed) or `unchanged` (reinstalled as it was). */
  status: "installed" | "updated" | "unchanged";
  /** The installed command. */
  command: string;
  /** Directory to put on `PATH`. */
  bin_dir: string;
  /** Whether `bin_dir` is on `PATH` already. */
  on_path: boolean;
  /** The Deno binary the command runs. */
  deno: string;
}

/**
 * Installs (or reinstalls) the `c2c` command. Idempotent: `-f` replaces an
 * earlier install, and the result says whether anything changed.
 *
 * Requires `--allow-run=<denoPath>`, and `--allow-read` and `--allow-write`
 * on `<root>/bin/c2c`.
 *
 * @param options Checkout, Deno binary, install root and environment.
 * @returns What was installed where.
 * @throws {Error} When `deno install` fails (with its message).
 */
export async function installC2c(options: {
  repoDir: string;
  denoPath: string;
  root: string;
  env: EnvReader;
}): Promise<InstallResult> {
  const plan = installPlan(options.repoDir, options.denoPath, options.root);
  const before = readTextOrNull(plan.command);
  const out = await new Deno.Command(options.denoPath, {
    args: plan.deno_args,
    env: { NO_COLOR: "1" }, // plain text for the error message
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr).trim();
    const last = text.split("\n").filter((l) => l.trim()).pop() ?? "";
    throw new Error(`deno install failed (exit ${out.code}): ${last}`);
  }
  const written = Deno.readTextFileSync(plan.command);
  const pinned = pinDeno(written, options.denoPath);
  if (pinned !== written) Deno.writeTextFileSync(plan.command, pinned);
  const path = options.env("PATH") ?? "";
  return {
    status: before === null
      ? "installed"
      : before === pinned
      ? "unchanged"
      : "updated",
    command: plan.command,
    bin_dir: plan.bin_dir,
    on_path: path.split(":").some((p) =>
      p && absolutePath(Deno.cwd(), p) === plan.bin_dir
    ),
    deno: options.denoPath,
  };
}
