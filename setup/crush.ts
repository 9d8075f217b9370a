/**
 * `c2c setup crush`: `mcp.c2c` (a `stdio` server) in
 * `$XDG_CONFIG_HOME/crush/crush.json` (default `~/.config`) or the project's
 * `crush.json`. Delivery is by polling and the managed harness
 * (`c2c run crush`).
 *
 * @module
 */

import { serverOnlyClient } from "./_server_only.ts";
import { crushFile } from "./paths.ts";
import type { ClientModule } from "./plan.ts";

/** Crush's setup. */
export const crush: ClientModule = serverOnlyClient(
  "crush",
  crushFile,
  ["mcp", "c2c"],
  (server) => ({
    type: "stdio",
    command: server.command,
    args: server.args,
    env: server.env,
  }),
);
