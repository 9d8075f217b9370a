// Private file helpers: private modes, atomic whole-file writes, and reads that
// tell "missing" apart from "unreadable". Synchronous on purpose: every broker
// critical section runs without an `await`, so two operations in one process
// never interleave while one of them holds a lock.

import { dirname } from "node:path";

/** Mode of every directory the broker creates. */
export const DIR_MODE = 0o700;
/** Mode of every file the broker creates. */
export const FILE_MODE = 0o600;

const created = new Set<string>();

/** Creates `path` (and parents) with mode 0700 unless it already exists. */
export function ensureDir(path: string): void {
  if (created.has(path)) return;
  try {
    Deno.mkdirSync(path, { recursive: true, mode: DIR_MODE });
  } catch (e) {
    // Another process may have created it between our check and mkdir.
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
  }
  created.add(path);
}

/** Forgets which directories were created (tests that delete the root). */
export function forgetCreatedDirs(): void {
  created.clear();
}

/** Reads a UTF-8 file, or returns `null` when it does not exist. */
export function readTextOrNull(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** Reads a file's bytes, or returns `null` when it does not exist. */
export function readBytesOrNull(path: string): Uint8Array | null {
  try {
    return Deno.readFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

let tempCounter = 0;

/**
 * Replaces `path` with `data` atomically: readers see the old or the new file,
 * never a half-written one, and no temp file survives (it is removed on error).
 */
export function atomicWriteText(path: string, data: string): void {
  ensureDir(dirname(path));
  const temp = `${path}.${Deno.pid}.${++tempCounter}.tmp`;
  try {
    Deno.writeTextFileSync(temp, data, { mode: FILE_MODE });
    Deno.renameSync(temp, path);
  } catch (e) {
    try {
      Deno.removeSync(temp);
    } catch { /* the temp file was never created */ }
    throw e;
  }
}

/** Removes a file; a missing file is not an error. */
export function removeIfExists(path: string): void {
  try {
    Deno.removeSync(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}
