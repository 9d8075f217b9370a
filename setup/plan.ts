/**
 * The vocabulary of `setup`: the context a client module plans in, and the
 * file changes it returns. Planning is pure (text in, text out); only
 * `setup.ts` touches the disk.
 *
 * @module
 */

import type { EnvReader } from "../lib/session.ts";
import type { WakePath } from "../lib/wake_info.ts";
import type { ClientName, ServerLaunch } from "./launch.ts";

/** Everything a client module needs to plan its changes. */
export interface SetupContext {
  /** The client being configured. */
  client: ClientName;
  /** The user's home directory. */
  home: string;
  /** Environment (`XDG_CONFIG_HOME`, `CODEX_HOME`, `CLAUDE_CONFIG_DIR`). */
  env: EnvReader;
  /** Project directory for project-scoped configs, or `null` (user-wide). */
  targetDir: string | null;
  /** Replace a differing c2c entry instead of refusing. */
  force: boolean;
  /** The MCP server entry to write. */
  server: ServerLaunch;
  /** The hook command to write (clients with hooks). */
  hook: string;
  /**
   * Claude Code's asyncRewake waiter command (`--rewake`), or `null` when
   * the wake path is not `claude-rewake`.
   */
  rewakeHook: string | null;
  /** The wake path (`off` with `--no-wake`; `null`: the client has none). */
  wake: WakePath | null;
  /** The alias the client auto-registers (`null`: none). */
  alias: string | null;
  /** The broker root pinned into the config (`null`: found per project). */
  root: string | null;
}

/** One file's planned change. */
export interface FileChange {
  /** Absolute path. */
  path: string;
  /** Contents now (`null`: the file does not exist). */
  before: string | null;
  /** Contents after (`null`: delete the file). */
  after: string | null;
  /** What changes, in words (e.g. `add mcpServers.c2c`). */
  summary: string[];
}

/** Reads a file's text, or `null` when it does not exist. */
export type FileReader = (path: string) => string | null;

/** A client module: where its config lives and how to change it. */
export interface ClientModule {
  /** The client. */
  name: ClientName;
  /** Plans the install. */
  install(ctx: SetupContext, read: FileReader): FileChange[];
  /** Plans the removal of exactly what install adds. */
  uninstall(ctx: SetupContext, read: FileReader): FileChange[];
}
