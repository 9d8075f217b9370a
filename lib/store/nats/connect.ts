/**
 * Opening a NATS connection for c2c, checking that JetStream answers, and
 * turning every failure the client can raise into one typed error whose
 * one-line message names the (masked) URL and the fix
 * (docs/design.md#nats-facts 7). Also {@linkcode withFailover}, which rides out a cluster's leader
 * election under the caller's idempotent operation.
 *
 * @module
 */

import {
  type ConnectionOptions,
  jwtAuthenticator,
  type NatsConnection,
  nkeyAuthenticator,
  nkeys,
} from "@nats-io/nats-core";
import { jetstreamManager } from "@nats-io/jetstream";
import {
  C2cError,
  NatsAuthError,
  NatsConfigError,
  NatsNamespaceError,
  NatsNoJetStreamError,
  NatsTlsError,
  NatsUnavailableError,
  NatsUnreachableError,
} from "../../errors.ts";
import { printable } from "./_quote.ts";
import { subjectPrefix } from "./namespace.ts";
import { connect as transportConnect } from "./transport.ts";
import {
  describeAuth,
  NATS_CA_ENV,
  NATS_CREDS_ENV,
  NATS_NKEY_ENV,
  type NatsConfig,
  redact,
} from "./url.ts";

/**
 * Client-side ping: a cut-off connection is noticed in ~6 s
 * (docs/design.md#nats-facts 2).
 */
export const PING_INTERVAL_MS = 2000;
/**
 * Bound of one JetStream request (a publish's ack, an API call); the
 * client's default is 5 s. When a stream's leader dies, requests to it go
 * unanswered until the survivors elect a new one; an attempt that waited
 * past the election cannot succeed any more, so shorter attempts (retried
 * by {@linkcode withFailover}, idempotent by message id) resume sooner: a
 * send during a leader's SIGKILL waited 10.2 s with 5 s attempts.
 */
export const JS_REQUEST_TIMEOUT_MS = 2000;
/** Bound of one dial, TCP + TLS + CONNECT (the client's default is 20 s). */
export const CONNECT_TIMEOUT_MS = 2000;
/** Wait between reconnect attempts. */
export const RECONNECT_WAIT_MS = 250;
/**
 * How long {@linkcode connectNats} waits for JetStream to answer: a fresh
 * cluster elects its meta leader 1–2 s after start
 * (docs/design.md#nats-facts 6).
 */
export const JETSTREAM_WAIT_MS = 5000;
/**
 * How long {@linkcode withFailover} retries. nats-server elects a stream's
 * new leader some seconds after the old one dies (a send during a leader's
 * SIGKILL waited 4.2–8.8 s on a loaded machine); 15 s was once passed on a
 * machine running several test suites at once, so the budget leaves twice
 * the worst seen, still well below the clients' tool-call timeouts.
 */
export const FAILOVER_BUDGET_MS = 20_000;

/** Inputs to {@linkcode connectNats} and {@linkcode connectionOptions}. */
export interface NatsConnectOptions {
  /** The checked configuration (`natsConfigFromEnv`). */
  config: NatsConfig;
  /** The namespace (not encoded): request replies use `c2c.<ns>._INBOX`. */
  namespace: string;
  /** Connection name the server shows in its monitoring (`c2c-mcp`). */
  name?: string;
  /**
   * Keep dialing until a server answers instead of failing at once (a
   * long-lived process that must start without NATS). Default `false`.
   */
  waitOnFirstConnect?: boolean;
  /** How long to wait for JetStream to answer; default {@linkcode JETSTREAM_WAIT_MS}. */
  jetStreamWaitMs?: number;
}

/**
 * The nats-core options for `options`: the servers, credentials read from
 * their files, the CA, and the connection behaviour the spike measured as
 * right for c2c (2 s pings and dial bound, 250 ms reconnect wait, endless
 * reconnects, gossiped cluster URLs ignored so the connection never dials
 * outside `--allow-net`).
 *
 * Requires `--allow-read` on the CA, `.creds` and nkey files named.
 *
 * @param options The configuration and namespace.
 * @returns Options for the transport's `connect`.
 * @throws {NatsConfigError} A credentials or CA file that is unreadable or
 * malformed, naming the variable and the file.
 *
 * @example Usage
 * ```ts ignore
 * import { connectionOptions } from "./connect.ts";
 * const opts = await connectionOptions({ config, namespace: "default" });
 * ```
 */
export async function connectionOptions(
  options: NatsConnectOptions,
): Promise<ConnectionOptions> {
  const { config } = options;
  const opts: ConnectionOptions = {
    servers: config.servers.map((s) => s.hostPort),
    name: options.name,
    pingInterval: PING_INTERVAL_MS,
    maxPingOut: 2,
    timeout: CONNECT_TIMEOUT_MS,
    reconnectTimeWait: RECONNECT_WAIT_MS,
    maxReconnectAttempts: -1,
    waitOnFirstConnect: options.waitOnFirstConnect ?? false,
    ignoreClusterUpdates: true,
    inboxPrefix: `${subjectPrefix(options.namespace)}._INBOX`,
    // nats-core otherwise builds an Error (a stack trace) per request and
    // per timer, to attach the caller's stack to a failure: ~9 % of a
    // sending process's CPU. Failures keep their class, message and cause.
    noAsyncTraces: true,
  };
  const auth = config.auth;
  switch (auth.kind) {
    case "user":
      opts.user = auth.user;
      opts.pass = auth.pass;
      break;
    case "token":
      opts.token = auth.token;
      break;
    case "nkey":
      opts.authenticator = nkeyAuthenticator(
        await readSeed(NATS_NKEY_ENV, auth.file),
      );
      break;
    case "creds": {
      const { jwt, seed } = await readCreds(auth.file);
      opts.authenticator = jwtAuthenticator(jwt, seed);
      break;
    }
  }
  if (config.tls) {
    opts.tls = config.caFile === undefined
      ? {}
      : { ca: await readText(NATS_CA_ENV, config.caFile) };
  }
  return opts;
}

async function readText(variable: string, file: string): Promise<string> {
  try {
    return await Deno.readTextFile(file);
  } catch (e) {
    if (
      e instanceof Deno.errors.NotCapable ||
      e instanceof Deno.errors.PermissionDenied
    ) {
      throw new NatsConfigError(
        variable,
        `cannot read ${file} (${
          printable((e as Error).message)
        }); grant --allow-read on it and make it readable by this user`,
      );
    }
    throw new NatsConfigError(
      variable,
      `cannot read ${file} (${
        (e as Error).name
      }); point ${variable} at an existing file`,
    );
  }
}

const SEED = /^SU[A-Z2-7]{40,}$/;

async function readSeed(variable: string, file: string): Promise<Uint8Array> {
  const text = (await readText(variable, file)).trim();
  return checkSeed(variable, file, text);
}

function checkSeed(variable: string, file: string, text: string): Uint8Array {
  const seed = new TextEncoder().encode(text);
  try {
    if (!SEED.test(text)) throw new Error("not a user seed");
    nkeys.fromSeed(seed);
  } catch {
    throw new NatsConfigError(
      variable,
      `${file} holds no valid user nkey seed (one line starting SU…, as 'nsc' or 'nk -gen user' writes it)`,
    );
  }
  return seed;
}

// The block format of a .creds file, as nats-core parses it.
const CREDS_BLOCK =
  /\s*(?:(?:[-]{3,}[^\n]*[-]{3,}\n)(.+)(?:\n\s*[-]{3,}[^\n]*[-]{3,}\n))/ig;

async function readCreds(
  file: string,
): Promise<{ jwt: string; seed: Uint8Array }> {
  const text = await readText(NATS_CREDS_ENV, file);
  CREDS_BLOCK.lastIndex = 0;
  const jwt = CREDS_BLOCK.exec(text)?.[1]?.trim();
  const seed = CREDS_BLOCK.exec(text)?.[1]?.trim();
  if (!jwt || !seed || jwt.split(".").length !== 3) {
    throw new NatsConfigError(
      NATS_CREDS_ENV,
      `${file} is not a NATS .creds file (a user JWT block, then a user nkey seed block); make it with 'nsc generate creds'`,
    );
  }
  return { jwt, seed: checkSeed(NATS_CREDS_ENV, file, seed) };
}

/**
 * Connects to NATS and checks that JetStream answers, retrying that check
 * for a few seconds (a new cluster has no meta leader yet). The caller owns
 * the connection and closes it.
 *
 * Requires `--allow-net` and `--allow-read` as `natsGrants(config)` says.
 *
 * @param options Configuration, namespace, name.
 * @returns The open connection.
 * @throws {NatsUnreachableError} No server answered.
 * @throws {NatsAuthError} The server refused the credentials.
 * @throws {NatsTlsError} TLS failed (untrusted certificate, plain server).
 * @throws {NatsNoJetStreamError} The server has no JetStream.
 * @throws {NatsUnavailableError} JetStream is on but did not answer in time.
 * @throws {NatsConfigError} A credentials or CA file is unusable.
 *
 * @example Usage
 * ```ts ignore
 * import { natsConfigFromEnv } from "./url.ts";
 * import { connectNats } from "./connect.ts";
 * const nc = await connectNats({ config: natsConfigFromEnv(Deno.env)!, namespace: "default" });
 * await nc.close();
 * ```
 */
export async function connectNats(
  options: NatsConnectOptions,
): Promise<NatsConnection> {
  const opts = await connectionOptions(options);
  let nc: NatsConnection;
  try {
    nc = await transportConnect(opts);
  } catch (e) {
    throw mapNatsError(e, options.config, { connecting: true });
  }
  try {
    await verifyJetStream(
      nc,
      options.config,
      options.jetStreamWaitMs ?? JETSTREAM_WAIT_MS,
    );
  } catch (e) {
    await nc.close().catch(() => {});
    throw mapNatsError(e, options.config, { connecting: true });
  }
  return nc;
}

/**
 * Checks that JetStream answers on `nc` (an account info request). A
 * server without JetStream fails at once; a cluster whose meta leader is
 * not elected yet is retried until `waitMs` has passed.
 *
 * @param nc An open connection.
 * @param config Its configuration (for messages).
 * @param waitMs How long to keep asking.
 * @throws {NatsNoJetStreamError} The server or account has no JetStream.
 * @throws {NatsUnavailableError} No answer within `waitMs`.
 *
 * @example Usage
 * ```ts ignore
 * import { verifyJetStream } from "./connect.ts";
 * await verifyJetStream(nc, config, 5000);
 * ```
 */
export async function verifyJetStream(
  nc: NatsConnection,
  config: NatsConfig,
  waitMs: number,
): Promise<void> {
  // A server started without -js says so in its INFO; no leader to wait for.
  if (nc.info !== undefined && nc.info.jetstream !== true) {
    throw new NatsNoJetStreamError(config.display);
  }
  await withFailover(async () => {
    try {
      await jetstreamManager(nc, { timeout: CONNECT_TIMEOUT_MS });
    } catch (e) {
      if (apiCode(e) === JS_NOT_ENABLED_FOR_ACCOUNT) {
        throw new NatsNoJetStreamError(config.display, true);
      }
      throw e;
    }
  }, { config, budgetMs: waitMs });
}

const JS_NOT_ENABLED_FOR_ACCOUNT = 10039;
const STREAM_NOT_FOUND = 10059;
// "JetStream system temporarily unavailable" and "JetStream cluster can
// not handle request" (not the leader): a cluster between two leaders.
const JS_CLUSTER_UNAVAILABLE = new Set([10008, 10009]);

function apiCode(e: unknown): number | undefined {
  const code = (e as { code?: unknown })?.code;
  return (e as Error)?.name?.endsWith("ApiError") ||
      (e as Error)?.name === "StreamNotFoundError"
    ? typeof code === "number" ? code : undefined
    : undefined;
}

/** Context for {@linkcode mapNatsError}. */
export interface MapContext {
  /** The error came from opening the connection (unknown errors = unreachable). */
  connecting?: boolean;
  /** A background connection keeps retrying (said in the message). */
  retrying?: boolean;
  /** The namespace, to name it when a stream or bucket is missing. */
  namespace?: string;
  /** What was missing (`stream C2C_x_INBOX`), when the caller knows. */
  missing?: string;
}

/**
 * Maps what nats-core, JetStream or Deno threw to c2c's typed errors. A
 * {@linkcode C2cError} and a permission refusal (`NotCapable`) pass
 * through, and so does anything that is not about reaching NATS (a CAS
 * conflict, for one), unless `context.connecting` says every failure here
 * was one to reach it. Foreign text is scrubbed of the secret.
 *
 * @param error What was thrown.
 * @param config The configuration (masked URL, credentials named).
 * @param context Where it happened.
 * @returns The error to throw.
 *
 * @example Usage
 * ```ts ignore
 * import { mapNatsError } from "./connect.ts";
 * try { await nc.flush(); } catch (e) { throw mapNatsError(e, config); }
 * ```
 */
export function mapNatsError(
  error: unknown,
  config: NatsConfig,
  context: MapContext = {},
): unknown {
  if (
    error instanceof C2cError || error instanceof Deno.errors.NotCapable ||
    error instanceof Deno.errors.PermissionDenied
  ) {
    return error;
  }
  const url = config.display;
  const e = error as Error & { cause?: unknown };
  const name = e?.name ?? "";
  const message = redact(config, printable(String(e?.message ?? error)));
  const chain = causes(error);

  if (chain.some((c) => c.name === "AuthorizationError")) {
    return new NatsAuthError(url, describeAuth(config.auth));
  }
  if (chain.some((c) => c.name === "UserAuthenticationExpiredError")) {
    return new NatsAuthError(
      url,
      describeAuth(config.auth),
      "the user JWT has expired",
    );
  }
  const violation = chain.find((c) => c.name === "PermissionViolationError");
  if (violation) {
    return new NatsAuthError(
      url,
      `an operation for ${describeAuth(config.auth)}`,
      redact(config, printable(violation.message)),
      "grant the user publish and subscribe on c2c.<namespace>.> and publish on $JS.API.> in the server's authorization",
    );
  }
  const tls = tlsProblem(chain, config);
  if (tls) return new NatsTlsError(url, tls.reason, tls.fix);
  if (
    name === "StreamNotFoundError" || apiCode(error) === STREAM_NOT_FOUND
  ) {
    return context.namespace === undefined ? error : new NatsNamespaceError(
      context.namespace,
      url,
      context.missing ?? "its stream or bucket",
    );
  }
  if (apiCode(error) === JS_NOT_ENABLED_FOR_ACCOUNT) {
    return new NatsNoJetStreamError(url, true);
  }
  if (name === "JetStreamNotEnabled") {
    // "jetstream is not enabled" means no responder: no leader yet, no
    // stream for the subject, or no JetStream — never the user's words.
    return new NatsUnavailableError(url, "no JetStream server answered");
  }
  const reason = unreachableReason(chain);
  if (reason) return new NatsUnreachableError(url, reason, context.retrying);
  if (context.connecting) {
    return new NatsUnreachableError(url, message, context.retrying);
  }
  return error;
}

function causes(error: unknown): Error[] {
  const out: Error[] = [];
  let e = error;
  while (e instanceof Error && out.length < 8) {
    out.push(e);
    e = e.cause;
  }
  return out;
}

function tlsProblem(
  chain: Error[],
  config: NatsConfig,
): { reason: string; fix: string } | undefined {
  for (const e of chain) {
    const text = e.message ?? "";
    if (/server does not support 'tls'/.test(text)) {
      return {
        reason: "the server does not offer TLS",
        fix:
          "use nats:// and unset C2C_NATS_CA, or enable tls on the NATS server",
      };
    }
    if (!(e instanceof Deno.errors.InvalidData) && !/certificate/i.test(text)) {
      continue;
    }
    if (/UnknownIssuer|unknown ?issuer|self.signed/i.test(text)) {
      return {
        reason: "the server's certificate is not trusted (unknown issuer)",
        fix: config.caFile === undefined
          ? "set C2C_NATS_CA to the CA file that signed it"
          : `C2C_NATS_CA (${config.caFile}) did not sign it; point C2C_NATS_CA at the CA file that did`,
      };
    }
    if (/NotValidForName|not valid for/i.test(text)) {
      return {
        reason: "the server's certificate does not name the host dialed",
        fix:
          "write the host the certificate names in C2C_BROKER_URL (or add it to the certificate)",
      };
    }
    if (/Expired|NotValidYet/i.test(text)) {
      return {
        reason: "the server's certificate has expired or is not valid yet",
        fix: "renew the server's certificate (or check this machine's clock)",
      };
    }
    return {
      reason: redact(config, printable(text)),
      fix: "check the server's TLS setup and C2C_NATS_CA",
    };
  }
  return undefined;
}

function unreachableReason(chain: Error[]): string | undefined {
  for (const e of chain) {
    const text = e.message ?? "";
    if (
      e instanceof Deno.errors.ConnectionRefused ||
      /connection refused/i.test(text)
    ) return "connection refused";
    if (/failed to lookup address/i.test(text)) return "host not found";
    if (
      e instanceof Deno.errors.TimedOut || e.name === "TimeoutError" ||
      /timed? ?out/i.test(text)
    ) return "timed out";
    if (
      e instanceof Deno.errors.ConnectionReset ||
      e instanceof Deno.errors.ConnectionAborted ||
      e instanceof Deno.errors.BrokenPipe ||
      e instanceof Deno.errors.UnexpectedEof ||
      /closed before INFO|connection closed/.test(text)
    ) return "the connection was closed";
    if (e.name === "ClosedConnectionError") return "the connection is closed";
    if (/connection disconnected|draining/.test(text)) {
      return "the connection was lost; reconnecting";
    }
    if (/unexpected response from server|no INFO/.test(text)) {
      return "the server there does not speak NATS";
    }
  }
  return undefined;
}

/** Inputs to {@linkcode withFailover}. */
export interface FailoverOptions {
  /** The configuration (for the final error). */
  config: NatsConfig;
  /** How long to keep retrying; default {@linkcode FAILOVER_BUDGET_MS}. */
  budgetMs?: number;
  /** Stops retrying early (the last error is thrown). */
  signal?: AbortSignal;
  /** Called before each retry (for logs and tests). */
  onRetry?: (error: unknown, attempt: number) => void;
}

/**
 * Whether an error means "ask again": no JetStream responder (a stream or
 * the meta group has no leader), a timeout, a connection that is
 * reconnecting, a cluster that is not available yet.
 *
 * @param error What an operation threw.
 * @returns `true` when retrying can succeed.
 *
 * @example Usage
 * ```ts ignore
 * import { isTransientNatsError } from "./connect.ts";
 * isTransientNatsError(new Error("x")); // false
 * ```
 */
export function isTransientNatsError(error: unknown): boolean {
  const e = error as Error;
  if (!(e instanceof Error)) return false;
  if (e.name === "JetStreamNotEnabled" || e.name === "TimeoutError") {
    return true;
  }
  if (e.name === "RequestError" && /connection disconnected/.test(e.message)) {
    return true;
  }
  const code = apiCode(e);
  return code !== undefined && JS_CLUSTER_UNAVAILABLE.has(code);
}

/**
 * Runs `operation`, and again while it fails with a transient error
 * ({@linkcode isTransientNatsError}) until `budgetMs` has passed, backing
 * off from 50 ms to 500 ms between attempts. Any other error is thrown as
 * is, at once. The operation must be idempotent: publish with a `msgID`,
 * re-read before a CAS (an attempt that timed out may have been applied).
 *
 * @param operation The idempotent operation.
 * @param options Configuration, budget, abort signal.
 * @returns What `operation` returned.
 * @throws {NatsUnavailableError} Still transient when the budget ran out;
 * never "jetstream is not enabled".
 *
 * @example Usage
 * ```ts ignore
 * import { withFailover } from "./connect.ts";
 * const ack = await withFailover(
 *   () => js.publish(subject, body, { msgID: id }),
 *   { config },
 * );
 * ```
 */
export async function withFailover<T>(
  operation: () => Promise<T>,
  options: FailoverOptions,
): Promise<T> {
  const budget = options.budgetMs ?? FAILOVER_BUDGET_MS;
  const deadline = performance.now() + budget;
  let wait = 50;
  for (let attempt = 1;; attempt++) {
    try {
      return await operation();
    } catch (e) {
      if (!isTransientNatsError(e)) throw e;
      const left = deadline - performance.now();
      if (left <= 0 || options.signal?.aborted) {
        throw new NatsUnavailableError(
          options.config.display,
          transientReason(e),
          Math.round(budget / 100) / 10,
        );
      }
      options.onRetry?.(e, attempt);
      await pause(Math.min(wait, left), options.signal);
      wait = Math.min(wait * 2, 500);
    }
  }
}

function transientReason(e: unknown): string {
  const name = (e as Error).name;
  if (name === "TimeoutError") return "requests timed out";
  if (name === "RequestError") return "the connection was lost";
  return "no JetStream leader answered";
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
