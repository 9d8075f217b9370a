/**
 * Rooms: `rooms/<room>/members.json` (who receives) and
 * `rooms/<room>/history.jsonl` (everything posted, append-only). Both are
 * guarded by the room's lock, which is taken before the registry lock.
 *
 * @module
 */

import type { BrokerPaths } from "./paths.ts";
import { validateRoomId } from "./paths.ts";
import { atomicWriteText, readTextOrNull } from "./_fs.ts";
import { CorruptFileError, SymlinkRefusedError } from "./errors.ts";
import {
  appendJsonl,
  countLines,
  readJsonl,
  readJsonlTail,
  type TailOptions,
} from "./jsonl.ts";
import { type RoomMessage, roomMessageProblem } from "./message.ts";

/** One member of a room. */
export interface RoomMember {
  /** The member's alias (what fan-out addresses). */
  alias: string;
  /** The session that joined (informational; fan-out goes by alias). */
  session_id: string;
  /** ISO-8601 UTC join time. */
  joined_at: string;
}

/**
 * Reads a room's members; a room without `members.json` has none.
 *
 * Requires `--allow-read` on the broker root.
 *
 * @param paths Broker layout.
 * @param roomId The room.
 * @returns Its members.
 * @throws {CorruptFileError} When `members.json` does not parse.
 */
export function readMembers(paths: BrokerPaths, roomId: string): RoomMember[] {
  const path = paths.roomMembers(roomId);
  const text = readTextOrNull(path);
  if (text === null) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new CorruptFileError(
      path,
      `JSON parse error: ${(e as Error).message}`,
    );
  }
  if (!Array.isArray(parsed)) {
    throw new CorruptFileError(path, "top level is not an array");
  }
  parsed.forEach((m, i) => {
    if (
      typeof m !== "object" || m === null || typeof m.alias !== "string" ||
      typeof m.session_id !== "string"
    ) {
      throw new CorruptFileError(path, `entry ${i} is not a member`);
    }
  });
  return parsed as RoomMember[];
}

/**
 * Replaces a room's member list. Caller holds the room lock.
 *
 * @param paths Broker layout.
 * @param roomId The room.
 * @param members The complete new list.
 */
export function writeMembers(
  paths: BrokerPaths,
  roomId: string,
  members: readonly RoomMember[],
): void {
  atomicWriteText(
    paths.roomMembers(roomId),
    JSON.stringify(members, null, 2) + "\n",
  );
}

/**
 * Reads a room's history without a lock: all of it, or (with `tail`) only the
 * newest part, read backwards so the cost does not grow with the history.
 *
 * @param paths Broker layout.
 * @param roomId The room.
 * @param tail How much of the end to read; omitted: everything.
 * @returns Messages, oldest first.
 */
export function readHistory(
  paths: BrokerPaths,
  roomId: string,
  tail?: TailOptions<RoomMessage>,
): RoomMessage[] {
  const path = paths.roomHistory(roomId);
  if (tail) {
    if (tail.limit === 0) return [];
    return readJsonlTail(path, roomMessageProblem, tail);
  }
  return readJsonl<RoomMessage>(path, roomMessageProblem).records;
}

/**
 * Counts a room's messages without parsing them.
 *
 * @param paths Broker layout.
 * @param roomId The room.
 * @returns Lines in its history.
 */
export function countHistory(paths: BrokerPaths, roomId: string): number {
  return countLines(paths.roomHistory(roomId));
}

/**
 * Appends to a room's history. Caller holds the room lock.
 *
 * @param paths Broker layout.
 * @param roomId The room.
 * @param messages Messages to append.
 */
export function appendHistory(
  paths: BrokerPaths,
  roomId: string,
  messages: readonly RoomMessage[],
): void {
  appendJsonl(paths.roomHistory(roomId), messages);
}

/**
 * Lists the ids of every room on disk (directories with a valid id).
 *
 * @param paths Broker layout.
 * @returns Room ids, sorted.
 */
export function listRoomIds(paths: BrokerPaths): string[] {
  const ids: string[] = [];
  try {
    // Never list through a link: a planted `rooms -> elsewhere` is refused.
    const info = Deno.lstatSync(paths.roomsDir);
    if (info.isSymlink) {
      throw new SymlinkRefusedError(paths.roomsDir, "directory");
    }
    for (const entry of Deno.readDirSync(paths.roomsDir)) {
      if (!entry.isDirectory) continue;
      try {
        ids.push(validateRoomId(entry.name));
      } catch { /* not a room c2c created; leave it alone */ }
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return ids.sort();
}

/**
 * Finds the sender's identical post among recent history, if any.
 *
 * @param recent The room's messages within the dedupe window, oldest first.
 * @param fromAlias The poster.
 * @param content The body being posted.
 * @returns The earlier post, or `undefined`.
 */
export function findRecentDuplicate(
  recent: readonly RoomMessage[],
  fromAlias: string,
  content: string,
): RoomMessage | undefined {
  return recent.findLast((m) =>
    m.from_alias === fromAlias && m.content === content
  );
}
