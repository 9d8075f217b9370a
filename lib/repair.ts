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

import { C2cError, type CorruptFileError } from "./errors.ts";
import { withLock } from "./lock.ts";
import { messageProblem, roomMessageProblem } from "./message.ts";
import { type BrokerPaths, INBOX_SUFFIX } from "./paths.ts";
import { readRegistry } from "./registry.ts";
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

function deadLetterProblem(value: unknown): string | null {
  return messageProblem(value) ??
    (typeof (value as { dead_session_id?: unknown }).dead_session_id ===
        "string"
      ? null
      : "field 'dead_session_id' is not a string");
}

function targets(paths: BrokerPaths): Target[] {
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
  }];
  for (const entry of safeReadDir(paths.root)) {
    if (!entry.isFile || !entry.name.endsWith(INBOX_SUFFIX)) continue;
    const sessionId = entry.name.slice(0, -INBOX_SUFFIX.length);
    let inbox: string;
    try {
      inbox = paths.inbox(sessionId);
    } catch {
      continue; // not a name c2c would have made
    }
    list.push({
      path: inbox,
      lock: paths.inboxLock(sessionId),
      lineProblem: messageProblem,
      check: () => void readJsonl(inbox, messageProblem),
    });
  }
  for (const roomId of listRoomIds(paths)) {
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

function safeReadDir(dir: string): Deno.DirEntry[] {
  try {
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
  const text = new TextDecoder().decode(bytes); // lossy on purpose: salvage
  const lines = text.split("\n");
  // The last piece is either "" (the text ends in a newline) or a torn tail.
  const complete = lines.slice(0, -1);
  const kept: string[] = [];
  let dropped = 0;
  for (const line of complete) {
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

/**
 * Finds every broker file that does not parse and, unless `dryRun`, moves it
 * aside (`<file>.corrupt-<stamp>`), carrying the valid lines of a JSON Lines
 * file over into a fresh one. Each file is repaired under its own lock.
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
  for (const target of targets(paths)) {
    const action = withLock(target.lock, true, (): RepairAction | null => {
      try {
        target.check();
        return null;
      } catch (e) {
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
    });
    if (action) repaired.push(action);
  }
  return { repaired, dry_run: dryRun };
}
