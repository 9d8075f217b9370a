/**
 * The Deno permission flags each c2c entry point runs with (docs/design.md#permissions).
 *
 * c2c is secure by permission: the MCP server and the CLI may read and write
 * the broker root and nothing else, read only the environment variables they
 * use, and run no program they do not need. Permission paths must be known
 * when the process starts, but the broker root is found at run time (from the
 * environment or git), so a POSIX-sh launcher (`bin/c2c`, `bin/c2c-mcp`)
 * resolves it first and then starts the real entry point with these flags.
 * The shell scripts repeat what this module computes (tests compare them);
 * for the rare commands whose grants need real work (`setup`, `unsetup`,
 * `install`), `bin/c2c` asks `launcher.ts`, which calls this module.
 *
 * Pure: computes flags, touches nothing (except {@linkcode findLibc}, which
 * looks for a file).
 *
 * @module
 */

import { joinPath } from "./_path.ts";
import { codeDir, denoCacheDir, installLayout } from "./install_paths.ts";
import type { EnvReader } from "./session.ts";
import { WAKE_ENV } from "./wake_info.ts";
import { natsConfigFromEnv, natsGrants } from "./store/nats/url.ts";

/**
 * Environment variables of the NATS store (docs/design.md#nats): where it
 * is, which namespace, credentials, and the `origin` remote a launcher read
 * for the default namespace.
 */
export const NATS_ENV: readonly string[] = [
  "C2C_BROKER_URL",
  "C2C_BROKER_NAMESPACE",
  "C2C_BROKER_ORIGIN",
  "C2C_NATS_CREDS",
  "C2C_NATS_NKEY",
  "C2C_NATS_TOKEN",
  "C2C_NATS_CA",
  "C2C_NATS_REPLICAS",
];

/** Environment variables the MCP server reads. */
export const SERVER_ENV: readonly string[] = [
  "C2C_MCP_BROKER_ROOT",
  "C2C_MCP_SESSION_ID",
  "C2C_MCP_AUTO_REGISTER_ALIAS",
  "C2C_MCP_AUTO_JOIN_ROOMS",
  "C2C_MCP_CLIENT_PID",
  "C2C_MCP_AUTO_DRAIN_CHANNEL",
  "C2C_HARNESS_SESSION_ID",
  "C2C_MCP_CLIENT",
  "C2C_LAUNCH_ROOT_ERROR",
  "C2C_MCP_WAKE",
  "C2C_MCP_CLAUDE_STATUS_FILE",
  "C2C_MCP_CODEX_SOCKET",
  "C2C_MCP_GIT_BRANCH",
  "CLAUDE_CODE_SESSION_ID",
  "CLAUDE_CODE_MESSAGING_SOCKET",
  "CLAUDE_CODE_MESSAGING_TOKEN",
  "GEMINI_SESSION_ID",
  "CODEX_THREAD_ID",
  "OPENCODE",
  "OPENCODE_PID",
  "CLAUDECODE",
  ...NATS_ENV,
];

/** Environment variables the CLI reads (a superset of the server's). */
export const CLI_ENV: readonly string[] = [
  ...SERVER_ENV,
  "C2C_SESSION_ID",
  "C2C_ALIAS",
  "NO_COLOR",
  "HOME",
  "USER",
  "LOGNAME",
  "XDG_CONFIG_HOME",
  "CODEX_HOME",
  "CLAUDE_CONFIG_DIR",
  "DENO_INSTALL_ROOT",
  "DENO_DIR",
  "XDG_CACHE_HOME",
  "C2C_SETUP_STAMP",
  "C2C_HARNESS_CONTROL",
  "C2C_HARNESS_CLIENT",
  "GEMINI_CLI",
  "CODEX_MANAGED_BY_NPM",
  "CODEX_SANDBOX",
  "TMUX",
  "TMUX_PANE",
  "PATH",
  "C2C_LIBC",
  "XDG_DATA_HOME",
];

/** Variable that tells `c2c run` which libc to open (the one it may open). */
export const LIBC_ENV = "C2C_LIBC";

/**
 * Where glibc's `libc.so.6` lives on the Linux distributions c2c knows
 * (Debian/Ubuntu multiarch on x86_64 and aarch64, Fedora/RHEL, Arch), in
 * the order `bin/c2c` tries them. Deno matches an FFI grant against the
 * exact path given to `dlopen`, so `c2c run` opens the path it was granted.
 */
export const LIBC_CANDIDATES: readonly string[] = [
  "/lib/x86_64-linux-gnu/libc.so.6",
  "/lib/aarch64-linux-gnu/libc.so.6",
  "/usr/lib/x86_64-linux-gnu/libc.so.6",
  "/usr/lib/aarch64-linux-gnu/libc.so.6",
  "/lib64/libc.so.6",
  "/usr/lib64/libc.so.6",
  "/usr/lib/libc.so.6",
  "/lib/libc.so.6",
];

/**
 * The first of {@linkcode LIBC_CANDIDATES} that exists.
 *
 * @param exists Whether a path exists (default: asks the file system, which
 * needs no permission under `--allow-all` and otherwise read access).
 * @returns The path, or `null` on a layout c2c does not know.
 */
export function findLibc(
  exists: (path: string) => boolean = pathExists,
): string | null {
  return LIBC_CANDIDATES.find((p) => exists(p)) ?? null;
}

function pathExists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** An entry point c2c can start. */
export type EntryPoint = "server" | "cli";

/** Inputs to {@linkcode permissionFlags}. */
export interface PermissionScope {
  /** Absolute broker root, or `null` when none could be resolved. */
  root: string | null;
  /** Extra paths to allow reading (e.g. `verify --transcripts DIR`). */
  read?: readonly string[];
  /** Extra paths to allow writing (e.g. client config files for `setup`). */
  write?: readonly string[];
  /**
   * Unix sockets to allow connecting to (a wake path's socket): Deno wants
   * read, write and `--allow-net=unix:<path>` for each.
   */
  sockets?: readonly string[];
  /** Hosts to allow connecting to, as `host:port` (the NATS servers). */
  net?: readonly string[];
  /** Programs to allow running (e.g. `ps` for `refresh-peer`). */
  run?: readonly string[];
  /**
   * FFI for the PTY harness only: the libraries it may open, or `true` for
   * any (when no known libc path exists).
   */
  ffi?: boolean | readonly string[];
  /** System information to allow (e.g. `hostname` for `setup`). */
  sys?: readonly string[];
}

/**
 * Computes the `deno run` flags for an entry point.
 *
 * @param entry Which entry point.
 * @param scope Root and any extra grants the command needs.
 * @returns Flags, e.g. `["--no-prompt", "--allow-read=/r", …]`.
 *
 * @example Usage
 * ```ts
 * import { permissionFlags } from "./permissions.ts";
 * permissionFlags("server", { root: "/repo/.git/c2c/mcp" });
 * // ["--no-prompt", "--allow-read=/repo/.git/c2c/mcp",
 * //  "--allow-write=/repo/.git/c2c/mcp", "--allow-env=C2C_MCP_BROKER_ROOT,…"]
 * ```
 */
export function permissionFlags(
  entry: EntryPoint,
  scope: PermissionScope,
): string[] {
  const sockets = scope.sockets ?? [];
  const read = [
    ...(scope.root ? [scope.root] : []),
    ...(scope.read ?? []),
    ...sockets,
  ];
  const write = [
    ...(scope.root ? [scope.root] : []),
    ...(scope.write ?? []),
    ...sockets,
  ];
  const flags = ["--no-prompt"];
  if (read.length) flags.push(`--allow-read=${unique(read).join(",")}`);
  if (write.length) flags.push(`--allow-write=${unique(write).join(",")}`);
  const net = [...sockets.map((s) => `unix:${s}`), ...(scope.net ?? [])];
  if (net.length) flags.push(`--allow-net=${unique(net).join(",")}`);
  flags.push(
    `--allow-env=${(entry === "server" ? SERVER_ENV : CLI_ENV).join(",")}`,
  );
  if (scope.run?.length) {
    flags.push(`--allow-run=${unique(scope.run).join(",")}`);
  }
  if (scope.sys?.length) {
    flags.push(`--allow-sys=${unique(scope.sys).join(",")}`);
  }
  if (scope.ffi === true) flags.push("--allow-ffi");
  else if (Array.isArray(scope.ffi) && scope.ffi.length) {
    flags.push(`--allow-ffi=${unique(scope.ffi).join(",")}`);
  }
  return flags;
}

function unique(items: readonly string[]): string[] {
  return [...new Set(items)];
}

/** What a CLI invocation needs beyond the broker root. */
export interface CliGrant {
  /** Entry point to start (`c2c mcp` runs the server itself). */
  entry: EntryPoint;
  /** Extra grants. */
  scope: Omit<PermissionScope, "root">;
  /** Variables to set for the entry point. */
  env?: Record<string, string>;
}

/** The grants of the server's wake path, and what it is told about them. */
export interface WakeGrants {
  /** Files to allow reading (Claude Code's session status file). */
  read: string[];
  /** Unix sockets to allow connecting to. */
  sockets: string[];
  /** Variables to set for the server (`C2C_MCP_CLAUDE_STATUS_FILE`). */
  env: Record<string, string>;
}

/**
 * What the MCP server's wake path needs beyond the broker root, from the
 * environment the client started it with: a connection to exactly Claude
 * Code's messaging socket (read, write and `--allow-net=unix:<socket>`) and
 * read on the session's status file
 * (`<CLAUDE_CONFIG_DIR or ~/.claude>/sessions/<pid>.json`, the pid from
 * `CLAUDE_PID` or the socket's name), or a connection to exactly Codex's
 * daemon socket. Nothing with `C2C_MCP_WAKE=off`. `bin/c2c-mcp` does the
 * same in shell.
 *
 * @param env The client's environment.
 * @returns Grants, and the status file's path to hand the server.
 *
 * @example Usage
 * ```ts
 * import { wakeGrants } from "./permissions.ts";
 * const env = new Map([["CLAUDE_CODE_MESSAGING_SOCKET", "/tmp/cc-socks/42.sock"], ["HOME", "/home/me"]]);
 * wakeGrants((n) => env.get(n)).read;
 * // ["/home/me/.claude/sessions/42.json"]
 * ```
 */
export function wakeGrants(env: EnvReader): WakeGrants {
  const grants: WakeGrants = { read: [], sockets: [], env: {} };
  const wake = env(WAKE_ENV);
  const socket = env("CLAUDE_CODE_MESSAGING_SOCKET");
  if (socket && (wake === undefined || wake === "claude-socket")) {
    grants.sockets.push(socket);
    const pid = env("CLAUDE_PID") ??
      /^(\d+)\.sock$/.exec(socket.slice(socket.lastIndexOf("/") + 1))?.[1];
    const home = env("HOME");
    const configDir = env("CLAUDE_CONFIG_DIR") ??
      (home ? joinPath(home, ".claude") : undefined);
    if (pid && /^\d+$/.test(pid) && configDir) {
      const status = joinPath(configDir, "sessions", `${pid}.json`);
      grants.read.push(status);
      grants.env.C2C_MCP_CLAUDE_STATUS_FILE = status;
    }
  }
  const codex = env("C2C_MCP_CODEX_SOCKET");
  if (codex && wake === "codex-daemon") grants.sockets.push(codex);
  return grants;
}

/**
 * Decides, from the command line, what a `c2c` invocation may do beyond the
 * broker root: `mcp` runs the server with server flags; `refresh-peer` may run
 * `ps` (to check the pid is alive); `run` may open libc through FFI (that
 * file only, told to the harness in `C2C_LIBC`); `wake` may run `tmux`;
 * `health` may read (not write) any file, to check what client configs run;
 * `verify --transcripts DIR` may read DIR; `install` may read this c2c's
 * code, its Deno binary and Deno's npm cache, write the install's bin and
 * data directories ({@linkcode installLayout}), and run Deno (to complete
 * the install's module cache); `guard install` and `guard uninstall` may run
 * `bin/c2c-guard` ({@linkcode guardScript}), which edits git's hooks
 * directory; `ui` may listen on 127.0.0.1 at its `--port` (`127.0.0.1:0`,
 * a free port, without one) and, with `--open`, run `xdg-open`. `setup`,
 * `unsetup` and `install` also need
 * the client config files (`setup/paths.ts`), which `launcher.ts` adds.
 *
 * @param args The `c2c` arguments (without the program name).
 * @param denoPath Absolute path of the Deno binary.
 * @param env Environment reader, for `install`'s default root.
 * @param exists Whether a path exists, to find libc for `run`.
 * @returns The entry point and its extra grants.
 *
 * @example Usage
 * ```ts
 * import { cliGrant } from "./permissions.ts";
 * cliGrant(["refresh-peer", "tide-runner", "--pid", "42"], "/usr/bin/deno");
 * // { entry: "cli", scope: { run: ["ps"] } }
 * ```
 */
export function cliGrant(
  args: readonly string[],
  denoPath: string,
  env: EnvReader = () => undefined,
  exists: (path: string) => boolean = pathExists,
): CliGrant {
  const grant = commandGrant(args, denoPath, env, exists);
  const nats = natsScope(env);
  if (nats.net.length === 0) return grant;
  const read = [...(grant.scope.read ?? []), ...nats.read];
  grant.scope = {
    ...grant.scope,
    net: [...(grant.scope.net ?? []), ...nats.net],
  };
  if (read.length > 0) grant.scope.read = read;
  return grant;
}

/**
 * What the NATS store needs when `C2C_BROKER_URL` is set: a connection to
 * exactly its servers, and read access to the CA, `.creds` or nkey file
 * named. Nothing when the variable is unset, or when it does not parse (the
 * process reports that before it dials anything).
 *
 * @param env The environment.
 * @returns Hosts (`host:port`) and files.
 *
 * @example Usage
 * ```ts
 * import { natsScope } from "./permissions.ts";
 * const env = new Map([["C2C_BROKER_URL", "nats://h1,h2:4223"]]);
 * natsScope((n) => env.get(n)); // { net: ["h1:4222", "h2:4223"], read: [] }
 * ```
 */
export function natsScope(env: EnvReader): { net: string[]; read: string[] } {
  try {
    const config = natsConfigFromEnv({ get: env });
    return config ? natsGrants(config) : { net: [], read: [] };
  } catch {
    return { net: [], read: [] };
  }
}

function commandGrant(
  args: readonly string[],
  denoPath: string,
  env: EnvReader,
  exists: (path: string) => boolean,
): CliGrant {
  const command = args.find((a) => !a.startsWith("-"));
  switch (command) {
    case "mcp": {
      const wake = wakeGrants(env);
      if (wake.sockets.length === 0) return { entry: "server", scope: {} };
      const scope: CliGrant["scope"] = { sockets: wake.sockets };
      if (wake.read.length > 0) scope.read = wake.read;
      const grant: CliGrant = { entry: "server", scope };
      if (Object.keys(wake.env).length > 0) grant.env = wake.env;
      return grant;
    }
    case "refresh-peer":
      return { entry: "cli", scope: { run: ["ps"] } };
    case "run": {
      // The pseudo-terminal is libc through FFI; the client is spawned there
      // too, so no --allow-run is needed.
      const libc = findLibc(exists);
      if (libc === null) return { entry: "cli", scope: { ffi: true } };
      return {
        entry: "cli",
        scope: { ffi: [libc] },
        env: { [LIBC_ENV]: libc },
      };
    }
    case "wake":
      return { entry: "cli", scope: { run: ["tmux"] } };
    case "install": {
      let layout;
      try {
        layout = installLayout(flagValue(args, "--root"), env);
      } catch {
        // No root known: the command reports that itself.
        return { entry: "cli", scope: { run: [denoPath] } };
      }
      const cache = denoCacheDir(env);
      return {
        entry: "cli",
        scope: {
          read: [
            codeDir(),
            denoPath,
            ...(cache ? [joinPath(cache, "npm")] : []),
            layout.dataDir,
            layout.binDir,
          ],
          write: [layout.dataDir, layout.binDir],
          run: [denoPath],
        },
      };
    }
    case "health":
      // It checks that what client configs run still exists, wherever
      // that is (an old checkout, an install): read-only, everywhere.
      // Writes stay scoped to the broker root.
      return { entry: "cli", scope: { read: ["/"] } };
    case "ui": {
      // Listening on 127.0.0.1 only, on the port asked for; with no port
      // (or one the command will refuse), `127.0.0.1:0` lets Deno listen on
      // a free port the kernel picks and connect nowhere, not even to it.
      const port = flagValue(args, "--port");
      const scope: CliGrant["scope"] = {
        net: [
          `127.0.0.1:${port !== undefined && validPort(port) ? port : "0"}`,
        ],
      };
      if (args.includes("--open")) scope.run = ["xdg-open"];
      return { entry: "cli", scope };
    }
    case "verify": {
      const value = flagValue(args, "--transcripts");
      return { entry: "cli", scope: value ? { read: [value] } : {} };
    }
    case "guard": {
      // install and uninstall edit git's hooks directory, which may be
      // anywhere (core.hooksPath): bin/c2c-guard does that in shell, and
      // running exactly that script is all they get. check reads the root.
      const action = args.filter((a) => !a.startsWith("-"))[1];
      return action === "install" || action === "uninstall"
        ? { entry: "cli", scope: { run: [guardScript()] } }
        : { entry: "cli", scope: {} };
    }
    default:
      return { entry: "cli", scope: {} };
  }
}

/**
 * The guard's script, `bin/c2c-guard` of this c2c: what `c2c guard install`
 * and `uninstall` run, and what the hook they install calls.
 *
 * @returns Its absolute path.
 */
export function guardScript(): string {
  return joinPath(codeDir(), "bin", "c2c-guard");
}

/** Whether a `--port` value is one `c2c ui` accepts (1 to 65535, or 0). */
function validPort(value: string): boolean {
  return /^(0|[1-9][0-9]{0,4})$/.test(value) && Number(value) <= 65535;
}

/** Value of `--name VALUE` or `--name=VALUE`, if present. */
function flagValue(args: readonly string[], name: string): string | undefined {
  const at = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (at === -1) return undefined;
  return args[at].includes("=")
    ? args[at].slice(args[at].indexOf("=") + 1)
    : args[at + 1];
}
