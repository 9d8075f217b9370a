// The FFI pseudo-terminal on its own: controlling tty, size, signals, exit.

import assert from "node:assert/strict";
import { Pty } from "../wake/pty.ts";

async function run(
  script: string,
  options: { cols?: number; rows?: number; input?: string } = {},
) {
  const pty = Pty.spawn({
    command: "sh",
    args: ["-c", script],
    env: { C2C_PTY_TEST: "yes", LANG: undefined },
    cols: options.cols,
    rows: options.rows,
  });
  if (options.input) pty.write(options.input);
  let output = "";
  const decoder = new TextDecoder();
  for await (const chunk of pty.readable) {
    output += decoder.decode(chunk, { stream: true });
  }
  const status = await pty.exited;
  await pty.close();
  return { output: output.replaceAll("\r", ""), status };
}

Deno.test("Pty.spawn() gives the child the pty as controlling terminal in its own session", async () => {
  const { output, status } = await run(
    'tty; ps -o sid= -p $$; echo "pid $$"; test -t 0 && test -t 1 && test -t 2 && echo all-tty',
  );
  assert.equal(status.code, 0);
  assert.match(output, /^\/dev\/pts\/\d+$/m);
  const sid = Number(/^\s*(\d+)$/m.exec(output)?.[1]);
  const pid = Number(/^pid (\d+)$/m.exec(output)?.[1]);
  assert.equal(sid, pid, "the child leads its own session");
  assert.match(output, /^all-tty$/m);
});

Deno.test("Pty.spawn() resets signal dispositions (no inherited ignored SIGPIPE)", async () => {
  const { output } = await run("grep -E '^Sig(Ign|Blk):' /proc/self/status");
  assert.match(output, /^SigIgn:\s+0+$/m);
  assert.match(output, /^SigBlk:\s+0+$/m);
});

Deno.test("Pty.spawn() passes the environment with overrides and removals", async () => {
  const { output } = await run('echo "v=$C2C_PTY_TEST lang=${LANG-unset}"');
  assert.match(output, /^v=yes lang=unset$/m);
});

Deno.test("Pty sets the window size and resize() reaches the child as SIGWINCH", async () => {
  const pty = Pty.spawn({
    command: "sh",
    args: [
      "-c",
      'stty size; trap "stty size; exit 0" WINCH; echo armed; while :; do sleep 0.05; done',
    ],
    cols: 91,
    rows: 27,
  });
  let output = "";
  const decoder = new TextDecoder();
  const reader = (async () => {
    for await (const chunk of pty.readable) output += decoder.decode(chunk);
  })();
  while (!output.includes("armed")) await new Promise((r) => setTimeout(r, 10));
  assert.match(output, /^27 91\r?$/m);
  pty.resize({ cols: 100, rows: 33 });
  assert.deepEqual(pty.size(), { cols: 100, rows: 33 });
  assert.equal((await pty.exited).code, 0);
  await reader;
  await pty.close();
  assert.match(output, /^33 100\r?$/m);
});

Deno.test("Pty.write() types into the child; exit codes and signals come back", async () => {
  const { output, status } = await run(
    'read line; echo "got[$line]"; exit 42',
    {
      input: "typed text\r",
    },
  );
  assert.match(output, /^got\[typed text\]$/m);
  assert.deepEqual(status, { code: 42, signal: null });

  const pty = Pty.spawn({ command: "sleep", args: ["30"] });
  assert.ok(pty.kill("SIGTERM"));
  assert.deepEqual(await pty.exited, { code: 143, signal: 15 });
  await pty.close();
});

Deno.test("Pty.spawn() names a program that is not in PATH", () => {
  assert.throws(
    () => Pty.spawn({ command: "no-such-program-c2c" }),
    /command not found: no-such-program-c2c/,
  );
});

Deno.test("Pty.write() queues input larger than the terminal buffer", async () => {
  const pty = Pty.spawn({
    command: "sh",
    // Raw mode first: a canonical-mode line is capped at 4 KiB.
    args: ["-c", "stty raw -echo; echo ready; head -c 200000 | wc -c"],
  });
  let output = "";
  const decoder = new TextDecoder();
  const reader = pty.readable.getReader();
  while (!output.includes("ready")) {
    const { value } = await reader.read();
    output += decoder.decode(value);
  }
  pty.write("x".repeat(200_000));
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    output += decoder.decode(value);
  }
  assert.equal((await pty.exited).code, 0);
  await pty.close();
  assert.match(output, /200000/);
});
