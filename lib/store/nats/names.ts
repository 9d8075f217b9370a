/**
 * Every NATS name the NATS store uses for one namespace: subjects
 * (`c2c.<ns>.…`), JetStream streams (`C2C_<nsb>_…`) and KV buckets
 * (`c2c_<nsb>_…`). Aliases, session ids and room ids go through
 * {@linkcode encodeName} before they become a subject token or a KV key.
 *
 * Bucket names allow `[A-Za-z0-9_-]` only (the client refuses anything
 * else), and {@linkcode encodeName} writes `=XX` for other bytes, so stream
 * and bucket names embed a second, equally injective form of the encoded
 * namespace: `_` doubled, then `=` written `_` (`github=2Ecom` →
 * `github_2Ecom`, `a_b` → `a__b`).
 *
 * @module
 */

import { encodeName } from "./namespace.ts";

/** The streams of a namespace, by role. */
export interface NatsStreamNames {
  /** Pending messages, subject `inbox.<alias>`. */
  inbox: string;
  /** Drained messages, subject `archive.<session>`. */
  archive: string;
  /** Sent logs, subject `sent.<alias>`. */
  sent: string;
  /** Receipt logs, subject `receipts.<alias>` (the sender's). */
  receipts: string;
  /** Dead letters, subject `dead.<alias>.<session>`. */
  dead: string;
  /** Room histories, subject `room.<room>`. */
  rooms: string;
  /** The audit log, one subject. */
  audit: string;
}

/** The KV buckets of a namespace, by role. */
export interface NatsBucketNames {
  /** Alias → the registration holding it. */
  registry: string;
  /** Room → `{created_at}`. */
  rooms: string;
  /** `<room>.<alias>` → member. */
  members: string;
  /** Session → `{pubkey, aliases}` (kept after sweeps, for verification). */
  keys: string;
  /** `config` → the broker's settings. */
  config: string;
  /** `claims` → the namespace's file claims, one document (docs/design.md#claims). */
  claims: string;
}

/** Every name of one namespace. */
export interface NatsNames {
  /** The namespace as configured. */
  namespace: string;
  /** `c2c.<encodeName(namespace)>`. */
  prefix: string;
  /** Streams. */
  streams: NatsStreamNames;
  /** KV buckets. */
  buckets: NatsBucketNames;
  /** Subject of an alias's inbox. */
  inbox(alias: string): string;
  /** Subject filter of every inbox. */
  readonly inboxes: string;
  /** Subject of a session's archive. */
  archive(sessionId: string): string;
  /** Subject of an alias's sent log. */
  sent(alias: string): string;
  /** Subject of the receipts of what an alias sent. */
  receipts(alias: string): string;
  /** Subject of a dead letter addressed to an alias, rescued from a session. */
  dead(alias: string, sessionId: string): string;
  /** Filter of the dead letters addressed to an alias. */
  deadForAlias(alias: string): string;
  /** Filter of the dead letters rescued from a session. */
  deadForSession(sessionId: string): string;
  /** Filter of every dead letter. */
  readonly deadAll: string;
  /** Subject of a room's history. */
  room(roomId: string): string;
  /** Subject of the audit log. */
  readonly audit: string;
  /** Subject a session's live process answers on. */
  live(sessionId: string): string;
  /** Subject every live process answers on (bulk probes). */
  readonly presence: string;
}

/**
 * The bucket-safe form of an encoded name: `_` doubled, `=` written `_`.
 * Injective, because `=` is always followed by two hex digits and a
 * literal `_` always by another `_`.
 *
 * @param encoded An {@linkcode encodeName} result.
 * @returns The same name in `[A-Za-z0-9_-]`.
 *
 * @example Usage
 * ```ts
 * import { bucketSafe } from "./names.ts";
 * console.log(bucketSafe("github=2Ecom")); // github_2Ecom
 * ```
 */
export function bucketSafe(encoded: string): string {
  return encoded.replaceAll("_", "__").replaceAll("=", "_");
}

/**
 * Every NATS name for `namespace`.
 *
 * @param namespace The namespace (not encoded).
 * @returns Subjects, streams and buckets.
 *
 * @example Usage
 * ```ts
 * import { natsNames } from "./names.ts";
 * const names = natsNames("team-a");
 * console.log(names.inbox("storm.beacon")); // c2c.team-a.inbox.storm=2Ebeacon
 * console.log(names.streams.inbox); // C2C_team-a_INBOX
 * ```
 */
export function natsNames(namespace: string): NatsNames {
  const ns = encodeName(namespace);
  const safe = bucketSafe(ns);
  const prefix = `c2c.${ns}`;
  const stream = (role: string) => `C2C_${safe}_${role}`;
  const bucket = (role: string) => `c2c_${safe}_${role}`;
  return {
    namespace,
    prefix,
    streams: {
      inbox: stream("INBOX"),
      archive: stream("ARCHIVE"),
      sent: stream("SENT"),
      receipts: stream("RECEIPTS"),
      dead: stream("DEAD"),
      rooms: stream("ROOMS"),
      audit: stream("AUDIT"),
    },
    buckets: {
      registry: bucket("registry"),
      rooms: bucket("rooms"),
      members: bucket("members"),
      keys: bucket("keys"),
      config: bucket("config"),
      claims: bucket("claims"),
    },
    inbox: (alias) => `${prefix}.inbox.${encodeName(alias)}`,
    inboxes: `${prefix}.inbox.>`,
    archive: (id) => `${prefix}.archive.${encodeName(id)}`,
    sent: (alias) => `${prefix}.sent.${encodeName(alias)}`,
    receipts: (alias) => `${prefix}.receipts.${encodeName(alias)}`,
    dead: (alias, id) =>
      `${prefix}.dead.${encodeName(alias)}.${encodeName(id)}`,
    deadForAlias: (alias) => `${prefix}.dead.${encodeName(alias)}.*`,
    deadForSession: (id) => `${prefix}.dead.*.${encodeName(id)}`,
    deadAll: `${prefix}.dead.>`,
    room: (id) => `${prefix}.room.${encodeName(id)}`,
    audit: `${prefix}.audit`,
    live: (id) => `${prefix}.live.${encodeName(id)}`,
    presence: `${prefix}.presence`,
  };
}
