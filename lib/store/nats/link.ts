/**
 * A long-lived NATS connection for a process that must start and answer
 * whether NATS is up or not (the MCP server): it connects in the
 * background, keeps retrying, and hands out the connection — or, while
 * there is none, the typed error of the last attempt naming the URL — so
 * that each tool call fails in one clear line instead of hanging, and
 * works again once NATS returns.
 *
 * @module
 */

import type { NatsConnection } from "@nats-io/nats-core";
import { NatsUnreachableError } from "../../errors.ts";
import {
  connectNats,
  mapNatsError,
  type NatsConnectOptions,
  RECONNECT_WAIT_MS,
} from "./connect.ts";
import type { NatsConfig } from "./url.ts";

/** Longest wait between two background attempts to connect. */
export const MAX_RETRY_WAIT_MS = 5000;

/** Where a {@linkcode NatsLink} stands. */
export type NatsLinkState =
  /** Never connected yet, or the connection ended for good: retrying. */
  | "connecting"
  /** Connected, JetStream answered. */
  | "connected"
  /** Lost the server; the client is reconnecting on its own. */
  | "reconnecting"
  /** Closed by its owner. */
  | "closed";

/**
 * A background NATS connection with retries.
 *
 * Requires `--allow-net` and `--allow-read` as `natsGrants(config)` says.
 *
 * @example Usage
 * ```ts ignore
 * import { NatsLink } from "./link.ts";
 * await using link = new NatsLink({ config, namespace: "default", name: "c2c-mcp" });
 * const nc = await link.connection(2000); // or a one-line typed error
 * ```
 */
export class NatsLink implements AsyncDisposable {
  readonly #options: NatsConnectOptions;
  #state: NatsLinkState = "connecting";
  #nc: NatsConnection | undefined;
  #lastError: unknown;
  #failures = 0;
  #closing = false;
  #listeners = new Set<() => void>();
  #wakeRetry: (() => void) | undefined;
  readonly #running: Promise<void>;

  /**
   * Starts connecting at once; never throws.
   *
   * @param options Configuration, namespace, connection name.
   */
  constructor(options: NatsConnectOptions) {
    this.#options = options;
    this.#running = this.#run();
  }

  /** Where the link stands now. */
  get state(): NatsLinkState {
    return this.#state;
  }

  /** Why the last attempt to connect failed (a typed error), if it did. */
  get lastError(): unknown {
    return this.#lastError;
  }

  /**
   * The connection. Waits up to `waitMs` for one when there is none; while
   * connecting for the first time it gives up early, as soon as an attempt
   * that started has failed, so an unreachable NATS answers at once.
   *
   * @param waitMs How long to wait at most (default 0: answer now).
   * @returns The open connection.
   * @throws The typed error of the last attempt
   * ({@linkcode NatsUnreachableError}, `NatsAuthError`, …), or
   * `NatsUnreachableError` while reconnecting or after {@linkcode close}.
   */
  async connection(waitMs = 0): Promise<NatsConnection> {
    const deadline = performance.now() + waitMs;
    const failuresAtStart = this.#failures;
    while (true) {
      if (this.#state === "connected" && this.#nc) return this.#nc;
      const url = this.#options.config.display;
      if (this.#state === "closed") {
        throw new NatsUnreachableError(url, "the connection was closed");
      }
      const left = deadline - performance.now();
      const failedSince = this.#failures > failuresAtStart;
      if (left <= 0 || (this.#state === "connecting" && failedSince)) {
        if (this.#state === "reconnecting") {
          throw new NatsUnreachableError(
            url,
            "the connection was lost; reconnecting",
            true,
          );
        }
        throw this.#lastError ??
          new NatsUnreachableError(url, "not connected yet", true);
      }
      await this.#event(left);
    }
  }

  /** Closes the connection and stops retrying. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#wakeRetry?.();
    await this.#nc?.close().catch(() => {});
    await this.#running;
  }

  /** {@linkcode close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #run(): Promise<void> {
    let wait = RECONNECT_WAIT_MS;
    const config = this.#options.config;
    while (!this.#closing) {
      let nc: NatsConnection;
      try {
        nc = await connectNats({ ...this.#options, waitOnFirstConnect: false });
      } catch (e) {
        this.#lastError = retrying(e, config);
        this.#failures++;
        this.#emit();
        await this.#pause(wait);
        wait = Math.min(wait * 2, MAX_RETRY_WAIT_MS);
        continue;
      }
      if (this.#closing) {
        await nc.close().catch(() => {});
        break;
      }
      wait = RECONNECT_WAIT_MS;
      this.#nc = nc;
      this.#lastError = undefined;
      this.#set("connected");
      this.#watch(nc);
      // Resolves when the client gives up for good (an auth failure on a
      // reconnect ends its loop) or when close() closes it.
      const ended = await nc.closed();
      this.#nc = undefined;
      if (this.#closing) break;
      this.#lastError = ended
        ? retrying(ended, config)
        : new NatsUnreachableError(
          config.display,
          "the connection closed",
          true,
        );
      this.#failures++;
      this.#set("connecting");
    }
    this.#set("closed");
  }

  async #watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (this.#nc !== nc) return;
      if (status.type === "disconnect") this.#set("reconnecting");
      else if (status.type === "reconnect") this.#set("connected");
    }
  }

  #set(state: NatsLinkState): void {
    this.#state = state;
    this.#emit();
  }

  #emit(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  #event(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#listeners.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#listeners.add(done);
    });
  }

  #pause(ms: number): Promise<void> {
    if (this.#closing) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wakeRetry = undefined;
        resolve();
      }, ms);
      this.#wakeRetry = () => {
        clearTimeout(timer);
        this.#wakeRetry = undefined;
        resolve();
      };
    });
  }
}

// The typed error, saying that the link keeps retrying when unreachable.
function retrying(error: unknown, config: NatsConfig): unknown {
  const mapped = mapNatsError(error, config, {
    connecting: true,
    retrying: true,
  });
  return mapped instanceof NatsUnreachableError
    ? new NatsUnreachableError(mapped.url, mapped.reason, true)
    : mapped;
}
