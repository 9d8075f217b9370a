/**
 * The delivery lock of a session (`locks/deliver.<session>.lock`): held by
 * whatever hands the session's messages to its agent — a client's hook
 * (`c2c hook`), the CLI poller (`c2c poll-inbox`), Claude Code's rewake
 * waiter, the MCP server's native wake, channel push and `poll_inbox` — from
 * reading the messages to taking them from the inbox. All but `poll_inbox`
 * take it through `deliver()` (`delivery.ts`).
 *
 * Why: the hook and the CLI poller show messages first and take them after
 * (a process killed between the two must not lose them), while the rewake
 * waiter and the pushes take them first and show them after (the output
 * counts only once complete). Each order is safe alone; run side by side —
 * a Stop hook and a waiter at the same turn end, a hook and a channel push —
 * the hook could show a message the other took and showed too. Under this
 * lock they cannot interleave: whoever comes second finds the messages gone.
 *
 * Unlike the broker's own locks (`lock.ts`) it is held across `await`s; each
 * process that takes it delivers once and then ends. Lock order: delivery
 * first, then the broker's (registry → inbox → …).
 *
 * @module
 */

import { keepIfLinked, openSidecar } from "./lock.ts";
import type { BrokerPaths } from "./paths.ts";

/**
 * Runs `fn` while holding the session's delivery lock, waiting for it when
 * another process holds it (for as long as one delivery takes).
 *
 * Requires `--allow-read` and `--allow-write` on the broker root.
 *
 * @param paths Broker layout.
 * @param sessionId The session whose messages are delivered.
 * @param fn Reads, shows and takes the messages.
 * @returns Whatever `fn` returns.
 *
 * @example Usage
 * ```ts ignore
 * import { withDeliveryLock } from "./delivery_lock.ts";
 * await withDeliveryLock(broker.paths, sessionId, async () => {
 *   // peek, print, drain
 * });
 * ```
 */
export async function withDeliveryLock<T>(
  paths: BrokerPaths,
  sessionId: string,
  fn: () => Promise<T>,
): Promise<T> {
  const path = paths.deliveryLock(sessionId);
  const file = await openLocked(path);
  try {
    return await fn();
  } finally {
    file.close(); // closing the descriptor releases the lock
  }
}

/** Opens and locks the sidecar, waiting without blocking the event loop. */
async function openLocked(path: string): Promise<Deno.FsFile> {
  for (;;) {
    const file = openSidecar(path);
    try {
      await file.lock(true);
    } catch (e) {
      file.close();
      throw e;
    }
    if (keepIfLinked(file, path)) return file;
  }
}
