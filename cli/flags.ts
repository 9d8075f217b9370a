/**
 * Command-line option parsing for `c2c`, driven by the command table.
 *
 * `node:util`'s `parseArgs` would do, but it is the one `node:` import left
 * in the CLI's start-up graph, and loading any `node:` module starts Deno's
 * Node layer: several milliseconds on every `c2c` call, which agents make
 * often. This covers what the CLI uses: `--name`, `--name value`,
 * `--name=value`, `-x`, and `--` ending the options.
 *
 * @module
 */

/** How one option is spelled and whether it takes a value. */
export interface FlagSpec {
  /** `string` takes a value, `boolean` does not. */
  type: "string" | "boolean";
  /** One-letter alias. */
  short?: string;
}

/** What is wrong with an option. */
export type FlagProblem = "unknown" | "needs_value" | "takes_no_value";

/** A malformed option: unknown, missing its value, or given one it refuses. */
export class FlagError extends Error {
  /** What is wrong. */
  readonly problem: FlagProblem;
  /** The option as written (`--bogus`, `-x`). */
  readonly option: string;
  /**
   * Creates the error.
   *
   * @param problem What is wrong.
   * @param option The option as written.
   */
  constructor(problem: FlagProblem, option: string) {
    super(
      {
        unknown: `unknown option '${option}'`,
        needs_value: `option '${option}' needs a value`,
        takes_no_value: `option '${option}' does not take a value`,
      }[problem],
    );
    this.name = "FlagError";
    this.problem = problem;
    this.option = option;
  }
}

// `-5` and `-1.5` are numbers, not options: an argument (a message, a value
// that is then checked) rather than "unknown option '-5'".
const NUMBER = /^-\d+(\.\d+)?$/;

/**
 * Splits arguments into option values and positionals.
 *
 * @param args The arguments after the command name.
 * @param specs Known options by long name.
 * @returns Values by long name (booleans `true`, strings their value) and
 * the positionals in order.
 * @throws {FlagError} On an unknown option, a string option without a value,
 * or a boolean option given one.
 *
 * @example Usage
 * ```ts
 * import { parseFlags } from "./flags.ts";
 * parseFlags(["tide", "--limit=5", "hi"], { limit: { type: "string" } });
 * // { values: { limit: "5" }, positionals: ["tide", "hi"] }
 * ```
 */
export function parseFlags(
  args: readonly string[],
  specs: Readonly<Record<string, FlagSpec>>,
): {
  values: Record<string, string | boolean>;
  positionals: string[];
} {
  const values: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  const byShort = new Map(
    Object.entries(specs).flatMap(([name, s]) =>
      s.short ? [[s.short, name] as const] : []
    ),
  );
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg === "-" || !arg.startsWith("-") || NUMBER.test(arg)) {
      positionals.push(arg);
      continue;
    }
    const long = arg.startsWith("--");
    const eq = long ? arg.indexOf("=") : -1;
    const written = eq === -1 ? arg : arg.slice(0, eq);
    const name = long ? written.slice(2) : byShort.get(written.slice(1));
    const spec = name === undefined ? undefined : specs[name];
    if (!spec || name === undefined || (!long && written.length !== 2)) {
      throw new FlagError("unknown", written);
    }
    if (spec.type === "boolean") {
      if (eq !== -1) {
        throw new FlagError("takes_no_value", written);
      }
      values[name] = true;
      continue;
    }
    const value = eq !== -1 ? arg.slice(eq + 1) : args[++i];
    if (
      value === undefined ||
      (eq === -1 && value.startsWith("-") && value !== "-" &&
        !NUMBER.test(value))
    ) {
      throw new FlagError("needs_value", written);
    }
    values[name] = value;
  }
  return { values, positionals };
}
