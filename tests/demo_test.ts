// `deno task demo`: the story end to end through real server processes, and
// a failed start told in one line that names the cause, with nothing left
// behind.

import assert from "node:assert/strict";
import { runDemo } from "../demo.ts";
import { DENO, REPO } from "./_helpers.ts";
import { baseEnv, tempDir } from "./_cli.ts";

Deno.test("runDemo() whose servers cannot fetch their npm packages fails in one line naming why, and cleans up", async () => {
  await using scratch = await tempDir("c2c-demo-test-");
  await using home = await tempDir("c2c-home-");
  const lines: string[] = [];
  const code = await runDemo({
    // An empty Deno cache and an npm registry nobody answers at.
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: home.path,
      DENO_DIR: `${home.path}/deno-cache`,
      NPM_CONFIG_REGISTRY: "http://127.0.0.1:9/",
    },
    tempDir: scratch.path,
    log: (line) => lines.push(line),
    color: false,
  });
  assert.equal(code, 1);
  const failures = lines.filter((l) => l.startsWith("c2c demo failed: "));
  assert.equal(failures.length, 1, lines.join("\n"));
  assert.match(
    failures[0],
    /MCP server did not start: Failed caching npm package '[^']+' \(.*127\.0\.0\.1:9/,
  );
  assert.ok(!failures[0].includes("\n"));
  assert.ok(
    lines.every((l) => !/McpError|^\s+at /.test(l)),
    "no stack trace",
  );
  assert.match(
    lines[1],
    /^starting two c2c MCP servers/,
    "says what it waits for",
  );
  assert.deepEqual(
    [...Deno.readDirSync(scratch.path)],
    [],
    "temp repo removed",
  );
});

Deno.test("deno task demo tells the story and removes its temp repo", async () => {
  await using scratch = await tempDir("c2c-demo-test-");
  const out = await new Deno.Command(DENO, {
    args: [
      "run",
      "--quiet",
      "--allow-read",
      "--allow-write",
      "--allow-run",
      "--allow-env",
      `${REPO}/demo.ts`,
    ],
    clearEnv: true,
    env: { ...baseEnv(), TMPDIR: scratch.path, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(
    stdout,
    /tide-runner reads:\n +<c2c event="message" from="storm-beacon"/,
  );
  assert.match(stdout, /reads room history +4 lines/);
  assert.deepEqual(
    [...Deno.readDirSync(scratch.path)],
    [],
    "temp repo removed",
  );
});
