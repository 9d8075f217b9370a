/**
 * An in-memory mirror of one KV bucket, fed by an ordered push consumer
 * (the last value of every key, then each change as it is stored), so that
 * a long-lived process reads the registry, the aliases or the room members
 * without a round trip per key — and a short-lived one reads them in one
 * snapshot (15–21 ms for 1,000 keys, against 1,000 gets;
 * docs/design.md#nats-facts 4).
 *
 * A read that must not miss a write made elsewhere first asks the stream
 * for its last sequence ({@linkcode KvMirror.fresh}, one round trip) and
 * waits until the mirror has applied it; a writer waits for its own write's
 * revision ({@linkcode KvMirror.waitFor}).
 *
 * @module
 */

import type {
  ConsumerMessages,
  JetStreamClient,
  JetStreamManager,
  JsMsg,
} from "@nats-io/jetstream";
import { DeliverPolicy } from "@nats-io/jetstream";

/** One live key of a mirrored bucket. */
export interface MirrorEntry {
  /** The key as stored (already encoded). */
  key: string;
  /** Its value. */
  value: Uint8Array;
  /** Its revision (the stream sequence of its last write). */
  revision: number;
}

/** The KV stream of a bucket. */
export function kvStream(bucket: string): string {
  return `KV_${bucket}`;
}

// Longest wait for the mirror to reach a sequence the stream reported: a
// write that vanished (purged by an operator) must not hang reads.
const CATCH_UP_MS = 2000;

/**
 * The mirror of one bucket. Start it with {@linkcode KvMirror.start};
 * stop it with {@linkcode KvMirror.stop}.
 */
export class KvMirror {
  /** The bucket. */
  readonly bucket: string;
  readonly #prefix: string;
  readonly #entries = new Map<string, MirrorEntry>();
  #lastSeq = 0;
  #waiters = new Set<{ seq: number; resolve: () => void }>();
  #messages: ConsumerMessages | undefined;
  #stopped = false;
  #listeners = new Set<() => void>();

  private constructor(bucket: string) {
    this.bucket = bucket;
    this.#prefix = `$KV.${bucket}.`;
  }

  /**
   * Starts mirroring `bucket` (which must exist) and resolves once the
   * last value of every key has been applied.
   *
   * @param js A JetStream client.
   * @param bucket The bucket.
   * @returns The ready mirror.
   */
  static async start(js: JetStreamClient, bucket: string): Promise<KvMirror> {
    const mirror = new KvMirror(bucket);
    const consumer = await js.consumers.getPushConsumer(kvStream(bucket), {
      filter_subjects: `$KV.${bucket}.>`,
      deliver_policy: DeliverPolicy.LastPerSubject,
    });
    const pending = (await consumer.info(true)).num_pending;
    let ready!: () => void;
    const loaded = new Promise<void>((resolve) => ready = resolve);
    let seen = 0;
    if (pending === 0) ready();
    mirror.#messages = await consumer.consume({
      callback: (m) => {
        mirror.#apply(m);
        if (++seen >= pending || m.info.pending === 0) ready();
      },
    });
    await loaded;
    return mirror;
  }

  #apply(m: JsMsg): void {
    const key = m.subject.slice(this.#prefix.length);
    const op = m.headers?.get("KV-Operation");
    if (op === "DEL" || op === "PURGE") {
      this.#entries.delete(key);
    } else {
      this.#entries.set(key, { key, value: m.data, revision: m.seq });
    }
    if (m.seq > this.#lastSeq) this.#lastSeq = m.seq;
    for (const w of [...this.#waiters]) {
      if (this.#lastSeq >= w.seq) {
        this.#waiters.delete(w);
        w.resolve();
      }
    }
    for (const listener of [...this.#listeners]) listener();
  }

  /**
   * Calls `listener` after every change applied.
   *
   * @param listener What to call.
   * @returns A function that removes it.
   */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The highest revision applied. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Whether the mirror was stopped. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Every live key, in revision order. */
  entries(): MirrorEntry[] {
    return [...this.#entries.values()].sort((a, b) => a.revision - b.revision);
  }

  /**
   * One key.
   *
   * @param key The stored (encoded) key.
   * @returns Its entry, or `undefined`.
   */
  get(key: string): MirrorEntry | undefined {
    return this.#entries.get(key);
  }

  /**
   * Waits until the mirror has applied revision `seq` (a write this
   * process made), or `timeoutMs` passed.
   *
   * @param seq The revision.
   * @param timeoutMs Longest wait.
   */
  waitFor(seq: number, timeoutMs = CATCH_UP_MS): Promise<void> {
    if (this.#lastSeq >= seq || this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = {
        seq,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        resolve();
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  /**
   * Asks the bucket's stream for its last sequence and waits until the
   * mirror has applied it: afterwards the mirror holds every write that
   * was acknowledged before this call.
   *
   * @param jsm A JetStream manager.
   */
  async fresh(jsm: JetStreamManager): Promise<void> {
    const info = await jsm.streams.info(kvStream(this.bucket));
    await this.waitFor(info.state.last_seq);
  }

  /** Stops the consumer. */
  stop(): void {
    this.#stopped = true;
    this.#messages?.stop();
    for (const w of this.#waiters) w.resolve();
    this.#waiters.clear();
    for (const listener of [...this.#listeners]) listener();
    this.#listeners.clear();
  }
}
