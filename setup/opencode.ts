/**
 * `c2c setup opencode`: `mcp.c2c` (a `local` server) in
 * `~/.config/opencode/opencode.json` (`XDG_CONFIG_HOME` respected) or the
 * project's `opencode.json`. JSONC comments and formatting are kept. Delivery
 * is by polling and the managed harness (`c2c run opencode`).
 *
 * @module
 */

import { editJsonFile } from "./_json_file.ts";
import { dropEntry, putEntry } from "./merge.ts";
import type { ClientModule } from "./plan.ts";
import { opencodeFile } from "./paths.ts";

const configFile = opencodeFile;

/** OpenCode's setup. */
export const opencode: ClientModule = {
  name: "opencode",
  install: (ctx, read) => [
    editJsonFile(
      configFile(ctx),
      read,
      (doc, summary) =>
        putEntry(
          doc,
          ["mcp", "c2c"],
          {
            type: "local",
            command: [ctx.server.command, ...ctx.server.args],
            environment: ctx.server.env,
            enabled: true,
          },
          ctx.force,
          summary,
        ),
    ),
  ],
  uninstall: (ctx, read) => [
    editJsonFile(
      configFile(ctx),
      read,
      (doc, summary) => dropEntry(doc, ["mcp", "c2c"], summary),
      true,
    ),
  ],
};
