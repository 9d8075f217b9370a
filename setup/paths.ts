/**
 * Where each client keeps the config files `setup` edits. Pure and free of
 * dependencies, so the launcher can grant `c2c setup` access to exactly these
 * files without loading the editors.
 *
 * @module
 */

import { dirname, join, resolve } from "node:path";
import type { EnvReader } from "../lib/session.ts";
import { type ClientName, CLIENTS as CLIENT_NAMES } from "./launch.ts";

/** What the paths depend on. */
export interface ConfigLocation {
  /** The user's home directory. */
  home: string;
  /** Environment (`XDG_CONFIG_HOME`, `CODEX_HOME`, `CLAUDE_CONFIG_DIR`). */
  env: EnvReader;
  /** Project directory for project-scoped configs, or `null`. */
  targetDir: string | null;
}

/** Claude Code's state file, holding `mcpServers` (and `projects`). */
export function claudeStateFile(at: ConfigLocation): string {
  const dir = at.env("CLAUDE_CONFIG_DIR");
  return dir ? join(dir, ".claude.json") : join(at.home, ".claude.json");
}

/** Claude Code's settings file, holding `hooks`. */
export function claudeSettingsFile(at: ConfigLocation): string {
  if (at.targetDir) {
    return join(at.targetDir, ".claude", "settings.local.json");
  }
  const dir = at.env("CLAUDE_CONFIG_DIR");
  return dir
    ? join(dir, "settings.json")
    : join(at.home, ".claude", "settings.json");
}

/** Codex's home (`CODEX_HOME`, default `~/.codex`). */
export function codexHome(at: ConfigLocation): string {
  return at.env("CODEX_HOME") ?? join(at.home, ".codex");
}

/**
 * Where Codex's app-server daemon listens (the wake path's socket).
 *
 * @param at Home and environment.
 * @returns `$CODEX_HOME/app-server-control/app-server-control.sock`.
 */
export function codexDaemonSocket(at: ConfigLocation): string {
  return join(codexHome(at), "app-server-control", "app-server-control.sock");
}

/** Gemini CLI's settings file. */
export function geminiSettingsFile(at: ConfigLocation): string {
  return join(at.targetDir ?? at.home, ".gemini", "settings.json");
}

/**
 * c2c's note beside Gemini's settings of what `hooksConfig.enabled` was
 * before setup turned hooks on, so uninstall can put it back.
 */
export function geminiStateFile(at: ConfigLocation): string {
  return join(at.targetDir ?? at.home, ".gemini", "c2c-setup-state.json");
}

function xdgConfig(at: ConfigLocation): string {
  return at.env("XDG_CONFIG_HOME") ?? join(at.home, ".config");
}

/** OpenCode's config file. */
export function opencodeFile(at: ConfigLocation): string {
  return at.targetDir
    ? join(at.targetDir, "opencode.json")
    : join(xdgConfig(at), "opencode", "opencode.json");
}

/**
 * c2c's OpenCode plugin (the wake path): `plugin/c2c.js` in OpenCode's
 * config folder, or in the project's `.opencode/`.
 */
export function opencodePluginFile(at: ConfigLocation): string {
  return at.targetDir
    ? join(at.targetDir, ".opencode", "plugin", "c2c.js")
    : join(xdgConfig(at), "opencode", "plugin", "c2c.js");
}

/** Kimi Code's MCP config file. */
export function kimiFile(at: ConfigLocation): string {
  return join(at.home, ".kimi", "mcp.json");
}

/** Crush's config file. */
export function crushFile(at: ConfigLocation): string {
  return at.targetDir
    ? join(at.targetDir, "crush.json")
    : join(xdgConfig(at), "crush", "crush.json");
}

/**
 * Every config file `setup <client>` may read or write.
 *
 * @param client The client.
 * @param at Home, environment and target directory.
 * @returns Absolute paths.
 */
export function configFiles(client: ClientName, at: ConfigLocation): string[] {
  switch (client) {
    case "claude-code":
      return [claudeStateFile(at), claudeSettingsFile(at)];
    case "codex":
      return [
        join(codexHome(at), "config.toml"),
        join(codexHome(at), "hooks.json"),
      ];
    case "gemini":
      return [geminiSettingsFile(at), geminiStateFile(at)];
    case "opencode":
      return [opencodeFile(at), opencodePluginFile(at)];
    case "kimi":
      return [kimiFile(at)];
    case "crush":
      return [crushFile(at)];
  }
}

/** File-system grants `c2c setup <client>` runs with. */
export interface SetupGrants {
  /** Paths to allow reading. */
  read: string[];
  /** Paths to allow writing. */
  write: string[];
}

/**
 * The narrowest grants that let `setup <client>` do its job: each config
 * file, its temp file and its backup (named with `stamp`), and the client's
 * own config directory when it may have to be created — never the home or
 * project directory itself.
 *
 * @param client The client.
 * @param at Home, environment and target directory.
 * @param stamp The backup stamp the run will use.
 * @returns Read and write grants.
 */
export function setupGrants(
  client: ClientName,
  at: ConfigLocation,
  stamp: string,
): SetupGrants {
  const paths: string[] = [];
  for (const file of configFiles(client, at)) {
    paths.push(file, `${file}.c2c-tmp`, `${file}.c2c-backup-${stamp}`);
    const dir = dirname(file);
    if (dir !== at.home && dir !== at.targetDir) paths.push(dir);
  }
  return { read: paths, write: paths };
}

/**
 * A backup stamp for `now`: `YYYYMMDDTHHMMSS` (UTC). The launcher picks it
 * and hands it to `setup` (`C2C_SETUP_STAMP`), so it can grant write access
 * to exactly the backup files the run will create.
 *
 * @param now The time.
 * @returns The stamp.
 */
export function setupStamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, "").slice(0, 15);
}

const SETUP_VALUE_FLAGS = new Set(["--alias", "--target-dir"]);

/**
 * The grants for a `c2c setup …` / `c2c unsetup …` command line, or `null`
 * when it names no client (the command then reports that itself).
 *
 * @param args The `c2c` arguments, starting with `setup` or `unsetup`.
 * @param env Environment reader (`HOME`, `XDG_CONFIG_HOME`, …).
 * @param cwd The working directory (for a relative `--target-dir`).
 * @param stamp The backup stamp the run will use.
 * @returns Read/write grants, or `null`.
 */
export function setupCommandGrants(
  args: readonly string[],
  env: EnvReader,
  cwd: string,
  stamp: string,
): SetupGrants | null {
  const home = env("HOME");
  let client: string | undefined;
  let targetDir: string | null = null;
  for (let i = 1; i < args.length; i++) {
    const arg = args[i];
    const [flag, inline] = arg.split(/=(.*)/s, 2);
    if (SETUP_VALUE_FLAGS.has(flag)) {
      const value = inline ?? args[++i];
      if (flag === "--target-dir" && value) targetDir = resolve(cwd, value);
    } else if (!arg.startsWith("-") && client === undefined) {
      client = arg;
    }
  }
  if (
    !home || !client || !(CLIENT_NAMES as readonly string[]).includes(client)
  ) {
    return null;
  }
  return setupGrants(client as ClientName, { home, env, targetDir }, stamp);
}
