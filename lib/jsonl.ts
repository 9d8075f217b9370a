/**
 * Append-only JSON Lines files: inboxes, archives, dead letters, room history
 * and the audit log.
 *
 * A writer appends one complete line per record in one `write`, so a reader
 * never needs a lock: at worst it sees the last line half-written (no trailing
 * newline) and ignores it. A writer that crashed mid-line leaves such a torn
 * tail behind; the next writer cuts it off under the lock before appending.
 * The torn bytes were never acknowledged to anyone, so nothing is lost.
 *
 * @module
 */

import { dirname } from "node:path";
import {
  atomicWriteText,
  FILE_MODE,
  readBytesOrNull,
  recreateDir,
} from "./_fs.ts";
import { CorruptFileError } from "./errors.ts";

const NEWLINE = 0x0a;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** What {@linkcode readJsonl} found. */
export interface JsonlContent<T> {
  /** Every complete, valid record, oldest first. */
  records: T[];
  /** Whether the file ended in a partial line (ignored). */
  tornTail: boolean;
}

/**
 * Reads every complete line of a JSON Lines file.
 *
 * Requires `--allow-read` on the file.
 *
 * @param path The file; a missing file reads as empty.
 * @param problem Returns `null` for a valid record, else what is wrong.
 * @returns The records, and whether a torn last line was skipped.
 * @throws {CorruptFileError} On a complete line that is not a valid record:
 * the file is left as it is, and the error names it and the line.
 */
export function readJsonl<T>(
  path: string,
  problem: (value: unknown) => string | null,
): JsonlContent<T> {
  const bytes = readBytesOrNull(path);
  if (bytes === null || bytes.length === 0) {
    return { records: [], tornTail: false };
  }
  const end = bytes.lastIndexOf(NEWLINE) + 1;
  let text: string;
  try {
    text = decoder.decode(bytes.subarray(0, end));
  } catch {
    throw new CorruptFileError(path, "not UTF-8");
  }
  const records: T[] = [];
  let lineNo = 0;
  let start = 0;
  while (start < text.length) {
    let stop = text.indexOf("\n", start);
    if (stop === -1) stop = text.length;
    lineNo++;
    const line = text.slice(start, stop);
    start = stop + 1;
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new CorruptFileError(path, `line ${lineNo} is not JSON`);
    }
    const reason = problem(value);
    if (reason !== null) {
      throw new CorruptFileError(path, `line ${lineNo}: ${reason}`);
    }
    records.push(value as T);
  }
  return { records, tornTail: end < bytes.length };
}

/**
 * Appends records, one JSON line each, in a single write. The caller must hold
 * the file's lock: the torn-tail repair reads and truncates.
 *
 * Requires `--allow-read` and `--allow-write` on the file.
 *
 * @param path The file (created 0600 with its directory when missing).
 * @param records Records to append, in order.
 */
export function appendJsonl(path: string, records: readonly unknown[]): void {
  if (records.length === 0) return;
  let text = "";
  for (const record of records) text += JSON.stringify(record) + "\n";
  appendText(path, text);
}

/**
 * Appends pre-serialised text that must end in a newline. Caller holds the lock.
 *
 * @param path The file.
 * @param text One or more complete lines.
 */
export function appendText(path: string, text: string): void {
  const file = openForAppend(path);
  try {
    repairTornTail(file);
    writeAll(file, encoder.encode(text));
  } finally {
    file.close();
  }
}

function openForAppend(path: string): Deno.FsFile {
  const options = { read: true, append: true, create: true, mode: FILE_MODE };
  try {
    return Deno.openSync(path, options);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    recreateDir(dirname(path));
    return Deno.openSync(path, options);
  }
}

/** Cuts a partial last line left by a writer that died mid-write. */
function repairTornTail(file: Deno.FsFile): void {
  const size = file.statSync().size;
  if (size === 0) return;
  const last = new Uint8Array(1);
  file.seekSync(size - 1, Deno.SeekMode.Start);
  file.readSync(last);
  if (last[0] === NEWLINE) return;
  file.truncateSync(lastNewlineBefore(file, size) + 1);
}

/** Offset of the last newline before `size`, or -1 when there is none. */
function lastNewlineBefore(file: Deno.FsFile, size: number): number {
  const chunk = new Uint8Array(64 * 1024);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    const view = chunk.subarray(0, end - start);
    file.seekSync(start, Deno.SeekMode.Start);
    readFull(file, view);
    const at = view.lastIndexOf(NEWLINE);
    if (at !== -1) return start + at;
    end = start;
  }
  return -1;
}

function readFull(file: Deno.FsFile, into: Uint8Array): void {
  let done = 0;
  while (done < into.length) {
    const n = file.readSync(into.subarray(done));
    if (n === null) break;
    done += n;
  }
}

function writeAll(file: Deno.FsFile, data: Uint8Array): void {
  let done = 0;
  while (done < data.length) done += file.writeSync(data.subarray(done));
}

/**
 * Replaces a JSON Lines file with `records` (used when a drain keeps some
 * messages). Goes through a temp file and `rename`, like every whole-file
 * write. Caller holds the lock.
 *
 * @param path The file.
 * @param records The records it should hold.
 */
export function rewriteJsonl(path: string, records: readonly unknown[]): void {
  let text = "";
  for (const record of records) text += JSON.stringify(record) + "\n";
  atomicWriteText(path, text);
}
