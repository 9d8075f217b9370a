// Test helpers for running the broker over either store: a "world" is one
// broker namespace (a temp root for the file store; a fresh namespace on a
// NATS server for the NATS store) in which tests open brokers as separate
// processes or machines would — each broker on its own store instance (for
// NATS also its own local directory) — with a clock the test can move.

import { Broker } from "../lib/broker.ts";
import type { BrokerConfig } from "../lib/config.ts";
import { FileStore } from "../lib/store/file/file_store.ts";
import { NatsStore } from "../lib/store/nats/nats_store.ts";
import { natsConfigFromEnv } from "../lib/store/nats/url.ts";
import { connect } from "../lib/store/nats/transport.ts";
import { Kvm } from "@nats-io/kv";
import { jetstream } from "@nats-io/jetstream";
import { natsNames } from "../lib/store/nats/names.ts";
import type { SessionLease, Store } from "../lib/store/store.ts";

/** Which store a world uses. */
export type StoreKind = "file" | "nats";

/** A clock tests move. */
export interface Clock {
  /** The time now. */
  now(): Date;
  /** Moves it forward. */
  advance(ms: number): void;
}

/** One broker namespace shared by the brokers a test opens. */
export interface World extends AsyncDisposable {
  /** The store kind. */
  kind: StoreKind;
  /** The clock every broker of this world reads. */
  clock: Clock;
  /** Opens a broker as one more process/machine would. */
  broker(options?: { maxMessageBytes?: number }): Promise<Broker>;
  /** Sets the broker's settings (config.json / KV config). */
  setConfig(config: Partial<BrokerConfig>): Promise<void>;
  /** The namespace (NATS) or root (file). */
  where: string;
}

/** A clock starting now. */
export function testClock(): Clock {
  let offset = 0;
  return {
    now: () => new Date(Date.now() + offset),
    advance: (ms) => {
      offset += ms;
    },
  };
}

/** Options for a NATS world. */
export interface NatsWorldOptions {
  /** The server URL. */
  url: string;
  /** Namespace (default: a fresh one). */
  namespace?: string;
}

/**
 * Opens a world of `kind`. For NATS, `nats.url` names a running server.
 */
export async function openWorld(
  kind: StoreKind,
  nats?: NatsWorldOptions,
): Promise<World> {
  const clock = testClock();
  const dirs: string[] = [];
  const stores: Store[] = [];
  const tempDir = async () => {
    const d = await Deno.makeTempDir({ prefix: "c2c-world-" });
    dirs.push(d);
    return d;
  };
  const dispose = async () => {
    for (const s of stores) await s.close().catch(() => {});
    for (const d of dirs) {
      await Deno.remove(d, { recursive: true }).catch(() => {});
    }
  };
  if (kind === "file") {
    const root = await tempDir();
    return {
      kind,
      clock,
      where: root,
      broker: (options = {}) => {
        const store = new FileStore(root);
        stores.push(store);
        return Promise.resolve(
          new Broker({ store, now: clock.now, ...options }),
        );
      },
      setConfig: async (config) => {
        await Deno.writeTextFile(`${root}/config.json`, JSON.stringify(config));
      },
      [Symbol.asyncDispose]: dispose,
    };
  }
  if (!nats) throw new Error("a NATS world needs a server URL");
  const namespace = nats.namespace ?? `t-${crypto.randomUUID().slice(0, 8)}`;
  const config = natsConfigFromEnv(new Map([["C2C_BROKER_URL", nats.url]]))!;
  return {
    kind,
    clock,
    where: namespace,
    broker: async (options = {}) => {
      const store = new NatsStore({ config, namespace, root: await tempDir() });
      stores.push(store);
      return new Broker({ store, now: clock.now, ...options });
    },
    setConfig: async (settings) => {
      await putNatsConfig(nats.url, namespace, settings);
      // The stores' mirrors of the bucket follow the change.
      for (const s of stores) {
        const want = JSON.stringify({ ...(await s.config()), ...settings });
        for (let i = 0; i < 500; i++) {
          if (JSON.stringify(await s.config()) === want) break;
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    },
    [Symbol.asyncDispose]: dispose,
  };
}

/** Writes KV `config` of a namespace, as an operator would with `nats kv put`. */
export async function putNatsConfig(
  url: string,
  namespace: string,
  settings: unknown,
): Promise<void> {
  const servers = url.split(",").map((u) => u.replace(/^[a-z]+:\/\//, ""));
  const nc = await connect({ servers });
  try {
    const kv = await new Kvm(jetstream(nc)).create(
      natsNames(namespace).buckets.config,
      { history: 1, allow_direct: false },
    );
    await kv.put("config", JSON.stringify(settings));
  } finally {
    await nc.close();
  }
}

/**
 * Turns the loop guard and rate limit off in a NATS namespace (the KV
 * config): for tests that flood one peer on purpose.
 */
export async function unguardedNats(
  url: string,
  namespace: string,
): Promise<void> {
  // A cluster that just started may still be electing its JetStream
  // leader: try again on failure, as the store itself does.
  for (let attempt = 1;; attempt++) {
    try {
      return await putNatsConfig(url, namespace, {
        rate_limit_messages: 0,
        loop_repeat_limit: 0,
      });
    } catch (e) {
      if (attempt >= 50) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Holds a session's lease in `broker` (which answers for it). */
export function hold(broker: Broker, sessionId: string): Promise<SessionLease> {
  return broker.acquireLease(sessionId);
}
