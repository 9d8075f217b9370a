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

import { basename } from "node:path";
import type { Broker } from "../lib/broker.ts";
import { renderEnvelopes } from "../lib/envelope.ts";
import { deliveryText } from "../lib/hook.ts";
import { selectMessages } from "../lib/inbox.ts";
import { REWAKE_TIMEOUT_S } from "../lib/wake_info.ts";
import { Burst } from "./burst.ts";
import { DirWatcher } from "./dir_watcher.ts";
import { InboxScanner } from "./inbox_scanner.ts";

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
  let seenAlive = broker.liveness(sessionId) === true;
  using lock = await broker.armRewake(sessionId);
  if (!lock) return { kind: "armed_elsewhere" };
  const started = Date.now();
  // Everything that may change the answer pokes the loop: a burst of inbox
  // events (once it settles), the periodic check, a signal.
  let poke = () => {};
  const burst = new Burst({
    quietMs: o.quietMs,
    maxWaitMs: o.maxWaitMs,
    fire: () => poke(),
  });
  const inbox = basename(broker.paths.inbox(sessionId));
  let watcher: DirWatcher | null = null;
  try {
    // Watch the root, not the inbox: the file may not exist yet.
    watcher = new DirWatcher({
      paths: [broker.root],
      onChange: (paths) => {
        for (const path of paths) {
          if (basename(path) === inbox) return burst.poke();
        }
      },
      // Events are a hint: the periodic check still finds the messages.
      onError: () => {},
    });
  } catch {
    // No watch (inotify limits): the periodic check finds the messages,
    // within a second.
  }
  const tick = setInterval(() => poke(), o.checkMs);
  const onAbort = () => poke();
  signal?.addEventListener("abort", onAbort);
  const scanner = new InboxScanner(broker);
  try {
    for (;;) {
      // Made before the checks, so a poke during them is not lost.
      const next = new Promise<void>((resolve) => poke = resolve);
      if (signal?.aborted) return { kind: "stopped" };
      if (o.parentPid() !== parent) return { kind: "parent_gone" };
      const live = broker.liveness(sessionId);
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
      if (!burst.pending && scanner.scan(sessionId).length > 0) {
        const outcome = await deliver(o);
        if (outcome) return outcome;
      }
      await next;
    }
  } finally {
    watcher?.close();
    clearInterval(tick);
    burst.cancel();
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * Takes the waiting messages and writes them, under the delivery lock.
 *
 * @returns The outcome, or `null` when a hook took the messages first.
 */
function deliver(o: Settings): Promise<RewakeOutcome | null> {
  const { broker, sessionId, signal } = o;
  return broker.withDeliveryLock(sessionId, async () => {
    // Read again under the lock: a hook may have taken them meanwhile.
    const { messages: chosen } = selectMessages(
      broker.pendingMessages(sessionId),
      { limit: o.limit, maxBytes: o.maxBytes },
    );
    if (chosen.length === 0) return null;
    const { messages, remaining } = await broker.drainMessages(
      sessionId,
      chosen.map((m) => m.id),
    );
    if (messages.length === 0) return null;
    try {
      await o.write(
        deliveryText(renderEnvelopes(messages), messages.length, remaining),
      );
    } catch {
      // Claude Code is gone (a closed pipe) or never reads this: keep them.
      await broker.restoreMessages(sessionId, messages);
      return { kind: "write_failed" };
    }
    if (signal?.aborted) {
      // Stopped after the write: Claude Code does not take the output of a
      // hook it is killing, so the messages go back.
      await broker.restoreMessages(sessionId, messages);
      return { kind: "stopped" };
    }
    return { kind: "delivered", ids: messages.map((m) => m.id) };
  });
}
