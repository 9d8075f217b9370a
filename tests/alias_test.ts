// Alias validation and generation.

import assert from "node:assert/strict";
import {
  generateAlias,
  InvalidAliasError,
  ReservedAliasError,
  suggestAlias,
  validateAlias,
  validateRoomId,
  validateSessionId,
} from "../mod.ts";

Deno.test("validateAlias() accepts lowercase names with . _ -", () => {
  for (const a of ["a", "storm-beacon", "codex.alice_laptop", "9lives"]) {
    assert.equal(validateAlias(a), a);
  }
  assert.equal(validateAlias("x".repeat(64)).length, 64);
});

Deno.test("validateAlias() rejects capitals with the lowercase suggestion", () => {
  assert.throws(
    () => validateAlias("Storm-Beacon"),
    (e: unknown) =>
      e instanceof InvalidAliasError && /use 'storm-beacon'/.test(e.message),
  );
});

Deno.test("validateAlias() rejects reserved and malformed aliases", () => {
  assert.throws(() => validateAlias("broker"), ReservedAliasError);
  for (const a of ["", "-a", ".a", "a b", "a/b", "é", "x".repeat(65)]) {
    assert.throws(() => validateAlias(a), InvalidAliasError, a);
  }
});

Deno.test("generateAlias() is deterministic and skips taken aliases", () => {
  const first = generateAlias("seed", () => false);
  assert.match(first, /^[a-z]+-[a-z]+$/);
  assert.equal(generateAlias("seed", () => false), first);
  const second = generateAlias("seed", (a) => a === first);
  assert.notEqual(second, first);
  assert.notEqual(generateAlias("other-seed", () => false), undefined);
  const words = first.split("-");
  assert.notEqual(words[0], words[1]);
});

Deno.test("suggestAlias() appends the first free number", () => {
  const taken = new Set(["x-2", "x-3"]);
  assert.equal(suggestAlias("x", (a) => taken.has(a)), "x-4");
});

Deno.test("validateRoomId() and validateSessionId() reject path tricks", () => {
  for (const id of ["..", ".", "a/b", "../a", "", "a\0"]) {
    assert.throws(() => validateRoomId(id));
    assert.throws(() => validateSessionId(id));
  }
  assert.equal(validateRoomId("swarm-lounge.v2"), "swarm-lounge.v2");
  assert.equal(
    validateSessionId("2f1c9c1e-0b7a-4c3e-9a57-0d6c8f1e2b3a"),
    "2f1c9c1e-0b7a-4c3e-9a57-0d6c8f1e2b3a",
  );
});
