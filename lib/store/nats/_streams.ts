// Reading one subject of a JetStream stream: counting it, walking it
// forward (a few direct gets for a short subject, an ordered consumer for a
// long one), and finding where its last N messages start (2.9 cannot read
// backwards: a binary search over start sequences;
// docs/design.md#nats-facts 4).

import type { MsgHdrs } from "@nats-io/nats-core";
import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type MsgRequest,
} from "@nats-io/jetstream";

/** A stored message, as c2c reads it. */
export interface StoredRecord {
  /** Its stream sequence. */
  seq: number;
  /** Its payload. */
  data: Uint8Array;
  /** Its headers. */
  headers: MsgHdrs | undefined;
}

/** Both JetStream handles, for functions that need the two. */
export interface JsHandles {
  /** The client (consumers, publish). */
  js: JetStreamClient;
  /** The manager (stream info, get, purge). */
  jsm: JetStreamManager;
  /**
   * Runs one idempotent read step, retrying it through a cluster's
   * failover (default: once).
   */
  retry?: <T>(step: () => Promise<T>) => Promise<T>;
}

const once = <T>(step: () => Promise<T>) => step();

// Direct gets before an ordered consumer takes over: a get costs one round
// trip, a consumer two plus one per batch (docs/design.md#nats-facts 4).
const DIRECT_READS = 4;
const BATCH = 256;
const FETCH_EXPIRES_MS = 2000;
// Consumers made again for one read before giving up.
const MAX_REOPEN = 20;

/**
 * How many messages a subject holds.
 *
 * @param jsm The manager.
 * @param stream The stream.
 * @param subject A subject (no wildcard).
 * @returns The count.
 */
export async function subjectCount(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
): Promise<number> {
  const info = await jsm.streams.info(stream, { subjects_filter: subject });
  return info.state.subjects?.[subject] ?? 0;
}

/**
 * How many messages a subject holds, and how many bytes the whole stream
 * stores (an upper bound of the subject's), in one request.
 *
 * @param jsm The manager.
 * @param stream The stream.
 * @param subject A subject (no wildcard).
 * @returns The subject's count and the stream's bytes.
 */
export async function subjectCountAndBytes(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
): Promise<{ count: number; streamBytes: number }> {
  const info = await jsm.streams.info(stream, { subjects_filter: subject });
  return {
    count: info.state.subjects?.[subject] ?? 0,
    streamBytes: info.state.bytes,
  };
}

/**
 * Counts per subject under a wildcard filter.
 *
 * @param jsm The manager.
 * @param stream The stream.
 * @param filter A filter (`c2c.ns.inbox.>`).
 * @returns Subject → count, for subjects holding messages.
 */
export async function subjectCounts(
  jsm: JetStreamManager,
  stream: string,
  filter: string,
): Promise<Record<string, number>> {
  const info = await jsm.streams.info(stream, { subjects_filter: filter });
  return info.state.subjects ?? {};
}

/**
 * The first stored message of a subject at or after `seq`.
 *
 * @returns It, or `null`.
 */
export async function nextOf(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
  seq: number,
): Promise<StoredRecord | null> {
  // next_by_subj works on 2.9 though the 3.x type leaves it out.
  const m = await jsm.streams.getMessage(
    stream,
    { seq, next_by_subj: subject } as unknown as MsgRequest,
  );
  return m ? { seq: m.seq, data: m.data, headers: m.header } : null;
}

/**
 * The last stored message of a subject.
 *
 * @returns It, or `null`.
 */
export async function lastOf(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
): Promise<StoredRecord | null> {
  const m = await jsm.streams.getMessage(stream, { last_by_subj: subject });
  return m ? { seq: m.seq, data: m.data, headers: m.header } : null;
}

/**
 * Walks a subject forward from `fromSeq`, oldest first. Stop iterating
 * whenever enough was read: the consumer, if one was made, is deleted.
 *
 * @param h JetStream handles.
 * @param stream The stream.
 * @param subject A subject or a filter.
 * @param fromSeq First sequence to consider.
 * @param count The subject's count, when the caller asked for it: reading
 * from the start stops after that many.
 */
export async function* readSubject(
  h: JsHandles,
  stream: string,
  subject: string,
  fromSeq = 1,
  count?: Promise<number>,
): AsyncGenerator<StoredRecord> {
  const retry = h.retry ?? once;
  let seq = fromSeq;
  if (!/[*>]/.test(subject)) {
    for (let i = 0; i < DIRECT_READS; i++) {
      // With the subject's count (asked for at the same time), a read that
      // has them all needs no last request to find nothing more.
      if (count !== undefined && i > 0 && i >= await count) return;
      const m = await retry(() => nextOf(h.jsm, stream, subject, seq));
      if (!m) return;
      yield m;
      seq = m.seq + 1;
    }
  }
  yield* consume(h, stream, subject, { seq });
}

/**
 * The messages of a subject stored since a time (by the server's clock).
 *
 * @param h JetStream handles.
 * @param stream The stream.
 * @param subject The subject.
 * @param since The earliest storage time.
 */
export function readSince(
  h: JsHandles,
  stream: string,
  subject: string,
  since: Date,
): AsyncGenerator<StoredRecord> {
  return consume(h, stream, subject, { time: since.toISOString() });
}

/**
 * Reads with an ordered consumer, batch by batch. A batch that fails
 * through a failover is read again by a new consumer from the next
 * sequence not yet handed out, so nothing is skipped or repeated.
 */
async function* consume(
  h: JsHandles,
  stream: string,
  subject: string,
  from: { seq: number } | { time: string },
): AsyncGenerator<StoredRecord> {
  const retry = h.retry ?? once;
  let next = "seq" in from ? from.seq : 0;
  const open = () =>
    h.js.consumers.get(
      stream,
      next > 0 || !("time" in from)
        ? {
          filter_subjects: subject,
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: Math.max(next, 1),
        }
        : {
          filter_subjects: subject,
          deliver_policy: DeliverPolicy.StartTime,
          opt_start_time: from.time,
        },
    );
  let consumer = await retry(open);
  let reopened = 0;
  const reopen = async () => {
    if (++reopened > MAX_REOPEN) return false;
    consumer.delete().catch(() => {});
    consumer = await retry(open);
    return true;
  };
  try {
    let pending = (await consumer.info(true)).num_pending;
    while (pending > 0) {
      const want = Math.min(pending, BATCH);
      const batch: StoredRecord[] = [];
      let left = pending;
      let failed: unknown;
      try {
        const it = await consumer.fetch({
          max_messages: want,
          expires: FETCH_EXPIRES_MS,
        });
        for await (const m of it) {
          batch.push({ seq: m.seq, data: m.data, headers: m.headers });
          left = m.info.pending;
          if (batch.length >= want) break;
        }
      } catch (e) {
        failed = e;
      }
      for (const rec of batch) {
        next = rec.seq + 1;
        yield rec;
      }
      pending = left;
      if (failed !== undefined || batch.length < want) {
        // A batch cut short: messages deleted meanwhile, or a failover.
        // Ask a new consumer, from the next sequence, what is left.
        if (!await reopen()) {
          if (failed !== undefined) throw failed;
          break;
        }
        pending = (await consumer.info(true)).num_pending;
      }
    }
  } finally {
    consumer.delete().catch(() => {});
  }
}

/** How many messages of `subject` have a sequence ≥ `seq`. */
async function countFrom(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
  seq: number,
): Promise<number> {
  const info = await jsm.consumers.add(stream, {
    filter_subject: subject,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: seq,
    ack_policy: AckPolicy.None,
    mem_storage: true,
    inactive_threshold: 5_000_000_000,
  });
  jsm.consumers.delete(stream, info.name).catch(() => {});
  return info.num_pending;
}

/**
 * The sequence from which a subject holds exactly its last `n` messages
 * (`n` ≤ its count): arithmetic when its messages are contiguous in the
 * stream, else a binary search over start sequences (log2 of the span
 * consumer probes, each a round trip).
 *
 * @param jsm The manager.
 * @param stream The stream.
 * @param subject The subject.
 * @param n How many of its newest messages.
 * @param count Its count, when known.
 * @returns The start sequence, or `null` when the subject is empty.
 */
export async function startOfLast(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
  n: number,
  count?: number,
): Promise<number | null> {
  const total = count ?? await subjectCount(jsm, stream, subject);
  if (total === 0 || n <= 0) return null;
  const first = await nextOf(jsm, stream, subject, 1);
  if (!first) return null;
  if (n >= total) return first.seq;
  const last = await lastOf(jsm, stream, subject);
  if (!last) return null;
  if (last.seq - first.seq + 1 === total) return last.seq - n + 1;
  let lo = first.seq;
  let hi = last.seq;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (await countFrom(jsm, stream, subject, mid) >= n) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Reads up to `limit` messages of a subject starting at its
 * `offset`-th message (0 = oldest).
 *
 * @param h JetStream handles.
 * @param stream The stream.
 * @param subject The subject.
 * @param offset Messages to skip.
 * @param limit At most this many (default: all).
 * @returns The messages, oldest first.
 */
export async function readSlice(
  h: JsHandles,
  stream: string,
  subject: string,
  offset: number,
  limit = Infinity,
): Promise<StoredRecord[]> {
  const count = await subjectCount(h.jsm, stream, subject);
  if (offset >= count || limit <= 0) return [];
  const start = await startOfLast(
    h.jsm,
    stream,
    subject,
    count - offset,
    count,
  );
  if (start === null) return [];
  const out: StoredRecord[] = [];
  for await (const m of readSubject(h, stream, subject, start)) {
    out.push(m);
    if (out.length >= limit) break;
  }
  return out;
}
