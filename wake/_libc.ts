// Private: the libc symbols the pseudo-terminal needs, opened once per process
// through Deno FFI, plus the Linux constants that go with them.
//
// Requires `--allow-ffi` (unscoped: a scoped grant must name the library by
// absolute path, which differs between distributions and architectures).
//
// Only Linux/glibc is supported: the struct sizes and ioctl numbers below are
// those of Linux on x86_64 and aarch64, which agree for everything used here.

/** `open(2)` flags (identical on x86_64 and aarch64 Linux). */
export const O_RDWR = 0o2;
/** Do not make the opened terminal our controlling terminal. */
export const O_NOCTTY = 0o400;
/** Non-blocking reads and writes. */
export const O_NONBLOCK = 0o4000;
/** Close on exec, so no descriptor leaks into the client. */
export const O_CLOEXEC = 0o2000000;

/** `poll(2)` event bits. */
export const POLLIN = 0x1;
/** Writable without blocking. */
export const POLLOUT = 0x4;
/** Error condition. */
export const POLLERR = 0x8;
/** Hang-up: the other side of the terminal is gone. */
export const POLLHUP = 0x10;
/** Invalid descriptor. */
export const POLLNVAL = 0x20;

/** `ioctl` requests on a terminal. */
export const TIOCGWINSZ = 0x5413;
/** Sets the window size; the kernel sends SIGWINCH to the foreground group. */
export const TIOCSWINSZ = 0x5414;

/** `errno` values the I/O loop tells apart. */
export const EINTR = 4;
/** `read` on a pty master whose slave side is fully closed. */
export const EIO = 5;
/** No data (or no room) right now on a non-blocking descriptor. */
export const EAGAIN = 11;

/** `posix_spawnattr_setflags` bits (glibc). */
export const POSIX_SPAWN_SETSIGDEF = 0x04;
/** Apply the attribute's signal mask to the child. */
export const POSIX_SPAWN_SETSIGMASK = 0x08;
/** The child starts a new session (and so can take a controlling tty). */
export const POSIX_SPAWN_SETSID = 0x80;

// Opaque glibc structs are allocated with room to spare: 336 bytes for
// posix_spawnattr_t and 80 for posix_spawn_file_actions_t on x86_64 today.
/** Bytes allocated for a `posix_spawnattr_t`. */
export const SPAWNATTR_BYTES = 1024;
/** Bytes allocated for a `posix_spawn_file_actions_t`. */
export const FILE_ACTIONS_BYTES = 512;
/** Bytes of a `sigset_t` (1024 bits). */
export const SIGSET_BYTES = 128;

const SYMBOLS = {
  environ: { type: "pointer" },
  posix_openpt: { parameters: ["i32"], result: "i32" },
  grantpt: { parameters: ["i32"], result: "i32" },
  unlockpt: { parameters: ["i32"], result: "i32" },
  ptsname_r: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  kill: { parameters: ["i32", "i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  // Blocking calls run on a worker thread and resolve a promise, so the event
  // loop never stalls while the pty is quiet or the child is running.
  poll_blocking: {
    name: "poll",
    parameters: ["buffer", "u64", "i32"],
    result: "i32",
    nonblocking: true,
  },
  waitpid_blocking: {
    name: "waitpid",
    parameters: ["i32", "buffer", "i32"],
    result: "i32",
    nonblocking: true,
  },
  sigemptyset: { parameters: ["buffer"], result: "i32" },
  posix_spawnattr_init: { parameters: ["buffer"], result: "i32" },
  posix_spawnattr_destroy: { parameters: ["buffer"], result: "i32" },
  posix_spawnattr_setflags: { parameters: ["buffer", "i16"], result: "i32" },
  posix_spawnattr_setsigdefault: {
    parameters: ["buffer", "buffer"],
    result: "i32",
  },
  posix_spawnattr_setsigmask: {
    parameters: ["buffer", "buffer"],
    result: "i32",
  },
  posix_spawn_file_actions_init: { parameters: ["buffer"], result: "i32" },
  posix_spawn_file_actions_destroy: { parameters: ["buffer"], result: "i32" },
  posix_spawn_file_actions_addopen: {
    parameters: ["buffer", "i32", "buffer", "i32", "u32"],
    result: "i32",
  },
  posix_spawn_file_actions_adddup2: {
    parameters: ["buffer", "i32", "i32"],
    result: "i32",
  },
  posix_spawnp: {
    parameters: ["buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** The opened libc symbols. */
export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let lib: Deno.DynamicLibrary<typeof SYMBOLS> | null = null;

/** Opens libc on first use (requires `--allow-ffi`). */
export function libc(): Libc {
  if (Deno.build.os !== "linux") {
    throw new Error(
      `the c2c pseudo-terminal needs Linux (glibc); this is ${Deno.build.os}`,
    );
  }
  lib ??= Deno.dlopen("libc.so.6", SYMBOLS);
  return lib.symbols;
}

/** The calling thread's `errno`, read right after a failed call. */
export function errno(): number {
  const at = libc().__errno_location();
  return at ? new Deno.UnsafePointerView(at).getInt32(0) : 0;
}

/** A NUL-terminated copy of `text`, for `char *` parameters. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  const bytes = new TextEncoder().encode(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/**
 * A NULL-terminated `char *[]` over `strings`. The returned `keep` array holds
 * the string buffers: keep it reachable until the call that uses the array
 * returns, or the pointers would dangle.
 */
export function cStringArray(
  strings: readonly string[],
): { array: BigUint64Array<ArrayBuffer>; keep: Uint8Array[] } {
  const keep = strings.map(cString);
  const array = new BigUint64Array(keep.length + 1);
  keep.forEach((buffer, i) => {
    array[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer)));
  });
  return { array, keep };
}

/**
 * Marks buffers as used after an FFI call that read pointers into them, so the
 * collector cannot free them while the call runs.
 */
export function keepAlive(..._buffers: unknown[]): void {}

/**
 * This process's own environment, read from libc's `environ`. The client must
 * get the user's whole environment (PATH, HOME, API keys…), and asking Deno
 * for it would need `--allow-env` on every variable; with FFI granted, reading
 * `environ` directly grants nothing `--allow-ffi` did not already, and keeps
 * the Deno-level env grant to the few variables c2c itself interprets.
 */
export function processEnviron(): string[] {
  const at = libc().environ as Deno.PointerValue;
  if (!at) return [];
  const envp = new Deno.UnsafePointerView(at).getPointer(0);
  if (!envp) return [];
  const view = new Deno.UnsafePointerView(envp);
  const out: string[] = [];
  for (let i = 0;; i++) {
    const entry = view.getPointer(i * 8);
    if (!entry) break;
    out.push(Deno.UnsafePointerView.getCString(entry));
  }
  return out;
}
