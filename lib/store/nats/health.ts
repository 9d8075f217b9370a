/**
 * What `c2c health` shows for the NATS store: the servers (secrets
 * masked), the one connected to, JetStream on or off, the namespace and
 * where it came from, the round-trip time, whether the namespace's streams
 * and buckets exist, and whether its claim document is readable — as data
 * plus checks in `lib/health.ts`'s shape. Reads only.
 *
 * @module
 */

import type { NatsConnection } from "@nats-io/nats-core";
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { describeClaims, parseClaimsFile } from "../../claims.ts";
import { describeError, NatsNoJetStreamError } from "../../errors.ts";
import type { HealthCheck } from "../../health.ts";
import { CONNECT_TIMEOUT_MS, connectNats, mapNatsError } from "./connect.ts";
import { quote } from "./_quote.ts";
import { CLAIMS_KEY } from "./claim_store.ts";
import { natsNames } from "./names.ts";
import { type NamespaceSource, resolveNamespace } from "./namespace.ts";
import type { NatsConfig } from "./url.ts";

/** Inputs to {@linkcode natsHealth}. */
export interface NatsHealthOptions {
  /** The configuration. */
  config: NatsConfig;
  /** The namespace (not encoded). */
  namespace: string;
  /** Where the namespace came from. */
  namespaceSource: NamespaceSource;
  /** The connection, when there is one. */
  connection?: NatsConnection;
  /** Why there is none (a typed error from `connectNats` or a link). */
  error?: unknown;
  /** Stream names the namespace should have. */
  streams?: readonly string[];
  /** KV bucket names the namespace should have. */
  buckets?: readonly string[];
}

/** The NATS store's health. `null` means "could not tell". */
export interface NatsHealth {
  /** Always `nats`. */
  store: "nats";
  /** The configured URL, secrets masked. */
  url: string;
  /** Every configured `host:port`. */
  servers: string[];
  /** The `host:port` connected to, or `null`. */
  connected_server: string | null;
  /** The connected server's name and version (`n1 2.9.10`), or `null`. */
  server: string | null;
  /** Whether JetStream answers. */
  jetstream: boolean | null;
  /** The namespace. */
  namespace: string;
  /** Where it came from. */
  namespace_source: NamespaceSource;
  /** Round-trip time to the server in ms (a PING/PONG), or `null`. */
  rtt_ms: number | null;
  /** Each stream asked about: present or not. */
  streams: Record<string, boolean | null>;
  /** Each KV bucket asked about: present or not. */
  buckets: Record<string, boolean | null>;
  /** The same, as checks with a fix for each failure. */
  checks: HealthCheck[];
}

/**
 * Builds the NATS part of `c2c health`. Never throws: what it cannot find
 * out is `null` with a check saying why.
 *
 * @param options Configuration, namespace, connection or the error.
 * @returns The report.
 *
 * @example Usage
 * ```ts ignore
 * import { natsHealth } from "./health.ts";
 * const report = await natsHealth({ config, namespace: "default", namespaceSource: "default", connection: nc });
 * console.log(report.rtt_ms);
 * ```
 */
export async function natsHealth(
  options: NatsHealthOptions,
): Promise<NatsHealth> {
  const { config, connection: nc } = options;
  const report: NatsHealth = {
    store: "nats",
    url: config.display,
    servers: config.servers.map((s) => s.hostPort),
    connected_server: null,
    server: null,
    jetstream: null,
    namespace: options.namespace,
    namespace_source: options.namespaceSource,
    rtt_ms: null,
    streams: Object.fromEntries((options.streams ?? []).map((s) => [s, null])),
    buckets: Object.fromEntries((options.buckets ?? []).map((b) => [b, null])),
    checks: [],
  };
  const fail = (name: string, error: unknown): void => {
    // c2c's one-line errors say the cause, then "; " and the fix.
    const text = describeError(
      mapNatsError(error, config, { connecting: true }),
    );
    const cut = text.indexOf("; ");
    report.checks.push({
      name,
      status: "fail",
      detail: cut < 0 ? text : text.slice(0, cut),
      fix: cut < 0 ? undefined : text.slice(cut + 2),
    });
  };

  if (!nc || nc.isClosed()) {
    fail("nats_connection", options.error ?? new Error("not connected"));
    return report;
  }
  report.connected_server = nc.getServer();
  const info = nc.info;
  if (info) report.server = `${info.server_name} ${info.version}`;
  try {
    report.rtt_ms = Math.round((await nc.rtt()) * 100) / 100;
    report.checks.push({
      name: "nats_connection",
      status: "ok",
      detail: `connected to ${report.connected_server} (${
        report.server ?? "?"
      }), round trip ${report.rtt_ms} ms`,
    });
  } catch (e) {
    fail("nats_connection", e);
    return report;
  }

  let jsm;
  try {
    if (info && info.jetstream !== true) {
      throw new NatsNoJetStreamError(config.display);
    }
    jsm = await jetstreamManager(nc, { timeout: CONNECT_TIMEOUT_MS });
    report.jetstream = true;
    report.checks.push({
      name: "jetstream",
      status: "ok",
      detail: "JetStream answers",
    });
  } catch (e) {
    if (e instanceof NatsNoJetStreamError) report.jetstream = false;
    fail("jetstream", e);
    return report;
  }

  const missing: string[] = [];
  const look = async (
    table: Record<string, boolean | null>,
    name: string,
    stream: string,
  ) => {
    try {
      await jsm.streams.info(stream);
      table[name] = true;
    } catch (e) {
      if ((e as Error).name === "StreamNotFoundError") {
        table[name] = false;
        missing.push(stream);
      } else {
        fail("namespace", e);
      }
    }
  };
  for (const s of options.streams ?? []) await look(report.streams, s, s);
  for (const b of options.buckets ?? []) {
    await look(report.buckets, b, `KV_${b}`);
  }
  if (missing.length > 0) {
    report.checks.push({
      name: "namespace",
      status: "warn",
      detail: `namespace ${
        quote(options.namespace)
      } (${options.namespaceSource}) lacks ${missing.join(", ")}`,
      fix:
        "peers meet only in the same namespace: check C2C_BROKER_NAMESPACE; a first register creates what is missing",
    });
  } else if (!report.checks.some((c) => c.name === "namespace")) {
    report.checks.push({
      name: "namespace",
      status: "ok",
      detail: `namespace ${
        quote(options.namespace)
      } (${options.namespaceSource})`,
    });
  }
  report.checks.push(
    await claimsCheck(jsm, natsNames(options.namespace).buckets.claims),
  );
  return report;
}

/**
 * The namespace's claim document (docs/design.md#claims): absent (no claim
 * made yet), readable, or not a claim document — a failure, since every
 * claim operation would refuse it.
 */
async function claimsCheck(
  jsm: JetStreamManager,
  bucket: string,
): Promise<HealthCheck> {
  const where = `NATS KV ${bucket} (key '${CLAIMS_KEY}')`;
  let value: Uint8Array | null = null;
  try {
    const m = await jsm.streams.getMessage(`KV_${bucket}`, {
      last_by_subj: `$KV.${bucket}.${CLAIMS_KEY}`,
    });
    const op = m?.header?.get("KV-Operation");
    if (m && op !== "DEL" && op !== "PURGE") value = m.data;
  } catch (e) {
    if ((e as Error).name !== "StreamNotFoundError") {
      return {
        name: "claims",
        status: "fail",
        detail: `${where} could not be read: ${describeError(e)}`,
      };
    }
  }
  if (value === null) {
    return { name: "claims", status: "ok", detail: `none stored in ${where}` };
  }
  try {
    const state = parseClaimsFile(where, value);
    return {
      name: "claims",
      status: "ok",
      detail: `${describeClaims(state)} in ${where}`,
    };
  } catch (e) {
    return {
      name: "claims",
      status: "fail",
      detail: `${where} is not a claim document (${
        (e as { detail?: string }).detail ?? (e as Error).message
      })`,
      fix:
        `it holds only claims, which their holders can make again: delete it (nats kv del ${bucket} ${CLAIMS_KEY})`,
    };
  }
}

/**
 * Connects once (bounded by the connect timeout) and reports the NATS
 * store's health for `c2c health`: servers, the one connected to,
 * JetStream, namespace and round-trip time. Never throws.
 *
 * Requires the grants `natsGrants(config)` names, plus
 * `--allow-env=C2C_BROKER_NAMESPACE,C2C_BROKER_ORIGIN`.
 *
 * @param config The configuration.
 * @param env Environment reader (for the namespace).
 * @returns The report; its connection is closed again.
 */
export async function storeHealth(
  config: NatsConfig,
  env: (name: string) => string | undefined,
): Promise<NatsHealth> {
  let namespace = "default";
  let namespaceSource: NamespaceSource = "default";
  let connection: NatsConnection | undefined;
  let error: unknown;
  try {
    const resolved = await resolveNamespace({
      env: env("C2C_BROKER_NAMESPACE") ?? "",
      origin: env("C2C_BROKER_ORIGIN"),
    });
    namespace = resolved.namespace;
    namespaceSource = resolved.source;
    connection = await connectNats({ config, namespace, name: "c2c-health" });
  } catch (e) {
    error = e;
  }
  try {
    return await natsHealth({
      config,
      namespace,
      namespaceSource,
      connection,
      error,
    });
  } finally {
    await connection?.close().catch(() => {});
  }
}
