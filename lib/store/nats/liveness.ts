/**
 * Liveness across machines, with no clock compared: the process holding a
 * session's lease answers requests on `c2c.<ns>.live.<session>` (and on the
 * shared `c2c.<ns>.presence` subject, for bulk probes) for as long as it is
 * connected. Asking is the probe: an answer within
 * {@linkcode LIVENESS_TIMEOUT_MS} means alive; "no responders" (the process
 * exited or lost its connection: the server drops its subscriptions at
 * once) or silence (frozen, or cut off from the network) means not alive
 * (docs/design.md#nats-facts 2).
 *
 * @module
 */

import type { Msg, NatsConnection, Subscription } from "@nats-io/nats-core";
import { SessionInUseError } from "../../errors.ts";
import type { SessionLease } from "../store.ts";
import type { NatsLink } from "./link.ts";

/**
 * How long a probe waits for an answer. A process frozen (or cut off) for
 * longer reads as not alive — dead for sending — until it answers again.
 */
export const LIVENESS_TIMEOUT_MS = 1000;
/**
 * How long a bulk probe waits after the last answer before the silent
 * sessions are asked one by one.
 */
export const PRESENCE_STALL_MS = 50;
/** Longest a bulk probe waits in all. */
export const PRESENCE_MAX_WAIT_MS = 1500;
// How long taking a lease waits for a connection that is being made; when
// NATS is down the link answers sooner, as soon as an attempt failed.
const LEASE_CONNECT_WAIT_MS = 3000;
// After subscribing, how long to listen for a second holder that
// subscribed at the same moment (two processes acquiring at once).
const CONTEST_MS = 100;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What a probe of one session found. */
export type ProbeAnswer = "alive" | "absent" | "silent";

/**
 * Asks whether `subject`'s session answers.
 *
 * Requires `--allow-net` to the NATS servers.
 *
 * @param nc The connection.
 * @param subject The session's `live` subject.
 * @param timeoutMs How long to wait for an answer.
 * @returns `alive` (answered), `absent` (no responders), `silent` (timeout).
 * @throws The connection's error when it is not connected.
 */
export async function probe(
  nc: NatsConnection,
  subject: string,
  timeoutMs = LIVENESS_TIMEOUT_MS,
): Promise<ProbeAnswer> {
  try {
    await nc.request(subject, undefined, { timeout: timeoutMs });
    return "alive";
  } catch (e) {
    return classify(e);
  }
}

function classify(e: unknown): ProbeAnswer {
  for (
    let c = e as Error | undefined;
    c instanceof Error;
    c = c.cause as Error
  ) {
    if (/^NoResponders/.test(c.name) || /no responders/.test(c.message)) {
      return "absent";
    }
    if (c.name === "TimeoutError") return "silent";
  }
  throw e;
}

/**
 * Every session that answers on the presence subject: one request instead
 * of one per session (`list` with 1,000 sessions: ~10 ms;
 * docs/design.md#nats-facts 2). It
 * ends once every session in `wanted` has answered, or
 * {@linkcode PRESENCE_STALL_MS} after the last answer. A session missing
 * from the answer may just have been slow: callers probe those one by one.
 *
 * Requires `--allow-net` to the NATS servers.
 *
 * @param nc The connection.
 * @param subject The namespace's presence subject.
 * @param wanted The sessions asked about (default: listen until the stall).
 * @returns The session ids that answered.
 */
export async function presence(
  nc: NatsConnection,
  subject: string,
  wanted?: ReadonlySet<string>,
): Promise<Set<string>> {
  const seen = new Set<string>();
  let missing = wanted?.size ?? Infinity;
  try {
    const replies = await nc.requestMany(
      subject,
      undefined,
      {
        strategy: "stall",
        stall: PRESENCE_STALL_MS,
        maxWait: PRESENCE_MAX_WAIT_MS,
      } as Parameters<NatsConnection["requestMany"]>[2],
    );
    for await (const reply of replies) {
      const id = reply.string();
      if (seen.has(id)) continue;
      seen.add(id);
      if (wanted?.has(id) && --missing === 0) break;
    }
  } catch (e) {
    if (classify(e) === "absent") return seen;
  }
  return seen;
}

/** Inputs of {@linkcode NatsLease.acquire}. */
export interface LeaseOptions {
  /** The background connection. */
  link: NatsLink;
  /** The session. */
  sessionId: string;
  /** Its `live` subject. */
  live: string;
  /** The namespace's presence subject. */
  presence: string;
  /** Called once the lease is released. */
  onRelease?: () => void;
}

/**
 * A held session lease: subscriptions that answer probes, re-made on every
 * new connection for as long as the lease is held.
 */
export class NatsLease implements SessionLease {
  /** The session. */
  readonly sessionId: string;
  /** A random id telling two holders apart. */
  readonly instance: string = crypto.randomUUID();
  readonly #options: LeaseOptions;
  #held = true;
  #subs: Subscription[] = [];
  #nc: NatsConnection | undefined;
  #stop: (() => void) | undefined;

  private constructor(options: LeaseOptions) {
    this.sessionId = options.sessionId;
    this.#options = options;
  }

  /**
   * Takes the lease of a session: refuses when another process answers for
   * it; when NATS cannot be reached now, the lease is held locally and
   * starts answering as soon as the connection comes up.
   *
   * Requires `--allow-net` to the NATS servers.
   *
   * @param options Link, session, subjects.
   * @returns The held lease.
   * @throws {SessionInUseError} When a live process already answers for it.
   */
  static async acquire(options: LeaseOptions): Promise<NatsLease> {
    const lease = new NatsLease(options);
    let nc: NatsConnection | undefined;
    try {
      nc = await options.link.connection(LEASE_CONNECT_WAIT_MS);
    } catch {
      nc = undefined; // NATS down: answer once it is back
    }
    if (nc) {
      if (await probe(nc, options.live).catch(() => "absent") === "alive") {
        throw new SessionInUseError(options.sessionId);
      }
      await lease.#answerOn(nc);
      if (!await lease.#winsContest(nc)) {
        lease.release();
        throw new SessionInUseError(options.sessionId);
      }
    }
    lease.#follow(nc);
    return lease;
  }

  /** Whether it is still held. */
  get held(): boolean {
    return this.#held;
  }

  async #answerOn(nc: NatsConnection): Promise<void> {
    this.#unsubscribe();
    this.#nc = nc;
    const me = encoder.encode(
      JSON.stringify({ session_id: this.sessionId, instance: this.instance }),
    );
    const id = encoder.encode(this.sessionId);
    const answer = (reply: Uint8Array) => (err: Error | null, msg: Msg) => {
      if (err === null && this.#held) msg.respond(reply);
    };
    this.#subs = [
      nc.subscribe(this.#options.live, { callback: answer(me) }),
      nc.subscribe(this.#options.presence, { callback: answer(id) }),
    ];
    await nc.flush();
  }

  // Two processes that probed at the same moment both found nobody and
  // both subscribed: each now hears the other, and the smaller instance
  // id keeps the lease.
  async #winsContest(nc: NatsConnection): Promise<boolean> {
    try {
      const replies = await nc.requestMany(
        this.#options.live,
        undefined,
        {
          strategy: "timer",
          maxWait: CONTEST_MS,
        } as Parameters<NatsConnection["requestMany"]>[2],
      );
      for await (const reply of replies) {
        let other: { instance?: unknown };
        try {
          other = JSON.parse(decoder.decode(reply.data));
        } catch {
          continue;
        }
        if (
          typeof other.instance === "string" &&
          other.instance !== this.instance && other.instance < this.instance
        ) return false;
      }
    } catch {
      // no answer at all, or the connection dropped: nobody contests
    }
    return true;
  }

  // Re-subscribes on each new connection the link makes (after an auth
  // failure ended the old one, or NATS was down when the lease was taken).
  #follow(current: NatsConnection | undefined): void {
    let stopped = false;
    let wake: (() => void) | undefined;
    this.#stop = () => {
      stopped = true;
      wake?.();
    };
    (async () => {
      let nc = current;
      while (!stopped) {
        if (nc) {
          await Promise.race([
            nc.closed(),
            new Promise<void>((r) => wake = r),
          ]);
          if (stopped) return;
        }
        nc = undefined;
        while (!stopped && !nc) {
          try {
            nc = await this.#options.link.connection(5000);
          } catch {
            await new Promise<void>((r) => {
              const t = setTimeout(r, 250);
              wake = () => {
                clearTimeout(t);
                r();
              };
            });
          }
        }
        if (stopped || !nc) return;
        try {
          await this.#answerOn(nc);
          if (!await this.#winsContest(nc)) {
            // Someone took the session while NATS was out of reach.
            this.release();
            return;
          }
        } catch {
          nc = undefined; // lost again before the flush: retry
        }
      }
    })();
  }

  #unsubscribe(): void {
    for (const sub of this.#subs) {
      try {
        sub.unsubscribe();
      } catch {
        // connection already closed
      }
    }
    this.#subs = [];
  }

  /** Stops answering: peers see the session dead from now on. Idempotent. */
  release(): void {
    if (!this.#held) return;
    this.#held = false;
    this.#stop?.();
    this.#unsubscribe();
    // The unsubscription reaches the server with the next flush; push it
    // now so a peer's next probe already finds nobody.
    this.#nc?.flush().catch(() => {});
    this.#options.onRelease?.();
  }

  /** {@linkcode release}, for `using`. */
  [Symbol.dispose](): void {
    this.release();
  }
}
