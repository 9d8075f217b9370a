// Test helpers for the `c2c` command: run cli.ts (or bin/c2c) as a real
// subprocess with the permission flags the launcher would give it, in a
// clean environment (no session variables leak in from the test runner).

import assert from "node:assert/strict";
import { cliGrant, permissionFlags } from "../lib/permissions.ts";
import { DENO, REPO } from "./_helpers.ts";

/** Outcome of one `c2c` run. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON. */
  json<T = Record<string, unknown>>(): T;
  /** stderr parsed as a `--json` error object. */
  error(): { code: string; message: string };
}

/** Options of {@linkcode c2c} and {@linkcode launch}. */
export interface RunOptions {
  /** Extra environment (the base is PATH, HOME and DENO_DIR only). */
  env?: Record<string, string>;
  /** Text for standard input. */
  stdin?: string;
  /** Working directory. */
  cwd?: string;
}

/**
 * The minimal environment a child needs: PATH, HOME, Deno's cache (pinned, so
 * a test's temp HOME does not send Deno to the network for its npm packages)
 * and the TLS/proxy settings that reaching the registry may need.
 */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of PASSED_ENV) {
    const value = Deno.env.get(name);
    if (value) env[name] = value;
  }
  const home = Deno.env.get("HOME") ?? "";
  env.DENO_DIR ??= `${Deno.env.get("XDG_CACHE_HOME") ?? `${home}/.cache`}/deno`;
  return env;
}

const PASSED_ENV = [
  "PATH",
  "HOME",
  "DENO_DIR",
  "DENO_CERT",
  "DENO_TLS_CA_STORE",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "HTTPS_PROXY",
  "HTTP_PROXY",
  "NO_PROXY",
  "https_proxy",
  "http_proxy",
  "no_proxy",
];

async function run(
  args: string[],
  options: RunOptions,
  extraEnv: Record<string, string>,
  program = DENO,
): Promise<Run> {
  const child = new Deno.Command(program, {
    args,
    cwd: options.cwd,
    clearEnv: true,
    env: { ...baseEnv(), ...extraEnv, ...options.env },
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const out = await child.output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  return {
    code: out.code,
    stdout,
    stderr,
    json<T>() {
      try {
        return JSON.parse(stdout) as T;
      } catch {
        assert.fail(`stdout is not JSON: ${stdout}\nstderr: ${stderr}`);
      }
    },
    error() {
      try {
        return JSON.parse(stderr).error;
      } catch {
        assert.fail(`stderr is not a JSON error: ${stderr}`);
      }
    },
  };
}

/**
 * Runs `cli.ts` directly with the scoped flags `permissionFlags("cli", …)`
 * and `cliGrant` give for these arguments, and `C2C_MCP_BROKER_ROOT=root`.
 */
export function c2c(
  root: string | null,
  args: string[],
  options: RunOptions = {},
): Promise<Run> {
  const env = { ...baseEnv(), ...options.env };
  return run(
    cliArgs(root, args, env),
    options,
    root ? { C2C_MCP_BROKER_ROOT: root } : {},
  );
}

/**
 * The `deno` arguments the launcher runs `cli.ts` with for `args`: the
 * scoped flags `permissionFlags("cli", …)` and `cliGrant` give.
 */
export function cliArgs(
  root: string | null,
  args: string[],
  env: Record<string, string>,
): string[] {
  const grant = cliGrant(args, DENO, (n) => env[n]);
  return [
    "run",
    "--quiet",
    `--config=${REPO}/deno.json`,
    ...permissionFlags("cli", { root, ...grant.scope }),
    `${REPO}/cli.ts`,
    ...args,
  ];
}

/** The `c2c` command of this checkout: `bin/c2c`, what an install runs. */
export const LAUNCHER = `${REPO}/bin/c2c`;

/**
 * Runs `bin/c2c` (the launcher), as the installed `c2c` does, with this
 * test run's Deno (`C2C_DENO`).
 */
export function launch(args: string[], options: RunOptions = {}): Promise<Run> {
  return run(args, options, { C2C_DENO: DENO }, LAUNCHER);
}

/** Asserts a run's exit code, showing its output when it differs. */
export function exits(r: Run, code: number): Run {
  assert.equal(
    r.code,
    code,
    `expected exit ${code}, got ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`,
  );
  return r;
}

/** A fresh temp directory removed at the end of the `using` block. */
export async function tempDir(
  prefix = "c2c-cli-",
): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    [Symbol.asyncDispose]: () =>
      Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}

/** A temp git repository (for root resolution through git). */
export async function tempRepo(): Promise<{ path: string } & AsyncDisposable> {
  const dir = await tempDir("c2c-repo-");
  const out = await new Deno.Command("git", {
    args: ["init", "-q", dir.path],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return dir;
}

/**
 * Registers sessions `<alias>-s` as `alias` through the CLI, one after the
 * other, so that registration order (which `list` and `send-all` follow) is
 * the order given.
 */
export async function registerAll(
  root: string,
  aliases: string[],
): Promise<void> {
  for (const a of aliases) {
    exits(await c2c(root, ["register", `${a}-s`, "--alias", a]), 0);
  }
}

/** Marks a session dead: a lease file that nobody holds. */
export function markDead(root: string, sessionId: string): void {
  Deno.mkdirSync(`${root}/leases`, { recursive: true });
  Deno.writeTextFileSync(`${root}/leases/${sessionId}.lock`, "");
}

/** Git with no user or system configuration, and an identity. */
export function gitEnv(): Record<string, string> {
  return {
    ...baseEnv(),
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_AUTHOR_NAME: "t",
    GIT_AUTHOR_EMAIL: "t@example.com",
    GIT_COMMITTER_NAME: "t",
    GIT_COMMITTER_EMAIL: "t@example.com",
    C2C_DENO: DENO,
  };
}

/** Runs git in `cwd` with {@linkcode gitEnv}; stdout and stderr together. */
export async function git(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string }> {
  const out = await new Deno.Command("git", {
    args,
    cwd,
    clearEnv: true,
    env: { ...gitEnv(), ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) +
    new TextDecoder().decode(out.stderr);
  return { code: out.code, out: text };
}
