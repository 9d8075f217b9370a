/**
 * Where `c2c install` puts things, and how to tell c2c's own launch paths in
 * a client's config. Pure and free of `node:` imports, so the launcher can
 * grant `install` access to exactly these paths without loading Deno's Node
 * layer.
 *
 * The layout (the `--root DIR` flag moves both parts under DIR, like a
 * prefix):
 *
 * ```
 * ~/.local/bin/c2c                      the command: a shim that execs the version below
 *                                       ($DENO_INSTALL_ROOT/bin/c2c when that is set)
 * ~/.local/share/c2c/<version>/         ($XDG_DATA_HOME/c2c/<version>/)
 *   bin/c2c, bin/c2c-mcp, bin/c2c-hook  the launchers client configs point at
 *   cli.ts, server.ts, lib/, …          the code
 *   deno                                the pinned Deno binary
 *   deno_dir/                           Deno's cache, holding c2c's npm packages
 * ```
 *
 * A version directory never changes once written: a new install writes a new
 * one beside it and moves the shim and the client configs there, so a client
 * still running the old one keeps working, and deleting the checkout the
 * install came from changes nothing.
 *
 * @module
 */

import { InvalidArgumentError } from "./errors.ts";
import type { EnvReader } from "./session.ts";
import { absolutePath, joinPath } from "./_path.ts";

/** Name of the installed command. */
export const COMMAND_NAME = "c2c";

/** Name of the Deno binary inside a version directory. */
export const INSTALLED_DENO = "deno";

/** Name of Deno's cache directory inside a version directory. */
export const INSTALLED_DENO_DIR = "deno_dir";

/** Where an install goes. */
export interface InstallLayout {
  /** Directory of the command (must be on `PATH`). */
  binDir: string;
  /** The command, `<binDir>/c2c`. */
  shim: string;
  /** Directory holding one directory per installed version. */
  dataDir: string;
}

/**
 * The install layout: with `--root DIR`, `DIR/bin/c2c` and `DIR/share/c2c`;
 * otherwise the command goes to `$DENO_INSTALL_ROOT/bin` when that is set
 * (where Deno users look), else `~/.local/bin`, and the versions to
 * `$XDG_DATA_HOME/c2c`, else `~/.local/share/c2c`.
 *
 * @param flag Value of `--root`, if given (relative to the current directory).
 * @param env Environment reader.
 * @returns Absolute paths.
 * @throws {InvalidArgumentError} When neither `--root` nor `HOME` is known
 * (and the variables that would replace it are unset).
 *
 * @example Usage
 * ```ts
 * import { installLayout } from "./install_paths.ts";
 * installLayout(undefined, (n) => n === "HOME" ? "/home/me" : undefined);
 * // { binDir: "/home/me/.local/bin", shim: "/home/me/.local/bin/c2c",
 * //   dataDir: "/home/me/.local/share/c2c" }
 * ```
 */
export function installLayout(
  flag: string | undefined,
  env: EnvReader,
): InstallLayout {
  const home = env("HOME") || undefined;
  const need = (what: string) =>
    new InvalidArgumentError(
      `cannot tell where to install ${what}: pass --root DIR, or set HOME`,
    );
  let binDir: string;
  let dataDir: string;
  if (flag) {
    const root = absolutePath(Deno.cwd(), flag);
    binDir = joinPath(root, "bin");
    dataDir = joinPath(root, "share", "c2c");
  } else {
    const denoRoot = env("DENO_INSTALL_ROOT") || undefined;
    if (denoRoot) binDir = joinPath(absolutePath(Deno.cwd(), denoRoot), "bin");
    else if (home) binDir = joinPath(home, ".local", "bin");
    else throw need("the command");
    const xdg = env("XDG_DATA_HOME") || undefined;
    // The XDG spec ignores a relative XDG_DATA_HOME.
    if (xdg?.startsWith("/")) dataDir = joinPath(xdg, "c2c");
    else if (home) dataDir = joinPath(home, ".local", "share", "c2c");
    else throw need("c2c's files");
  }
  return { binDir, shim: joinPath(binDir, COMMAND_NAME), dataDir };
}

/**
 * Deno's cache directory as Deno finds it: `DENO_DIR`, else
 * `$XDG_CACHE_HOME/deno`, else `~/.cache/deno` (Linux). `install` copies
 * c2c's npm packages from there, so it works offline when they are cached.
 *
 * @param env Environment reader.
 * @returns The absolute directory, or `null` when nothing says where.
 */
export function denoCacheDir(env: EnvReader): string | null {
  const dir = env("DENO_DIR") || undefined;
  if (dir) return absolutePath(Deno.cwd(), dir);
  const xdg = env("XDG_CACHE_HOME") || undefined;
  if (xdg?.startsWith("/")) return joinPath(xdg, "deno");
  const home = env("HOME") || undefined;
  return home ? joinPath(home, ".cache", "deno") : null;
}

/**
 * The directory this c2c runs from (a checkout, or an installed version),
 * holding `cli.ts`, `bin/` and `deno.json`.
 *
 * @returns An absolute path without a trailing slash.
 */
export function codeDir(): string {
  return decodeURIComponent(new URL("../", import.meta.url).pathname)
    .replace(/\/$/, "");
}

/**
 * The absolute paths of c2c launchers a client config's text refers to:
 * `…/bin/c2c-mcp`, `…/bin/c2c-hook`, `…/server.ts` and `…/cli.ts` (the
 * directly started server), and the Deno binary after `--deno`. Pure: the
 * caller decides what to check (e.g. `c2c health`: whether each still
 * exists, since a config that points into a deleted checkout starts nothing).
 *
 * @param text A config file's text (JSON, JSONC or TOML).
 * @returns The paths, each once, in order of appearance.
 *
 * @example Usage
 * ```ts
 * import { c2cLaunchPaths } from "./install_paths.ts";
 * c2cLaunchPaths(`{"command": "/src/c2c/bin/c2c-mcp", "args": ["--deno", "/src/deno"]}`);
 * // ["/src/c2c/bin/c2c-mcp", "/src/deno"]
 * ```
 */
export function c2cLaunchPaths(text: string): string[] {
  const found = new Set<string>();
  // A path is a run of characters that need no escaping in JSON, TOML or a
  // shell word (what setup writes unquoted); quoted paths match inside
  // their quotes the same way.
  const path = String.raw`(/[^\s"'\\,\]\[{}]*?)`;
  const launcher = new RegExp(
    `${path}/(bin/c2c-mcp|bin/c2c-hook|server\\.ts|cli\\.ts)(?![\\w.-])`,
    "g",
  );
  const deno = new RegExp(String.raw`--deno["'\s,]+${path}(?=["'\s,\]])`, "g");
  const hits: [number, string][] = [];
  for (const m of text.matchAll(launcher)) {
    hits.push([m.index, `${m[1]}/${m[2]}`]);
  }
  for (const m of text.matchAll(deno)) hits.push([m.index, m[1]]);
  for (const [, p] of hits.sort((a, b) => a[0] - b[0])) found.add(p);
  return [...found];
}
