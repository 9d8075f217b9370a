/**
 * A minimal WebSocket client (RFC 6455) over a Unix socket: what Codex's
 * app-server daemon speaks on `$CODEX_HOME/app-server-control/
 * app-server-control.sock`.
 *
 * Deno's own `WebSocket` can dial a Unix socket (seen with Deno 2.9.6):
 * `new WebSocket("ws://localhost/", { client })` with `client =
 * Deno.createHttpClient({ proxy: { transport: "unix", path } })`. It then
 * wants `--allow-net` for the URL's host (`localhost:80`) on top of the
 * socket's own grants, and its `client` option is marked experimental. c2c
 * keeps this client because of the permission: the MCP server may connect to
 * exactly one socket and to no TCP port (`wakeGrants` in
 * `lib/permissions.ts`), and a grant for `localhost:80` would let it reach
 * whatever listens there. That is worth ~150 lines.
 *
 * Only what a JSON-RPC client needs: the opening handshake (with the
 * `Sec-WebSocket-Accept` check), masked text frames out, text frames in
 * (fragmented or not), pings answered, close honoured. No extensions, no
 * binary messages.
 *
 * Requires `--allow-read`, `--allow-write` and `--allow-net=unix:<path>` on
 * the socket path (Deno 2.9 asks for all three to connect to a Unix socket).
 *
 * @module
 */

import { WakeError } from "./wake_error.ts";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Frame opcodes this client uses. */
export const OPCODE = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

/** One decoded frame. */
export interface Frame {
  /** Whether this is the last fragment of a message. */
  fin: boolean;
  /** The opcode. */
  opcode: number;
  /** Whether the payload was masked (client → server frames must be). */
  masked: boolean;
  /** The unmasked payload. */
  payload: Uint8Array;
}

/**
 * Encodes one frame. Clients mask every frame (RFC 6455 §5.3); a server
 * (the tests' fake daemon) passes no mask.
 *
 * @param opcode The frame's opcode.
 * @param payload Its payload.
 * @param mask A 4-byte masking key, or `null` for an unmasked frame.
 * @returns The frame's bytes.
 *
 * @example Usage
 * ```ts
 * import { encodeFrame, OPCODE } from "./ws_unix.ts";
 * encodeFrame(OPCODE.text, new TextEncoder().encode("hi"), null);
 * // Uint8Array [0x81, 0x02, 0x68, 0x69]
 * ```
 */
export function encodeFrame(
  opcode: number,
  payload: Uint8Array,
  mask: Uint8Array | null,
): Uint8Array {
  const length = payload.length;
  const head = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const out = new Uint8Array(head + (mask ? 4 : 0) + length);
  out[0] = 0x80 | opcode;
  const maskBit = mask ? 0x80 : 0;
  if (length < 126) {
    out[1] = maskBit | length;
  } else if (length < 65_536) {
    out[1] = maskBit | 126;
    new DataView(out.buffer).setUint16(2, length);
  } else {
    out[1] = maskBit | 127;
    new DataView(out.buffer).setBigUint64(2, BigInt(length));
  }
  if (!mask) {
    out.set(payload, head);
    return out;
  }
  out.set(mask, head);
  for (let i = 0; i < length; i++) {
    out[head + 4 + i] = payload[i] ^ mask[i & 3];
  }
  return out;
}

/**
 * Decodes the first complete frame in `buffer`.
 *
 * @param buffer Bytes received so far.
 * @returns The frame and how many bytes it took, or `null` when incomplete.
 */
export function decodeFrame(
  buffer: Uint8Array,
): { frame: Frame; size: number } | null {
  if (buffer.length < 2) return null;
  const view = new DataView(buffer.buffer, buffer.byteOffset);
  const masked = (buffer[1] & 0x80) !== 0;
  let length = buffer[1] & 0x7f;
  let at = 2;
  if (length === 126) {
    if (buffer.length < 4) return null;
    length = view.getUint16(2);
    at = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return null;
    length = Number(view.getBigUint64(2));
    at = 10;
  }
  const maskAt = at;
  if (masked) at += 4;
  if (buffer.length < at + length) return null;
  const payload = buffer.slice(at, at + length);
  if (masked) {
    for (let i = 0; i < length; i++) payload[i] ^= buffer[maskAt + (i & 3)];
  }
  return {
    frame: {
      fin: (buffer[0] & 0x80) !== 0,
      opcode: buffer[0] & 0x0f,
      masked,
      payload,
    },
    size: at + length,
  };
}

/**
 * The `Sec-WebSocket-Accept` value a server must answer a key with.
 *
 * @param key The client's `Sec-WebSocket-Key`.
 * @returns base64(SHA-1(key + GUID)).
 */
export async function acceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-1",
    encoder.encode(key + GUID),
  );
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Options of {@linkcode UnixWebSocket.connect}. */
export interface UnixWebSocketOptions {
  /** Give up on connecting and the handshake after this long (default 2 s). */
  timeoutMs?: number;
  /** Request target of the handshake (default `/`). */
  target?: string;
}

/**
 * A WebSocket connection over a Unix socket.
 *
 * @example Usage
 * ```ts ignore
 * import { UnixWebSocket } from "./ws_unix.ts";
 * using ws = await UnixWebSocket.connect("/home/me/.codex/app-server-control/app-server-control.sock");
 * await ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: {} }));
 * console.log(await ws.receive(1000));
 * ```
 */
export class UnixWebSocket implements Disposable {
  readonly #conn: Deno.UnixConn;
  readonly #path: string;
  #buffer: Uint8Array;
  #closed = false;

  private constructor(conn: Deno.UnixConn, path: string, rest: Uint8Array) {
    this.#conn = conn;
    this.#path = path;
    this.#buffer = rest;
  }

  /**
   * Connects and performs the opening handshake.
   *
   * Requires `--allow-read`, `--allow-write` and `--allow-net=unix:<path>`
   * on `path`.
   *
   * @param path The Unix socket.
   * @param options Timeout and request target.
   * @returns The open connection.
   * @throws {WakeError} When the socket is missing, refuses, or the server
   * does not switch protocols.
   */
  static async connect(
    path: string,
    options: UnixWebSocketOptions = {},
  ): Promise<UnixWebSocket> {
    let conn: Deno.UnixConn;
    try {
      conn = await Deno.connect({ transport: "unix", path });
    } catch (e) {
      throw new WakeError(
        `cannot connect to ${path}: ${
          (e as Error).message
        } (is the client's daemon running?)`,
      );
    }
    const timer = setTimeout(() => conn.close(), options.timeoutMs ?? 2_000);
    try {
      const key = btoa(
        String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))),
      );
      await conn.write(encoder.encode(
        `GET ${options.target ?? "/"} HTTP/1.1\r\nHost: localhost\r\n` +
          "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ));
      let buffer: Uint8Array = new Uint8Array(0);
      let end = -1;
      while (end === -1) {
        const chunk = new Uint8Array(4096);
        const n = await conn.read(chunk);
        if (n === null) throw new Error("closed during the handshake");
        buffer = concat(buffer, chunk.subarray(0, n));
        end = findHeaderEnd(buffer);
        if (end === -1 && buffer.length > 16_384) {
          throw new Error("handshake answer too long");
        }
      }
      const head = decoder.decode(buffer.subarray(0, end));
      const status = head.split("\r\n")[0];
      if (!/^HTTP\/1\.1 101\b/.test(status)) {
        throw new Error(`server answered '${status}'`);
      }
      const accept = /^sec-websocket-accept:\s*(\S+)/im.exec(head)?.[1];
      if (accept !== await acceptKey(key)) {
        throw new Error("wrong Sec-WebSocket-Accept");
      }
      clearTimeout(timer);
      return new UnixWebSocket(conn, path, buffer.slice(end + 4));
    } catch (e) {
      clearTimeout(timer);
      try {
        conn.close();
      } catch { /* closed by the timer */ }
      throw new WakeError(
        `WebSocket handshake on ${path} failed: ${(e as Error).message}`,
      );
    }
  }

  /**
   * Sends one text message (one masked frame).
   *
   * @param text The message.
   */
  async send(text: string): Promise<void> {
    await this.#write(OPCODE.text, encoder.encode(text));
  }

  async #write(opcode: number, payload: Uint8Array): Promise<void> {
    const frame = encodeFrame(
      opcode,
      payload,
      crypto.getRandomValues(new Uint8Array(4)),
    );
    for (let at = 0; at < frame.length;) {
      at += await this.#conn.write(frame.subarray(at));
    }
  }

  /**
   * Receives the next text message, answering pings on the way.
   *
   * @param timeoutMs Give up after this long.
   * @returns The message.
   * @throws {WakeError} On close, timeout or a binary message.
   */
  async receive(timeoutMs: number): Promise<string> {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.close();
    }, timeoutMs);
    try {
      const parts: Uint8Array[] = [];
      while (true) {
        const decoded = decodeFrame(this.#buffer);
        if (!decoded) {
          const chunk = new Uint8Array(65_536);
          const n = await this.#conn.read(chunk);
          if (n === null) throw new Error("connection closed");
          this.#buffer = concat(this.#buffer, chunk.subarray(0, n));
          continue;
        }
        this.#buffer = this.#buffer.slice(decoded.size);
        const { frame } = decoded;
        if (frame.opcode === OPCODE.ping) {
          await this.#write(OPCODE.pong, frame.payload);
        } else if (frame.opcode === OPCODE.close) {
          throw new Error("server closed the connection");
        } else if (
          frame.opcode === OPCODE.text || frame.opcode === OPCODE.continuation
        ) {
          parts.push(frame.payload);
          if (frame.fin) {
            return decoder.decode(parts.reduce(concat, new Uint8Array(0)));
          }
        } else if (frame.opcode === OPCODE.binary) {
          throw new Error("unexpected binary message");
        }
      }
    } catch (e) {
      throw new WakeError(
        timedOut
          ? `no answer on ${this.#path} within ${timeoutMs} ms`
          : `WebSocket on ${this.#path}: ${(e as Error).message}`,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the connection (without a close handshake: we are done). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  /** Closes at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.close();
  }
}

function findHeaderEnd(buffer: Uint8Array): number {
  for (let i = 0; i + 3 < buffer.length; i++) {
    if (
      buffer[i] === 13 && buffer[i + 1] === 10 && buffer[i + 2] === 13 &&
      buffer[i + 3] === 10
    ) {
      return i;
    }
  }
  return -1;
}
