/**
 * Handing a session's messages to its agent: the one function behind every
 * path that does it — a client's hook (`c2c hook`), the CLI poller
 * (`c2c poll-inbox`), Claude Code's rewake waiter, and the MCP server's
 * native wake and channel push. Each path says only how it shows messages
 * and in which order; the rest is done once, here:
 *
 * - **Lock.** Everything runs under the session's delivery lock
 *   (`delivery_lock.ts`), so two paths delivering at the same moment (a Stop
 *   hook and a waiter, a hook and a channel push) cannot both show a message.
 * - **Bounds.** At most `limit` messages and `maxBytes` bytes of output,
 *   measured on the exact form the path emits (`cost`, `overhead`), never on
 *   a character count: JSON makes one control character six bytes. A first
 *   message that alone is bigger goes out alone, whole up to
 *   {@linkcode MAX_ALONE_BYTES}; only a bigger one is cut, with a notice
 *   saying where the whole one is (`clipMessage` in `inbox.ts`). The broker
 *   keeps every message whole.
 * - **Order.** `show-then-take`: show, then take exactly what was shown —
 *   for a process that may be killed between the two (a hook a client gives
 *   up on, a CLI poller killed mid-way), which at worst shows a message
 *   again later (ids tell), never loses one. `take-then-show`: take, then
 *   show — for a path whose output counts only once it is complete (the
 *   rewake waiter's exit, a push to a socket), so that a racing reader cannot
 *   take the same messages meanwhile.
 * - **Restore.** When showing fails (or shows only the first few), what was
 *   taken and not shown goes back to the head of the inbox, whole.
 *
 * Requires `--allow-read` and `--allow-write` on the broker root.
 *
 * @module
 */

import type { Broker } from "./broker.ts";
import {
  type InboxSelection,
  type Selected,
  selectMessages,
  selectNewest,
} from "./inbox.ts";
import type { DeliveryVia, Message } from "./message.ts";
import type { HistoryResult } from "./types.ts";

export type { InboxSelection, Selected } from "./inbox.ts";

/**
 * The most one message may cost on any delivery path, in bytes of output:
 * the biggest body a broker accepts (256 KiB, `config.ts`), every character
 * escaped by JSON (six bytes) and carried twice (an MCP reply's structured
 * result and text), still fits; and it stays well below the 10 MiB line at
 * which the MCP SDK's stdio reader closes the connection. Only a message
 * bigger than any broker accepts (from an older version, or written into an
 * inbox by hand) is cut.
 */
export const MAX_ALONE_BYTES = 4 * 1024 * 1024;

/** Which comes first: showing the messages or taking them from the inbox. */
export type DeliveryOrder = "show-then-take" | "take-then-show";

/** How much one delivery may carry (see {@linkcode InboxSelection}). */
export type DeliveryBounds = Omit<InboxSelection, "only">;

/** What `show` reports when only the first messages reached the agent. */
export interface Shown {
  /** How many of the batch, oldest first, were shown. */
  shown: number;
  /** Why the rest were not. */
  error?: unknown;
}

/** Options of {@linkcode deliver}. */
export interface DeliveryOptions {
  /** Show first and take after, or the reverse. */
  order: DeliveryOrder;
  /** Count and size bounds, measured on what `show` emits. */
  bounds?: DeliveryBounds;
  /** Which path this is: recorded in the archive and the senders' receipts. */
  via: DeliveryVia;
  /**
   * Hands the batch to the agent. Resolving means all of it was shown;
   * throwing means none was; a {@linkcode Shown} says how many were.
   */
  show(batch: Selected): Promise<void | Shown> | void | Shown;
}

/** What one delivery did. */
export interface DeliveryResult {
  /** Messages shown and taken, oldest first, as shown (a cut one cut). */
  delivered: Message[];
  /** Messages pending after the delivery. */
  remaining: number;
  /** Ids of delivered messages that were cut to fit (absent when none). */
  truncated?: string[];
  /** Messages selected but not shown: still pending, or put back. */
  kept: Message[];
  /** Why showing failed, when it did. */
  error?: unknown;
}

/**
 * Delivers the session's oldest waiting messages, within bounds, under its
 * delivery lock, in the given order, restoring what was taken and not shown.
 * An empty inbox delivers nothing and calls no `show`.
 *
 * Show-then-take goes through {@linkcode Broker.peekInbox}, so the session
 * must be registered; take-then-show does not ask (a wake path checks first).
 * Errors of the broker itself are thrown; errors of `show` are reported in
 * the result.
 *
 * Requires `--allow-read` and `--allow-write` on the broker root.
 *
 * @param broker The broker.
 * @param sessionId The session whose messages to deliver.
 * @param options Order, bounds and how to show.
 * @returns What was delivered, kept and is still pending.
 *
 * @example Usage
 * ```ts ignore
 * import { deliver } from "./delivery.ts";
 * await deliver(broker, sessionId, {
 *   order: "show-then-take",
 *   bounds: { limit: 50 },
 *   show: (batch) => console.log(renderEnvelopes(batch.messages)),
 * });
 * ```
 */
export function deliver(
  broker: Broker,
  sessionId: string,
  options: DeliveryOptions,
): Promise<DeliveryResult> {
  return broker.withDeliveryLock(
    sessionId,
    () =>
      options.order === "show-then-take"
        ? showThenTake(broker, sessionId, options)
        : takeThenShow(broker, sessionId, options),
  );
}

async function showThenTake(
  broker: Broker,
  sessionId: string,
  options: DeliveryOptions,
): Promise<DeliveryResult> {
  const batch = await broker.peekInbox(sessionId, options.bounds);
  if (batch.messages.length === 0) {
    return { delivered: [], remaining: batch.remaining, kept: [] };
  }
  const { shown, error } = await show(options, batch);
  const delivered = batch.messages.slice(0, shown);
  const kept = batch.messages.slice(shown);
  let remaining = batch.remaining + kept.length;
  if (delivered.length > 0) {
    // Exactly what was shown: whatever else arrived meanwhile stays.
    ({ remaining } = await broker.drainMessages(
      sessionId,
      delivered.map((m) => m.id),
      options.via,
    ));
  }
  return result(delivered, remaining, kept, batch.truncated, error);
}

async function takeThenShow(
  broker: Broker,
  sessionId: string,
  options: DeliveryOptions,
): Promise<DeliveryResult> {
  const picked = selectMessages(
    await broker.pendingMessages(sessionId),
    options.bounds,
  );
  if (picked.messages.length === 0) {
    return { delivered: [], remaining: picked.remaining, kept: [] };
  }
  const drained = await broker.drainMessages(
    sessionId,
    picked.messages.map((m) => m.id),
    options.via,
    false,
  );
  // Another reader outside the lock (a sweep, a takeover) may have taken
  // some first: show only what this drain took.
  const took = new Set(drained.messages.map((m) => m.id));
  const messages = picked.messages.filter((m) => took.has(m.id));
  if (messages.length === 0) {
    return { delivered: [], remaining: drained.remaining, kept: [] };
  }
  const batch: Selected = { messages, remaining: drained.remaining };
  const truncated = picked.truncated?.filter((id) => took.has(id));
  if (truncated?.length) batch.truncated = truncated;
  const { shown, error } = await show(options, batch);
  const delivered = messages.slice(0, shown);
  const kept = messages.slice(shown);
  if (kept.length > 0) await broker.restoreMessages(sessionId, kept);
  await broker.confirmDelivery(sessionId, delivered, options.via);
  return result(
    delivered,
    drained.remaining + kept.length,
    kept,
    batch.truncated,
    error,
  );
}

async function show(
  options: DeliveryOptions,
  batch: Selected,
): Promise<Shown> {
  try {
    const outcome = await options.show(batch);
    if (!outcome) return { shown: batch.messages.length };
    const shown = Math.max(0, Math.min(batch.messages.length, outcome.shown));
    return { shown, error: outcome.error };
  } catch (error) {
    return { shown: 0, error };
  }
}

function result(
  delivered: Message[],
  remaining: number,
  kept: Message[],
  truncated: string[] | undefined,
  error: unknown,
): DeliveryResult {
  const out: DeliveryResult = { delivered, remaining, kept };
  const ids = new Set(delivered.map((m) => m.id));
  const cut = truncated?.filter((id) => ids.has(id));
  if (cut?.length) out.truncated = cut;
  if (error !== undefined) out.error = error;
  return out;
}

/**
 * Bounds a `history` result for a reply: the newest messages that fit, a
 * newest one that alone does not cut to fit, and how many older ones were
 * left out.
 *
 * @param history The result of {@linkcode Broker.history}.
 * @param bounds Size bounds on the reply (a `limit` applies too).
 * @returns The bounded result.
 */
export function boundHistory(
  history: HistoryResult,
  bounds: DeliveryBounds,
): HistoryResult {
  const { messages, remaining, truncated } = selectNewest(
    history.messages,
    bounds,
  );
  const out: HistoryResult = { messages };
  if (remaining > 0) out.omitted = remaining;
  if (truncated) out.truncated = truncated;
  return out;
}
