/**
 * Standalone entry point of the wake commands (what `c2c run`, `c2c
 * restart-me` and `c2c wake` call), with the exact flags from `flags.ts`:
 *
 * ```sh
 * ROOT=/repo/.git/c2c/mcp
 * C2C_MCP_BROKER_ROOT=$ROOT deno run --no-prompt --allow-read=$ROOT --allow-write=$ROOT \
 *   --allow-env=C2C_MCP_BROKER_ROOT --allow-ffi \
 *   wake/main.ts run codex --alias cx -- --model o4-mini
 * deno run … wake/main.ts restart-me          # inside a managed client
 * deno run … --allow-run=tmux wake/main.ts wake --tmux-pane %3 --alias kimi-bob
 * ```
 *
 * The broker root comes from `C2C_MCP_BROKER_ROOT` (set by the `c2c`
 * launcher); without it, from git (which then needs `--allow-run=git`).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { isAbsolute } from "node:path";
import { resolveBrokerRoot } from "../lib/root.ts";
import { readEnv } from "../lib/session.ts";
import { HarnessError, runHarness } from "./harness.ts";
import { restartMe } from "./restart_me.ts";
import { parseRunArgs } from "./run_args.ts";
import { wakeTmuxPane } from "./tmux.ts";

const USAGE = `usage:
  main.ts run <client> [--alias A] [--command PROGRAM] [--] [client args…]
  main.ts restart-me
  main.ts wake --tmux-pane %N --alias A [--client C] [--tmux-socket PATH]
clients: claude-code, codex, opencode, gemini, kimi, crush, generic`;

/**
 * Runs one wake command.
 *
 * @param argv Command-line arguments (command first).
 * @returns The exit code.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "run": {
        const run = parseRunArgs(rest);
        return await runHarness({ root: await brokerRoot(), ...run });
      }
      case "restart-me": {
        const result = await restartMe({ env: readEnv });
        (result.code === 0 ? console.log : console.error)(result.message);
        return result.code;
      }
      case "wake":
        return await wake(rest);
      case "-h":
      case "--help":
        console.log(USAGE);
        return 0;
      default:
        console.error(USAGE);
        return 2;
    }
  } catch (e) {
    if (e instanceof TypeError || e instanceof HarnessError) {
      console.error(`c2c ${command}: ${e.message}`);
      return e instanceof TypeError ? 2 : 1;
    }
    console.error(`c2c ${command}: ${(e as Error).message ?? e}`);
    return 1;
  }
}

async function wake(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      "tmux-pane": { type: "string" },
      alias: { type: "string" },
      client: { type: "string" },
      "tmux-socket": { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
  const pane = values["tmux-pane"] ?? readEnv("TMUX_PANE");
  if (!pane || !values.alias) {
    throw new TypeError(
      "wake needs --tmux-pane %N (or $TMUX_PANE) and --alias A",
    );
  }
  const stop = new AbortController();
  const abort = () => stop.abort();
  Deno.addSignalListener("SIGINT", abort);
  Deno.addSignalListener("SIGTERM", abort);
  try {
    return await wakeTmuxPane({
      root: await brokerRoot(),
      pane,
      alias: values.alias,
      client: values.client,
      socket: values["tmux-socket"],
      signal: stop.signal,
    });
  } finally {
    Deno.removeSignalListener("SIGINT", abort);
    Deno.removeSignalListener("SIGTERM", abort);
  }
}

async function brokerRoot(): Promise<string> {
  const root = readEnv("C2C_MCP_BROKER_ROOT");
  if (root && isAbsolute(root)) return root;
  return (await resolveBrokerRoot()).root;
}

// Exit explicitly: a read of stdin may still be pending after the harness.
if (import.meta.main) Deno.exit(await main(Deno.args));
