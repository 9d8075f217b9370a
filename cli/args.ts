/**
 * Turns `c2c` arguments into an {@linkcode Invocation}: which command, its
 * options and positionals, or a request for help. Every mistake in the
 * command line is a {@linkcode UsageError} (exit status 2).
 *
 * @module
 */

import { FlagError, parseFlags } from "./flags.ts";
import {
  COMMANDS,
  type CommandSpec,
  findCommand,
  optionsOf,
  ROOM_SUBCOMMANDS,
  userCommands,
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
  | {
    kind: "help";
    spec: CommandSpec | null;
    group?: "room";
    /** Shown because the command line was incomplete (exit status 2). */
    usage?: boolean;
  }
  | { kind: "version" };

const TOP_LEVEL_FLAGS = new Set([
  "-h",
  "--help",
  "--version",
  "-V",
  "--json",
]);

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
 * `--help`, `--version` (`-V`) and `--json` are allowed. Options may come
 * anywhere after it; `--` ends options. Integer options, the choices of a
 * first argument and a message given on the command line are checked here,
 * so that a mistake in them is a usage error whatever else is wrong.
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
    if (!TOP_LEVEL_FLAGS.has(flag)) throw misplacedOption(flag);
  }
  if (at === -1 || leading.includes("--")) {
    if (leading.includes("--help") || leading.includes("-h")) {
      return { kind: "help", spec: null };
    }
    if (leading.includes("--version") || leading.includes("-V")) {
      return { kind: "version" };
    }
    // Bare `c2c` (or only `--json`): the usage, not a one-line error.
    return { kind: "help", spec: null, usage: true };
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
      return { kind: "help", spec: null, group: "room", usage: true };
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
  const options = optionsOf(spec);
  try {
    parsed = parseFlags(
      args,
      Object.fromEntries(
        options.map((o) => [o.name, { type: o.type, short: o.short }]),
      ),
    );
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    throw new UsageError(spec.name, flagMessage(e, spec));
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
  for (const o of options) {
    if (o.integer) intOption(parsed.values, o.name, spec.name, o.integer.min);
  }
  if (spec.choices && !spec.choices.includes(positionals[0])) {
    const noun = spec.args.match(/^<([^>]+)>/)?.[1] ?? "argument";
    throw new UsageError(
      spec.name,
      `unknown ${noun} '${positionals[0]}'${
        didYouMean(positionals[0], spec.choices)
      }; choose one of ${spec.choices.join(", ")}`,
    );
  }
  if (spec.message !== undefined) {
    const words = positionals.slice(spec.message);
    if (!(words.length === 1 && words[0] === "-") && words.join("") === "") {
      throw new UsageError(spec.name, "the message is empty");
    }
  }
  if (spec.name === "version") return { kind: "version" };
  return { kind: "run", spec, values: parsed.values, positionals };
}

function unknownCommand(name: string): UsageError {
  if (name.startsWith("room ")) {
    const sub = name.slice(5);
    return new UsageError(
      "room",
      `unknown room command '${sub}'${
        didYouMean(sub, ROOM_SUBCOMMANDS)
      }; one of ${ROOM_SUBCOMMANDS.join(", ")}`,
    );
  }
  // A room subcommand typed without `room` (`c2c join lounge`) is a common
  // slip: point at the full form.
  const names = userCommands().map((c) => c.name);
  const asRoom = ROOM_SUBCOMMANDS.includes(name) ? `room ${name}` : null;
  return new UsageError(
    null,
    `unknown command '${name}'${
      asRoom
        ? ` (did you mean '${asRoom}'?)`
        : didYouMean(name, names.filter((n) => !n.startsWith("room ")))
    }`,
  );
}

/** An option before the command: say where it goes, if anywhere. */
function misplacedOption(flag: string): UsageError {
  const name = flag.replace(/=.*$/, "");
  // The example: a command that acts as a session if the option is one of
  // theirs (`--alias`), else the first that has it.
  const owners = COMMANDS.filter((c) =>
    !c.aliasOf && !c.internal &&
    optionsOf(c).some((o) =>
      `--${o.name}` === name || (o.short && `-${o.short}` === name)
    )
  );
  const owner = owners.find((c) => c.session === "required") ?? owners[0];
  return new UsageError(
    null,
    owner
      ? `option '${name}' goes after the command, e.g. 'c2c ${owner.name}${
        owner.args ? " …" : ""
      } ${name}${
        optionsOf(owner).find((o) => `--${o.name}` === name)?.value ? " …" : ""
      }'`
      : `unknown option '${name}'${
        didYouMean(name, [...TOP_LEVEL_FLAGS].filter((f) => f !== "-h"))
      }`,
  );
}

function flagMessage(e: FlagError, spec: CommandSpec): string {
  if (e.problem !== "unknown") return e.message;
  const known = optionsOf(spec).map((o) => `--${o.name}`);
  const hint = e.option.startsWith("--") ? didYouMean(e.option, known) : "";
  // Only where a message follows can a word starting with '-' be text.
  const dash = spec.message !== undefined
    ? " (put '--' before a message that starts with '-')"
    : "";
  return `${e.message}${hint}${dash}`;
}

/**
 * ` (did you mean 'x'?)` for the candidate closest to a mistyped word, or
 * nothing when none is close: at most one edit (an insertion, deletion,
 * substitution or swap of neighbours) per three letters (from three
 * letters on), or the start of exactly one candidate (from two).
 *
 * @param word What was typed.
 * @param candidates What it could have meant.
 * @returns The clause, or `""`.
 *
 * @example Usage
 * ```ts
 * import { didYouMean } from "./args.ts";
 * didYouMean("sned", ["send", "list"]); // " (did you mean 'send'?)"
 * didYouMean("claude", ["claude-code", "codex"]); // " (did you mean 'claude-code'?)"
 * ```
 */
export function didYouMean(
  word: string,
  candidates: readonly string[],
): string {
  const lower = word.toLowerCase();
  const letters = lower.replace(/^-+/, "").length;
  const prefixed = candidates.filter((c) => c.startsWith(lower));
  if (letters >= 2 && prefixed.length === 1) {
    return ` (did you mean '${prefixed[0]}'?)`;
  }
  if (letters < 3) return "";
  const limit = Math.max(1, Math.floor(lower.length / 3));
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(lower, c);
    if (d <= limit && d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best ? ` (did you mean '${best}'?)` : "";
}

/** Optimal string alignment distance: Levenshtein plus neighbour swaps. */
function editDistance(a: string, b: string): number {
  const d = Array.from(
    { length: a.length + 1 },
    () => new Array<number>(b.length + 1).fill(0),
  );
  for (let i = 0; i <= a.length; i++) d[i][0] = i;
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(
        d[i - 1][j] + 1,
        d[i][j - 1] + 1,
        d[i - 1][j - 1] + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
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
  const n = /^-?\d+$/.test(text) ? Number(text) : NaN;
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
