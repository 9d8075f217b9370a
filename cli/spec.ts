/**
 * Every `c2c` subcommand as data: its arguments, options, help text and
 * examples. Parsing (`args.ts`) and help (`help.ts`) are generated from this
 * table, so the two cannot disagree.
 *
 * @module
 */

/** One `--option` of a command. */
export interface OptionSpec {
  /** Long name without the dashes. */
  name: string;
  /** `string` takes a value, `boolean` does not. */
  type: "string" | "boolean";
  /** One-letter alias, if any. */
  short?: string;
  /** Placeholder shown in help for a value (`N`, `DIR`). */
  value?: string;
  /**
   * The value must be an integer of at least `min`: checked while parsing,
   * before the command looks for a session, so a typo is a usage error.
   */
  integer?: { min: number };
  /** What it does. */
  description: string;
}

/** How a command finds the caller's session. */
export type SessionNeed = "required" | "optional" | "none";

/** The tool's help groups, by what a user is doing, in help order. */
export const GROUPS = [
  "Get started",
  "Messages",
  "Rooms",
  "File claims",
  "Diagnose and repair",
  "More",
] as const;

/** One of {@linkcode GROUPS}. */
export type Group = (typeof GROUPS)[number];

/** One subcommand. */
export interface CommandSpec {
  /** Full name as typed: `send`, `room send`. */
  name: string;
  /** Group heading in the tool's help. */
  group: Group;
  /** One line for the command list. */
  summary: string;
  /** Positional arguments as shown in help, e.g. `<alias> <message…|->`. */
  args: string;
  /** Longer description, if the summary is not enough. */
  description?: string;
  /** Least and most positionals (`Infinity`: a message). */
  positionals: [number, number];
  /** Options besides the common ones. */
  options: OptionSpec[];
  /** Examples: command line, then what it does. */
  examples: [string, string][];
  /** Whether it acts as a session. */
  session: SessionNeed;
  /** Set for commands that come with a later issue: why they are missing. */
  unavailable?: string;
  /** The command parses its own arguments (they are passed on untouched). */
  passThrough?: boolean;
  /**
   * Index of the positional where the message starts (the rest of the
   * line, or `-` for standard input), for commands that send one.
   */
  message?: number;
  /** Allowed values of the first positional (e.g. the clients of `setup`). */
  choices?: readonly string[];
  /**
   * Another name kept for compatibility: left out of the tool's help and
   * of completion, so there is one way to do each thing.
   */
  aliasOf?: string;
  /** Run by client configs, not by people: listed apart in the help. */
  internal?: boolean;
}

/** The clients `setup` configures (the same list as `setup/launch.ts`). */
export const SETUP_CLIENTS: readonly string[] = [
  "claude-code",
  "codex",
  "opencode",
  "gemini",
  "kimi",
  "crush",
];

/** Options every command accepts. */
export const COMMON_OPTIONS: readonly OptionSpec[] = [
  {
    name: "json",
    type: "boolean",
    description:
      "print the result as one JSON object (errors: {error:{code,message}} on stderr)",
  },
  { name: "help", type: "boolean", short: "h", description: "show this help" },
];

/** Options of commands that act as a session. */
export const SESSION_OPTIONS: readonly OptionSpec[] = [
  {
    name: "session-id",
    type: "string",
    value: "ID",
    description:
      "act as this session (default: C2C_SESSION_ID, C2C_MCP_SESSION_ID, CLAUDE_CODE_SESSION_ID, GEMINI_SESSION_ID)",
  },
  {
    name: "alias",
    type: "string",
    value: "A",
    description:
      "your alias; with no session id, act as the session registered as A (default: C2C_ALIAS)",
  },
];

const LIMIT = (what: string, fallback: number): OptionSpec => ({
  name: "limit",
  type: "string",
  value: "N",
  integer: { min: 0 },
  description: `${what} (default ${fallback})`,
});

const HISTORY_LIMIT: OptionSpec = {
  name: "history-limit",
  type: "string",
  value: "N",
  integer: { min: 0 },
  description: "recent room messages to show (default 20, max 200)",
};

const MESSAGE_NOTE =
  "The message is the remaining arguments joined with spaces, or standard input when it is '-'. Put '--' before a message that starts with '-'.";

/** Every command, in help order. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: "setup",
    group: "Get started",
    choices: SETUP_CLIENTS,
    summary: "configure a client to use c2c: MCP server entry, delivery hooks",
    args: "<client>",
    description:
      "Clients: claude-code, codex, opencode, gemini, kimi, crush. Merges into the existing config: every other key, comment and line stays as it was, a second run changes nothing, and each changed file is first backed up as <file>.c2c-backup-<time>. An unparseable file is refused untouched; an existing c2c entry that differs is refused unless --force. Also sets up the client's idle wake (Claude Code's messaging socket — or with --rewake its asyncRewake hooks, for versions without the socket —, Codex's app-server daemon, an OpenCode plugin, a Gemini AfterAgent hook) unless --no-wake. Restart the client afterwards.",
    positionals: [1, 1],
    options: [
      {
        name: "alias",
        type: "string",
        value: "NAME",
        description:
          "alias the client registers at start (default <client>-<user>-<host>)",
      },
      {
        name: "no-alias",
        type: "boolean",
        description: "no auto-registration; the agent calls register itself",
      },
      {
        name: "no-wake",
        type: "boolean",
        description:
          "no idle wake: record the wake path as off, no OpenCode plugin, no Gemini AfterAgent or Codex SessionStart hook",
      },
      {
        name: "rewake",
        type: "boolean",
        description:
          "claude-code only: wake the idle session through asyncRewake waiter hooks (SessionStart, Stop) instead of the messaging socket — for Claude Code versions without the socket",
      },
      {
        name: "force",
        type: "boolean",
        description: "replace an existing c2c entry that differs",
      },
      {
        name: "dry-run",
        type: "boolean",
        description: "show the change as a diff and write nothing",
      },
      {
        name: "target-dir",
        type: "string",
        value: "DIR",
        description:
          "write the project's config in DIR instead of the user's (broker root pinned to DIR's repository)",
      },
      {
        name: "broker-url",
        type: "string",
        value: "URL",
        description:
          "use the NATS store at URL (nats://[user:pass@]host:port[,host:port…] or tls://…) instead of files: agents on several machines share it",
      },
      {
        name: "namespace",
        type: "string",
        value: "NS",
        description:
          "with --broker-url: the shared space inside NATS (default: from the repository's origin remote, else 'default')",
      },
      {
        name: "creds",
        type: "string",
        value: "FILE",
        description:
          "with --broker-url: a NATS .creds file (absolute path) to authenticate with",
      },
      {
        name: "ca",
        type: "string",
        value: "FILE",
        description: "with --broker-url: a CA file (absolute path) for TLS",
      },
      {
        name: "uninstall",
        type: "boolean",
        description: "remove exactly what setup added",
      },
    ],
    examples: [
      [
        "c2c setup claude-code",
        "MCP server in ~/.claude.json, hooks in ~/.claude/settings.json",
      ],
      [
        "c2c setup claude-code --rewake",
        "idle wake through asyncRewake hooks (Claude Code without the socket)",
      ],
      [
        "c2c setup codex --alias codex-review",
        "~/.codex/config.toml and hooks.json, alias codex-review",
      ],
      [
        "c2c setup opencode --target-dir . --dry-run",
        "show what the project's opencode.json would get",
      ],
      [
        "c2c setup claude-code --broker-url nats://nats.example:4222",
        "share one broker with agents on other machines (NATS JetStream)",
      ],
      [
        "c2c setup --uninstall gemini",
        "take c2c out of ~/.gemini/settings.json",
      ],
    ],
    session: "none",
  },
  {
    name: "unsetup",
    group: "Get started",
    aliasOf: "setup",
    choices: SETUP_CLIENTS,
    summary: "remove what setup added (same as setup --uninstall)",
    args: "<client>",
    positionals: [1, 1],
    options: [
      {
        name: "dry-run",
        type: "boolean",
        description: "show the change as a diff and write nothing",
      },
      {
        name: "target-dir",
        type: "string",
        value: "DIR",
        description: "the project's config in DIR",
      },
    ],
    examples: [["c2c unsetup codex", "take c2c out of Codex's config"]],
    session: "none",
  },
  {
    name: "run",
    group: "Get started",
    passThrough: true,
    summary:
      "run a client in a terminal c2c owns, waking it when messages wait",
    args: "<client> [--alias A] [--command PROGRAM] [--] [client args…]",
    description:
      "Starts the client (claude-code, codex, opencode, gemini, kimi, crush, or a program) in a pseudo-terminal, relays your terminal both ways, holds the session's lease and registers the alias, and types a short poll line (never a message body) into the client when messages wait and you are not typing — once per burst. Two Ctrl-C within 2 s end the harness; one goes to the client. The client's exit code is c2c's; when the harness ends, it unregisters the session (messages still waiting go to dead-letter.jsonl and come back when the alias registers again). c2c's own options end at '--' or at the first argument it does not know, which goes to the client with everything after it. Needs --allow-ffi (the launcher grants it for this command only).",
    positionals: [1, Infinity],
    options: [
      {
        name: "alias",
        type: "string",
        value: "A",
        description:
          "alias to register (default: a generated two-word alias); comes before the client's arguments",
      },
      {
        name: "command",
        type: "string",
        value: "PROGRAM",
        description: "start PROGRAM instead of the client's usual command",
      },
    ],
    examples: [
      ["c2c run opencode", "OpenCode, woken when messages wait"],
      [
        "c2c run codex --alias codex-review -- --model o4-mini",
        "pass arguments to Codex",
      ],
    ],
    session: "none",
  },
  {
    name: "register",
    group: "Get started",
    summary: "register this session and get an alias",
    args: "[SESSION_ID]",
    description:
      "From a shell: 'c2c register --alias alice', then act as alice with --alias alice on every command, or export C2C_ALIAS=alice once. The session id comes from the argument, else --session-id, else the environment; with none of those, --alias names it (a registered alias is refreshed, a new one becomes the session id), and with no alias either a two-word alias is generated and named in the output. Inside a client (its MCP server registers it), a registered session keeps its alias unless --alias renames it. A registration from a shell holds no lease: its liveness reads as unknown and it counts as alive.",
    positionals: [0, 1],
    options: [
      {
        name: "session-id",
        type: "string",
        value: "ID",
        description: "the session to register (same as the argument)",
      },
      {
        name: "alias",
        type: "string",
        value: "A",
        description:
          "alias to take (default: keep the current one, or C2C_ALIAS, or generate one)",
      },
      {
        name: "client",
        type: "string",
        value: "NAME",
        description: "client name to record (default: cli)",
      },
    ],
    examples: [
      ["c2c register --alias alice", "from a shell: become alice"],
      ["c2c send bob hi --alias alice", "then act as alice"],
      [
        "c2c register 3f2a-shell-1 --alias storm-beacon",
        "register a given session id",
      ],
    ],
    session: "none",
  },
  {
    name: "completion",
    group: "Get started",
    summary: "print a shell completion script (bash, zsh or fish)",
    args: "<shell>",
    description:
      "Completes commands, room subcommands, options and client names. Load it in your shell's start-up file, as the examples show.",
    positionals: [1, 1],
    options: [],
    choices: ["bash", "zsh", "fish"],
    examples: [
      ['eval "$(c2c completion bash)"', "in ~/.bashrc"],
      ['eval "$(c2c completion zsh)"', "in ~/.zshrc (after compinit)"],
      [
        "c2c completion fish > ~/.config/fish/completions/c2c.fish",
        "once, for fish",
      ],
    ],
    session: "none",
  },
  {
    name: "install",
    group: "Get started",
    summary: "install c2c into a versioned directory of its own",
    args: "",
    description:
      "Copies this c2c (code, its Deno binary and a Deno cache holding its npm packages) to ~/.local/share/c2c/<version>/ ($XDG_DATA_HOME/c2c) and writes the c2c command, ~/.local/bin/c2c ($DENO_INSTALL_ROOT/bin when set), which runs that version's bin/c2c. Client configs that point at an older version or at this checkout move to the new version (each file backed up first). Afterwards nothing refers to the checkout. Idempotent: the same code installs to the same version.",
    positionals: [0, 0],
    options: [{
      name: "root",
      type: "string",
      value: "DIR",
      description:
        "install into DIR/bin and DIR/share/c2c (default: see above)",
    }],
    examples: [["c2c install --root ~/.local", "install ~/.local/bin/c2c"]],
    session: "none",
  },
  {
    name: "list",
    group: "Messages",
    summary: "list registered peers with liveness and pending counts",
    args: "",
    positionals: [0, 0],
    options: [{
      name: "all",
      type: "boolean",
      description:
        "also list sessions with an inbox or lease but no registration",
    }],
    examples: [["c2c list", "a table of peers"], [
      "c2c list --all --json",
      "every session, as JSON",
    ]],
    session: "none",
  },
  {
    name: "send",
    group: "Messages",
    message: 1,
    summary: "send a direct message to a peer",
    args: "<alias> <message…|->",
    description:
      `Sends as this session's registered alias, and only as that. ${MESSAGE_NOTE}`,
    positionals: [2, Infinity],
    options: [{
      name: "reply-to",
      type: "string",
      value: "ID",
      description: "id of the message this one answers",
    }],
    examples: [
      [
        'c2c send tide-runner "sync on the room design?"',
        "queue a message for tide-runner",
      ],
      ["git diff | c2c send tide-runner -", "send standard input"],
    ],
    session: "required",
  },
  {
    name: "send-all",
    group: "Messages",
    message: 0,
    summary: "broadcast to every live peer but yourself",
    args: "<message…|->",
    description: `Dead peers are skipped and listed. ${MESSAGE_NOTE}`,
    positionals: [1, Infinity],
    options: [],
    examples: [[
      'c2c send-all "build is green again"',
      "message every live peer",
    ]],
    session: "required",
  },
  {
    name: "poll-inbox",
    group: "Messages",
    summary: "drain your inbox and print the messages as envelopes",
    args: "",
    description:
      'Prints one <c2c event="message" …>body</c2c> envelope per message, oldest first, and moves them to your archive (see history). At most --limit messages and about 8 MiB at a time; the rest waits for the next call, and the last line says how many.',
    positionals: [0, 0],
    options: [LIMIT("at most this many messages", 500)],
    examples: [["c2c poll-inbox", "print and remove pending messages"]],
    session: "required",
  },
  {
    name: "wait",
    group: "Messages",
    summary:
      "wait for a message (from a peer, in a room, or answering one) and take it",
    args: "",
    description:
      "Blocks until a message arrives that matches every filter given (none: any message), then prints it as poll-inbox does and takes it from your inbox; messages that do not match stay queued. Wakes on the inbox changing, never by polling. Exit status 3 when none came within --timeout (default 50 s, at most 1 h); Ctrl-C takes nothing.",
    positionals: [0, 0],
    options: [
      {
        name: "from",
        type: "string",
        value: "A",
        description: "only a message from this alias",
      },
      {
        name: "room",
        type: "string",
        value: "R",
        description: "only a message posted to this room",
      },
      {
        name: "reply-to",
        type: "string",
        value: "ID",
        description: "only a message answering this message id",
      },
      {
        name: "timeout",
        type: "string",
        value: "S",
        description:
          "give up after this long: 30, 90s, 5m (default 50s, max 1h)",
      },
    ],
    examples: [
      [
        "c2c wait --from tide-runner --timeout 2m",
        "wait up to two minutes for tide-runner's next message",
      ],
      [
        'id=$(c2c send tide-runner "ready?" --json | jq -r .id); c2c wait --reply-to "$id"',
        "ask, then wait for the answer",
      ],
    ],
    session: "required",
  },
  {
    name: "peek-inbox",
    group: "Messages",
    summary: "print pending messages without removing them",
    args: "",
    description:
      "At most --limit messages and about 8 MiB at a time, oldest first; the last line says how many more wait.",
    positionals: [0, 0],
    options: [LIMIT("at most this many messages", 500)],
    examples: [["c2c peek-inbox --json", "pending messages as JSON"]],
    session: "required",
  },
  {
    name: "history",
    group: "Messages",
    summary: "print messages you received and sent (newest last)",
    args: "",
    description:
      "Received (drained) and sent messages merged by time; with --json each has direction 'in' or 'out'. --peer keeps the direct messages with one alias, --thread one thread (a message's thread_id, or the id of its root).",
    positionals: [0, 0],
    options: [LIMIT("how many", 50), {
      name: "peer",
      type: "string",
      value: "ALIAS",
      description: "only direct messages with this alias, both ways",
    }, {
      name: "thread",
      type: "string",
      value: "ID",
      description: "only this thread",
    }],
    examples: [
      ["c2c history --limit 10", "the last 10 messages, both ways"],
      ["c2c history --peer tide-runner", "the conversation with tide-runner"],
    ],
    session: "required",
  },
  {
    name: "status",
    group: "Messages",
    summary: "where messages you sent are: queued, delivered, expired",
    args: "[ID…]",
    description:
      "One line per message: queued (waiting in the recipient's inbox, until expires_at when its session was not alive), delivered (handed to the recipient's agent: how and when), expired, dead_lettered (waiting for its alias to register again), posted (a room post), or unknown (not a message this alias sent). Without ids: your newest sent messages (--last, default 20, max 100). Never shows any content.",
    positionals: [0, 100],
    options: [{
      name: "last",
      type: "string",
      value: "N",
      integer: { min: 0 },
      description: "your newest N sent messages (default 20, max 100)",
    }],
    examples: [
      ["c2c status", "your 20 newest sent messages"],
      ["c2c status 3f1c9c1e-0b7a-4c3e-9a57-0d6c8f1e2b3a --json", "one message"],
    ],
    session: "required",
  },
  {
    name: "set-status",
    group: "Messages",
    summary: "tell peers in one line what you are working on (shown by list)",
    args: "<text…>",
    description:
      "One line of at most 120 characters, shown next to your alias in every peer's list (with your working directory and git branch) until you change it or your session ends. --clear removes it.",
    positionals: [0, Infinity],
    options: [{
      name: "clear",
      type: "boolean",
      description: "remove your status",
    }],
    examples: [
      [
        'c2c set-status "reviewing the NATS failover PR"',
        "peers see it in c2c list",
      ],
      ["c2c set-status --clear", "remove it"],
    ],
    session: "required",
  },
  {
    name: "search",
    group: "Messages",
    summary: "find messages you received or sent, or in your rooms, by words",
    args: "<query…>",
    description:
      "A case-insensitive search of your archive, your sent messages and the rooms you are a member of, newest first; one line per message, its body cut to 2,000 characters.",
    positionals: [1, Infinity],
    options: [LIMIT("most hits (max 100)", 20)],
    examples: [
      ['c2c search "flaky test"', "messages that mention a flaky test"],
      ["c2c search deploy --limit 5 --json", "the 5 newest, as JSON"],
    ],
    session: "required",
  },
  {
    name: "whoami",
    group: "Messages",
    summary: "show this session's alias and registration",
    args: "[SESSION_ID]",
    positionals: [0, 1],
    options: [],
    examples: [["c2c whoami", "alias, session id, liveness, client, pid"]],
    session: "required",
  },
  {
    name: "ui",
    group: "Messages",
    summary: "a live web page of agents, rooms and traffic, where you post too",
    args: "",
    description:
      "Serves one page on 127.0.0.1 only (a free port unless --port) and prints its URL with a random access token. The page shows the agents (alive, pending, last seen, claims), the rooms with their histories, and every direct message and room post as it is sent; you post to a room or write to an agent as --alias (default human), a registered peer for as long as the page server runs, whose messages agents get as ordinary envelopes. The page shows direct messages between agents too: it is yours alone — it needs the token (then a cookie), and refuses other Host and Origin headers. Runs until Ctrl-C.",
    positionals: [0, 0],
    options: [
      {
        name: "port",
        type: "string",
        value: "N",
        integer: { min: 0 },
        description: "listen on 127.0.0.1:N (default: a free port)",
      },
      {
        name: "open",
        type: "boolean",
        description: "open the page in your browser (xdg-open)",
      },
      {
        name: "read-only",
        type: "boolean",
        description: "watch only: no posting, no alias registered",
      },
      {
        name: "alias",
        type: "string",
        value: "NAME",
        description: "the alias you post as (default human)",
      },
    ],
    examples: [
      ["c2c ui --open", "open the live view in your browser"],
      ["c2c ui --read-only --port 8800", "watch only, on a fixed port"],
    ],
    session: "none",
  },
  {
    name: "room join",
    group: "Rooms",
    summary: "join a room (created if missing) and show recent messages",
    args: "<room>",
    positionals: [1, 1],
    options: [HISTORY_LIMIT],
    examples: [[
      "c2c room join swarm-lounge",
      "join and print the last 20 messages",
    ]],
    session: "required",
  },
  {
    name: "init",
    group: "Rooms",
    aliasOf: "room join",
    summary: "create a room and join it (same as room join)",
    args: "<room>",
    positionals: [1, 1],
    options: [HISTORY_LIMIT],
    examples: [["c2c init swarm-lounge", "create swarm-lounge and join it"]],
    session: "required",
  },
  {
    name: "room init",
    group: "Rooms",
    aliasOf: "room join",
    summary: "create a room and join it (same as room join)",
    args: "<room>",
    description:
      "A room exists once someone is in it, so creating one means joining it.",
    positionals: [1, 1],
    options: [HISTORY_LIMIT],
    examples: [[
      "c2c room init swarm-lounge",
      "create swarm-lounge and join it",
    ]],
    session: "required",
  },
  {
    name: "room send",
    group: "Rooms",
    message: 1,
    summary: "post to a room (one copy to every other member's inbox)",
    args: "<room> <message…|->",
    description:
      `Your identical post within 60 s is not repeated. ${MESSAGE_NOTE}`,
    positionals: [2, Infinity],
    options: [],
    examples: [[
      'c2c room send swarm-lounge "who takes issue 7?"',
      "post to the room",
    ]],
    session: "required",
  },
  {
    name: "room history",
    group: "Rooms",
    summary: "read a room's messages (newest last)",
    args: "<room>",
    description:
      "Without --offset: the newest N messages. With --offset K: N messages starting after the first K (paging forward).",
    positionals: [1, 1],
    options: [LIMIT("how many", 50), {
      name: "offset",
      type: "string",
      value: "K",
      description: "skip the first K messages of the whole history",
    }],
    examples: [["c2c room history swarm-lounge --limit 5", "the last 5 posts"]],
    session: "none",
  },
  {
    name: "room list",
    group: "Rooms",
    summary: "list every room with member and message counts",
    args: "",
    positionals: [0, 0],
    options: [],
    examples: [["c2c room list", "a table of rooms"]],
    session: "none",
  },
  {
    name: "room mine",
    group: "Rooms",
    summary: "list the rooms you are in",
    args: "",
    positionals: [0, 0],
    options: [],
    examples: [["c2c room mine", "your rooms and their member counts"]],
    session: "required",
  },
  {
    name: "my-rooms",
    group: "Rooms",
    aliasOf: "room mine",
    summary: "list the rooms you are in (same as room mine)",
    args: "",
    positionals: [0, 0],
    options: [],
    examples: [["c2c my-rooms", "your rooms and their member counts"]],
    session: "required",
  },
  {
    name: "room leave",
    group: "Rooms",
    summary: "leave a room",
    args: "<room>",
    positionals: [1, 1],
    options: [],
    examples: [["c2c room leave swarm-lounge", "stop receiving its messages"]],
    session: "required",
  },
  {
    name: "claim",
    group: "File claims",
    summary:
      "claim files you are about to edit: peers see it, git refuses their commits",
    args: "<path…>",
    description:
      "PATHs are files or globs relative to the repository root (not the current directory): lib/a.ts, lib/** (everything under lib), docs/*.md, src/ (a directory); an absolute path inside the repository works too. Grants what no other live session holds and prints the rest with their holder, reason and age, without waiting; each holder is told (an event=\"claim\" message, at most once a minute per path). Exits 1 when a path was not granted. A claim lasts while your session does (its MCP server or c2c run), until you release it, or until --ttl. A session registered from a shell holds no lease, so it must give --ttl. With 'c2c guard install', git refuses others' commits over your exclusive claims.",
    positionals: [1, Infinity],
    options: [
      {
        name: "reason",
        type: "string",
        value: "TEXT",
        description:
          "why (required): peers see it, and the commit guard shows it",
      },
      {
        name: "shared",
        type: "boolean",
        description:
          "a shared claim: coexists with other shared claims, not with exclusive ones",
      },
      {
        name: "ttl",
        type: "string",
        value: "DURATION",
        description:
          "end the claim after DURATION: 90s, 30m, 2h (default: with your session)",
      },
    ],
    examples: [
      [
        'c2c claim lib/broker.ts lib/store/ --reason "splitting the store"',
        "claim a file and a directory",
      ],
      [
        'c2c claim "docs/*.md" --shared --reason "fixing links"',
        "a shared claim (quote globs from the shell)",
      ],
    ],
    session: "required",
  },
  {
    name: "release",
    group: "File claims",
    summary: "release your claims: the paths given, or all of them",
    args: "[path…]",
    description:
      "Each PATH as you claimed it (lib/ and lib/** are the same claim). Without PATHs, releases every claim of your session.",
    positionals: [0, Infinity],
    options: [],
    examples: [
      ["c2c release lib/broker.ts", "release one claim"],
      ["c2c release", "release all of yours"],
    ],
    session: "required",
  },
  {
    name: "claims",
    group: "File claims",
    summary: "list live claims: all, or those overlapping a path",
    args: "[path]",
    description:
      "One row per claim: path, holder, exclusive or shared, since when, when it expires (if it has a TTL), and the reason. Claims of sessions that ended are not shown: they ended with them.",
    positionals: [0, 1],
    options: [],
    examples: [
      ["c2c claims", "every live claim"],
      ["c2c claims lib/a.ts --json", "who holds what covers lib/a.ts"],
    ],
    session: "none",
  },
  {
    name: "guard",
    group: "File claims",
    choices: ["install", "uninstall", "check"],
    summary: "git pre-commit hook: refuse commits over files others claimed",
    args: "<install|uninstall|check> [file…]",
    description:
      "install puts a pre-commit hook into the repository's hooks directory (core.hooksPath respected). It refuses a commit that touches a file another live session claimed exclusively, naming the holder and its reason; commit anyway with C2C_GUARD=warn git commit … (report, commit) or git commit --no-verify. C2C_GUARD=off skips the check. An existing pre-commit hook is kept: renamed to pre-commit.c2c-chained, it runs after the check. uninstall takes the guard out and puts back what was there. check runs the hook's test on the FILEs given (or, with --stdin, on NUL-separated names: git diff --cached --name-only -z) and exits 1 when one is claimed. When no exclusive claim exists the hook starts no Deno process. With the NATS store (C2C_BROKER_URL) the committing shell needs C2C_BROKER_URL too; the claims of every machine count, as this machine's c2c servers follow them. The guard knows your own session from C2C_SESSION_ID, your client's session id or C2C_ALIAS: your own claims never stop you.",
    positionals: [1, Infinity],
    options: [
      {
        name: "stdin",
        type: "boolean",
        description: "check: read the files from standard input, NUL-separated",
      },
      {
        name: "warn",
        type: "boolean",
        description:
          "check: report claimed files but exit 0 (what C2C_GUARD=warn does)",
      },
    ],
    examples: [
      ["c2c guard install", "guard this repository's commits"],
      ["c2c guard check lib/a.ts", "would a commit of lib/a.ts be refused?"],
      ["c2c guard uninstall", "take the hook out, put back the old one"],
    ],
    session: "optional",
  },
  {
    name: "health",
    group: "Diagnose and repair",
    summary:
      "diagnose the broker, your session and the clients setup configured",
    args: "",
    description:
      "Checks the broker root, registry, rooms and dead letters; your session's registration, wake path, inbox and archive; and each client 'c2c setup' configured in your user configs: its server entry and hooks are there, its idle wake hook or plugin too (unless set up with --no-wake), and every program and file they run still exists. Exits 1 when a check fails; every problem comes with its fix. The session is optional: without one, its checks are skipped. Reads (never writes) outside the broker root to check what client configs run.",
    positionals: [0, 0],
    options: [],
    examples: [["c2c health", "one line per check"], [
      "c2c health --json",
      "the report as JSON",
    ]],
    session: "optional",
  },
  {
    name: "verify",
    group: "Diagnose and repair",
    summary:
      "count messages each participant sent and received (--goal N: check)",
    args: "",
    description:
      'Counts direct messages from the broker archives and, with --transcripts, the <c2c event="message" envelopes (also HTML-escaped, and inside JSON strings) in every file under DIR. An envelope counts only when its id, sender and recipient are those of a message this broker carried (archived, pending or dead-lettered): a message body that quotes or forges an envelope never counts. A message counts once however many places show it. With --goal N, exits 1 unless every participant sent and received N.',
    positionals: [0, 0],
    options: [
      {
        name: "transcripts",
        type: "string",
        value: "DIR",
        description:
          "also count envelopes in client transcript files under DIR",
      },
      {
        name: "goal",
        type: "string",
        value: "N",
        integer: { min: 0 },
        description:
          "messages each must send and receive; exit 1 if anyone is short (default: no goal)",
      },
    ],
    examples: [
      ["c2c verify", "who sent and received how many messages"],
      [
        "c2c verify --transcripts ~/.claude/projects --goal 5",
        "include transcripts",
      ],
    ],
    session: "none",
  },
  {
    name: "tail-log",
    group: "Diagnose and repair",
    summary: "show the last broker operations (never message content)",
    args: "",
    positionals: [0, 0],
    options: [LIMIT("how many, at most 500", 50)],
    examples: [["c2c tail-log --limit 20", "the last 20 operations"]],
    session: "none",
  },
  {
    name: "repair",
    group: "Diagnose and repair",
    summary: "move unreadable broker files aside, keeping every readable line",
    args: "",
    description:
      "The broker never treats a file it cannot parse as empty. repair renames each such file to <file>.corrupt-<time> (nothing is deleted) and, for JSON Lines files (inboxes, dead letters, room history), carries every valid line over into a fresh file. A bad registry.json or members.json is moved aside whole: sessions register again (servers with an auto-register alias do so on their next tool call).",
    positionals: [0, 0],
    options: [{
      name: "dry-run",
      type: "boolean",
      description: "report what would be repaired, change nothing",
    }],
    examples: [["c2c repair --dry-run", "list the files that do not parse"]],
    session: "none",
  },
  {
    name: "sweep",
    group: "Diagnose and repair",
    summary: "remove dead registrations, rescuing their messages",
    args: "",
    description:
      "Pending messages of removed sessions (and of inboxes nobody is registered for) go to dead-letter.jsonl and come back when the session or alias registers again. Same as one round of broker-gc without the TTL expiries.",
    positionals: [0, 0],
    options: [],
    examples: [["c2c sweep", "one sweep now"]],
    session: "none",
  },
  {
    name: "broker-gc",
    group: "Diagnose and repair",
    summary:
      "sweep on an interval; expire lease-less registrations and old dead letters",
    args: "",
    description:
      "Runs until SIGINT or SIGTERM (or once with --once), printing what each round removed. Durations: 90, 90s, 30m, 24h, 7d (a bare number is seconds).",
    positionals: [0, 0],
    options: [
      { name: "once", type: "boolean", description: "run one round and exit" },
      {
        name: "interval",
        type: "string",
        value: "SECONDS",
        description: "time between rounds (default 60)",
      },
      {
        name: "dry-run",
        type: "boolean",
        description: "report what would be removed; change nothing",
      },
      {
        name: "ttl",
        type: "string",
        value: "DURATION",
        description:
          "expire lease-less (shell) registrations idle this long (default 24h)",
      },
      {
        name: "dead-letter-ttl",
        type: "string",
        value: "DURATION",
        description: "delete dead letters older than this (default 7d)",
      },
    ],
    examples: [
      ["c2c broker-gc --once --dry-run", "show what one round would remove"],
      ["c2c broker-gc --interval 300", "collect every 5 minutes until Ctrl-C"],
    ],
    session: "none",
  },
  {
    name: "refresh-peer",
    group: "Diagnose and repair",
    summary: "point a registration at a new live pid (operator escape hatch)",
    args: "<alias>",
    description: "Refuses a pid that is not running (checked with ps -p).",
    positionals: [1, 1],
    options: [{
      name: "pid",
      type: "string",
      value: "N",
      integer: { min: 1 },
      description: "the new pid (required)",
    }],
    examples: [[
      "c2c refresh-peer tide-runner --pid 4242",
      "record pid 4242 for tide-runner",
    ]],
    session: "none",
  },
  {
    name: "restart-me",
    group: "More",
    summary: "restart the client this harness runs, same arguments and alias",
    args: "",
    description:
      "Inside `c2c run`, makes the harness restart the client with the same arguments: a new session under the same alias, with pending messages kept. Outside one, prints what to do and exits 1.",
    positionals: [0, 0],
    options: [],
    examples: [["c2c restart-me", "pick up changed client config"]],
    session: "none",
  },
  {
    name: "wake",
    group: "More",
    summary: "wake an agent running in a tmux pane when its messages wait",
    args: "--tmux-pane %N --alias A",
    description:
      "For agents started without `c2c run`: watches A's inbox and types the client's poll line into the tmux pane (tmux send-keys) once per burst, never the body. Runs until Ctrl-C or the pane closes.",
    positionals: [0, 0],
    options: [
      {
        name: "tmux-pane",
        type: "string",
        value: "%N",
        description:
          "the pane the agent runs in (from `tmux display -p '#{pane_id}'`)",
      },
      {
        name: "alias",
        type: "string",
        value: "A",
        description: "the agent's alias",
      },
      {
        name: "client",
        type: "string",
        value: "NAME",
        description:
          "the client in the pane (picks the poll line; default generic)",
      },
    ],
    examples: [[
      "c2c wake --tmux-pane %3 --alias codex-review",
      "wake the Codex in pane %3",
    ]],
    session: "none",
  },
  {
    name: "version",
    group: "More",
    summary: "print c2c's version (same as --version, -V)",
    args: "",
    positionals: [0, 0],
    options: [],
    examples: [["c2c version", "e.g. c2c 0.1.0"]],
    session: "none",
  },
  {
    name: "hook",
    group: "More",
    internal: true,
    summary: "hand waiting messages to a client's hook (clients run this)",
    args: "<client>",
    description:
      "Run by the hooks setup installs (claude-code, codex, gemini), with the hook's JSON on standard input. Drains the session's inbox and prints the hook answer the client shows to its model: additionalContext after a tool call, a one-time block at the end of a turn. Prints nothing when no message waits. bin/c2c-hook checks the inbox first, so an empty inbox never starts Deno. With --rewake (Claude Code's asyncRewake hooks, from `c2c setup claude-code --rewake`): wait until messages arrive, write them to stderr and exit 2, which wakes the idle session; exit 0 at once when another waiter is armed for the session, and when the session ends or after 30 minutes.",
    positionals: [1, 1],
    options: [
      {
        name: "rewake",
        type: "boolean",
        description:
          "wait for messages as Claude Code's asyncRewake waiter (one per session); exit 2 with them on stderr",
      },
    ],
    examples: [
      [
        "c2c hook claude-code < hook-input.json",
        "print the hook answer with the waiting envelopes",
      ],
      [
        "c2c hook claude-code --rewake --session-id S",
        "wait, then wake the idle session S with its messages",
      ],
    ],
    session: "optional",
  },
  {
    name: "mcp",
    group: "More",
    internal: true,
    summary: "run the MCP server on stdio (what client configs start)",
    args: "",
    positionals: [0, 0],
    options: [],
    examples: [["c2c mcp", "serve the c2c tools over stdio"]],
    session: "none",
  },
];

/** Subcommands of `room` (without the compatibility names). */
export const ROOM_SUBCOMMANDS: readonly string[] = COMMANDS
  .filter((c) => c.name.startsWith("room ") && !c.aliasOf)
  .map((c) => c.name.slice(5));

/**
 * The commands a user types: no compatibility names, no internal ones.
 *
 * @returns Them, in help order.
 */
export function userCommands(): CommandSpec[] {
  return COMMANDS.filter((c) => !c.aliasOf && !c.internal);
}

/**
 * Finds a command by its full name.
 *
 * @param name E.g. `send`, `room send`.
 * @returns The spec, or `undefined`.
 */
export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/**
 * All options a command accepts: its own, the session ones if it acts as a
 * session, and the common ones.
 *
 * @param spec The command.
 * @returns Its options.
 */
export function optionsOf(spec: CommandSpec): OptionSpec[] {
  // A pass-through command hands every other option to its program.
  if (spec.passThrough) {
    return [
      ...spec.options,
      ...COMMON_OPTIONS.filter((o) => o.name === "help"),
    ];
  }
  const own = new Set(spec.options.map((o) => o.name));
  const session = spec.session === "none"
    ? []
    : SESSION_OPTIONS.filter((o) => !own.has(o.name));
  return [...spec.options, ...session, ...COMMON_OPTIONS];
}
