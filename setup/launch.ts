/**
 * What `setup` writes into a client's config to start c2c: the MCP server
 * entry (command, args, env), the hook command, and the default alias.
 *
 * Two ways to start the server, both with permissions scoped to the broker
 * root (docs/design.md#permissions):
 * - through `bin/c2c-mcp`, which finds the root of whatever repository the
 *   client runs in (user-wide configs: one entry serves every project);
 * - directly with the root resolved now, for project configs (`--target-dir`)
 *   and for Codex, which starts MCP servers in `~/.codex` where git cannot
 *   find the project.
 *
 * @module
 */

import { natsScope, permissionFlags } from "../lib/permissions.ts";
import { WAKE_ENV, type WakePath } from "../lib/wake_info.ts";

/** The clients `setup` knows. */
export const CLIENTS = [
  "claude-code",
  "codex",
  "opencode",
  "gemini",
  "kimi",
  "crush",
] as const;

/** One of {@linkcode CLIENTS}. */
export type ClientName = (typeof CLIENTS)[number];

/**
 * Each client's native wake path (issue 9); Kimi and Crush have none (`c2c
 * run` wakes them).
 */
export const CLIENT_WAKE: Readonly<Record<ClientName, WakePath | null>> = {
  "claude-code": "claude-socket",
  codex: "codex-daemon",
  opencode: "opencode-plugin",
  gemini: "gemini-hook",
  kimi: null,
  crush: null,
};

/** How a client starts the c2c MCP server. */
export interface ServerLaunch {
  /** Executable (the Deno binary). */
  command: string;
  /** Its arguments. */
  args: string[];
  /** Environment to set. */
  env: Record<string, string>;
}

/** Inputs to {@linkcode serverLaunch}. */
export interface LaunchOptions {
  /** Absolute path of the Deno binary. */
  deno: string;
  /** Absolute path of the c2c checkout. */
  repo: string;
  /** Broker root to pin, or `null` to let the launcher find it per project. */
  root: string | null;
  /** Alias to auto-register, or `null` for none. */
  alias: string | null;
  /** The client. */
  client: ClientName;
  /** Deno's cache directory, so the server finds its npm packages offline. */
  denoDir: string | null;
  /** The wake path to record (`off` with `--no-wake`), or `null` for none. */
  wake?: WakePath | null;
  /** Codex's daemon socket (the server may read and write exactly it). */
  codexSocket?: string;
  /** The NATS store's variables, or `null`/absent for the file store. */
  broker?: Record<string, string> | null;
}

/**
 * Computes the MCP server entry.
 *
 * @param options Paths, root, alias and client.
 * @returns Command, args and env.
 *
 * @example Usage
 * ```ts
 * import { serverLaunch } from "./launch.ts";
 * serverLaunch({
 *   deno: "/usr/bin/deno", repo: "/opt/c2c", root: null,
 *   alias: "codex-alice-box", client: "codex", denoDir: null,
 * }).command; // "/opt/c2c/bin/c2c-mcp"
 * ```
 */
export function serverLaunch(options: LaunchOptions): ServerLaunch {
  const config = `--config=${options.repo}/deno.json`;
  const env: Record<string, string> = { C2C_MCP_CLIENT: options.client };
  if (options.alias) env.C2C_MCP_AUTO_REGISTER_ALIAS = options.alias;
  if (options.denoDir) env.DENO_DIR = options.denoDir;
  if (options.wake) env[WAKE_ENV] = options.wake;
  const codexSocket = options.wake === "codex-daemon"
    ? options.codexSocket
    : undefined;
  if (codexSocket) env.C2C_MCP_CODEX_SOCKET = codexSocket;
  Object.assign(env, options.broker ?? {});
  // Claude Code's messaging socket is per process (known only when the
  // client starts the server), so its entry always goes through
  // bin/c2c-mcp, which grants exactly that socket; a pinned root travels in
  // the environment.
  if (options.root === null || options.client === "claude-code") {
    // bin/c2c-mcp finds the root of the project the client runs in, then
    // starts the server scoped to it (without a second Deno start-up).
    if (options.root !== null) env.C2C_MCP_BROKER_ROOT = options.root;
    return {
      command: `${options.repo}/bin/c2c-mcp`,
      args: ["--deno", options.deno],
      env,
    };
  }
  env.C2C_MCP_BROKER_ROOT = options.root;
  return {
    command: options.deno,
    args: [
      "run",
      "--quiet",
      config,
      ...permissionFlags("server", {
        root: options.root,
        sockets: codexSocket ? [codexSocket] : [],
        ...natsScopeOf(options.broker),
      }),
      `${options.repo}/server.ts`,
    ],
    env,
  };
}

/** Inputs to {@linkcode hookCommand}. */
export interface HookOptions {
  /** Absolute path of the c2c checkout (holds `bin/c2c-hook`). */
  repo: string;
  /** Absolute path of the Deno binary. */
  deno: string;
  /** The client. */
  client: ClientName;
  /** Find the inbox by this alias (clients whose hooks lack our session id). */
  alias: string | null;
  /** Pin the broker root (else the hook asks git in the project). */
  root: string | null;
  /**
   * Deno's cache directory, pinned as for the server entry: when messages
   * wait the hook starts Deno, which must find c2c's npm packages where
   * setup's Deno cached them, not download them again (that outlasts the
   * client's hook timeout, and the messages never arrive).
   */
  denoDir?: string | null;
  /** The NATS store's variables, set for the hook (it needs them too). */
  broker?: Record<string, string> | null;
  /**
   * Claude Code's asyncRewake waiter instead of the delivery hook: the
   * command `exec`s the script (which `exec`s Deno), so the waiter's parent
   * is Claude Code itself and it notices when Claude Code is gone.
   */
  rewake?: boolean;
}

/**
 * The shell command a client runs as its hook. It starts with a POSIX shell
 * script that checks the inbox file's size and exits at once when nothing
 * waits, so the common path never starts Deno. With `denoDir`, the command
 * sets `DENO_DIR` for it first (a shell assignment: no extra process).
 *
 * @param options Paths, client, alias, root and Deno's cache.
 * @returns The command line.
 *
 * @example Usage
 * ```ts
 * import { hookCommand } from "./launch.ts";
 * hookCommand({
 *   repo: "/opt/c2c", deno: "/usr/bin/deno", client: "claude-code",
 *   alias: null, root: null, rewake: true,
 * }); // "exec /opt/c2c/bin/c2c-hook claude-code --rewake --deno /usr/bin/deno"
 * ```
 */
export function hookCommand(options: HookOptions): string {
  const parts = [
    ...(options.denoDir ? [`DENO_DIR=${shellQuote(options.denoDir)}`] : []),
    ...Object.entries(options.broker ?? {}).map(([name, value]) =>
      `${name}=${shellQuote(value)}`
    ),
    ...(options.rewake ? ["exec"] : []),
    shellQuote(`${options.repo}/bin/c2c-hook`),
    options.client,
    ...(options.rewake ? ["--rewake"] : []),
    "--deno",
    shellQuote(options.deno),
  ];
  if (options.alias) parts.push("--alias", shellQuote(options.alias));
  if (options.root) parts.push("--root", shellQuote(options.root));
  return parts.join(" ");
}

/** The grants of a pinned server entry for the NATS store's variables. */
function natsScopeOf(
  broker: Record<string, string> | null | undefined,
): { net?: string[]; read?: string[] } {
  if (!broker) return {};
  const { net, read } = natsScope((name) => broker[name]);
  return read.length ? { net, read } : { net };
}

/** Marks hook entries as c2c's (for idempotency and uninstall). */
export const HOOK_MARKER = "/bin/c2c-hook";

/**
 * Quotes a word for POSIX `sh` when it needs it.
 *
 * @param word Any string.
 * @returns The word, single-quoted if it holds anything but safe characters.
 */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The stable default alias `<client>-<user>-<host>`, lowercased and cleaned
 * to the alias alphabet, so a client gets the same alias on every restart.
 *
 * @param client The client.
 * @param user User name.
 * @param host Host name (only the part before the first dot is used).
 * @returns The alias.
 */
export function defaultAlias(
  client: ClientName,
  user: string,
  host: string,
): string {
  const clean = (s: string) =>
    s.toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(/^[^a-z0-9]+/, "")
      .replace(/-+$/, "");
  const shortHost = host.split(".")[0];
  const parts = [client, clean(user) || "user", clean(shortHost) || "host"];
  return parts.join("-").slice(0, 64).replace(/[-._]+$/, "");
}
