/**
 * Help text for the tool and each command, generated from the command table
 * in `spec.ts`.
 *
 * @module
 */

import {
  COMMANDS,
  type CommandSpec,
  COMMON_OPTIONS,
  optionsOf,
  type OptionSpec,
  SESSION_OPTIONS,
} from "./spec.ts";

function optionLine(o: OptionSpec): [string, string] {
  const flag = (o.short ? `-${o.short}, ` : "") + `--${o.name}` +
    (o.value ? ` ${o.value}` : "");
  return [flag, o.description];
}

function columns(rows: [string, string][], indent = "  "): string {
  const width = Math.max(0, ...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `${indent}${a.padEnd(width)}  ${b}`).join("\n");
}

/**
 * The help of one command.
 *
 * @param spec The command.
 * @returns Usage, description, options, examples.
 *
 * @example Usage
 * ```ts
 * import { commandHelp } from "./help.ts";
 * import { findCommand } from "./spec.ts";
 * console.log(commandHelp(findCommand("send")!));
 * ```
 */
export function commandHelp(spec: CommandSpec): string {
  const usage = `c2c ${spec.name}${spec.args ? " " + spec.args : ""} [options]`;
  const parts = [`c2c ${spec.name} — ${spec.summary}`, "", `Usage: ${usage}`];
  if (spec.unavailable) parts.push("", `${spec.unavailable}.`);
  if (spec.description) parts.push("", wrap(spec.description, 78));
  if (!spec.unavailable) {
    parts.push("", "Options:", columns(optionsOf(spec).map(optionLine)));
  }
  parts.push(
    "",
    "Examples:",
    columns(spec.examples.map(([cmd, what]) => [cmd, `# ${what}`])),
  );
  return parts.join("\n");
}

/**
 * The help of the `room` group.
 *
 * @returns The room commands with a line each.
 */
export function roomHelp(): string {
  const rooms = COMMANDS.filter((c) => c.name.startsWith("room "));
  return [
    "c2c room — persistent group rooms",
    "",
    "Usage: c2c room <command> [options]",
    "",
    "Commands:",
    columns(
      rooms.map((c) => [`${c.name.slice(5)} ${c.args}`.trim(), c.summary]),
    ),
    "",
    "Examples:",
    columns([
      ["c2c room join swarm-lounge", "# join (or create) a room"],
      ['c2c room send swarm-lounge "hello all"', "# post to it"],
    ]),
    "",
    "Run 'c2c room <command> --help' for a command's options.",
  ].join("\n");
}

/**
 * The tool's help: every command by group, the common options, examples and
 * exit statuses.
 *
 * @returns The text.
 */
export function toolHelp(): string {
  const groups = new Map<string, [string, string][]>();
  for (const c of COMMANDS) {
    const rows = groups.get(c.group) ?? [];
    rows.push([`${c.name} ${c.args}`.trim(), c.summary]);
    groups.set(c.group, rows);
  }
  const width = Math.max(
    ...[...groups.values()].flat().map(([a]) => a.length),
  );
  const list = [...groups].map(([group, rows]) =>
    `${group}:\n` +
    rows.map(([a, b]) => `  ${a.padEnd(width)}  ${b}`).join("\n")
  );
  return [
    "c2c — messages between AI coding agents on this machine",
    "",
    "Usage: c2c <command> [arguments] [options]",
    "",
    ...list.flatMap((g) => [g, ""]),
    "Options of every command:",
    columns(COMMON_OPTIONS.map(optionLine)),
    "Options of commands that act as a session:",
    columns(SESSION_OPTIONS.map(optionLine)),
    "",
    "Examples:",
    columns([
      ["c2c register --alias storm-beacon", "# join the broker"],
      ['c2c send tide-runner "sync on the room design?"', "# direct message"],
      ["c2c poll-inbox", "# read (and drain) your messages"],
    ]),
    "",
    "The broker root is C2C_MCP_BROKER_ROOT, else <git common dir>/c2c/mcp.",
    "Exit status: 0 success, 1 failure, 2 usage error. NO_COLOR disables colour.",
    "Run 'c2c <command> --help' for a command's options and examples.",
  ].join("\n");
}

function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines.join("\n");
}
