// Private helper: a client module whose setup is one MCP server entry in one
// JSON/JSONC file (OpenCode, Kimi, Crush), added by install and removed by
// uninstall (the file too, when nothing else is left in it).

import type { ClientName } from "./launch.ts";
import { editJsonFile } from "./_json_file.ts";
import type { JsonPath } from "./json_edit.ts";
import { dropEntry, putEntry } from "./merge.ts";
import type { ConfigLocation } from "./paths.ts";
import type { ClientModule, SetupContext } from "./plan.ts";

/** Builds the module from where the entry goes and what it holds. */
export function serverOnlyClient(
  name: ClientName,
  file: (at: ConfigLocation) => string,
  path: JsonPath,
  entry: (server: SetupContext["server"]) => unknown,
): ClientModule {
  return {
    name,
    install: (ctx, read) => [
      editJsonFile(
        file(ctx),
        read,
        (doc, summary) =>
          putEntry(doc, path, entry(ctx.server), ctx.force, summary),
      ),
    ],
    uninstall: (ctx, read) => [
      editJsonFile(
        file(ctx),
        read,
        (doc, summary) => dropEntry(doc, path, summary),
        true,
      ),
    ],
  };
}
