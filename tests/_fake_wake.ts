// Test stand-ins for the native wake endpoints: Claude Code's messaging
// socket (lines in, nothing out) and Codex's app-server daemon (JSON-RPC over
// a WebSocket over a Unix socket). Small on purpose: they check what c2c
// sends (masked frames, the initialize capability, the queue call) and
// answer the way the real ones were seen to.

import {
  acceptKey,
  decodeFrame,
  encodeFrame,
  OPCODE,
} from "../wake/ws_unix.ts";
import { serverLaunch } from "../setup/launch.ts";
import { DENO, REPO } from "./_helpers.ts";
import { baseEnv } from "./_cli.ts";
import { connect, type Connection } from "./_mcp.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A fake Claude Code messaging socket: records each connection's lines. */
export class FakeClaudeSocket implements AsyncDisposable {
  readonly path: string;
  /** One array of parsed lines per connection, in arrival order. */
  readonly connections: unknown[][] = [];
  readonly #listener: Deno.UnixListener;
  readonly #done: Promise<void>;
  #waiters: (() => void)[] = [];

  constructor(path: string) {
    this.path = path;
    const listener = Deno.listen({ transport: "unix", path });
    this.#listener = listener;
    this.#done = (async () => {
      for await (const conn of listener) void this.#serve(conn);
    })().catch(() => {});
  }

  async #serve(conn: Deno.UnixConn): Promise<void> {
    const lines: unknown[] = [];
    this.connections.push(lines);
    let text = "";
    for await (const chunk of conn.readable) {
      text += decoder.decode(chunk, { stream: true });
      let at: number;
      while ((at = text.indexOf("\n")) !== -1) {
        lines.push(JSON.parse(text.slice(0, at)));
        text = text.slice(at + 1);
        this.#notify();
      }
    }
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** All `type: "user"` lines received so far. */
  get userLines(): { message: { content: string }; priority?: unknown }[] {
    return this.connections.flat().filter((l) =>
      (l as { type?: string }).type === "user"
    ) as { message: { content: string } }[];
  }

  /** Waits until `n` user lines arrived. */
  async waitForUserLines(n: number, timeout_ms = 5_000): Promise<void> {
    const deadline = Date.now() + timeout_ms;
    while (this.userLines.length < n) {
      if (Date.now() > deadline) {
        throw new Error(`only ${this.userLines.length} of ${n} wake lines`);
      }
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#listener.close();
    } catch { /* closed */ }
    await this.#done;
  }
}

/** One JSON-RPC request the fake daemon received. */
export interface DaemonCall {
  method: string;
  params: Record<string, unknown>;
}

/** Options of {@linkcode FakeCodexDaemon}. */
export interface FakeDaemonOptions {
  /** Loaded threads: id → cwd and status type (`idle`, `active`, …). */
  threads?: Record<string, { cwd: string; status: string }>;
  /** Refuse `initialize` unless it asks for the experimental API. */
  requireExperimental?: boolean;
}

/** A fake Codex app-server daemon on a Unix socket. */
export class FakeCodexDaemon implements AsyncDisposable {
  readonly path: string;
  /** Every request, across connections. */
  readonly calls: DaemonCall[] = [];
  /** Whether every frame from the client was masked. */
  allMasked = true;
  readonly threads: Record<string, { cwd: string; status: string }>;
  readonly #options: FakeDaemonOptions;
  readonly #listener: Deno.UnixListener;
  readonly #done: Promise<void>;

  constructor(path: string, options: FakeDaemonOptions = {}) {
    this.path = path;
    this.#options = options;
    this.threads = options.threads ?? {};
    const listener = Deno.listen({ transport: "unix", path });
    this.#listener = listener;
    this.#done = (async () => {
      for await (const conn of listener) {
        void this.#serve(conn).catch(() => {});
      }
    })().catch(() => {});
  }

  /** The `thread/queue/add` calls. */
  get queued(): DaemonCall[] {
    return this.calls.filter((c) => c.method === "thread/queue/add");
  }

  async #serve(conn: Deno.UnixConn): Promise<void> {
    let buffer: Uint8Array = new Uint8Array(0);
    const read = async () => {
      const chunk = new Uint8Array(65_536);
      const n = await conn.read(chunk);
      if (n === null) return false;
      const next = new Uint8Array(buffer.length + n);
      next.set(buffer);
      next.set(chunk.subarray(0, n), buffer.length);
      buffer = next;
      return true;
    };
    // Handshake.
    let head = "";
    while (!head.includes("\r\n\r\n")) {
      if (!(await read())) return;
      head = decoder.decode(buffer);
    }
    const end = head.indexOf("\r\n\r\n") + 4;
    buffer = buffer.slice(encoder.encode(head.slice(0, end)).length);
    const key = /^sec-websocket-key:\s*(\S+)/im.exec(head)?.[1] ?? "";
    await conn.write(encoder.encode(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" +
        `Connection: Upgrade\r\nSec-WebSocket-Accept: ${await acceptKey(
          key,
        )}\r\n\r\n`,
    ));
    const send = (value: unknown) =>
      conn.write(
        encodeFrame(OPCODE.text, encoder.encode(JSON.stringify(value)), null),
      );
    // The real daemon greets with notifications; the client must skip them.
    await send({ method: "remoteControl/status/changed", params: {} });
    while (true) {
      const decoded = decodeFrame(buffer);
      if (!decoded) {
        if (!(await read())) return;
        continue;
      }
      buffer = buffer.slice(decoded.size);
      const { frame } = decoded;
      if (!frame.masked) this.allMasked = false;
      if (frame.opcode !== OPCODE.text) continue;
      const message = JSON.parse(decoder.decode(frame.payload));
      if (message.id === undefined) continue; // a notification
      this.calls.push({ method: message.method, params: message.params });
      await send({ method: "configWarning", params: {} });
      await send({ id: message.id, ...this.#answer(message) });
    }
  }

  #answer(
    message: { method: string; params: Record<string, unknown> },
  ): Record<string, unknown> {
    const p = message.params ?? {};
    switch (message.method) {
      case "initialize": {
        const caps = p.capabilities as { experimentalApi?: boolean } | null;
        if (this.#options.requireExperimental && !caps?.experimentalApi) {
          return { error: { code: -32600, message: "experimental off" } };
        }
        return { result: { userAgent: "fake", codexHome: "/fake" } };
      }
      case "thread/loaded/list":
        return {
          result: { data: Object.keys(this.threads), nextCursor: null },
        };
      case "thread/read": {
        const thread = this.threads[p.threadId as string];
        if (!thread) {
          return { error: { code: -32600, message: "thread not found" } };
        }
        return {
          result: {
            thread: {
              id: p.threadId,
              cwd: thread.cwd,
              status: { type: thread.status },
            },
          },
        };
      }
      case "thread/queue/add":
        if (!this.threads[p.threadId as string]) {
          return { error: { code: -32600, message: "thread not found" } };
        }
        return { result: { queuedSubmission: { id: crypto.randomUUID() } } };
      default:
        return { error: { code: -32601, message: "unknown method" } };
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#listener.close();
    } catch { /* closed */ }
    await this.#done;
  }
}

/** A c2c server started as Claude Code starts it, with its messaging socket. */
export interface ClaudeSocketSession extends AsyncDisposable {
  /** The server, connected over stdio. */
  server: Connection;
  /** The fake messaging socket it wakes through. */
  socket: FakeClaudeSocket;
  /** Claude Code's session status file (`{"status": "busy"}` at first). */
  status: string;
}

/**
 * Starts the server `c2c setup claude-code --wake claude-socket` configures,
 * in `repoPath` (its broker the repository's), as alias `cc-me` of Claude
 * Code session `cc-session`, whose status file reads busy.
 */
export async function startClaudeSocketSession(
  repoPath: string,
): Promise<ClaudeSocketSession> {
  const home = `${repoPath}/home`;
  await Deno.mkdir(`${home}/.claude/sessions`, { recursive: true });
  const status = `${home}/.claude/sessions/4242.json`;
  await Deno.writeTextFile(status, JSON.stringify({ status: "busy" }));
  const socket = new FakeClaudeSocket(`${repoPath}/4242.sock`);
  const launch = serverLaunch({
    deno: DENO,
    repo: REPO,
    root: null,
    alias: "cc-me",
    client: "claude-code",
    denoDir: baseEnv().DENO_DIR,
    wake: "claude-socket",
  });
  const server = await connect("", {
    ...launch.env,
    C2C_MCP_BROKER_ROOT: "",
    HOME: home,
    CLAUDE_CODE_SESSION_ID: "cc-session",
    CLAUDE_CODE_MESSAGING_SOCKET: socket.path,
    CLAUDE_CODE_MESSAGING_TOKEN: "secret",
  }, { command: launch.command, args: launch.args, cwd: repoPath });
  return {
    server,
    socket,
    status,
    async [Symbol.asyncDispose]() {
      await server[Symbol.asyncDispose]();
      await socket[Symbol.asyncDispose]();
    },
  };
}
