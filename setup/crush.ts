/**
 * `c2c setup crush`: `mcp.c2c` (a `stdio` server) in
 * `$XDG_CONFIG_HOME/crush/crush.json` (default `~/.config`) or the project's
 * `crush.json`. Delivery is by polling and the managed harness
 * (`c2c run crush`).
 *
 * @module
 */

import { editJsonFile } from "./_json_file.ts";
import { dropEntry, putEntry } from "./merge.ts";
import type { ClientModule } from "./plan.ts";
import { crushFile } from "./paths.ts";

const configFile = crushFile;

/** Crush's setup. */
export const crush: ClientModule = {
  name: "crush",
  install: (ctx, read) => [
    editJsonFile(
      configFile(ctx),
      read,
      (doc, summary) =>
        putEntry(
          doc,
          ["mcp", "c2c"],
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
