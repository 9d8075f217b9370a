/**
 * What a session tells its peers about itself in `list`: a one-line status
 * (`set_status`: what I am working on), and where it works — its working
 * directory and git branch, recorded when it registers
 * (docs/design.md#conversations).
 *
 * Every field is one bounded, terminal-inert line whoever wrote it: a peer
 * reads them in a table, and a registry row may have been written by a
 * hostile process.
 *
 * @module
 */

import { readTextOrNull } from "./_fs.ts";
import { absolutePath, joinPath } from "./_path.ts";
import { InvalidArgumentError } from "./errors.ts";

/** Longest status, in characters. */
export const MAX_STATUS_LENGTH = 120;
/** Longest working directory recorded, in characters. */
export const MAX_CWD_LENGTH = 1024;
/** Longest branch name recorded, in characters. */
export const MAX_BRANCH_LENGTH = 256;

// Controls, invisible format characters (bidi overrides, zero-width), line
// and paragraph separators, lone surrogates: nothing that moves a cursor,
// starts a line or reorders a table cell.
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

/**
 * Makes a value one inert line of at most `max` characters, or `undefined`
 * when it is not a non-empty string.
 *
 * @param value Anything (a registry row's field).
 * @param max Longest result, in UTF-16 code units.
 * @returns The line.
 *
 * @example Usage
 * ```ts
 * import { oneLine } from "./status.ts";
 * oneLine("fixing\nthe \x1b[2Jbuild", 120); // "fixing the [2Jbuild"
 * ```
 */
export function oneLine(value: unknown, max: number): string | undefined {
  if (typeof value !== "string") return undefined;
  const line = value.replace(UNSAFE, " ").replace(/ {2,}/g, " ").trim();
  if (line.length === 0) return undefined;
  return line.length > max ? line.slice(0, max) : line;
}

/**
 * Checks a status to set: one line, at most {@linkcode MAX_STATUS_LENGTH}
 * characters once control characters became spaces; `""` clears.
 *
 * @param status What the session says it does.
 * @returns The status to store (`null`: clear it).
 * @throws {InvalidArgumentError} When not a string, or too long.
 */
export function checkStatus(status: unknown): string | null {
  if (typeof status !== "string") {
    throw new InvalidArgumentError("status must be a string ('' clears it)");
  }
  const line = oneLine(status, Infinity);
  if (line === undefined) return null;
  if ([...line].length > MAX_STATUS_LENGTH) {
    throw new InvalidArgumentError(
      `status is ${
        [...line].length
      } characters; say it in at most ${MAX_STATUS_LENGTH} (one line: what you are working on)`,
    );
  }
  return line;
}

/**
 * The git branch checked out in `dir` (or the repository above it), read
 * from `HEAD` without running git: `.git` as a directory, or as the file a
 * worktree has (`gitdir: …`). `undefined` when there is none, HEAD is
 * detached, or it cannot be read (permissions: the MCP server may read
 * only the broker root; its launcher passes the branch instead).
 *
 * Requires `--allow-read` on the repository's `.git` (else `undefined`).
 *
 * @param dir A directory.
 * @returns The branch name.
 */
export function readGitBranch(dir: string): string | undefined {
  try {
    for (let at = dir, i = 0; i < 64; i++) {
      const dotGit = joinPath(at, ".git");
      const head = readTextOrNull(joinPath(dotGit, "HEAD")) ??
        headOfWorktree(at, dotGit);
      if (head !== null) {
        const ref = head.match(/^ref: refs\/heads\/(.+)$/m)?.[1];
        return oneLine(ref, MAX_BRANCH_LENGTH);
      }
      const up = joinPath(at, "..");
      if (up === at) return undefined;
      at = up;
    }
  } catch {
    // unreadable: no branch recorded
  }
  return undefined;
}

/** `HEAD` of the worktree whose `.git` is a `gitdir:` file, or `null`. */
function headOfWorktree(dir: string, dotGit: string): string | null {
  let text: string | null;
  try {
    text = readTextOrNull(dotGit);
  } catch {
    return null; // a directory (no HEAD in it), or unreadable
  }
  const gitDir = text?.match(/^gitdir: (.+)$/m)?.[1]?.trim();
  if (!gitDir) return null;
  return readTextOrNull(joinPath(absolutePath(dir, gitDir), "HEAD"));
}

/**
 * Where a session works: the process's working directory (for the MCP
 * server, its client's), and the git branch there — from
 * `C2C_MCP_GIT_BRANCH`, which `bin/c2c-mcp` sets (the server may read only
 * the broker root), else read from `.git` when permitted. Never fails: a
 * field it cannot tell is left out.
 *
 * @param env Environment reader.
 * @returns Working directory and branch, when known.
 */
export function sessionPlace(
  env: (name: string) => string | undefined,
): { cwd?: string; git_branch?: string } {
  const place: { cwd?: string; git_branch?: string } = {};
  try {
    place.cwd = Deno.cwd();
  } catch {
    return place; // the directory is gone, or not permitted
  }
  const branch = env("C2C_MCP_GIT_BRANCH") || readGitBranch(place.cwd);
  if (branch) place.git_branch = branch;
  return place;
}
