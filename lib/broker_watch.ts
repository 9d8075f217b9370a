/**
 * A feed of what changes in a broker, whichever store keeps it: the hint a
 * live view needs to re-read the one inbox, archive, room or lease that
 * changed instead of everything (`c2c ui`, docs/design.md#live-view).
 *
 * Changes are hints, never the truth: a reader re-reads what a change names
 * through the store. A hint may come twice, or for a change the reader
 * itself caused; `{kind: "unknown"}` means "anything may have changed"
 * (events were lost, or the store offers no feed and time is the trigger).
 *
 * - The file store: one recursive watch of the broker root. An inbox is
 *   named by its file (`<session>.inbox.jsonl`), an archive by
 *   `archive/<session>.jsonl`, a room by `rooms/<room>/…`, a lease by
 *   `leases/<session>.lock` — the kernel closes a dead holder's lease file,
 *   which the watch reports, so a death is seen at once (probes open the
 *   file read-only, whose close makes no event).
 * - A store with a feed of its own (the NATS store: its streams and KV
 *   watches) implements {@linkcode BrokerChangeSource} and is used as is.
 * - Any other store, or a file watch that fails: `{kind: "unknown"}` every
 *   `fallbackMs`.
 *
 * @module
 */

import type { Broker } from "./broker.ts";
import type { Store } from "./store/store.ts";

/** One hint: what may have changed. */
export type BrokerChange =
  /** Registrations (register, rename, takeover, sweep). */
  | { kind: "registry" }
  /** A session's pending inbox (a message queued, or a drain). */
  | { kind: "inbox"; session_id?: string; alias?: string }
  /** A session's archive (messages drained into it). */
  | { kind: "archive"; session_id?: string; alias?: string }
  /** A room's members or history (or the room was created). */
  | { kind: "room"; room_id: string }
  /** A session's liveness may have changed (its lease taken or let go). */
  | { kind: "lease"; session_id: string }
  /** The file claims. */
  | { kind: "claims" }
  /** Anything may have changed: re-read it all. */
  | { kind: "unknown" };

/**
 * A store that reports its own changes (what the NATS store provides: the
 * subjects of inboxes and rooms as they are published, KV watches of the
 * registry and the claims, presence as sessions come and go).
 */
export interface BrokerChangeSource {
  /**
   * Calls `onChange` with each batch of hints until the handle is disposed.
   *
   * @param onChange Gets hints, in the order seen.
   * @param onError Gets the error when the feed stops working (the caller
   * then falls back to time).
   * @returns Stops the feed.
   */
  watchChanges(
    onChange: (changes: readonly BrokerChange[]) => void,
    onError: (error: unknown) => void,
  ): Disposable;
}

/** Options of {@linkcode watchBroker}. */
export interface WatchBrokerOptions {
  /** Hints closer together than this are one batch (default 1 ms). */
  coalesceMs?: number;
  /**
   * Without a feed (no watch possible, or it failed): `{kind: "unknown"}`
   * this often (default 1000 ms).
   */
  fallbackMs?: number;
  /** Gets the reason a feed failed (the watch then falls back to time). */
  onError?(error: unknown): void;
}

/** A running watch; {@linkcode BrokerWatch.close} (or `using`) stops it. */
export interface BrokerWatch extends Disposable {
  /** `events` while a feed runs, `polling` when time is the trigger. */
  readonly mode: "events" | "polling";
  /** Stops watching. Idempotent. */
  close(): void;
}

/**
 * Whether a store reports its own changes.
 *
 * @param store The store.
 * @returns `true` when it implements {@linkcode BrokerChangeSource}.
 */
export function isChangeSource(
  store: Store,
): store is Store & BrokerChangeSource {
  return typeof (store as Partial<BrokerChangeSource>).watchChanges ===
    "function";
}

const SESSION_FILE = /^[A-Za-z0-9_][A-Za-z0-9_.:@+-]{0,127}$/;
const ROOM_DIR = /^[A-Za-z0-9_.-]{1,64}$/;
const INBOX_SUFFIX = ".inbox.jsonl";
const DIRECTORIES = new Set(["archive", "rooms", "leases"]);

/**
 * What a path inside the file store's root means, or `null` for files no
 * reader cares about (lock sidecars, the audit log, temp files).
 *
 * @param relative The path relative to the root, `/`-separated.
 * @returns The hint.
 *
 * @example Usage
 * ```ts
 * import { fileChange } from "./broker_watch.ts";
 * fileChange("s1.inbox.jsonl"); // { kind: "inbox", session_id: "s1" }
 * fileChange("rooms/lounge/history.jsonl"); // { kind: "room", room_id: "lounge" }
 * fileChange("locks/registry.lock"); // null
 * fileChange("archive"); // { kind: "unknown" }: a new directory
 * ```
 */
export function fileChange(relative: string): BrokerChange | null {
  const parts = relative.split("/").filter((p) => p !== "");
  const [first, second] = parts;
  if (parts.length === 1) {
    // A directory that appears now: files made in it before the watch
    // reached it were not reported, so look at everything once.
    if (DIRECTORIES.has(first)) return { kind: "unknown" };
    if (first === "registry.json") return { kind: "registry" };
    if (first === "claims.json") return { kind: "claims" };
    if (first.endsWith(INBOX_SUFFIX)) {
      const session = first.slice(0, -INBOX_SUFFIX.length);
      return SESSION_FILE.test(session)
        ? { kind: "inbox", session_id: session }
        : null;
    }
    return null;
  }
  if (first === "rooms") {
    return ROOM_DIR.test(second) && second !== "." && second !== ".."
      ? { kind: "room", room_id: second }
      : null;
  }
  if (parts.length !== 2) return null;
  if (first === "archive" && second.endsWith(".jsonl")) {
    const session = second.slice(0, -".jsonl".length);
    return SESSION_FILE.test(session)
      ? { kind: "archive", session_id: session }
      : null;
  }
  if (first === "leases" && second.endsWith(".lock")) {
    const session = second.slice(0, -".lock".length);
    return SESSION_FILE.test(session)
      ? { kind: "lease", session_id: session }
      : null;
  }
  return null;
}

/** A key that makes two equal hints one. */
function changeKey(change: BrokerChange): string {
  switch (change.kind) {
    case "inbox":
    case "archive":
      return `${change.kind}\0${change.session_id ?? ""}\0${
        change.alias ?? ""
      }`;
    case "room":
      return `room\0${change.room_id}`;
    case "lease":
      return `lease\0${change.session_id}`;
    default:
      return change.kind;
  }
}

/**
 * Watches a broker and calls `onChange` with each batch of hints (see the
 * module doc). The first batch comes only after something changed: read
 * the starting state before or right after starting the watch.
 *
 * With the file store, requires `--allow-read` on the broker root.
 *
 * @param broker The broker.
 * @param onChange Gets each batch, without duplicates within it.
 * @param options Timing and error reporting.
 * @returns The running watch.
 *
 * @example Usage
 * ```ts ignore
 * import { Broker } from "./broker.ts";
 * import { watchBroker } from "./broker_watch.ts";
 * const broker = new Broker({ root: "/repo/.git/c2c/mcp" });
 * using watch = watchBroker(broker, (changes) => console.log(changes));
 * // … [{ kind: "inbox", session_id: "s-b" }] after a send to s-b
 * ```
 */
export function watchBroker(
  broker: Broker,
  onChange: (changes: readonly BrokerChange[]) => void,
  options: WatchBrokerOptions = {},
): BrokerWatch {
  return new Watch(broker, onChange, options);
}

class Watch implements BrokerWatch {
  readonly #onChange: (changes: readonly BrokerChange[]) => void;
  readonly #options: WatchBrokerOptions;
  #batch = new Map<string, BrokerChange>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #poll: ReturnType<typeof setInterval> | undefined;
  #feed: Disposable | null = null;
  #closed = false;
  mode: "events" | "polling" = "events";

  constructor(
    broker: Broker,
    onChange: (changes: readonly BrokerChange[]) => void,
    options: WatchBrokerOptions,
  ) {
    this.#onChange = onChange;
    this.#options = options;
    const store = broker.store;
    try {
      if (isChangeSource(store)) {
        this.#feed = store.watchChanges(
          (changes) => changes.forEach((c) => this.#add(c)),
          (e) => this.#failed(e),
        );
      } else if (store.kind === "file") {
        this.#feed = watchRoot(
          broker.root,
          (c) => this.#add(c),
          (e) => this.#failed(e),
        );
      } else {
        this.#poll = this.#startPolling();
      }
    } catch (e) {
      this.#failed(e);
    }
  }

  #add(change: BrokerChange): void {
    if (this.#closed) return;
    this.#batch.set(changeKey(change), change);
    this.#timer ??= setTimeout(
      () => this.#flush(),
      this.#options.coalesceMs ?? 1,
    );
  }

  #flush(): void {
    this.#timer = undefined;
    if (this.#closed || this.#batch.size === 0) return;
    const changes = [...this.#batch.values()];
    this.#batch = new Map();
    this.#onChange(changes);
  }

  #failed(error: unknown): void {
    if (this.#closed) return;
    this.#options.onError?.(error);
    try {
      this.#feed?.[Symbol.dispose]();
    } catch { /* already gone */ }
    this.#feed = null;
    // Without events, time is the trigger; what changed meanwhile is unknown.
    this.#poll ??= this.#startPolling();
    this.#add({ kind: "unknown" });
  }

  #startPolling(): ReturnType<typeof setInterval> {
    this.mode = "polling";
    return setInterval(
      () => this.#add({ kind: "unknown" }),
      this.#options.fallbackMs ?? 1000,
    );
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    clearInterval(this.#poll);
    try {
      this.#feed?.[Symbol.dispose]();
    } catch { /* already gone */ }
    this.#feed = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** The file store's feed: one recursive watch of the root. */
function watchRoot(
  root: string,
  onChange: (change: BrokerChange) => void,
  onError: (error: unknown) => void,
): Disposable {
  // Events name real paths; the root may have been given through a link.
  const prefixes = [...new Set([root, realPath(root)])].map((p) =>
    p.endsWith("/") ? p : p + "/"
  );
  const watcher = Deno.watchFs(root, { recursive: true });
  let closed = false;
  (async () => {
    try {
      for await (const event of watcher) {
        // The kernel's queue overflowed: some events are lost.
        if (event.flag === "rescan") onChange({ kind: "unknown" });
        for (const path of event.paths) {
          const prefix = prefixes.find((p) => path.startsWith(p));
          if (prefix === undefined) continue;
          const change = fileChange(path.slice(prefix.length));
          if (change) onChange(change);
        }
      }
      // The iterator ends when the root itself goes away.
      if (!closed) onError(new Error(`the watch of ${root} ended`));
    } catch (e) {
      if (!closed) onError(e);
    }
  })();
  return {
    [Symbol.dispose]() {
      closed = true;
      try {
        watcher.close();
      } catch { /* already closed */ }
    },
  };
}

function realPath(path: string): string {
  try {
    return Deno.realPathSync(path);
  } catch {
    return path;
  }
}
