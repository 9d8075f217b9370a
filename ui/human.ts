/**
 * The human as a peer: `c2c ui` registers an alias (default `human`) as a
 * session of its own, holding the session's lease for as long as it runs,
 * and posts through the ordinary {@linkcode Broker.send} and
 * {@linkcode Broker.sendRoom} — agents get an ordinary envelope from that
 * alias. What agents send to the human is shown in the page's stream, so
 * the human's inbox is drained as it fills (nothing piles up as pending).
 *
 * @module
 */

import type { Broker } from "../lib/broker.ts";
import { validateAlias } from "../lib/alias.ts";
import type { SendReceipt, SendRoomResult } from "../lib/types.ts";
import type { SessionLease } from "../lib/store/store.ts";

/** Alias the human posts as unless `--alias` says otherwise. */
export const DEFAULT_HUMAN_ALIAS = "human";
/** Client name the human's registration carries. */
export const HUMAN_CLIENT = "c2c-ui";

/**
 * The human's session. {@linkcode HumanPeer.join} registers it;
 * {@linkcode HumanPeer.leave} ends it.
 *
 * Requires what the broker's store requires.
 *
 * @example Usage
 * ```ts ignore
 * import { HumanPeer } from "./human.ts";
 * const human = await HumanPeer.join(broker, "human");
 * await human.post({ room_id: "lounge", content: "hi all" });
 * await human.leave();
 * ```
 */
export class HumanPeer {
  /** The alias the human posts as. */
  readonly alias: string;
  /** The human's session. */
  readonly sessionId: string;
  readonly #broker: Broker;
  readonly #lease: SessionLease;
  #draining: Promise<void> | null = null;
  #drainAgain = false;
  #left = false;

  private constructor(
    broker: Broker,
    alias: string,
    sessionId: string,
    lease: SessionLease,
  ) {
    this.#broker = broker;
    this.alias = alias;
    this.sessionId = sessionId;
    this.#lease = lease;
  }

  /**
   * Takes a new session's lease and registers `alias` for it.
   *
   * @param broker The broker.
   * @param alias The alias to post as.
   * @returns The registered peer.
   * @throws {InvalidAliasError} When the alias is not a valid alias.
   * @throws {AliasTakenError} When a live session holds the alias.
   */
  static async join(broker: Broker, alias: string): Promise<HumanPeer> {
    validateAlias(alias);
    // A session of its own each run: a second `c2c ui` with the same alias
    // is refused by the alias rule, not by a lease it cannot take.
    const sessionId = `ui-${crypto.randomUUID()}`;
    const lease = await broker.acquireLease(sessionId);
    try {
      await broker.register(sessionId, {
        alias,
        client: HUMAN_CLIENT,
        pid: Deno.pid,
        leased: true,
      });
    } catch (e) {
      lease.release();
      throw e;
    }
    return new HumanPeer(broker, alias, sessionId, lease);
  }

  /**
   * Sends a direct message as the human.
   *
   * @param args Recipient and body.
   * @returns The receipt.
   */
  send(args: { to_alias: string; content: string }): Promise<SendReceipt> {
    return this.#broker.send(this.sessionId, {
      to_alias: args.to_alias,
      content: args.content,
      from_alias: this.alias,
    });
  }

  /**
   * Posts to a room as the human, joining it first when needed.
   *
   * @param args Room and body.
   * @returns The post's result.
   */
  async post(
    args: { room_id: string; content: string },
  ): Promise<SendRoomResult> {
    const members = await this.#broker.store.members(args.room_id);
    if (!members.some((m) => m.alias === this.alias)) {
      await this.#broker.joinRoom(this.sessionId, {
        room_id: args.room_id,
        history_limit: 0,
      });
    }
    return this.#broker.sendRoom(this.sessionId, {
      room_id: args.room_id,
      content: args.content,
      from_alias: this.alias,
    });
  }

  /**
   * Takes what waits in the human's inbox (the page has shown it). Calls
   * during a drain run one more drain after it.
   */
  drain(): Promise<void> {
    if (this.#left) return Promise.resolve();
    if (this.#draining) {
      this.#drainAgain = true;
      return this.#draining;
    }
    this.#draining = (async () => {
      try {
        do {
          this.#drainAgain = false;
          if (
            (await this.#broker.store.pendingCounts([this.#owner()]))[0] > 0
          ) {
            await this.#broker.pollInbox(this.sessionId);
          }
        } while (this.#drainAgain && !this.#left);
      } finally {
        this.#draining = null;
      }
    })();
    return this.#draining;
  }

  /**
   * Ends the session: lets go of the lease and unregisters, as `c2c run`
   * does on a clean exit (what still waits becomes dead letters for the
   * alias's return). Idempotent.
   */
  async leave(): Promise<void> {
    if (this.#left) return;
    this.#left = true;
    await this.#draining;
    this.#lease.release();
    await this.#broker.unregister(this.sessionId);
  }

  #owner() {
    return { session_id: this.sessionId, alias: this.alias };
  }
}
