/**
 * Aliases: the handles agents address each other by. Validation, reserved
 * names, and deterministic two-word generation (`storm-beacon`).
 *
 * @module
 */

import { ALIAS_WORDS } from "./alias_words.ts";
import { InvalidAliasError, ReservedAliasError } from "./errors.ts";

/** Aliases no session may take: they name the broker itself. */
export const RESERVED_ALIASES: readonly string[] = [
  "c2c",
  "c2c-system",
  "broker",
];

const ALIAS = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/**
 * Returns `alias` if it is a valid, unreserved alias; throws otherwise.
 *
 * Valid: 1–64 of `[a-z0-9._-]`, starting with a letter or digit. Capitals are
 * rejected with the lowercase form suggested, so two agents can never hold
 * aliases that differ only in case.
 *
 * @param alias Candidate alias.
 * @returns The same alias.
 * @throws {InvalidAliasError} On a malformed alias.
 * @throws {ReservedAliasError} On `c2c`, `c2c-system` or `broker`.
 *
 * @example Usage
 * ```ts
 * import { validateAlias } from "./alias.ts";
 * validateAlias("storm-beacon"); // "storm-beacon"
 * ```
 */
export function validateAlias(alias: string): string {
  if (typeof alias !== "string" || alias.length === 0) {
    throw new InvalidAliasError(String(alias ?? ""), "it is empty");
  }
  if (alias.length > 64) {
    throw new InvalidAliasError(
      alias.slice(0, 80),
      "it is longer than 64 characters",
    );
  }
  if (!ALIAS.test(alias)) {
    const lower = alias.toLowerCase();
    if (ALIAS.test(lower)) {
      throw new InvalidAliasError(
        alias,
        `aliases are lowercase; use '${lower}'`,
      );
    }
    throw new InvalidAliasError(
      alias,
      "use a-z, 0-9, '.', '_' and '-', starting with a letter or digit",
    );
  }
  if (RESERVED_ALIASES.includes(alias)) throw new ReservedAliasError(alias);
  return alias;
}

/** 32-bit FNV-1a: a stable, dependency-free hash of the session id. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * Generates a two-word alias from `seed` (a session id): the same seed always
 * gives the same first choice; taken aliases are skipped.
 *
 * @param seed Usually the session id.
 * @param isTaken Whether an alias is already held.
 * @returns A free alias such as `storm-beacon`.
 *
 * @example Usage
 * ```ts
 * import { generateAlias } from "./alias.ts";
 * const alias = generateAlias("session-1", () => false);
 * alias === generateAlias("session-1", () => false); // true
 * ```
 */
export function generateAlias(
  seed: string,
  isTaken: (alias: string) => boolean,
): string {
  const n = ALIAS_WORDS.length;
  const pairs = n * (n - 1);
  const start = fnv1a(seed) % pairs;
  for (let i = 0; i < pairs; i++) {
    const k = (start + i) % pairs;
    const first = Math.floor(k / (n - 1));
    let second = k % (n - 1);
    if (second >= first) second++;
    const alias = `${ALIAS_WORDS[first]}-${ALIAS_WORDS[second]}`;
    if (!isTaken(alias)) return alias;
  }
  return suggestAlias(`${ALIAS_WORDS[0]}-${ALIAS_WORDS[1]}`, isTaken);
}

/**
 * Suggests a free variant of a taken alias: `name-2`, `name-3`, …
 *
 * @param alias The taken alias.
 * @param isTaken Whether an alias is already held.
 * @returns The first free variant.
 */
export function suggestAlias(
  alias: string,
  isTaken: (alias: string) => boolean,
): string {
  const base = alias.slice(0, 60);
  for (let i = 2;; i++) {
    const candidate = `${base}-${i}`;
    if (!isTaken(candidate)) return candidate;
  }
}
