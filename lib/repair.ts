/**
 * `c2c repair`: what to do with a broker file that does not parse. The broker
 * never treats such a file as empty (the next write would turn that into
 * data loss); repair is the explicit step that gets the broker going again
 * without losing anything: the bad file is kept, renamed aside, and for
 * JSON Lines files every valid line is carried over into a fresh file.
 *
 * Requires `--allow-read` and `--allow-write` on the broker root.
 *
 * @module
 */

import {
  C2cError,
  type CorruptFileError,
  SymlinkRefusedError,
} from "./errors.ts";
import { readConfig } from "./config.ts";
import { FileClaimStore, parseClaimsFile } from "./claims.ts";
import { withLock } from "./lock.ts";
import {
  deadLetterProblem,
  messageProblem,
  receiptProblem,
  roomMessageProblem,
  sentMessageProblem,
} from "./message.ts";
import { validateAlias } from "./alias.ts";
import { type BrokerPaths, INBOX_SUFFIX, validateSessionId } from "./paths.ts";
import { quarantinedRows, readRegistry, writeRegistry } from "./registry.ts";
import { listRoomIds, readMembers } from "./rooms.ts";
import { readJsonl } from "./jsonl.ts";
import { atomicWriteText, readBytesOrNull } from "./_fs.ts";

/** One file repair moved aside (or, on a dry run, would). */
export interface RepairAction {
  /** The bad file. */
  path: string;
  /** What is wrong with it. */
  problem: string;
  /** Where the original bytes went (`<file>.corrupt-<stamp>`). */
  moved_to: string;
  /** Valid records carried over into the fresh file (JSON Lines only). */
  salvaged: number;
  /** Lines that could not be read and stay only in the moved-aside copy. */
  dropped: number;
}

/** Result of {@linkcode repairBroker}. */
export interface RepairResult {
  /** Files that were (or would be) repaired. */
  repaired: RepairAction[];
  /** Whether nothing was changed. */
  dry_run: boolean;
}

interface Target {
  path: string;
  lock: string;
  /** `null` for whole-file JSON (registry, members): no salvage. */
  lineProblem: ((value: unknown) => string | null) | null;
  check: () => void;
}

/** A name c2c would have made from a session id, or `null`. */
function sessionFromName(name: string, suffix: string): string | null {
  if (!name.endsWith(suffix)) return null;
  const id = name.slice(0, -suffix.length);
  try {
    return validateSessionId(id);
  } catch {
    return null;
  }
}

/** The alias a sent log's file name stands for, or `null`. */
function aliasFromName(name: string): string | null {
  if (!name.endsWith(".jsonl")) return null;
  try {
    return validateAlias(name.slice(0, -".jsonl".length));
  } catch {
    return null;
  }
}

function targets(paths: BrokerPaths): Target[] {
  const claims = new FileClaimStore(paths);
  const list: Target[] = [{
    path: paths.registry,
    lock: paths.registryLock,
    lineProblem: null,
    check: () => void readRegistry(paths),
  }, {
    path: paths.deadLetter,
    lock: paths.deadLetterLock,
    lineProblem: deadLetterProblem,
    check: () => void readJsonl(paths.deadLetter, deadLetterProblem),
  }, {
    path: paths.config,
    lock: paths.registryLock,
    lineProblem: null,
    check: () => void readConfig(paths),
  }, {
    // Only claims, which their holders make again: moved aside whole.
    path: claims.file,
    lock: claims.lock,
    lineProblem: null,
    check: () => {
      const bytes = readBytesOrNull(claims.file);
      if (bytes !== null) parseClaimsFile(claims.file, bytes);
    },
  }];
  for (const entry of safeReadDir(paths.root)) {
    const sessionId = sessionFromName(entry.name, INBOX_SUFFIX);
    if (sessionId === null || entry.isDirectory) continue;
    const inbox = paths.inbox(sessionId);
    list.push({
      path: inbox,
      lock: paths.inboxLock(sessionId),
      lineProblem: messageProblem,
      check: () => void readJsonl(inbox, messageProblem),
    });
  }
  for (const entry of safeReadDir(paths.archiveDir)) {
    const sessionId = sessionFromName(entry.name, ".jsonl");
    if (sessionId === null || entry.isDirectory) continue;
    const archive = paths.archive(sessionId);
    list.push({
      path: archive,
      lock: paths.inboxLock(sessionId),
      lineProblem: messageProblem,
      check: () => void readJsonl(archive, messageProblem),
    });
  }
  for (const entry of safeReadDir(paths.sentDir)) {
    const alias = aliasFromName(entry.name);
    if (alias === null || entry.isDirectory) continue;
    const sent = paths.sent(alias);
    list.push({
      path: sent,
      lock: paths.sentLock(alias),
      lineProblem: sentMessageProblem,
      check: () => void readJsonl(sent, sentMessageProblem),
    });
  }
  for (const entry of safeReadDir(paths.receiptsDir)) {
    const alias = aliasFromName(entry.name);
    if (alias === null || entry.isDirectory) continue;
    const log = paths.receipts(alias);
    list.push({
      path: log,
      lock: paths.receiptsLock(alias),
      lineProblem: receiptProblem,
      check: () => void readJsonl(log, receiptProblem),
    });
  }
  for (const roomId of roomIdsOrNone(paths)) {
    list.push({
      path: paths.roomMembers(roomId),
      lock: paths.roomLock(roomId),
      lineProblem: null,
      check: () => void readMembers(paths, roomId),
    }, {
      path: paths.roomHistory(roomId),
      lock: paths.roomLock(roomId),
      lineProblem: roomMessageProblem,
      check: () =>
        void readJsonl(paths.roomHistory(roomId), roomMessageProblem),
    });
  }
  return list;
}

/** Room ids, or none while `rooms/` is itself a link (a dry run keeps it). */
function roomIdsOrNone(paths: BrokerPaths): string[] {
  try {
    return listRoomIds(paths);
  } catch (e) {
    if (e instanceof SymlinkRefusedError) return [];
    throw e;
  }
}

/** The broker's own directories, which must be real directories. */
function directories(paths: BrokerPaths): string[] {
  const dirs = [
    paths.archiveDir,
    paths.sentDir,
    paths.receiptsDir,
    paths.locksDir,
    paths.leasesDir,
    paths.rewakeDir,
    paths.roomsDir,
  ];
  for (const entry of safeReadDir(paths.roomsDir)) {
    if (entry.isSymlink) dirs.push(`${paths.roomsDir}/${entry.name}`);
  }
  return dirs;
}

function safeReadDir(dir: string): Deno.DirEntry[] {
  try {
    const info = Deno.lstatSync(dir);
    if (!info.isDirectory) return [];
    return [...Deno.readDirSync(dir)];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

/** Splits a JSON Lines file into valid records and unreadable lines. */
function salvage(
  bytes: Uint8Array,
  problem: (value: unknown) => string | null,
): { kept: string[]; dropped: number } {
  // Line by line, lossy on purpose (salvage), and never the whole file as
  // one string: that fails past V8's longest string.
  const decoder = new TextDecoder();
  const kept: string[] = [];
  let dropped = 0;
  // The bytes after the last newline are a torn tail: never acknowledged.
  const end = bytes.lastIndexOf(0x0a) + 1;
  for (let start = 0; start < end;) {
    const stop = bytes.indexOf(0x0a, start);
    const line = decoder.decode(bytes.subarray(start, stop));
    start = stop + 1;
    if (line.trim() === "") continue;
    try {
      if (problem(JSON.parse(line)) === null) {
        kept.push(line);
        continue;
      }
    } catch { /* unreadable: dropped below */ }
    dropped++;
  }
  return { kept, dropped };
}

/** Moves a link, FIFO or misplaced file aside (the link itself, never its target). */
function moveAside(
  path: string,
  problem: string,
  stamp: string,
  dryRun: boolean,
): RepairAction {
  const movedTo = `${path}.unsafe-${stamp}`;
  if (!dryRun) Deno.renameSync(path, movedTo);
  return { path, problem, moved_to: movedTo, salvaged: 0, dropped: 0 };
}

/**
 * Finds every broker file that does not parse, every registry row c2c
 * cannot use, and every symlink or misplaced file where a broker file or
 * directory belongs, and unless `dryRun`:
 * - moves a bad file aside (`<file>.corrupt-<stamp>`), carrying the valid
 *   lines of a JSON Lines file over into a fresh one;
 * - copies `registry.json` aside and drops its unusable rows;
 * - renames a link (never what it points at) or a misplaced file aside
 *   (`<path>.unsafe-<stamp>`).
 *
 * Each file is repaired under its own lock.
 *
 * @param paths Broker layout.
 * @param options `dryRun`: report only; `now`: for the stamp.
 * @returns What was (or would be) repaired.
 */
export function repairBroker(
  paths: BrokerPaths,
  options: { dryRun?: boolean; now?: Date } = {},
): RepairResult {
  const dryRun = options.dryRun ?? false;
  const stamp = (options.now ?? new Date()).toISOString().replace(/[-:.]/g, "")
    .slice(0, 15);
  const repaired: RepairAction[] = [];
  for (const dir of directories(paths)) {
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(dir);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) continue;
      throw e;
    }
    if (info.isDirectory) continue;
    repaired.push(
      moveAside(
        dir,
        info.isSymlink
          ? "a symlink where a directory belongs"
          : "not a directory",
        stamp,
        dryRun,
      ),
    );
  }
  for (const target of targets(paths)) {
    const action = withLock(target.lock, true, (): RepairAction | null => {
      try {
        target.check();
      } catch (e) {
        if (e instanceof SymlinkRefusedError) {
          if (e.kind === "unstable") throw e;
          return moveAside(e.path, e.message, stamp, dryRun);
        }
        if (!(e instanceof C2cError) || e.code !== "corrupt_file") throw e;
        const bytes = readBytesOrNull(target.path) ?? new Uint8Array();
        const { kept, dropped } = target.lineProblem
          ? salvage(bytes, target.lineProblem)
          : { kept: [], dropped: 1 };
        const movedTo = `${target.path}.corrupt-${stamp}`;
        if (!dryRun) {
          Deno.renameSync(target.path, movedTo);
          if (kept.length > 0) {
            atomicWriteText(target.path, kept.join("\n") + "\n");
          }
        }
        return {
          path: target.path,
          problem: (e as CorruptFileError).detail,
          moved_to: movedTo,
          salvaged: kept.length,
          dropped,
        };
      }
      if (target.path === paths.registry) {
        return dropUnusableRows(paths, stamp, dryRun);
      }
      return null;
    });
    if (action) repaired.push(action);
  }
  return { repaired, dry_run: dryRun };
}

/** Copies the registry aside and drops the rows no operation can use. */
function dropUnusableRows(
  paths: BrokerPaths,
  stamp: string,
  dryRun: boolean,
): RepairAction | null {
  const bad = quarantinedRows(paths);
  if (bad.length === 0) return null;
  const rows = readRegistry(paths);
  const movedTo = `${paths.registry}.corrupt-${stamp}`;
  if (!dryRun) {
    atomicWriteText(
      movedTo,
      new TextDecoder().decode(readBytesOrNull(paths.registry)!),
    );
    writeRegistry(paths, rows, { dropQuarantined: true });
  }
  return {
    path: paths.registry,
    problem: bad.map((q) => `entry ${q.index}: ${q.problem}`).join("; "),
    moved_to: movedTo,
    salvaged: rows.length,
    dropped: bad.length,
  };
}
