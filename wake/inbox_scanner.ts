/**
 * Reads a session's pending messages, but only when its inbox file changed:
 * a watch event for some other file costs one `stat`, not a parse.
 *
 * Reads without the inbox lock, like every reader: a send in progress leaves
 * at most a torn last line, which the broker's reader skips (the next event
 * brings it whole).
 *
 * Requires `--allow-read` on the broker root.
 *
 * @module
 */

import type { Broker } from "../lib/broker.ts";
import type { Message } from "../lib/message.ts";

/**
 * Caches one session's pending messages behind a `stat` of its inbox.
 *
 * @example Usage
 * ```ts ignore
 * import { InboxScanner } from "./inbox_scanner.ts";
 * const scanner = new InboxScanner(broker);
 * (await scanner.scan("session-1")).length; // pending messages
 * ```
 */
export class InboxScanner {
  readonly #broker: Broker;
  #key = "";
  #messages: Message[] = [];

  /**
   * Creates a scanner over `broker`'s files.
   *
   * @param broker The broker.
   */
  constructor(broker: Broker) {
    this.#broker = broker;
  }

  /**
   * The pending messages of `sessionId` (from cache when unchanged).
   *
   * @param sessionId Inbox owner.
   * @returns Pending messages, oldest first.
   */
  async scan(sessionId: string): Promise<Message[]> {
    let stat: Deno.FileInfo | null = null;
    try {
      // The file store's inbox, or the NATS store's local signal: either
      // changes whenever the inbox does.
      stat = Deno.statSync(this.#broker.paths.signal(sessionId));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    const key = stat
      ? `${sessionId}:${stat.ino}:${stat.size}:${stat.mtime?.getTime()}`
      : `${sessionId}:none`;
    // Times have millisecond resolution: a drain and a same-sized send within
    // one tick would keep the key, so a recently touched file is always read.
    const recent = stat?.mtime && Date.now() - stat.mtime.getTime() < 1000;
    if (key === this.#key && !recent) return this.#messages;
    this.#messages = stat && stat.size > 0
      ? await this.#broker.pendingMessages(sessionId)
      : [];
    this.#key = key;
    return this.#messages;
  }
}
