/**
 * `wait_for_message`: what a wait matches, how long it may last, and the
 * one race it runs between a change of the inbox, its deadline and its
 * caller giving up (docs/design.md#conversations).
 *
 * @module
 */

import { validateAlias } from "./alias.ts";
import { InvalidArgumentError } from "./errors.ts";
import type { Message } from "./message.ts";
import { validateRoomId } from "./paths.ts";

/**
 * Default wait, in seconds: below the shortest default tool-call timeout of
 * the clients c2c sets up (Codex: 60 s per call, `tool_timeout_sec`), so a
 * wait ends with an answer, never with the client giving up on the call.
 */
export const DEFAULT_WAIT_S = 50;
/** Longest wait one call may ask for, in seconds (same reason). */
export const MAX_WAIT_S = 55;
/** Longest wait `c2c wait` may ask for (a shell has no call timeout). */
export const MAX_SHELL_WAIT_S = 3600;

/** What a wait matches: every field given must match (none: any message). */
export interface WaitFilter {
  /** Only messages from this alias. */
  from_alias?: string;
  /** Only copies of posts to this room. */
  room_id?: string;
  /** Only messages that answer this message id. */
  reply_to?: string;
}

/** Arguments of `wait_for_message`. */
export interface WaitArgs extends WaitFilter {
  /** How long to wait, in seconds (default 50, at most 55; 0: only look). */
  timeout_s?: number;
}

/**
 * Checks a filter and returns the test it stands for.
 *
 * @param filter What to match.
 * @returns Whether a message matches.
 * @throws {InvalidArgumentError} On a malformed alias, room id or id.
 *
 * @example Usage
 * ```ts
 * import { waitMatcher } from "./wait.ts";
 * const fromTide = waitMatcher({ from_alias: "tide-runner" });
 * fromTide({ id: "1", ts: "t", from_alias: "tide-runner", to_alias: "me", content: "hi" }); // true
 * ```
 */
export function waitMatcher(filter: WaitFilter): (m: Message) => boolean {
  const from = filter.from_alias === undefined
    ? undefined
    : validateAlias(filter.from_alias);
  const room = filter.room_id === undefined
    ? undefined
    : validateRoomId(filter.room_id);
  const replyTo = filter.reply_to;
  if (
    replyTo !== undefined &&
    (typeof replyTo !== "string" || !/^[A-Za-z0-9_.:-]{1,128}$/.test(replyTo))
  ) {
    throw new InvalidArgumentError(
      "reply_to must be the id of a message (up to 128 of A-Z a-z 0-9 _ . : -)",
    );
  }
  return (m) =>
    (from === undefined || m.from_alias === from) &&
    (room === undefined || m.room_id === room) &&
    (replyTo === undefined || m.reply_to === replyTo);
}

/**
 * Checks a wait's `timeout_s`.
 *
 * @param timeoutS Seconds, or `undefined` for the default.
 * @param maxS Longest allowed (default {@linkcode MAX_WAIT_S}).
 * @returns Milliseconds.
 * @throws {InvalidArgumentError} Outside 0 … `maxS`.
 */
export function waitTimeoutMs(
  timeoutS: number | undefined,
  maxS: number = MAX_WAIT_S,
): number {
  if (timeoutS === undefined) return Math.min(DEFAULT_WAIT_S, maxS) * 1000;
  if (
    typeof timeoutS !== "number" || !Number.isFinite(timeoutS) ||
    timeoutS < 0 || timeoutS > maxS
  ) {
    throw new InvalidArgumentError(
      `timeout_s must be a number of seconds from 0 to ${maxS} (default ${DEFAULT_WAIT_S}); to wait longer, call again`,
    );
  }
  return Math.round(timeoutS * 1000);
}

/** How one wait for a change ended. */
export type WaitOutcome = "changed" | "timeout" | "aborted";

/**
 * Waits for the first of: `changed` resolving, the deadline passing, the
 * signal aborting. Leaves no timer or listener behind.
 *
 * @param changed Resolves at a change.
 * @param deadline Epoch ms.
 * @param signal The caller's cancellation, if any.
 * @returns Which came first.
 */
export function raceChange(
  changed: Promise<void>,
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<WaitOutcome> {
  if (signal?.aborted) return Promise.resolve("aborted");
  const left = deadline - Date.now();
  if (left <= 0) return Promise.resolve("timeout");
  return new Promise((resolve) => {
    const done = (outcome: WaitOutcome) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolve(outcome);
    };
    const onAbort = () => done("aborted");
    const timer = setTimeout(() => done("timeout"), left);
    signal?.addEventListener("abort", onAbort, { once: true });
    changed.then(() => done("changed"));
  });
}
