/**
 * The broker's file layout (docs/design.md#files), and validation of the ids that become
 * path components. Nothing here touches the disk.
 *
 * @module
 */

import { joinPath } from "./_path.ts";
import { validateAlias } from "./alias.ts";
import { InvalidRoomIdError, InvalidSessionIdError } from "./errors.ts";

const SESSION_ID = /^[A-Za-z0-9_][A-Za-z0-9_.:@+-]{0,127}$/;
const ROOM_ID = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Returns `sessionId` if it can safely become a file name, else throws.
 *
 * @param sessionId Candidate session id.
 * @returns The same id.
 * @throws {InvalidSessionIdError} On `/`, `..`, NUL, empty or over-long ids.
 *
 * @example Usage
 * ```ts
 * import { validateSessionId } from "./paths.ts";
 * validateSessionId("2f1c9c1e-0b7a-4c3e-9a57-0d6c8f1e2b3a"); // ok
 * ```
 */
export function validateSessionId(sessionId: string): string {
  if (typeof sessionId !== "string" || !SESSION_ID.test(sessionId)) {
    throw new InvalidSessionIdError(String(sessionId));
  }
  return sessionId;
}

/**
 * Returns `roomId` if it matches `[A-Za-z0-9_.-]{1,64}` and is not `.`/`..`.
 *
 * @param roomId Candidate room id.
 * @returns The same id.
 * @throws {InvalidRoomIdError} Otherwise.
 *
 * @example Usage
 * ```ts
 * import { validateRoomId } from "./paths.ts";
 * validateRoomId("swarm-lounge"); // ok
 * ```
 */
export function validateRoomId(roomId: string): string {
  if (
    typeof roomId !== "string" || !ROOM_ID.test(roomId) || roomId === "." ||
    roomId === ".."
  ) {
    throw new InvalidRoomIdError(String(roomId));
  }
  return roomId;
}

/** Absolute paths of every broker file, derived from the root. */
export interface BrokerPaths {
  /** The broker root directory. */
  readonly root: string;
  /** `registry.json`. */
  readonly registry: string;
  /** `dead-letter.jsonl`. */
  readonly deadLetter: string;
  /** `broker.log`, the audit log. */
  readonly log: string;
  /** `config.json`, the broker's settings (optional). */
  readonly config: string;
  /** `rooms/`. */
  readonly roomsDir: string;
  /** `archive/`. */
  readonly archiveDir: string;
  /** `locks/`. */
  readonly locksDir: string;
  /** `leases/`. */
  readonly leasesDir: string;
  /** `rewake/`: locks of Claude Code's armed asyncRewake waiters. */
  readonly rewakeDir: string;
  /** Lock sidecar guarding `registry.json`. */
  readonly registryLock: string;
  /** Lock sidecar guarding `dead-letter.jsonl`. */
  readonly deadLetterLock: string;
  /** `<session>.inbox.jsonl`. */
  inbox(sessionId: string): string;
  /**
   * The file this machine's hooks and wake watchers look at: non-empty
   * while messages wait for the session. The file store's inbox itself;
   * the NATS store keeps `signals/<session>` up to date.
   */
  signal(sessionId: string): string;
  /** Lock sidecar guarding one inbox (and its archive). */
  inboxLock(sessionId: string): string;
  /** `archive/<session>.jsonl`. */
  archive(sessionId: string): string;
  /** `archive/sent/`: the sent logs, one per alias. */
  readonly sentDir: string;
  /** `archive/sent/<alias>.jsonl`: what the holders of an alias sent. */
  sent(alias: string): string;
  /** Lock sidecar guarding one sent log. */
  sentLock(alias: string): string;
  /** `archive/receipts/`: the receipt logs, one per sending alias. */
  readonly receiptsDir: string;
  /** `archive/receipts/<alias>.jsonl`: receipts of what an alias sent. */
  receipts(alias: string): string;
  /** Lock sidecar guarding one receipt log. */
  receiptsLock(alias: string): string;
  /** `leases/<session>.lock`, held by the session's live process. */
  lease(sessionId: string): string;
  /** `rewake/<session>.lock`, held by the session's armed rewake waiter. */
  rewakeLock(sessionId: string): string;
  /**
   * Lock sidecar a hook or waiter holds from reading messages to taking
   * them, so two deliveries to one session cannot both show a message.
   */
  deliveryLock(sessionId: string): string;
  /** `rooms/<room>/`. */
  roomDir(roomId: string): string;
  /** `rooms/<room>/history.jsonl`. */
  roomHistory(roomId: string): string;
  /** `rooms/<room>/members.json`. */
  roomMembers(roomId: string): string;
  /** Lock sidecar guarding one room's members and history. */
  roomLock(roomId: string): string;
}

/** Suffix of inbox files, used to find orphans. */
export const INBOX_SUFFIX = ".inbox.jsonl";

/**
 * Computes the broker's file layout under `root`. Ids are validated here, so
 * no caller can build a path from an unchecked id.
 *
 * @param root Absolute broker root.
 * @returns The layout.
 *
 * @example Usage
 * ```ts
 * import { brokerPaths } from "./paths.ts";
 * const paths = brokerPaths("/repo/.git/c2c/mcp");
 * paths.inbox("s1"); // "/repo/.git/c2c/mcp/s1.inbox.jsonl"
 * ```
 */
export function brokerPaths(root: string): BrokerPaths {
  const locksDir = joinPath(root, "locks");
  const roomsDir = joinPath(root, "rooms");
  const archiveDir = joinPath(root, "archive");
  const leasesDir = joinPath(root, "leases");
  const rewakeDir = joinPath(root, "rewake");
  return {
    root,
    registry: joinPath(root, "registry.json"),
    deadLetter: joinPath(root, "dead-letter.jsonl"),
    log: joinPath(root, "broker.log"),
    config: joinPath(root, "config.json"),
    roomsDir,
    archiveDir,
    locksDir,
    leasesDir,
    rewakeDir,
    registryLock: joinPath(locksDir, "registry.lock"),
    deadLetterLock: joinPath(locksDir, "dead-letter.lock"),
    inbox: (id) => joinPath(root, validateSessionId(id) + INBOX_SUFFIX),
    signal: (id) => joinPath(root, validateSessionId(id) + INBOX_SUFFIX),
    inboxLock: (id) =>
      joinPath(locksDir, `inbox.${validateSessionId(id)}.lock`),
    archive: (id) => joinPath(archiveDir, `${validateSessionId(id)}.jsonl`),
    sentDir: joinPath(archiveDir, "sent"),
    sent: (alias) =>
      joinPath(archiveDir, "sent", `${validateAlias(alias)}.jsonl`),
    sentLock: (alias) =>
      joinPath(locksDir, `sent.${validateAlias(alias)}.lock`),
    receiptsDir: joinPath(archiveDir, "receipts"),
    receipts: (alias) =>
      joinPath(archiveDir, "receipts", `${validateAlias(alias)}.jsonl`),
    receiptsLock: (alias) =>
      joinPath(locksDir, `receipts.${validateAlias(alias)}.lock`),
    lease: (id) => joinPath(leasesDir, `${validateSessionId(id)}.lock`),
    rewakeLock: (id) => joinPath(rewakeDir, `${validateSessionId(id)}.lock`),
    deliveryLock: (id) =>
      joinPath(locksDir, `deliver.${validateSessionId(id)}.lock`),
    roomDir: (id) => joinPath(roomsDir, validateRoomId(id)),
    roomHistory: (id) =>
      joinPath(roomsDir, validateRoomId(id), "history.jsonl"),
    roomMembers: (id) => joinPath(roomsDir, validateRoomId(id), "members.json"),
    roomLock: (id) => joinPath(locksDir, `room.${validateRoomId(id)}.lock`),
  };
}
