/**
 * `c2c setup gemini`: `mcpServers.c2c` (with `trust: true`, without which
 * `gemini -p` does not offer the tools), an AfterTool hook and, for the wake
 * path (unless `--no-wake`), an AfterAgent hook in `~/.gemini/settings.json`
 * (or the project's `.gemini/settings.json`).
 *
 * Gemini runs hooks only with `hooksConfig.enabled`. Turning that on is not
 * recognisable as c2c's afterwards, so setup records the previous value in
 * `c2c-setup-state.json` beside the settings, and uninstall restores it.
 *
 * @module
 */

import { editJsonFile } from "./_json_file.ts";
import { SetupConflictError } from "./errors.ts";
import { dropEntry, dropHookGroups, putEntry, putHookGroup } from "./merge.ts";
import { geminiSettingsFile, geminiStateFile } from "./paths.ts";
import type {
  ClientModule,
  FileChange,
  FileReader,
  SetupContext,
} from "./plan.ts";

const ENABLED = ["hooksConfig", "enabled"];

interface State {
  /** `hooksConfig.enabled` before setup; `null` when it was absent. */
  previousHooksEnabled: boolean | null;
}

function readState(ctx: SetupContext, read: FileReader): State | null {
  const text = read(geminiStateFile(ctx));
  if (text === null) return null;
  try {
    return JSON.parse(text) as State;
  } catch {
    return null; // unreadable note: leave hooksConfig as it is
  }
}

/** Gemini CLI's setup. */
export const gemini: ClientModule = {
  name: "gemini",
  install: (ctx, read) => {
    let state: State | null = readState(ctx, read);
    const settings = editJsonFile(
      geminiSettingsFile(ctx),
      read,
      (doc, summary) => {
        putEntry(
          doc,
          ["mcpServers", "c2c"],
          {
            command: ctx.server.command,
            args: ctx.server.args,
            env: ctx.server.env,
            trust: true,
          },
          ctx.force,
          summary,
        );
        putHookGroup(
          doc,
          ["hooks", "AfterTool"],
          {
            matcher: ".*",
            hooks: [{ type: "command", name: "c2c", command: ctx.hook }],
          },
          ctx.force,
          summary,
        );
        // The wake path: at the end of a turn, waiting messages keep the
        // run going (once; the hook respects stop_hook_active).
        if (ctx.wake === "gemini-hook") {
          putHookGroup(
            doc,
            ["hooks", "AfterAgent"],
            { hooks: [{ type: "command", name: "c2c", command: ctx.hook }] },
            ctx.force,
            summary,
          );
        } else {
          dropHookGroups(doc, ["hooks", "AfterAgent"], summary);
        }
        const enabled = doc.get(ENABLED);
        if (enabled === true) return;
        if (enabled !== undefined && !ctx.force) {
          throw new SetupConflictError(doc.file, "hooksConfig.enabled (false)");
        }
        state ??= { previousHooksEnabled: enabled === false ? false : null };
        putEntry(doc, ENABLED, true, true, summary);
      },
    );
    const stateChange: FileChange = {
      path: geminiStateFile(ctx),
      before: read(geminiStateFile(ctx)),
      after: state
        ? JSON.stringify(state, null, 2) + "\n"
        : read(geminiStateFile(ctx)),
      summary: [],
    };
    return [settings, stateChange];
  },
  uninstall: (ctx, read) => {
    const state = readState(ctx, read);
    const settings = editJsonFile(
      geminiSettingsFile(ctx),
      read,
      (doc, summary) => {
        dropEntry(doc, ["mcpServers", "c2c"], summary);
        dropHookGroups(doc, ["hooks", "AfterTool"], summary);
        dropHookGroups(doc, ["hooks", "AfterAgent"], summary);
        if (state?.previousHooksEnabled === null) {
          dropEntry(
            doc,
            ENABLED,
            summary,
          );
        }
        if (state?.previousHooksEnabled === false) {
          putEntry(doc, ENABLED, false, true, summary);
        }
      },
      true,
    );
    const before = read(geminiStateFile(ctx));
    return [settings, {
      path: geminiStateFile(ctx),
      before,
      after: null,
      summary: before === null ? [] : ["remove c2c's setup note"],
    }];
  },
};
