// Private file helpers: private modes, atomic whole-file writes, and reads that
// tell "missing" apart from "unreadable". Synchronous on purpose: every broker
// critical section runs without an `await`, so two operations in one process
// never interleave while one of them holds a lock.

import { dirPath } from "./_path.ts";
import { SymlinkRefusedError } from "./errors.ts";

/** Mode of every directory the broker creates. */
export const DIR_MODE = 0o700;
/** Mode of every file the broker creates. */
export const FILE_MODE = 0o600;

const created = new Set<string>();
const roots = new Set<string>();

/**
 * Creates `path` with mode 0700 unless it already exists.
 *
 * With `root`, `path` is a broker root: created with its parents, and it may
 * be a symlink by the user's choice. Any other directory under a known root is
 * created one level at a time and refused if it is a symlink: Deno checks
 * permissions on the path as written, so a symlink planted inside the broker
 * could otherwise lead writes outside the root.
 */
export function ensureDir(path: string, root = false): void {
  if (created.has(path)) return;
  const parent = dirPath(path);
  const underRoot = !root && [...roots].some((r) => path.startsWith(r + "/"));
  if (underRoot && !roots.has(parent)) ensureDir(parent);
  try {
    Deno.mkdirSync(path, { recursive: !underRoot, mode: DIR_MODE });
  } catch (e) {
    // Another process may have created it between our check and mkdir.
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
  }
  if (underRoot && Deno.lstatSync(path).isSymlink) {
    throw new SymlinkRefusedError(path);
  }
  if (root) roots.add(path);
  created.add(path);
}

/**
 * Creates `path` again even if it was created before: for callers that just
 * found it missing (someone removed it while this process ran).
 */
export function recreateDir(path: string): void {
  for (const dir of created) {
    if (dir === path || dir.startsWith(path + "/")) created.delete(dir);
  }
  ensureDir(path, roots.has(path));
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
  ensureDir(dirPath(path));
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

/**
 * Opens `path` creating it (0600) and, when its directory was removed while
 * this process ran, the directory too.
 */
export function openCreating(
  path: string,
  options: { read?: boolean; write?: boolean; append?: boolean },
): Deno.FsFile {
  const full = { ...options, create: true, mode: FILE_MODE };
  try {
    return Deno.openSync(path, full);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    recreateDir(dirPath(path));
    return Deno.openSync(path, full);
  }
}
