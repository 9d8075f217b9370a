/**
 * `c2c setup <client>` and `c2c setup --uninstall <client>`: plans the edits
 * of the client's config files (pure, per-client modules), then applies them
 * safely — a timestamped backup of each file it changes, an atomic write that
 * keeps the file's mode, nothing written at all on a dry run or an error.
 *
 * Requires `--allow-read` and `--allow-write` on the client's config files
 * (see {@linkcode setupGrants}).
 *
 * @module
 */

import { dirname } from "node:path";
import { validateAlias } from "../lib/alias.ts";
import type { EnvReader } from "../lib/session.ts";
import type { WakePath } from "../lib/wake_info.ts";
import { claudeCode } from "./claude_code.ts";
import { codex } from "./codex.ts";
import { crush } from "./crush.ts";
import { lineDiff } from "./diff.ts";
import { gemini } from "./gemini.ts";
import { kimi } from "./kimi.ts";
import {
  CLIENT_WAKE,
  type ClientName,
  defaultAlias,
  hookCommand,
  serverLaunch,
} from "./launch.ts";
import { codexDaemonSocket } from "./paths.ts";
import { opencode } from "./opencode.ts";
import { SetupOptionError } from "./errors.ts";
export { setupStamp } from "./paths.ts";
import type {
  ClientModule,
  FileChange,
  FileReader,
  SetupContext,
} from "./plan.ts";

const MODULES: Record<ClientName, ClientModule> = {
  "claude-code": claudeCode,
  codex,
  gemini,
  opencode,
  kimi,
  crush,
};

/** Clients whose hooks deliver messages (the others poll, or use `c2c run`). */
export const HOOK_CLIENTS: ReadonlySet<ClientName> = new Set([
  "claude-code",
  "codex",
  "gemini",
]);

/** Clients whose hooks know only the alias, not the server's session id. */
const ALIAS_KEYED_HOOKS: ReadonlySet<ClientName> = new Set(["codex", "gemini"]);

/** Options of {@linkcode planSetup}. */
export interface SetupOptions {
  /** The client. */
  client: ClientName;
  /** Remove what setup adds instead of adding it. */
  uninstall: boolean;
  /** `--alias`: the alias to auto-register. */
  alias?: string;
  /** `--no-alias`: no auto-registration. */
  noAlias: boolean;
  /** `--no-wake`: record the wake path as `off`, install no wake plugin or hook. */
  noWake?: boolean;
  /**
   * `--rewake` (Claude Code only): wake through asyncRewake waiter hooks
   * instead of the messaging socket, for versions that have none.
   */
  rewake?: boolean;
  /** `--force`: replace a differing c2c entry. */
  force: boolean;
  /** `--target-dir`: project-scoped config in this directory. */
  targetDir: string | null;
  /** Broker root to pin into the config, or `null` to resolve per project. */
  root: string | null;
  /** The user's home. */
  home: string;
  /** Environment reader. */
  env: EnvReader;
  /** Absolute path of the Deno binary. */
  deno: string;
  /** Deno's cache directory, or `null`. */
  denoDir: string | null;
  /**
   * The NATS store's variables (`C2C_BROKER_URL`, …) for the server entry
   * and the hooks, or `null` for the file store.
   */
  broker?: Record<string, string> | null;
  /** Absolute path of the c2c checkout. */
  repo: string;
  /** User and host names for the default alias. */
  user: string;
  /** Host name for the default alias. */
  host: string;
}

/** A planned setup. */
export interface SetupPlan {
  /** The client. */
  client: ClientName;
  /** `install` or `uninstall`. */
  action: "install" | "uninstall";
  /** Alias the client will auto-register (`null`: none). */
  alias: string | null;
  /** Broker root pinned into the config (`null`: found per project). */
  root: string | null;
  /** The wake path configured (`off` with `--no-wake`; `null`: the client has none). */
  wake: WakePath | null;
  /** Per-file changes (unchanged files included). */
  changes: FileChange[];
  /** Notes for the user (e.g. why hooks were skipped). */
  notes: string[];
}

/**
 * Plans a setup or uninstall. Pure apart from `read`.
 *
 * @param options What to set up, and where.
 * @param read Reads a config file (`null` when absent).
 * @returns The plan.
 * @throws {ConfigParseError} When a config file does not parse (untouched).
 * @throws {SetupConflictError} When a differing c2c entry exists, without force.
 * @throws {SetupOptionError} For `rewake` with another client or `noWake`.
 */
export function planSetup(options: SetupOptions, read: FileReader): SetupPlan {
  const { client } = options;
  if (options.rewake && client !== "claude-code") {
    throw new SetupOptionError(
      `--rewake is Claude Code's asyncRewake wake; ${client} has its own (drop --rewake)`,
    );
  }
  if (options.rewake && options.noWake) {
    throw new SetupOptionError(
      "--rewake and --no-wake contradict each other; choose one",
    );
  }
  const alias = options.noAlias ? null : validateAlias(
    options.alias ?? defaultAlias(client, options.user, options.host),
  );
  const notes: string[] = [];
  const hookAlias = ALIAS_KEYED_HOOKS.has(client) ? alias : null;
  let hook = "";
  if (HOOK_CLIENTS.has(client)) {
    if (ALIAS_KEYED_HOOKS.has(client) && alias === null) {
      notes.push(
        `${client}'s hooks know only the alias; with --no-alias the hook cannot find the inbox, so messages arrive when the agent calls poll_inbox`,
      );
    }
    hook = hookCommand({
      repo: options.repo,
      deno: options.deno,
      client,
      alias: hookAlias,
      root: options.root,
      denoDir: options.denoDir,
      broker: options.broker,
    });
  }
  const native = CLIENT_WAKE[client];
  const wake: WakePath | null = native && options.noWake
    ? "off"
    : options.rewake
    ? "claude-rewake"
    : native;
  // The waiter hook carries the same paths as the delivery hook; its own
  // flag makes bin/c2c-hook wait instead of deliver.
  const rewakeHook = wake === "claude-rewake"
    ? hookCommand({
      repo: options.repo,
      deno: options.deno,
      client,
      alias: hookAlias,
      root: options.root,
      denoDir: options.denoDir,
      broker: options.broker,
      rewake: true,
    })
    : null;
  const at = {
    home: options.home,
    env: options.env,
    targetDir: options.targetDir,
  };
  const ctx: SetupContext = {
    client,
    ...at,
    force: options.force,
    server: serverLaunch({
      deno: options.deno,
      repo: options.repo,
      root: options.root,
      alias,
      client,
      denoDir: options.denoDir,
      broker: options.broker,
      wake,
      codexSocket: codexDaemonSocket(at),
    }),
    hook,
    rewakeHook,
    wake,
    alias,
    root: options.root,
  };
  const module = MODULES[client];
  const changes = options.uninstall
    ? module.uninstall(ctx, read)
    : module.install(ctx, read);
  return {
    client,
    action: options.uninstall ? "uninstall" : "install",
    alias,
    root: options.root,
    wake,
    changes,
    notes,
  };
}

/** What happened to one file. */
export interface FileOutcome {
  /** The file. */
  path: string;
  /** `created`, `updated`, `removed` or `unchanged` (planned, on a dry run). */
  status: "created" | "updated" | "removed" | "unchanged";
  /** What changed, in words. */
  summary: string[];
  /** Where the previous version was saved, if it was. */
  backup?: string;
  /** The line diff (dry runs). */
  diff?: string;
}

/**
 * Applies a plan: for each changed file, backs up the old version beside it
 * (`<file>.c2c-backup-<stamp>`), then writes the new one through a temp file
 * and `rename`, keeping the old file's mode (0600 for new files).
 *
 * @param plan From {@linkcode planSetup}.
 * @param options `dryRun`: write nothing, return diffs; `stamp`: backup suffix.
 * @returns One outcome per file.
 */
export function applySetup(
  plan: SetupPlan,
  options: { dryRun: boolean; stamp: string },
): FileOutcome[] {
  return plan.changes.map((change) => {
    const status = change.before === change.after
      ? "unchanged"
      : change.after === null
      ? "removed"
      : change.before === null
      ? "created"
      : "updated";
    const outcome: FileOutcome = {
      path: change.path,
      status,
      summary: change.summary,
    };
    if (status === "unchanged") return outcome;
    if (options.dryRun) {
      outcome.diff = lineDiff(change.before, change.after);
      return outcome;
    }
    let mode = 0o600;
    if (change.before !== null) {
      mode = Deno.statSync(change.path).mode! & 0o777;
      outcome.backup = backupPath(change.path, options.stamp);
      Deno.writeTextFileSync(outcome.backup, change.before, { mode });
    }
    if (change.after === null) {
      Deno.removeSync(change.path);
    } else {
      const temp = tempPath(change.path);
      try {
        writeCreatingDir(temp, change.after, mode);
        Deno.chmodSync(temp, mode);
        Deno.renameSync(temp, change.path);
      } catch (e) {
        try {
          Deno.removeSync(temp);
        } catch { /* never created */ }
        throw e;
      }
    }
    return outcome;
  });
}

/**
 * Writes a file, creating its directory (0700) only when it is missing: the
 * directory above a config file may be the home directory, which setup has
 * no permission to touch.
 */
function writeCreatingDir(path: string, text: string, mode: number): void {
  try {
    Deno.writeTextFileSync(path, text, { mode });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    Deno.mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    Deno.writeTextFileSync(path, text, { mode });
  }
}

/**
 * Where a file's backup goes.
 *
 * @param path The config file.
 * @param stamp Timestamp (`YYYYMMDDTHHMMSS`).
 * @returns `<path>.c2c-backup-<stamp>`.
 */
export function backupPath(path: string, stamp: string): string {
  return `${path}.c2c-backup-${stamp}`;
}

/**
 * The temp file an atomic write goes through.
 *
 * @param path The config file.
 * @returns `<path>.c2c-tmp`.
 */
export function tempPath(path: string): string {
  return `${path}.c2c-tmp`;
}
