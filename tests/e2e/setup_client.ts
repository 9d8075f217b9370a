/**
 * Configures a real client for c2c the way a user does: `c2c setup <client>
 * --alias A`, run through the launcher with the client's throwaway HOME (and
 * its XDG folders and `CODEX_HOME`) and the project as working directory.
 * The model-provider settings {@linkcode prepareClientHome} wrote first are
 * not c2c's business; setup merges its MCP entry and hooks into those files,
 * so every e2e run also exercises the merge.
 *
 * Requires `--allow-run` (Deno, git), `--allow-env`, and read/write on the
 * temp folders.
 *
 * @module
 */

import { launch, type Run } from "../_cli.ts";
import type { ClientName } from "./clients.ts";
import {
  type ClientHome,
  prepareClientHome,
  type PrepareOptions,
} from "./run_client.ts";

/** The name `c2c setup` knows each installable client by. */
export const SETUP_NAME: Readonly<Record<ClientName, string>> = {
  claude: "claude-code",
  codex: "codex",
  opencode: "opencode",
  gemini: "gemini",
};

/**
 * The environment `c2c setup` runs with for a home: the same HOME, XDG
 * folders and `CODEX_HOME` the client will see (setup looks for the config
 * files through them), and a user name for the default alias. Deno's cache
 * and TLS settings come from {@linkcode launch}'s base environment.
 *
 * @param home The prepared home.
 * @returns Variables for `launch`.
 */
export function setupEnv(home: ClientHome): Record<string, string> {
  return {
    HOME: home.home,
    XDG_CONFIG_HOME: home.xdg_config,
    XDG_CACHE_HOME: home.xdg_cache,
    CODEX_HOME: home.codex_home,
    USER: "e2e",
  };
}

/**
 * Runs `c2c setup <client> [args…]` for a home, in its working directory.
 *
 * @param home The prepared home (decides the client).
 * @param args Extra arguments (`--alias A`, `--json`, …).
 * @returns The run (exit code, stdout, stderr).
 */
export function runSetup(home: ClientHome, args: string[] = []): Promise<Run> {
  return launch(["setup", SETUP_NAME[home.client], ...args], {
    cwd: home.cwd,
    env: setupEnv(home),
  });
}

/** What one `c2c setup` did, from its `--json` output. */
export interface SetupReport {
  /** The alias it configured. */
  alias: string | null;
  /** The broker root it pinned (`null`: found per project). */
  root: string | null;
  /** Whether any file changed. */
  changed: boolean;
  /** Per file: path and `created` / `updated` / `unchanged`. */
  files: { path: string; status: string; summary: string[] }[];
}

/**
 * Runs `c2c setup <client> --alias <alias> --json [extra…]` and fails with
 * its output unless it succeeds.
 *
 * @param home The prepared home.
 * @param alias The alias the client's server will register.
 * @param extra More setup flags (e.g. `--rewake`).
 * @returns The parsed report.
 * @throws {Error} With setup's stdout and stderr when it fails.
 */
export async function setupClient(
  home: ClientHome,
  alias: string,
  extra: string[] = [],
): Promise<SetupReport> {
  const run = await runSetup(home, ["--alias", alias, "--json", ...extra]);
  if (run.code !== 0) {
    throw new Error(
      `c2c setup ${SETUP_NAME[home.client]} --alias ${alias} ${
        extra.join(" ")
      } exited ${run.code}` +
        `\nstdout: ${run.stdout}\nstderr: ${run.stderr}`,
    );
  }
  return run.json<SetupReport>();
}

/** A configured agent: its home, alias and what setup reported. */
export interface Agent extends AsyncDisposable {
  /** The client's prepared home. */
  home: ClientHome;
  /** Its c2c alias. */
  alias: string;
  /** `c2c setup`'s report. */
  setup: SetupReport;
}

/**
 * Prepares a home for `client` (model provider pointed at `model_url`) and
 * configures it with `c2c setup`.
 *
 * @param client Which client.
 * @param model_url The fake model's base URL.
 * @param alias Its c2c alias.
 * @param options `cwd`: the shared project repository.
 * @param setupArgs More `c2c setup` flags (e.g. `--rewake`).
 * @returns The agent (dispose it to remove its home).
 *
 * @example Usage
 * ```ts ignore
 * import { prepareAgent } from "./setup_client.ts";
 * await using agent = await prepareAgent("codex", fake.url, "b-codex", { cwd });
 * ```
 */
export async function prepareAgent(
  client: ClientName,
  model_url: string,
  alias: string,
  options: PrepareOptions = {},
  setupArgs: string[] = [],
): Promise<Agent> {
  const home = await prepareClientHome(client, model_url, options);
  try {
    const setup = await setupClient(home, alias, setupArgs);
    return {
      home,
      alias,
      setup,
      [Symbol.asyncDispose]: () => home[Symbol.asyncDispose](),
    };
  } catch (e) {
    await home[Symbol.asyncDispose]();
    throw e;
  }
}
