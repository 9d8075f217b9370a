// Shared test helpers: temp brokers, subprocesses with scoped permissions.

import { Broker, type BrokerOptions } from "../mod.ts";
import { fileURLToPath } from "node:url";

/** Absolute path of the repository checkout. */
export const REPO = fileURLToPath(new URL("..", import.meta.url)).replace(
  /\/$/,
  "",
);
/** The Deno binary running the tests (the pinned one). */
export const DENO = Deno.execPath();

/** A broker on a fresh temp root; removed when disposed. */
export async function tempBroker(
  options: Partial<BrokerOptions> = {},
): Promise<Broker & AsyncDisposable> {
  const root = await Deno.makeTempDir({ prefix: "c2c-test-" });
  const broker = new Broker({ root, ...options }) as Broker & AsyncDisposable;
  broker[Symbol.asyncDispose] = async () => {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  };
  return broker;
}

/**
 * Turns the loop guard and rate limit off in a broker root's `config.json`
 * (docs/design.md#loop-guard): for tests that flood one peer on purpose.
 */
export async function unguarded(root: string): Promise<void> {
  const path = `${root}/config.json`;
  let config: Record<string, unknown> = {};
  try {
    config = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  await Deno.writeTextFile(
    path,
    JSON.stringify({ ...config, rate_limit_messages: 0, loop_repeat_limit: 0 }),
  );
}

/** Runs a fixture worker to completion with permissions scoped to `root`. */
export async function runWorker(
  root: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await workerCommand(root, args, "piped").output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** Builds the command for a fixture worker (`tests/fixtures/worker.ts`). */
export function workerCommand(
  root: string,
  args: string[],
  stdout: "piped" | "null" = "piped",
): Deno.Command {
  return new Deno.Command(DENO, {
    args: [
      "run",
      "--no-prompt",
      `--allow-read=${root}`,
      `--allow-write=${root}`,
      `${REPO}/tests/fixtures/worker.ts`,
      root,
      ...args,
    ],
    stdout,
    stderr: "piped",
    stdin: "null",
  });
}

/** Reads lines from a child's stdout as they arrive. */
export async function* lines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let at;
    while ((at = buffer.indexOf("\n")) !== -1) {
      yield buffer.slice(0, at);
      buffer = buffer.slice(at + 1);
    }
  }
  if (buffer) yield buffer;
}

/** Waits until `predicate` holds, polling every few ms, or throws. */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
