/**
 * `c2c setup kimi`: `mcpServers.c2c` in `~/.kimi/mcp.json`. Delivery is by
 * polling and the managed harness (`c2c run kimi`).
 *
 * @module
 */

import { serverOnlyClient } from "./_server_only.ts";
import { kimiFile } from "./paths.ts";
import type { ClientModule } from "./plan.ts";

/** Kimi Code's setup. */
export const kimi: ClientModule = serverOnlyClient(
  "kimi",
  kimiFile,
  ["mcpServers", "c2c"],
  (server) => ({ command: server.command, args: server.args, env: server.env }),
);
