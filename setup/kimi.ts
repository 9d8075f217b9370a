/**
 * `c2c setup kimi`: `mcpServers.c2c` in `~/.kimi/mcp.json`. Delivery is by
 * polling and the managed harness (`c2c run kimi`).
 *
 * @module
 */

import { editJsonFile } from "./_json_file.ts";
import { dropEntry, putEntry } from "./merge.ts";
import type { ClientModule } from "./plan.ts";
import { kimiFile } from "./paths.ts";

const configFile = kimiFile;

/** Kimi Code's setup. */
export const kimi: ClientModule = {
  name: "kimi",
  install: (ctx, read) => [
    editJsonFile(
      configFile(ctx),
      read,
      (doc, summary) =>
        putEntry(
          doc,
          ["mcpServers", "c2c"],
          {
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
      (doc, summary) => dropEntry(doc, ["mcpServers", "c2c"], summary),
      true,
    ),
  ],
};
