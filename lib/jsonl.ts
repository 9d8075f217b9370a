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

import {
  atomicWriteText,
  openCreating,
  openFile,
  readBytesOrNull,
  writeAll,
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
  // Each line is decoded on its own: one string for the whole file would
  // fail past V8's longest string (about 512 MiB) however valid the lines.
  const end = bytes.lastIndexOf(NEWLINE) + 1;
  const records: T[] = [];
  let lineNo = 0;
  for (let start = 0; start < end;) {
    const stop = bytes.indexOf(NEWLINE, start);
    lineNo++;
    const line = bytes.subarray(start, stop);
    start = stop + 1;
    if (isBlank(line)) continue;
    let value: unknown;
    try {
      value = JSON.parse(decoder.decode(line));
    } catch (e) {
      throw new CorruptFileError(
        path,
        e instanceof SyntaxError
          ? `line ${lineNo} is not JSON`
          : `line ${lineNo} is not UTF-8`,
      );
    }
    const reason = problem(value);
    if (reason !== null) {
      throw new CorruptFileError(path, `line ${lineNo}: ${reason}`);
    }
    records.push(value as T);
  }
  return { records, tornTail: end < bytes.length };
}

/** Whether a line holds only spaces, tabs and carriage returns. */
function isBlank(line: Uint8Array): boolean {
  for (const byte of line) {
    if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d) return false;
  }
  return true;
}

/** What {@linkcode readJsonlHead} found. */
export interface JsonlHead<T> {
  /** The first records, oldest first. */
  records: T[];
  /** Complete lines after them, counted, not parsed. */
  unread: number;
}

/**
 * Reads the first records of a JSON Lines file, in chunks, until `enough`
 * says so; the lines after them are only counted. So a bounded look at a
 * huge file parses what it returns, not the whole file. A torn last line is
 * skipped.
 *
 * Requires `--allow-read` on the file.
 *
 * @param path The file; a missing file reads as empty.
 * @param problem Returns `null` for a valid record, else what is wrong.
 * @param enough Given the records so far and their bytes on disk: stop?
 * @returns The records read and how many complete lines follow them.
 * @throws {CorruptFileError} On a complete line read that is not valid.
 */
export function readJsonlHead<T>(
  path: string,
  problem: (value: unknown) => string | null,
  enough: (records: readonly T[], bytes: number) => boolean,
): JsonlHead<T> {
  const file = openFile(path, { read: true });
  if (file === null) return { records: [], unread: 0 };
  const records: T[] = [];
  let unread = 0;
  let bytes = 0;
  let offset = 0; // where `carry` begins in the file
  let carry = new Uint8Array(0);
  let reading = true;
  try {
    const chunk = new Uint8Array(TAIL_CHUNK);
    for (let n = file.readSync(chunk); n !== null; n = file.readSync(chunk)) {
      let data = chunk.subarray(0, n);
      if (!reading) {
        for (let at = data.indexOf(NEWLINE); at !== -1;) {
          unread++;
          at = data.indexOf(NEWLINE, at + 1);
        }
        continue;
      }
      if (carry.length > 0) {
        const joined = new Uint8Array(carry.length + n);
        joined.set(carry);
        joined.set(data, carry.length);
        data = joined;
      }
      let start = 0;
      for (let at = data.indexOf(NEWLINE); at !== -1;) {
        if (reading) {
          const line = data.subarray(start, at);
          if (!isBlank(line)) {
            records.push(parseLine<T>(path, line, problem, offset + start));
            bytes += line.length + 1;
            if (enough(records, bytes)) reading = false;
          }
        } else {
          unread++;
        }
        start = at + 1;
        at = data.indexOf(NEWLINE, start);
      }
      offset += start;
      carry = reading ? data.slice(start) : new Uint8Array(0);
    }
  } finally {
    file.close();
  }
  return { records, unread };
}

/** Options of {@linkcode readJsonlTail}. */
export interface TailOptions<T> {
  /** Stop after this many records. */
  limit?: number;
  /** Stop at (and exclude) the first record, going backwards, this accepts. */
  stopAt?: (record: T) => boolean;
  /**
   * Skip a line that is not a valid record instead of throwing (logs
   * appended without a lock, {@linkcode appendJsonlUnlocked}).
   */
  skipBad?: boolean;
}

/**
 * Reads the last records of a JSON Lines file, walking backwards from the end
 * in chunks, so the cost depends on what is returned, not on the file's size.
 * A torn last line is skipped.
 *
 * Requires `--allow-read` on the file.
 *
 * @param path The file; a missing file reads as empty.
 * @param problem Returns `null` for a valid record, else what is wrong.
 * @param options How far back to read.
 * @returns The records found, oldest first.
 * @throws {CorruptFileError} On a complete line that is not a valid record.
 */
export function readJsonlTail<T>(
  path: string,
  problem: (value: unknown) => string | null,
  options: TailOptions<T>,
): T[] {
  const file = openFile(path, { read: true });
  if (file === null) return [];
  const limit = options.limit ?? Infinity;
  const found: T[] = [];
  try {
    const size = file.statSync().size;
    let end = size;
    let carry = new Uint8Array(0); // bytes of a line that began in an earlier chunk
    let trailing = true; // the bytes after the last newline are a torn tail
    while (end > 0 && found.length < limit) {
      const start = Math.max(0, end - TAIL_CHUNK);
      const chunk = new Uint8Array(end - start + carry.length);
      file.seekSync(start, Deno.SeekMode.Start);
      readFull(file, chunk.subarray(0, end - start));
      chunk.set(carry, end - start);
      let stop = chunk.length;
      for (let at = chunk.length - 1; at >= -1; at--) {
        if (at >= 0 && chunk[at] !== NEWLINE) continue;
        if (at === -1 && start > 0) break; // the line continues in the previous chunk
        if (trailing) {
          trailing = false; // drop whatever followed the last newline
        } else if (stop > at + 1) {
          let record: T;
          try {
            record = parseLine<T>(
              path,
              chunk.subarray(at + 1, stop),
              problem,
              start + at + 1,
            );
          } catch (e) {
            if (!options.skipBad || !(e instanceof CorruptFileError)) throw e;
            stop = at;
            continue;
          }
          if (options.stopAt?.(record)) return found.reverse();
          found.push(record);
          if (found.length >= limit) break;
        }
        stop = at;
      }
      carry = chunk.slice(0, Math.max(0, stop));
      end = start;
    }
  } finally {
    file.close();
  }
  return found.reverse();
}

const TAIL_CHUNK = 64 * 1024;

function parseLine<T>(
  path: string,
  bytes: Uint8Array,
  problem: (value: unknown) => string | null,
  offset: number,
): T {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    throw new CorruptFileError(path, `the line at byte ${offset} is not JSON`);
  }
  const reason = problem(value);
  if (reason !== null) {
    throw new CorruptFileError(path, `the line at byte ${offset}: ${reason}`);
  }
  return value as T;
}

/**
 * Counts the complete lines of a file without parsing them.
 *
 * @param path The file; a missing file has none.
 * @returns The number of newline-terminated lines.
 */
export function countLines(path: string): number {
  const file = openFile(path, { read: true });
  if (file === null) return 0;
  try {
    const chunk = new Uint8Array(TAIL_CHUNK);
    let count = 0;
    for (let n = file.readSync(chunk); n !== null; n = file.readSync(chunk)) {
      const view = chunk.subarray(0, n);
      for (let at = view.indexOf(NEWLINE); at !== -1;) {
        count++;
        at = view.indexOf(NEWLINE, at + 1);
      }
    }
    return count;
  } finally {
    file.close();
  }
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
 * Appends records with one `O_APPEND` write and no lock: appends of several
 * processes never interleave (each write lands whole at the end), but a
 * writer that dies mid-write leaves a torn line that the next append runs
 * into. Only for logs read with `skipBad` (see {@linkcode TailOptions}),
 * where losing such a line is acceptable (docs/design.md#conversations).
 *
 * Requires `--allow-read` and `--allow-write` on the file.
 *
 * @param path The file (created 0600 with its directory when missing).
 * @param records Records to append, in order.
 */
export function appendJsonlUnlocked(
  path: string,
  records: readonly unknown[],
): void {
  if (records.length === 0) return;
  let text = "";
  for (const record of records) text += JSON.stringify(record) + "\n";
  const file = openCreating(path, { append: true });
  try {
    writeAll(file, encoder.encode(text));
  } finally {
    file.close();
  }
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
  return openCreating(path, { read: true, append: true });
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
