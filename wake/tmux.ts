/**
 * `c2c wake --tmux-pane %N --alias A`: the harness's wake for an agent that
 * already runs in a tmux pane (started without `c2c run`). Watches the inbox
 * of whichever session holds alias A (it changes when the client restarts)
 * and types the poll line into the pane with `tmux send-keys`.
 *
 * Unlike the harness it cannot see the user's keystrokes, so it cannot wait
 * for a half-typed line to be submitted; it is meant for panes where an agent
 * works alone. The text goes through a tmux buffer pasted with
 * `paste-buffer -p`, which adds bracketed paste markers only if the program
 * in the pane asked for them; `Enter` follows after the client's pause.
 *
 * Runs until the pane disappears (checked on every wake and once a minute)
 * or `signal` aborts.
 *
 * Requires `--allow-read` and `--allow-write` on the broker root,
 * `--allow-run=tmux`, and `--allow-env` for {@linkcode TMUX_WAKE_ENV}.
 *
 * @module
 */

import { C2cError } from "../lib/errors.ts";
import { dirname } from "node:path";
import { Broker } from "../lib/broker.ts";
import { type ClientProfile, clientProfile, CLIENTS } from "./clients.ts";
import { DirWatcher } from "./dir_watcher.ts";
import { InboxScanner } from "./inbox_scanner.ts";
import { typePollLine } from "./injector.ts";
import { PollScheduler } from "./poll_scheduler.ts";

/** Environment variables the tmux wake reads (tmux itself reads `TMUX`). */
export const TMUX_WAKE_ENV: readonly string[] = ["TMUX", "TMUX_PANE"];

/** Options of {@linkcode wakeTmuxPane}. */
export interface TmuxWakeOptions {
  /** Absolute broker root. */
  root: string;
  /** The broker (default: the file store at `root`). */
  broker?: Broker;
  /** Target pane (`%3`, or any tmux target such as `work:1.0`). */
  pane: string;
  /** Alias whose inbox to watch. */
  alias: string;
  /** Client in the pane; default: the registration's, else the pane's program. */
  client?: string;
  /** tmux server socket (`tmux -S`); default: tmux's own choice (`$TMUX`). */
  socket?: string;
  /** Remind after this long when new messages pile up unread (ms). */
  remindMs?: number;
  /** Stops the wake when aborted. */
  signal?: AbortSignal;
  /** Status lines (default: stderr). */
  log?: (line: string) => void;
}

/** A failed tmux command. */
export class TmuxError extends C2cError {
  /**
   * Creates the error.
   *
   * @param message tmux's complaint, with the command.
   */
  constructor(message: string) {
    super("tmux", message);
  }
}

const PANE_CHECK_MS = 60_000;

/**
 * Wakes the agent in a tmux pane whenever messages wait for `alias`.
 *
 * @param options Root, pane, alias, and optional client and socket.
 * @returns 0 when stopped by `signal`, 1 when the pane is gone.
 * @throws {TmuxError} When the pane does not exist at start.
 *
 * @example Usage
 * ```ts ignore
 * import { wakeTmuxPane } from "./tmux.ts";
 * const stop = new AbortController();
 * Deno.addSignalListener("SIGINT", () => stop.abort());
 * Deno.exit(await wakeTmuxPane({
 *   root: "/repo/.git/c2c/mcp", pane: "%3", alias: "kimi-bob", signal: stop.signal,
 * }));
 * ```
 */
export async function wakeTmuxPane(options: TmuxWakeOptions): Promise<number> {
  const log = options.log ??
    ((line: string) => console.error(line));
  const tmux = (args: string[]) => runTmux(options.socket, args);
  const paneCommand = await tmux([
    "display-message",
    "-p",
    "-t",
    options.pane,
    "#{pane_current_command}",
  ]);
  const broker = options.broker ?? new Broker({ root: options.root });
  // The inboxes' signals: in the root (file store) or the NATS store's
  // local signals/ directory, made now so that it can be watched.
  const signals = dirname(broker.paths.signal("signal"));
  Deno.mkdirSync(signals, { recursive: true, mode: 0o700 });
  const scanner = new InboxScanner(broker);
  const profile = pickProfile(
    options.client,
    (await broker.registrationByAlias(options.alias))?.client ?? null,
    paneCommand.trim(),
  );
  const done = Promise.withResolvers<number>();
  const scheduler = new PollScheduler({
    remindMs: options.remindMs,
    inject: (count) =>
      typePollLine(
        {
          type: (text) => pasteText(tmux, options.pane, text),
          submit: async () => {
            await tmux(["send-keys", "-t", options.pane, "Enter"]);
          },
        },
        profile,
        count,
        false,
      ),
    onError: (e) => {
      log(`c2c wake: ${(e as Error).message}; stopping`);
      done.resolve(1);
    },
  });
  let warned = false;
  const rescan = async () => {
    let registration;
    try {
      registration = await broker.registrationByAlias(options.alias);
    } catch { /* a registry being rewritten or corrupt: next event */ }
    if (!registration) {
      if (!warned) {
        log(`c2c wake: '${options.alias}' is not registered yet; waiting`);
      }
      warned = true;
      return scheduler.update([]);
    }
    try {
      scheduler.update(await scanner.scan(registration.session_id));
    } catch { /* unreadable inbox: c2c health reports it */ }
  };
  const watcher = new DirWatcher({
    paths: [...new Set([options.root, signals])],
    onChange: rescan,
  });
  const check = setInterval(async () => {
    try {
      await tmux(["display-message", "-p", "-t", options.pane, "#{pane_id}"]);
    } catch {
      log(`c2c wake: pane ${options.pane} is gone; stopping`);
      done.resolve(1);
    }
  }, PANE_CHECK_MS);
  const onAbort = () => done.resolve(0);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) done.resolve(0);
  log(
    `c2c wake: watching '${options.alias}' for pane ${options.pane} (${profile.name})`,
  );
  rescan();
  try {
    return await done.promise;
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    clearInterval(check);
    watcher.close();
    scheduler.dispose();
  }
}

/** `--client`, else the registration's client, else the pane's program. */
function pickProfile(
  flag: string | undefined,
  registered: string | null,
  paneCommand: string,
): ClientProfile {
  for (const name of [flag, registered, paneCommand]) {
    const profile = name ? clientProfile(name) : undefined;
    if (profile) return profile;
  }
  return CLIENTS.generic;
}

/** Pastes `text` into the pane through a private buffer. */
async function pasteText(
  tmux: (args: string[]) => Promise<string>,
  pane: string,
  text: string,
): Promise<void> {
  const buffer = `c2c-wake-${Deno.pid}`;
  // One tmux call: set the buffer, paste it (-p: bracketed only if the
  // program asked for it; -d: delete it after).
  await tmux([
    "set-buffer",
    "-b",
    buffer,
    "--",
    text,
    ";",
    "paste-buffer",
    "-p",
    "-d",
    "-b",
    buffer,
    "-t",
    pane,
  ]);
}

async function runTmux(
  socket: string | undefined,
  args: string[],
): Promise<string> {
  const out = await new Deno.Command("tmux", {
    args: socket ? ["-S", socket, ...args] : args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b).trim();
  if (!out.success) {
    throw new TmuxError(
      `tmux ${args[0]} failed: ${decode(out.stderr) || `exit ${out.code}`}`,
    );
  }
  return decode(out.stdout);
}
