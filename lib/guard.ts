/**
 * The loop guard and rate limit (docs/design.md#conversations): before a
 * message goes out, the sender's own sent log says how many it sent to the
 * same alias or room lately, and how often with the same body. Reading the
 * sent log, kept by the store, makes the count hold across processes and
 * machines and across both stores; two sends racing from two processes may
 * both pass at the edge (the guard is a brake on floods, not a quota).
 *
 * @module
 */

import type { BrokerConfig } from "./config.ts";
import { LoopDetectedError, RateLimitedError } from "./errors.ts";
import type { SentMessage } from "./message.ts";

/** The window of the loop check: the same body this often per minute. */
export const LOOP_WINDOW_S = 60;

/** Where a message goes: a direct message's alias, or a room. */
export type GuardTarget = { to_alias: string } | { room_id: string };

/** The guard's settings, from the broker's config. */
export type GuardConfig = Pick<
  BrokerConfig,
  "rate_limit_messages" | "rate_limit_window_s" | "loop_repeat_limit"
>;

/**
 * How far back the guard reads the sent log.
 *
 * @param config The guard's settings.
 * @param now Epoch ms.
 * @returns ISO-8601 time, or `null` when both checks are off.
 */
export function guardSince(config: GuardConfig, now: number): string | null {
  const rate = config.rate_limit_messages > 0 ? config.rate_limit_window_s : 0;
  const loop = config.loop_repeat_limit > 0 ? LOOP_WINDOW_S : 0;
  const seconds = Math.max(rate, loop);
  return seconds === 0 ? null : new Date(now - seconds * 1000).toISOString();
}

/**
 * Throws when one more message to `target` would pass a limit.
 *
 * @param recent The sender's sent log since {@linkcode guardSince}.
 * @param target Where the message goes.
 * @param content Its body.
 * @param config The guard's settings.
 * @param now Epoch ms.
 * @throws {LoopDetectedError} When this body went there
 * `loop_repeat_limit` times within 60 s.
 * @throws {RateLimitedError} When `rate_limit_messages` went there within
 * the window.
 *
 * @example Usage
 * ```ts
 * import { checkGuard } from "./guard.ts";
 * const config = { rate_limit_messages: 60, rate_limit_window_s: 60, loop_repeat_limit: 5 };
 * checkGuard([], { to_alias: "tide" }, "hi", config, Date.now()); // passes
 * ```
 */
export function checkGuard(
  recent: readonly SentMessage[],
  target: GuardTarget,
  content: string,
  config: GuardConfig,
  now: number,
): void {
  const name = "to_alias" in target ? target.to_alias : `#${target.room_id}`;
  const same = (m: SentMessage) =>
    "to_alias" in target
      ? m.to_alias === target.to_alias && m.room_id === undefined
      : m.room_id === target.room_id;
  const times = (windowS: number, also: (m: SentMessage) => boolean) =>
    recent
      .filter((m) => same(m) && also(m))
      .map((m) => Date.parse(m.ts))
      .filter((t) => t > now - windowS * 1000)
      .sort((a, b) => a - b);
  const retryAfter = (sent: number[], limit: number, windowS: number) =>
    Math.max(
      1,
      Math.ceil((sent[sent.length - limit] + windowS * 1000 - now) / 1000),
    );
  const loopLimit = config.loop_repeat_limit;
  if (loopLimit > 0) {
    const repeats = times(LOOP_WINDOW_S, (m) => m.content === content);
    if (repeats.length >= loopLimit) {
      throw new LoopDetectedError(
        name,
        repeats.length,
        retryAfter(repeats, loopLimit, LOOP_WINDOW_S),
      );
    }
  }
  const rateLimit = config.rate_limit_messages;
  if (rateLimit > 0) {
    const windowS = config.rate_limit_window_s;
    const sent = times(windowS, () => true);
    if (sent.length >= rateLimit) {
      throw new RateLimitedError(
        name,
        rateLimit,
        windowS,
        retryAfter(sent, rateLimit, windowS),
      );
    }
  }
}
