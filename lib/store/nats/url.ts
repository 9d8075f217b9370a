/**
 * What `C2C_BROKER_URL` and the `C2C_NATS_*` variables say, checked: the
 * servers to dial, the credentials (taken out of the URL, since the 3.x
 * client ignores URL credentials), TLS, and the exact permission grants a
 * process needs to reach them. Pure: reads no file and no environment
 * except through the getter it is given.
 *
 * ```
 * C2C_BROKER_URL=nats://[user:pass@|token@]host[:port][,host[:port]…]   (or tls://)
 * C2C_NATS_CREDS=/abs/user.creds | C2C_NATS_NKEY=/abs/user.nk | C2C_NATS_TOKEN=…
 * C2C_NATS_CA=/abs/ca.pem
 * ```
 *
 * Secrets never appear in a message: {@linkcode NatsConfig.display} masks
 * them and {@linkcode redact} scrubs them from foreign error text.
 *
 * @module
 */

import { NatsConfigError } from "../../errors.ts";
import { hasControl, quote } from "./_quote.ts";

/** `C2C_BROKER_URL`: selects the NATS store when set and not empty. */
export const BROKER_URL_ENV = "C2C_BROKER_URL";
/** `C2C_NATS_CREDS`: absolute path of a `.creds` file (user JWT + seed). */
export const NATS_CREDS_ENV = "C2C_NATS_CREDS";
/** `C2C_NATS_NKEY`: absolute path of a file holding a user nkey seed. */
export const NATS_NKEY_ENV = "C2C_NATS_NKEY";
/** `C2C_NATS_TOKEN`: an auth token (kept out of the URL, so out of `ps`). */
export const NATS_TOKEN_ENV = "C2C_NATS_TOKEN";
/** `C2C_NATS_CA`: absolute path of the PEM CA file that signed the servers. */
export const NATS_CA_ENV = "C2C_NATS_CA";

/**
 * Every variable {@linkcode natsConfigFromEnv} reads: what a process needs
 * in `--allow-env` for the NATS store's connection.
 */
export const NATS_ENV_VARS: readonly string[] = [
  BROKER_URL_ENV,
  NATS_CREDS_ENV,
  NATS_NKEY_ENV,
  NATS_TOKEN_ENV,
  NATS_CA_ENV,
];

/** The port of a server given without one. */
export const DEFAULT_NATS_PORT = 4222;

const MAX_URL_LENGTH = 4096;
const MAX_SERVERS = 32;

/** One server to dial. */
export interface NatsServer {
  /** Name, IPv4, or IPv6 without brackets, lower-cased. */
  hostname: string;
  /** TCP port. */
  port: number;
  /** `host:port` as `--allow-net` and nats-core spell it (`[::1]:4222`). */
  hostPort: string;
}

/** How the client proves who it is; at most one source is allowed. */
export type NatsAuth =
  /** No credentials. */
  | { kind: "none" }
  /** User and password from the URL. */
  | { kind: "user"; user: string; pass: string }
  /** A token from the URL (`nats://token@host`) or `C2C_NATS_TOKEN`. */
  | { kind: "token"; token: string; from: string }
  /** A `.creds` file (`C2C_NATS_CREDS`). */
  | { kind: "creds"; file: string }
  /** An nkey seed file (`C2C_NATS_NKEY`). */
  | { kind: "nkey"; file: string };

/** A checked NATS configuration. */
export interface NatsConfig {
  /** The servers, in the order given, without duplicates. */
  servers: NatsServer[];
  /** Whether TLS is required (`tls://`, or a CA file given). */
  tls: boolean;
  /** CA file (absolute), when given. */
  caFile: string | undefined;
  /** The credentials. */
  auth: NatsAuth;
  /** The URL as people see it, secrets masked: `nats://alice:***@h:4222,h2:4222`. */
  display: string;
}

/** Reads one environment variable (`Deno.env` fits, so does a `Map`). */
export interface EnvGetter {
  /**
   * @param name Variable name.
   * @returns Its value, or `undefined` when unset.
   */
  get(name: string): string | undefined;
}

/**
 * The NATS configuration the environment selects, or `undefined` when
 * `C2C_BROKER_URL` is unset or empty (the file store).
 *
 * Requires `--allow-env` on {@linkcode NATS_ENV_VARS} when `env` is
 * `Deno.env`.
 *
 * @param env Where to read the variables.
 * @returns The checked configuration, or `undefined`.
 * @throws {NatsConfigError} Naming the variable and the part at fault.
 *
 * @example Usage
 * ```ts
 * import { natsConfigFromEnv } from "./url.ts";
 * const env = new Map([["C2C_BROKER_URL", "nats://alice:s3cret@127.0.0.1:4222"]]);
 * const config = natsConfigFromEnv(env);
 * console.log(config?.display); // nats://alice:***@127.0.0.1:4222
 * ```
 */
export function natsConfigFromEnv(env: EnvGetter): NatsConfig | undefined {
  const url = env.get(BROKER_URL_ENV);
  if (url === undefined || url.trim() === "") return undefined;
  const parsed = parseBrokerUrl(url);
  const creds = filePath(env, NATS_CREDS_ENV);
  const nkey = filePath(env, NATS_NKEY_ENV);
  const caFile = filePath(env, NATS_CA_ENV);
  const token = env.get(NATS_TOKEN_ENV);
  if (token !== undefined && token !== "") checkSecret(NATS_TOKEN_ENV, token);

  const sources: NatsAuth[] = [];
  if (parsed.auth.kind !== "none") sources.push(parsed.auth);
  if (token) sources.push({ kind: "token", token, from: NATS_TOKEN_ENV });
  if (nkey) sources.push({ kind: "nkey", file: nkey });
  if (creds) sources.push({ kind: "creds", file: creds });
  if (sources.length > 1) {
    throw new NatsConfigError(
      sources.map(authSource).join(" and "),
      "give credentials one way only (user:password or a token in the URL, C2C_NATS_TOKEN, C2C_NATS_NKEY or C2C_NATS_CREDS)",
    );
  }
  const auth = sources[0] ?? { kind: "none" };
  return {
    servers: parsed.servers,
    tls: parsed.tls || caFile !== undefined,
    caFile,
    auth,
    display: displayUrl(parsed.tls ? "tls" : "nats", auth, parsed.servers),
  };
}

/** {@linkcode parseBrokerUrl}'s result. */
export interface ParsedBrokerUrl {
  /** The servers, without duplicates. */
  servers: NatsServer[];
  /** Whether the scheme is `tls://`. */
  tls: boolean;
  /** Credentials found in the URL (`user` or `token`), else `none`. */
  auth: NatsAuth;
}

/**
 * Parses a `C2C_BROKER_URL` value: a comma-separated list of
 * `nats://` or `tls://` URLs; entries without a scheme take the first one's,
 * a missing port is 4222. Credentials may appear once; entries that repeat
 * them must repeat them identically.
 *
 * @param url The value.
 * @returns The servers, whether TLS is asked for, and URL credentials.
 * @throws {NatsConfigError} Naming the entry (masked) and what is wrong.
 *
 * @example Usage
 * ```ts
 * import { parseBrokerUrl } from "./url.ts";
 * const { servers } = parseBrokerUrl("nats://h1:4222,h2");
 * console.log(servers.map((s) => s.hostPort)); // ["h1:4222", "h2:4222"]
 * ```
 */
export function parseBrokerUrl(url: string): ParsedBrokerUrl {
  if (url.length > MAX_URL_LENGTH) {
    throw new NatsConfigError(
      BROKER_URL_ENV,
      `is ${url.length} characters long (at most ${MAX_URL_LENGTH})`,
    );
  }
  const entries = url.split(",").map((entry) => entry.trim());
  if (entries.length > MAX_SERVERS) {
    throw new NatsConfigError(
      BROKER_URL_ENV,
      `lists ${entries.length} servers (at most ${MAX_SERVERS})`,
    );
  }
  let scheme: "nats" | "tls" | undefined;
  let userinfo: string | undefined;
  const servers: NatsServer[] = [];
  entries.forEach((entry, index) => {
    const where = entries.length > 1
      ? `server ${index + 1} (${quote(maskEntry(entry))})`
      : quote(maskEntry(entry));
    if (entry === "") {
      throw new NatsConfigError(
        BROKER_URL_ENV,
        `server ${index + 1} is empty; separate servers with single commas`,
      );
    }
    const parsed = parseEntry(entry, where);
    if (parsed.scheme) {
      if (scheme && parsed.scheme !== scheme) {
        throw new NatsConfigError(
          BROKER_URL_ENV,
          `${where} is ${parsed.scheme}:// but an earlier server is ${scheme}://; use one scheme for all servers`,
        );
      }
      scheme = parsed.scheme;
    }
    if (parsed.userinfo !== undefined) {
      if (userinfo !== undefined && userinfo !== parsed.userinfo) {
        throw new NatsConfigError(
          BROKER_URL_ENV,
          `${where} carries other credentials than an earlier server; give them once, on the first server`,
        );
      }
      userinfo = parsed.userinfo;
    }
    if (!servers.some((s) => s.hostPort === parsed.server.hostPort)) {
      servers.push(parsed.server);
    }
  });
  return {
    servers,
    tls: scheme === "tls",
    auth: userinfo === undefined ? { kind: "none" } : parseUserinfo(userinfo),
  };
}

interface Entry {
  scheme: "nats" | "tls" | undefined;
  userinfo: string | undefined;
  server: NatsServer;
}

function parseEntry(entry: string, where: string): Entry {
  let rest = entry;
  let scheme: Entry["scheme"];
  const schemeMatch = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(rest);
  if (schemeMatch) {
    const name = schemeMatch[1].toLowerCase();
    if (name !== "nats" && name !== "tls") {
      throw new NatsConfigError(
        BROKER_URL_ENV,
        `${where}: scheme ${
          quote(schemeMatch[1])
        } is not supported; use nats://host:port or tls://host:port`,
      );
    }
    scheme = name;
    rest = rest.slice(schemeMatch[0].length);
  } else if (/^[A-Za-z][A-Za-z0-9+.-]*:\/(?!\/)/.test(rest)) {
    throw new NatsConfigError(
      BROKER_URL_ENV,
      `${where} is not a URL of the form nats://host:port`,
    );
  }
  if (rest.endsWith("/")) rest = rest.slice(0, -1);
  const at = rest.lastIndexOf("@");
  const userinfo = at >= 0 ? rest.slice(0, at) : undefined;
  const hostPort = at >= 0 ? rest.slice(at + 1) : rest;
  const extra = /[/?#]/.exec(hostPort);
  if (extra) {
    throw new NatsConfigError(
      BROKER_URL_ENV,
      `${where} has a path, query or fragment (${
        quote(hostPort.slice(extra.index))
      }); a NATS URL is only scheme://host:port`,
    );
  }
  if (userinfo !== undefined && userinfo === "") {
    throw new NatsConfigError(
      BROKER_URL_ENV,
      `${where} has an empty user before '@'; remove the '@' or give user:password`,
    );
  }
  return { scheme, userinfo, server: parseHostPort(hostPort, where) };
}

function parseHostPort(text: string, where: string): NatsServer {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) {
      throw new NatsConfigError(
        BROKER_URL_ENV,
        `${where}: IPv6 address without its closing ']'`,
      );
    }
    host = text.slice(1, close).toLowerCase();
    const after = text.slice(close + 1);
    if (after !== "" && !after.startsWith(":")) {
      throw new NatsConfigError(
        BROKER_URL_ENV,
        `${where}: expected ':port' after the IPv6 address, found ${
          quote(after)
        }`,
      );
    }
    portText = after === "" ? undefined : after.slice(1);
    if (!/^[0-9a-f:.]+$/.test(host) || !host.includes(":")) {
      throw new NatsConfigError(
        BROKER_URL_ENV,
        `${where}: ${quote(host)} is not an IPv6 address`,
      );
    }
  } else {
    const colon = text.indexOf(":");
    host = (colon < 0 ? text : text.slice(0, colon)).toLowerCase();
    portText = colon < 0 ? undefined : text.slice(colon + 1);
    if (host === "") {
      throw new NatsConfigError(BROKER_URL_ENV, `${where} names no host`);
    }
    if (!validHostname(host)) {
      throw new NatsConfigError(
        BROKER_URL_ENV,
        `${where}: ${
          quote(host)
        } is not a host name or IP address (letters, digits, '-', '_' and dots; IPv6 goes in brackets)`,
      );
    }
  }
  let port = DEFAULT_NATS_PORT;
  if (portText !== undefined) {
    port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65535)) {
      throw new NatsConfigError(
        BROKER_URL_ENV,
        `${where}: port ${quote(portText)} is not a number from 1 to 65535`,
      );
    }
  }
  const shown = host.includes(":") ? `[${host}]` : host;
  return { hostname: host, port, hostPort: `${shown}:${port}` };
}

function validHostname(host: string): boolean {
  if (host.length > 253) return false;
  return host.split(".").every((label) =>
    /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/.test(label)
  );
}

function parseUserinfo(userinfo: string): NatsAuth {
  const colon = userinfo.indexOf(":");
  if (colon < 0) {
    const token = decode(userinfo, "the token");
    checkSecret(BROKER_URL_ENV, token);
    return { kind: "token", token, from: BROKER_URL_ENV };
  }
  const user = decode(userinfo.slice(0, colon), "the user");
  const pass = decode(userinfo.slice(colon + 1), "the password");
  if (user === "") {
    throw new NatsConfigError(
      BROKER_URL_ENV,
      "has a password but no user before it; write user:password@host",
    );
  }
  if (pass === "") {
    throw new NatsConfigError(
      BROKER_URL_ENV,
      `gives user ${
        quote(user)
      } an empty password; write user:password@host (percent-encode '@', ':' and ',' in it)`,
    );
  }
  if (hasControl(user)) {
    throw new NatsConfigError(
      BROKER_URL_ENV,
      "the user contains a control character",
    );
  }
  checkSecret(BROKER_URL_ENV, pass);
  return { kind: "user", user, pass };
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new NatsConfigError(
      BROKER_URL_ENV,
      `${what} has a malformed %-escape; write '%' as %25`,
    );
  }
}

function checkSecret(variable: string, secret: string): void {
  // A control character would corrupt the CONNECT line's JSON framing for
  // some servers and can't be typed on purpose; say so without showing it.
  if (hasControl(secret)) {
    throw new NatsConfigError(
      variable,
      "the secret contains a control character (a stray newline?)",
    );
  }
}

function filePath(env: EnvGetter, variable: string): string | undefined {
  const value = env.get(variable);
  if (value === undefined || value === "") return undefined;
  if (!value.startsWith("/")) {
    throw new NatsConfigError(
      variable,
      `${
        quote(value)
      } is not an absolute path; give the file's full path (permission grants name it exactly)`,
    );
  }
  if (hasControl(value) || value.includes(",")) {
    throw new NatsConfigError(
      variable,
      `${
        quote(value)
      } contains a comma or a control character, which a --allow-read grant cannot name; move the file`,
    );
  }
  return value;
}

function authSource(auth: NatsAuth): string {
  switch (auth.kind) {
    case "user":
      return `${BROKER_URL_ENV} (user:password)`;
    case "token":
      return auth.from === BROKER_URL_ENV
        ? `${BROKER_URL_ENV} (token)`
        : auth.from;
    case "creds":
      return NATS_CREDS_ENV;
    case "nkey":
      return NATS_NKEY_ENV;
    case "none":
      return "nothing";
  }
}

/**
 * Names the credentials for a message, never their secret part:
 * `user 'alice' from C2C_BROKER_URL`, `the token from C2C_NATS_TOKEN`,
 * `the .creds file /x (C2C_NATS_CREDS)`, `no credentials`.
 *
 * @param auth The credentials.
 * @returns A phrase.
 *
 * @example Usage
 * ```ts
 * import { describeAuth } from "./url.ts";
 * console.log(describeAuth({ kind: "none" })); // no credentials
 * ```
 */
export function describeAuth(auth: NatsAuth): string {
  switch (auth.kind) {
    case "none":
      return "no credentials";
    case "user":
      return `user ${quote(auth.user)} from ${BROKER_URL_ENV}`;
    case "token":
      return `the token from ${auth.from}`;
    case "creds":
      return `the .creds file ${quote(auth.file)} (${NATS_CREDS_ENV})`;
    case "nkey":
      return `the nkey seed file ${quote(auth.file)} (${NATS_NKEY_ENV})`;
  }
}

function displayUrl(
  scheme: string,
  auth: NatsAuth,
  servers: NatsServer[],
): string {
  const userinfo = auth.kind === "user"
    ? `${encodeURIComponent(auth.user)}:***@`
    : auth.kind === "token" && auth.from === BROKER_URL_ENV
    ? "***@"
    : "";
  return `${scheme}://${userinfo}${servers.map((s) => s.hostPort).join(",")}`;
}

// An entry as it may be shown before it is parsed. Like parseEntry, take
// everything after the scheme up to the last '@' as user:secret or a token,
// so a secret holding '/', '?' or '#' is still masked.
function maskEntry(entry: string): string {
  const schemeEnd = entry.indexOf("://");
  const start = schemeEnd >= 0 ? schemeEnd + 3 : 0;
  const at = entry.lastIndexOf("@");
  if (at < start) return entry;
  const userinfo = entry.slice(start, at);
  const colon = userinfo.indexOf(":");
  const masked = colon >= 0 ? `${userinfo.slice(0, colon)}:***` : "***";
  return entry.slice(0, start) + masked + entry.slice(at);
}

/**
 * The grants a process needs to use `config`: `net` is each server's
 * `host:port` exactly as dialed, `read` the CA, `.creds` and nkey files.
 * Nothing else widens (the transport resolves names inside `Deno.connect`,
 * and the connection ignores servers a cluster gossips).
 *
 * @param config The configuration.
 * @returns The host:port list and the file list.
 *
 * @example Usage
 * ```ts
 * import { natsConfigFromEnv, natsGrants } from "./url.ts";
 * const config = natsConfigFromEnv(new Map([["C2C_BROKER_URL", "nats://h:4222"]]))!;
 * console.log(natsGrants(config)); // { net: ["h:4222"], read: [] }
 * ```
 */
export function natsGrants(config: NatsConfig): {
  net: string[];
  read: string[];
} {
  const read: string[] = [];
  for (
    const file of [
      config.caFile,
      config.auth.kind === "creds" || config.auth.kind === "nkey"
        ? config.auth.file
        : undefined,
    ]
  ) {
    if (file !== undefined && !read.includes(file)) read.push(file);
  }
  return { net: config.servers.map((s) => s.hostPort), read };
}

/**
 * {@linkcode natsGrants} as Deno flags: `--allow-net=h1:4222,h2:4222` and,
 * when files are needed, `--allow-read=/ca.pem,/u.creds`. A launcher merges
 * them with its own grants.
 *
 * @param config The configuration.
 * @returns One or two flags.
 *
 * @example Usage
 * ```ts
 * import { natsConfigFromEnv, natsPermissionFlags } from "./url.ts";
 * const config = natsConfigFromEnv(new Map([["C2C_BROKER_URL", "nats://h"]]))!;
 * console.log(natsPermissionFlags(config)); // ["--allow-net=h:4222"]
 * ```
 */
export function natsPermissionFlags(config: NatsConfig): string[] {
  const { net, read } = natsGrants(config);
  const flags = [`--allow-net=${net.join(",")}`];
  if (read.length > 0) flags.push(`--allow-read=${read.join(",")}`);
  return flags;
}

/**
 * Scrubs the configuration's password or token from foreign text (a server
 * or library message) before it reaches a person. Secrets shorter than 4
 * characters are left alone: masking every `e` of a message protects no one.
 *
 * @param config The configuration.
 * @param text Text that may contain a secret.
 * @returns The text with `***` in place of the secret.
 *
 * @example Usage
 * ```ts
 * import { natsConfigFromEnv, redact } from "./url.ts";
 * const config = natsConfigFromEnv(new Map([["C2C_BROKER_URL", "nats://u:s3cret@h"]]))!;
 * console.log(redact(config, "bad s3cret")); // bad ***
 * ```
 */
export function redact(config: NatsConfig, text: string): string {
  const secret = config.auth.kind === "user"
    ? config.auth.pass
    : config.auth.kind === "token"
    ? config.auth.token
    : undefined;
  if (secret === undefined || secret.length < 4) return text;
  let out = text;
  for (const form of new Set([secret, encodeURIComponent(secret)])) {
    out = out.replaceAll(form, "***");
  }
  return out;
}
