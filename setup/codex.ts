/**
 * `c2c setup codex`: `[mcp_servers.c2c]` in `$CODEX_HOME/config.toml`
 * (default `~/.codex`) with c2c's tools approved, and PostToolUse + Stop
 * hooks in `$CODEX_HOME/hooks.json`; for the wake path (unless `--no-wake`)
 * a SessionStart hook that records the thread id, and the server may read
 * and write exactly the app-server daemon's socket.
 *
 * Codex starts MCP servers in `~/.codex` with only HOME, PATH, LANG, SHELL
 * and TERM, so the entry carries the broker root resolved at setup time, and
 * forwards c2c's own variables from the parent with `env_vars`. Codex hooks
 * receive Codex's thread id, not the server's session, so the hook finds the
 * inbox by the alias setup wrote.
 *
 * The entry is `required = true`. Codex (0.169) does not wait for optional
 * MCP servers: one still starting when the first model request goes out is
 * left out of that session, which on a busy machine (c2c's handshake took
 * 3–4 s with eight clients starting on two cores) is c2c. A required server
 * is waited for, up to its `startup_timeout_sec`; one that cannot start
 * stops Codex with "required MCP servers failed to initialize: c2c: …"
 * rather than running without c2c unnoticed.
 *
 * @module
 */

import { join } from "node:path";
import { editJsonFile } from "./_json_file.ts";
import { codexHome } from "./paths.ts";
import { SetupConflictError } from "./errors.ts";
import {
  commandHookGroup,
  dropHookGroups,
  jsonEqual,
  putHookGroup,
} from "./merge.ts";
import type {
  ClientModule,
  FileChange,
  FileReader,
  SetupContext,
} from "./plan.ts";
import {
  appendBlock,
  findBlock,
  parseToml,
  removeBlock,
  tomlBlock,
} from "./toml_edit.ts";

const HEADER = "mcp_servers.c2c";

/** Variables Codex should pass through from its own environment. */
export const FORWARDED_ENV = [
  "C2C_MCP_SESSION_ID",
  "C2C_HARNESS_SESSION_ID",
  "C2C_MCP_AUTO_JOIN_ROOMS",
  "C2C_MCP_AUTO_DRAIN_CHANNEL",
];

function desiredTable(ctx: SetupContext): Record<string, unknown> {
  return {
    command: ctx.server.command,
    args: ctx.server.args,
    env: ctx.server.env,
    env_vars: FORWARDED_ENV.filter((name) => !(name in ctx.server.env)),
    default_tools_approval_mode: "approve",
    required: true,
  };
}

function planConfig(
  ctx: SetupContext,
  read: FileReader,
  install: boolean,
): FileChange {
  const path = join(codexHome(ctx), "config.toml");
  const before = read(path);
  const text = before ?? "";
  const parsed = parseToml(path, text);
  const current = (parsed.mcp_servers as Record<string, unknown> | undefined)
    ?.c2c;
  const summary: string[] = [];
  let after = before;
  const block = findBlock(text, HEADER);
  if (install) {
    const desired = desiredTable(ctx);
    if (current !== undefined && jsonEqual(current, desired)) {
      return { path, before, after, summary };
    }
    if (current !== undefined && (!ctx.force || !block)) {
      // Without our block (an inline or dotted-key entry) we cannot replace
      // it without touching the user's text, even with --force.
      throw new SetupConflictError(path, `[${HEADER}] table`);
    }
    const rest = block ? removeBlock(text, HEADER) : text;
    after = appendBlock(rest, tomlBlock(HEADER, desired));
    parseToml(path, after); // never write what Codex could not read
    summary.push(`${current === undefined ? "add" : "replace"} [${HEADER}]`);
  } else if (block) {
    after = removeBlock(text, HEADER);
    summary.push(`remove [${HEADER}]`);
    if (after.trim() === "") after = null;
  }
  return { path, before, after, summary };
}

/** Codex's setup. */
export const codex: ClientModule = {
  name: "codex",
  install: (ctx, read) => [
    planConfig(ctx, read, true),
    editJsonFile(join(codexHome(ctx), "hooks.json"), read, (doc, summary) => {
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
      // The wake path needs the thread id; SessionStart carries it.
      if (ctx.wake === "codex-daemon") {
        putHookGroup(
          doc,
          ["hooks", "SessionStart"],
          commandHookGroup(ctx.hook),
          ctx.force,
          summary,
        );
      } else {
        dropHookGroups(doc, ["hooks", "SessionStart"], summary);
      }
    }),
  ],
  uninstall: (ctx, read) => [
    planConfig(ctx, read, false),
    editJsonFile(join(codexHome(ctx), "hooks.json"), read, (doc, summary) => {
      dropHookGroups(doc, ["hooks", "PostToolUse"], summary);
      dropHookGroups(doc, ["hooks", "Stop"], summary);
      dropHookGroups(doc, ["hooks", "SessionStart"], summary);
    }, true),
  ],
};
