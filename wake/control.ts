/**
 * The control file of a running harness: how `c2c restart-me`, run by the
 * agent inside a managed client, asks the harness to restart that client.
 *
 * The harness creates `<root>/harness/<id>.ctl` and holds an exclusive lock
 * on it for its whole life, exactly like a session lease: a requester that
 * can take the lock knows the harness is gone, whatever the file says. A
 * request is one JSON line appended to the file; the harness reads the file
 * when the watch reports a change, truncates it (the acknowledgement) and
 * acts. A signal would need `--allow-run` in the requester and SIGUSR1 would
 * open Deno's inspector; a file under the broker root needs no grant beyond
 * the root both processes already have.
 *
 * Requires `--allow-read` and `--allow-write` on the broker root.
 *
 * @module
 */

import { join } from "node:path";
import { openFile } from "../lib/_fs.ts";

/** The environment variable that carries the control file's path. */
export const CONTROL_ENV = "C2C_HARNESS_CONTROL";

/** Directory of control files under the broker root. */
export const CONTROL_DIR = "harness";

/** A request to the harness. */
export interface ControlRequest {
  /** What to do: `restart` the client with the same arguments. */
  op: "restart";
  /** When it was asked (ISO-8601). */
  ts: string;
  /** The requester's session, when known. */
  session_id?: string;
}

/**
 * Creates the control directory (0700), refusing a symlink planted there.
 *
 * @param root Broker root.
 * @returns The directory's path.
 */
export function controlDir(root: string): string {
  const dir = join(root, CONTROL_DIR);
  try {
    Deno.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
  }
  if (Deno.lstatSync(dir).isSymlink) {
    throw new Error(`${dir} is a symlink; c2c refuses symlinked directories`);
  }
  return dir;
}

/**
 * The harness side: owns and locks one control file.
 *
 * @example Usage
 * ```ts ignore
 * import { HarnessControl } from "./control.ts";
 * using control = HarnessControl.create("/repo/.git/c2c/mcp");
 * // export control.path to the client as C2C_HARNESS_CONTROL, then on change:
 * for (const request of control.take()) console.log(request.op);
 * ```
 */
export class HarnessControl implements Disposable {
  /** Absolute path of the control file. */
  readonly path: string;
  #file: Deno.FsFile | null;

  private constructor(path: string, file: Deno.FsFile) {
    this.path = path;
    this.#file = file;
  }

  /**
   * Creates and locks a fresh control file, first removing those of dead
   * harnesses (files nobody holds locked).
   *
   * @param root Broker root.
   * @returns The held control file.
   */
  static create(root: string): HarnessControl {
    const dir = controlDir(root);
    removeStale(dir);
    const path = join(dir, `${crypto.randomUUID()}.ctl`);
    const file = Deno.openSync(path, {
      read: true,
      write: true,
      createNew: true,
      mode: 0o600,
    });
    if (!file.tryLockSync(true)) {
      file.close();
      throw new Error(`cannot lock the new control file ${path}`);
    }
    return new HarnessControl(path, file);
  }

  /**
   * Reads and clears pending requests (clearing is the acknowledgement).
   *
   * @returns Requests in the order they were made; malformed lines dropped.
   */
  take(): ControlRequest[] {
    const file = this.#file;
    if (!file) return [];
    const size = file.statSync().size;
    if (size === 0) return [];
    file.seekSync(0, Deno.SeekMode.Start);
    const buffer = new Uint8Array(size);
    let read = 0;
    while (read < size) {
      const n = file.readSync(buffer.subarray(read));
      if (n === null) break;
      read += n;
    }
    file.truncateSync(0);
    const requests: ControlRequest[] = [];
    for (const line of new TextDecoder().decode(buffer).split("\n")) {
      try {
        const value = JSON.parse(line);
        if (value?.op === "restart") requests.push(value);
      } catch { /* a torn or foreign line: ignore */ }
    }
    return requests;
  }

  /** Releases the lock and removes the file. Idempotent. */
  close(): void {
    if (!this.#file) return;
    try {
      Deno.removeSync(this.path);
    } catch { /* already gone */ }
    this.#file.close();
    this.#file = null;
  }

  /** Closes at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Removes control files whose harness died (nobody holds their lock). */
function removeStale(dir: string): void {
  for (const entry of Deno.readDirSync(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".ctl")) continue;
    const path = join(dir, entry.name);
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, { read: true, write: true });
    } catch {
      continue;
    }
    try {
      if (file.tryLockSync(true)) Deno.removeSync(path);
    } catch {
      /* raced with another sweeper */
    } finally {
      file.close();
    }
  }
}

/** What {@linkcode sendControlRequest} found. */
export type ControlSendResult = "acknowledged" | "sent" | "no-harness";

/**
 * The requester side: appends a request to a harness's control file and
 * waits (up to `waitMs`) for the harness to take it.
 *
 * Requires `--allow-read` and `--allow-write` on the control file.
 *
 * @param path The control file (`C2C_HARNESS_CONTROL`).
 * @param request The request.
 * @param waitMs How long to wait for the acknowledgement.
 * @returns `acknowledged`, `sent` (written, not yet taken), or `no-harness`
 * when the file is missing or nobody holds its lock.
 */
export async function sendControlRequest(
  path: string,
  request: ControlRequest,
  waitMs = 3000,
): Promise<ControlSendResult> {
  // Never through a link: the path comes from the environment.
  const file = openFile(path, { read: true, write: true, append: true });
  if (file === null) return "no-harness";
  try {
    if (file.tryLockSync(true)) {
      file.unlockSync();
      return "no-harness"; // a dead harness's leftover
    }
    file.writeSync(new TextEncoder().encode(JSON.stringify(request) + "\n"));
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      if (file.statSync().size === 0) return "acknowledged";
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return "sent";
  } finally {
    file.close();
  }
}
