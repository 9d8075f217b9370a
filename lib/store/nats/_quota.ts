// How many bytes wait in an inbox subject, counted as the file store counts
// its inbox: each message's JSON line and its newline. JetStream keeps no
// per-subject byte count, and reading every pending message per send would
// make a send's cost grow with the inbox. So a send checks an upper bound:
// the bytes the whole inbox stream holds, or else the sizes this process
// knows of the pending messages (it remembers each one it queued or read,
// by sequence) plus the largest possible line for each one it does not
// know. Only when that bound could pass the quota does it read what it has
// not seen; a refusal is always counted exactly.

import {
  type JsHandles,
  nextOf,
  readSubject,
  subjectCountAndBytes,
} from "./_streams.ts";

/** An inbox's count and first sequence, read together. */
export interface InboxState {
  /** Messages pending. */
  count: number;
  /** The oldest pending message's sequence (0 when none), once read. */
  first?: number;
  /**
   * Bytes the whole inbox stream stores: every inbox's messages with their
   * subjects and headers, so more than this inbox's lines.
   */
  streamBytes: number;
}

interface Sizes {
  /** Known sequences, ascending. */
  seqs: number[];
  /** Sequence → bytes. */
  bytes: Map<number, number>;
  /** Every message of the subject up to here has been read. */
  readTo: number;
}

// Inboxes remembered at once; past this the memory starts over.
const MAX_SUBJECTS = 256;

/** Remembered message sizes, per inbox subject. */
export class InboxBytes {
  readonly #sizes = new Map<string, Sizes>();

  /**
   * The count of an inbox and the bytes of its stream (one request).
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
    return await subjectCountAndBytes(h.jsm, stream, subject);
  }

  /**
   * Reads where the inbox starts now (what {@linkcode bound} needs).
   *
   * @param h JetStream handles.
   * @param stream The inbox stream.
   * @param subject The inbox subject.
   * @param state Its state, completed in place.
   */
  async locate(
    h: JsHandles,
    stream: string,
    subject: string,
    state: InboxState,
  ): Promise<void> {
    state.first = (await nextOf(h.jsm, stream, subject, 1))?.seq ?? 0;
  }

  /**
   * An upper bound of the bytes pending: known sizes, plus `largest` for
   * each pending message whose size this process does not know.
   *
   * @param subject The inbox subject.
   * @param state Its state, read just before.
   * @param largest The largest line a message can take.
   * @returns The bound.
   */
  bound(subject: string, state: InboxState, largest: number): number {
    if (state.count === 0) return 0;
    if (state.first === undefined) return state.streamBytes;
    const sizes = this.#of(subject);
    // What precedes the oldest pending message was claimed: forget it.
    const gone = lowerBound(sizes.seqs, state.first);
    for (const s of sizes.seqs.splice(0, gone)) sizes.bytes.delete(s);
    let known = 0;
    for (const s of sizes.seqs) known += sizes.bytes.get(s)!;
    const unknown = Math.max(0, state.count - sizes.seqs.length);
    // While all inboxes together hold less, nothing needs reading.
    return Math.min(state.streamBytes, known + unknown * largest);
  }

  /**
   * Reads the sizes of the messages queued since this process last read
   * the inbox (all of it, the first time).
   *
   * @param h JetStream handles.
   * @param stream The inbox stream.
   * @param subject The inbox subject.
   * @param state Its state.
   */
  async catchUp(
    h: JsHandles,
    stream: string,
    subject: string,
    state: InboxState,
  ): Promise<void> {
    const sizes = this.#of(subject);
    const from = Math.max(sizes.readTo + 1, state.first ?? 1);
    for await (const rec of readSubject(h, stream, subject, from)) {
      add(sizes, rec.seq, rec.data.length + 1);
      sizes.readTo = rec.seq;
    }
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
    const sizes: Sizes = { seqs: [], bytes: new Map(), readTo: 0 };
    let total = 0;
    for await (const rec of readSubject(h, stream, subject, 1)) {
      add(sizes, rec.seq, rec.data.length + 1);
      sizes.readTo = rec.seq;
      total += rec.data.length + 1;
    }
    this.#remember(subject, sizes);
    return total;
  }

  /**
   * Remembers a message this process just queued.
   *
   * @param subject The inbox subject.
   * @param seq Its sequence (from the acknowledgement).
   * @param bytes Its JSON line's bytes.
   */
  published(subject: string, seq: number, bytes: number): void {
    add(this.#of(subject), seq, bytes);
  }

  #of(subject: string): Sizes {
    let sizes = this.#sizes.get(subject);
    if (!sizes) {
      sizes = { seqs: [], bytes: new Map(), readTo: 0 };
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
}

function add(sizes: Sizes, seq: number, bytes: number): void {
  if (sizes.bytes.has(seq)) return;
  sizes.bytes.set(seq, bytes);
  const at = lowerBound(sizes.seqs, seq);
  sizes.seqs.splice(at, 0, seq);
}

/** Index of the first element ≥ `value` in ascending `list`. */
function lowerBound(list: readonly number[], value: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
