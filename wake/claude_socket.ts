/**
 * Claude Code's messaging socket, as a wake path (Claude Code ≥ 2.1.224).
 * Each session listens on a Unix socket (mode 0600) and exports its path to
 * its MCP servers as `CLAUDE_CODE_MESSAGING_SOCKET` (with
 * `CLAUDE_CODE_MESSAGING_TOKEN`). One JSON line
 * `{"type":"user","message":{"role":"user","content":…},"msg_id":…}` makes an
 * idle session start a turn with it; a busy one gets it after its turn. The
 * socket does not answer.
 *
 * Never `"priority":"now"`: that aborts the request in flight. The text is
 * wrapped in `<cross-session-message from="c2c:<sender>" …>`, which the TUI
 * shows as "Message from @<sender>-c2c".
 *
 * Whether the session is idle: `status` in `<config dir>/sessions/<pid>.json`
 * (`idle`, `busy`, `waiting`), where `<pid>` is Claude Code's (the socket is
 * `<pid>.sock`).
 *
 * Requires `--allow-read` and `--allow-write` on the socket, `--allow-read`
 * on the status file.
 *
 * @module
 */

import { basename, join } from "node:path";
import { renderEnvelope } from "../lib/envelope.ts";
import type { Message } from "../lib/message.ts";
import { WakeError } from "./wake_error.ts";

const encoder = new TextEncoder();

/**
 * Claude Code's pid, from its messaging socket's name (`<pid>.sock`).
 *
 * @param socket `CLAUDE_CODE_MESSAGING_SOCKET`.
 * @returns The pid, or `null` when the name is not `<pid>.sock`.
 */
export function claudePidOfSocket(socket: string): number | null {
  const match = /^(\d+)\.sock$/.exec(basename(socket));
  return match ? Number(match[1]) : null;
}

/**
 * The session status file of a Claude Code process.
 *
 * @param configDir `CLAUDE_CONFIG_DIR`, else `~/.claude`.
 * @param pid Claude Code's pid.
 * @returns `<configDir>/sessions/<pid>.json`.
 */
export function claudeStatusFile(configDir: string, pid: number): string {
  return join(configDir, "sessions", `${pid}.json`);
}

/** Whether a Claude Code session can take a wake now. */
export type ClaudeState = "idle" | "busy" | "unknown";

/**
 * Reads a session's state from its status file: `idle` only when Claude Code
 * says so; `busy` while a turn runs or a dialog waits (`waiting`); `unknown`
 * when the file cannot be read.
 *
 * Requires `--allow-read` on the file.
 *
 * @param statusFile The status file.
 * @returns The state.
 */
export function readClaudeState(statusFile: string): ClaudeState {
  try {
    const status = JSON.parse(Deno.readTextFileSync(statusFile))?.status;
    if (status === "idle") return "idle";
    return typeof status === "string" ? "busy" : "unknown";
  } catch {
    return "unknown";
  }
}

/** Keeps a body from closing the wrapper or opening another. */
function escapeWrapper(text: string): string {
  return text.replace(/<(\/?)(cross-session-message)/gi, "&lt;$1$2");
}

/**
 * The text a Claude Code session is woken with: the envelopes, grouped by
 * sender (in order of first appearance), each group in a
 * `<cross-session-message from="c2c:<sender>" from-name="<sender> (c2c)">`
 * wrapper; the first group opens with one line saying what they are.
 *
 * @param messages The drained messages, oldest first.
 * @returns The content of the wake line.
 *
 * @example Usage
 * ```ts
 * import { claudeWakeText } from "./claude_socket.ts";
 * claudeWakeText([{ id: "1", ts: "t", from_alias: "alice", to_alias: "bob", content: "hi" }]);
 * // <cross-session-message from="c2c:alice" from-name="alice (c2c)">
 * // c2c: 1 new message from other agents (already taken from your inbox; answer with the c2c send tool).
 * // <c2c event="message" from="alice" alias="bob" id="1" ts="t">hi</c2c>
 * // </cross-session-message>
 * ```
 */
export function claudeWakeText(messages: readonly Message[]): string {
  const groups = new Map<string, string[]>();
  for (const message of messages) {
    const list = groups.get(message.from_alias) ?? [];
    list.push(escapeWrapper(renderEnvelope(message)));
    groups.set(message.from_alias, list);
  }
  const noun = messages.length === 1 ? "message" : "messages";
  let first = true;
  return [...groups].map(([sender, envelopes]) => {
    const head = first
      ? `c2c: ${messages.length} new ${noun} from other agents (already taken from your inbox; answer with the c2c send tool).\n`
      : "";
    first = false;
    // Aliases are [a-z0-9._-]: safe inside the attribute as they are.
    return `<cross-session-message from="c2c:${sender}" from-name="${sender} (c2c)">\n${head}${
      envelopes.join("\n")
    }\n</cross-session-message>`;
  }).join("\n");
}

/** Options of {@linkcode ClaudeSocket.connect}. */
export interface ClaudeSocketOptions {
  /** `CLAUDE_CODE_MESSAGING_TOKEN`, sent first when set. */
  token?: string;
  /** Give up writing after this long (default 2 s). */
  timeoutMs?: number;
}

/**
 * A connection to a session's messaging socket, opened (and authenticated)
 * before the messages are drained, so a dead socket leaves them in the inbox.
 *
 * @example Usage
 * ```ts ignore
 * import { ClaudeSocket, claudeWakeText } from "./claude_socket.ts";
 * using socket = await ClaudeSocket.connect(Deno.env.get("CLAUDE_CODE_MESSAGING_SOCKET")!);
 * await socket.send(claudeWakeText(messages));
 * ```
 */
export class ClaudeSocket implements Disposable {
  readonly #conn: Deno.UnixConn;
  readonly #path: string;
  readonly #timeoutMs: number;

  private constructor(conn: Deno.UnixConn, path: string, timeoutMs: number) {
    this.#conn = conn;
    this.#path = path;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Connects, and sends the auth line when there is a token.
   *
   * Requires `--allow-read` and `--allow-write` on `path`.
   *
   * @param path `CLAUDE_CODE_MESSAGING_SOCKET`.
   * @param options Token and timeout.
   * @returns The connection.
   * @throws {WakeError} When the socket is missing or refuses.
   */
  static async connect(
    path: string,
    options: ClaudeSocketOptions = {},
  ): Promise<ClaudeSocket> {
    let conn: Deno.UnixConn;
    try {
      conn = await Deno.connect({ transport: "unix", path });
    } catch (e) {
      throw new WakeError(
        `cannot connect to Claude Code's messaging socket ${path}: ${
          (e as Error).message
        } (has the session ended?)`,
      );
    }
    const socket = new ClaudeSocket(conn, path, options.timeoutMs ?? 2_000);
    if (options.token) {
      try {
        await socket.#line({ type: "auth", token: options.token });
      } catch (e) {
        socket.close();
        throw e;
      }
    }
    return socket;
  }

  /**
   * Sends one user message (never with `priority`).
   *
   * @param content Non-empty text.
   */
  async send(content: string): Promise<void> {
    await this.#line({
      type: "user",
      message: { role: "user", content },
      msg_id: crypto.randomUUID(),
    });
  }

  async #line(value: unknown): Promise<void> {
    const bytes = encoder.encode(JSON.stringify(value) + "\n");
    const timer = setTimeout(() => this.close(), this.#timeoutMs);
    try {
      for (let at = 0; at < bytes.length;) {
        at += await this.#conn.write(bytes.subarray(at));
      }
    } catch (e) {
      throw new WakeError(
        `writing to Claude Code's messaging socket ${this.#path} failed: ${
          (e as Error).message
        }`,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the connection. */
  close(): void {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  /** Closes at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.close();
  }
}
