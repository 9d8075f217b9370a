/**
 * Durations as people type them on a command line (`90s`, `30m`, `24h`,
 * `7d`), for `broker-gc --interval` and its TTL flags. Pure.
 *
 * @module
 */

import { InvalidArgumentError } from "./errors.ts";

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)?$/;

/**
 * Parses a duration: a number with an optional unit `ms`, `s`, `m`, `h`, `d`
 * or `w`. A bare number is seconds, the unit a person expects of
 * `--interval 60`.
 *
 * @param text The duration, e.g. `"90"`, `"30m"`, `"7d"`.
 * @param name What it is for, used in the error (e.g. `--ttl`).
 * @returns The duration in milliseconds.
 * @throws {InvalidArgumentError} When `text` is not a duration.
 *
 * @example Usage
 * ```ts
 * import { parseDuration } from "./duration.ts";
 * parseDuration("90", "--interval"); // 90000
 * parseDuration("7d", "--dead-letter-ttl"); // 604800000
 * ```
 */
export function parseDuration(text: string, name: string): number {
  const match = DURATION.exec(text.trim());
  if (!match) {
    throw new InvalidArgumentError(
      `${name} must be a duration like 90, 90s, 30m, 24h or 7d (a bare number is seconds), got '${text}'`,
    );
  }
  return Math.round(Number(match[1]) * UNIT_MS[match[2] ?? "s"]);
}

/**
 * Formats milliseconds in the largest unit that divides them evenly, the
 * inverse of {@linkcode parseDuration} for round values.
 *
 * @param ms Milliseconds.
 * @returns E.g. `"24h"`, `"90s"`, `"1500ms"`.
 *
 * @example Usage
 * ```ts
 * import { formatDuration } from "./duration.ts";
 * formatDuration(86_400_000); // "1d"
 * ```
 */
export function formatDuration(ms: number): string {
  for (const unit of ["w", "d", "h", "m", "s"]) {
    const size = UNIT_MS[unit];
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
