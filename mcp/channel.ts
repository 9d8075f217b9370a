/**
 * Channel push (`C2C_MCP_AUTO_DRAIN_CHANNEL=1`): watch this session's inbox
 * and send each new message to the client as a `notifications/claude/channel`
 * notification, draining exactly the messages that were pushed.
 *
 * Messages are drained first and pushed second, so a `poll_inbox` racing the
 * push can never hand out the same message twice: each message is drained by
 * exactly one of them.
 *
 * @module
 */

import { basename } from "node:path";
import type { Broker } from "../lib/broker.ts";
import { renderEnvelope } from "../lib/envelope.ts";
import type { Message } from "../lib/message.ts";

/** Parameters of one `notifications/claude/channel` notification. */
export interface ChannelParams {
  /** What the agent reads: the message's `<c2c …>` envelope. */
  content: string;
  /** Routing details (keys are `[A-Za-z0-9_]`, as Claude Code requires). */
  meta: Record<string, string>;
  [key: string]: unknown;
}

/**
 * Builds the notification parameters for one message.
 *
 * @param message The message.
 * @returns `{content, meta: {from_alias, to_alias, id, room_id?}}`.
 */
export function channelParams(message: Message): ChannelParams {
  const meta: Record<string, string> = {
    from_alias: message.from_alias,
    to_alias: message.to_alias,
    id: message.id,
  };
  if (message.room_id !== undefined) meta.room_id = message.room_id;
  return { content: renderEnvelope(message), meta };
}

/** Watches one session's inbox and pushes what arrives. */
export class ChannelPusher {
  readonly #broker: Broker;
  readonly #sessionId: () => string;
  readonly #push: (params: ChannelParams) => Promise<void>;
  #watcher: Deno.FsWatcher | null = null;
  #running = false;
  #again = false;

  /**
   * @param broker The broker.
   * @param sessionId Returns the session whose inbox to watch.
   * @param push Sends one notification.
   */
  constructor(
    broker: Broker,
    sessionId: () => string,
    push: (params: ChannelParams) => Promise<void>,
  ) {
    this.#broker = broker;
    this.#sessionId = sessionId;
    this.#push = push;
  }

  /** Starts watching, and pushes anything already waiting. */
  start(): void {
    // Watch the root directory, not the inbox file: the file may not exist
    // yet, and a partial drain replaces it by rename.
    this.#watcher = Deno.watchFs(this.#broker.root, { recursive: false });
    (async () => {
      for await (const event of this.#watcher!) {
        const inbox = basename(this.#broker.paths.inbox(this.#sessionId()));
        if (event.paths.some((p) => basename(p) === inbox)) this.rescan();
      }
    })().catch(() => {/* watcher closed */});
    this.rescan();
  }

  /** Drains and pushes whatever is pending; coalesces overlapping calls. */
  rescan(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    (async () => {
      do {
        this.#again = false;
        await this.#pushPending();
      } while (this.#again);
    })().finally(() => this.#running = false);
  }

  async #pushPending(): Promise<void> {
    const sessionId = this.#sessionId();
    if (!this.#broker.registration(sessionId)) return;
    const pending = this.#broker.pendingMessages(sessionId);
    if (pending.length === 0) return;
    const { messages } = await this.#broker.drainMessages(
      sessionId,
      pending.map((m) => m.id),
    );
    for (const message of messages) {
      try {
        await this.#push(channelParams(message));
      } catch {
        // The client is gone; the message stays readable through history.
        return;
      }
    }
  }

  /** Stops watching. */
  stop(): void {
    try {
      this.#watcher?.close();
    } catch { /* already closed */ }
    this.#watcher = null;
  }
}
