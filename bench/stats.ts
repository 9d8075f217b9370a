/**
 * Summary statistics of latency samples: percentiles, mean, throughput.
 *
 * @module
 */

/** What {@linkcode summarize} computes from a list of durations (ms). */
export interface Summary {
  /** Number of samples. */
  n: number;
  /** Smallest sample, ms. */
  min: number;
  /** Median, ms. */
  p50: number;
  /** 95th percentile, ms. */
  p95: number;
  /** 99th percentile, ms. */
  p99: number;
  /** Largest sample, ms. */
  max: number;
  /** Arithmetic mean, ms. */
  mean: number;
  /** Operations per second at the mean latency (one at a time). */
  opsPerSec: number;
}

/**
 * The `p`-th percentile of already sorted values, by the nearest-rank method:
 * always a value that was actually observed, never an interpolation.
 *
 * @param sorted Values in ascending order (not empty).
 * @param p Percentile, 0–100.
 * @returns The value at that rank.
 *
 * @example Usage
 * ```ts
 * import { percentile } from "./stats.ts";
 * percentile([1, 2, 3, 4], 50); // 2
 * ```
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError("no samples");
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/**
 * Summarizes durations in milliseconds.
 *
 * @param samples Durations, ms, in any order (not empty).
 * @returns Percentiles, mean and the implied one-at-a-time rate.
 *
 * @example Usage
 * ```ts
 * import { summarize } from "./stats.ts";
 * summarize([0.2, 0.3, 0.25]).p50; // 0.25
 * ```
 */
export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, x) => sum + x, 0) / sorted.length;
  return {
    n: sorted.length,
    min: sorted[0],
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1],
    mean,
    opsPerSec: mean > 0 ? 1000 / mean : Infinity,
  };
}

/**
 * The median of a few numbers (e.g. repeated throughput runs).
 *
 * @param values Values in any order (not empty).
 * @returns Their median (the lower middle for an even count).
 */
export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}
