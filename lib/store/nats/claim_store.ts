/**
 * File claims in the NATS store (docs/design.md#claims): the namespace's
 * whole claim document is one value, key `claims` of KV bucket
 * `c2c_<ns>_claims`, in exactly the shape `claims.json` has in the file
 * store, and it is changed only by a compare-and-set on the revision read.
 * Of two sessions on two machines claiming one file at the same instant,
 * one compare-and-set lands and the other fails; the loser's change is
 * computed again from the winner's document, which now holds the winner's
 * claim: exactly one wins, as under the file store's lock.
 *
 * One key rather than one per claim: a claim must be checked against every
 * other claim (a glob overlaps a file), and one compare-and-set over the
 * whole document is what makes that check and the write one atomic step.
 * The namespace is the repository (docs/design.md#stores), so this is one
 * document per repository, as `claims.json` is.
 *
 * The commit guard's cue ({@linkcode CLAIMS_GUARD_FILE} in this machine's
 * local directory) is kept in step with the document here too: by every
 * write this process makes, and by the session servers of this machine,
 * which follow the bucket ({@linkcode NatsClaimStore.syncCue}) so that a
 * claim made on another machine reaches this machine's hook.
 *
 * @module
 */

import {
  CLAIMS_GUARD_FILE,
  type ClaimsChange,
  type ClaimsState,
  type ClaimStore,
  parseClaimsFile,
  serializeClaims,
} from "../../claims.ts";
import {
  C2cError,
  InvalidArgumentError,
  NatsUnavailableError,
} from "../../errors.ts";
import { atomicWriteText, removeIfExists } from "../../_fs.ts";
import { joinPath } from "../../_path.ts";

/** The key of the claim document in the claims bucket. */
export const CLAIMS_KEY = "claims";
/** How many times a claim change is computed again after losing a race. */
export const MAX_CLAIM_ATTEMPTS = 50;
/** Room left in a NATS message for the KV headers around the document. */
const HEADER_ROOM = 4096;
/** What the cue holds in the NATS store (the file store's is empty). */
export const NATS_CUE_TEXT = "nats\n";

const encoder = new TextEncoder();

/** One stored version of the claim document. */
export interface ClaimEntry {
  /** The document's bytes. */
  value: Uint8Array;
  /** Its KV revision. */
  revision: number;
}

/** What {@linkcode NatsClaimStore} needs of the NATS store. */
export interface ClaimBucket {
  /** The bucket's name, for errors. */
  readonly name: string;
  /** This machine's local directory (where the guard's cue lives). */
  readonly root: string;
  /** The server the namespace is on, for errors. */
  readonly display: string;
  /**
   * The document as stored now: every write acknowledged before the call
   * is in it.
   */
  current(): Promise<ClaimEntry | null>;
  /**
   * Writes the document if it is still at `revision` (0: absent).
   *
   * @param value The new document.
   * @param revision The revision it was computed from.
   * @returns The new revision, or `null` when another process changed the
   * document first.
   */
  write(value: Uint8Array, revision: number): Promise<number | null>;
  /** Largest message the server accepts, in bytes. */
  maxPayload(): Promise<number>;
}

/**
 * The NATS store's {@linkcode ClaimStore}: one KV value changed by
 * compare-and-set. Same document, same rules as the file store's.
 *
 * Requires `--allow-net` to the NATS servers and `--allow-write` on the
 * local directory (the guard's cue).
 *
 * @example Usage
 * ```ts ignore
 * import { NatsStore } from "./nats_store.ts";
 * const store = new NatsStore({ config, namespace: "team-a", root: "/repo/.git/c2c/mcp" });
 * (await store.claims().read()).claims.length; // 0
 * ```
 */
export class NatsClaimStore implements ClaimStore {
  readonly #bucket: ClaimBucket;
  /** The guard's cue on this machine. */
  readonly cue: string;
  #cache: { revision: number; state: ClaimsState } | null = null;

  /**
   * Creates the store over the namespace's claims bucket.
   *
   * @param bucket Access to the bucket.
   */
  constructor(bucket: ClaimBucket) {
    this.#bucket = bucket;
    this.cue = joinPath(bucket.root, CLAIMS_GUARD_FILE);
  }

  /** Where the document is, for people. */
  get where(): string {
    return `NATS KV ${this.#bucket.name} (key '${CLAIMS_KEY}')`;
  }

  /**
   * Reads the document.
   *
   * @returns The document (empty when there is none).
   * @throws {C2cError} `corrupt_file` when the value is not a claim
   * document.
   */
  async read(): Promise<ClaimsState> {
    return this.#parse(await this.#bucket.current());
  }

  /**
   * Computes a change from the stored document and writes it with a
   * compare-and-set on the revision read; when another process wrote
   * first, computes it again from what that process wrote.
   *
   * @param change Computes the new document and the result.
   * @returns The result of the change that was written.
   */
  async update<T>(
    change: (current: ClaimsState) => ClaimsChange<T>,
  ): Promise<T> {
    for (let attempt = 1; attempt <= MAX_CLAIM_ATTEMPTS; attempt++) {
      const entry = await this.#bucket.current();
      const { state, result } = change(this.#parse(entry));
      if (state === null) return result;
      const text = serializeClaims(state);
      const value = encoder.encode(text);
      const limit = (await this.#bucket.maxPayload()) - HEADER_ROOM;
      if (value.length > limit) {
        throw new InvalidArgumentError(
          `the namespace's claims would take ${value.length} bytes in ${this.where}, more than NATS accepts in one value (${limit}); release claims, or claim directories (lib/) instead of their files`,
        );
      }
      // As in the file store: the cue is there before a document with an
      // exclusive claim, and goes only after one without.
      const exclusive = state.claims.some((c) => c.exclusive);
      if (exclusive) this.#setCue(true);
      const revision = await this.#bucket.write(value, entry?.revision ?? 0);
      if (revision !== null) {
        this.#cache = { revision, state };
        if (!exclusive) this.#setCue(false);
        return result;
      }
      // Another process changed the claims meanwhile: it is mid-burst,
      // so give it a moment, then compute the change again.
      await new Promise((r) =>
        setTimeout(r, Math.min(2 * attempt, 50) * (0.5 + Math.random()))
      );
    }
    throw new NatsUnavailableError(
      this.#bucket.display,
      "the claims kept changing under this update",
    );
  }

  /**
   * Brings the guard's cue in step with a stored document: present while
   * it holds an exclusive claim, or while it cannot be read (the guard
   * then runs and reports that).
   *
   * @param value The document's bytes, or `null` when there is none.
   */
  syncCue(value: Uint8Array | null): void {
    let exclusive = false;
    if (value !== null) {
      try {
        exclusive = parseClaimsFile(this.where, value).claims.some((c) =>
          c.exclusive
        );
      } catch {
        exclusive = true;
      }
    }
    this.#setCue(exclusive);
  }

  #setCue(present: boolean): void {
    try {
      if (present) {
        if (!this.#cueExists()) atomicWriteText(this.cue, NATS_CUE_TEXT);
      } else {
        removeIfExists(this.cue);
      }
    } catch {
      // A local directory that cannot be written: the guard is advisory,
      // and `c2c health` reports the directory.
    }
  }

  #cueExists(): boolean {
    try {
      return Deno.lstatSync(this.cue).isFile;
    } catch {
      return false;
    }
  }

  #parse(entry: ClaimEntry | null): ClaimsState {
    if (entry === null) return { claims: [], notified: [] };
    if (this.#cache?.revision === entry.revision) return this.#cache.state;
    let state: ClaimsState;
    try {
      state = parseClaimsFile(this.where, entry.value);
    } catch (e) {
      throw new C2cError(
        "corrupt_file",
        `the claims in ${this.where} are not a claim document (${
          (e as { detail?: string }).detail ?? (e as Error).message
        }); it was left untouched — it holds only claims, which their holders can make again: delete the key (nats kv del ${this.#bucket.name} ${CLAIMS_KEY})`,
      );
    }
    this.#cache = { revision: entry.revision, state };
    return state;
  }
}
