/**
 * Claude Code's rewake waiter (issue 9), the idle wake for Claude Code
 * versions without the messaging socket. `c2c setup claude-code --rewake`
 * adds SessionStart and Stop hooks with `"asyncRewake": true`: Claude Code
 * runs them in the background, and when one exits with code 2 an idle
 * session wakes and its model reads the hook's stderr as feedback. This is
 * what those hooks run (`c2c hook claude-code --rewake`):
 *
 * - One waiter per session: the waiter holds `rewake/<session>.lock`
 *   ({@linkcode RewakeLock}). Every turn end starts another; it finds the
 *   lock held and ends at once.
 * - It watches the broker root and, when messages wait (a burst counts
 *   once), takes them and writes their envelopes to stderr: exit 2.
 * - It dies with the session: it ends when the session's lease reads dead
 *   (the MCP server holds it for the client's whole life), when its parent —
 *   Claude Code, which `exec`s it through the hook's shell — is gone, when a
 *   signal stops it (Claude Code sends SIGTERM to its hooks as it exits),
 *   and a little before the hook's timeout kills it.
 *
 * Exactly once: the messages are taken first and written second (Claude
 * Code reads the output only after the exit), under the session's delivery
 * lock, so a hook delivering at the same moment cannot show them too. A
 * failed write, or a signal between the write and the exit, puts them back.
 *
 * Requires `--allow-read` and `--allow-write` on the broker root.
 *
 * @module
 */

import { basename, dirname } from "node:path";
import type { Broker } from "../lib/broker.ts";
import {
  deliver,
  type DeliveryBounds,
  MAX_ALONE_BYTES,
} from "../lib/delivery.ts";
import { renderEnvelope, renderEnvelopes } from "../lib/envelope.ts";
import { deliveryText } from "../lib/hook.ts";
import { REWAKE_TIMEOUT_S } from "../lib/wake_info.ts";
import { utf8Bytes } from "../lib/_bytes.ts";
import { InboxScanner } from "./inbox_scanner.ts";
import { InboxWatch } from "./inbox_watch.ts";

/** The exit status that makes Claude Code wake the session (asyncRewake). */
export const REWAKE_EXIT = 2;

/** How a waiter ended. */
export type RewakeOutcome =
  /** Messages written to stderr: exit {@linkcode REWAKE_EXIT}. */
  | { kind: "delivered"; ids: string[] }
  /** Another waiter is armed for the session. */
  | { kind: "armed_elsewhere" }
  /** The session's lease reads dead: its client is gone. */
  | { kind: "session_ended" }
  /** The process that started the waiter is gone. */
  | { kind: "parent_gone" }
  /** The wait reached its limit (the hook's timeout is near). */
  | { kind: "timed_out" }
  /** A signal (or the caller) stopped it. */
  | { kind: "stopped" }
  /** Stderr could not be written; the messages went back to the inbox. */
  | { kind: "write_failed" };

/** Options of {@linkcode waitToRewake}. */
export interface RewakeOptions {
  /** The broker. */
  broker: Broker;
  /** The session to wait for. */
  sessionId: string;
  /** Writes the text the model reads (stderr). */
  write(text: string): Promise<void>;
  /** Stops the wait (signals). */
  signal?: AbortSignal;
  /** Longest wait (default: the hook's timeout less 15 s). */
  waitMs?: number;
  /** Liveness, parent and inbox check interval (default 1 s). */
  checkMs?: number;
  /**
   * How long a lease that reads dead is taken for a server that has not
   * started yet (a resumed session's old lease), unless it was seen alive
   * (default 60 s).
   */
  startGraceMs?: number;
  /** Wake after the inbox was quiet this long (default 25 ms). */
  quietMs?: number;
  /** Wake at the latest this long after a burst's first message (default 200 ms). */
  maxWaitMs?: number;
  /** Most messages per wake (default 50; the rest come with the next one). */
  limit?: number;
  /** About this many bytes of messages per wake (default 256 KiB). */
  maxBytes?: number;
  /** The parent's pid now (default `Deno.ppid`, which changes on reparenting). */
  parentPid?(): number;
}

type Settings = Required<Omit<RewakeOptions, "signal">> & {
  signal?: AbortSignal;
};

/**
 * Arms the session's waiter and waits until messages arrive (then takes
 * them and writes them with `write`) or the session ends.
 *
 * Requires `--allow-read` and `--allow-write` on the broker root.
 *
 * @param options Broker, session, output and timing.
 * @returns How it ended; `delivered` means: exit {@linkcode REWAKE_EXIT}.
 *
 * @example Usage
 * ```ts ignore
 * import { REWAKE_EXIT, waitToRewake } from "./rewake.ts";
 * const outcome = await waitToRewake({ broker, sessionId, write });
 * Deno.exit(outcome.kind === "delivered" ? REWAKE_EXIT : 0);
 * ```
 */
export async function waitToRewake(
  options: RewakeOptions,
): Promise<RewakeOutcome> {
  const o: Settings = {
    waitMs: (REWAKE_TIMEOUT_S - 15) * 1000,
    checkMs: 1_000,
    startGraceMs: 60_000,
    quietMs: 25,
    maxWaitMs: 200,
    limit: 50,
    maxBytes: 256 * 1024,
    parentPid: () => Deno.ppid,
    ...options,
  };
  const { broker, sessionId, signal } = o;
  // Looked at before arming, so that a waiter seen armed knows its parent
  // and has seen a live session alive: their end is noticed at the next
  // check.
  const parent = o.parentPid();
  let seenAlive = await broker.liveness(sessionId) === true;
  using lock = await broker.armRewake(sessionId);
  if (!lock) return { kind: "armed_elsewhere" };
  const started = Date.now();
  const signalFile = broker.paths.signal(sessionId);
  const inbox = basename(signalFile);
  const scanner = new InboxScanner(broker);
  let done = false;
  let finish: (outcome: RewakeOutcome) => void = () => {};
  const ended = new Promise<RewakeOutcome>((resolve) => finish = resolve);
  // Everything that may change the answer runs a pass: a burst of inbox
  // events once it settles, the periodic check (liveness, parent, and the
  // inbox when no watch could start), a signal.
  const watch = new InboxWatch({
    root: dirname(signalFile),
    relevant: (name) => name === inbox,
    quietMs: o.quietMs,
    maxWaitMs: o.maxWaitMs,
    everyMs: o.checkMs,
    // Events are a hint: the periodic check still finds the messages.
    onError: () => {},
    pass: async () => {
      if (done) return; // one outcome, one delivery at most
      const outcome = await check();
      if (outcome) {
        done = true;
        finish(outcome);
      }
    },
  });
  const check = async (): Promise<RewakeOutcome | null> => {
    if (signal?.aborted) return { kind: "stopped" };
    if (o.parentPid() !== parent) return { kind: "parent_gone" };
    const live = await broker.liveness(sessionId);
    if (live === true) {
      seenAlive = true;
    } else if (
      live === false &&
      (seenAlive || Date.now() - started >= o.startGraceMs)
    ) {
      return { kind: "session_ended" };
    }
    if (Date.now() - started >= o.waitMs) return { kind: "timed_out" };
    // While a burst is still arriving, its end brings us back.
    if (watch.settling || (await scanner.scan(sessionId)).length === 0) {
      return null;
    }
    return await deliverOnce(o);
  };
  const onAbort = () => watch.runSoon();
  signal?.addEventListener("abort", onAbort);
  watch.start();
  try {
    return await ended;
  } finally {
    watch.stop();
    signal?.removeEventListener("abort", onAbort);
    await watch.idle();
  }
}

/**
 * The bounds of one wake, measured on the text written to stderr: the
 * header line, then one envelope per line.
 */
function rewakeBounds(o: Settings): DeliveryBounds {
  return {
    limit: o.limit,
    maxBytes: o.maxBytes,
    aloneBytes: Math.max(o.maxBytes, MAX_ALONE_BYTES),
    cost: (m) => utf8Bytes(renderEnvelope(m)) + 1,
    overhead: utf8Bytes(deliveryText("", 999_999_999, 999_999_999)),
  };
}

/**
 * Takes the waiting messages and writes them: take first, show after, since
 * Claude Code reads the output only once the waiter exits.
 *
 * @returns The outcome, or `null` when a hook took the messages first.
 */
async function deliverOnce(o: Settings): Promise<RewakeOutcome | null> {
  const { broker, sessionId, signal } = o;
  let stopped = false;
  const r = await deliver(broker, sessionId, {
    order: "take-then-show",
    via: "wake",
    bounds: rewakeBounds(o),
    show: async ({ messages, remaining }) => {
      // A failed write (Claude Code gone: a closed pipe) throws: they go back.
      await o.write(
        deliveryText(renderEnvelopes(messages), messages.length, remaining),
      );
      if (signal?.aborted) {
        // Stopped after the write: Claude Code does not take the output of
        // a hook it is killing, so the messages go back.
        stopped = true;
        return { shown: 0 };
      }
    },
  });
  if (stopped) return { kind: "stopped" };
  if (r.error !== undefined) return { kind: "write_failed" };
  if (r.delivered.length === 0) return null;
  return { kind: "delivered", ids: r.delivered.map((m) => m.id) };
}
