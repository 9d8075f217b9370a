/**
 * The real agent CLIs, installed from npm at pinned exact versions into a
 * git-ignored cache (`.cache/e2e-clients/<pkg>@<version>`), once: later runs
 * on the same machine reuse the install. An install goes to a temporary
 * sibling folder first and is renamed into place only when it succeeded, so a
 * killed or failed install never looks complete, and two test processes
 * installing at once cannot see each other's half-written tree.
 *
 * Requires `--allow-run=npm`, `--allow-env`, and `--allow-read` /
 * `--allow-write` on the repository's `.cache/`.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

/** The four clients that install and run here. */
export type ClientName = "claude" | "codex" | "opencode" | "gemini";

/** Every installable client, in a stable order. */
export const CLIENT_NAMES: readonly ClientName[] = [
  "claude",
  "codex",
  "opencode",
  "gemini",
];

/** One pinned client package. */
export interface ClientSpec {
  /** Short name used by the tests. */
  name: ClientName;
  /** Human name, for tables and messages. */
  title: string;
  /** npm package name. */
  pkg: string;
  /** Exact version (never a range). */
  version: string;
  /** Executable name in `node_modules/.bin`. */
  bin: string;
}

/**
 * The pinned clients. Claude Code 2.1.330 is the newest release: it ships a
 * native binary (copied into place by its postinstall script, so install
 * scripts must run) and has the messaging socket WAKE.md relies on; its
 * `engines` asks for node 22, but the native binary never runs node, so the
 * node 20 here only prints an engine warning while installing.
 */
export const CLIENTS: Readonly<Record<ClientName, ClientSpec>> = {
  claude: {
    name: "claude",
    title: "Claude Code",
    pkg: "@anthropic-ai/claude-code",
    version: "2.1.330",
    bin: "claude",
  },
  codex: {
    name: "codex",
    title: "Codex",
    pkg: "@openai/codex",
    version: "0.169.0",
    bin: "codex",
  },
  opencode: {
    name: "opencode",
    title: "OpenCode",
    pkg: "opencode-ai",
    version: "1.18.33",
    bin: "opencode",
  },
  gemini: {
    name: "gemini",
    title: "Gemini CLI",
    pkg: "@google/gemini-cli",
    version: "0.61.0",
    bin: "gemini",
  },
};

/** Absolute path of the repository checkout. */
export const REPO_DIR: string = fileURLToPath(
  new URL("../..", import.meta.url),
).replace(/\/$/, "");

/** Where the clients are installed (git-ignored through `/.cache/`). */
export const CLIENTS_DIR = `${REPO_DIR}/.cache/e2e-clients`;

/** Marker written last by a successful install. */
const DONE_MARKER = ".c2c-installed";

/** An installed client. */
export interface InstalledClient {
  /** The pinned spec. */
  spec: ClientSpec;
  /** Install folder (`--prefix`). */
  dir: string;
  /** Absolute path of the client's executable. */
  bin: string;
  /** Whether this call installed it (false: reused the cache). */
  installed_now: boolean;
  /** Milliseconds the install took (0 when reused). */
  install_ms: number;
}

/**
 * The install folder of a client: `<CLIENTS_DIR>/<pkg>@<version>`.
 *
 * @param spec The client.
 * @returns Absolute folder path.
 */
export function clientDir(spec: ClientSpec): string {
  return `${CLIENTS_DIR}/${spec.pkg}@${spec.version}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Installs a client unless its cached install is complete, and returns where
 * its executable is.
 *
 * Requires `--allow-run=npm`, `--allow-env`, and read/write on `.cache/`.
 *
 * @param name Which client.
 * @param options `npm_cache`: an npm cache folder to use instead of the
 * user's (a fresh one measures a cold install).
 * @returns The installed client.
 * @throws {Error} With npm's output when the install fails.
 *
 * @example Usage
 * ```ts
 * import { ensureClient } from "./clients.ts";
 * const { bin } = await ensureClient("gemini");
 * ```
 */
export async function ensureClient(
  name: ClientName,
  options: { npm_cache?: string } = {},
): Promise<InstalledClient> {
  const spec = CLIENTS[name];
  const dir = clientDir(spec);
  const bin = `${dir}/node_modules/.bin/${spec.bin}`;
  if (await exists(`${dir}/${DONE_MARKER}`)) {
    return { spec, dir, bin, installed_now: false, install_ms: 0 };
  }
  const parent = dir.slice(0, dir.lastIndexOf("/"));
  await Deno.mkdir(parent, { recursive: true });
  const staging = await Deno.makeTempDir({
    dir: parent,
    prefix: `.installing-${spec.bin}-`,
  });
  const started = performance.now();
  const env: Record<string, string> = {};
  if (options.npm_cache) env.npm_config_cache = options.npm_cache;
  const out = await new Deno.Command("npm", {
    args: [
      "install",
      "--prefix",
      staging,
      "--no-audit",
      "--no-fund",
      "--no-package-lock",
      "--loglevel=error",
      `${spec.pkg}@${spec.version}`,
    ],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const install_ms = Math.round(performance.now() - started);
  if (!out.success) {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    const decode = (b: Uint8Array) => new TextDecoder().decode(b);
    throw new Error(
      `npm install ${spec.pkg}@${spec.version} failed (exit ${out.code}):\n` +
        decode(out.stderr) + decode(out.stdout),
    );
  }
  await Deno.writeTextFile(`${staging}/${DONE_MARKER}`, `${install_ms}\n`);
  try {
    await Deno.rename(staging, dir);
  } catch (e) {
    // Another process finished first: keep its install, drop ours.
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    if (!(await exists(`${dir}/${DONE_MARKER}`))) throw e;
    return { spec, dir, bin, installed_now: false, install_ms: 0 };
  }
  return { spec, dir, bin, installed_now: true, install_ms };
}

/**
 * Installs every client that is not cached yet (one after another: the
 * machine has two cores and npm's extraction is CPU-bound).
 *
 * @returns The installed clients, keyed by name.
 */
export async function ensureAllClients(): Promise<
  Record<ClientName, InstalledClient>
> {
  const result = {} as Record<ClientName, InstalledClient>;
  for (const name of CLIENT_NAMES) result[name] = await ensureClient(name);
  return result;
}

/**
 * The npm dependencies OpenCode installs into its config folder before it
 * loads a plugin file (`@opencode-ai/plugin`, pinned to OpenCode's version).
 * OpenCode would fetch them itself from the registry on first start (~20 s);
 * installing them once here and copying them into each throwaway config
 * folder keeps the wake scenario offline and fast.
 */
export const OPENCODE_PLUGIN_DEPS: ClientSpec = {
  name: "opencode",
  title: "OpenCode plugin dependencies",
  pkg: "@opencode-ai/plugin",
  version: CLIENTS.opencode.version,
  bin: "",
};

/**
 * Installs {@linkcode OPENCODE_PLUGIN_DEPS} into the cache (once) with an
 * exact version in `package.json`, as OpenCode writes it.
 *
 * Requires `--allow-run=npm` and read/write on `.cache/`.
 *
 * @returns The folder holding `package.json` and `node_modules/`.
 */
export async function ensureOpencodePluginDeps(): Promise<string> {
  const spec = OPENCODE_PLUGIN_DEPS;
  const dir = clientDir(spec);
  if (await exists(`${dir}/${DONE_MARKER}`)) return dir;
  const parent = dir.slice(0, dir.lastIndexOf("/"));
  await Deno.mkdir(parent, { recursive: true });
  const staging = await Deno.makeTempDir({
    dir: parent,
    prefix: ".installing-plugin-",
  });
  await Deno.writeTextFile(`${staging}/package.json`, "{}\n");
  const out = await new Deno.Command("npm", {
    args: [
      "install",
      "--prefix",
      staging,
      "--save-exact",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      `${spec.pkg}@${spec.version}`,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    throw new Error(
      `npm install ${spec.pkg}@${spec.version} failed: ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
  await Deno.writeTextFile(`${staging}/${DONE_MARKER}`, "\n");
  try {
    await Deno.rename(staging, dir);
  } catch (e) {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    if (!(await exists(`${dir}/${DONE_MARKER}`))) throw e;
  }
  return dir;
}
