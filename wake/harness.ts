/**
 * The managed harness behind `c2c run <client>`: runs the client in a
 * pseudo-terminal that c2c owns, relays the user's terminal both ways, keeps
 * the session alive in the broker, and types a short poll line into the
 * client when messages wait — never a message body.
 *
 * Session: every client process gets a fresh session id under the same
 * alias. The harness holds that session's lease and registers the alias
 * before the client starts (so peers see it live at once), and exports to the
 * client `C2C_MCP_SESSION_ID` / `C2C_SESSION_ID` (the id),
 * `C2C_MCP_AUTO_REGISTER_ALIAS` / `C2C_ALIAS` (the alias),
 * `C2C_MCP_BROKER_ROOT`, `C2C_HARNESS_CONTROL` (for `restart-me`),
 * `C2C_HARNESS_CLIENT` and `C2C_HARNESS_SESSION_ID` (the id whose lease the
 * harness holds, so the client's MCP server can serve that session without a
 * lease of its own). On a restart the old lease is dropped and the new
 * session takes the alias over, pending messages included.
 *
 * Wake: the broker root is watched (`Deno.watchFs`); any event rescans the
 * inbox; a {@linkcode PollScheduler} types one line per burst, not before the
 * client shows its prompt and its output has settled, and never while the
 * user has a half-typed line (keystrokes since the last Enter). Input the user types while a line
 * is being typed is held back and sent after it.
 *
 * Exit: the client's exit code is returned (128 + signal when killed), and
 * the session is unregistered (its pending messages kept as dead letters
 * for the alias's next registration). A
 * client started by `restart-me` that dies within `fastExitMs` with an error
 * is started again after a growing pause, a few times, then its code is
 * returned. Two Ctrl-C within 2 s stop the client and end the harness (each
 * Ctrl-C still reaches the client first).
 *
 * Requires `--allow-ffi`, and `--allow-read` and `--allow-write` on the
 * broker root (see `flags.ts`).
 *
 * @module
 */

import { C2cError } from "../lib/errors.ts";
import { basename } from "node:path";
import { Broker } from "../lib/broker.ts";
import type { SessionLease } from "../lib/store/store.ts";
import { type ClientProfile, clientProfile, CLIENTS } from "./clients.ts";
import { controlDir, HarnessControl } from "./control.ts";
import { DirWatcher } from "./dir_watcher.ts";
import { InboxScanner } from "./inbox_scanner.ts";
import { PasteModeWatch, typePollLine } from "./injector.ts";
import { LineTracker } from "./line_tracker.ts";
import { PollScheduler } from "./poll_scheduler.ts";
import { ReadyWatch } from "./ready_watch.ts";
import { type ExitStatus, Pty, PtyError } from "./pty.ts";
import { UserTerminal } from "./terminal.ts";

/** Options of {@linkcode runHarness}. */
export interface HarnessOptions {
  /** Absolute broker root (this machine's directory). */
  root: string;
  /** The broker (default: the file store at `root`). */
  broker?: Broker;
  /** Client name (`claude-code`, `codex`, `opencode`, `gemini`, `kimi`, `crush`, `generic`). */
  client: string;
  /** Alias to register; default: the one the broker generates. */
  alias?: string;
  /** Program to start instead of the client's usual one. */
  command?: string;
  /** Arguments for the client (for `generic` without `command`: the program first). */
  args?: readonly string[];
  /** Remind after this long when new messages pile up unread (ms, default 60 s). */
  remindMs?: number;
  /** A restarted client dying sooner than this counts as a fast exit (ms, default 3 s). */
  fastExitMs?: number;
  /** Fast exits retried before giving up (default 3). */
  maxFastRestarts?: number;
  /** Grace between SIGHUP, SIGTERM and SIGKILL when stopping the client (ms, default 1.5 s). */
  stopStepMs?: number;
}

/** A harness that cannot start: unknown client, missing program, alias taken. */
export class HarnessError extends C2cError {
  /**
   * Creates the error.
   *
   * @param message What is wrong and what to do.
   */
  constructor(message: string) {
    super("harness", message);
  }
}

/** Two Ctrl-C within this window end the harness. */
export const DOUBLE_INTERRUPT_MS = 2000;
// Before the first poll line, the client must have shown its prompt (its
// ready text, if it has one) and its output must have been quiet this long;
// past the cap, a client that never looks ready is typed into anyway.
const SETTLE_MS = 200;
const READY_CAP_MS = 20_000;
const READY_RECHECK_MS = 250;
const FIRST_BACKOFF_MS = 500;

type HarnessEvent =
  | { kind: "restart" }
  | { kind: "shutdown"; reason: string };

interface Child {
  pty: Pty;
  startedAt: number;
  readyAt: number;
  ready: boolean;
  lastOutputAt: number;
  paste: PasteModeWatch;
  prompt: ReadyWatch;
  relay: Promise<void>;
}

/**
 * Runs a client under the harness until it exits (or two Ctrl-C).
 *
 * Requires `--allow-ffi` and read/write on the broker root. The caller should `Deno.exit` with the result: a read
 * of stdin may still be pending.
 *
 * @param options Root, client, alias and client arguments.
 * @returns The client's exit code (128 + signal when a signal killed it).
 * @throws {HarnessError} When the client is unknown or the alias is held by
 * another live session.
 *
 * @example Usage
 * ```ts ignore
 * import { runHarness } from "./harness.ts";
 * const code = await runHarness({
 *   root: "/repo/.git/c2c/mcp",
 *   client: "codex",
 *   alias: "codex-alice",
 *   args: ["--model", "o4-mini"],
 * });
 * Deno.exit(code);
 * ```
 */
export async function runHarness(options: HarnessOptions): Promise<number> {
  const profile = clientProfile(options.client);
  if (!profile) {
    throw new HarnessError(
      `unknown client '${options.client}'; one of: ${
        Object.keys(CLIENTS).join(", ")
      }`,
    );
  }
  const args = [...(options.args ?? [])];
  const command = options.command || profile.command || args.shift();
  if (!command) {
    throw new HarnessError(
      "the generic client needs a program: c2c run generic -- <program> [args…]",
    );
  }
  return await new Harness(options, profile, command, args).run();
}

class Harness {
  readonly #options: HarnessOptions;
  readonly #profile: ClientProfile;
  readonly #command: string;
  readonly #name: string;
  readonly #args: readonly string[];
  readonly #broker: Broker;
  readonly #scanner: InboxScanner;
  readonly #tracker = new LineTracker();
  readonly #terminal = new UserTerminal();
  #control: HarnessControl | null = null;
  #scheduler: PollScheduler | null = null;
  #watcher: DirWatcher | null = null;
  #session: { id: string; lease: SessionLease } | null = null;
  #signal: Disposable | undefined;
  #alias: string | undefined;
  #child: Child | null = null;
  #injecting = false;
  #held: Uint8Array[] = [];
  #interrupts: number[] = [];
  #event: HarnessEvent | null = null;
  #eventSignal = Promise.withResolvers<void>();

  constructor(
    options: HarnessOptions,
    profile: ClientProfile,
    command: string,
    args: readonly string[],
  ) {
    this.#options = options;
    this.#profile = profile;
    this.#command = command;
    this.#name = basename(command);
    this.#args = args;
    this.#alias = options.alias;
    this.#broker = options.broker ?? new Broker({ root: options.root });
    this.#scanner = new InboxScanner(this.#broker);
  }

  async run(): Promise<number> {
    try {
      this.#control = HarnessControl.create(this.#options.root);
      await this.#newSession();
      this.#scheduler = new PollScheduler({
        inject: (count) => this.#inject(count),
        gate: () => this.#gate(),
        remindMs: this.#options.remindMs,
      });
      this.#watcher = new DirWatcher({
        paths: [this.#options.root, controlDir(this.#options.root)],
        onChange: () => this.#rescan(),
      });
      this.#terminal.log(
        `c2c run: ${this.#profile.name} as '${this.#alias}' ` +
          `(session ${this.#session?.id}); Ctrl-C twice within 2 s quits`,
      );
      this.#terminal.enterRaw();
      this.#terminal.onResize((size) => this.#child?.pty.resize(size));
      this.#terminal.onSignal("SIGINT", () => this.#onInput(CTRL_C));
      for (const signal of ["SIGTERM", "SIGHUP"] as const) {
        this.#terminal.onSignal(
          signal,
          () => this.#post({ kind: "shutdown", reason: signal }),
        );
      }
      void this.#relayStdin();
      return await this.#loop();
    } finally {
      this.#cleanup();
      await this.#unregister();
    }
  }

  /**
   * A harness that ends (the client exited, two Ctrl-C, SIGTERM) leaves no
   * dead registration behind: its session goes as a sweep would take it,
   * pending messages to the dead letters, returned when the alias registers
   * again. A harness killed outright cannot do this; `c2c sweep` does.
   */
  async #unregister(): Promise<void> {
    const session = this.#session;
    if (!session) return;
    try {
      await this.#broker.unregister(session.id);
    } catch { /* a broker file gone bad: the registration reads dead */ }
  }

  async #loop(): Promise<number> {
    let restarted = false;
    let fastExits = 0;
    for (;;) {
      const child = this.#spawn();
      await this.#noteClientPid(child.pty.pid);
      this.#rescan();
      const outcome = await Promise.race([
        child.pty.exited,
        this.#eventSignal.promise.then(() => null),
      ]);
      if (outcome) {
        await this.#finish(child);
        const ranMs = performance.now() - child.startedAt;
        const fast = ranMs < (this.#options.fastExitMs ?? 3000) &&
          outcome.code !== 0;
        if (restarted && fast) {
          if (fastExits < (this.#options.maxFastRestarts ?? 3)) {
            const wait = FIRST_BACKOFF_MS * 2 ** fastExits++;
            this.#terminal.log(
              `c2c run: ${this.#name} exited after ${
                Math.round(ranMs)
              } ms (code ${outcome.code}); starting it again in ${wait} ms`,
            );
            if (await this.#sleepUnlessEvent(wait)) {
              return outcome.code;
            }
            await this.#newSession();
            continue;
          }
          this.#terminal.log(
            `c2c run: ${this.#name} keeps exiting at once (code ${outcome.code}); giving up`,
          );
        }
        return outcome.code;
      }
      const event = this.#takeEvent();
      if (event?.kind === "restart") {
        this.#terminal.log(
          `c2c run: restarting ${this.#name} (restart-me)`,
        );
        await this.#stop(child);
        if (performance.now() - child.startedAt >= 10_000) fastExits = 0;
        restarted = true;
        await this.#newSession();
        continue;
      }
      this.#terminal.log(`c2c run: stopping ${this.#name} (${event?.reason})`);
      return (await this.#stop(child)).code;
    }
  }

  /** Waits `ms`; `true` when a shutdown came meanwhile. */
  async #sleepUnlessEvent(ms: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      new Promise((resolve) => timer = setTimeout(resolve, ms)),
      this.#eventSignal.promise,
    ]);
    clearTimeout(timer);
    const event = this.#takeEvent();
    return event?.kind === "shutdown";
  }

  #post(event: HarnessEvent): void {
    // A shutdown is never replaced by a restart that comes after it.
    if (this.#event?.kind === "shutdown") return;
    this.#event = event;
    this.#eventSignal.resolve();
  }

  #takeEvent(): HarnessEvent | null {
    const event = this.#event;
    this.#event = null;
    this.#eventSignal = Promise.withResolvers<void>();
    return event;
  }

  /** Takes a fresh session id and lease, and registers the alias under it. */
  async #newSession(): Promise<void> {
    const id = crypto.randomUUID();
    const lease = await this.#broker.acquireLease(id);
    // The old lease goes first: the alias can only move off a dead session.
    this.#session?.lease.release();
    this.#signal?.[Symbol.dispose]();
    this.#session = { id, lease };
    // With a store whose local signal is not the inbox (NATS), keep it.
    this.#signal = this.#broker.store.watchSignal?.(id);
    try {
      const result = await this.#broker.register(id, {
        alias: this.#alias,
        client: this.#profile.name,
        leased: true,
        wake: { path: "harness", harness_pid: Deno.pid },
      });
      this.#alias = result.alias;
    } catch (e) {
      lease.release();
      this.#session = null;
      throw new HarnessError((e as Error).message);
    }
    this.#scheduler?.reset();
  }

  async #noteClientPid(pid: number): Promise<void> {
    const session = this.#session;
    if (!session) return;
    try {
      await this.#broker.register(session.id, {
        alias: this.#alias,
        pid,
        leased: true,
      });
    } catch { /* the registration stands without the pid */ }
  }

  #childEnv(): Record<string, string | undefined> {
    const id = this.#session?.id;
    const env: Record<string, string | undefined> = {
      C2C_MCP_BROKER_ROOT: this.#options.root,
      C2C_MCP_SESSION_ID: id,
      C2C_SESSION_ID: id,
      C2C_HARNESS_SESSION_ID: id,
      C2C_MCP_AUTO_REGISTER_ALIAS: this.#alias,
      C2C_ALIAS: this.#alias,
      C2C_MCP_CLIENT: this.#profile.name === "generic"
        ? undefined
        : this.#profile.name,
      C2C_HARNESS_CONTROL: this.#control?.path,
      C2C_HARNESS_CLIENT: this.#profile.name,
      // Set by the launcher for the CLI; the client's server must not see it.
      C2C_MCP_CLIENT_PID: undefined,
      C2C_LAUNCH_ROOT_ERROR: undefined,
    };
    return env;
  }

  #spawn(): Child {
    let pty: Pty;
    try {
      pty = Pty.spawn({
        command: this.#command,
        args: this.#args,
        env: this.#childEnv(),
        // A TUI needs TERM; the user's own value wins.
        envDefaults: { TERM: "xterm-256color" },
        ...(this.#terminal.size() ?? { cols: 80, rows: 24 }),
      });
    } catch (e) {
      if (e instanceof PtyError) throw new HarnessError(e.message);
      throw e;
    }
    const now = performance.now();
    const child: Child = {
      pty,
      startedAt: now,
      readyAt: now + this.#profile.startupDelayMs,
      ready: false,
      lastOutputAt: -1,
      paste: new PasteModeWatch(),
      prompt: new ReadyWatch(this.#profile.readyText),
      relay: Promise.resolve(),
    };
    child.relay = this.#relayOutput(child);
    this.#child = child;
    return child;
  }

  async #relayOutput(child: Child): Promise<void> {
    try {
      for await (const chunk of child.pty.readable) {
        child.lastOutputAt = performance.now();
        child.paste.feed(chunk);
        if (child.prompt.feed(chunk)) this.#scheduler?.retry();
        await this.#terminal.write(chunk);
      }
    } catch { /* the pty was closed under us */ }
  }

  /**
   * Waits for the output to drain, then closes the pty (which hangs up any
   * descendant still attached to it).
   */
  async #finish(child: Child): Promise<void> {
    await child.relay;
    child.pty.close();
    if (this.#child === child) this.#child = null;
  }

  /** Hangs up the client, then TERM, then KILL, each after a grace period. */
  async #stop(child: Child): Promise<ExitStatus> {
    const step = this.#options.stopStepMs ?? 1500;
    for (const signal of ["SIGHUP", "SIGTERM", "SIGKILL"]) {
      child.pty.kill(signal);
      if (signal === "SIGHUP") child.pty.kill("SIGCONT"); // if it was stopped
      let timer: ReturnType<typeof setTimeout> | undefined;
      const status = await Promise.race([
        child.pty.exited,
        new Promise<null>((resolve) => timer = setTimeout(resolve, step, null)),
      ]);
      clearTimeout(timer);
      if (status) {
        await this.#finish(child);
        return status;
      }
    }
    const status = await child.pty.exited;
    await this.#finish(child);
    return status;
  }

  #rescan(): void {
    try {
      if (this.#control?.take().length) this.#post({ kind: "restart" });
    } catch { /* control file unreadable: restart-me will say so */ }
    const session = this.#session;
    const scheduler = this.#scheduler;
    if (!session || !scheduler) return;
    this.#scanner.scan(session.id).then(
      (pending) => scheduler.update(pending),
      () => {/* a corrupt inbox: c2c health reports it; keep running */},
    );
  }

  /** 0 when a poll line may be typed now, else how long to wait. */
  #gate(): number {
    const child = this.#child;
    if (!child || this.#tracker.typing) return Infinity;
    if (child.ready) return 0;
    const now = performance.now();
    if (now < child.readyAt) return child.readyAt - now;
    if (now < child.startedAt + READY_CAP_MS) {
      // Typed too early, the line would be lost in a loading client.
      if (!child.prompt.seen || child.lastOutputAt < 0) return READY_RECHECK_MS;
      const quietFor = now - child.lastOutputAt;
      if (quietFor < SETTLE_MS) return SETTLE_MS - quietFor;
    }
    child.ready = true;
    return 0;
  }

  async #inject(count: number): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#injecting = true;
    try {
      await typePollLine(
        {
          type: (t) => child.pty.write(t),
          submit: () => child.pty.write("\r"),
        },
        this.#profile,
        count,
        this.#profile.bracketedPaste && child.paste.enabled,
      );
    } finally {
      this.#injecting = false;
      for (const chunk of this.#held) child.pty.write(chunk);
      this.#held = [];
    }
  }

  async #relayStdin(): Promise<void> {
    const buffer = new Uint8Array(16 * 1024);
    for (;;) {
      let n: number | null;
      try {
        n = await Deno.stdin.read(buffer);
      } catch {
        return;
      }
      // End of input (a pipe): the client keeps running on what it got.
      if (n === null) return;
      this.#onInput(buffer.slice(0, n));
    }
  }

  #onInput(chunk: Uint8Array): void {
    const keys = this.#tracker.feed(chunk);
    if (this.#injecting) this.#held.push(chunk);
    else this.#child?.pty.write(chunk);
    for (let i = 0; i < keys.interrupts; i++) this.#interrupt();
    // Let the client take the Enter first, then type any waiting poll line.
    if (keys.cleared) setTimeout(() => this.#scheduler?.retry(), 30);
  }

  #interrupt(): void {
    const now = performance.now();
    this.#interrupts = this.#interrupts.filter((t) =>
      now - t < DOUBLE_INTERRUPT_MS
    );
    this.#interrupts.push(now);
    if (this.#interrupts.length >= 2) {
      this.#post({ kind: "shutdown", reason: "Ctrl-C twice" });
    }
  }

  #cleanup(): void {
    this.#scheduler?.dispose();
    this.#watcher?.close();
    this.#terminal.restore();
    this.#child?.pty.close();
    this.#control?.close();
    this.#signal?.[Symbol.dispose]();
    this.#session?.lease.release();
  }
}

const CTRL_C = new Uint8Array([0x03]);
