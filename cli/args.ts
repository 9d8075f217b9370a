/**
 * Turns `c2c` arguments into an {@linkcode Invocation}: which command, its
 * options and positionals, or a request for help. Every mistake in the
 * command line is a {@linkcode UsageError} (exit status 2).
 *
 * @module
 */

import { FlagError, parseFlags } from "./flags.ts";
import {
  type CommandSpec,
  findCommand,
  optionsOf,
  ROOM_SUBCOMMANDS,
} from "./spec.ts";

/** A command line that cannot be run as written (exit status 2). */
export class UsageError extends Error {
  /** The command it concerns (`send`, `room send`), or `null` for the tool. */
  readonly command: string | null;
  /**
   * Creates the error.
   *
   * @param command The command it concerns, or `null`.
   * @param message What is wrong, naming the flag or argument.
   */
  constructor(command: string | null, message: string) {
    super(message);
    this.name = "UsageError";
    this.command = command;
  }
}

/** Parsed option values, by long name. */
export type OptionValues = Record<string, string | boolean | undefined>;

/** What the command line asks for. */
export type Invocation =
  | {
    kind: "run";
    spec: CommandSpec;
    values: OptionValues;
    positionals: string[];
  }
  | { kind: "help"; spec: CommandSpec | null; group?: "room" }
  | { kind: "version" };

const TOP_LEVEL_FLAGS = new Set(["-h", "--help", "--version", "--json"]);

/**
 * Whether `--json` was asked for, looking only at options (before `--`), so
 * that even a usage error can be reported as JSON.
 *
 * @param argv The `c2c` arguments.
 * @returns Whether `--json` is present.
 */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).includes("--json");
}

function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  const opts = end === -1 ? argv : argv.slice(0, end);
  return opts.includes("--help") || opts.includes("-h");
}

/**
 * Parses the `c2c` arguments.
 *
 * The command is the first argument that is not an option; before it only
 * `--help`, `--version` and `--json` are allowed. Options may come anywhere
 * after it; `--` ends options.
 *
 * @param argv The arguments, without the program name.
 * @returns What to do.
 * @throws {UsageError} On an unknown command or option, a missing or extra
 * argument, or an option without its value.
 *
 * @example Usage
 * ```ts
 * import { parseInvocation } from "./args.ts";
 * const inv = parseInvocation(["send", "tide-runner", "hi", "--json"]);
 * // { kind: "run", spec: <send>, values: { json: true }, positionals: ["tide-runner", "hi"] }
 * ```
 */
export function parseInvocation(argv: readonly string[]): Invocation {
  const at = argv.findIndex((a) => !a.startsWith("-") || a === "-");
  const leading = at === -1 ? argv : argv.slice(0, at);
  for (const flag of leading) {
    if (flag === "--") break;
    if (!TOP_LEVEL_FLAGS.has(flag)) {
      throw new UsageError(
        null,
        `unknown option '${flag}' before the command; options go after it, e.g. 'c2c list ${flag}'`,
      );
    }
  }
  if (at === -1 || leading.includes("--")) {
    if (leading.includes("--help") || leading.includes("-h")) {
      return { kind: "help", spec: null };
    }
    if (leading.includes("--version")) return { kind: "version" };
    throw new UsageError(null, "missing command");
  }
  let name = argv[at];
  const rest = [...argv.slice(0, at), ...argv.slice(at + 1)];

  if (name === "help") {
    const topic = rest.filter((a) => !a.startsWith("-"));
    if (topic.length === 0) return { kind: "help", spec: null };
    if (topic[0] === "room" && topic.length === 1) {
      return { kind: "help", spec: null, group: "room" };
    }
    const wanted = topic[0] === "room" ? `room ${topic[1]}` : topic[0];
    const spec = findCommand(wanted);
    if (!spec) throw unknownCommand(wanted);
    return { kind: "help", spec };
  }

  let args = rest;
  if (name === "room") {
    const subAt = rest.findIndex((a) => !a.startsWith("-") || a === "-");
    if (subAt === -1 || rest.slice(0, subAt).includes("--")) {
      if (wantsHelp(rest)) return { kind: "help", spec: null, group: "room" };
      throw new UsageError(
        "room",
        `missing room command: one of ${ROOM_SUBCOMMANDS.join(", ")}`,
      );
    }
    name = `room ${rest[subAt]}`;
    args = [...rest.slice(0, subAt), ...rest.slice(subAt + 1)];
  }

  const spec = findCommand(name);
  if (!spec) throw unknownCommand(name);
  if (spec.passThrough) {
    // Everything after the command belongs to it (e.g. `c2c run codex --
    // --model o4`): only a leading --help is c2c's.
    if (args[0] === "--help" || args[0] === "-h") return { kind: "help", spec };
    if (args.length === 0) {
      throw new UsageError(
        spec.name,
        `missing argument ${spec.args.split(" ")[0]}`,
      );
    }
    return { kind: "run", spec, values: {}, positionals: args };
  }
  if (wantsHelp(args)) return { kind: "help", spec };
  if (spec.unavailable) {
    return {
      kind: "run",
      spec,
      values: { json: wantsJson(args) },
      positionals: [],
    };
  }

  let parsed: { values: OptionValues; positionals: string[] };
  try {
    parsed = parseFlags(
      args,
      Object.fromEntries(
        optionsOf(spec).map((o) => [o.name, { type: o.type, short: o.short }]),
      ),
    );
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    throw new UsageError(spec.name, e.message);
  }
  const [min, max] = spec.positionals;
  const { positionals } = parsed;
  if (positionals.length < min) {
    const names = spec.args.split(" ").filter((a) => a.startsWith("<"));
    throw new UsageError(
      spec.name,
      `missing argument ${names[positionals.length] ?? names.at(-1) ?? ""}`
        .trim(),
    );
  }
  if (positionals.length > max) {
    throw new UsageError(
      spec.name,
      `unexpected argument '${positionals[max]}'`,
    );
  }
  return { kind: "run", spec, values: parsed.values, positionals };
}

function unknownCommand(name: string): UsageError {
  const root = name.startsWith("room ") ? "room" : null;
  return new UsageError(
    root,
    root
      ? `unknown room command '${name.slice(5)}': use one of ${
        ROOM_SUBCOMMANDS.join(", ")
      }`
      : `unknown command '${name}'`,
  );
}

/**
 * Reads an integer option.
 *
 * @param values Parsed options.
 * @param name Option name.
 * @param command Command name, for the error.
 * @param min Smallest allowed value.
 * @returns The number, or `undefined` when the option is absent.
 * @throws {UsageError} When the value is not an integer ≥ `min`.
 */
export function intOption(
  values: OptionValues,
  name: string,
  command: string,
  min = 0,
): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const text = String(raw);
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    throw new UsageError(
      command,
      `--${name} must be an integer${
        min > 0 ? ` ≥ ${min}` : " ≥ 0"
      }, got '${text}'`,
    );
  }
  return n;
}
