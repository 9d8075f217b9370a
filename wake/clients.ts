/**
 * How to wake each client: the program `c2c run <client>` starts, the short
 * "poll now" line typed into its prompt, how to type it, and how to tell from
 * the environment that a process runs inside that client.
 *
 * The poll line names the tool as the client's model sees it (Claude Code
 * prefixes MCP tools `mcp__c2c__`, OpenCode `c2c_`, Gemini `mcp_c2c_`; Codex
 * shows them in an `mcp__c2c` namespace). It never carries a message body:
 * the body stays in the broker until the agent calls `poll_inbox`.
 *
 * Typing: TUIs built on Ink (Claude Code, Gemini) or with paste detection
 * (Codex) take a burst of characters followed at once by `\r` for a paste and
 * insert a newline instead of submitting. So the text goes first, as a
 * bracketed paste where the client enables bracketed paste mode, and `\r`
 * follows after a pause. `\r`, not `\n`: a terminal's Enter key sends `\r`.
 * Seen working here (2026-11-21) with Claude Code 2.1.330, Codex 0.169.0,
 * OpenCode 1.18.33 and Gemini CLI 0.61.0 under `c2c run` against a fake
 * model: the line started a turn in each (0.3–0.7 s from `send`). Kimi and
 * Crush cannot be installed here; their entries are unverified defaults.
 *
 * Pure: no I/O.
 *
 * @module
 */

/** Client names `c2c run` accepts. */
export type ClientName =
  | "claude-code"
  | "codex"
  | "opencode"
  | "gemini"
  | "kimi"
  | "crush"
  | "generic";

/** How one client is started and woken. */
export interface ClientProfile {
  /** c2c's name for the client. */
  name: ClientName;
  /** Program `c2c run` starts (looked up in `PATH`); empty for `generic`. */
  command: string;
  /** The poll_inbox tool as the client's model sees it. */
  tool: string;
  /** Send the poll line as a bracketed paste when the client enabled it. */
  bracketedPaste: boolean;
  /** Pause between the poll line and the `\r` that submits it (ms). */
  submitDelayMs: number;
  /** No poll line is typed earlier than this after the client starts (ms). */
  startupDelayMs: number;
  /**
   * Text the client shows once its prompt takes input (any one will do).
   * Some clients paint a first screen and then load for seconds, dropping
   * what is typed meanwhile; until one of these shows (or a cap passes), no
   * poll line is typed. Empty: the output going quiet is enough.
   */
  readyText: readonly string[];
  /** Variables whose presence means "running inside this client". */
  detectEnv: readonly string[];
}

/** Every client profile, in the order detection tries them. */
export const CLIENTS: Readonly<Record<ClientName, ClientProfile>> = {
  "claude-code": {
    name: "claude-code",
    command: "claude",
    tool: "mcp__c2c__poll_inbox",
    bracketedPaste: true,
    submitDelayMs: 200,
    startupDelayMs: 2000,
    readyText: ["for shortcuts", "shift+tab to cycle"],
    detectEnv: ["CLAUDECODE", "CLAUDE_CODE_SESSION_ID"],
  },
  codex: {
    name: "codex",
    command: "codex",
    tool: "the c2c poll_inbox tool",
    bracketedPaste: true,
    submitDelayMs: 200,
    startupDelayMs: 2000,
    readyText: ["for shortcuts", "Ask Codex"],
    detectEnv: ["CODEX_THREAD_ID", "CODEX_MANAGED_BY_NPM", "CODEX_SANDBOX"],
  },
  opencode: {
    name: "opencode",
    command: "opencode",
    tool: "c2c_poll_inbox",
    bracketedPaste: true,
    submitDelayMs: 150,
    startupDelayMs: 3000,
    readyText: ["ctrl+p commands"],
    detectEnv: ["OPENCODE", "OPENCODE_PID"],
  },
  gemini: {
    name: "gemini",
    command: "gemini",
    tool: "mcp_c2c_poll_inbox",
    bracketedPaste: true,
    submitDelayMs: 200,
    startupDelayMs: 3000,
    readyText: ["for shortcuts", "Type your message"],
    detectEnv: ["GEMINI_CLI", "GEMINI_SESSION_ID"],
  },
  kimi: {
    name: "kimi",
    command: "kimi",
    tool: "the c2c poll_inbox tool",
    bracketedPaste: true,
    submitDelayMs: 100,
    startupDelayMs: 2000,
    readyText: [],
    // Kimi and Crush export no variable known to mark their tools' shells;
    // inside `c2c run`, C2C_HARNESS_CLIENT names them anyway.
    detectEnv: [],
  },
  crush: {
    name: "crush",
    command: "crush",
    tool: "the c2c poll_inbox tool",
    bracketedPaste: true,
    submitDelayMs: 100,
    startupDelayMs: 1500,
    readyText: [],
    detectEnv: [],
  },
  generic: {
    name: "generic",
    command: "",
    tool: "the c2c poll_inbox tool",
    bracketedPaste: false,
    submitDelayMs: 0,
    startupDelayMs: 0,
    readyText: [],
    detectEnv: [],
  },
};

/** Other names people use for the clients. */
const ALIASES: Readonly<Record<string, ClientName>> = {
  claude: "claude-code",
  claudecode: "claude-code",
  "gemini-cli": "gemini",
  "kimi-code": "kimi",
  "kimi-cli": "kimi",
};

/**
 * Finds a client profile by name (`claude` and `gemini-cli` are accepted too).
 *
 * @param name Client name.
 * @returns Its profile, or `undefined` for an unknown name.
 *
 * @example Usage
 * ```ts
 * import { clientProfile } from "./clients.ts";
 * clientProfile("claude")?.command; // "claude"
 * ```
 */
export function clientProfile(name: string): ClientProfile | undefined {
  const key = name.toLowerCase();
  const canonical = key in CLIENTS ? key as ClientName : ALIASES[key];
  return canonical ? CLIENTS[canonical] : undefined;
}

/**
 * The line typed into a client to make its agent poll: short, with the
 * number of waiting messages and the tool to call, never a body.
 *
 * @param profile The client.
 * @param count Messages waiting (at least 1).
 * @returns The line, without the submitting `\r`.
 *
 * @example Usage
 * ```ts
 * import { CLIENTS, pollLine } from "./clients.ts";
 * pollLine(CLIENTS["claude-code"], 2);
 * // "c2c: 2 new messages - call mcp__c2c__poll_inbox"
 * ```
 */
export function pollLine(profile: ClientProfile, count: number): string {
  const n = Math.max(1, count);
  return `c2c: ${n} new message${n === 1 ? "" : "s"} - call ${profile.tool}`;
}

/**
 * Tells which client the calling process runs inside, from the variables
 * each client exports to its tools and shells. `C2C_HARNESS_CLIENT` (set by
 * `c2c run`) wins.
 *
 * @param env Environment reader.
 * @returns The client's profile, or `null` when none is recognised.
 *
 * @example Usage
 * ```ts
 * import { detectClient } from "./clients.ts";
 * detectClient((n) => n === "CLAUDECODE" ? "1" : undefined)?.name; // "claude-code"
 * ```
 */
export function detectClient(
  env: (name: string) => string | undefined,
): ClientProfile | null {
  const named = env("C2C_HARNESS_CLIENT");
  if (named) {
    const profile = clientProfile(named);
    if (profile) return profile;
  }
  for (const profile of Object.values(CLIENTS)) {
    if (profile.detectEnv.some((name) => env(name))) return profile;
  }
  return null;
}

/** Every variable {@linkcode detectClient} may read. */
export const DETECT_ENV: readonly string[] = [
  "C2C_HARNESS_CLIENT",
  ...Object.values(CLIENTS).flatMap((p) => p.detectEnv),
];
