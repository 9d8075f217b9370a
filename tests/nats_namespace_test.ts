// The namespace (C2C_BROKER_NAMESPACE, else the normalised origin remote,
// else "default") and the injective name encoding, property-tested.

import assert from "node:assert/strict";
import { C2cError, NatsConfigError } from "../lib/errors.ts";
import {
  checkNamespace,
  decodeName,
  encodeName,
  MAX_ENCODED_NAMESPACE,
  normalizeRemote,
  resolveNamespace,
  subjectPrefix,
} from "../lib/store/nats/namespace.ts";

// A small seeded generator, so a failure names a reproducible case.
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Characters that matter: kept ones, the escape itself, NATS specials,
// controls, non-ASCII in every UTF-8 length, and U+FEFF (a BOM).
const ALPHABET = [
  ..."aZ09_-=.*> /:%@\t\n\0\x7f",
  "é",
  "ä",
  "\u2028",
  "\ufeff",
  "漢",
  "😀",
  "\u{10ffff}",
];

function randomName(next: () => number): string {
  const length = 1 + Math.floor(next() * 12);
  let out = "";
  for (let i = 0; i < length; i++) {
    out += next() < 0.1
      ? String.fromCodePoint(Math.floor(next() * 0x110000))
      : ALPHABET[Math.floor(next() * ALPHABET.length)];
  }
  return out;
}

Deno.test("encodeName() keeps [A-Za-z0-9_-] and writes every other byte =XX", () => {
  assert.equal(encodeName("my.room"), "my=2Eroom");
  assert.equal(encodeName("a..b"), "a=2E=2Eb");
  assert.equal(encodeName("Lobby_1-x"), "Lobby_1-x");
  assert.equal(encodeName("="), "=3D");
  assert.equal(encodeName("*>"), "=2A=3E");
  assert.equal(encodeName("ä"), "=C3=A4");
  assert.equal(encodeName("😀"), "=F0=9F=98=80");
  assert.equal(
    subjectPrefix("github.com/org/repo"),
    "c2c.github=2Ecom=2Forg=2Frepo",
  );
});

Deno.test("encodeName() is injective and decodeName() inverts it (property, 20,000 cases)", () => {
  const next = random(20240613);
  const seen = new Map<string, string>();
  for (let i = 0; i < 20_000; i++) {
    const name = randomName(next);
    if (!name.isWellFormed()) continue;
    const encoded = encodeName(name);
    assert.match(encoded, /^[A-Za-z0-9_=-]+$/, JSON.stringify(name));
    assert.equal(decodeName(encoded), name, JSON.stringify(name));
    const other = seen.get(encoded);
    assert.ok(other === undefined || other === name, JSON.stringify(name));
    seen.set(encoded, name);
  }
});

Deno.test("decodeName() accepts only encodeName() output (property: encode(decode(t)) === t)", () => {
  const next = random(7);
  const tokenChars = [..."aZ09_-=", ..."0123456789ABCDEFabcdef", ".", "*"];
  let accepted = 0;
  for (let i = 0; i < 20_000; i++) {
    const length = 1 + Math.floor(next() * 10);
    let token = "";
    for (let j = 0; j < length; j++) {
      token += tokenChars[Math.floor(next() * tokenChars.length)];
    }
    let decoded: string;
    try {
      decoded = decodeName(token);
    } catch (e) {
      assert.ok(e instanceof C2cError && e.code === "invalid_argument");
      continue;
    }
    accepted++;
    assert.equal(encodeName(decoded), token, token);
  }
  assert.ok(accepted > 1000, `only ${accepted} tokens decoded`);
});

Deno.test("decodeName() rejects non-canonical and broken encodings", () => {
  for (
    const token of [
      "",
      "a=2e", // lower-case hex
      "=41", // escapes a kept character
      "a=2", // truncated
      "a.b", // raw separator
      "=C3", // incomplete UTF-8
      "=ED=A0=80", // an encoded surrogate
      "=C0=AE", // overlong '.'
    ]
  ) {
    assert.throws(() => decodeName(token), C2cError, token);
  }
  assert.equal(decodeName("=EF=BB=BFa"), "\ufeffa"); // a BOM is kept
});

Deno.test("encodeName() refuses an empty or ill-formed name", () => {
  assert.throws(() => encodeName(""), C2cError);
  assert.throws(() => encodeName("a\ud800"), /lone surrogate/);
});

Deno.test("normalizeRemote() gives one form for every way to clone a repository", () => {
  const same = [
    "git@github.com:Org/Repo.git",
    "git@github.com:org/repo",
    "https://github.com/org/repo",
    "https://github.com/org/repo.git",
    "https://user:ghp_secret@GitHub.com/org/repo.git/",
    "http://github.com:80/org/repo",
    "ssh://git@github.com/org/repo.git",
    "ssh://git@github.com:22/org/repo.git",
    "git://github.com/org/repo.git",
    "git+ssh://git@github.com/org//repo",
    " git@github.com:org/repo.git\n",
  ];
  for (const remote of same) {
    assert.equal(normalizeRemote(remote), "github.com/org/repo", remote);
  }
  assert.equal(
    normalizeRemote("https://gitlab.example.com/group/sub/repo.git"),
    "gitlab.example.com/group/sub/repo",
  );
  assert.equal(normalizeRemote("ssh://git@[::1]:2222/x/y.git"), "::1/x/y");
  assert.equal(normalizeRemote("/srv/git/Repo.git"), "/srv/git/repo");
  assert.equal(normalizeRemote("file:///srv/git/repo.git"), "/srv/git/repo");
  for (const bad of ["", "../repo", "repo", "https://host/", "a\x1bb:c/d"]) {
    assert.equal(normalizeRemote(bad), undefined, bad);
  }
});

Deno.test("checkNamespace() refuses blank, control characters and too long", () => {
  assert.equal(checkNamespace("team/ä"), "team/ä");
  for (
    const [value, pattern] of [
      [" ", /is blank/],
      ["a\x1b[2Jb", /control character/],
      ["a\nb", /control character/],
      ["x".repeat(MAX_ENCODED_NAMESPACE + 1), /too long/],
      [".".repeat(34), /too long \(102 characters once encoded/],
    ] as const
  ) {
    assert.throws(() => checkNamespace(value), (error: unknown) => {
      assert.ok(error instanceof NatsConfigError);
      assert.match(error.message, /^C2C_BROKER_NAMESPACE: /);
      assert.match(error.message, pattern);
      assert.equal(error.message.includes("\x1b"), false);
      return true;
    });
  }
});

async function git(cwd: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command("git", {
    args,
    cwd,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
}

Deno.test("resolveNamespace() takes C2C_BROKER_NAMESPACE, else origin, else default", async () => {
  const dir = await Deno.makeTempDir({ prefix: "c2c-ns-" });
  try {
    const a = `${dir}/a`;
    const b = `${dir}/b`;
    const plain = `${dir}/plain`;
    for (const d of [a, b, plain]) {
      await Deno.mkdir(d);
      await git(d, "init", "-q");
    }
    await git(a, "remote", "add", "origin", "git@github.com:Org/Repo.git");
    await git(b, "remote", "add", "origin", "https://github.com/org/repo");
    await git(plain, "remote", "add", "upstream", "git@github.com:x/y.git");

    const fromA = await resolveNamespace({ env: "", cwd: a });
    const fromB = await resolveNamespace({ env: "", cwd: b });
    assert.deepEqual(fromA, {
      namespace: "github.com/org/repo",
      encoded: "github=2Ecom=2Forg=2Frepo",
      source: "origin",
    });
    assert.deepEqual(fromB, fromA);
    assert.deepEqual(await resolveNamespace({ env: "", cwd: plain }), {
      namespace: "default",
      encoded: "default",
      source: "default",
    });
    assert.deepEqual(await resolveNamespace({ env: "", cwd: dir }), {
      namespace: "default",
      encoded: "default",
      source: "default",
    });
    assert.deepEqual(await resolveNamespace({ env: "team.a", cwd: a }), {
      namespace: "team.a",
      encoded: "team=2Ea",
      source: "env",
    });
    await assert.rejects(
      resolveNamespace({ env: "\x07", cwd: a }),
      NatsConfigError,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("resolveNamespace() fits a long origin into the limit, deterministically", async () => {
  const dir = await Deno.makeTempDir({ prefix: "c2c-ns-" });
  try {
    await git(dir, "init", "-q");
    const long = `https://example.com/${"group.sub/".repeat(20)}repo.git`;
    await git(dir, "remote", "add", "origin", long);
    const first = await resolveNamespace({ env: "", cwd: dir });
    const again = await resolveNamespace({ env: "", cwd: dir });
    assert.deepEqual(first, again);
    assert.ok(first.encoded.length <= MAX_ENCODED_NAMESPACE);
    assert.match(
      first.namespace,
      /^example\.com\/group\.sub\/.*_[0-9a-f]{16}$/,
    );
    assert.equal(decodeName(first.encoded), first.namespace);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
