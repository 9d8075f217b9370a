/**
 * A Deno-native transport for `npm:@nats-io/nats-core@3.4.0`.
 *
 * The official `@nats-io/transport-deno` is published on JSR only, and
 * `@nats-io/transport-node` resolves hostnames with `node:dns` (so
 * `--allow-net=host:port` is not enough) and can crash the process with an
 * unhandled socket error after an auth failure (docs/design.md#nats-facts
 * 1 and 7).
 * This one uses `Deno.connect` and `Deno.startTls` only: the permission a
 * process needs is exactly `--allow-net=<host:port>` as written in the URL,
 * plus `--allow-read` on a CA file when `tls.caFile` is used.
 *
 * It plugs in through nats-core's `/internal` `setTransportFactory`, which is
 * not a stable API: the import map pins 3.4.0 exactly.
 *
 * @module
 */

import {
  checkOptions,
  type ConnectionOptions,
  DataBuffer,
  type Deferred,
  deferred,
  errors,
  extractProtocolMessage,
  INFO,
  type NatsConnection,
  NatsConnectionImpl,
  type Server,
  type ServerInfo,
  setTransportFactory,
  type Transport,
} from "@nats-io/nats-core/internal";

/** The nats-core version this transport was written against. */
export const NATS_CORE_VERSION = "3.4.0";

// A real INFO line is a few KiB (more with many cluster URLs); anything past
// this is not a NATS server, and reading on would let it grow our memory.
const MAX_INFO_BYTES = 1024 * 1024;
const READ_BUFFER_BYTES = 64 * 1024;
// How long a clean close waits for queued writes before closing anyway.
const CLOSE_FLUSH_MS = 1000;

type DenoConn = Deno.TcpConn | Deno.TlsConn;

class DenoTransport implements Transport {
  readonly lang = "nats.js-c2c-deno";
  readonly version = NATS_CORE_VERSION;
  closeError?: Error;
  #conn?: DenoConn;
  #encrypted = false;
  #connected = false;
  #done = false;
  #yields: Uint8Array[] = [];
  #signal: Deferred<void> = deferred();
  readonly #closedNotification: Deferred<void | Error> = deferred();
  readonly #abort = new AbortController();
  #writing: Promise<void> = Promise.resolve();

  get isClosed(): boolean {
    return this.#done;
  }

  async connect(server: Server, options: ConnectionOptions): Promise<void> {
    const tls = options.tls ?? undefined;
    try {
      if (tls?.cert || tls?.certFile || tls?.key || tls?.keyFile) {
        throw new errors.ConnectionError(
          "client certificates are not supported by c2c's NATS transport",
        );
      }
      const caCerts = tls?.ca
        ? [tls.ca]
        : tls?.caFile
        ? [await Deno.readTextFile(tls.caFile)]
        : undefined;
      const tlsHostname = server.tlsName || server.hostname;
      if (tls?.handshakeFirst) {
        this.#conn = await Deno.connectTls({
          hostname: server.hostname,
          port: server.port,
          caCerts,
        });
        this.#encrypted = true;
      } else {
        this.#conn = await Deno.connect({
          hostname: server.hostname,
          port: server.port,
          signal: this.#abort.signal,
        });
      }
      this.#throwIfDone();
      (this.#conn as Deno.TcpConn).setNoDelay?.(true);
      const info = await this.#peekInfo();
      checkOptions(info, options);
      const wantTls = info.tls_required === true ||
        (info.tls_available === true && tls !== undefined);
      if (wantTls && !this.#encrypted) {
        // The INFO bytes stay queued for the protocol parser; the server
        // sends nothing more until our CONNECT, so the upgrade loses nothing.
        const tlsConn = await Deno.startTls(this.#conn as Deno.TcpConn, {
          hostname: tlsHostname,
          caCerts,
        });
        this.#conn = tlsConn;
        this.#throwIfDone();
        await tlsConn.handshake();
        this.#encrypted = true;
      }
      this.#throwIfDone();
      this.#connected = true;
      this.#readLoop();
    } catch (err) {
      this.#done = true;
      this.#closeConn();
      if (err instanceof Deno.errors.ConnectionRefused) {
        throw new errors.ConnectionError("connection refused", { cause: err });
      }
      throw err;
    }
  }

  #throwIfDone(): void {
    // The protocol gave up on this dial (its connect timeout) while an await
    // was pending: never hand it a socket it no longer owns.
    if (this.#done) throw new errors.ConnectionError("connection closed");
  }

  async #peekInfo(): Promise<ServerInfo> {
    const buffer = new Uint8Array(READ_BUFFER_BYTES);
    let size = 0;
    while (true) {
      const n = await this.#conn!.read(buffer);
      if (n === null) {
        throw new errors.ConnectionError("connection closed before INFO");
      }
      this.#yields.push(buffer.slice(0, n));
      size += n;
      const line = extractProtocolMessage(DataBuffer.concat(...this.#yields));
      if (line !== "") {
        const match = INFO.exec(line);
        if (!match) {
          throw new errors.ConnectionError("unexpected response from server");
        }
        return JSON.parse(match[1]) as ServerInfo;
      }
      if (size > MAX_INFO_BYTES) {
        throw new errors.ConnectionError("no INFO from server");
      }
    }
  }

  async #readLoop(): Promise<void> {
    const buffer = new Uint8Array(READ_BUFFER_BYTES);
    let error: Error | undefined;
    try {
      while (!this.#done) {
        const n = await this.#conn!.read(buffer);
        if (n === null) break;
        this.#yields.push(buffer.slice(0, n));
        this.#signal.resolve();
      }
    } catch (err) {
      if (!this.#done) error = err as Error;
    }
    await this.#closed(error, false);
  }

  async *[Symbol.asyncIterator](): AsyncIterableIterator<Uint8Array> {
    while (true) {
      if (this.#yields.length === 0) await this.#signal;
      const chunks = this.#yields;
      this.#yields = [];
      for (const chunk of chunks) yield chunk;
      if (this.#done) break;
      if (this.#yields.length === 0) this.#signal = deferred();
    }
  }

  isEncrypted(): boolean {
    return this.#encrypted;
  }

  send(frame: Uint8Array): void {
    const conn = this.#conn;
    if (this.#done || !conn || frame.length === 0) return;
    this.#writing = this.#writing.then(async () => {
      let offset = 0;
      while (offset < frame.length) {
        offset += await conn.write(frame.subarray(offset));
      }
    }).catch(() => {
      // A failed write means a broken socket: the read loop or the ping
      // timer notices and the protocol reconnects.
    });
  }

  close(err?: Error): Promise<void> {
    return this.#closed(err, true);
  }

  disconnect(): void {
    // A stale or forced reconnect: queued writes may never drain, so don't
    // wait for them.
    this.#closed(undefined, false).catch(() => {});
  }

  async #closed(err: Error | undefined, flush: boolean): Promise<void> {
    if (this.#done) return;
    if (!this.#connected) {
      // Still dialing: abort it. The protocol only listens to closed() of
      // transports that connected.
      this.#done = true;
      this.#abort.abort();
      this.#closeConn();
      return;
    }
    this.closeError = err;
    if (!err && flush) await this.#drainWrites();
    if (this.#done) return;
    this.#done = true;
    this.#closeConn();
    this.#signal.resolve();
    this.#closedNotification.resolve(err);
  }

  async #drainWrites(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#writing,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, CLOSE_FLUSH_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  #closeConn(): void {
    try {
      this.#conn?.close();
    } catch {
      // already closed
    }
  }

  closed(): Promise<void | Error> {
    return this.#closedNotification;
  }

  discard(): void {
    this.#done = true;
    this.#abort.abort();
    this.#closeConn();
  }
}

let installed = false;

/**
 * Makes nats-core dial with this transport (idempotent). nats-core keeps one
 * process-wide factory; {@linkcode connect} calls this for you.
 *
 * @example Usage
 * ```ts ignore
 * import { installDenoTransport } from "./transport.ts";
 * installDenoTransport();
 * ```
 */
export function installDenoTransport(): void {
  if (installed) return;
  setTransportFactory({
    factory: () => new DenoTransport(),
    defaultPort: 4222,
  });
  installed = true;
}

/**
 * Opens a NATS connection over the Deno transport. Hostnames are resolved by
 * Deno itself (no `resolve` step in the client).
 *
 * Requires `--allow-net` on each server's `host:port`, and `--allow-read` on
 * `options.tls.caFile` when given.
 *
 * @param options nats-core connection options (`servers`, auth, `tls`, …).
 * @returns The connection.
 *
 * @example Usage
 * ```ts ignore
 * import { connect } from "./transport.ts";
 * const nc = await connect({ servers: "127.0.0.1:4222" });
 * await nc.close();
 * ```
 */
export function connect(options: ConnectionOptions): Promise<NatsConnection> {
  installDenoTransport();
  return NatsConnectionImpl.connect(options);
}
