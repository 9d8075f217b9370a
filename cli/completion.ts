/**
 * `c2c completion bash|zsh|fish`: shell completion scripts generated from the
 * command table (`spec.ts`), so they complete exactly what the parser
 * accepts — commands, `room` subcommands, each command's options and the
 * values of a first argument with fixed choices (`setup <client>`).
 * Compatibility names (`init`, `my-rooms`, `unsetup`) and the commands
 * clients run (`hook`, `mcp`) are left out, as in the help.
 *
 * @module
 */

import {
  type CommandSpec,
  optionsOf,
  SETUP_CLIENTS,
  userCommands,
} from "./spec.ts";

/** The shells `c2c completion` writes for. */
export const SHELLS = ["bash", "zsh", "fish"] as const;

/** One of {@linkcode SHELLS}. */
export type Shell = (typeof SHELLS)[number];

// `run` takes a client too, but also any program: complete the clients.
const RUN_CLIENTS = [...SETUP_CLIENTS, "generic"];

interface Entry {
  /** `send`, or `room send`. */
  name: string;
  /** The word after `c2c` (or after `room`). */
  word: string;
  summary: string;
  options: { flag: string; value: boolean; description: string }[];
  choices: readonly string[];
}

function entries(): Entry[] {
  return userCommands().map((c: CommandSpec) => ({
    name: c.name,
    word: c.name.replace(/^room /, ""),
    summary: c.summary,
    options: optionsOf(c).flatMap((o) => [
      {
        flag: `--${o.name}`,
        value: o.type === "string",
        description: o.description,
      },
      ...(o.short
        ? [{ flag: `-${o.short}`, value: false, description: o.description }]
        : []),
    ]),
    choices: c.choices ?? (c.name === "run" ? RUN_CLIENTS : []),
  }));
}

const top = () => entries().filter((e) => !e.name.startsWith("room "));
const room = () => entries().filter((e) => e.name.startsWith("room "));
const TOP_FLAGS = ["--help", "--version", "-V", "--json"];

/**
 * The completion script for a shell.
 *
 * @param shell `bash`, `zsh` or `fish`.
 * @returns The script, to `eval` (bash, zsh) or save (fish).
 *
 * @example Usage
 * ```ts
 * import { completionScript } from "./completion.ts";
 * completionScript("bash").includes("complete -F _c2c c2c"); // true
 * ```
 */
export function completionScript(shell: Shell): string {
  switch (shell) {
    case "bash":
      return bash();
    case "zsh":
      return zsh();
    case "fish":
      return fish();
  }
}

/** The command, the room subcommand and how many positionals precede. */
const SCAN = (first: number, words: string, current: string) =>
  `  local cmd= sub= n=0 i w
  for ((i = ${first}; i < ${current}; i++)); do
    w=\${${words}[i]}
    [[ $w == -* ]] && continue
    if [[ -z $cmd ]]; then cmd=$w
    elif [[ $cmd == room && -z $sub ]]; then sub=$w
    else n=$((n + 1)); fi
  done`;

function caseArms(
  pattern: (e: Entry) => string,
  body: (e: Entry) => string,
): string {
  return entries().map((e) => `    ${pattern(e)}) ${body(e)} ;;`).join("\n");
}

function bash(): string {
  const words = (list: readonly string[]) => list.join(" ");
  return `# c2c completion for bash. Load it with: eval "$(c2c completion bash)"
_c2c() {
  local cur=\${COMP_WORDS[COMP_CWORD]} opts= choices=
${SCAN(1, "COMP_WORDS", "COMP_CWORD")}
  if [[ -z $cmd ]]; then
    COMPREPLY=($(compgen -W "${words(top().map((e) => e.word))} ${
    words(TOP_FLAGS)
  }" -- "$cur"))
    return
  fi
  if [[ $cmd == room && -z $sub ]]; then
    COMPREPLY=($(compgen -W "${
    words(room().map((e) => e.word))
  } --help" -- "$cur"))
    return
  fi
  case "$cmd\${sub:+ $sub}" in
${
    caseArms(
      (e) => `"${e.name}"`,
      (e) =>
        `opts="${words(e.options.map((o) => o.flag))}"; choices="${
          words(e.choices)
        }"`,
    )
  }
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif ((n == 0)) && [[ -n $choices ]]; then
    COMPREPLY=($(compgen -W "$choices" -- "$cur"))
  fi
}
complete -o default -F _c2c c2c
`;
}

/** Quotes a word for a single-quoted zsh/bash/fish string. */
function sq(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

function zsh(): string {
  // _describe reads `name:description`; a colon in the name needs a `\`.
  const described = (list: Entry[]) =>
    list.map((e) => sq(`${e.word.replaceAll(":", "\\:")}:${e.summary}`))
      .join(" ");
  return `# c2c completion for zsh. Load it with: eval "$(c2c completion zsh)"
# (after compinit).
_c2c() {
  local -a opts choices cmds
${SCAN(2, "words", "CURRENT")}
  if [[ -z $cmd ]]; then
    if [[ \${words[CURRENT]} == -* ]]; then
      compadd -- ${TOP_FLAGS.join(" ")}
    else
      cmds=(${described(top())})
      _describe -t commands 'c2c command' cmds
    fi
    return
  fi
  if [[ $cmd == room && -z $sub ]]; then
    cmds=(${described(room())})
    _describe -t commands 'c2c room command' cmds
    return
  fi
  case "$cmd\${sub:+ $sub}" in
${
    caseArms(
      (e) => `(${e.name.replace(" ", "\\ ")}`,
      (e) =>
        `opts=(${e.options.map((o) => o.flag).join(" ")}); choices=(${
          e.choices.join(" ")
        })`,
    )
  }
  esac
  if [[ \${words[CURRENT]} == -* ]]; then
    compadd -- $opts
  elif ((n == 0)) && ((\${#choices})); then
    compadd -- $choices
  else
    _files
  fi
}
compdef _c2c c2c
`;
}

function fish(): string {
  const lines = [
    "# c2c completion for fish. Install it with:",
    "#   c2c completion fish > ~/.config/fish/completions/c2c.fish",
    "complete -c c2c -f",
  ];
  const roomWords = room().map((e) => e.word).join(" ");
  for (const e of top()) {
    lines.push(
      `complete -c c2c -n __fish_use_subcommand -a ${sq(e.word)} -d ${
        sq(e.summary)
      }`,
    );
  }
  for (const e of room()) {
    lines.push(
      `complete -c c2c -n ${
        sq(
          `__fish_seen_subcommand_from room; and not __fish_seen_subcommand_from ${roomWords}`,
        )
      } -a ${sq(e.word)} -d ${sq(e.summary)}`,
    );
  }
  for (const e of entries()) {
    // `history` is both a command and a room subcommand.
    const when = e.name.startsWith("room ")
      ? `__fish_seen_subcommand_from room; and __fish_seen_subcommand_from ${e.word}`
      : `__fish_seen_subcommand_from ${e.word}; and not __fish_seen_subcommand_from room`;
    for (const o of e.options) {
      const flag = o.flag.startsWith("--")
        ? `-l ${o.flag.slice(2)}`
        : `-s ${o.flag.slice(1)}`;
      lines.push(
        `complete -c c2c -n ${sq(when)} ${flag}${o.value ? " -r" : ""} -d ${
          sq(o.description)
        }`,
      );
    }
    if (e.choices.length > 0) {
      lines.push(
        `complete -c c2c -n ${sq(when)} -a ${sq(e.choices.join(" "))}`,
      );
    }
  }
  return lines.join("\n") + "\n";
}
