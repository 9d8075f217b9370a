/**
 * A sidecar lock held across `await`s: the registry and room scopes of the
 * file store, in which the broker's own (asynchronous) code runs.
 *
 * The file lock (`flock`, per open file description) excludes other
 * processes. Inside one process it would exclude too, but a second
 * operation waiting for it would block the event loop that the first needs
 * to finish: a deadlock. So holders in one process first queue on an
 * in-process reader–writer lock for the same path, and only the one at the
 * head takes the file lock; the blocking wait is then only ever for another
 * process, exactly as with the synchronous `withLock` (`lib/lock.ts`).
 *
 * The lock order of `lib/lock.ts` holds here too: room → registry → inbox →
 * dead-letter. Code that holds one of these scopes never takes the same lock
 * synchronously.
 *
 * @module
 */

import { openLocked } from "../../lock.ts";

interface Waiter {
  exclusive: boolean;
  wake: () => void;
}

interface PathState {
  readers: number;
  writer: boolean;
  queue: Waiter[];
}

const states = new Map<string, PathState>();

function stateOf(path: string): PathState {
  let state = states.get(path);
  if (!state) {
    state = { readers: 0, writer: false, queue: [] };
    states.set(path, state);
  }
  return state;
}

function admits(state: PathState, exclusive: boolean): boolean {
  return exclusive ? !state.writer && state.readers === 0 : !state.writer;
}

/** Lets in, in order, every waiter the lock now admits. */
function admitWaiting(state: PathState): void {
  while (state.queue.length > 0 && admits(state, state.queue[0].exclusive)) {
    const next = state.queue.shift()!;
    if (next.exclusive) state.writer = true;
    else state.readers++;
    next.wake();
    if (next.exclusive) return;
  }
}

async function enter(path: string, exclusive: boolean): Promise<() => void> {
  const state = stateOf(path);
  // First come, first served: a waiting writer is not overtaken by readers.
  if (state.queue.length === 0 && admits(state, exclusive)) {
    if (exclusive) state.writer = true;
    else state.readers++;
  } else {
    await new Promise<void>((wake) => state.queue.push({ exclusive, wake }));
  }
  return () => {
    if (exclusive) state.writer = false;
    else state.readers--;
    admitWaiting(state);
    if (!state.writer && state.readers === 0 && state.queue.length === 0) {
      states.delete(path);
    }
  };
}

/**
 * Runs `fn` holding the lock on the sidecar at `path`, across its `await`s.
 *
 * Requires `--allow-read` and `--allow-write` on the broker root.
 *
 * @param path Sidecar lock file (created 0600 when missing).
 * @param exclusive `true` for a writer, `false` for a shared holder.
 * @param fn The critical section.
 * @returns Whatever `fn` returns.
 *
 * @example Usage
 * ```ts ignore
 * import { withScopedLock } from "./scoped_lock.ts";
 * await withScopedLock(paths.registryLock, true, async () => {
 *   // read, decide (awaiting what is needed), write
 * });
 * ```
 */
export async function withScopedLock<T>(
  path: string,
  exclusive: boolean,
  fn: () => Promise<T>,
): Promise<T> {
  const leave = await enter(path, exclusive);
  try {
    const file = openLocked(path, exclusive);
    try {
      return await fn();
    } finally {
      file.close(); // closing the descriptor releases the lock
    }
  } finally {
    leave();
  }
}
