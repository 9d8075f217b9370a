// Private: the libc symbols the pseudo-terminal needs, opened once per process
// through Deno FFI, plus the Linux constants that go with them.
//
// Requires `--allow-ffi`, or `--allow-ffi=<path>` with that path in
// `C2C_LIBC`: Deno matches a scoped grant against the exact string given to
// dlopen, so the launcher (bin/c2c) finds libc, grants it and names it here.
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
  // Addresses travel as plain integers, and memory is read with memcpy and
  // strlen: Deno allows Deno.UnsafePointer and UnsafePointerView only under
  // an unscoped --allow-ffi (denoland/deno#15511), and c2c run's grant is
  // scoped to libc.
  __errno_location: { parameters: [], result: "u64" },
  /** `memmove(buf, buf, 0)` returns `buf`: a buffer's address. */
  address_of: {
    name: "memmove",
    parameters: ["buffer", "buffer", "usize"],
    result: "u64",
  },
  /** Copies `n` bytes at an address into a buffer. */
  copy_from: {
    name: "memcpy",
    parameters: ["buffer", "u64", "usize"],
    result: "u64",
  },
  /** The address held by a pointer-sized static (`environ`). */
  copy_static: {
    name: "memcpy",
    parameters: ["buffer", "pointer", "usize"],
    result: "u64",
  },
  strlen: { parameters: ["u64"], result: "usize" },
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

/** Opens libc on first use (requires `--allow-ffi`, see above). */
export function libc(): Libc {
  if (Deno.build.os !== "linux") {
    throw new Error(
      `the c2c pseudo-terminal needs Linux (glibc); this is ${Deno.build.os}`,
    );
  }
  lib ??= Deno.dlopen(libcPath(), SYMBOLS);
  return lib.symbols;
}

function libcPath(): string {
  try {
    return Deno.env.get("C2C_LIBC") || "libc.so.6";
  } catch {
    return "libc.so.6"; // the variable is not readable: unscoped FFI
  }
}

/** The calling thread's `errno`, read right after a failed call. */
export function errno(): number {
  const c = libc();
  const at = c.__errno_location();
  if (!at) return 0;
  const value = new Int32Array(1);
  c.copy_from(value, BigInt(at), 4n);
  return value[0];
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
  const c = libc();
  keep.forEach((buffer, i) => {
    array[i] = BigInt(c.address_of(buffer, buffer, 0n));
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
  const c = libc();
  const at = c.environ as Deno.PointerValue;
  if (!at) return [];
  const word = new BigUint64Array(1);
  c.copy_static(word, at, 8n);
  const envp = word[0];
  const out: string[] = [];
  const decoder = new TextDecoder();
  for (let i = 0n; envp !== 0n; i++) {
    c.copy_from(word, envp + i * 8n, 8n);
    const entry = word[0];
    if (entry === 0n) break;
    const bytes = new Uint8Array(Number(c.strlen(entry)));
    c.copy_from(bytes, entry, BigInt(bytes.length));
    out.push(decoder.decode(bytes));
  }
  return out;
}
