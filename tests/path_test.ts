// The launcher's node-free path helpers agree with node:path.

import assert from "node:assert/strict";
import { dirname, join, resolve } from "node:path";
import { absolutePath, dirPath, joinPath } from "../lib/_path.ts";

Deno.test("joinPath(), absolutePath() and dirPath() agree with node:path", () => {
  const cases: [string, string][] = [
    ["/repo", ".git"],
    ["/repo/sub/dir", "../../.git"],
    ["/repo", "/abs/.git/"],
    ["/repo/", "./x/./y/../z"],
    ["/", ".."],
  ];
  for (const [cwd, p] of cases) {
    assert.equal(absolutePath(cwd, p), resolve(cwd, p), `${cwd} + ${p}`);
  }
  assert.equal(joinPath("/a", "b", "..", "c"), join("/a", "b", "..", "c"));
  assert.equal(joinPath("/a/b/", "c", "mcp"), join("/a/b/", "c", "mcp"));
  for (const p of ["/a/b/c.json", "/a/b/", "/a", "/", "rel/x", "x"]) {
    assert.equal(dirPath(p), dirname(p), p);
  }
});
