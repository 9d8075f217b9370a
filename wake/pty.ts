/**
 * A pseudo-terminal through Deno FFI to libc: opens a pty pair, starts a
 * program with the slave side as its controlling terminal and stdio, and gives
 * the master side to the caller as a byte stream.
 *
 * The program is started with `posix_spawnp` in a new session
 * (`POSIX_SPAWN_SETSID`), with every signal back at its default disposition
 * and an empty signal mask: a Deno parent ignores SIGPIPE, and a child that
 * inherited that would misbehave in pipelines. The slave is opened by path in
 * the spawn's file actions, after `setsid`, so it becomes the controlling
 * terminal of the new session (Linux gives a session leader without one the
 * first terminal it opens).
 *
 * Nothing blocks the event loop: the master is non-blocking, and the calls
 * that wait (`poll`, `waitpid`) are FFI symbols marked `nonblocking`, which
 * run on a worker thread and resolve a promise. An idle pty costs no CPU.
 *
 * Requires `--allow-ffi`. Linux only.
 *
 * @example Run a command in a pty
 * ```ts ignore
 * import { Pty } from "./pty.ts";
 * const pty = Pty.spawn({ command: "sh", args: ["-c", "stty size"], cols: 100, rows: 30 });
 * for await (const chunk of pty.readable) console.log(new TextDecoder().decode(chunk)); // "30 100"
 * console.log((await pty.exited).code); // 0
 * pty.close();
 * ```
 *
 * @module
 */

import {
  cString,
  cStringArray,
  EAGAIN,
  EINTR,
  EIO,
  errno,
  FILE_ACTIONS_BYTES,
  keepAlive,
  libc,
  O_CLOEXEC,
  O_NOCTTY,
  O_NONBLOCK,
  O_RDWR,
  POLLIN,
  POLLOUT,
  POSIX_SPAWN_SETSID,
  POSIX_SPAWN_SETSIGDEF,
  POSIX_SPAWN_SETSIGMASK,
  processEnviron,
  SIGSET_BYTES,
  SPAWNATTR_BYTES,
  TIOCGWINSZ,
  TIOCSWINSZ,
} from "./_libc.ts";

/** How a child ended. */
export interface ExitStatus {
  /** Exit code; `128 + signal` when a signal killed it (as shells report). */
  code: number;
  /** The signal that killed it, or `null` when it exited. */
  signal: number | null;
}

/** A terminal size in character cells. */
export interface WindowSize {
  /** Columns. */
  cols: number;
  /** Rows. */
  rows: number;
}

/** Options of {@linkcode Pty.spawn}. */
export interface PtySpawnOptions {
  /** Program to run, looked up in `PATH` like a shell does. */
  command: string;
  /** Its arguments (without the program name). */
  args?: readonly string[];
  /**
   * Variables to set on top of this process's environment; `undefined`
   * removes a variable.
   */
  env?: Readonly<Record<string, string | undefined>>;
  /** Start from an empty environment instead of this process's. */
  clearEnv?: boolean;
  /** Variables to set only where the environment lacks them. */
  envDefaults?: Readonly<Record<string, string>>;
  /** Initial columns (default 80). */
  cols?: number;
  /** Initial rows (default 24). */
  rows?: number;
}

/** A failure to open a pty or start the program in it. */
export class PtyError extends Error {
  /** The `errno` value behind the failure, when there is one. */
  readonly errno: number;

  /**
   * Creates the error.
   *
   * @param message What failed, and what to do about it.
   * @param code The `errno` value.
   */
  constructor(message: string, code = 0) {
    super(message);
    this.name = "PtyError";
    this.errno = code;
  }
}

/** Signal numbers by name (Linux), for {@linkcode Pty.kill}. */
export const SIGNALS: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGUSR2: 12,
  SIGTERM: 15,
  SIGCONT: 18,
  SIGWINCH: 28,
};

const READ_CHUNK = 64 * 1024;
// How long the writer waits for room before checking for close again.
const WRITE_POLL_MS = 200;

/**
 * A program running in a pseudo-terminal that this process owns.
 *
 * Read the program's output from {@linkcode Pty.readable}; type into it with
 * {@linkcode Pty.write}; {@linkcode Pty.exited} settles when it ends. Call
 * {@linkcode Pty.close} once done (after `exited`), which also hangs up any
 * process still attached to the terminal.
 */
export class Pty {
  /** The child's pid; also its session and process group id. */
  readonly pid: number;
  /** The slave device path (e.g. `/dev/pts/7`). */
  readonly path: string;
  /** Settles with the child's exit status once it ends. */
  readonly exited: Promise<ExitStatus>;
  /**
   * The program's output. Ends after the child has exited and everything it
   * wrote has been read, or when the pty is closed.
   */
  readonly readable: ReadableStream<Uint8Array<ArrayBuffer>>;

  #master: number;
  #slave: number;
  #wakeRead: number;
  #wakeWrite: number;
  #closed = false;
  #ended = false;
  #inFlight = 0;
  #pending: Uint8Array[] = [];
  #writer: Promise<void> | null = null;
  #readBuffer = new Uint8Array(READ_CHUNK);
  #released = Promise.withResolvers<void>();

  private constructor(
    pid: number,
    path: string,
    fds: { master: number; slave: number; wakeRead: number; wakeWrite: number },
  ) {
    this.pid = pid;
    this.path = path;
    this.#master = fds.master;
    this.#slave = fds.slave;
    this.#wakeRead = fds.wakeRead;
    this.#wakeWrite = fds.wakeWrite;
    this.exited = this.#wait().then((status) => {
      this.#ended = true;
      this.#wake(); // the reader drains what is left, then ends the stream
      return status;
    });
    this.readable = new ReadableStream<Uint8Array<ArrayBuffer>>({
      pull: (controller) => this.#pull(controller),
      cancel: () => this.close(),
    }, { highWaterMark: 0 });
  }

  /**
   * Opens a pty and starts `options.command` in it.
   *
   * Requires `--allow-ffi`.
   *
   * @param options Program, arguments, environment and initial size.
   * @returns The running program.
   * @throws {PtyError} When no pty can be opened or the program cannot start
   * (e.g. not found in `PATH`).
   */
  static spawn(options: PtySpawnOptions): Pty {
    const c = libc();
    const master = c.posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (master < 0) {
      throw new PtyError("cannot open a pseudo-terminal (/dev/ptmx)", errno());
    }
    const fds: number[] = [master];
    try {
      if (c.grantpt(master) !== 0 || c.unlockpt(master) !== 0) {
        throw new PtyError("cannot unlock the pseudo-terminal", errno());
      }
      const name = new Uint8Array(128);
      const rc = c.ptsname_r(master, name, BigInt(name.length));
      if (rc !== 0) throw new PtyError("cannot name the pseudo-terminal", rc);
      const path = new TextDecoder().decode(name.subarray(0, name.indexOf(0)));
      setSize(master, { cols: options.cols ?? 80, rows: options.rows ?? 24 });
      // Holding a slave descriptor ourselves keeps the master readable (no
      // EIO, no endless POLLHUP) between the child's exit and our last read.
      const slave = c.open(cString(path), O_RDWR | O_NOCTTY | O_CLOEXEC, 0);
      if (slave < 0) throw new PtyError(`cannot open ${path}`, errno());
      fds.push(slave);
      const pipe = new Int32Array(2);
      if (c.pipe2(new Uint8Array(pipe.buffer), O_CLOEXEC | O_NONBLOCK) !== 0) {
        throw new PtyError("cannot create a pipe", errno());
      }
      fds.push(pipe[0], pipe[1]);
      const pid = spawnOn(path, options);
      return new Pty(pid, path, {
        master,
        slave,
        wakeRead: pipe[0],
        wakeWrite: pipe[1],
      });
    } catch (e) {
      for (const fd of fds) c.close(fd);
      throw e;
    }
  }

  /** Whether {@linkcode Pty.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Types `data` into the program (queued; never blocks). Bytes are written
   * in order; what the terminal cannot take now is written when it can.
   *
   * @param data Bytes, or text encoded as UTF-8.
   */
  write(data: Uint8Array | string): void {
    if (this.#closed) return;
    const bytes = typeof data === "string"
      ? new TextEncoder().encode(data)
      : data;
    if (bytes.length === 0) return;
    this.#pending.push(bytes);
    if (!this.#writer) {
      this.#flush();
      if (this.#pending.length > 0) this.#writer = this.#drainWrites();
    }
  }

  /**
   * Sets the terminal size; the kernel tells the program with SIGWINCH.
   *
   * @param size Columns and rows.
   */
  resize(size: WindowSize): void {
    if (!this.#closed) setSize(this.#master, size);
  }

  /**
   * Reads the terminal size.
   *
   * @returns Columns and rows.
   */
  size(): WindowSize {
    return getSize(this.#master) ?? { cols: 0, rows: 0 };
  }

  /**
   * Sends a signal to the program's whole process group (it leads a session
   * of its own), or to the program alone.
   *
   * @param signal Signal name or number (default SIGTERM).
   * @param group Signal the whole group (default `true`).
   * @returns Whether the signal was sent.
   */
  kill(signal: number | string = "SIGTERM", group = true): boolean {
    if (this.#ended) return false;
    const number = typeof signal === "number" ? signal : SIGNALS[signal];
    if (number === undefined) throw new TypeError(`unknown signal ${signal}`);
    return libc().kill(group ? -this.pid : this.pid, number) === 0;
  }

  /**
   * Closes the terminal. Processes still attached to it get SIGHUP; the
   * output stream ends. Idempotent.
   *
   * @returns Settles once the descriptors are closed (no worker thread polls
   * them any more); callers that do not care need not wait.
   */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#pending = [];
      this.#wake();
      this.#release();
    }
    return this.#released.promise;
  }

  /** Closes the descriptors once no worker thread is polling them. */
  #release(): void {
    if (!this.#closed || this.#inFlight > 0 || this.#master < 0) return;
    const c = libc();
    for (const fd of [this.#master, this.#slave, this.#wakeRead]) c.close(fd);
    c.close(this.#wakeWrite);
    this.#master =
      this.#slave =
      this.#wakeRead =
      this.#wakeWrite =
        -1;
    this.#released.resolve();
  }

  #wake(): void {
    if (this.#wakeWrite >= 0) {
      libc().write(this.#wakeWrite, new Uint8Array(1), 1n);
    }
  }

  async #pull(
    controller: ReadableStreamDefaultController<Uint8Array<ArrayBuffer>>,
  ): Promise<void> {
    for (;;) {
      if (this.#closed) return controller.close();
      const chunk = this.#readOnce();
      if (chunk === "eof") return controller.close();
      if (chunk) return controller.enqueue(chunk);
      // Everything written before the exit has been read.
      if (this.#ended) return controller.close();
      await this.#poll(
        [[this.#master, POLLIN], [this.#wakeRead, POLLIN]],
        -1,
      );
      this.#drainWakePipe();
    }
  }

  /** One non-blocking read: bytes, `null` (nothing now) or `"eof"`. */
  #readOnce(): Uint8Array<ArrayBuffer> | null | "eof" {
    const c = libc();
    for (;;) {
      const n = Number(
        c.read(this.#master, this.#readBuffer, BigInt(READ_CHUNK)),
      );
      if (n > 0) return this.#readBuffer.slice(0, n);
      if (n === 0) return "eof";
      const code = errno();
      if (code === EINTR) continue;
      if (code === EAGAIN) return null;
      if (code === EIO) return "eof"; // no slave side left
      throw new PtyError(`read from the pseudo-terminal failed`, code);
    }
  }

  #drainWakePipe(): void {
    if (this.#wakeRead < 0) return;
    const scratch = new Uint8Array(64);
    while (Number(libc().read(this.#wakeRead, scratch, 64n)) > 0) {
      // keep draining
    }
  }

  /** Writes what the terminal takes now; leaves the rest queued. */
  #flush(): void {
    const c = libc();
    while (this.#pending.length > 0 && !this.#closed) {
      const head = this.#pending[0];
      const n = Number(c.write(this.#master, head, BigInt(head.length)));
      if (n < 0) {
        const code = errno();
        if (code === EINTR) continue;
        if (code === EAGAIN) return;
        // The terminal is gone (child exited and hung up): drop the input.
        this.#pending = [];
        return;
      }
      if (n === head.length) this.#pending.shift();
      else this.#pending[0] = head.subarray(n);
    }
  }

  async #drainWrites(): Promise<void> {
    try {
      while (this.#pending.length > 0 && !this.#closed) {
        await this.#poll([[this.#master, POLLOUT]], WRITE_POLL_MS);
        this.#flush();
      }
    } finally {
      this.#writer = null;
    }
  }

  async #poll(
    fds: readonly [number, number][],
    timeoutMs: number,
  ): Promise<void> {
    if (this.#closed) return;
    const buffer = new Uint8Array(8 * fds.length);
    const view = new DataView(buffer.buffer);
    fds.forEach(([fd, events], i) => {
      view.setInt32(i * 8, fd, true);
      view.setInt16(i * 8 + 4, events, true);
    });
    this.#inFlight++;
    try {
      await libc().poll_blocking(buffer, BigInt(fds.length), timeoutMs);
    } finally {
      this.#inFlight--;
      this.#release();
    }
  }

  async #wait(): Promise<ExitStatus> {
    const status = new Int32Array(1);
    const bytes = new Uint8Array(status.buffer);
    for (let attempt = 0; attempt < 5; attempt++) {
      const r = await libc().waitpid_blocking(this.pid, bytes, 0);
      if (r === this.pid) return decodeStatus(status[0]);
      // -1: interrupted, or reaped elsewhere; try again, then give up.
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return { code: 255, signal: null };
  }
}

/** Decodes a `waitpid` status word. */
function decodeStatus(status: number): ExitStatus {
  const signal = status & 0x7f;
  if (signal === 0) return { code: (status >> 8) & 0xff, signal: null };
  return { code: 128 + signal, signal };
}

function setSize(fd: number, size: WindowSize): void {
  const winsize = new Uint16Array([
    clampSize(size.rows),
    clampSize(size.cols),
    0,
    0,
  ]);
  libc().ioctl(fd, BigInt(TIOCSWINSZ), new Uint8Array(winsize.buffer));
}

function getSize(fd: number): WindowSize | null {
  const winsize = new Uint16Array(4);
  const rc = libc().ioctl(
    fd,
    BigInt(TIOCGWINSZ),
    new Uint8Array(winsize.buffer),
  );
  return rc === 0 ? { rows: winsize[0], cols: winsize[1] } : null;
}

function clampSize(n: number): number {
  return Math.max(1, Math.min(0xffff, Math.floor(n) || 1));
}

/** Builds `NAME=value` entries: this process's environment plus overrides. */
function environment(options: PtySpawnOptions): string[] {
  const overrides = options.env ?? {};
  const base = options.clearEnv ? [] : processEnviron();
  const kept = base.filter((entry) => {
    const name = entry.slice(0, entry.indexOf("="));
    return !(name in overrides);
  });
  for (const [name, value] of Object.entries(overrides)) {
    if (value !== undefined) kept.push(`${name}=${value}`);
  }
  for (const [name, value] of Object.entries(options.envDefaults ?? {})) {
    if (!kept.some((entry) => entry.startsWith(`${name}=`))) {
      kept.push(`${name}=${value}`);
    }
  }
  return kept;
}

/** Starts the program on the slave at `path`; returns its pid. */
function spawnOn(path: string, options: PtySpawnOptions): number {
  const c = libc();
  const actions = new Uint8Array(FILE_ACTIONS_BYTES);
  const attr = new Uint8Array(SPAWNATTR_BYTES);
  c.posix_spawn_file_actions_init(actions);
  c.posix_spawnattr_init(attr);
  try {
    // fd 0 is opened after setsid, so the slave becomes the controlling tty.
    c.posix_spawn_file_actions_addopen(actions, 0, cString(path), O_RDWR, 0);
    c.posix_spawn_file_actions_adddup2(actions, 0, 1);
    c.posix_spawn_file_actions_adddup2(actions, 0, 2);
    // Every bit set, not sigfillset(): glibc's leaves out its two internal
    // real-time signals, which a Deno parent ignores and exec would keep.
    const all = new Uint8Array(SIGSET_BYTES).fill(0xff);
    c.posix_spawnattr_setsigdefault(attr, all);
    const none = new Uint8Array(SIGSET_BYTES);
    c.sigemptyset(none);
    c.posix_spawnattr_setsigmask(attr, none);
    c.posix_spawnattr_setflags(
      attr,
      POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK,
    );
    const argv = cStringArray([options.command, ...(options.args ?? [])]);
    const envp = cStringArray(environment(options));
    const pid = new Int32Array(1);
    const rc = c.posix_spawnp(
      new Uint8Array(pid.buffer),
      cString(options.command),
      actions,
      attr,
      new Uint8Array(argv.array.buffer),
      new Uint8Array(envp.array.buffer),
    );
    keepAlive(argv.keep, envp.keep);
    if (rc !== 0) {
      throw new PtyError(
        rc === 2
          ? `command not found: ${options.command} (not in PATH)`
          : `cannot start ${options.command} (errno ${rc})`,
        rc,
      );
    }
    return pid[0];
  } finally {
    c.posix_spawn_file_actions_destroy(actions);
    c.posix_spawnattr_destroy(attr);
  }
}
