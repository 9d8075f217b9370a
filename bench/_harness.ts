// Private helpers of the library benchmark groups: temp brokers, fast
// pre-filling in the broker's own on-disk format, and interleaved timing.
//
// Pre-filling goes through the library's own writers (`appendToInbox`,
// `appendHistory`, `writeRegistry`) rather than hand-built JSON, so the files
// are byte-for-byte what the broker writes, while 100,000 queued messages take
// one write instead of 100,000 sends.

import {
  Broker,
  type Message,
  type RoomMessage,
  type SessionLease,
} from "../mod.ts";
import { appendToInbox } from "../lib/inbox.ts";
import { appendHistory } from "../lib/rooms.ts";
import { type Registration, writeRegistry } from "../lib/registry.ts";

/** A body of typical size for an agent's message (about 120 bytes). */
export const BODY =
  "Build is green on main; I am taking the flaky lease test next. Ping me if you touch lib/lease.ts meanwhile, please.";

/**
/**
 * The settings that turn the loop guard and rate limit off
 * (docs/design.md#loop-guard). The groups that send thousands of messages
 * from one sender to one peer measure the broker's floor with them; the
 * waiting group measures `send` with the guard on.
 */
export const GUARD_OFF = { rate_limit_messages: 0, loop_repeat_limit: 0 };

/** Writes {@linkcode GUARD_OFF} as a broker root's `config.json`. */
export function writeGuardOff(root: string): void {
  Deno.writeTextFileSync(`${root}/config.json`, JSON.stringify(GUARD_OFF));
}

/**
 * The settings of every bench broker: the guard off ({@linkcode GUARD_OFF}),
 * and an inbox quota past the queue-depth rows, which fill an inbox with
 * 100,000 messages (about 25 MiB; the default quota is 16 MiB) to show that
 * a send costs the same however much waits.
 */
export const BENCH_CONFIG = { ...GUARD_OFF, max_inbox_bytes: 1024 ** 3 };

/**
 * Writes {@linkcode BENCH_CONFIG} as the `config.json` of a broker root,
 * making the root (0700) if needed.
 */
export function writeBenchConfig(root: string): void {
  Deno.mkdirSync(root, { recursive: true, mode: 0o700 });
  Deno.writeTextFileSync(`${root}/config.json`, JSON.stringify(BENCH_CONFIG));
}

/** A fresh temp broker root with {@linkcode BENCH_CONFIG}. */
export async function makeBenchRoot(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "c2c-bench-" });
  writeBenchConfig(root);
  return root;
}

/** Runs `fn` on a broker over a fresh temp root, removed afterwards. */
export async function withTempBroker<T>(
  fn: (broker: Broker) => Promise<T>,
): Promise<T> {
  const root = await makeBenchRoot();
  try {
    return await fn(new Broker({ root }));
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

/** Runs `fn` on `count` brokers, each over its own fresh temp root. */
export async function withTempBrokers<T>(
  count: number,
  fn: (brokers: Broker[]) => Promise<T>,
): Promise<T> {
  const roots: string[] = [];
  try {
    for (let i = 0; i < count; i++) {
      roots.push(await makeBenchRoot());
    }
    return await fn(roots.map((root) => new Broker({ root })));
  } finally {
    for (const root of roots) {
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  }
}

/** Sessions registered by {@linkcode registerPeers}, with their leases. */
export interface Peers extends Disposable {
  /** Session ids, in order. */
  sessions: string[];
  /** Aliases, in the same order. */
  aliases: string[];
}

/**
 * Registers `count` sessions in one registry write and takes each one's lease
 * (held by this process), as if each had a live MCP server: sends probe a
 * held lease, the common case.
 */
export async function registerPeers(
  broker: Broker,
  prefix: string,
  count: number,
): Promise<Peers> {
  const now = new Date().toISOString();
  const width = String(count - 1).length;
  const sessions: string[] = [];
  const aliases: string[] = [];
  const rows: Registration[] = [...(await broker.registrations())];
  for (let i = 0; i < count; i++) {
    const n = String(i).padStart(width, "0");
    sessions.push(`${prefix}-session-${n}`);
    aliases.push(`${prefix}-${n}`);
    rows.push({
      session_id: sessions[i],
      alias: aliases[i],
      pid: null,
      pid_start_time: null,
      client: "bench",
      registered_at: now,
      last_seen: now,
    });
  }
  writeRegistry(broker.paths, rows);
  const leases: SessionLease[] = [];
  for (const session of sessions) {
    leases.push(await broker.acquireLease(session));
  }
  return {
    sessions,
    aliases,
    [Symbol.dispose]() {
      for (const lease of leases) lease.release();
    },
  };
}

/** Queues `count` messages in an inbox in a few large writes. */
export function fillInbox(
  broker: Broker,
  sessionId: string,
  toAlias: string,
  count: number,
): void {
  const ts = new Date().toISOString();
  for (let done = 0; done < count;) {
    const batch: Message[] = [];
    for (; batch.length < 10_000 && done < count; done++) {
      batch.push({
        id: crypto.randomUUID(),
        ts,
        from_alias: "bench-filler",
        to_alias: toAlias,
        content: `${done}: ${BODY}`,
      });
    }
    appendToInbox(broker.paths, sessionId, batch);
  }
}

/**
 * Appends `count` posts to a room's history, dated an hour ago (history is
 * mostly old; the dedupe window is 60 s).
 */
export function fillHistory(
  broker: Broker,
  roomId: string,
  count: number,
): void {
  const ts = new Date(Date.now() - 3600_000).toISOString();
  for (let done = 0; done < count;) {
    const batch: RoomMessage[] = [];
    for (; batch.length < 10_000 && done < count; done++) {
      batch.push({
        id: crypto.randomUUID(),
        ts,
        room_id: roomId,
        from_alias: "bench-filler",
        content: `${done}: ${BODY}`,
      });
    }
    appendHistory(broker.paths, roomId, batch);
  }
}

/** Size of a file in bytes (0 when missing). */
export function fileSize(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return 0;
    throw e;
  }
}

/** One case of {@linkcode measureInterleaved}. */
export interface Case {
  /** Timed runs. */
  samples: number;
  /** Untimed runs first (default: a tenth of `samples`, 5–100). */
  warmup?: number;
  /** Untimed preparation before each run (warm-up and timed). */
  before?: (i: number) => void | Promise<void>;
  /** The operation timed; `i` counts runs of this case from 0. */
  op: (i: number) => Promise<unknown>;
}

/**
 * Times several cases round-robin (one run of each in turn, direction
 * alternating every round) rather than one case after another: drift in the
 * machine's speed then hits every case alike, so ratios between cases stay
 * honest on a noisy machine. All cases are warmed up first.
 *
 * @returns Per case, its durations in ms.
 */
export async function measureInterleaved(cases: Case[]): Promise<number[][]> {
  const runs = cases.map(() => 0);
  const once = async (c: number): Promise<number> => {
    const i = runs[c]++;
    await cases[c].before?.(i);
    const start = performance.now();
    await cases[c].op(i);
    return performance.now() - start;
  };
  const warmups = cases.map((c) =>
    c.warmup ?? Math.min(100, Math.max(5, Math.round(c.samples / 10)))
  );
  for (let round = 0; round < Math.max(...warmups); round++) {
    for (let c = 0; c < cases.length; c++) {
      if (round < warmups[c]) await once(c);
    }
  }
  const samples: number[][] = cases.map(() => []);
  const rounds = Math.max(...cases.map((c) => c.samples));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < cases.length; k++) {
      const c = round % 2 === 0 ? k : cases.length - 1 - k;
      if (samples[c].length < cases[c].samples) samples[c].push(await once(c));
    }
  }
  return samples;
}
