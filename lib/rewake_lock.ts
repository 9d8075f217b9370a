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

import { ensureDir, FILE_MODE } from "./_fs.ts";
import { sameInode } from "./lock.ts";
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
    const path = paths.rewakeLock(sessionId);
    ensureDir(paths.rewakeDir);
    const deadline = Date.now() + PROBE_GRACE_MS;
    for (;;) {
      const file = Deno.openSync(path, {
        read: true,
        write: true,
        create: true,
        mode: FILE_MODE,
      });
      if (file.tryLockSync(true)) {
        // A lock on a file that broker-gc unlinked meanwhile would be
        // invisible to the next waiter.
        if (sameInode(file, path)) return new RewakeLock(sessionId, file);
        file.close();
        continue;
      }
      file.close();
      if (Date.now() >= deadline) return null;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
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
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(paths.rewakeLock(sessionId), {
        read: true,
        write: true,
      });
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return false;
      throw e;
    }
    try {
      return !file.tryLockSync(true);
    } finally {
      file.close();
    }
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
