// Private helpers of the `cli` and `hook` groups: the exact command lines a
// user's `c2c` runs with (the launcher, and `cli.ts` with the flags the
// launcher gives it; as `tests/_cli.ts` builds them), the floors they are
// compared with, a temp git repository holding the broker where the launcher
// and the hook script look for it, and a checked subprocess run.

import { fileURLToPath } from "node:url";
import { baseEnv, cliArgs, LAUNCHER } from "../tests/_cli.ts";

const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));

/** The repository checkout (no trailing slash). */
export const REPO: string = here("..").replace(/\/$/, "");
/** The Deno binary running the benchmark (the pinned one). */
export const DENO: string = Deno.execPath();
/** A script with nothing in it: the floor under any `deno run`. */
export const EMPTY_SCRIPT: string = here("./_empty.ts");

/**
 * The clean environment every child starts from: PATH, HOME, TLS settings
 * and a pinned Deno cache (so every child uses the same, warm cache),
 * nothing of c2c's — the tests' own.
 */
export const childEnv: () => Record<string, string> = baseEnv;

/** One subprocess run: program, arguments, directory, environment, input. */
export interface Invocation {
  /** Program. */
  command: string;
  /** Arguments. */
  args: string[];
  /** Working directory (default: this process's). */
  cwd?: string;
  /** The child's whole environment (it starts from an empty one). */
  env: Record<string, string>;
  /** Text written to its standard input (default: none, stdin is null). */
  stdin?: string;
}

/**
 * `cli.ts` as the launcher starts it: `deno run --quiet --config=… ` + the
 * flags `permissionFlags("cli", …)` and `cliGrant` give for these arguments,
 * with `C2C_MCP_BROKER_ROOT` set.
 */
export function directCli(
  root: string,
  args: string[],
  env: Record<string, string> = {},
): Invocation {
  const all: Record<string, string> = {
    ...childEnv(),
    ...env,
    C2C_MCP_BROKER_ROOT: root,
  };
  return {
    command: DENO,
    args: cliArgs(root, args, all),
    env: all,
  };
}

/**
 * The installed `c2c`: the launcher, run in `cwd` (it finds the broker root
 * through git, then starts `cli.ts` with scoped flags).
 */
export function launcherCli(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
): Invocation {
  return {
    command: LAUNCHER,
    args,
    cwd,
    env: { ...childEnv(), C2C_DENO: DENO, ...env },
  };
}

/** `deno run` of the empty script, optionally with c2c's `deno.json`. */
export function emptyDeno(withConfig = false): Invocation {
  return {
    command: DENO,
    args: [
      "run",
      "--quiet",
      ...(withConfig ? [`--config=${REPO}/deno.json`] : []),
      "--no-prompt",
      EMPTY_SCRIPT,
    ],
    env: childEnv(),
  };
}

/** `/bin/true`: the cost of starting any process at all. */
export function binTrue(): Invocation {
  return { command: "/bin/true", args: [], env: childEnv() };
}

/**
 * Runs an invocation to its end and returns its standard output; throws,
 * with its stderr, when it exits non-zero.
 */
export async function runChecked(inv: Invocation): Promise<string> {
  const child = new Deno.Command(inv.command, {
    args: inv.args,
    cwd: inv.cwd,
    clearEnv: true,
    env: inv.env,
    stdin: inv.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (inv.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(inv.stdin));
    await writer.close();
  }
  const out = await child.output();
  if (!out.success) {
    throw new Error(
      `${inv.command} ${inv.args.slice(-3).join(" ")} exited ${out.code}: ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

/** A temp git repository whose broker root is `.git/c2c/mcp`. */
export interface TempRepo extends AsyncDisposable {
  /** The repository (real path, as `getcwd` reports it). */
  path: string;
  /** Its broker root, where the launcher and the hook script look. */
  root: string;
}

/** Creates a {@linkcode TempRepo}; removed when disposed. */
export async function tempRepo(): Promise<TempRepo> {
  const path = Deno.realPathSync(
    await Deno.makeTempDir({ prefix: "c2c-bench-repo-" }),
  );
  const out = await new Deno.Command("git", {
    args: ["init", "-q", path],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`git init: ${new TextDecoder().decode(out.stderr)}`);
  }
  const root = `${path}/.git/c2c/mcp`;
  await Deno.mkdir(root, { recursive: true });
  return {
    path,
    root,
    [Symbol.asyncDispose]: () =>
      Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}
