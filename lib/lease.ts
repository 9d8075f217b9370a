/**
 * Session leases: how the broker knows whether a session is alive (docs/design.md#liveness).
 *
 * The long-lived process of a session (its MCP server, or the `c2c run`
 * harness) holds an exclusive lock on `leases/<session>.lock` for its whole
 * life. The kernel drops that lock the instant the process dies, however it
 * dies, so a probe can tell "alive" from "dead" without trusting pids, which
 * the system reuses.
 *
 * @module
 */

import type { BrokerPaths } from "./paths.ts";
import { isLockHeld, removeLockIfIdle, tryLockSidecar } from "./lock.ts";
import { SessionInUseError } from "./errors.ts";

/** `true` alive, `false` dead, `null` unknown (no lease was ever taken). */
export type Liveness = boolean | null;

/**
 * A held lease. Keep the object for as long as the session lives; call
 * {@linkcode Lease.release} (or just exit) when it ends.
 *
 * @example Usage
 * ```ts ignore
 * import { Lease } from "./lease.ts";
 * import { brokerPaths } from "./paths.ts";
 * const lease = await Lease.acquire(brokerPaths("/tmp/broker"), "session-1");
 * // ... serve the session ...
 * lease.release();
 * ```
 */
export class Lease {
  /** The session this lease keeps alive. */
  readonly sessionId: string;
  #file: Deno.FsFile | null;

  private constructor(sessionId: string, file: Deno.FsFile) {
    this.sessionId = sessionId;
    this.#file = file;
  }

  /**
   * Takes the lease of `sessionId`.
   *
   * A probe holds the lock for a few microseconds, so a failed attempt is
   * retried for up to `waitMs` before concluding another process owns it.
   *
   * Requires `--allow-read` and `--allow-write` on the broker root.
   *
   * @param paths Broker layout.
   * @param sessionId Session to lease.
   * @param waitMs How long to keep retrying while the lock is busy.
   * @returns The held lease.
   * @throws {SessionInUseError} When another live process holds it.
   */
  static async acquire(
    paths: BrokerPaths,
    sessionId: string,
    waitMs = 250,
  ): Promise<Lease> {
    const file = await tryLockSidecar(paths.lease(sessionId), waitMs);
    if (!file) throw new SessionInUseError(sessionId);
    return new Lease(sessionId, file);
  }

  /** Whether this object still holds the lease. */
  get held(): boolean {
    return this.#file !== null;
  }

  /** Releases the lease; the session reads dead from now on. Idempotent. */
  release(): void {
    this.#file?.close();
    this.#file = null;
  }

  /** Releases the lease at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.release();
  }
}

/**
 * Probes the lease of `sessionId` without keeping it.
 *
 * Requires `--allow-read` and `--allow-write` on the broker root.
 *
 * @param paths Broker layout.
 * @param sessionId Session to probe.
 * @returns `true` when a live process holds it, `false` when the lease file
 * exists but nobody holds it (its owner died), `null` when no lease was ever
 * taken (a registration made from a shell).
 *
 * @example Usage
 * ```ts ignore
 * import { probeLease } from "./lease.ts";
 * import { brokerPaths } from "./paths.ts";
 * probeLease(brokerPaths("/tmp/broker"), "session-1"); // true | false | null
 * ```
 */
export function probeLease(paths: BrokerPaths, sessionId: string): Liveness {
  return isLockHeld(paths.lease(sessionId));
}

/**
 * Removes the lease file of a dead session, so that a later registration made
 * without a lease (from a shell) reads as unknown rather than dead.
 *
 * @param paths Broker layout.
 * @param sessionId Session whose stale lease to drop.
 * @returns `true` when a stale lease file was removed.
 */
export function clearStaleLease(
  paths: BrokerPaths,
  sessionId: string,
): boolean {
  return removeLockIfIdle(paths.lease(sessionId));
}

/**
 * Reads a process's start time (field 22 of `/proc/<pid>/stat`, in clock ticks
 * since boot), or `null` when it cannot be read. Deno refuses `/proc` reads
 * without `--allow-all`, so this is `null` under scoped permissions.
 *
 * @param pid Process id.
 * @returns Start time in clock ticks, or `null`.
 */
export function readPidStartTime(pid: number): number | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The command name (field 2) may contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const start = Number(fields[19]);
    return Number.isFinite(start) ? start : null;
  } catch {
    return null;
  }
}
