/**
 * Claim paths: what `claim` accepts (files and globs relative to the
 * repository root), normalised so that two spellings of one path are one
 * claim, and decided against each other: does a claim on `lib/**` touch one
 * on `lib/a.ts`? Pure: nothing here touches the disk.
 *
 * Globs follow git's rules for paths (`fnmatch` with `FNM_PATHNAME`): `*`
 * matches any run of characters within one path segment (a leading dot
 * included), `?` one character, `[abc]`, `[a-z]`, `[!a]` (or `[^a]`) one
 * character of a class, and `**` as a whole segment any number of segments,
 * none included. A trailing `/` names a directory: `lib/` is `lib/**`.
 * There is no escape character: a literal `*`, `?` or `[` is written as a
 * class (`[*]`, `[?]`, `[[]`).
 *
 * Two claims overlap when some path matches both. That is decided exactly,
 * both ways, by running the two patterns against each other (a product of
 * their automata per segment, and a walk over segments where `**` may take
 * any number of them), never by trying paths: `lib/**` overlaps `lib/a.ts`,
 * `*.ts` overlaps `a*`, `lib/*.ts` does not overlap `lib/x/*`.
 *
 * @module
 */

import { InvalidArgumentError } from "./errors.ts";

/** Longest claim path accepted, in characters (after normalisation). */
export const MAX_CLAIM_PATH_LENGTH = 1024;

/** A claim path that cannot be accepted, with the reason. */
export class ClaimPathError extends InvalidArgumentError {
  /** The path as given. */
  readonly path: string;
  /**
   * Creates the error.
   *
   * @param path The path as given.
   * @param reason What is wrong with it, and what to write instead.
   */
  constructor(path: string, reason: string) {
    super(`claim path '${printable(path)}' ${reason}`);
    this.path = path;
  }
}

/** Shows a path in an error on one line: controls as `\xNN`, cut at 200. */
function printable(path: string): string {
  const shown = String(path).replace(
    // deno-lint-ignore no-control-regex
    /[\x00-\x1f\x7f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
  return shown.length > 200 ? shown.slice(0, 200) + "…" : shown;
}

/** One character class, as sorted, disjoint code point ranges. */
type Ranges = readonly (readonly [number, number])[];

/** One step of a segment pattern: one character of a class, or `*`. */
type Token = { star: true } | { star: false; ranges: Ranges };

/** One segment of a pattern. */
type Segment =
  /** `**`: any number of segments. */
  | { globstar: true }
  /** A name or a glob within one segment (`literal` when it has no glob). */
  | { globstar: false; tokens: Token[]; literal: string | null };

/** A parsed claim path. */
export interface ClaimPattern {
  /** The normalised text (`lib/**`, `README.md`). */
  readonly text: string;
  /** Its segments. */
  readonly segments: readonly Segment[];
}

const SLASH = 0x2f;
const MAX_CODE_POINT = 0x10ffff;
/** Every character a segment may hold: all but `/`. */
const ANY: Ranges = [[0, SLASH - 1], [SLASH + 1, MAX_CODE_POINT]];

/** Sorts and merges ranges, and takes `/` out (no segment holds it). */
function tidy(ranges: [number, number][]): Ranges {
  const sorted = ranges.slice().sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = merged.at(-1);
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else merged.push([lo, hi]);
  }
  const out: [number, number][] = [];
  for (const [lo, hi] of merged) {
    if (lo <= SLASH && SLASH <= hi) {
      if (lo < SLASH) out.push([lo, SLASH - 1]);
      if (SLASH < hi) out.push([SLASH + 1, hi]);
    } else out.push([lo, hi]);
  }
  return out;
}

/** The ranges not in `ranges` (which are tidy). */
function complement(ranges: Ranges): Ranges {
  const out: [number, number][] = [];
  let next = 0;
  for (const [lo, hi] of ranges) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return tidy(out);
}

const DOT = 0x2e;

/**
 * What characters two tidy range lists share: none, only `.`, or some
 * other (with or without `.`). The dot matters because no path segment is
 * `.` or `..`: a name both patterns accept must be another one.
 */
function meet(a: Ranges, b: Ranges): { dot: boolean; other: boolean } {
  let dot = false;
  let other = false;
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length && !other) {
    const lo = Math.max(a[i][0], b[j][0]);
    const hi = Math.min(a[i][1], b[j][1]);
    if (lo <= hi) {
      if (lo <= DOT && DOT <= hi) {
        dot = true;
        if (hi > lo) other = true;
      } else other = true;
    }
    if (a[i][1] < b[j][1]) i++;
    else j++;
  }
  return { dot, other };
}

const GLOB_CHARS = /[*?[]/;

/**
 * Parses one segment (never empty, never containing `/`).
 *
 * @throws {ClaimPathError} On an unclosed or empty class.
 */
function parseSegment(segment: string, whole: string): Segment {
  if (segment === "**") return { globstar: true };
  const chars = [...segment];
  if (!GLOB_CHARS.test(segment)) {
    return {
      globstar: false,
      literal: segment,
      tokens: chars.map((c) => {
        const code = c.codePointAt(0)!;
        return { star: false, ranges: [[code, code]] };
      }),
    };
  }
  const tokens: Token[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c === "*") {
      // `**` inside a segment (`a**b`) is an ordinary `*`, as in git.
      if (!tokens.at(-1)?.star) tokens.push({ star: true });
    } else if (c === "?") {
      tokens.push({ star: false, ranges: ANY });
    } else if (c === "[") {
      const [ranges, end] = parseClass(chars, i, whole);
      tokens.push({ star: false, ranges });
      i = end;
    } else {
      const code = c.codePointAt(0)!;
      tokens.push({ star: false, ranges: [[code, code]] });
    }
  }
  return { globstar: false, literal: null, tokens };
}

/** Parses the class opening at `chars[start]`; returns it and its `]`. */
function parseClass(
  chars: readonly string[],
  start: number,
  whole: string,
): [Ranges, number] {
  let i = start + 1;
  const negated = chars[i] === "!" || chars[i] === "^";
  if (negated) i++;
  const ranges: [number, number][] = [];
  let first = true;
  for (; i < chars.length; i++) {
    const c = chars[i];
    if (c === "]" && !first) {
      const set = tidy(ranges);
      const out = negated ? complement(set) : set;
      if (out.length === 0) {
        throw new ClaimPathError(whole, "has a class that matches nothing");
      }
      return [out, i];
    }
    first = false;
    const lo = c.codePointAt(0)!;
    if (chars[i + 1] === "-" && i + 2 < chars.length && chars[i + 2] !== "]") {
      const hi = chars[i + 2].codePointAt(0)!;
      if (hi < lo) {
        throw new ClaimPathError(
          whole,
          `has a reversed range '${c}-${chars[i + 2]}' in a class`,
        );
      }
      ranges.push([lo, hi]);
      i += 2;
    } else {
      ranges.push([lo, lo]);
    }
  }
  throw new ClaimPathError(
    whole,
    "has an unclosed '[' (write '[[]' for a literal '[')",
  );
}

/**
 * Parses a normalised claim path (see {@linkcode normalizeClaimPath}).
 *
 * @param text The normalised path.
 * @returns The pattern.
 * @throws {ClaimPathError} When a class is malformed.
 */
export function parseClaimPattern(text: string): ClaimPattern {
  return {
    text,
    segments: text.split("/").map((s) => parseSegment(s, text)),
  };
}

/**
 * A concrete path (a staged file) as a pattern that matches only itself:
 * its `*`, `?` and `[` are plain characters.
 *
 * @param path A repository-relative file path, as git prints it.
 * @returns The pattern.
 */
export function literalPattern(path: string): ClaimPattern {
  return {
    text: path,
    segments: path.split("/").filter((s) => s !== "").map((s) => ({
      globstar: false,
      literal: s,
      tokens: [...s].map((c) => {
        const code = c.codePointAt(0)!;
        return { star: false, ranges: [[code, code]] as Ranges };
      }),
    })),
  };
}

/**
 * Normalises a claim path given by a caller: relative to the repository
 * root, or absolute inside it; `.` and empty segments dropped; a trailing
 * `/` becomes `/**`. `..` is refused anywhere (a glob segment before it
 * would leave its meaning undecidable, and no claim needs it), as are paths
 * outside the repository, control characters, and malformed classes.
 *
 * @param input The path or glob as given.
 * @param repoRoot Absolute path of the repository root, or `null` when not
 * known (then only relative paths are accepted).
 * @returns The normalised, repository-relative path.
 * @throws {ClaimPathError} When the path cannot be a claim.
 *
 * @example Usage
 * ```ts
 * import { normalizeClaimPath } from "./claim_paths.ts";
 * normalizeClaimPath("./lib//a.ts", "/repo"); // "lib/a.ts"
 * normalizeClaimPath("/repo/docs/", "/repo"); // "docs/**"
 * ```
 */
export function normalizeClaimPath(
  input: string,
  repoRoot: string | null,
): string {
  if (typeof input !== "string" || input.length === 0) {
    throw new ClaimPathError(String(input ?? ""), "is empty");
  }
  if (input.length > MAX_CLAIM_PATH_LENGTH * 4) {
    throw new ClaimPathError(
      input,
      `is longer than ${MAX_CLAIM_PATH_LENGTH} characters`,
    );
  }
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(input)) {
    throw new ClaimPathError(input, "has a control character");
  }
  let rest = input;
  if (input.startsWith("/")) {
    if (repoRoot === null) {
      throw new ClaimPathError(
        input,
        "is absolute, and the repository root is not known here; give it relative to the repository root",
      );
    }
    const root = repoRoot.replace(/\/+$/, "");
    const inside = input.startsWith(root + "/") || input === root;
    if (!inside) {
      throw new ClaimPathError(
        input,
        `is outside the repository (${root}); claims are about files in it`,
      );
    }
    rest = input.slice(root.length);
  }
  const directory = rest.endsWith("/");
  const segments = rest.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.includes("..")) {
    throw new ClaimPathError(
      input,
      "has a '..' segment; give the path from the repository root, without '..'",
    );
  }
  if (directory && segments.at(-1) !== "**") segments.push("**");
  if (segments.length === 0) {
    throw new ClaimPathError(
      input,
      "names the repository root itself; claim '**' to claim every file",
    );
  }
  const text = segments.join("/");
  if (text.length > MAX_CLAIM_PATH_LENGTH) {
    throw new ClaimPathError(
      input,
      `is longer than ${MAX_CLAIM_PATH_LENGTH} characters`,
    );
  }
  parseClaimPattern(text); // refuses malformed classes now, not at use
  return text;
}

/** Whether two segment patterns share a non-empty name. */
function segmentsMeet(a: Segment, b: Segment): boolean {
  // `**` takes any name the other accepts (a name is never `.` or `..`).
  if (a.globstar) return b.globstar || b.literal !== null || names(b.tokens);
  if (b.globstar) return a.literal !== null || names(a.tokens);
  if (a.literal !== null && b.literal !== null) return a.literal === b.literal;
  return tokensMeet(a.tokens, b.tokens);
}

/**
 * Whether two token lists accept a common name (non-empty, neither `.` nor
 * `..`): a walk over the product of the two automata, with state (position
 * in `a`, position in `b`, the name so far: empty, `.`, `..` or another).
 */
function tokensMeet(a: readonly Token[], b: readonly Token[]): boolean {
  const width = b.length + 1;
  const seen = new Uint8Array((a.length + 1) * width * 4);
  const stack: number[] = [];
  const push = (i: number, j: number, name: number) => {
    const key = (i * width + j) * 4 + name;
    if (seen[key]) return;
    seen[key] = 1;
    stack.push(i, j, name);
  };
  push(0, 0, NAME_EMPTY);
  while (stack.length > 0) {
    const name = stack.pop()!;
    const j = stack.pop()!;
    const i = stack.pop()!;
    if (i === a.length && j === b.length && name === NAME_OTHER) return true;
    const ta = a[i];
    const tb = b[j];
    // A star may also match nothing.
    if (ta?.star) push(i + 1, j, name);
    if (tb?.star) push(i, j + 1, name);
    if (ta === undefined || tb === undefined) continue;
    const shared = meet(ta.star ? ANY : ta.ranges, tb.star ? ANY : tb.ranges);
    // Take one character both accept: a star stays where it is.
    const ni = ta.star ? i : i + 1;
    const nj = tb.star ? j : j + 1;
    if (shared.dot) {
      push(
        ni,
        nj,
        name === NAME_EMPTY
          ? NAME_DOT
          : name === NAME_DOT
          ? NAME_DOTDOT
          : NAME_OTHER,
      );
    }
    if (shared.other) push(ni, nj, NAME_OTHER);
  }
  return false;
}

const STAR: readonly Token[] = [{ star: true }];

/** Whether a segment glob accepts any name at all. */
function names(tokens: readonly Token[]): boolean {
  return tokensMeet(tokens, STAR);
}
const NAME_EMPTY = 0;
const NAME_DOT = 1;
const NAME_DOTDOT = 2;
const NAME_OTHER = 3;

/**
 * Whether some path matches both patterns (a claim on one touches the
 * other). Symmetric.
 *
 * @param a One pattern.
 * @param b The other.
 * @returns `true` when they overlap.
 *
 * @example Usage
 * ```ts
 * import { overlaps, parseClaimPattern } from "./claim_paths.ts";
 * overlaps(parseClaimPattern("lib/**"), parseClaimPattern("lib/a.ts")); // true
 * overlaps(parseClaimPattern("lib/*.ts"), parseClaimPattern("lib/x/*")); // false
 * ```
 */
export function overlaps(a: ClaimPattern, b: ClaimPattern): boolean {
  if (a.text === b.text) return true;
  const sa = a.segments;
  const sb = b.segments;
  const width = sb.length + 1;
  const seen = new Uint8Array((sa.length + 1) * width);
  const stack: number[] = [0, 0];
  seen[0] = 1;
  const push = (i: number, j: number) => {
    const key = i * width + j;
    if (seen[key]) return;
    seen[key] = 1;
    stack.push(i, j);
  };
  while (stack.length > 0) {
    const j = stack.pop()!;
    const i = stack.pop()!;
    if (i === sa.length && j === sb.length) return true;
    const x = sa[i];
    const y = sb[j];
    // `**` may match no segment at all…
    if (x?.globstar) push(i + 1, j);
    if (y?.globstar) push(i, j + 1);
    if (x === undefined || y === undefined) continue;
    // …or the next one, staying put to take more.
    if (x.globstar && y.globstar) continue; // covered by the two above
    if (!segmentsMeet(x, y)) continue;
    if (x.globstar) push(i, j + 1);
    else if (y.globstar) push(i + 1, j);
    else push(i + 1, j + 1);
  }
  return false;
}

/**
 * Whether a concrete path (a file git reports) falls under a claim.
 *
 * @param pattern The claim.
 * @param path A repository-relative file path.
 * @returns `true` when the claim covers the file.
 *
 * @example Usage
 * ```ts
 * import { matchesPath, parseClaimPattern } from "./claim_paths.ts";
 * matchesPath(parseClaimPattern("lib/*.ts"), "lib/a.ts"); // true
 * matchesPath(parseClaimPattern("lib/*.ts"), "lib/x/a.ts"); // false
 * ```
 */
export function matchesPath(pattern: ClaimPattern, path: string): boolean {
  return overlaps(pattern, literalPattern(path));
}

/**
 * Derives the repository root from a broker root of the usual shape
 * `<repository>/.git/c2c/mcp`, so that neither the server nor the CLI needs
 * to run git for it (their permissions do not allow it). For a linked
 * worktree this is the main worktree's root: claims are kept per
 * repository, and repository-relative paths are the same in every worktree.
 *
 * @param brokerRoot The broker root.
 * @returns The repository root, or `null` for a broker root of another
 * shape (`C2C_MCP_BROKER_ROOT` set elsewhere): then only relative paths are
 * accepted.
 *
 * @example Usage
 * ```ts
 * import { repoRootOf } from "./claim_paths.ts";
 * repoRootOf("/home/me/proj/.git/c2c/mcp"); // "/home/me/proj"
 * repoRootOf("/tmp/broker"); // null
 * ```
 */
export function repoRootOf(brokerRoot: string): string | null {
  const match = /^(\/.*?)\/\.git\/c2c\/mcp\/?$/.exec(brokerRoot);
  if (match) return match[1];
  return brokerRoot === "/.git/c2c/mcp" ? "/" : null;
}
