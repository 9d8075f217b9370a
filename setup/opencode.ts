/**
 * `c2c setup opencode`: `mcp.c2c` (a `local` server) in
 * `~/.config/opencode/opencode.json` (`XDG_CONFIG_HOME` respected) or the
 * project's `opencode.json`, JSONC comments and formatting kept; and, for the
 * wake path (unless `--no-wake`), c2c's plugin beside it
 * (`plugin/c2c.js`, or the project's `.opencode/plugin/c2c.js`), which points
 * the idle session at `poll_inbox` when messages wait.
 *
 * @module
 */

import { serverOnlyClient } from "./_server_only.ts";
import { ConfigShapeError, SetupConflictError } from "./errors.ts";
import {
  OPENCODE_PLUGIN_MARKER,
  opencodePluginSource,
} from "./opencode_plugin.ts";
import { opencodeFile, opencodePluginFile } from "./paths.ts";
import type {
  ClientModule,
  FileChange,
  FileReader,
  SetupContext,
} from "./plan.ts";

const server = serverOnlyClient(
  "opencode",
  opencodeFile,
  ["mcp", "c2c"],
  (launch) => ({
    type: "local",
    command: [launch.command, ...launch.args],
    environment: launch.env,
    enabled: true,
  }),
);

/**
 * Plans the plugin file: written when the wake path is on, removed (if it
 * is c2c's) when off or on uninstall. A file there that is not c2c's is
 * never touched; a c2c plugin that differs is replaced only with `--force`.
 */
function planPlugin(
  ctx: SetupContext,
  read: FileReader,
  install: boolean,
): FileChange {
  const path = opencodePluginFile(ctx);
  const before = read(path);
  const ours = before?.startsWith(OPENCODE_PLUGIN_MARKER) ?? false;
  const want = install && ctx.wake === "opencode-plugin"
    ? opencodePluginSource({
      alias: ctx.alias,
      root: ctx.root,
      nats: ctx.server.env.C2C_BROKER_URL !== undefined,
    })
    : null;
  if (want === null) {
    return ours
      ? { path, before, after: null, summary: ["remove c2c's wake plugin"] }
      : { path, before, after: before, summary: [] };
  }
  if (before === want) return { path, before, after: before, summary: [] };
  if (before !== null && !ours) {
    throw new ConfigShapeError(
      path,
      "a plugin that is not c2c's is in the way of c2c's wake plugin; move it aside, or run setup with --no-wake",
    );
  }
  if (before !== null && !ctx.force) {
    throw new SetupConflictError(path, "c2c wake plugin");
  }
  return {
    path,
    before,
    after: want,
    summary: [`${before === null ? "add" : "replace"} c2c's wake plugin`],
  };
}

/** OpenCode's setup. */
export const opencode: ClientModule = {
  name: "opencode",
  install: (ctx, read) => [
    ...server.install(ctx, read),
    planPlugin(ctx, read, true),
  ],
  uninstall: (ctx, read) => [
    ...server.uninstall(ctx, read),
    planPlugin(ctx, read, false),
  ],
};
