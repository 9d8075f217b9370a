// Shared by the `c2c ui` tests and bench/ui_bench.ts: a real headless
// Chromium (Debian's `chromium`, installed by .ci/run) driven by
// playwright-core from npm (one package, no dependencies, no browser
// download: it drives the system binary), and `c2c ui` run as the user runs
// it — bin/c2c, with exactly the launcher's permission flags.

import { type BrowserContext, chromium, type Page } from "playwright-core";
import { baseEnv, LAUNCHER } from "./_cli.ts";
import { lines, REPO } from "./_helpers.ts";

export type { BrowserContext, Page };

/**
 * Chromium's flags. Without the background-networking ones Chromium dials
 * Google's services at start, which this machine's closed network refuses
 * (and a test must not wait on).
 */
export const CHROMIUM_FLAGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Where each run's screenshot goes. */
export const SCREENSHOT = `${REPO}/.cache/ui-screenshot.png`;

/**
 * The Chromium binary: `C2C_CHROMIUM`, else Debian's.
 *
 * @returns Its path.
 */
export function chromiumPath(): string {
  const candidates = [
    Deno.env.get("C2C_CHROMIUM"),
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
  ];
  for (const path of candidates) {
    if (!path) continue;
    try {
      Deno.statSync(path);
      return path;
    } catch { /* next */ }
  }
  throw new Error(
    "no Chromium: install Debian's (apt-get install -y chromium; .ci/run does) or set C2C_CHROMIUM",
  );
}

/** A running Chromium with a fresh profile; disposing ends it. */
export interface Browser extends AsyncDisposable {
  /** Its one context (the fresh profile). */
  context: BrowserContext;
  /** Opens a tab. */
  newPage(): Promise<Page>;
}

/**
 * Starts headless Chromium on a fresh `--user-data-dir` (removed after).
 *
 * @param viewport Window size.
 * @returns The browser.
 */
export async function openBrowser(
  viewport = { width: 1280, height: 820 },
): Promise<Browser> {
  const profile = await Deno.makeTempDir({ prefix: "c2c-chromium-" });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(),
    headless: true,
    args: [...CHROMIUM_FLAGS],
    viewport,
  });
  return {
    context,
    newPage: () => context.newPage(),
    async [Symbol.asyncDispose]() {
      await context.close().catch(() => {});
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}

/** `c2c ui` running in a child process. */
export interface UiProcess extends AsyncDisposable {
  /** The URL it printed (token included). */
  url: string;
  /** `http://127.0.0.1:<port>`. */
  origin: string;
  /** Its port. */
  port: number;
  /** Its token. */
  token: string;
  /** The human's alias, or `null` when read-only. */
  alias: string | null;
  /** Its pid. */
  pid: number;
  /** What it wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM, then waits; returns the exit code. */
  stop(): Promise<number>;
}

/**
 * Runs `bin/c2c ui --json ARGS` on `root` and waits for the URL it prints.
 *
 * @param root Broker root.
 * @param args More arguments.
 * @returns The running process.
 */
export async function startUiProcess(
  root: string,
  args: string[] = [],
): Promise<UiProcess> {
  const child = new Deno.Command(LAUNCHER, {
    args: ["ui", "--json", ...args],
    clearEnv: true,
    env: { ...baseEnv(), C2C_MCP_BROKER_ROOT: root },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const errDone = (async () => {
    for await (
      const chunk of child.stderr.pipeThrough(new TextDecoderStream())
    ) {
      stderr += chunk;
    }
  })();
  const out = lines(child.stdout);
  const first = await out.next();
  if (first.done) {
    await child.status;
    await errDone;
    throw new Error(`c2c ui printed no URL; stderr: ${stderr}`);
  }
  // Keep reading (nothing more is expected) so the pipe never fills.
  const outDone = (async () => {
    for await (const _ of out) { /* drain */ }
  })();
  const info = JSON.parse(first.value) as {
    url: string;
    port: number;
    token: string;
    alias: string | null;
  };
  let code: Promise<number> | null = null;
  const stop = () =>
    code ??= (async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const status = await child.status;
      await Promise.all([errDone, outDone]);
      return status.code;
    })();
  return {
    ...info,
    origin: `http://127.0.0.1:${info.port}`,
    pid: child.pid,
    stderr: () => stderr,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };
}

/**
 * One raw HTTP/1.1 request over TCP, so that any `Host` (or none) can be
 * sent, as a rebinding browser or a hostile local process would.
 *
 * @param port The server's port.
 * @param head Request line and headers, without the final blank line.
 * @param body Body, if any.
 * @returns Status code, headers (lowercase names) and body.
 */
export async function rawRequest(
  port: number,
  head: string[],
  body = "",
): Promise<{ status: number; headers: Map<string, string>; body: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const bytes = new TextEncoder().encode(body);
    const text = [
      ...head,
      ...(body ? [`content-length: ${bytes.length}`] : []),
      "connection: close",
      "",
      "",
    ].join("\r\n");
    await conn.write(new TextEncoder().encode(text));
    if (body) await conn.write(bytes);
    let raw = "";
    const buffer = new Uint8Array(65536);
    const decoder = new TextDecoder();
    for (
      let n = await conn.read(buffer);
      n !== null;
      n = await conn.read(buffer)
    ) {
      raw += decoder.decode(buffer.subarray(0, n), { stream: true });
    }
    const [top, ...rest] = raw.split("\r\n\r\n");
    const [status, ...headerLines] = top.split("\r\n");
    const headers = new Map<string, string>();
    for (const line of headerLines) {
      const at = line.indexOf(":");
      headers.set(
        line.slice(0, at).trim().toLowerCase(),
        line.slice(at + 1).trim(),
      );
    }
    return {
      status: Number(status.split(" ")[1]),
      headers,
      body: rest.join("\r\n\r\n"),
    };
  } finally {
    try {
      conn.close();
    } catch { /* closed by the server */ }
  }
}
