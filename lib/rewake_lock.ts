/**
 * The armed-waiter lock of a session (`rewake/<session>.lock`): Claude Code
 * starts a rewake waiter at the session's start and at the end of every turn
 * (`c2c setup claude-code --rewake`), and exactly one of them may wait per
 * session. The one holding this lock is armed; the others see it held and
 * end at once. The kernel drops the lock when the waiter exits, however it
 * exits, so a killed waiter never leaves the session unable to arm another.
 *
 * @module
 */

import { isLockHeld, tryLockSidecar } from "./lock.ts";
import type { BrokerPaths } from "./paths.ts";

/**
 * How long {@linkcode RewakeLock.tryArm} keeps trying while the lock is busy:
 * a probe ({@linkcode RewakeLock.armed}) holds it for microseconds and must
 * not make a waiter give up.
 */
const PROBE_GRACE_MS = 100;

/**
 * A held armed-waiter lock; release it (or exit) when the waiter ends.
 *
 * @example Usage
 * ```ts ignore
 * import { RewakeLock } from "./rewake_lock.ts";
 * using lock = await RewakeLock.tryArm(broker.paths, sessionId);
 * if (!lock) Deno.exit(0); // another waiter is armed
 * ```
 */
export class RewakeLock implements Disposable {
  /** The session the waiter waits for. */
  readonly sessionId: string;
  #file: Deno.FsFile | null;

  private constructor(sessionId: string, file: Deno.FsFile) {
    this.sessionId = sessionId;
    this.#file = file;
  }

  /**
   * Arms the caller as the session's waiter, unless another one is.
   *
   * Requires `--allow-read` and `--allow-write` on the broker root.
   *
   * @param paths Broker layout.
   * @param sessionId The session.
   * @returns The held lock, or `null` when another waiter holds it.
   */
  static async tryArm(
    paths: BrokerPaths,
    sessionId: string,
  ): Promise<RewakeLock | null> {
    const file = await tryLockSidecar(
      paths.rewakeLock(sessionId),
      PROBE_GRACE_MS,
    );
    return file ? new RewakeLock(sessionId, file) : null;
  }

  /**
   * Whether a waiter is armed for the session now.
   *
   * Requires `--allow-read` and `--allow-write` on the broker root.
   *
   * @param paths Broker layout.
   * @param sessionId The session.
   * @returns `true` while a waiter holds the lock.
   */
  static armed(paths: BrokerPaths, sessionId: string): boolean {
    return isLockHeld(paths.rewakeLock(sessionId)) === true;
  }

  /** Releases the lock: another waiter may arm. Idempotent. */
  release(): void {
    this.#file?.close();
    this.#file = null;
  }

  /** Releases the lock at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.release();
  }
}
