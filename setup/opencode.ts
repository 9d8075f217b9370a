/**
 * `c2c setup opencode`: `mcp.c2c` (a `local` server) in
 * `~/.config/opencode/opencode.json` (`XDG_CONFIG_HOME` respected) or the
 * project's `opencode.json`. JSONC comments and formatting are kept. Delivery
 * is by polling and the managed harness (`c2c run opencode`).
 *
 * @module
 */

import { serverOnlyClient } from "./_server_only.ts";
import { opencodeFile } from "./paths.ts";
import type { ClientModule } from "./plan.ts";

/** OpenCode's setup. */
export const opencode: ClientModule = serverOnlyClient(
  "opencode",
  opencodeFile,
  ["mcp", "c2c"],
  (server) => ({
    type: "local",
    command: [server.command, ...server.args],
    environment: server.env,
    enabled: true,
  }),
);
