/**
 * Sender provenance for the NATS store: each session signs what it sends
 * with an Ed25519 key (WebCrypto) that lives on the machine it registered
 * from, `<local dir>/keys/<session>.key` (0600, created once, never
 * through a link), so every process of that session there — its server,
 * the CLI, the hook — signs with the same key. Receivers verify against
 * the public key the session published when it registered.
 *
 * The signature covers a canonical JSON of the message's own fields
 * (sorted keys), so moving a message between subjects (a rename, a dead
 * letter, an archive copy) keeps it verifiable.
 *
 * @module
 */

import { ensureDir, readBytesOrNull, removeIfExists } from "../../_fs.ts";
import { joinPath } from "../../_path.ts";
import { CorruptFileError } from "../../errors.ts";
import { validateSessionId } from "../../paths.ts";

/** Header carrying the base64url Ed25519 signature. */
export const SIG_HEADER = "c2c-sig";
/** Header naming the signing session. */
export const SIGNER_HEADER = "c2c-signer";

/** A session's key pair as this machine holds it. */
export interface SessionKey {
  /** The public key, raw, base64url (43 characters). */
  pubkey: string;
  /** The private key, for signing. */
  privateKey: CryptoKey;
}

const encoder = new TextEncoder();

/**
 * JSON with object keys sorted at every level and `undefined` dropped: the
 * bytes a signature covers, identical on every machine.
 *
 * @param value A JSON value.
 * @returns Its canonical text.
 *
 * @example Usage
 * ```ts
 * import { canonicalJson } from "./signing.ts";
 * console.log(canonicalJson({ b: 1, a: [1, { d: 2, c: undefined }] })); // {"a":[1,{"d":2}],"b":1}
 * ```
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map((v) => canonicalJson(v ?? null)).join(",")}]`;
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${
      entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`)
        .join(",")
    }}`;
  }
  return JSON.stringify(value);
}

/**
 * base64url without padding.
 *
 * @param bytes Bytes.
 * @returns Their encoding.
 */
export function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(
    /=+$/,
    "",
  );
}

/**
 * Decodes base64url (padding optional).
 *
 * @param text The encoding.
 * @returns The bytes, or `null` when `text` is not base64url.
 */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(text)) return null;
  try {
    const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

/** The key file of a session under a local directory. */
export function keyPath(root: string, sessionId: string): string {
  return joinPath(root, "keys", `${validateSessionId(sessionId)}.key`);
}

interface KeyFile {
  pkcs8: string;
  pubkey: string;
}

/**
 * Reads a session's key from this machine, or `null` when it has none.
 *
 * Requires `--allow-read` on `<root>/keys`.
 *
 * @param root The NATS store's local directory.
 * @param sessionId The session.
 * @returns The key, or `null`.
 * @throws {CorruptFileError} When the file is not a c2c key.
 * @throws {SymlinkRefusedError} When it is a link or not a file.
 */
export async function readSessionKey(
  root: string,
  sessionId: string,
): Promise<SessionKey | null> {
  const path = keyPath(root, sessionId);
  const bytes = readBytesOrNull(path);
  if (bytes === null) return null;
  let file: KeyFile;
  try {
    file = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new CorruptFileError(path, "not JSON");
  }
  const pkcs8 = typeof file?.pkcs8 === "string"
    ? fromBase64Url(file.pkcs8)
    : null;
  if (pkcs8 === null || typeof file.pubkey !== "string") {
    throw new CorruptFileError(path, "not a c2c session key");
  }
  try {
    const privateKey = await crypto.subtle.importKey(
      "pkcs8",
      pkcs8,
      { name: "Ed25519" },
      false,
      ["sign"],
    );
    return { pubkey: file.pubkey, privateKey };
  } catch {
    throw new CorruptFileError(path, "not an Ed25519 private key");
  }
}

/**
 * A session's key on this machine, created (0600, exclusively, never
 * through a link) when it has none. Two processes creating it at once end
 * with the same key: the file appears whole by a hard link that only one
 * of them can make.
 *
 * Requires `--allow-read` and `--allow-write` on `<root>/keys`.
 *
 * @param root The NATS store's local directory.
 * @param sessionId The session.
 * @returns The key.
 */
export async function sessionKey(
  root: string,
  sessionId: string,
): Promise<SessionKey> {
  const existing = await readSessionKey(root, sessionId);
  if (existing) return existing;
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const pkcs8 = new Uint8Array(
    await crypto.subtle.exportKey("pkcs8", pair.privateKey),
  );
  const raw = new Uint8Array(
    await crypto.subtle.exportKey("raw", pair.publicKey),
  );
  const path = keyPath(root, sessionId);
  ensureDir(joinPath(root, "keys"));
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  const file = await Deno.open(temp, {
    write: true,
    createNew: true,
    mode: 0o600,
  });
  try {
    const data = encoder.encode(
      JSON.stringify({ pkcs8: toBase64Url(pkcs8), pubkey: toBase64Url(raw) }),
    );
    let done = 0;
    while (done < data.length) done += await file.write(data.subarray(done));
  } finally {
    file.close();
  }
  try {
    // A link never replaces an existing name: the first writer wins, and a
    // reader never sees a half-written key.
    await Deno.link(temp, path);
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) {
      removeIfExists(temp);
      throw e;
    }
  }
  removeIfExists(temp);
  const key = await readSessionKey(root, sessionId);
  if (!key) throw new CorruptFileError(path, "vanished while being created");
  return key;
}

/**
 * Signs a record's canonical JSON.
 *
 * @param key The signer's private key.
 * @param record The message fields.
 * @returns The base64url signature.
 */
export async function signRecord(
  key: CryptoKey,
  record: unknown,
): Promise<string> {
  const sig = await crypto.subtle.sign(
    { name: "Ed25519" },
    key,
    encoder.encode(canonicalJson(record)),
  );
  return toBase64Url(new Uint8Array(sig));
}

const publicKeys = new Map<string, Promise<CryptoKey | null>>();

/**
 * Imports a raw base64url Ed25519 public key (cached).
 *
 * @param pubkey The key as registrations carry it.
 * @returns The key, or `null` when it is not one.
 */
export function importPublicKey(pubkey: string): Promise<CryptoKey | null> {
  let key = publicKeys.get(pubkey);
  if (!key) {
    const raw = fromBase64Url(pubkey);
    key = raw === null || raw.length !== 32
      ? Promise.resolve(null)
      : crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, true, [
        "verify",
      ]).catch(() => null);
    if (publicKeys.size > 10_000) publicKeys.clear();
    publicKeys.set(pubkey, key);
  }
  return key;
}

/**
 * Whether `signature` is `pubkey`'s signature of `record`.
 *
 * @param pubkey The raw base64url public key.
 * @param signature The base64url signature.
 * @param record The message fields.
 * @returns `true` when it verifies.
 */
export async function verifyRecord(
  pubkey: string,
  signature: string,
  record: unknown,
): Promise<boolean> {
  const key = await importPublicKey(pubkey);
  const sig = fromBase64Url(signature);
  if (key === null || sig === null || sig.length !== 64) return false;
  try {
    return await crypto.subtle.verify(
      { name: "Ed25519" },
      key,
      sig,
      encoder.encode(canonicalJson(record)),
    );
  } catch {
    return false;
  }
}
