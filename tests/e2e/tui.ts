/**
 * A real client's interactive TUI in a tmux server of its own (`tmux -S
 * <socket>`), driven like a user: `send-keys`, `capture-pane`. Used by the
 * idle-wake scenarios, where the client must sit idle at its prompt.
 *
 * Disposing kills the tmux server and then every process that still names
 * the client's throwaway home (in its command line or its `HOME`): Codex's
 * TUI starts a detached `codex app-server` daemon (copied under
 * `$CODEX_HOME/packages/`) that outlives the TUI, with its MCP servers.
 *
 * Requires `--allow-run=tmux`, read access to `/proc`, and what the client
 * needs.
 *
 * @module
 */

import { clientEnv, type ClientHome } from "./run_client.ts";

/** Options of {@linkcode TuiSession.start}. */
export interface TuiOptions {
  /** The prepared home (its client decides the env). */
  home: ClientHome;
  /** The client's executable. */
  bin: string;
  /** Arguments. */
  args?: string[];
  /** Variables to add or override. */
  env?: Record<string, string>;
  /** Variables to drop from the client's standard env (e.g. `OPENCODE_PURE`). */
  unset?: string[];
}

const decoder = new TextDecoder();

/** A client TUI running in its own tmux server. */
export class TuiSession implements AsyncDisposable {
  /** The tmux server's socket. */
  readonly socket: string;
  readonly #home: ClientHome;

  private constructor(socket: string, home: ClientHome) {
    this.socket = socket;
    this.#home = home;
  }

  /**
   * Starts the client in a detached 160×45 tmux session, in the home's
   * working directory, with the home's env (`TERM=xterm-256color`; no
   * `NO_COLOR`/`CI`, which make some TUIs behave as if not interactive).
   *
   * @param options Home, binary, arguments, env.
   * @returns The session.
   */
  static async start(options: TuiOptions): Promise<TuiSession> {
    const env = clientEnv(options.home, {
      TERM: "xterm-256color",
      ...options.env,
    });
    for (const name of ["NO_COLOR", "CI", ...(options.unset ?? [])]) {
      delete env[name];
    }
    const socket = `${options.home.base}/tmux.sock`;
    const session = new TuiSession(socket, options.home);
    await session.#tmux(
      "-f",
      "/dev/null",
      "new-session",
      "-d",
      "-s",
      "c2c",
      "-x",
      "160",
      "-y",
      "45",
      "-c",
      options.home.cwd,
      "env",
      "-i",
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      options.bin,
      ...(options.args ?? []),
    );
    return session;
  }

  async #tmux(...args: string[]): Promise<string> {
    const out = await new Deno.Command("tmux", {
      args: ["-S", this.socket, ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(
        `tmux ${args[0]} failed: ${decoder.decode(out.stderr).trim()}`,
      );
    }
    return decoder.decode(out.stdout);
  }

  /**
   * What the pane shows now.
   *
   * @returns The visible text.
   */
  capture(): Promise<string> {
    return this.#tmux("capture-pane", "-p", "-t", "c2c");
  }

  /**
   * The pid of the pane's process: the client itself (`env -i` execs it).
   *
   * @returns The pid.
   */
  async panePid(): Promise<number> {
    const out = await this.#tmux(
      "display-message",
      "-p",
      "-t",
      "c2c",
      "#{pane_pid}",
    );
    return Number(out.trim());
  }

  /**
   * Types keys (tmux key names or literal text).
   *
   * @param keys Keys, e.g. `["hello"]` or `["Enter"]`.
   */
  async keys(...keys: string[]): Promise<void> {
    await this.#tmux("send-keys", "-t", "c2c", ...keys);
  }

  /**
   * Waits until the pane shows a text matching `pattern`.
   *
   * @param pattern What to wait for.
   * @param timeout_ms How long.
   * @returns The capture that matched.
   * @throws {Error} With the last capture, when time runs out.
   */
  async waitFor(pattern: RegExp, timeout_ms = 30_000): Promise<string> {
    const deadline = Date.now() + timeout_ms;
    let last = "";
    while (Date.now() < deadline) {
      try {
        last = await this.capture();
      } catch (e) {
        throw new Error(`the client's tmux session ended: ${e}`);
      }
      if (pattern.test(last)) return last;
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(
      `timed out after ${timeout_ms} ms waiting for ${pattern} in the TUI; it shows:\n${last}`,
    );
  }

  /** Kills the tmux server, then whatever still runs for this home. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.#tmux("kill-server");
    } catch { /* already gone */ }
    await killHomeProcesses(this.#home.base);
  }
}

/**
 * Processes whose command line mentions `base`, or whose `HOME` is inside
 * it (read from `/proc`; processes of other users are skipped).
 *
 * @param base A throwaway home's folder.
 * @returns Their pids.
 */
export function homeProcesses(base: string): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name) || Number(entry.name) === Deno.pid) continue;
    try {
      const cmd = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      const env = Deno.readTextFileSync(`/proc/${entry.name}/environ`);
      if (
        cmd.includes(base) || env.includes(`\0HOME=${base}`) ||
        env.startsWith(`HOME=${base}`)
      ) {
        pids.push(Number(entry.name));
      }
    } catch {
      // Gone, or not ours.
    }
  }
  return pids;
}

/**
 * Ends every process of a throwaway home: SIGTERM, then SIGKILL for what is
 * left after half a second.
 *
 * @param base The home's folder.
 */
export async function killHomeProcesses(base: string): Promise<void> {
  const kill = (signal: Deno.Signal) => {
    const pids = homeProcesses(base);
    for (const pid of pids) {
      try {
        Deno.kill(pid, signal);
      } catch { /* exited meanwhile */ }
    }
    return pids.length;
  };
  if (kill("SIGTERM") === 0) return;
  await new Promise((r) => setTimeout(r, 500));
  kill("SIGKILL");
}
