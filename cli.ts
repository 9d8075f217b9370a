/**
 * The `c2c` command: parses the command line, runs one handler (a call into
 * `lib/`), and maps the outcome to an exit status — 0 success, 1 failure,
 * 2 usage error. Errors are one line on stderr, `c2c <command>: <message>`,
 * or with `--json` a `{"error":{"code","message"}}` object.
 *
 * From a checkout, `bin/c2c` (the installed `c2c`) resolves the broker root
 * and runs this file with read/write on that root only, plus what each
 * command needs (`cliGrant` in `lib/permissions.ts`). From JSR, scoped to
 * one broker root:
 *
 * ```sh
 * ROOT="$(git rev-parse --path-format=absolute --git-common-dir)/c2c/mcp"
 * C2C_MCP_BROKER_ROOT="$ROOT" deno run --allow-read="$ROOT" \
 *   --allow-write="$ROOT" --allow-env jsr:@c2c/c2c/cli list
 * ```
 *
 * or installed for every repository, which then may read and write every
 * file of the user (Deno takes permission paths at start, and the root
 * differs per repository):
 *
 * ```sh
 * deno install -g -n c2c --allow-read --allow-write --allow-env \
 *   --allow-run=git jsr:@c2c/c2c/cli
 * ```
 *
 * `setup`, `install`, `run` and the hooks start c2c's launchers (`bin/`) by
 * path, so they need a checkout (or `c2c install` from one).
 *
 * The import graph of this file holds neither zod nor the MCP SDK (start-up
 * cost); `c2c mcp` loads the server on demand.
 *
 * @module
 */

import { describeError } from "./lib/errors.ts";
import { readEnv } from "./lib/session.ts";
import { parseInvocation, UsageError, wantsJson } from "./cli/args.ts";
import { HANDLERS } from "./cli/commands.ts";
import {
  CLI_WORDING,
  CliError,
  createContext,
  errorCode,
} from "./cli/context.ts";
import { inert, painter, toJson } from "./cli/format.ts";
import { commandHelp, roomHelp, toolHelp } from "./cli/help.ts";
import config from "./deno.json" with { type: "json" };

/** Exit status of a usage error (unknown command or flag, missing argument). */
export const EXIT_USAGE = 2;

/**
 * Runs `c2c` with the given arguments.
 *
 * Requires read/write on the broker root and the environment variables in
 * `CLI_ENV` (see `lib/permissions.ts`), plus what `cliGrant` adds per command.
 *
 * @param argv Arguments without the program name.
 * @returns The exit status.
 *
 * @example Usage
 * ```ts ignore
 * import { main } from "./cli.ts";
 * Deno.exit(await main(["list", "--json"]));
 * ```
 */
export async function main(argv: readonly string[]): Promise<number> {
  const json = wantsJson(argv);
  let command: string | null = null;
  try {
    const inv = parseInvocation(argv);
    if (inv.kind === "version") {
      console.log(
        json ? toJson({ version: config.version }) : `c2c ${config.version}`,
      );
      return 0;
    }
    if (inv.kind === "help") {
      const text = inv.spec
        ? commandHelp(inv.spec)
        : inv.group
        ? roomHelp()
        : toolHelp();
      // Asked for: standard output. Shown because the command was missing:
      // a usage error, on standard error.
      if (!inv.usage) {
        console.log(text);
        return 0;
      }
      console.error(
        json
          ? toJson({
            error: {
              code: "usage",
              message: `missing ${inv.group ? "room " : ""}command`,
            },
          })
          : text,
      );
      return EXIT_USAGE;
    }
    command = inv.spec.name;
    if (inv.spec.unavailable) {
      throw new CliError("not_available", inv.spec.unavailable);
    }
    const ctx = createContext({
      spec: inv.spec,
      values: inv.values,
      positionals: inv.positionals,
      env: readEnv,
      paint: painter(readEnv("NO_COLOR"), Deno.stdout.isTerminal()),
      print: (text) => console.log(text),
    });
    try {
      return await HANDLERS[inv.spec.name](ctx);
    } finally {
      // A NATS connection would keep the process alive after the command.
      await ctx.closeBroker();
    }
  } catch (error) {
    const usage = error instanceof UsageError;
    const where = usage ? error.command : command;
    // Our own errors (and plain ones) carry a message meant for people;
    // the broker's are worded for the CLI (commands, not MCP tools). Ours
    // are one line already: a newline in them is input they echo, which
    // inert() below shows as ^J rather than hiding it.
    const message = error instanceof UsageError || error instanceof CliError
      ? error.message
      : error instanceof Error && error.name === "Error"
      ? error.message.replace(/\s*\n\s*/g, " ")
      : describeError(error, CLI_WORDING);
    if (json) {
      // A refusal that says when to retry says it to programs too.
      const retry = (error as { retry_after_s?: unknown }).retry_after_s;
      console.error(toJson({
        error: {
          code: errorCode(error),
          message,
          ...(typeof retry === "number" ? { retry_after_s: retry } : {}),
        },
      }));
    } else {
      const hint = usage ? `; see 'c2c ${where ? where + " " : ""}--help'` : "";
      // Errors echo what was typed or found (an alias, a path): inert, so
      // they cannot drive the terminal either.
      console.error(inert(`c2c${where ? " " + where : ""}: ${message}${hint}`));
    }
    // Exit 2 from Claude Code's rewake waiter wakes the model with what it
    // printed: a usage error there must not read as a message.
    const waiter = argv.find((a) => !a.startsWith("-")) === "hook" &&
      argv.includes("--rewake");
    return usage && !waiter ? EXIT_USAGE : 1;
  }
}

// Not Deno.exit(): `c2c mcp` returns once the server is listening, and the
// process must live on until the server closes.
if (import.meta.main) Deno.exitCode = await main(Deno.args);
