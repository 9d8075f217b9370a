/**
 * Codex's app-server daemon, as a wake path: the interactive Codex TUI runs
 * its threads in a daemon that listens on `$CODEX_HOME/app-server-control/
 * app-server-control.sock` (JSON-RPC 2.0 over a WebSocket over that Unix
 * socket). `thread/queue/add` hands a thread a user message: an idle thread
 * starts a turn with it at once, a busy one after its current turn.
 *
 * Seen with Codex 0.169.0: `initialize` must declare
 * `capabilities.experimentalApi` for the queue methods to exist; a thread's
 * `thread/read` result carries `status.type` (`idle`, `active`, `notLoaded`,
 * `systemError`).
 *
 * Requires `--allow-read` and `--allow-write` on the socket path.
 *
 * @module
 */

import { join } from "node:path";
import { WakeError } from "./wake_error.ts";
import { UnixWebSocket } from "./ws_unix.ts";

/**
 * Where Codex's daemon listens, for a `CODEX_HOME`.
 *
 * @param codexHome `$CODEX_HOME` (default `~/.codex`).
 * @returns The control socket's path.
 */
export function codexControlSocket(codexHome: string): string {
  return join(codexHome, "app-server-control", "app-server-control.sock");
}

/** What a thread is doing, as far as waking it is concerned. */
export type CodexThreadState = "idle" | "busy" | "not_loaded";

/** A thread the daemon has loaded. */
export interface LoadedThread {
  /** The thread id (= the Codex session id hooks see). */
  id: string;
  /** Its working directory. */
  cwd: string | null;
  /** Its state. */
  state: CodexThreadState;
}

/** Options of {@linkcode CodexDaemon.connect}. */
export interface CodexDaemonOptions {
  /** Per-step timeout: connect, handshake, each answer (default 2 s). */
  timeoutMs?: number;
}

function stateOf(status: unknown): CodexThreadState {
  const type = (status as { type?: unknown } | null)?.type;
  if (type === "idle") return "idle";
  if (type === "notLoaded") return "not_loaded";
  return "busy"; // active, systemError, or a state this version does not know
}

/**
 * One JSON-RPC session with the daemon.
 *
 * @example Usage
 * ```ts ignore
 * import { CodexDaemon, codexControlSocket } from "./codex_daemon.ts";
 * using daemon = await CodexDaemon.connect(codexControlSocket("/home/me/.codex"));
 * if (await daemon.threadState(threadId) === "idle") {
 *   await daemon.queueMessage(threadId, "c2c: 1 new message …");
 * }
 * ```
 */
export class CodexDaemon implements Disposable {
  readonly #ws: UnixWebSocket;
  readonly #timeoutMs: number;
  #nextId = 1;

  private constructor(ws: UnixWebSocket, timeoutMs: number) {
    this.#ws = ws;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Connects and initializes with `experimentalApi` (the queue methods are
   * experimental).
   *
   * Requires `--allow-read` and `--allow-write` on `socket`.
   *
   * @param socket The control socket.
   * @param options Timeout.
   * @returns The initialized session.
   * @throws {WakeError} When the daemon is not running or refuses.
   */
  static async connect(
    socket: string,
    options: CodexDaemonOptions = {},
  ): Promise<CodexDaemon> {
    const timeoutMs = options.timeoutMs ?? 2_000;
    const ws = await UnixWebSocket.connect(socket, { timeoutMs });
    const daemon = new CodexDaemon(ws, timeoutMs);
    try {
      await daemon.call("initialize", {
        clientInfo: { name: "c2c", title: "c2c", version: "0.1.0" },
        capabilities: { experimentalApi: true, requestAttestation: false },
      });
      await ws.send(JSON.stringify({ jsonrpc: "2.0", method: "initialized" }));
    } catch (e) {
      ws.close();
      throw e;
    }
    return daemon;
  }

  /**
   * Calls a method and waits for its answer, skipping the notifications the
   * daemon sends meanwhile.
   *
   * @param method JSON-RPC method.
   * @param params Its parameters.
   * @returns The `result`.
   * @throws {WakeError} On a JSON-RPC error or no answer in time.
   */
  async call(method: string, params: unknown): Promise<unknown> {
    const id = this.#nextId++;
    await this.#ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    const deadline = Date.now() + this.#timeoutMs;
    while (true) {
      const text = await this.#ws.receive(Math.max(1, deadline - Date.now()));
      let message: { id?: unknown; result?: unknown; error?: unknown };
      try {
        message = JSON.parse(text);
      } catch {
        continue; // not JSON-RPC: ignore it
      }
      if (message.id !== id) continue; // a notification or a server request
      if (message.error !== undefined) {
        const error = message.error as { message?: unknown };
        throw new WakeError(
          `Codex daemon refused ${method}: ${
            typeof error?.message === "string"
              ? error.message
              : JSON.stringify(message.error)
          }`,
        );
      }
      return message.result;
    }
  }

  /**
   * Reads a thread's state.
   *
   * @param threadId The thread.
   * @returns `idle`, `busy` or `not_loaded`.
   */
  async threadState(threadId: string): Promise<CodexThreadState> {
    const result = await this.call("thread/read", { threadId }) as {
      thread?: { status?: unknown };
    };
    return stateOf(result?.thread?.status);
  }

  /**
   * The threads the daemon has loaded, with their working directories.
   *
   * @returns One entry per loaded thread.
   */
  async loadedThreads(): Promise<LoadedThread[]> {
    const list = await this.call("thread/loaded/list", {}) as {
      data?: unknown;
    };
    const ids = Array.isArray(list?.data)
      ? list.data.filter((x): x is string => typeof x === "string")
      : [];
    const threads: LoadedThread[] = [];
    for (const id of ids) {
      const read = await this.call("thread/read", { threadId: id }) as {
        thread?: { cwd?: unknown; status?: unknown };
      };
      const cwd = read?.thread?.cwd;
      threads.push({
        id,
        cwd: typeof cwd === "string" ? cwd : null,
        state: stateOf(read?.thread?.status),
      });
    }
    return threads;
  }

  /**
   * Queues a user message on a thread.
   *
   * @param threadId The thread.
   * @param text The message.
   * @returns The queued submission's id.
   */
  async queueMessage(threadId: string, text: string): Promise<string> {
    const result = await this.call("thread/queue/add", {
      threadId,
      clientUserMessageId: `c2c-${crypto.randomUUID()}`,
      input: [{ type: "text", text, text_elements: [] }],
    }) as { queuedSubmission?: { id?: unknown } };
    const id = result?.queuedSubmission?.id;
    return typeof id === "string" ? id : "";
  }

  /** Closes the connection. */
  close(): void {
    this.#ws.close();
  }

  /** Closes at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Picks the thread of a project among the daemon's loaded threads, for a
 * session that has not told its thread id yet (no tool call, no turn): the
 * one loaded thread whose working directory is inside `project`. Several
 * (or none) → `null`: waking a guess could wake the wrong conversation.
 *
 * @param threads The daemon's loaded threads.
 * @param project The project directory.
 * @returns The thread id, or `null`.
 */
export function projectThread(
  threads: readonly LoadedThread[],
  project: string,
): string | null {
  const inside = threads.filter((t) =>
    t.cwd !== null && (t.cwd === project || t.cwd.startsWith(`${project}/`))
  );
  return inside.length === 1 ? inside[0].id : null;
}
