// A stand-in Deno for launcher tests: bin/c2c and bin/c2c-mcp run it in
// place of the real one, and it records the arguments and environment they
// would have started Deno with (launcher.ts, the setup helper, runs for real).

import assert from "node:assert/strict";
import { DENO } from "./_helpers.ts";
import { baseEnv, LAUNCHER, tempDir } from "./_cli.ts";

/** What a launcher would have started. */
export interface Started {
  argv: string[];
  env: Record<string, string>;
}

/**
 * A stand-in for Deno: runs the real one for launcher.ts (the helper), and
 * otherwise records its arguments and environment, one per line, NUL-free.
 */
async function recordingDeno(dir: string): Promise<string> {
  const path = `${dir}/deno`;
  await Deno.writeTextFile(
    path,
    `#!/bin/sh
for a in "$@"; do
  case $a in */launcher.ts) exec '${DENO}' "$@" ;; esac
done
{ for a in "$@"; do printf 'arg %s\\n' "$a"; done; env | sed 's/^/env /'; } >'${dir}/started'
`,
  );
  await Deno.chmod(path, 0o755);
  return path;
}

export async function start(
  args: string[],
  options: { cwd: string; env?: Record<string, string>; launcher?: string },
): Promise<Started> {
  await using dir = await tempDir("c2c-fake-deno-");
  const deno = await recordingDeno(dir.path);
  const out = await new Deno.Command(options.launcher ?? LAUNCHER, {
    args,
    cwd: options.cwd,
    clearEnv: true,
    env: { ...baseEnv(), C2C_DENO: deno, ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(
    out.code,
    0,
    `${args}: ${new TextDecoder().decode(out.stderr)}`,
  );
  const lines = Deno.readTextFileSync(`${dir.path}/started`).split("\n");
  const env: Record<string, string> = {};
  for (const l of lines.filter((l) => l.startsWith("env "))) {
    const [name, ...value] = l.slice(4).split("=");
    env[name] = value.join("=");
  }
  return {
    argv: lines.filter((l) => l.startsWith("arg ")).map((l) => l.slice(4)),
    env,
  };
}
