/**
 * Parses `run <client> [--alias A] [--command PROGRAM] [--] [client args…]`.
 *
 * Client arguments are passed through untouched, so c2c's own options end at
 * `--` or at the first argument c2c does not know: `c2c run claude --resume`
 * passes `--resume` to Claude Code.
 *
 * Pure.
 *
 * @module
 */

/** The parsed `run` command line. */
export interface RunArgs {
  /** Client name as given. */
  client: string;
  /** `--alias`, if given. */
  alias?: string;
  /** `--command`, if given: the program to start instead of the usual one. */
  command?: string;
  /** Everything for the client. */
  args: string[];
}

/**
 * Parses the arguments that follow `run`.
 *
 * @param argv Arguments after `run`.
 * @returns Client, c2c options and the client's arguments.
 * @throws {TypeError} When the client is missing or an option lacks a value.
 *
 * @example Usage
 * ```ts
 * import { parseRunArgs } from "./run_args.ts";
 * parseRunArgs(["codex", "--alias", "cx", "--", "--model", "o4"]);
 * // { client: "codex", alias: "cx", args: ["--model", "o4"] }
 * ```
 */
export function parseRunArgs(argv: readonly string[]): RunArgs {
  const [client, ...rest] = argv;
  if (!client || client.startsWith("-")) {
    throw new TypeError(
      "usage: run <client> [--alias A] [--command PROGRAM] [--] [client args…]",
    );
  }
  const out: RunArgs = { client, args: [] };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === "--") {
      out.args = rest.slice(i + 1);
      return out;
    }
    const match = /^--(alias|command)(?:=(.*))?$/.exec(arg);
    if (!match) {
      out.args = rest.slice(i);
      return out;
    }
    const value = match[2] ?? rest[++i];
    if (value === undefined || value === "") {
      throw new TypeError(`--${match[1]} needs a value`);
    }
    out[match[1] as "alias" | "command"] = value;
  }
  return out;
}
