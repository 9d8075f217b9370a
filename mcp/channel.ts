/**
 * Channel push (`C2C_MCP_AUTO_DRAIN_CHANNEL=1`): watch this session's inbox
 * and send each new message to the client as a `notifications/claude/channel`
 * notification, draining exactly the messages that were pushed.
 *
 * Like every path that hands messages over, it goes through
 * {@linkcode deliver}: under the session's delivery lock (a hook showing
 * messages at the same moment cannot show these too), drained first and
 * pushed second (a racing `poll_inbox` cannot take them too), and what could
 * not be pushed goes back to the inbox, whole and in order, for the next
 * push or poll. Each notification is bounded like a tool reply: a message
 * too big for one goes out cut, with a notice; the archive keeps it whole.
 *
 * @module
 */

import { basename, dirname } from "node:path";
import type { Broker } from "../lib/broker.ts";
import { deliver, MAX_ALONE_BYTES } from "../lib/delivery.ts";
import { renderEnvelope } from "../lib/envelope.ts";
import type { Message } from "../lib/message.ts";
import { jsonBytes } from "../lib/_bytes.ts";
import { InboxWatch } from "../wake/inbox_watch.ts";

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

/** Most messages drained per delivery (the rest follow at once). */
export const CHANNEL_BATCH = 50;
/**
 * Most bytes of notifications per delivery (one message too big to share a
 * delivery goes alone, up to `MAX_ALONE_BYTES`: far below the SDK's 10 MiB
 * line).
 */
export const CHANNEL_MAX_BYTES = 1024 * 1024;

/**
 * What one message's notification costs on the wire: its parameters as JSON
 * and the JSON-RPC frame around them.
 *
 * @param message The message.
 * @returns Bytes.
 */
export function channelCost(message: Message): number {
  return jsonBytes(channelParams(message)) + 128;
}

/** First retry after a failed push (ms); doubles up to 30 s. */
const RETRY_MS = 1_000;

/** Options of {@linkcode ChannelPusher}. */
export interface ChannelPusherOptions {
  /** Called when a push fails (what it drained went back to the inbox). */
  onError?(error: unknown): void;
  /** Called after each delivery with the ids pushed. */
  onPushed?(ids: string[]): void;
}

/** Watches one session's inbox and pushes what arrives. */
export class ChannelPusher {
  readonly #broker: Broker;
  readonly #sessionId: () => string;
  readonly #push: (params: ChannelParams) => Promise<void>;
  readonly #options: ChannelPusherOptions;
  readonly #watch: InboxWatch;
  #failures = 0;
  #retryAt = 0;

  /**
   * @param broker The broker.
   * @param sessionId Returns the session whose inbox to watch.
   * @param push Sends one notification.
   * @param options Callbacks.
   */
  constructor(
    broker: Broker,
    sessionId: () => string,
    push: (params: ChannelParams) => Promise<void>,
    options: ChannelPusherOptions = {},
  ) {
    this.#broker = broker;
    this.#sessionId = sessionId;
    this.#push = push;
    this.#options = options;
    // A push is cheap and the client shows each message on its own: no
    // reason to wait long for a burst to end.
    this.#watch = new InboxWatch({
      root: dirname(broker.paths.signal(sessionId())),
      relevant: (name) => name === basename(broker.paths.signal(sessionId())),
      pass: () => this.#pushPending(),
      quietMs: 5,
      maxWaitMs: 50,
      onError: (e) => options.onError?.(e),
    });
  }

  /** Starts watching, and pushes anything already waiting. */
  start(): void {
    this.#watch.start();
  }

  /** Drains and pushes whatever is pending; coalesces overlapping calls. */
  rescan(): void {
    this.#watch.runSoon();
  }

  async #pushPending(): Promise<void> {
    // After a failed push, not before the retry is due: putting the
    // messages back changes the inbox, which would bring us straight back.
    const wait = this.#retryAt - Date.now();
    if (wait > 0) return this.#watch.later(wait);
    const sessionId = this.#sessionId();
    if (!(await this.#broker.registration(sessionId))) return;
    if ((await this.#broker.pendingMessages(sessionId)).length === 0) return;
    const r = await deliver(this.#broker, sessionId, {
      order: "take-then-show",
      via: "push",
      bounds: {
        limit: CHANNEL_BATCH,
        maxBytes: CHANNEL_MAX_BYTES,
        aloneBytes: MAX_ALONE_BYTES,
        cost: channelCost,
      },
      show: async ({ messages }) => {
        for (let i = 0; i < messages.length; i++) {
          try {
            await this.#push(channelParams(messages[i]));
          } catch (error) {
            // The client is gone, or its pipe broke: this one and the rest
            // go back (this one may have got out: at worst shown twice).
            return { shown: i, error };
          }
        }
      },
    });
    if (r.delivered.length > 0) {
      this.#options.onPushed?.(r.delivered.map((m) => m.id));
    }
    if (r.error !== undefined) {
      this.#options.onError?.(r.error);
      const delay = Math.min(30_000, RETRY_MS * 2 ** this.#failures++);
      this.#retryAt = Date.now() + delay;
      return this.#watch.later(delay);
    }
    this.#failures = 0;
    if (r.remaining > 0) this.#watch.runSoon();
  }

  /** Stops watching. */
  stop(): void {
    this.#watch.stop();
  }
}
