/**
 * Which store an entry point opens: the file store at the broker root when
 * `C2C_BROKER_URL` is unset (or empty), else the NATS store it names, with
 * the root as this machine's local directory. The NATS code is imported
 * only then, so a file-store process never loads it (importing the client
 * costs 70–130 ms: docs/design.md#nats-facts 1).
 *
 * @module
 */

import type { Store } from "./store.ts";
import { FileStore } from "./file/file_store.ts";

/** Reads one environment variable (`Deno.env` fits, so does a `Map`). */
export interface StoreEnv {
  /**
   * Reads one variable.
   *
   * @param name Variable name.
   * @returns Its value, or `undefined`.
   */
  get(name: string): string | undefined;
}

/** Inputs of {@linkcode openStore}. */
export interface OpenStoreOptions {
  /** The broker root (file store) or this machine's local directory (NATS). */
  root: string;
  /** Where `C2C_BROKER_URL`, `C2C_BROKER_NAMESPACE`, `C2C_NATS_*` are read. */
  env: StoreEnv;
  /** Directory whose `origin` remote names the namespace (default: cwd). */
  cwd?: string;
  /** Connection name NATS shows in its monitoring (`c2c-mcp`, `c2c-cli`). */
  name?: string;
}

/** `C2C_BROKER_URL`, as `lib/store/nats/url.ts` names it (kept here to stay lazy). */
const BROKER_URL_ENV = "C2C_BROKER_URL";

/**
 * Whether the environment selects the NATS store.
 *
 * @param env The environment.
 * @returns `true` when `C2C_BROKER_URL` is set and not blank.
 */
export function usesNats(env: StoreEnv): boolean {
  return (env.get(BROKER_URL_ENV) ?? "").trim() !== "";
}

/**
 * Opens the store the environment selects. The NATS store connects in the
 * background: this never waits for NATS and never fails because NATS is
 * down (each operation answers that error instead).
 *
 * Requires `--allow-read`/`--allow-write` on `root`; with NATS also
 * `--allow-net` to its servers, `--allow-read` on its CA/credentials files,
 * and `--allow-run=git` when the namespace comes from the `origin` remote
 * and `C2C_BROKER_ORIGIN` does not give it.
 *
 * @param options Root, environment, working directory.
 * @returns The store.
 * @throws {NatsConfigError} When a `C2C_BROKER_*`/`C2C_NATS_*` variable is
 * unusable (nothing is dialed then).
 *
 * @example Usage
 * ```ts ignore
 * import { openStore } from "./open.ts";
 * import { Broker } from "../broker.ts";
 * const store = await openStore({ root: "/repo/.git/c2c/mcp", env: Deno.env });
 * const broker = new Broker({ store });
 * ```
 */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  if (!usesNats(options.env)) return new FileStore(options.root);
  const [{ natsConfigFromEnv }, namespaces, { NatsStore, NATS_REPLICAS_ENV }] =
    await Promise.all([
      import("./nats/url.ts"),
      import("./nats/namespace.ts"),
      import("./nats/nats_store.ts"),
    ]);
  const config = natsConfigFromEnv(options.env)!;
  const { namespace } = await namespaces.resolveNamespace({
    env: options.env.get(namespaces.BROKER_NAMESPACE_ENV) ?? "",
    origin: options.env.get(namespaces.BROKER_ORIGIN_ENV) || undefined,
    cwd: options.cwd,
  });
  const replicas = options.env.get(NATS_REPLICAS_ENV);
  let replicaCount: number | undefined;
  if (replicas !== undefined && replicas.trim() !== "") {
    replicaCount = Number(replicas);
    if (
      !Number.isInteger(replicaCount) || replicaCount < 1 || replicaCount > 5
    ) {
      const { NatsConfigError } = await import("../errors.ts");
      throw new NatsConfigError(
        NATS_REPLICAS_ENV,
        `'${
          replicas.slice(0, 20)
        }' is not a replica count; use 1 to 5, or unset it (3 in a cluster, else 1)`,
      );
    }
  }
  return new NatsStore({
    config,
    namespace,
    root: options.root,
    name: options.name,
    replicas: replicaCount,
  });
}
