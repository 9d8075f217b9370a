/**
 * The namespace: the shared space inside one NATS account that c2c
 * peers meet in. `C2C_BROKER_NAMESPACE` when set, else derived from the
 * repository's `origin` remote — normalised so that clones of one
 * repository by different URL schemes (`git@host:org/repo.git`,
 * `https://host/org/repo`, `ssh://git@host:22/org/repo.git`) meet, as
 * worktrees of one repository meet in the file store — else `default`.
 *
 * And the encoding every name goes through before it becomes a subject
 * token, a KV key, or part of a stream or bucket name: `[A-Za-z0-9_-]` is
 * kept, every other UTF-8 byte is written `=XX` (upper-case hex, `=` itself
 * too). It is injective (so `a.b` and `a=2Eb` stay apart), case-preserving,
 * never empty, and can add neither a `.` token separator nor a `*`/`>`
 * wildcard (docs/design.md#nats-facts 4).
 *
 * @module
 */

import { C2cError, NatsConfigError } from "../../errors.ts";
import { hasControl, quote } from "./_quote.ts";

/** `C2C_BROKER_NAMESPACE`: the namespace, overriding the derived one. */
export const BROKER_NAMESPACE_ENV = "C2C_BROKER_NAMESPACE";
/** The namespace outside a repository with an `origin` remote. */
export const DEFAULT_NAMESPACE = "default";
/**
 * Longest encoded namespace. Stream and bucket names embed it, the server
 * makes a directory of each, and the lead's names add a few characters.
 */
export const MAX_ENCODED_NAMESPACE = 100;

/** Where the namespace came from. */
export type NamespaceSource = "env" | "origin" | "default";

/** A resolved namespace. */
export interface ResolvedNamespace {
  /** The namespace as people read it (`github.com/org/repo`). */
  namespace: string;
  /** {@linkcode encodeName} of it: safe in subjects, keys and names. */
  encoded: string;
  /** Where it came from. */
  source: NamespaceSource;
}

/** Inputs to {@linkcode resolveNamespace}; defaults come from the process. */
export interface ResolveNamespaceOptions {
  /** Value of `C2C_BROKER_NAMESPACE` (default: read from the environment). */
  env?: string;
  /** Directory to ask git for the `origin` remote (default: the current one). */
  cwd?: string;
  /** The `origin` remote's URL, when already known (no git run then). */
  origin?: string;
}

/** Environment variable a launcher sets to the `origin` remote it read. */
export const BROKER_ORIGIN_ENV = "C2C_BROKER_ORIGIN";

function readOrigin(): string | undefined {
  try {
    return Deno.env.get(BROKER_ORIGIN_ENV) || undefined;
  } catch {
    return undefined; // not granted: ask git
  }
}

/**
 * Resolves the namespace: `C2C_BROKER_NAMESPACE`, else the normalised
 * `origin` remote of the repository around `cwd`, else `default`.
 *
 * Requires `--allow-env=C2C_BROKER_NAMESPACE` (unless `options.env` is
 * given), and `--allow-run=git` when the variable is unset. Without git on
 * the PATH, or outside a repository, or without an `origin`, the namespace
 * is `default`.
 *
 * @param options Overrides for the environment and working directory.
 * @returns The namespace, its encoding and its source.
 * @throws {NatsConfigError} When `C2C_BROKER_NAMESPACE` cannot be used.
 *
 * @example Usage
 * ```ts ignore
 * import { resolveNamespace } from "./namespace.ts";
 * const { namespace, source } = await resolveNamespace();
 * ```
 */
export async function resolveNamespace(
  options: ResolveNamespaceOptions = {},
): Promise<ResolvedNamespace> {
  const env = options.env ?? Deno.env.get(BROKER_NAMESPACE_ENV);
  if (env !== undefined && env !== "") {
    const namespace = checkNamespace(env);
    return { namespace, encoded: encodeName(namespace), source: "env" };
  }
  // A launcher that may run git hands the remote over (the process itself
  // runs no program): C2C_BROKER_ORIGIN.
  const remote = options.origin ?? readOrigin() ??
    await originRemote(options.cwd ?? Deno.cwd());
  const normalised = remote === undefined ? undefined : normalizeRemote(remote);
  if (normalised === undefined) {
    return {
      namespace: DEFAULT_NAMESPACE,
      encoded: DEFAULT_NAMESPACE,
      source: "default",
    };
  }
  const namespace = await fitNamespace(normalised);
  return { namespace, encoded: encodeName(namespace), source: "origin" };
}

/**
 * Checks a namespace given by `C2C_BROKER_NAMESPACE`: not blank, no
 * control characters, well-formed Unicode, at most
 * {@linkcode MAX_ENCODED_NAMESPACE} characters once encoded.
 *
 * @param value The value.
 * @returns The value, unchanged.
 * @throws {NatsConfigError} Naming what is wrong.
 *
 * @example Usage
 * ```ts
 * import { checkNamespace } from "./namespace.ts";
 * console.log(checkNamespace("team-a")); // team-a
 * ```
 */
export function checkNamespace(value: string): string {
  if (value.trim() === "") {
    throw new NatsConfigError(
      BROKER_NAMESPACE_ENV,
      "is blank; unset it to derive the namespace from the origin remote, or name one",
    );
  }
  if (
    !value.isWellFormed() || hasControl(value)
  ) {
    throw new NatsConfigError(
      BROKER_NAMESPACE_ENV,
      `${quote(value)} contains a control character; use printable text`,
    );
  }
  const encoded = encodeName(value).length;
  if (encoded > MAX_ENCODED_NAMESPACE) {
    throw new NatsConfigError(
      BROKER_NAMESPACE_ENV,
      `${
        quote(value)
      } is too long (${encoded} characters once encoded, at most ${MAX_ENCODED_NAMESPACE}; letters, digits, '-' and '_' count one, others three per byte)`,
    );
  }
  return value;
}

async function originRemote(cwd: string): Promise<string | undefined> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("git", {
      args: ["config", "--get", "remote.origin.url"],
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
  } catch (e) {
    // No git at all means no repository to derive from; a missing
    // permission is the launcher's bug and must not silently change the
    // namespace peers meet in.
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  if (!output.success) return undefined;
  const text = new TextDecoder().decode(output.stdout).trim();
  return text === "" ? undefined : text;
}

/**
 * Normalises a git remote URL to `host/path`, lower-cased, without user,
 * password, port, trailing `/` or `.git`, so that every way of cloning one
 * repository gives the same namespace. Absolute local paths (and `file://`)
 * stay paths. Lower-casing makes `Org/Repo` and `org/repo` meet, as the big
 * hosts treat them as one repository.
 *
 * @param remote The remote URL as git stores it.
 * @returns The normalised form, or `undefined` when it is not a remote URL
 * (relative paths, control characters, no path).
 *
 * @example Usage
 * ```ts
 * import { normalizeRemote } from "./namespace.ts";
 * console.log(normalizeRemote("git@github.com:Org/Repo.git")); // github.com/org/repo
 * console.log(normalizeRemote("https://github.com/org/repo")); // github.com/org/repo
 * ```
 */
export function normalizeRemote(remote: string): string | undefined {
  const text = remote.trim();
  if (text === "" || hasControl(text) || /\s/.test(text)) return undefined;
  let host: string;
  let path: string;
  const url = /^([a-z][a-z0-9+.-]*):\/\/([^/]*)(.*)$/i.exec(text);
  const scp = /^(?:[^@/]+@)?(\[[^\]]+\]|[^:/]+):(?!\/\/)(.*)$/.exec(text);
  if (url) {
    const scheme = url[1].toLowerCase();
    if (scheme === "file") {
      return localPath(url[2] === "" || url[2] === "localhost" ? url[3] : "");
    }
    host = stripPort(url[2].slice(url[2].lastIndexOf("@") + 1));
    path = url[3];
  } else if (scp && !/^[a-z]$/i.test(scp[1])) {
    host = scp[1];
    path = scp[2];
  } else {
    return localPath(text);
  }
  host = host.replace(/^\[|\]$/g, "").toLowerCase();
  const cleaned = cleanPath(path);
  if (host === "" || cleaned === "") return undefined;
  return `${host}/${cleaned}`;
}

function stripPort(authority: string): string {
  if (authority.startsWith("[")) {
    return authority.slice(0, authority.indexOf("]") + 1);
  }
  return authority.replace(/:[0-9]*$/, "");
}

function cleanPath(path: string): string {
  return path.toLowerCase().split("/").filter((part) => part !== "")
    .join("/").replace(/\.git$/, "");
}

function localPath(path: string): string | undefined {
  if (!path.startsWith("/")) return undefined;
  const cleaned = cleanPath(path);
  return cleaned === "" ? undefined : `/${cleaned}`;
}

// A derived namespace too long to encode within the limit keeps a readable
// prefix and gains a hash of the whole, so it stays deterministic (every
// clone computes the same) and distinct.
async function fitNamespace(namespace: string): Promise<string> {
  if (encodeName(namespace).length <= MAX_ENCODED_NAMESPACE) return namespace;
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(namespace),
  );
  const hash = Array.from(
    new Uint8Array(digest).slice(0, 8),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  const chars = Array.from(namespace);
  let cut = chars.length;
  while (
    encodeName(`${chars.slice(0, cut).join("")}_${hash}`).length >
      MAX_ENCODED_NAMESPACE
  ) {
    cut--;
  }
  return `${chars.slice(0, cut).join("")}_${hash}`;
}

const KEPT = /^[A-Za-z0-9_-]$/;
const HEX = "0123456789ABCDEF";

/**
 * Encodes a name for NATS: `[A-Za-z0-9_-]` kept, every other UTF-8 byte as
 * `=XX`. The result is a valid subject token, KV key and stream/bucket name
 * part, and distinct names give distinct results.
 *
 * @param name A non-empty, well-formed string.
 * @returns The encoded name.
 * @throws {C2cError} `invalid_argument` for an empty or ill-formed string
 * (a lone surrogate has no UTF-8 form, so it would collide with U+FFFD).
 *
 * @example Usage
 * ```ts
 * import { encodeName } from "./namespace.ts";
 * console.log(encodeName("my.room")); // my=2Eroom
 * ```
 */
export function encodeName(name: string): string {
  if (name === "" || !name.isWellFormed()) {
    throw new C2cError(
      "invalid_argument",
      name === ""
        ? "an empty name cannot become a NATS subject token"
        : `${quote(name)} is not well-formed Unicode (a lone surrogate)`,
    );
  }
  let out = "";
  for (const char of name) {
    if (KEPT.test(char)) {
      out += char;
      continue;
    }
    for (const byte of new TextEncoder().encode(char)) {
      out += `=${HEX[byte >> 4]}${HEX[byte & 15]}`;
    }
  }
  return out;
}

/**
 * Decodes {@linkcode encodeName}'s output. Strict: only what `encodeName`
 * produces decodes (upper-case hex, no escaped kept character, valid UTF-8),
 * so `encodeName(decodeName(t)) === t` for every accepted `t`.
 *
 * @param token An encoded name.
 * @returns The name.
 * @throws {C2cError} `invalid_argument` when `token` is not an encoding.
 *
 * @example Usage
 * ```ts
 * import { decodeName } from "./namespace.ts";
 * console.log(decodeName("my=2Eroom")); // my.room
 * ```
 */
export function decodeName(token: string): string {
  const bytes: number[] = [];
  const bad = (why: string) =>
    new C2cError(
      "invalid_argument",
      `${quote(token)} is not an encoded NATS name: ${why}`,
    );
  if (token === "") throw bad("it is empty");
  for (let i = 0; i < token.length; i++) {
    const char = token[i];
    if (KEPT.test(char)) {
      bytes.push(char.charCodeAt(0));
    } else if (char === "=") {
      const hex = token.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) {
        throw bad(`'=' at ${i} is not followed by two upper-case hex digits`);
      }
      const byte = parseInt(hex, 16);
      if (KEPT.test(String.fromCharCode(byte))) {
        throw bad(`=${hex} escapes a character that is kept as is`);
      }
      bytes.push(byte);
      i += 2;
    } else {
      throw bad(`character ${quote(char)} at ${i} is never produced`);
    }
  }
  let name: string;
  try {
    // ignoreBOM: a leading U+FEFF is part of the name, not a marker to drop
    name = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(
      new Uint8Array(bytes),
    );
  } catch {
    throw bad("its bytes are not UTF-8");
  }
  if (encodeName(name) !== token) throw bad("it is not in canonical form");
  return name;
}

/**
 * The subject prefix of a namespace, `c2c.<encoded>`: every subject c2c
 * uses starts with it, so one `c2c.<ns>.>` permission covers a namespace.
 *
 * @param namespace The namespace (not encoded).
 * @returns `c2c.<encodeName(namespace)>`.
 *
 * @example Usage
 * ```ts
 * import { subjectPrefix } from "./namespace.ts";
 * console.log(subjectPrefix("github.com/org/repo")); // c2c.github=2Ecom=2Forg=2Frepo
 * ```
 */
export function subjectPrefix(namespace: string): string {
  return `c2c.${encodeName(namespace)}`;
}
