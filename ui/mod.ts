/**
 * `c2c ui`: a live local web view of the swarm, where the human joins in.
 * Starts the server (`server.ts`), prints its URL, optionally opens it in
 * the user's browser (`xdg-open`), and serves until SIGINT or SIGTERM, then
 * ends the human's session.
 *
 * Requires `--allow-net=127.0.0.1:<port>` (`127.0.0.1:0` for a free port),
 * what the broker's store requires, and `--allow-run=xdg-open` for `open`.
 *
 * @module
 */

import type { Broker } from "../lib/broker.ts";
import { startUi, type UiServer } from "./server.ts";

export { startUi, type UiOptions, type UiServer } from "./server.ts";
export { DEFAULT_HUMAN_ALIAS } from "./human.ts";

/** Options of {@linkcode runUi}. */
export interface RunUiOptions {
  /** The broker to show. */
  broker: Broker;
  /** Port on 127.0.0.1 (default: a free one). */
  port?: number;
  /** Open the page in the user's browser. */
  open?: boolean;
  /** No posting. */
  readOnly?: boolean;
  /** The human's alias. */
  alias?: string;
  /** Shows the running server to the user (its URL). */
  announce(ui: UiServer): void;
  /** Tells the user something went wrong in the background. */
  warn(text: string): void;
}

/**
 * Runs `c2c ui` until SIGINT or SIGTERM.
 *
 * @param options Broker, port, mode, and how to talk to the user.
 * @returns The exit status (0).
 *
 * @example Usage
 * ```ts ignore
 * import { runUi } from "./mod.ts";
 * await runUi({ broker, announce: (ui) => console.log(ui.url), warn: console.error });
 * ```
 */
export async function runUi(options: RunUiOptions): Promise<number> {
  // A damaged file fails every pass that reads it: say so once a minute.
  const said = new Map<string, number>();
  const warnOnce = (text: string) => {
    const now = Date.now();
    if (now - (said.get(text) ?? -Infinity) < 60_000) return;
    said.set(text, now);
    if (said.size > 100) said.delete(said.keys().next().value!);
    options.warn(text);
  };
  const ui = await startUi({
    broker: options.broker,
    port: options.port,
    readOnly: options.readOnly,
    alias: options.alias,
    onError: (e) => warnOnce(e instanceof Error ? e.message : String(e)),
  });
  const stop = Promise.withResolvers<void>();
  const signals = ["SIGINT", "SIGTERM"] as const;
  const onSignal = () => stop.resolve();
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  try {
    options.announce(ui);
    if (options.open) openBrowser(ui.url, options.warn);
    await stop.promise;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
    await ui.close();
  }
  return 0;
}

/** Hands the URL to the desktop's browser; the page works without it. */
function openBrowser(url: string, warn: (text: string) => void): void {
  try {
    const child = new Deno.Command("xdg-open", {
      args: [url],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    child.status.then((s) => {
      if (!s.success) {
        warn(`xdg-open could not open a browser; open the URL above`);
      }
    });
    child.unref();
  } catch (e) {
    warn(
      `could not run xdg-open (${(e as Error).message}); open the URL above`,
    );
  }
}
