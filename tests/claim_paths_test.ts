// Claim paths (lib/claim_paths.ts): normalisation, refusals, and overlap of
// two globs decided both ways — checked against brute force: every path of
// a small universe is tried against both patterns with an independent
// matcher (a regular expression per segment, a recursive walk for `**`).

import assert from "node:assert/strict";
import {
  ClaimPathError,
  literalPattern,
  matchesPath,
  normalizeClaimPath,
  overlaps,
  parseClaimPattern,
  repoRootOf,
} from "../lib/claim_paths.ts";

const p = parseClaimPattern;

Deno.test("normalizeClaimPath() drops '.', empty segments, and the repository root of an absolute path", () => {
  assert.equal(normalizeClaimPath("./lib//a.ts", "/repo"), "lib/a.ts");
  assert.equal(normalizeClaimPath("/repo/lib/a.ts", "/repo"), "lib/a.ts");
  assert.equal(normalizeClaimPath("/repo/docs/", "/repo/"), "docs/**");
  assert.equal(normalizeClaimPath("lib/", null), "lib/**");
  assert.equal(normalizeClaimPath("lib/**/", null), "lib/**");
  assert.equal(normalizeClaimPath("a b/[x]y?.ts", null), "a b/[x]y?.ts");
});

Deno.test("normalizeClaimPath() refuses traversal, paths outside the repository and bad input", () => {
  const refused = (path: string, root: string | null, why: RegExp) =>
    assert.throws(
      () => normalizeClaimPath(path, root),
      (e) => e instanceof ClaimPathError && why.test(e.message),
      path,
    );
  refused("../etc/passwd", "/repo", /'\.\.' segment/);
  refused("lib/../../x", "/repo", /'\.\.' segment/);
  refused("lib/*/../a.ts", "/repo", /'\.\.' segment/);
  refused("/repo/../etc", "/repo", /'\.\.' segment/);
  refused("/etc/passwd", "/repo", /outside the repository/);
  refused("/repository/x", "/repo", /outside the repository/);
  refused("/repo/x", null, /absolute/);
  refused("", "/repo", /empty/);
  refused(".", "/repo", /repository root itself/);
  refused("/repo", "/repo", /repository root itself/);
  refused("a\nb", "/repo", /control character/);
  refused("a\x1b[31m", "/repo", /control character/);
  refused("a[b", "/repo", /unclosed '\['/);
  refused("a[z-a]", "/repo", /reversed range/);
  refused("x".repeat(1100), "/repo", /longer than/);
  // The message shows a control character, never prints it.
  try {
    normalizeClaimPath("a\x1bb", null);
  } catch (e) {
    assert.match((e as Error).message, /a\\x1bb/);
  }
});

Deno.test("repoRootOf() reads the repository out of <repo>/.git/c2c/mcp only", () => {
  assert.equal(repoRootOf("/home/me/proj/.git/c2c/mcp"), "/home/me/proj");
  assert.equal(repoRootOf("/home/me/proj/.git/c2c/mcp/"), "/home/me/proj");
  assert.equal(repoRootOf("/tmp/broker"), null);
  assert.equal(repoRootOf("/x/.git/c2c"), null);
});

Deno.test("overlaps() decides the documented pairs both ways", () => {
  const cases: [string, string, boolean][] = [
    ["lib/**", "lib/a.ts", true],
    ["lib/**", "lib/x/y/z.ts", true],
    ["lib/**", "lib", true], // `**` may match no segment
    ["lib/**", "libx/a.ts", false],
    ["lib/*.ts", "lib/x/*", false],
    ["lib/*.ts", "lib/*", true],
    ["lib/*.ts", "*/a.*", true],
    ["*.ts", "a*", true],
    ["*.ts", "*.md", false],
    ["a?c", "abc", true],
    ["a?c", "ac", false],
    ["[ab]x", "[bc]x", true],
    ["[ab]x", "[cd]x", false],
    ["[!a]", "a", false],
    ["[^a]", "b", true],
    ["**/test.ts", "src/**", true],
    ["**/test.ts", "src/*.md", false],
    ["**", "anything/at/all", true],
    ["a/**/b", "a/b", true],
    ["a/**/b", "a/x/y/b", true],
    ["a/**/b", "a/x/y/c", false],
    ["x/**/y/**/z", "x/y/z", true],
    ["*", "a/b", false],
    [".env", "*", true], // `*` matches a leading dot
    ["a**b", "a/b", false], // `**` inside a segment is `*`
    ["a**b", "axyb", true],
    // No segment is named '.' or '..': a name both accept must be another.
    [".*", "*.", true], // ".a."
    [".?", "?.", false], // only ".."
    ["[.]", "?", false],
    ["**", "[.]", false],
  ];
  for (const [a, b, want] of cases) {
    assert.equal(overlaps(p(a), p(b)), want, `${a} vs ${b}`);
    assert.equal(overlaps(p(b), p(a)), want, `${b} vs ${a}`);
  }
});

Deno.test("matchesPath() treats the file's own glob characters as plain", () => {
  assert.equal(matchesPath(p("lib/*.ts"), "lib/a.ts"), true);
  assert.equal(matchesPath(p("lib/*.ts"), "lib/x/a.ts"), false);
  assert.equal(matchesPath(p("a[[]1].ts"), "a[1].ts"), true);
  assert.equal(matchesPath(p("a.ts"), "*"), false);
  assert.equal(matchesPath(p("*"), "*"), true);
  assert.equal(literalPattern("a/*").segments.length, 2);
});

// ---- brute force -----------------------------------------------------------
//
// A witness path of an overlap needs at most as many segments as the two
// patterns have segments other than `**` (a segment both sides match with
// `**` can go), and each name at most a few characters. Two universes keep
// the search exhaustive and small: short patterns with rich segments (names
// of up to 3 characters, paths of up to 2 segments), and long patterns of
// one-character segments (paths of up to 6 segments). Each universe's
// alphabet has a letter no pattern names, for the negated classes.

/** Every string of `min`-`max` characters over `alphabet`. */
function strings(alphabet: string[], max: number, min = 1): string[] {
  let level = [""];
  const out: string[] = [];
  for (let n = 1; n <= max; n++) {
    level = level.flatMap((s) => alphabet.map((c) => s + c));
    if (n >= min) out.push(...level);
  }
  return out;
}

/** Every path of 1-`depth` of `names`. */
function paths(names: string[], depth: number): string[][] {
  let level: string[][] = [[]];
  const out: string[][] = [];
  for (let n = 1; n <= depth; n++) {
    level = level.flatMap((p) => names.map((x) => [...p, x]));
    out.push(...level);
  }
  return out;
}

/** A reference matcher: one RegExp per segment, recursion for `**`. */
function reference(pattern: string): (path: string[]) => boolean {
  const segments = pattern.split("/").map((s) => {
    if (s === "**") return null;
    let re = "";
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      if (c === "*") re += "[^/]*";
      else if (c === "?") re += "[^/]";
      else if (c === "[") {
        const end = s.indexOf("]", i + 2);
        let body = s.slice(i + 1, end);
        if (body[0] === "!") body = "^" + body.slice(1);
        re += `[${body.replace(/[\\\]]/g, "\\$&")}]`;
        i = end;
      } else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
    }
    return new RegExp(`^(?:${re})$`);
  });
  const walk = (pi: number, path: string[], si: number): boolean => {
    if (pi === segments.length) return si === path.length;
    const seg = segments[pi];
    if (seg === null) {
      return walk(pi + 1, path, si) ||
        (si < path.length && walk(pi, path, si + 1));
    }
    return si < path.length && seg.test(path[si]) && walk(pi + 1, path, si + 1);
  };
  return (path) => walk(0, path, 0);
}

/** A small seeded generator (mulberry32), so that a failure reproduces. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random pattern of `maxSegments`, each `**` or 1-`maxTokens` tokens. */
function randomPattern(
  random: () => number,
  tokens: readonly string[],
  maxSegments: number,
  maxTokens: number,
): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const count = 1 + Math.floor(random() * maxSegments);
  const segments: string[] = [];
  for (let i = 0; i < count; i++) {
    if (random() < 0.25) {
      segments.push("**");
      continue;
    }
    let s = "";
    const n = 1 + Math.floor(random() * maxTokens);
    for (let t = 0; t < n; t++) s += pick(tokens);
    segments.push(s === "." || s === ".." || s === "**" ? "a" : s);
  }
  return segments.join("/");
}

/**
 * Checks overlaps() on every pair of `count` generated patterns, and
 * matchesPath() on a few of them, against the reference over `universe`.
 */
function bruteForce(
  patterns: string[],
  universe: string[][],
): void {
  const hits = new Map(
    patterns.map((x) => {
      const match = reference(x);
      return [
        x,
        new Set(universe.filter(match).map((path) => path.join("/"))),
      ];
    }),
  );
  for (const x of patterns.slice(0, 30)) {
    const pattern = p(normalizeClaimPath(x, null));
    for (const path of universe) {
      const joined = path.join("/");
      assert.equal(
        matchesPath(pattern, joined),
        hits.get(x)!.has(joined),
        `${x} vs path ${joined}`,
      );
    }
  }
  let overlapping = 0;
  for (const x of patterns) {
    for (const y of patterns) {
      const a = hits.get(x)!;
      const b = hits.get(y)!;
      const want = [...a].some((path) => b.has(path));
      if (want) overlapping++;
      assert.equal(overlaps(p(x), p(y)), want, `${x} vs ${y}`);
    }
  }
  // The generator makes both answers common.
  const total = patterns.length ** 2;
  assert.ok(
    overlapping > total / 10 && overlapping < total * 0.9,
    `${overlapping} of ${total} overlap`,
  );
}

Deno.test("overlaps() and matchesPath() agree with brute force: rich segments", () => {
  const random = seeded(15);
  const tokens = ["a", ".", "*", "?", "[ab]", "[!a]", "[.b]", "[a-b]"];
  const patterns = Array.from(
    { length: 150 },
    () => randomPattern(random, tokens, 2, 2),
  );
  // Names of up to 3 of a, b, c and '.', never '.' or '..'.
  const names = strings(["a", "b", "c", "."], 3).filter((n) =>
    n !== "." && n !== ".."
  );
  bruteForce(patterns, paths(names, 2));
});

Deno.test("overlaps() and matchesPath() agree with brute force: long paths and **", () => {
  const random = seeded(16);
  const patterns = Array.from(
    { length: 150 },
    () => randomPattern(random, ["a", "b", "*", "[ab]", "[!a]"], 4, 1),
  );
  bruteForce(patterns, paths(["a", "b", "c"], 6));
});
