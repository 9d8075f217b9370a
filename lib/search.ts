/**
 * `search_messages` (docs/design.md#conversations): a case-insensitive
 * substring search over what one session may read — the messages it
 * received (its archive), what its alias sent (its sent log) and the
 * histories of the rooms it is a member of. Newest first, bounded in
 * count, in each body's length and in the whole reply's bytes.
 *
 * @module
 */

import { jsonBytes } from "./_bytes.ts";
import { InvalidArgumentError } from "./errors.ts";

/** Default number of hits. */
export const DEFAULT_SEARCH_LIMIT = 20;
/** Most hits one search returns. */
export const MAX_SEARCH_LIMIT = 100;
/** Longest query, in characters. */
export const MAX_QUERY_LENGTH = 200;
/** Longest body shown in a hit, in characters (the rest is cut). */
export const SEARCH_CONTENT_CHARS = 2_000;
/** Most bytes of hits (as JSON) one reply holds. */
export const SEARCH_REPLY_BYTES = 256 * 1024;
/**
 * How many of the newest messages of each source (the archive, the sent
 * log, each room) a search reads.
 */
export const SEARCH_SCAN_LIMIT = 100_000;

/** One message a search found. */
export interface SearchHit {
  /** The message's id. */
  id: string;
  /** When it was sent (ISO-8601). */
  ts: string;
  /** Its sender. */
  from_alias: string;
  /** Its recipient (direct messages). */
  to_alias?: string;
  /** Its room (room posts). */
  room_id?: string;
  /** `in`: received; `out`: sent by the caller's alias. */
  direction: "in" | "out";
  /** The body, cut to 2,000 characters. */
  content: string;
  /** Present when the body was cut. */
  truncated?: true;
}

/** Result of `search_messages`. */
export interface SearchResult {
  /** The query, as searched. */
  query: string;
  /** Hits, newest first. */
  hits: SearchHit[];
  /** More messages matched than the reply holds (raise `limit`, or narrow the query). */
  more: boolean;
}

/** A message of any source, before it is matched. */
export interface Searchable {
  /** Its id. */
  id: string;
  /** When it was sent. */
  ts: string;
  /** Its sender. */
  from_alias: string;
  /** Its recipient, for a direct message. */
  to_alias?: string;
  /** Its room, for a room post. */
  room_id?: string;
  /** Body. */
  content: string;
}

/**
 * Checks a query.
 *
 * @param query What to look for.
 * @returns It, lower-cased for matching.
 * @throws {InvalidArgumentError} When empty or too long.
 */
export function checkQuery(query: unknown): string {
  if (typeof query !== "string" || query.trim() === "") {
    throw new InvalidArgumentError("query must be a non-empty string");
  }
  if (query.length > MAX_QUERY_LENGTH) {
    throw new InvalidArgumentError(
      `query is ${query.length} characters; at most ${MAX_QUERY_LENGTH}`,
    );
  }
  return query.toLowerCase();
}

/**
 * Matches messages and bounds the reply: hits newest first (by `ts`, then
 * id), each id once (a room post is in the room's history and, as a copy,
 * in the archive), at most `limit`, bodies cut, and no more than
 * {@linkcode SEARCH_REPLY_BYTES} of hits.
 *
 * @param query The query as {@linkcode checkQuery} returned it.
 * @param sources Messages, oldest first, with the direction each source gives them.
 * @param limit Most hits.
 * @returns The hits, and whether more matched.
 *
 * @example Usage
 * ```ts
 * import { findHits } from "./search.ts";
 * const m = { id: "1", ts: "2026-01-01T00:00:00Z", from_alias: "a", to_alias: "b", content: "Deploy done" };
 * findHits("deploy", [{ messages: [m], direction: () => "in" }], 20).hits.length; // 1
 * ```
 */
export function findHits(
  query: string,
  sources: readonly {
    messages: readonly Searchable[];
    direction: (m: Searchable) => "in" | "out";
  }[],
  limit: number,
): { hits: SearchHit[]; more: boolean } {
  const found = new Map<string, SearchHit>();
  for (const source of sources) {
    // Newest first, and no further than `limit` + 1 matches: a hit of the
    // overall newest `limit` is among the newest `limit` of its own source,
    // and one more says whether there is more.
    let matched = 0;
    for (let i = source.messages.length - 1; i >= 0; i--) {
      const m = source.messages[i];
      if (!m.content.toLowerCase().includes(query)) continue;
      const key = `${m.room_id ?? ""}/${m.id}`;
      if (!found.has(key)) found.set(key, hit(m, source.direction(m)));
      if (++matched > limit) break;
    }
  }
  const sorted = [...found.values()].sort((a, b) =>
    a.ts < b.ts ? 1 : a.ts > b.ts ? -1 : a.id < b.id ? 1 : -1
  );
  const hits: SearchHit[] = [];
  let bytes = 0;
  for (const h of sorted) {
    if (hits.length >= limit) break;
    bytes += jsonBytes(h) + 1;
    if (bytes > SEARCH_REPLY_BYTES && hits.length > 0) break;
    hits.push(h);
  }
  return { hits, more: hits.length < sorted.length };
}

function hit(m: Searchable, direction: "in" | "out"): SearchHit {
  const out: SearchHit = {
    id: m.id,
    ts: m.ts,
    from_alias: m.from_alias,
    direction,
    content: m.content,
  };
  if (m.room_id !== undefined) out.room_id = m.room_id;
  else if (m.to_alias !== undefined) out.to_alias = m.to_alias;
  if (m.content.length > SEARCH_CONTENT_CHARS) {
    // Never inside a surrogate pair.
    let end = SEARCH_CONTENT_CHARS;
    const code = m.content.charCodeAt(end - 1);
    if (code >= 0xd800 && code <= 0xdbff) end--;
    out.content = m.content.slice(0, end);
    out.truncated = true;
  }
  return out;
}
