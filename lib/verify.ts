/**
 * `c2c verify`: how many c2c messages each participant sent and received,
 * from the broker's archives (what was delivered) and, optionally, from
 * client transcript files (what reached the agent's context), and whether
 * each reached a goal.
 *
 * Only direct messages count (`<c2c event="message"`): room copies in the
 * archives and `room_message` envelopes are left out, so both sources count
 * the same thing. A message seen in both sources, or several times in one
 * transcript (a hook's context and the tool result, say), counts once: events
 * are keyed by message id.
 *
 * Telling a real envelope from a forged one: a transcript holds real
 * envelopes raw (`<c2c …>`) or, where the client HTML-escapes hook context
 * (Gemini), as `&lt;c2c …&gt;` — and a message body that quotes an envelope
 * shows it as `&lt;c2c …` too (the envelope escapes `<c2c` in bodies), in
 * both kinds of transcript. The text alone cannot tell them apart, and an
 * agent may also write envelope-like text in its own output. What a forger
 * cannot make is a message this broker carried: so a transcript envelope
 * counts only when its id is one of the broker's direct messages (archived,
 * pending or dead-lettered) and its sender and recipient are that message's.
 * Quoting a real envelope whole adds nothing, as the id is already counted.
 *
 * @module
 */

import { joinPath } from "./_path.ts";
import { InvalidArgumentError } from "./errors.ts";
import { readJsonl } from "./jsonl.ts";
import { type Message, messageProblem } from "./message.ts";
import { type BrokerPaths, INBOX_SUFFIX } from "./paths.ts";

/** One delivered message, from either source. */
export interface ExchangeEvent {
  /** Message id; `null` for a transcript marker without one (never counted). */
  id: string | null;
  /** Sender alias. */
  from: string;
  /** Recipient alias. */
  to: string;
}

/** Sent and received counts from one source. */
export interface ExchangeCount {
  /** Messages this participant sent. */
  sent: number;
  /** Messages this participant received. */
  received: number;
}

/** One participant's line in the verify report. */
export interface ParticipantExchange extends ExchangeCount {
  /** The participant's alias. */
  alias: string;
  /** Whether `sent` and `received` both reached the goal (`null`: no goal). */
  reached: boolean | null;
  /** Counts from the broker archives alone. */
  archive: ExchangeCount;
  /** Counts from the transcripts alone (`null` when none were scanned). */
  transcripts: ExchangeCount | null;
}

/** Result of `verify`. */
export interface VerifyResult {
  /** Messages each participant must send and receive (`null`: no goal). */
  goal: number | null;
  /** Every alias seen as a sender or recipient, by alias. */
  participants: ParticipantExchange[];
  /**
   * Whether there is at least one participant and all reached the goal
   * (`null` without a goal).
   */
  all_reached: boolean | null;
  /** Direct messages found in the archives. */
  archive_messages: number;
  /** Transcript files scanned (`null` without `--transcripts`). */
  transcript_files: number | null;
  /**
   * Envelopes found in them that are messages this broker carried (`null`
   * without `--transcripts`).
   */
  transcript_markers: number | null;
  /**
   * Envelope-like markers found in them that are not (a body quoting or
   * forging an envelope, an unknown id); never counted.
   */
  transcript_ignored: number | null;
}

/**
 * Turns archived messages into exchange events, skipping room copies and
 * broker notices.
 *
 * @param records Messages from `archive/*.jsonl`.
 * @returns One event per direct message.
 *
 * @example Usage
 * ```ts
 * import { archiveEvents } from "./verify.ts";
 * archiveEvents([{ id: "1", ts: "", from_alias: "a", to_alias: "b", content: "hi" }]);
 * // [{ id: "1", from: "a", to: "b" }]
 * ```
 */
export function archiveEvents(records: readonly Message[]): ExchangeEvent[] {
  return records
    // Room copies and broker notices (a claim's `event`) are not messages
    // a participant sent.
    .filter((m) => m.room_id === undefined && m.event === undefined)
    .map((m) => ({ id: m.id, from: m.from_alias, to: m.to_alias }));
}

// An opening `<c2c event="message"` as it appears raw, HTML-escaped (Gemini
// escapes hook context: `&lt;c2c`, maybe `&quot;`), or inside a JSON string
// (JSONL transcripts: `\"`, and `\u003c` from serializers that escape `<`).
const MARKER =
  /(?:<|&lt;|\\u003[cC])c2c\s+event=(\\*"|&quot;)message\1([^<>]*?)(?:>|&gt;|\\u003[eE])/g;
const ATTRIBUTE = /(?:^|\s)(from|alias|id)=(?:\\*"|&quot;)([^"\\&<>]*)/g;

/**
 * Finds the direct-message envelope markers in a transcript's text: both
 * `<c2c event="message"` and the HTML-escaped `&lt;c2c event="message"`, and
 * the same inside JSON strings. The sender and recipient come from the
 * envelope's `from` and `alias` attributes (empty when missing). These are
 * candidates: {@linkcode realEnvelopes} keeps the ones that are messages the
 * broker carried.
 *
 * @param text The transcript's contents.
 * @returns One event per marker, in order.
 *
 * @example Usage
 * ```ts
 * import { transcriptEvents } from "./verify.ts";
 * transcriptEvents('<c2c event="message" from="a" alias="b" id="1">hi</c2c>');
 * // [{ id: "1", from: "a", to: "b" }]
 * ```
 */
export function transcriptEvents(text: string): ExchangeEvent[] {
  const events: ExchangeEvent[] = [];
  for (const marker of text.matchAll(MARKER)) {
    const attrs: Record<string, string> = {};
    for (const [, name, value] of marker[2].matchAll(ATTRIBUTE)) {
      attrs[name] ??= value;
    }
    events.push({
      id: attrs.id || null,
      from: attrs.from ?? "",
      to: attrs.alias ?? "",
    });
  }
  return events;
}

/**
 * Keeps the transcript markers that are real envelopes: their id is a
 * direct message the broker carried, with the same sender and recipient.
 *
 * @param markers Markers from {@linkcode transcriptEvents}.
 * @param known The broker's direct messages, by id.
 * @returns The real ones, and how many were not.
 *
 * @example Usage
 * ```ts
 * import { realEnvelopes } from "./verify.ts";
 * const known = new Map([["1", { id: "1", from: "a", to: "b" }]]);
 * realEnvelopes([
 *   { id: "1", from: "a", to: "b" },
 *   { id: "forged", from: "bob", to: "b" },
 * ], known);
 * // { events: [{ id: "1", from: "a", to: "b" }], ignored: 1 }
 * ```
 */
export function realEnvelopes(
  markers: readonly ExchangeEvent[],
  known: ReadonlyMap<string, ExchangeEvent>,
): { events: ExchangeEvent[]; ignored: number } {
  const events = markers.filter((m) => {
    const message = m.id === null ? undefined : known.get(m.id);
    return message !== undefined && message.from === m.from &&
      message.to === m.to;
  });
  return { events, ignored: markers.length - events.length };
}

/**
 * Tallies events per participant and checks each against the goal. A
 * message counts once even when both sources (or one source twice) show it.
 *
 * @param archive Events from the archives.
 * @param transcripts Events from transcripts (real envelopes only, see
 * {@linkcode realEnvelopes}), or `null` when none were read.
 * @param goal Messages each participant must send and receive, or `null`
 * for none.
 * @returns Per-participant counts, sorted by alias (without the file counts,
 * which the caller knows).
 *
 * @example Usage
 * ```ts
 * import { tallyExchange } from "./verify.ts";
 * const r = tallyExchange([{ id: "1", from: "a", to: "b" }], null, 1);
 * r.participants.map((p) => [p.alias, p.sent, p.received]);
 * // [["a", 1, 0], ["b", 0, 1]]
 * ```
 */
export function tallyExchange(
  archive: readonly ExchangeEvent[],
  transcripts: readonly ExchangeEvent[] | null,
  goal: number | null,
): Omit<VerifyResult, "transcript_files" | "transcript_ignored"> {
  const aliases = new Set<string>();
  const bySource = (events: readonly ExchangeEvent[]) => {
    const sent = new Map<string, Set<string>>();
    const received = new Map<string, Set<string>>();
    events.forEach((e, i) => {
      const key = e.id ?? `#${i}`;
      for (const [alias, map] of [[e.from, sent], [e.to, received]] as const) {
        if (!alias) continue;
        aliases.add(alias);
        if (!map.has(alias)) map.set(alias, new Set());
        map.get(alias)!.add(key);
      }
    });
    return { sent, received };
  };
  const a = bySource(archive);
  // Id-less markers get keys that cannot collide with archive ids.
  const t = transcripts === null
    ? null
    : bySource(transcripts.filter((e) => e.id !== null));
  const size = (m: Map<string, Set<string>>, alias: string) =>
    m.get(alias)?.size ?? 0;
  const union = (x: Set<string> | undefined, y: Set<string> | undefined) =>
    new Set([...(x ?? []), ...(y ?? [])]).size;
  const participants = [...aliases].sort().map((alias) => {
    const sent = union(a.sent.get(alias), t?.sent.get(alias));
    const received = union(a.received.get(alias), t?.received.get(alias));
    return {
      alias,
      sent,
      received,
      reached: goal === null ? null : sent >= goal && received >= goal,
      archive: { sent: size(a.sent, alias), received: size(a.received, alias) },
      transcripts: t
        ? { sent: size(t.sent, alias), received: size(t.received, alias) }
        : null,
    };
  });
  return {
    goal,
    participants,
    all_reached: goal === null
      ? null
      : participants.length > 0 && participants.every((p) => p.reached),
    archive_messages: archive.length,
    transcript_markers: transcripts === null
      ? null
      : new Set(transcripts.map((e) => e.id)).size,
  };
}

/**
 * Reads every archive (`archive/*.jsonl`) of the broker.
 *
 * Requires `--allow-read` on the broker root.
 *
 * @param paths Broker layout.
 * @returns Exchange events of every drained direct message.
 * @throws {CorruptFileError} When an archive does not parse (naming it).
 */
export function readArchiveEvents(paths: BrokerPaths): ExchangeEvent[] {
  return readMessageFiles(paths.archiveDir, ".jsonl");
}

/**
 * Every direct message the broker carried — archived, still pending, or
 * dead-lettered — by id: what a transcript envelope must match to count.
 *
 * Requires `--allow-read` on the broker root.
 *
 * @param paths Broker layout.
 * @param archived The archive's events, when already read.
 * @returns The messages' events by id.
 * @throws {CorruptFileError} When a file does not parse (naming it).
 */
export function knownMessages(
  paths: BrokerPaths,
  archived: readonly ExchangeEvent[] = readArchiveEvents(paths),
): Map<string, ExchangeEvent> {
  const known = new Map<string, ExchangeEvent>();
  for (
    const e of [
      ...archived,
      ...readMessageFiles(paths.root, INBOX_SUFFIX),
      ...archiveEvents(
        readJsonl<Message>(paths.deadLetter, messageProblem)
          .records,
      ),
    ]
  ) {
    if (e.id !== null) known.set(e.id, e);
  }
  return known;
}

/** Direct-message events of every `*suffix` JSON Lines file in `dir`. */
function readMessageFiles(dir: string, suffix: string): ExchangeEvent[] {
  const events: ExchangeEvent[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return events;
    throw e;
  }
  for (const entry of entries.sort((x, y) => x.name.localeCompare(y.name))) {
    if (!entry.isFile || !entry.name.endsWith(suffix)) continue;
    const { records } = readJsonl<Message>(
      joinPath(dir, entry.name),
      messageProblem,
    );
    events.push(...archiveEvents(records));
  }
  return events;
}

/**
 * Reads every regular file under `dir` (recursively; symlinks are not
 * followed) and collects its envelope markers.
 *
 * Requires `--allow-read` on `dir`.
 *
 * @param dir Transcript directory.
 * @returns The events and how many files were scanned.
 * @throws {InvalidArgumentError} When `dir` does not exist or is not a
 * directory.
 */
export function readTranscriptEvents(
  dir: string,
): { events: ExchangeEvent[]; files: number } {
  try {
    if (!Deno.statSync(dir).isDirectory) {
      throw new InvalidArgumentError(
        `transcripts '${dir}' is not a directory`,
      );
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new InvalidArgumentError(
        `transcripts directory '${dir}' does not exist`,
      );
    }
    throw e;
  }
  const decoder = new TextDecoder(); // lenient: transcripts may hold binary
  const events: ExchangeEvent[] = [];
  let files = 0;
  const walk = (at: string) => {
    const entries = [...Deno.readDirSync(at)].sort((x, y) =>
      x.name.localeCompare(y.name)
    );
    for (const entry of entries) {
      const path = joinPath(at, entry.name);
      if (entry.isDirectory) walk(path);
      else if (entry.isFile) {
        files++;
        events.push(
          ...transcriptEvents(decoder.decode(Deno.readFileSync(path))),
        );
      }
    }
  };
  walk(dir);
  return { events, files };
}

/**
 * Counts the exchange of a broker (and, optionally, a transcript directory)
 * and checks every participant against the goal.
 *
 * Requires `--allow-read` on the broker root, and on `transcripts` when given.
 *
 * @param paths Broker layout.
 * @param options Transcript directory and goal (default: none — counts
 * only).
 * @returns The report.
 *
 * @example Usage
 * ```ts ignore
 * import { verifyExchange } from "./verify.ts";
 * import { brokerPaths } from "./paths.ts";
 * const r = verifyExchange(brokerPaths("/repo/.git/c2c/mcp"), { goal: 5 });
 * console.log(r.all_reached);
 * ```
 */
export function verifyExchange(
  paths: BrokerPaths,
  options: { transcripts?: string; goal?: number } = {},
): VerifyResult {
  const goal = options.goal ?? null;
  if (goal !== null && (!Number.isInteger(goal) || goal < 0)) {
    throw new InvalidArgumentError("goal must be a non-negative integer");
  }
  const archive = readArchiveEvents(paths);
  const scanned = options.transcripts === undefined
    ? null
    : readTranscriptEvents(options.transcripts);
  const real = scanned === null
    ? null
    : realEnvelopes(scanned.events, knownMessages(paths, archive));
  return {
    ...tallyExchange(archive, real?.events ?? null, goal),
    transcript_files: scanned?.files ?? null,
    transcript_ignored: real?.ignored ?? null,
  };
}
