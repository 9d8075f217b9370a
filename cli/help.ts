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
  findCommand,
  GROUPS,
  optionsOf,
  type OptionSpec,
  SESSION_OPTIONS,
  userCommands,
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
  const usage = spec.passThrough
    ? `c2c ${spec.name} ${spec.args}`
    : `c2c ${spec.name}${spec.args ? " " + spec.args : ""} [options]`;
  const parts = [`c2c ${spec.name} — ${spec.summary}`, "", `Usage: ${usage}`];
  if (spec.aliasOf) {
    const target = findCommand(spec.aliasOf);
    parts.push(
      "",
      wrap(
        `Kept for compatibility; the command to use is 'c2c ${spec.aliasOf}${
          spec.name === "unsetup" ? " <client> --uninstall" : ""
        }'${target ? ` (${target.summary})` : ""}.`,
        78,
      ),
    );
  }
  if (spec.internal) {
    parts.push(
      "",
      "Run by the client configs 'c2c setup' writes, not by people.",
    );
  }
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
  const rooms = userCommands().filter((c) => c.name.startsWith("room "));
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
 * The tool's help: the commands grouped by what a user is doing (one name
 * each: compatibility names and the commands clients run are left out or
 * listed apart), the common options, examples and exit statuses.
 *
 * @returns The text.
 */
export function toolHelp(): string {
  const commands = userCommands();
  // The list shows arguments only; options are in each command's help.
  const shown = (c: CommandSpec) =>
    `${c.name} ${c.args.replace(/ \[--[a-z][^\]]*\]/g, "")}`.trim();
  const width = Math.max(...commands.map((c) => shown(c).length));
  const list = GROUPS.map((group) =>
    `${group}:\n` +
    commands.filter((c) => c.group === group).map((c) =>
      `  ${shown(c).padEnd(width)}  ${c.summary}`
    ).join("\n")
  );
  const internal = COMMANDS.filter((c) => c.internal).map((c) => c.name);
  return [
    "c2c — messages between AI coding agents, on one machine or across several",
    "",
    "Usage: c2c <command> [arguments] [options]",
    "",
    ...list.flatMap((g) => [g, ""]),
    "Options of every command:",
    columns(COMMON_OPTIONS.map(optionLine)),
    "Options of commands that act as a session:",
    columns(SESSION_OPTIONS.map(optionLine)),
    "Before any command:",
    columns([["-V, --version", "print c2c's version"]]),
    "",
    "From a shell:",
    columns([
      ["c2c register --alias alice", "# take the alias alice"],
      ["export C2C_ALIAS=alice", "# act as alice from now on (or --alias)"],
      ['c2c send bob "sync on the room design?"', "# direct message"],
      ["c2c poll-inbox", "# read (and drain) your messages"],
    ]),
    "In an AI client: 'c2c setup <client>' once; the agent then has c2c's tools.",
    "",
    "The broker root is C2C_MCP_BROKER_ROOT, else <git common dir>/c2c/mcp.",
    "Exit status: 0 success, 1 failure, 2 usage error. NO_COLOR disables colour.",
    `Client configs run ${
      internal.map((n) => `'c2c ${n}'`).join(" and ")
    } themselves; you never need to.`,
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
