/**
 * c2c — a local message broker that lets AI coding agents in different CLIs
 * (Claude Code, Codex, OpenCode, Gemini CLI, Kimi, Crush, plain shells) find
 * each other and exchange direct messages, broadcasts and room posts.
 *
 * The broker is a directory of files guarded by file locks; there is no daemon
 * and no port. Every process that opens a {@linkcode Broker} on the same root
 * is a peer. The MCP server and the `c2c` command are thin adapters over the
 * same methods.
 *
 * Requires `--allow-read` and `--allow-write` on the broker root (and
 * `--allow-run=git` plus `--allow-env=C2C_MCP_BROKER_ROOT` for
 * {@linkcode Broker.open} to find it).
 *
 * @example Two sessions exchange a message
 * ```ts
 * import { Broker, renderEnvelope } from "./mod.ts";
 *
 * const broker = new Broker({ root: await Deno.makeTempDir() });
 * await broker.register("session-a", { alias: "storm-beacon" });
 * await broker.register("session-b", { alias: "tide-runner" });
 * await broker.send("session-a", { to_alias: "tide-runner", content: "hi" });
 *
 * const { messages } = await broker.pollInbox("session-b");
 * console.log(renderEnvelope(messages[0]));
 * // <c2c event="message" from="storm-beacon" alias="tide-runner" id="…" ts="…">hi</c2c>
 * ```
 *
 * @module
 */

export {
  Broker,
  type BrokerOptions,
  DEFAULT_DEAD_LETTER_TTL_MS,
  DEFAULT_HISTORY_LIMIT,
  DEFAULT_JOIN_HISTORY,
  DEFAULT_LEASELESS_TTL_MS,
  DEFAULT_LOG_LIMIT,
  DEFAULT_MAX_MESSAGE_BYTES,
  type GcOptions,
  type InboxBounds,
  MAX_JOIN_HISTORY,
  MAX_LOG_LIMIT,
  type RegisterArgs,
  ROOM_DEDUPE_MS,
  type SendArgs,
  type SendRoomArgs,
  type WaitOptions,
} from "./lib/broker.ts";
export {
  DEFAULT_WAIT_S,
  MAX_SHELL_WAIT_S,
  MAX_WAIT_S,
  type WaitArgs,
  type WaitFilter,
} from "./lib/wait.ts";
export { MAX_STATUS_LENGTH } from "./lib/status.ts";
export {
  DEFAULT_SEARCH_LIMIT,
  MAX_SEARCH_LIMIT,
  type SearchHit,
  type SearchResult,
} from "./lib/search.ts";
export { LOOP_WINDOW_S } from "./lib/guard.ts";
export * from "./lib/errors.ts";
export * from "./lib/types.ts";
export {
  escapeAttribute,
  escapeBody,
  renderEnvelope,
  renderEnvelopes,
} from "./lib/envelope.ts";
export {
  generateAlias,
  RESERVED_ALIASES,
  suggestAlias,
  validateAlias,
} from "./lib/alias.ts";
export { Lease, type Liveness, probeLease } from "./lib/lease.ts";
export type {
  EffectOutcome,
  HistoryRange,
  InboxOwner,
  InboxWatch,
  RegistryChange,
  RegistryEffect,
  RegistryView,
  RoomScope,
  SentRange,
  SessionLease,
  Store,
} from "./lib/store/store.ts";
export { FileStore } from "./lib/store/file/file_store.ts";
export {
  CLAIM_EVENT,
  CLAIM_NOTICE_INTERVAL_MS,
  type ClaimArgs,
  Claims,
  type ClaimsChange,
  claimsOf,
  type ClaimsOptions,
  type ClaimsState,
  type ClaimStore,
  FileClaimStore,
  MAX_CLAIMS_PER_SESSION,
  MAX_PATHS_PER_CALL,
  MAX_REASON_LENGTH,
  MAX_TTL_S,
  type StoredClaim,
  type StoredNotice,
} from "./lib/claims.ts";
export type { InboxSelection, Selected } from "./lib/inbox.ts";
export type { QuarantinedRow } from "./lib/registry.ts";
export { RewakeLock } from "./lib/rewake_lock.ts";
export {
  type BrokerPaths,
  brokerPaths,
  validateRoomId,
  validateSessionId,
} from "./lib/paths.ts";
export type {
  ArchivedMessage,
  DeadLetter,
  DeliveryVia,
  Message,
  Receipt,
  RoomMessage,
  SentMessage,
} from "./lib/message.ts";
export type { Registration, WakeInfo } from "./lib/registry.ts";
export type { RoomMember } from "./lib/rooms.ts";
export type { AuditEntry } from "./lib/audit.ts";
export type { BrokerConfig } from "./lib/config.ts";
export {
  BROKER_ROOT_ENV,
  type BrokerRootSource,
  resolveBrokerRoot,
  type ResolvedRoot,
  type ResolveRootOptions,
} from "./lib/root.ts";
