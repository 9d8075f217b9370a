/**
 * The two wake paths an MCP server drives itself ({@linkcode NativeWaker}):
 * Claude Code's messaging socket and Codex's app-server daemon. OpenCode is
 * woken by c2c's plugin inside OpenCode, Gemini CLI by its AfterAgent hook,
 * so their servers only record the path.
 *
 * @module
 */

import { renderEnvelopes } from "../lib/envelope.ts";
import { deliveryText } from "../lib/hook.ts";
import type { Message } from "../lib/message.ts";
import {
  ClaudeSocket,
  claudeWakeText,
  readClaudeState,
} from "../wake/claude_socket.ts";
import { CodexDaemon, projectThread } from "../wake/codex_daemon.ts";
import { WakeError } from "../wake/wake_error.ts";
import type { TargetState, WakeDelivery, WakeTarget } from "./native_wake.ts";

/** Where a Claude Code session listens. */
export interface ClaudeTargetOptions {
  /** `CLAUDE_CODE_MESSAGING_SOCKET`. */
  socket: string;
  /** `CLAUDE_CODE_MESSAGING_TOKEN`. */
  token?: string;
  /** The session's status file (`sessions/<pid>.json`), when known. */
  statusFile?: string;
}

/**
 * Claude Code's messaging socket as a {@linkcode WakeTarget}.
 *
 * Requires `--allow-read` and `--allow-write` on the socket, `--allow-read`
 * on the status file.
 *
 * @param options Socket, token and status file.
 * @returns The target.
 */
export function claudeTarget(options: ClaudeTargetOptions): WakeTarget {
  return {
    name: "claude-socket",
    state: () =>
      Promise.resolve<TargetState>(
        options.statusFile ? readClaudeState(options.statusFile) : "unknown",
      ),
    async open(): Promise<WakeDelivery> {
      const socket = await ClaudeSocket.connect(options.socket, {
        token: options.token,
      });
      return {
        deliver: (messages: readonly Message[]) =>
          socket.send(claudeWakeText(messages)),
        [Symbol.dispose]: () => socket.close(),
      };
    },
  };
}

/** Where a Codex session's thread lives. */
export interface CodexTargetOptions {
  /** The daemon's control socket. */
  socket: string;
  /** The thread id, once known (tool-call `_meta`, SessionStart hook). */
  threadId(): Promise<string | undefined>;
  /** The project directory, to find the thread before it is known. */
  project: string | null;
  /** Called with a thread id found in the daemon (to record it). */
  onThread?(threadId: string): void;
}

/**
 * Codex's app-server daemon as a {@linkcode WakeTarget}: the message is
 * queued on the session's thread with `thread/queue/add`.
 *
 * Requires `--allow-read` and `--allow-write` on the daemon's socket.
 *
 * @param options Socket, thread and project.
 * @returns The target.
 */
export function codexTarget(options: CodexTargetOptions): WakeTarget {
  let found: string | undefined;
  const thread = async () => (await options.threadId()) ?? found;
  return {
    name: "codex-daemon",
    async state(): Promise<TargetState> {
      let daemon: CodexDaemon;
      try {
        daemon = await CodexDaemon.connect(options.socket);
      } catch {
        // No daemon (Codex not running interactively, or an in-process
        // TUI): the hooks deliver; a later file event brings us back.
        return "unavailable";
      }
      try {
        let id = await thread();
        if (!id && options.project) {
          id = projectThread(await daemon.loadedThreads(), options.project) ??
            undefined;
          if (id) {
            found = id;
            options.onThread?.(id);
          }
        }
        if (!id) return "unavailable";
        const state = await daemon.threadState(id);
        return state === "not_loaded" ? "unavailable" : state;
      } catch {
        return "unavailable";
      } finally {
        daemon.close();
      }
    },
    async open(): Promise<WakeDelivery> {
      const id = await thread();
      if (!id) throw new WakeError("no Codex thread id known yet");
      const daemon = await CodexDaemon.connect(options.socket);
      return {
        async deliver(messages: readonly Message[]) {
          await daemon.queueMessage(
            id,
            deliveryText(renderEnvelopes(messages), messages.length),
          );
        },
        [Symbol.dispose]: () => daemon.close(),
      };
    },
  };
}
