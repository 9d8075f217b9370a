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

import { dirPath } from "./_path.ts";
import { FILE_MODE, recreateDir } from "./_fs.ts";

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
 * Opens and locks a sidecar, retrying when the file was unlinked (by garbage
 * collection) between our open and our lock: a lock on an unlinked inode would
 * exclude nobody.
 */
function openLocked(path: string, exclusive: boolean): Deno.FsFile {
  for (;;) {
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, {
        read: true,
        write: true,
        create: true,
        mode: FILE_MODE,
      });
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      recreateDir(dirPath(path));
      continue;
    }
    try {
      file.lockSync(exclusive);
      if (sameInode(file, path)) return file;
    } catch (e) {
      file.close();
      throw e;
    }
    file.close();
  }
}

/** Whether the open `file` is still the file at `path`. */
export function sameInode(file: Deno.FsFile, path: string): boolean {
  try {
    return file.statSync().ino === Deno.statSync(path).ino;
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
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true, write: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
  try {
    if (!file.tryLockSync(true)) return false;
    if (!sameInode(file, path)) return false;
    Deno.removeSync(path);
    return true;
  } finally {
    file.close();
  }
}
