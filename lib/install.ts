/**
 * `c2c install`: copies this c2c into a version directory of its own, with
 * the pinned Deno binary and a Deno cache that holds its npm packages, writes
 * the `c2c` command (a shim that execs that version's `bin/c2c`), and moves
 * client configs that point at an older version, or at the checkout the
 * install came from, to the new one. Afterwards nothing refers to the
 * checkout: deleting it changes nothing. Layout: `install_paths.ts`.
 *
 * Never `deno compile` (it downloads a runtime). The npm packages are copied
 * from Deno's cache when they are there (offline), and `deno cache` fetches
 * whatever is missing.
 *
 * @module
 */

import { InvalidArgumentError } from "./errors.ts";
import type { EnvReader } from "./session.ts";
import { absolutePath, dirPath, joinPath } from "./_path.ts";
import {
  COMMAND_NAME,
  INSTALLED_DENO,
  INSTALLED_DENO_DIR,
  type InstallLayout,
} from "./install_paths.ts";

export {
  c2cLaunchPaths,
  codeDir,
  COMMAND_NAME,
  denoCacheDir,
  type InstallLayout,
  installLayout,
} from "./install_paths.ts";

/** What an install copies from a checkout: the code that runs, no tests. */
export const INSTALLED_FILES: readonly string[] = [
  "cli.ts",
  "server.ts",
  "launcher.ts",
  "mod.ts",
  "deno.json",
  "deno.lock",
];

/** Directories an install copies whole (regular files only). */
export const INSTALLED_DIRS: readonly string[] = [
  "bin",
  "cli",
  "lib",
  "mcp",
  "setup",
  "wake",
];

/** Marks a complete version directory (written last). */
const MARKER = ".c2c-version.json";

/** Result of {@linkcode installC2c}. */
export interface InstallResult {
  /** `installed` (new command), `updated` (changed) or `unchanged`. */
  status: "installed" | "updated" | "unchanged";
  /** The installed command. */
  command: string;
  /** Directory to put on `PATH`. */
  bin_dir: string;
  /** Whether `bin_dir` is on `PATH` already. */
  on_path: boolean;
  /** The version installed: `<deno.json version>-<content hash>`. */
  version: string;
  /** Its directory. */
  dir: string;
  /** Whether this run wrote the version directory (else it was there). */
  wrote_version: boolean;
  /** The Deno binary the command runs (inside `dir`). */
  deno: string;
  /** Client config files moved to this version (each backed up first). */
  moved_configs: string[];
}

/** Inputs of {@linkcode installC2c}. */
export interface InstallOptions {
  /** The c2c to install (a checkout, or an installed version). */
  codeDir: string;
  /** The Deno binary running now: copied, and run for `deno cache`. */
  denoPath: string;
  /** Where to install. */
  layout: InstallLayout;
  /** Deno's cache to copy npm packages from, or `null`. */
  sourceCache: string | null;
  /** Client config files to move to the new version (user-wide ones). */
  configFiles: readonly string[];
  /** Backup stamp (`<file>.c2c-backup-<stamp>`, as `setup` names them). */
  stamp: string;
  /** Environment (`PATH`). */
  env: EnvReader;
}

/**
 * Installs (or reinstalls) c2c. Idempotent: the version's name comes from
 * its content, so installing the same code again reuses its directory and
 * says `unchanged`.
 *
 * Requires `--allow-read` on the code, the Deno binary, the source cache's
 * `npm/` and the install's directories, `--allow-write` on the install's
 * directories, `--allow-run=<denoPath>`, and read/write on `configFiles`
 * with their `.c2c-tmp` and `.c2c-backup-<stamp>` files.
 *
 * @param options What to install where.
 * @returns What was installed where.
 * @throws {InvalidArgumentError} When the command path holds something
 * that is not c2c's.
 * @throws {Error} When `deno cache` fails (with its last line).
 */
export async function installC2c(
  options: InstallOptions,
): Promise<InstallResult> {
  const { codeDir, layout } = options;
  const files = listFiles(codeDir);
  const version = `${packageVersion(codeDir)}-${await contentHash(
    codeDir,
    files,
  )}`;
  const dir = joinPath(layout.dataDir, version);
  let wrote = false;
  if (!exists(joinPath(dir, MARKER))) {
    await writeVersion(options, files, version, dir);
    wrote = true;
  }
  const status = writeShim(layout.shim, dir);
  const moved = moveConfigs(options, dir);
  const path = options.env("PATH") ?? "";
  return {
    status,
    command: layout.shim,
    bin_dir: layout.binDir,
    on_path: path.split(":").some((p) =>
      p && absolutePath(Deno.cwd(), p) === layout.binDir
    ),
    version,
    dir,
    wrote_version: wrote,
    deno: joinPath(dir, INSTALLED_DENO),
    moved_configs: moved,
  };
}

/** The files to copy, relative to `codeDir`, sorted. */
function listFiles(codeDir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of Deno.readDirSync(joinPath(codeDir, rel))) {
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory) walk(child);
      else if (entry.isFile) out.push(child);
    }
  };
  for (const name of INSTALLED_FILES) {
    if (exists(joinPath(codeDir, name))) out.push(name);
  }
  for (const name of INSTALLED_DIRS) walk(name);
  return out.sort();
}

function packageVersion(codeDir: string): string {
  const config = JSON.parse(
    Deno.readTextFileSync(joinPath(codeDir, "deno.json")),
  );
  const v = String(config.version ?? "0.0.0");
  return /^[0-9A-Za-z.+-]+$/.test(v) ? v : "0.0.0";
}

/** 12 hex digits of SHA-256 over every file's path and bytes. */
async function contentHash(codeDir: string, files: string[]): Promise<string> {
  const parts: Uint8Array[] = [];
  const enc = new TextEncoder();
  for (const f of files) {
    parts.push(enc.encode(`${f}\0`), Deno.readFileSync(joinPath(codeDir, f)));
    parts.push(enc.encode("\0"));
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return [...digest.slice(0, 6)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/**
 * Builds the version directory beside its final place and renames it in,
 * so a half-written version is never used (a crash leaves a `.tmp-` folder
 * that the next install ignores).
 */
async function writeVersion(
  options: InstallOptions,
  files: string[],
  version: string,
  dir: string,
): Promise<void> {
  const { codeDir, layout } = options;
  Deno.mkdirSync(layout.dataDir, { recursive: true });
  const tmp = joinPath(
    layout.dataDir,
    `.${version}.tmp-${crypto.randomUUID().slice(0, 8)}`,
  );
  try {
    for (const f of files) {
      const to = joinPath(tmp, f);
      Deno.mkdirSync(dirPath(to), { recursive: true });
      Deno.copyFileSync(joinPath(codeDir, f), to);
      Deno.chmodSync(to, f.startsWith("bin/") ? 0o755 : 0o644);
    }
    const deno = joinPath(tmp, INSTALLED_DENO);
    if (!linkSameDeno(options.denoPath, layout.dataDir, deno)) {
      Deno.copyFileSync(options.denoPath, deno);
    }
    Deno.chmodSync(deno, 0o755);
    const cache = joinPath(tmp, INSTALLED_DENO_DIR);
    Deno.mkdirSync(cache, { recursive: true });
    if (options.sourceCache) copyNpmPackages(tmp, options.sourceCache, cache);
    await denoCache(options.denoPath, tmp, cache);
    Deno.writeTextFileSync(
      joinPath(tmp, MARKER),
      JSON.stringify({ version, installed_from: codeDir }) + "\n",
    );
    try {
      Deno.renameSync(tmp, dir);
    } catch (e) {
      // Another install of the same version won the race: theirs is
      // identical (same content hash).
      if (!exists(joinPath(dir, MARKER))) throw e;
      Deno.removeSync(tmp, { recursive: true });
    }
  } catch (e) {
    try {
      Deno.removeSync(tmp, { recursive: true });
    } catch { /* nothing to clean */ }
    throw e;
  }
}

/**
 * Hard-links the Deno binary of an earlier version when it is the same file
 * content (95 MB saved per reinstall); `false` when there is none.
 */
function linkSameDeno(source: string, dataDir: string, to: string): boolean {
  const size = Deno.statSync(source).size;
  let bytes: Uint8Array | null = null;
  for (const entry of Deno.readDirSync(dataDir)) {
    if (!entry.isDirectory || entry.name.startsWith(".")) continue;
    const other = joinPath(dataDir, entry.name, INSTALLED_DENO);
    try {
      if (Deno.statSync(other).size !== size) continue;
      bytes ??= Deno.readFileSync(source);
      const theirs = Deno.readFileSync(other);
      if (!bytes.every((b, i) => b === theirs[i])) continue;
      Deno.linkSync(other, to);
      return true;
    } catch {
      continue; // unreadable or another file system: copy instead
    }
  }
  return false;
}

/**
 * Copies the npm packages `deno.lock` names from Deno's cache (those that
 * are there), so that `deno cache` needs the network only for the rest.
 */
function copyNpmPackages(
  code: string,
  sourceCache: string,
  cache: string,
): void {
  const registry = "npm/registry.npmjs.org";
  let lock: { npm?: Record<string, unknown> };
  try {
    lock = JSON.parse(Deno.readTextFileSync(joinPath(code, "deno.lock")));
  } catch {
    return; // no lock file: deno cache fetches everything
  }
  for (const key of Object.keys(lock.npm ?? {})) {
    // "name@1.2.3" or "@scope/name@1.2.3_peer@4.5.6"
    const m = /^(@?[^@]+)@([^_]+)/.exec(key);
    if (!m || m[1].includes("..") || m[2].includes("/")) continue;
    const [, name, version] = m;
    const from = joinPath(sourceCache, registry, name);
    const to = joinPath(cache, registry, name);
    try {
      copyTree(joinPath(from, version), joinPath(to, version));
    } catch {
      continue; // not cached there: deno cache fetches it
    }
    try {
      // Deno keeps the package's registry answer beside it, not always.
      Deno.copyFileSync(
        joinPath(from, "registry.json"),
        joinPath(to, "registry.json"),
      );
    } catch { /* none there: the lock file resolves the version */ }
  }
}

function copyTree(from: string, to: string): void {
  Deno.mkdirSync(to, { recursive: true });
  for (const entry of Deno.readDirSync(from)) {
    const a = joinPath(from, entry.name);
    const b = joinPath(to, entry.name);
    if (entry.isDirectory) copyTree(a, b);
    else if (entry.isFile) Deno.copyFileSync(a, b);
  }
}

/** Completes the cache with every package of the lock file. */
async function denoCache(
  deno: string,
  code: string,
  cache: string,
): Promise<void> {
  const out = await new Deno.Command(deno, {
    args: [
      "cache",
      "--quiet",
      `--config=${joinPath(code, "deno.json")}`,
      joinPath(code, "server.ts"),
      joinPath(code, "cli.ts"),
    ],
    env: { DENO_DIR: cache, NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr).trim();
    const first = text.split("\n").find((l) => l.trim()) ?? "";
    throw new Error(
      `caching c2c's npm packages failed (deno cache, exit ${out.code}): ${first}; reach the npm registry once (or cache them with ./denow task demo) and install again`,
    );
  }
}

/** The command: a shim that execs the version's `bin/c2c`. */
export function shimText(dir: string): string {
  const quoted = `'${
    joinPath(dir, "bin", COMMAND_NAME).replaceAll("'", `'\\''`)
  }'`;
  return `#!/bin/sh\n# c2c: written by c2c install; runs the installed version below.\nexec ${quoted} "$@"\n`;
}

function writeShim(shim: string, dir: string): InstallResult["status"] {
  const text = shimText(dir);
  let before: string | null = null;
  try {
    before = Deno.readTextFileSync(shim);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  // Ours, or the `deno install` shim of older versions (it ran launcher.ts).
  if (before !== null && !/c2c|launcher\.ts/.test(before)) {
    throw new InvalidArgumentError(
      `${shim} exists and is not c2c's; move it away, or install elsewhere with --root DIR`,
    );
  }
  if (before === text) return "unchanged";
  Deno.mkdirSync(dirPath(shim), { recursive: true });
  const tmp = `${shim}.c2c-tmp`;
  Deno.writeTextFileSync(tmp, text, { mode: 0o755 });
  Deno.chmodSync(tmp, 0o755);
  Deno.renameSync(tmp, shim);
  return before === null ? "installed" : "updated";
}

/** The replacements that move a config from `old` to the new version. */
export function relocations(
  options: {
    newDir: string;
    oldVersionDirs: readonly string[];
    checkout: string | null;
    checkoutDeno: string | null;
    sourceCache: string | null;
  },
): [RegExp, string][] {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  const end = String.raw`(?=["'\s,\]]|$)`;
  const out: [RegExp, string][] = [];
  for (const old of options.oldVersionDirs) {
    // Nothing but c2c lives in a version directory.
    out.push([new RegExp(`${esc(old)}/`, "g"), `${options.newDir}/`]);
  }
  if (options.checkoutDeno) {
    out.push([
      new RegExp(esc(options.checkoutDeno) + end, "g"),
      joinPath(options.newDir, INSTALLED_DENO),
    ]);
  }
  if (options.checkout) {
    for (
      const rel of [
        "bin/c2c-mcp",
        "bin/c2c-hook",
        "server.ts",
        "cli.ts",
        "deno.json",
      ]
    ) {
      out.push([
        new RegExp(esc(`${options.checkout}/${rel}`) + end, "g"),
        `${options.newDir}/${rel}`,
      ]);
    }
  }
  if (options.sourceCache) {
    out.push([
      new RegExp(
        String.raw`(DENO_DIR["']?\s*[:=]\s*["']?)` + esc(options.sourceCache) +
          end,
        "g",
      ),
      `$1${joinPath(options.newDir, INSTALLED_DENO_DIR)}`,
    ]);
  }
  return out;
}

function moveConfigs(options: InstallOptions, newDir: string): string[] {
  const { layout } = options;
  const oldVersionDirs: string[] = [];
  for (const entry of Deno.readDirSync(layout.dataDir)) {
    const d = joinPath(layout.dataDir, entry.name);
    if (entry.isDirectory && !entry.name.startsWith(".") && d !== newDir) {
      oldVersionDirs.push(d);
    }
  }
  const fromCheckout = !options.codeDir.startsWith(`${layout.dataDir}/`);
  const rules = relocations({
    newDir,
    oldVersionDirs,
    checkout: fromCheckout ? options.codeDir : null,
    checkoutDeno: fromCheckout ? options.denoPath : null,
    sourceCache: options.sourceCache,
  });
  const moved: string[] = [];
  for (const file of options.configFiles) {
    let text: string;
    let mode: number | null;
    try {
      text = Deno.readTextFileSync(file);
      mode = Deno.statSync(file).mode;
    } catch {
      continue; // no such config: nothing to move
    }
    // Only files that start c2c from somewhere: others stay untouched.
    if (!/c2c/.test(text)) continue;
    let next = text;
    for (const [pattern, to] of rules) next = next.replace(pattern, to);
    if (next === text) continue;
    Deno.copyFileSync(file, `${file}.c2c-backup-${options.stamp}`);
    const tmp = `${file}.c2c-tmp`;
    Deno.writeTextFileSync(tmp, next);
    if (mode !== null) Deno.chmodSync(tmp, mode & 0o777);
    Deno.renameSync(tmp, file);
    moved.push(file);
  }
  return moved;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
