/**
 * `c2c setup claude-code`: the MCP server in `~/.claude.json` (user scope, or
 * local scope under `projects[<dir>]` with `--target-dir`: both connect
 * without an approval prompt, unlike `.mcp.json`), and PostToolUse + Stop
 * hooks in `~/.claude/settings.json` (or the project's
 * `.claude/settings.local.json`). `CLAUDE_CONFIG_DIR` moves both files.
 *
 * With `--rewake` (wake path `claude-rewake`, for Claude Code versions
 * without the messaging socket) the SessionStart hooks and the Stop group
 * also run the waiter (`bin/c2c-hook claude-code --rewake`) with
 * `"asyncRewake": true`: in the background, one armed per session, waking
 * the idle session when it exits 2.
 *
 * The entry is `"alwaysLoad": true` (Claude Code ≥ 2.1.121, documented in
 * its MCP reference): besides keeping c2c's tools out of tool search, it
 * makes Claude Code wait for the server before its first model request, up
 * to its connect timeout (`MCP_CONNECT_TIMEOUT_MS`, 5 s). Without it,
 * `claude -p` waits 2 s for MCP servers (2.1.330), and a server still
 * starting on a busy machine is left out of that whole session. A machine
 * slower than 5 s needs the client's own environment: `MCP_CONNECT_TIMEOUT_MS`
 * or `CLAUDE_CODE_MCP_STARTUP_WAIT_MS` (e.g. under `env` in
 * `~/.claude/settings.json`), which setup leaves to the user because they
 * apply to every server.
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
import { REWAKE_TIMEOUT_S } from "../lib/wake_info.ts";

type Where = Pick<SetupContext, "home" | "env" | "targetDir">;
const stateFile = claudeStateFile;
const settingsFile = claudeSettingsFile;

function serverPath(ctx: Where): string[] {
  return ctx.targetDir
    ? ["projects", resolve(ctx.targetDir), "mcpServers", "c2c"]
    : ["mcpServers", "c2c"];
}

/**
 * The waiter's hook: Claude Code runs it in the background and wakes the
 * session when it exits 2; the timeout ends a waiter nothing woke.
 */
function rewakeHook(command: string): Record<string, unknown> {
  return {
    type: "command",
    command,
    asyncRewake: true,
    timeout: REWAKE_TIMEOUT_S,
  };
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
            alwaysLoad: true,
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
      const stop = commandHookGroup(ctx.hook);
      if (ctx.rewakeHook) {
        // One c2c group per event: the waiter joins the Stop group (every
        // turn end arms one unless one is armed) and has SessionStart's to
        // itself (armed before the first prompt).
        (stop.hooks as unknown[]).push(rewakeHook(ctx.rewakeHook));
        putHookGroup(
          doc,
          ["hooks", "SessionStart"],
          { hooks: [rewakeHook(ctx.rewakeHook)] },
          ctx.force,
          summary,
        );
      } else {
        dropHookGroups(doc, ["hooks", "SessionStart"], summary);
      }
      putHookGroup(doc, ["hooks", "Stop"], stop, ctx.force, summary);
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
      dropHookGroups(doc, ["hooks", "SessionStart"], summary);
    }, true),
  ],
};
