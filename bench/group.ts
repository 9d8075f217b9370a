/**
 * The shape every benchmark group has, so that new groups (MCP server, CLI,
 * hook, wake, memory) plug into `bench/main.ts` by being added to its list.
 *
 * @module
 */

import type { Table } from "./table.ts";

/** Options passed to every group. */
export interface BenchOptions {
  /** Fewer samples and smaller sizes: the whole run stays under a minute. */
  quick: boolean;
}

/**
 * A benchmark group: a name to select it with `--only`, and a function that
 * measures and returns its tables. A group cleans up after itself (temp
 * directories, child processes) before its promise settles.
 *
 * @example A minimal group
 * ```ts
 * import type { BenchGroup } from "./group.ts";
 * export const echoGroup: BenchGroup = {
 *   name: "echo",
 *   title: "Echo",
 *   run: () => Promise.resolve([{ title: "nothing", columns: ["a"], rows: [["1"]] }]),
 * };
 * ```
 */
export interface BenchGroup {
  /** Short id used by `--only` (lowercase, `_` for spaces). */
  name: string;
  /** Section heading in the report. */
  title: string;
  /** Measures and returns one or more tables. */
  run(options: BenchOptions): Promise<Table[]>;
}
