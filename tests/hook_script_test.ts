// bin/c2c-hook with the inputs clients really send: whole tool outputs,
// megabytes, often pretty-printed over tens of thousands of lines. The empty
// path must not read them in shell (it used to: 107 s for 1.35 MB), must not
// start Deno, and must drain the input so the client never writes into a
// closed pipe. Speed is measured in bench/hook_bench.ts; here a CPU-time
// ceiling far above the fixed script's cost only keeps a regression from
// running for minutes.

import assert from "node:assert/strict";
import { Broker } from "../mod.ts";
import { DENO, REPO } from "./_helpers.ts";
import { baseEnv, tempRepo } from "./_cli.ts";

const HOOK = `${REPO}/bin/c2c-hook`;

/** CPU seconds the hook may use: the fixed script needs milliseconds. */
const CPU_CEILING_S = 20;

/** A PostToolUse input as Claude Code writes it, pretty-printed, ~1.4 MB. */
function bigInput(session: string): string {
  const lines = Array.from(
    { length: 50_000 },
    (_, i) => `line ${i} of a long tool output`,
  );
  return JSON.stringify(
    {
      session_id: session,
      transcript_path: "/tmp/t.jsonl",
      hook_event_name: "PostToolUse",
      tool_name: "Bash",
      tool_input: { command: "seq 50000" },
      tool_response: { stdout: lines },
    },
    null,
    2,
  );
}

interface HookRun {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
  /** Whether writing the whole input succeeded (no EPIPE). */
  wroteAll: boolean;
}

/** Runs the hook as a client does, under a CPU-time ceiling. */
async function hook(
  cwd: string,
  args: string[],
  input: string,
  deno: string,
  env: Record<string, string> = {},
): Promise<HookRun> {
  const child = new Deno.Command("/bin/sh", {
    args: [
      "-c",
      `ulimit -t ${CPU_CEILING_S}; exec "$0" "$@"`,
      HOOK,
      args[0],
      "--deno",
      deno,
      ...args.slice(1),
    ],
    cwd,
    clearEnv: true,
    env: { ...baseEnv(), ...env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  let wroteAll = true;
  try {
    await writer.write(new TextEncoder().encode(input));
    await writer.close();
  } catch {
    wroteAll = false;
  }
  const out = await child.output();
  return {
    code: out.code,
    signal: out.signal,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
    wroteAll,
  };
}

/** A stand-in for Deno that leaves a mark when started. */
async function canaryDeno(
  dir: string,
): Promise<{ path: string; mark: string }> {
  const mark = `${dir}/deno-started`;
  const path = `${dir}/fake-deno`;
  await Deno.writeTextFile(path, `#!/bin/sh\ntouch '${mark}'\n`);
  await Deno.chmod(path, 0o755);
  return { path, mark };
}

async function peers(repo: string): Promise<Broker> {
  const broker = new Broker({ root: `${repo}/.git/c2c/mcp` });
  await broker.register("sess-a", { alias: "alice" });
  await broker.register("sess-b", { alias: "bob" });
  return broker;
}

Deno.test("c2c-hook with an empty inbox takes a 1.4 MB multi-line input whole, prints nothing and never starts Deno", async () => {
  await using repo = await tempRepo();
  await peers(repo.path);
  const fake = await canaryDeno(repo.path);
  const input = bigInput("sess-b");
  assert.ok(input.length > 1_000_000 && input.split("\n").length > 50_000);
  const cases: [string[], Record<string, string>][] = [
    [["claude-code"], {}], // session from the input
    [["codex", "--alias", "bob"], {}], // session from the alias
    // The waiter's early exit under `claude -p`.
    [["claude-code", "--rewake"], { CLAUDE_CODE_ENTRYPOINT: "sdk-cli" }],
  ];
  for (const [args, env] of cases) {
    const r = await hook(repo.path, args, input, fake.path, env);
    assert.equal(r.signal, null, `${args}: killed (${r.signal})`);
    assert.deepEqual(
      [r.code, r.stdout, r.wroteAll],
      [0, "", true],
      `${args}: ${r.stderr}`,
    );
  }
  // Unknown sessions and inputs without one take the same early exits.
  for (const input of [bigInput("nobody"), "x".repeat(2_000_000)]) {
    const r = await hook(repo.path, ["claude-code"], input, fake.path);
    assert.deepEqual([r.code, r.stdout, r.wroteAll], [0, "", true]);
  }
  await assert.rejects(Deno.stat(fake.mark), Deno.errors.NotFound);
});

Deno.test("c2c-hook finds the session in a pretty-printed 1.4 MB input and hands Deno the whole input", async () => {
  await using repo = await tempRepo();
  const broker = await peers(repo.path);
  const sent = await broker.send("sess-a", {
    to_alias: "bob",
    content: "under a big tool output",
  });
  const r = await hook(repo.path, ["claude-code"], bigInput("sess-b"), DENO);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.wroteAll);
  const out = JSON.parse(r.stdout);
  assert.match(out.hookSpecificOutput.additionalContext, new RegExp(sent.id));
  assert.deepEqual(await broker.pendingMessages("sess-b"), []);
});

Deno.test("c2c-hook reads the session id after a long head of other keys, and not past its 4 KiB head", async () => {
  await using repo = await tempRepo();
  const broker = await peers(repo.path);
  const fake = await canaryDeno(repo.path);
  await broker.send("sess-a", { to_alias: "bob", content: "x" });
  // Inside the head: found (Deno starts), even with other keys first.
  const near = JSON.stringify({ cwd: "/p".repeat(1000), session_id: "sess-b" });
  await hook(repo.path, ["claude-code"], near, fake.path);
  await Deno.stat(fake.mark);
  await Deno.remove(fake.mark);
  // Past the head: not looked for, so nothing starts.
  const far = JSON.stringify({ cwd: "/p".repeat(3000), session_id: "sess-b" });
  const r = await hook(repo.path, ["claude-code"], far, fake.path);
  assert.deepEqual([r.code, r.stdout, r.wroteAll], [0, "", true]);
  await assert.rejects(Deno.stat(fake.mark), Deno.errors.NotFound);
});
