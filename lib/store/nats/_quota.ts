// How many bytes wait in an inbox subject, counted as the file store counts
// its inbox: each message's JSON line and its newline. JetStream keeps no
// per-subject byte count, so a process remembers the size of every message
// it has seen by sequence, and a later check reads only what it has not
// seen: a send into a deep inbox costs the same as into a short one. Claims
// cut a prefix, so the inbox is the newest `count` messages it knows.

import {
  type JsHandles,
  lastOf,
  readSubject,
  type StoredRecord,
  subjectCount,
} from "./_streams.ts";

/** An inbox's count and newest message, read together. */
export interface InboxState {
  /** Messages pending. */
  count: number;
  /** The newest, or `null`. */
  last: StoredRecord | null;
}

interface Sizes {
  /** Known sequences, ascending. */
  seqs: number[];
  /** Sequence → bytes. */
  bytes: Map<number, number>;
  /** Every message of the subject up to here is known. */
  maxSeq: number;
}

// Inboxes remembered at once; past this the memory starts over.
const MAX_SUBJECTS = 256;

/** Remembered message sizes of deep inboxes, per subject. */
export class InboxBytes {
  readonly #sizes = new Map<string, Sizes>();

  /**
   * The count and newest message of an inbox, in parallel (one round trip).
   *
   * @param h JetStream handles.
   * @param stream The inbox stream.
   * @param subject The inbox subject.
   * @returns Its state.
   */
  async state(
    h: JsHandles,
    stream: string,
    subject: string,
  ): Promise<InboxState> {
    const [count, last] = await Promise.all([
      subjectCount(h.jsm, stream, subject),
      lastOf(h.jsm, stream, subject),
    ]);
    return { count, last: count === 0 ? null : last };
  }

  /**
   * Bytes pending, from remembered sizes plus whatever arrived unseen. Exact
   * while messages leave by prefix (drains); one deleted from the middle
   * (a push-channel drain) may still be counted, so never less than the
   * truth: check a refusal with {@linkcode exact}.
   *
   * @param h JetStream handles.
   * @param stream The inbox stream.
   * @param subject The inbox subject.
   * @param state Its state, read just before.
   * @returns Bytes, at least the pending ones.
   */
  async estimate(
    h: JsHandles,
    stream: string,
    subject: string,
    state: InboxState,
  ): Promise<number> {
    if (state.count === 0 || state.last === null) return 0;
    const sizes = this.#of(subject);
    const lastSeq = state.last.seq;
    if (lastSeq > sizes.maxSeq) {
      let known = 0;
      for (let i = sizes.seqs.length - 1; i >= 0; i--) {
        const s = sizes.seqs[i];
        if (s <= sizes.maxSeq) break;
        if (s <= lastSeq) known++;
      }
      // Every sequence since the last read is one this process published:
      // nothing else can have landed in between.
      if (known !== lastSeq - sizes.maxSeq) {
        for await (
          const rec of readSubject(h, stream, subject, sizes.maxSeq + 1)
        ) {
          if (rec.seq > lastSeq) break;
          this.#add(sizes, rec.seq, rec.data.length + 1);
          if (rec.seq === lastSeq) break;
        }
      }
      sizes.maxSeq = lastSeq;
    }
    const end = upperBound(sizes.seqs, lastSeq);
    const start = Math.max(0, end - state.count);
    // What precedes the newest `count` was claimed: forget it.
    if (start > 0) {
      for (const s of sizes.seqs.splice(0, start)) sizes.bytes.delete(s);
    }
    let total = 0;
    for (let i = 0; i < end - start; i++) {
      total += sizes.bytes.get(sizes.seqs[i])!;
    }
    return total;
  }

  /**
   * Bytes pending, read message by message (and remembered afresh).
   *
   * @param h JetStream handles.
   * @param stream The inbox stream.
   * @param subject The inbox subject.
   * @returns Bytes pending.
   */
  async exact(h: JsHandles, stream: string, subject: string): Promise<number> {
    const sizes: Sizes = { seqs: [], bytes: new Map(), maxSeq: 0 };
    let total = 0;
    for await (const rec of readSubject(h, stream, subject, 1)) {
      this.#add(sizes, rec.seq, rec.data.length + 1);
      sizes.maxSeq = rec.seq;
      total += rec.data.length + 1;
    }
    this.#remember(subject, sizes);
    return total;
  }

  /**
   * Remembers a message this process just published.
   *
   * @param subject The inbox subject.
   * @param seq Its sequence (from the acknowledgement).
   * @param bytes Its JSON line's bytes.
   */
  published(subject: string, seq: number, bytes: number): void {
    const sizes = this.#sizes.get(subject);
    if (sizes) this.#add(sizes, seq, bytes);
  }

  #of(subject: string): Sizes {
    let sizes = this.#sizes.get(subject);
    if (!sizes) {
      sizes = { seqs: [], bytes: new Map(), maxSeq: 0 };
      this.#remember(subject, sizes);
    }
    return sizes;
  }

  #remember(subject: string, sizes: Sizes): void {
    if (this.#sizes.size >= MAX_SUBJECTS && !this.#sizes.has(subject)) {
      this.#sizes.clear();
    }
    this.#sizes.set(subject, sizes);
  }

  #add(sizes: Sizes, seq: number, bytes: number): void {
    if (sizes.bytes.has(seq)) return;
    sizes.bytes.set(seq, bytes);
    const at = upperBound(sizes.seqs, seq);
    sizes.seqs.splice(at, 0, seq);
  }
}

/** Index of the first element greater than `value` in ascending `list`. */
function upperBound(list: readonly number[], value: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid] <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
