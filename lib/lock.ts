/**
 * Advisory file locks on sidecar files (`locks/*.lock`), the one lock class
 * shared by the MCP server, the CLI and every other process on the broker.
 *
 * Lock order is fixed, so no two processes can deadlock:
 * room → registry → inbox → dead-letter. A session's delivery lock
 * (`delivery_lock.ts`, held by a hook or waiter across a delivery) comes
 * before all of them. A caller that needs several inbox
 * locks at once (alias takeover) holds the registry lock exclusively first, so
 * nobody else can be holding two inbox locks at that moment.
 *
 * @module
 */

import { openCreating, openFile } from "./_fs.ts";

/**
 * Runs `fn` while holding a lock on the sidecar file at `path`.
 *
 * The critical section is synchronous on purpose: a lock is never held across
 * an `await`, so operations inside one process cannot interleave under it, and
 * the blocking wait only ever waits for another process. Locks are per open
 * file description (BSD `flock` semantics), so two opens in one process exclude
 * each other too.
 *
 * Requires `--allow-read` and `--allow-write` on the broker root.
 *
 * @param path Sidecar lock file (created 0600 when missing).
 * @param exclusive `true` for a writer lock, `false` for a shared one.
 * @param fn The critical section.
 * @returns Whatever `fn` returns.
 *
 * @example Usage
 * ```ts ignore
 * import { withLock } from "./lock.ts";
 * withLock("/tmp/broker/locks/registry.lock", true, () => {
 *   // read, modify and write registry.json
 * });
 * ```
 */
export function withLock<T>(path: string, exclusive: boolean, fn: () => T): T {
  const file = openLocked(path, exclusive);
  try {
    return fn();
  } finally {
    file.close(); // closing the descriptor releases the lock
  }
}

/**
 * Opens and locks a sidecar (blocking until it is free), retrying when the
 * file was unlinked (by garbage collection) between our open and our lock: a
 * lock on an unlinked inode would exclude nobody.
 *
 * @param path Sidecar lock file (created 0600 when missing).
 * @param exclusive `true` for a writer lock, `false` for a shared one.
 * @returns The locked file: close it to release the lock.
 */
export function openLocked(path: string, exclusive: boolean): Deno.FsFile {
  for (;;) {
    const file = openSidecar(path);
    try {
      file.lockSync(exclusive);
    } catch (e) {
      file.close();
      throw e;
    }
    if (keepIfLinked(file, path)) return file;
  }
}

/**
 * Whether some process holds the lock on a sidecar, without keeping it.
 *
 * The file is opened read-only (`flock` needs no write access): closing a
 * read-only file makes no file-system event, so probes are invisible to
 * watchers of the broker (`c2c ui`), which see only a holder's own close —
 * its death (docs/design.md#live-view).
 *
 * @param path The sidecar.
 * @returns `true` held, `false` free, `null` when the file does not exist.
 */
export function isLockHeld(path: string): boolean | null {
  const file = openFile(path, { read: true });
  if (file === null) return null;
  try {
    return !file.tryLockSync(true);
  } finally {
    file.close();
  }
}

/**
 * Takes a sidecar's exclusive lock unless another process holds it. Probes
 * (liveness checks) hold such locks for microseconds, so a busy lock is
 * retried for up to `graceMs` before the holder is taken to be real.
 *
 * @param path The sidecar.
 * @param graceMs How long to keep retrying a busy lock.
 * @returns The locked file (keep it open to keep the lock), or `null`.
 */
export async function tryLockSidecar(
  path: string,
  graceMs: number,
): Promise<Deno.FsFile | null> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    const file = openSidecar(path);
    if (file.tryLockSync(true)) {
      if (keepIfLinked(file, path)) return file;
      continue;
    }
    file.close();
    if (Date.now() >= deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Opens (creating it 0600, and its directory, when missing) a sidecar lock
 * file: the first step of every lock the broker takes. Lock it, then check
 * {@linkcode keepIfLinked}, and start over when that says no.
 *
 * @param path The sidecar.
 * @returns The open file, not yet locked.
 */
export function openSidecar(path: string): Deno.FsFile {
  return openCreating(path, { read: true, write: true });
}

/**
 * After locking `file`: whether it is still the file at `path`. When garbage
 * collection unlinked it meanwhile, the lock would exclude nobody: the file
 * is closed and the caller opens the new one and tries again.
 *
 * @param file The locked sidecar.
 * @param path Its path.
 * @returns `true` to keep the lock, `false` (file closed) to retry.
 */
export function keepIfLinked(file: Deno.FsFile, path: string): boolean {
  if (sameInode(file, path)) return true;
  file.close();
  return false;
}

/** Whether the open `file` is still the file at `path`. */
export function sameInode(file: Deno.FsFile, path: string): boolean {
  try {
    return file.statSync().ino === Deno.lstatSync(path).ino;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Removes a sidecar lock file if nobody holds it. Holding the lock while
 * unlinking, plus the inode re-check in {@linkcode withLock}, makes this safe
 * against a process that opened the old file just before the unlink.
 *
 * @param path Sidecar lock file.
 * @returns `true` when removed, `false` when in use or missing.
 */
export function removeLockIfIdle(path: string): boolean {
  const file = openFile(path, { read: true, write: true });
  if (file === null) return false;
  try {
    if (!file.tryLockSync(true)) return false;
    if (!sameInode(file, path)) return false;
    Deno.removeSync(path);
    return true;
  } finally {
    file.close();
  }
}
