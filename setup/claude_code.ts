/**
 * `c2c setup claude-code`: the MCP server in `~/.claude.json` (user scope, or
 * local scope under `projects[<dir>]` with `--target-dir`: both connect
 * without an approval prompt, unlike `.mcp.json`), and PostToolUse + Stop
 * hooks in `~/.claude/settings.json` (or the project's
 * `.claude/settings.local.json`). `CLAUDE_CONFIG_DIR` moves both files.
 *
 * @module
 */

import { resolve } from "node:path";
import { editJsonFile } from "./_json_file.ts";
import {
  commandHookGroup,
  dropEntry,
  dropHookGroups,
  putEntry,
  putHookGroup,
} from "./merge.ts";
import type { ClientModule, SetupContext } from "./plan.ts";
import { claudeSettingsFile, claudeStateFile } from "./paths.ts";

type Where = Pick<SetupContext, "home" | "env" | "targetDir">;
const stateFile = claudeStateFile;
const settingsFile = claudeSettingsFile;

function serverPath(ctx: Where): string[] {
  return ctx.targetDir
    ? ["projects", resolve(ctx.targetDir), "mcpServers", "c2c"]
    : ["mcpServers", "c2c"];
}

/** Claude Code's setup. */
export const claudeCode: ClientModule = {
  name: "claude-code",
  install: (ctx, read) => [
    editJsonFile(
      stateFile(ctx),
      read,
      (doc, summary) =>
        putEntry(
          doc,
          serverPath(ctx),
          {
            type: "stdio",
            command: ctx.server.command,
            args: ctx.server.args,
            env: ctx.server.env,
          },
          ctx.force,
          summary,
        ),
    ),
    editJsonFile(settingsFile(ctx), read, (doc, summary) => {
      putHookGroup(
        doc,
        ["hooks", "PostToolUse"],
        commandHookGroup(ctx.hook, "*"),
        ctx.force,
        summary,
      );
      putHookGroup(
        doc,
        ["hooks", "Stop"],
        commandHookGroup(ctx.hook),
        ctx.force,
        summary,
      );
    }),
  ],
  uninstall: (ctx, read) => [
    editJsonFile(
      stateFile(ctx),
      read,
      (doc, summary) => dropEntry(doc, serverPath(ctx), summary),
      true,
    ),
    editJsonFile(settingsFile(ctx), read, (doc, summary) => {
      dropHookGroups(doc, ["hooks", "PostToolUse"], summary);
      dropHookGroups(doc, ["hooks", "Stop"], summary);
    }, true),
  ],
};
