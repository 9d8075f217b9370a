/**
 * Merge rules shared by the client modules: add the c2c entry if absent,
 * leave it if identical, refuse (or, with `--force`, replace) if different;
 * the same for c2c's hook groups, recognised by their command.
 *
 * @module
 */

import type { JsonDocument, JsonPath } from "./json_edit.ts";
import { SetupConflictError } from "./errors.ts";
import { HOOK_MARKER } from "./launch.ts";

/**
 * Deep equality of JSON data (object key order ignored).
 *
 * @param a One value.
 * @param b Another.
 * @returns Whether they are equal.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || !a || !b) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => jsonEqual(x, bb[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length &&
    ka.every((k) =>
      jsonEqual(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
      )
    );
}

/**
 * Puts `desired` at `path` unless an identical value is there.
 *
 * @param doc The document.
 * @param path Where the c2c entry lives.
 * @param desired What it should be.
 * @param force Replace a differing entry instead of refusing.
 * @param summary Collects what changed.
 * @throws {SetupConflictError} When a different entry exists and not `force`.
 */
export function putEntry(
  doc: JsonDocument,
  path: JsonPath,
  desired: unknown,
  force: boolean,
  summary: string[],
): void {
  const current = doc.get(path);
  if (current === undefined) {
    doc.set(path, desired);
    summary.push(`add ${path.join(".")}`);
  } else if (!jsonEqual(current, desired)) {
    if (!force) throw new SetupConflictError(doc.file, path.join("."));
    doc.set(path, desired);
    summary.push(`replace ${path.join(".")}`);
  }
}

/**
 * Removes the entry at `path` (and parents it leaves empty).
 *
 * @param doc The document.
 * @param path The c2c entry.
 * @param summary Collects what changed.
 */
export function dropEntry(
  doc: JsonDocument,
  path: JsonPath,
  summary: string[],
): void {
  if (doc.remove(path)) summary.push(`remove ${path.join(".")}`);
}

/** Whether a hook group (`{matcher?, hooks: [{command}]}`) is c2c's. */
export function isC2cHookGroup(group: unknown): boolean {
  const hooks = (group as { hooks?: unknown })?.hooks;
  return Array.isArray(hooks) &&
    hooks.some((h) =>
      typeof h?.command === "string" && h.command.includes(HOOK_MARKER)
    );
}

/**
 * Ensures the hook array at `path` holds exactly one c2c group, `desired`.
 *
 * @param doc The document.
 * @param path The event's array (e.g. `["hooks", "PostToolUse"]`).
 * @param desired The c2c group.
 * @param force Replace differing c2c groups instead of refusing.
 * @param summary Collects what changed.
 * @throws {SetupConflictError} When a different c2c group exists and not `force`.
 */
export function putHookGroup(
  doc: JsonDocument,
  path: JsonPath,
  desired: unknown,
  force: boolean,
  summary: string[],
): void {
  const current = doc.get(path);
  if (current !== undefined && !Array.isArray(current)) {
    if (!force) throw new SetupConflictError(doc.file, path.join("."));
  }
  const groups = Array.isArray(current) ? current : [];
  const ours = groups.map((g, i) => [g, i] as const).filter(([g]) =>
    isC2cHookGroup(g)
  );
  if (ours.length === 1 && jsonEqual(ours[0][0], desired)) return;
  if (ours.length > 0) {
    if (!force) {
      throw new SetupConflictError(doc.file, `c2c hook in ${path.join(".")}`);
    }
    for (const [, i] of ours.reverse()) doc.remove([...path, i], false);
  }
  doc.add(path, desired);
  summary.push(
    `${ours.length ? "replace" : "add"} c2c hook in ${path.join(".")}`,
  );
}

/**
 * Removes every c2c group from the hook array at `path`.
 *
 * @param doc The document.
 * @param path The event's array.
 * @param summary Collects what changed.
 */
export function dropHookGroups(
  doc: JsonDocument,
  path: JsonPath,
  summary: string[],
): void {
  const current = doc.get(path);
  if (!Array.isArray(current)) return;
  const indexes = current.flatMap((g, i) => (isC2cHookGroup(g) ? [i] : []));
  for (const i of indexes.reverse()) doc.remove([...path, i]);
  if (indexes.length) summary.push(`remove c2c hook from ${path.join(".")}`);
}

/**
 * A hook group running `command` (Claude Code and Codex share this shape).
 *
 * @param command The hook command.
 * @param matcher Tool matcher (`*`: every tool); omit for events without one.
 * @returns `{matcher?, hooks: [{type: "command", command, timeout}]}`.
 */
export function commandHookGroup(
  command: string,
  matcher?: string,
): Record<string, unknown> {
  const hooks = [{ type: "command", command, timeout: 10 }];
  return matcher === undefined ? { hooks } : { matcher, hooks };
}
