/**
 * Runs one real agent CLI non-interactively against the fake model:
 * `claude -p`, `codex exec`, `opencode run`, `gemini -p`. Each run gets a
 * throwaway HOME (with its own XDG folders and `CODEX_HOME`), a temp git repo
 * as its working directory, a clean environment (nothing of the test
 * process's own env leaks in: an outer `CLAUDE_CODE_SESSION_ID`, say, would
 * otherwise become the c2c session id of every server), and a timeout.
 *
 * The client runs as the leader of its own process group (`setsid`), so on a
 * timeout, and after it exits, whatever it left behind (MCP servers, helpers)
 * is ended with it.
 *
 * Requires `--allow-run` (the client, `setsid`, `git`), `--allow-read` /
 * `--allow-write` on the temp folders, `--allow-env`.
 *
 * @module
 */

import type { ClientName } from "./clients.ts";

/** A client's throwaway home and working directory. */
export interface ClientHome extends AsyncDisposable {
  /** Which client it is for. */
  client: ClientName;
  /** The temp folder holding everything below (removed on dispose). */
  base: string;
  /** `HOME`. */
  home: string;
  /** `XDG_CONFIG_HOME`. */
  xdg_config: string;
  /** `XDG_DATA_HOME`. */
  xdg_data: string;
  /** `XDG_CACHE_HOME`. */
  xdg_cache: string;
  /** `XDG_STATE_HOME`. */
  xdg_state: string;
  /** `CODEX_HOME`. */
  codex_home: string;
  /** Working directory: a fresh git repository. */
  cwd: string;
  /** The fake model's base URL the client is pointed at. */
  model_url: string;
}

/**
 * Path of Codex's `config.toml` in a prepared home.
 *
 * @param home The prepared home.
 * @returns `$CODEX_HOME/config.toml`.
 */
export function codexConfigPath(home: ClientHome): string {
  return `${home.codex_home}/config.toml`;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function deepMerge(base: Json, patch: Json): Json {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    out[key] = isObject(value) && isObject(out[key])
      ? deepMerge(out[key] as Json, value)
      : value;
  }
  return out;
}

/**
 * Deep-merges `patch` into a JSON file (created, with its folder, if
 * missing). Test configs only: plain JSON, no comments kept.
 *
 * @param path The file.
 * @param patch Keys to set.
 */
export async function mergeJsonFile(path: string, patch: Json): Promise<void> {
  let current: Json = {};
  try {
    current = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  await Deno.writeTextFile(
    path,
    JSON.stringify(deepMerge(current, patch), null, 2) + "\n",
  );
}

/**
 * Creates a folder (if missing) and makes it a fresh git repository: the
 * project the agents work in, whose `.git/c2c/mcp` is their broker root.
 *
 * Requires `--allow-run=git` and write access to the folder.
 *
 * @param dir The folder.
 */
export async function initRepo(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await git(dir, "init", "-q");
}

async function git(cwd: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command("git", {
    args,
    cwd,
    stdout: "null",
    stderr: "piped",
    env: { GIT_CONFIG_NOSYSTEM: "1", HOME: cwd },
  }).output();
  if (!out.success) {
    throw new Error(
      `git ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
}

/** Options of {@linkcode prepareClientHome}. */
export interface PrepareOptions {
  /**
   * Working directory to run the client in: a git repository shared with
   * other agents (their MCP servers then find the same broker root). Left in
   * place on dispose. Default: a fresh repository inside the home's folder.
   */
  cwd?: string;
}

/**
 * Creates a throwaway home for one client run and writes the settings that
 * point the client at the fake model and turn off what would phone home
 * (auto-update, telemetry, model-list fetches):
 *
 * - Claude Code: nothing on disk (all through env, see {@linkcode clientEnv}).
 * - Codex: `config.toml` with provider `fake` (`wire_api = "responses"`,
 *   no retries), `approval_policy = "never"`, update checks off.
 * - OpenCode: `opencode.json` with provider `fake`
 *   (`@ai-sdk/openai-compatible`, model `m` with `tool_call`), as both
 *   `model` and `small_model`; autoupdate, sharing and the per-step git
 *   snapshots off.
 * - Gemini CLI: `settings.json` with API-key auth, auto-update, usage
 *   statistics and telemetry off.
 *
 * These are the model-provider settings, which are not c2c's business; c2c's
 * own entries (MCP server, hooks) are written afterwards by `c2c setup
 * <client>` itself (`setup_client.ts`), which merges into these files.
 *
 * @param client Which client.
 * @param model_url The fake model's base URL.
 * @param options A shared working directory.
 * @returns The prepared home (dispose it to remove everything).
 */
export async function prepareClientHome(
  client: ClientName,
  model_url: string,
  options: PrepareOptions = {},
): Promise<ClientHome> {
  const base = await Deno.makeTempDir({ prefix: `c2c-e2e-${client}-` });
  const home: ClientHome = {
    client,
    base,
    home: `${base}/home`,
    xdg_config: `${base}/home/.config`,
    xdg_data: `${base}/home/.local/share`,
    xdg_cache: `${base}/home/.cache`,
    xdg_state: `${base}/home/.local/state`,
    codex_home: `${base}/home/.codex`,
    cwd: options.cwd ?? `${base}/project`,
    model_url,
    async [Symbol.asyncDispose]() {
      await Deno.remove(base, { recursive: true }).catch(() => {});
    },
  };
  for (
    const dir of [
      home.xdg_config,
      home.xdg_data,
      home.xdg_cache,
      home.xdg_state,
      home.codex_home,
    ]
  ) {
    await Deno.mkdir(dir, { recursive: true });
  }
  if (options.cwd === undefined) await initRepo(home.cwd);
  switch (client) {
    case "claude":
      break;
    case "codex":
      await Deno.writeTextFile(
        codexConfigPath(home),
        [
          `model = "gpt-fake"`,
          `model_provider = "fake"`,
          `approval_policy = "never"`,
          `sandbox_mode = "read-only"`,
          `check_for_update_on_startup = false`,
          "",
          "[model_providers.fake]",
          `name = "fake"`,
          `base_url = "${model_url}/v1"`,
          `wire_api = "responses"`,
          `env_key = "FAKE_OPENAI_KEY"`,
          `request_max_retries = 0`,
          `stream_max_retries = 0`,
          "",
          "[analytics]",
          "enabled = false",
          "",
        ].join("\n"),
      );
      break;
    case "opencode":
      await mergeJsonFile(`${home.xdg_config}/opencode/opencode.json`, {
        $schema: "https://opencode.ai/config.json",
        autoupdate: false,
        share: "disabled",
        snapshot: false,
        provider: {
          fake: {
            npm: "@ai-sdk/openai-compatible",
            name: "fake",
            options: { baseURL: `${model_url}/v1`, apiKey: "x" },
            models: { m: { name: "m", tool_call: true } },
          },
        },
        model: "fake/m",
        small_model: "fake/m",
      });
      break;
    case "gemini":
      await mergeJsonFile(`${home.home}/.gemini/settings.json`, {
        general: { disableAutoUpdate: true, disableUpdateNag: true },
        privacy: { usageStatisticsEnabled: false },
        telemetry: { enabled: false },
        security: { auth: { selectedType: "gemini-api-key" } },
      });
      break;
  }
  return home;
}

/** Variables passed through from the test process (everything else is dropped). */
const PASS_THROUGH = ["PATH", "LANG", "LC_ALL", "TMPDIR", "USER", "LOGNAME"];

/**
 * The environment a client runs with: HOME, XDG folders and `CODEX_HOME` of
 * the prepared home, a few basics from the test process, and per client:
 *
 * - Claude Code: `ANTHROPIC_BASE_URL`, `ANTHROPIC_API_KEY=sk-ant-fake`,
 *   `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`, `DISABLE_AUTOUPDATER=1`,
 *   `ENABLE_TOOL_SEARCH=false` (MCP tools offered directly, not behind
 *   `ToolSearch`).
 * - Codex: `FAKE_OPENAI_KEY` (the provider's `env_key`).
 * - OpenCode: `OPENCODE_DISABLE_AUTOUPDATE`, `_MODELS_FETCH`,
 *   `_LSP_DOWNLOAD`, `_DEFAULT_PLUGINS`, `_SHARE` = 1; `OPENCODE_PURE=1`
 *   (`--pure`: no external plugins, so no `npm install` of plugin
 *   dependencies into the config folder on every run — a test of an OpenCode
 *   plugin must pass `OPENCODE_PURE: ""`); and `PWD` (OpenCode takes its
 *   project from it).
 * - Gemini CLI: `GEMINI_API_KEY`, `GOOGLE_GEMINI_BASE_URL`,
 *   `GEMINI_CLI_TRUST_WORKSPACE=true`, `GEMINI_CLI_NO_RELAUNCH=true` (no
 *   second node process).
 *
 * @param home The prepared home.
 * @param extra Variables to add or override.
 * @returns The environment.
 */
export function clientEnv(
  home: ClientHome,
  extra: Record<string, string> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of PASS_THROUGH) {
    const value = Deno.env.get(name);
    if (value) env[name] = value;
  }
  Object.assign(env, {
    HOME: home.home,
    XDG_CONFIG_HOME: home.xdg_config,
    XDG_DATA_HOME: home.xdg_data,
    XDG_CACHE_HOME: home.xdg_cache,
    XDG_STATE_HOME: home.xdg_state,
    CODEX_HOME: home.codex_home,
    SHELL: "/bin/bash",
    TERM: "dumb",
    NO_COLOR: "1",
    CI: "1",
  });
  switch (home.client) {
    case "claude":
      Object.assign(env, {
        ANTHROPIC_BASE_URL: home.model_url,
        ANTHROPIC_API_KEY: "sk-ant-fake",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
        DISABLE_AUTOUPDATER: "1",
        DISABLE_TELEMETRY: "1",
        DISABLE_ERROR_REPORTING: "1",
        ENABLE_TOOL_SEARCH: "false",
      });
      break;
    case "codex":
      Object.assign(env, { FAKE_OPENAI_KEY: "sk-fake" });
      break;
    case "opencode":
      Object.assign(env, {
        PWD: home.cwd,
        OPENCODE_DISABLE_AUTOUPDATE: "1",
        OPENCODE_DISABLE_MODELS_FETCH: "1",
        OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
        OPENCODE_DISABLE_DEFAULT_PLUGINS: "1",
        OPENCODE_DISABLE_SHARE: "1",
        OPENCODE_PURE: "1",
      });
      break;
    case "gemini":
      Object.assign(env, {
        GEMINI_API_KEY: "x",
        GOOGLE_GEMINI_BASE_URL: home.model_url,
        GEMINI_CLI_TRUST_WORKSPACE: "true",
        GEMINI_CLI_NO_RELAUNCH: "true",
      });
      break;
  }
  return { ...env, ...extra };
}

/**
 * The non-interactive command line for a prompt.
 *
 * - Claude Code: `-p PROMPT --allowedTools mcp__c2c --output-format
 *   stream-json --verbose` (`-p` denies MCP tools not allowed; the server
 *   name alone allows all of its tools).
 * - Codex: `exec --skip-git-repo-check --dangerously-bypass-hook-trust
 *   --json PROMPT` (Codex runs the hooks in `hooks.json` only once the user
 *   has trusted them in its UI; this flag stands in for that click).
 * - OpenCode: `run PROMPT`.
 * - Gemini CLI: `-p PROMPT`.
 *
 * @param client Which client.
 * @param prompt The user prompt.
 * @returns Arguments for the client's executable.
 */
export function clientArgs(client: ClientName, prompt: string): string[] {
  switch (client) {
    case "claude":
      return [
        "-p",
        prompt,
        "--allowedTools",
        "mcp__c2c",
        "--output-format",
        "stream-json",
        "--verbose",
      ];
    case "codex":
      return [
        "exec",
        "--skip-git-repo-check",
        "--dangerously-bypass-hook-trust",
        "--json",
        prompt,
      ];
    case "opencode":
      return ["run", prompt];
    case "gemini":
      return ["-p", prompt];
  }
}

/** Options of {@linkcode runClient}. */
export interface RunClientOptions {
  /** The prepared home (decides the client). */
  home: ClientHome;
  /** The client's executable. */
  bin: string;
  /** The user prompt. */
  prompt: string;
  /** Extra arguments after the standard ones. */
  extra_args?: string[];
  /** Extra env (added last). */
  env?: Record<string, string>;
  /** Kill the client after this long (default 120 s). */
  timeout_ms?: number;
}

/** What a client run produced. */
export interface RunResult {
  /** Exit code (`null` when killed by a signal). */
  code: number | null;
  /** Signal that ended it, if any. */
  signal: string | null;
  /** Whether the timeout killed it. */
  timed_out: boolean;
  /** Everything written to stdout. */
  stdout: string;
  /** Everything written to stderr. */
  stderr: string;
  /** Wall time in milliseconds (until the client itself exited). */
  ms: number;
  /** Processes of its group still alive 1 s after it exited (then killed). */
  leftovers: string[];
}

/** A client started by {@linkcode startClient}. */
export interface RunningClient {
  /** Process id (also its process group id). */
  pid: number;
  /** Settles with the result when the client has exited. */
  result: Promise<RunResult>;
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<string> {
  let text = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    text += chunk;
  }
  return text;
}

/**
 * Live (non-zombie) processes of a process group, as `pid cmdline` strings,
 * read from `/proc` (empty when `/proc` cannot be read).
 *
 * @param pgid The process group id.
 * @returns One entry per live member.
 */
export function groupMembers(pgid: number): string[] {
  const members: string[] = [];
  try {
    for (const entry of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(entry.name)) continue;
      try {
        const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
        // Fields after the command name, which may itself hold ") ".
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        if (Number(fields[2]) !== pgid || fields[0] === "Z") continue;
        const cmd = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`)
          .replaceAll("\0", " ").trim();
        members.push(`${entry.name} ${cmd}`);
      } catch {
        // Exited while we looked.
      }
    }
  } catch {
    // No /proc access: report nothing.
  }
  return members;
}

function killGroup(pgid: number, signal: Deno.Signal): boolean {
  try {
    Deno.kill(-pgid, signal);
    return true;
  } catch {
    return false; // the group is gone already
  }
}

/**
 * Starts a client run without waiting for it (a test then drives the fake
 * model while the client is alive, and awaits `result`).
 *
 * @param options What to run.
 * @returns The running client.
 */
export function startClient(options: RunClientOptions): RunningClient {
  const { home } = options;
  const started = performance.now();
  const child = new Deno.Command("setsid", {
    args: [
      options.bin,
      ...clientArgs(home.client, options.prompt),
      ...(options.extra_args ?? []),
    ],
    cwd: home.cwd,
    env: clientEnv(home, options.env),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = collect(child.stdout);
  const stderr = collect(child.stderr);
  let timed_out = false;
  const timer = setTimeout(() => {
    timed_out = true;
    killGroup(child.pid, "SIGTERM");
    setTimeout(() => killGroup(child.pid, "SIGKILL"), 2_000);
  }, options.timeout_ms ?? 120_000);
  const result = (async (): Promise<RunResult> => {
    const status = await child.status;
    clearTimeout(timer);
    const ms = Math.round(performance.now() - started);
    // Give what the client started (its MCP servers) a moment to exit on
    // their own, note what did not, and end it: a leftover would keep its
    // c2c lease (the session would still read alive) and hold our pipes.
    let leftovers = groupMembers(child.pid);
    for (let i = 0; i < 20 && leftovers.length; i++) {
      await new Promise((r) => setTimeout(r, 50));
      leftovers = groupMembers(child.pid);
    }
    if (killGroup(child.pid, "SIGTERM")) {
      await new Promise((r) => setTimeout(r, 200));
      killGroup(child.pid, "SIGKILL");
    }
    return {
      leftovers,
      code: status.signal ? null : status.code,
      signal: status.signal,
      timed_out,
      stdout: await stdout,
      stderr: await stderr,
      ms,
    };
  })();
  return { pid: child.pid, result };
}

/**
 * Runs a client to completion (or its timeout).
 *
 * @param options What to run.
 * @returns Exit status, output and wall time.
 *
 * @example Usage
 * ```ts ignore
 * import { prepareClientHome, runClient } from "./run_client.ts";
 * await using home = await prepareClientHome("gemini", fake.url);
 * const run = await runClient({ home, bin, prompt: "hello" });
 * ```
 */
export function runClient(options: RunClientOptions): Promise<RunResult> {
  return startClient(options).result;
}

/**
 * A one-paragraph summary of a run, for assertion messages.
 *
 * @param run The result.
 * @param limit How many characters of each stream to keep (from the end).
 * @returns Exit status, time, and the tails of stdout and stderr.
 */
export function describeRun(run: RunResult, limit = 4_000): string {
  const tail = (s: string) => s.length > limit ? `…${s.slice(-limit)}` : s;
  return `exit ${run.code ?? run.signal}${
    run.timed_out ? " (timed out)" : ""
  } after ${run.ms} ms\n--- stdout ---\n${tail(run.stdout)}\n--- stderr ---\n${
    tail(run.stderr)
  }`;
}
