// Private file helpers: private modes, atomic whole-file writes, reads that
// tell "missing" apart from "unreadable", and opens that never follow a
// symlink. Synchronous on purpose: every broker critical section runs without
// an `await`, so two operations in one process never interleave while one of
// them holds a lock.
//
// Why the symlink rules: Deno checks permissions on the path as written, not
// on where a symlink leads, so a link planted in the broker root would let a
// process scoped to the root read or write outside it. Deno has no O_NOFOLLOW,
// so every open here is (1) an exclusive create, which fails on any existing
// name, links included, or (2) an open of a name that `lstat` shows to be a
// regular file, checked afterwards against the opened descriptor: the file we
// hold must be the very file the name points at now. Directories between the
// root and a file are checked the same way. What remains is a race in which
// another process of the same user swaps a directory for a link between our
// check and our open; that user can write the files directly anyway
// (docs/design.md#symlinks, #threat-model).

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
 * created one level at a time and refused if it is a symlink.
 */
export function ensureDir(path: string, root = false): void {
  if (created.has(path)) return;
  const parent = dirPath(path);
  const underRoot = !root && rootOf(path) !== undefined;
  if (underRoot && !roots.has(parent)) ensureDir(parent);
  try {
    Deno.mkdirSync(path, { recursive: !underRoot, mode: DIR_MODE });
  } catch (e) {
    // Another process may have created it between our check and mkdir.
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
  }
  if (underRoot) checkDirectory(path);
  if (root) roots.add(path);
  created.add(path);
}

/**
 * Creates `path` again even if it was created before: for callers that just
 * found it missing (someone removed it while this process ran).
 */
export function recreateDir(path: string): void {
  for (const dir of created) {
    // Its parents too: `archive/sent` is missing when `archive/` was removed.
    if (
      dir === path || dir.startsWith(path + "/") ||
      (path.startsWith(dir + "/") && !roots.has(dir))
    ) {
      created.delete(dir);
    }
  }
  ensureDir(path, roots.has(path));
}

/** The known broker root `path` lies under, if any (the longest). */
function rootOf(path: string): string | undefined {
  let best: string | undefined;
  for (const r of roots) {
    if (path.startsWith(r + "/") && (!best || r.length > best.length)) best = r;
  }
  return best;
}

/** Throws unless `dir` is a real directory (not a link to one). */
function checkDirectory(dir: string): void {
  const info = Deno.lstatSync(dir);
  if (info.isSymlink) throw new SymlinkRefusedError(dir, "directory");
  if (!info.isDirectory) throw new SymlinkRefusedError(dir, "not_directory");
}

/**
 * Checks every directory between `path`'s broker root and `path`. Missing
 * directories are fine here: the open that follows creates or reports them.
 */
function checkParents(path: string): void {
  const root = rootOf(path);
  if (root === undefined) return;
  const parts = path.slice(root.length + 1).split("/");
  let dir = root;
  for (let i = 0; i < parts.length - 1; i++) {
    dir += "/" + parts[i];
    try {
      checkDirectory(dir);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw e;
    }
  }
}

/** Access wanted from {@linkcode openFile}. */
export interface FileAccess {
  /** Open for reading. */
  read?: boolean;
  /** Open for writing (never truncates). */
  write?: boolean;
  /** Open for appending. */
  append?: boolean;
}

/** How many times an open is retried when the name moved under it. */
const OPEN_ATTEMPTS = 8;

/**
 * Opens the regular file at `path`, never following a symlink: a link (or a
 * FIFO, device or directory) at `path` or between its broker root and it is
 * refused with an error that names it. With `create`, a missing file is
 * created 0600 (and its directory, when that was removed meanwhile) with an
 * exclusive create, which cannot follow a link either.
 *
 * Requires `--allow-read` (and `--allow-write` to write) on the file.
 *
 * @param path The file.
 * @param access How to open it.
 * @param create Create the file when missing.
 * @returns The open file, or `null` when it is missing and `create` is off.
 * @throws {SymlinkRefusedError} When `path` is not a plain regular file.
 */
export function openFile(
  path: string,
  access: FileAccess,
  create = false,
): Deno.FsFile | null {
  checkParents(path);
  for (let attempt = 0; attempt < OPEN_ATTEMPTS; attempt++) {
    // Look first: most opens find the file there, and a refused exclusive
    // create costs a thrown error.
    const before = lstatOrNull(path);
    if (before === null) {
      if (!create) return null;
      try {
        return Deno.openSync(path, {
          ...access,
          createNew: true,
          mode: FILE_MODE,
        });
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) {
          recreateDir(dirPath(path));
          continue;
        }
        if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
        continue; // created meanwhile: look again
      }
    }
    refuseUnlessFile(path, before);
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, access);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      if (create) continue;
      return null;
    }
    // The name may have changed between the lstat and the open (a rename
    // replacing the file is normal; a planted link is not): keep the file
    // only if the name still points at exactly what we opened.
    const held = file.statSync();
    const now = lstatOrNull(path);
    if (now !== null) refuseUnlessFile(path, now, file);
    if (now !== null && now.ino === held.ino && now.dev === held.dev) {
      return file;
    }
    file.close();
  }
  throw new SymlinkRefusedError(path, "unstable");
}

function lstatOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

function refuseUnlessFile(
  path: string,
  info: Deno.FileInfo,
  open?: Deno.FsFile,
): void {
  if (info.isFile) return;
  open?.close();
  throw new SymlinkRefusedError(path, info.isSymlink ? "file" : "not_file");
}

/** Reads an open file from its start to its end. */
export function readAll(file: Deno.FsFile): Uint8Array {
  let buffer = new Uint8Array(Math.max(file.statSync().size, 4096));
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      const bigger = new Uint8Array(buffer.length * 2);
      bigger.set(buffer);
      buffer = bigger;
    }
    const n = file.readSync(buffer.subarray(length));
    if (n === null) break;
    length += n;
  }
  return buffer.subarray(0, length);
}

/** Reads a file's bytes, or returns `null` when it does not exist. */
export function readBytesOrNull(path: string): Uint8Array | null {
  const file = openFile(path, { read: true });
  if (file === null) return null;
  try {
    return readAll(file);
  } finally {
    file.close();
  }
}

const lenient = new TextDecoder();

/** Reads a UTF-8 file, or returns `null` when it does not exist. */
export function readTextOrNull(path: string): string | null {
  const bytes = readBytesOrNull(path);
  return bytes === null ? null : lenient.decode(bytes);
}

/** A name no other process can guess: temp files are created exclusively. */
function unguessable(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const encoder = new TextEncoder();

/**
 * Replaces `path` with `data` atomically: readers see the old or the new file,
 * never a half-written one, and no temp file survives (it is removed on error).
 * The temp file has an unguessable name and is created exclusively, and
 * `rename` replaces a link at `path` instead of following it.
 */
export function atomicWriteText(path: string, data: string): void {
  ensureDir(dirPath(path));
  checkParents(path);
  const temp = `${path}.${unguessable()}.tmp`;
  const file = Deno.openSync(temp, {
    write: true,
    createNew: true,
    mode: FILE_MODE,
  });
  try {
    try {
      writeAll(file, encoder.encode(data));
    } finally {
      file.close();
    }
    Deno.renameSync(temp, path);
  } catch (e) {
    removeIfExists(temp);
    throw e;
  }
}

/** Writes all of `data` to an open file. */
export function writeAll(file: Deno.FsFile, data: Uint8Array): void {
  let done = 0;
  while (done < data.length) done += file.writeSync(data.subarray(done));
}

/** Empties the regular file at `path` (never through a link). */
export function truncateFile(path: string): void {
  const file = openFile(path, { write: true });
  if (file === null) return;
  try {
    file.truncateSync(0);
  } finally {
    file.close();
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
 * this process ran, the directory too; never through a link.
 */
export function openCreating(path: string, access: FileAccess): Deno.FsFile {
  return openFile(path, access, true)!;
}
