/**
 * `deno task demo`: c2c's main job, end to end, on a throwaway git repo.
 *
 * Two agents each get a real c2c MCP server process (started through
 * `bin/c2c-mcp`, exactly as a client config starts it, with permissions
 * scoped to the broker root that git resolves), register, exchange direct
 * messages, join a room, talk there, and poll. The demo prints what each
 * agent would read.
 *
 * It says what it waits for (the first start of a server may fetch npm
 * packages), fails in one line that names the cause (the server's own error
 * when one could not start), and always removes its temp repo.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import {
  type CallToolResult,
  Client,
  StdioClientTransport,
} from "./mcp/sdk_client.ts";

const SERVER = fileURLToPath(new URL("./bin/c2c-mcp", import.meta.url));

/** How often a slow start says it is still waiting. */
const PROGRESS_MS = 5_000;

/** Options of {@linkcode runDemo}. */
export interface DemoOptions {
  /**
   * Environment of the two server processes (default: this process's PATH,
   * HOME, Deno cache and npm/proxy settings, so they find the same npm
   * packages it did).
   */
  env?: Record<string, string>;
  /** Where to make the temp repo (default: the system's temp directory). */
  tempDir?: string;
  /** Where lines go (default: standard output). */
  log?: (line: string) => void;
  /** Colour the output (default: on a terminal, unless NO_COLOR). */
  color?: boolean;
}

// What a server needs to find its npm packages as this process did.
const PASSED_ENV = [
  "PATH",
  "HOME",
  "DENO_DIR",
  "XDG_CACHE_HOME",
  "DENO_CERT",
  "DENO_TLS_CA_STORE",
  "NPM_CONFIG_REGISTRY",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "HTTPS_PROXY",
  "HTTP_PROXY",
  "NO_PROXY",
  "https_proxy",
  "http_proxy",
  "no_proxy",
];

interface Agent {
  alias: string;
  client: Client;
  call: (
    tool: string,
    args?: Record<string, unknown>,
  ) => Promise<CallToolResult>;
}

/** A failure of the demo, with its cause in one line. */
class DemoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DemoError";
  }
}

async function startAgent(
  repo: string,
  alias: string,
  env: Record<string, string>,
): Promise<Agent> {
  const transport = new StdioClientTransport({
    command: SERVER,
    args: ["--deno", Deno.execPath()],
    cwd: repo,
    env: {
      ...env,
      C2C_MCP_SESSION_ID: `demo-${alias}`,
      C2C_MCP_AUTO_REGISTER_ALIAS: alias,
    },
    stderr: "pipe",
  });
  // Kept to name the cause if the server dies (e.g. npm unreachable).
  let stderr = "";
  transport.stderr?.on("data", (chunk: Uint8Array) => {
    stderr += new TextDecoder().decode(chunk);
  });
  const client = new Client({ name: `demo-${alias}`, version: "1.0.0" });
  try {
    await client.connect(transport);
  } catch (e) {
    await client.close().catch(() => {});
    throw new DemoError(
      `${alias}'s MCP server did not start: ${
        serverCause(stderr) ?? (e as Error).message
      }`,
    );
  }
  const call = async (tool: string, args: Record<string, unknown> = {}) => {
    let result: CallToolResult;
    try {
      result = await client.callTool({
        name: tool,
        arguments: args,
      }) as CallToolResult;
    } catch (e) {
      throw new DemoError(
        `${alias}: ${tool} failed: ${
          serverCause(stderr) ?? (e as Error).message
        }`,
      );
    }
    if (result.isError) {
      throw new DemoError(`${alias}: ${tool} failed: ${textOf(result, 0)}`);
    }
    return result;
  };
  return { alias, client, call };
}

/**
 * The cause a dead server printed, in one line: Deno's `error:` line and
 * its first reason (`Failed caching npm package 'x' (…: Connection
 * refused)`), without colours or the backtrace.
 */
function serverCause(stderr: string): string | null {
  // deno-lint-ignore no-control-regex
  const lines = stderr.replace(/\x1b\[[0-9;]*m/g, "").split("\n")
    .map((l) => l.trim()).filter(Boolean);
  const at = lines.findIndex((l) => /^error:/i.test(l));
  if (at === -1) return lines.at(-1) ?? null;
  const head = lines[at].replace(/^error:\s*/i, "");
  const reason = lines[at + 1]?.match(/^0:\s*(.*)$/)?.[1];
  return reason ? `${head} (${reason})` : head;
}

function textOf(result: CallToolResult, index: number): string {
  const block = result.content[index];
  return block && block.type === "text" ? block.text : "";
}

/**
 * Runs the demo.
 *
 * Requires `--allow-read`, `--allow-write` (a temp repo), `--allow-run`
 * (git, the servers) and `--allow-env`.
 *
 * @param options Environment of the servers, temp location, output.
 * @returns 0 when every step worked, else 1 (after one line naming why).
 *
 * @example Usage
 * ```ts ignore
 * import { runDemo } from "./demo.ts";
 * Deno.exit(await runDemo());
 * ```
 */
export async function runDemo(options: DemoOptions = {}): Promise<number> {
  const log = options.log ?? ((line: string) => console.log(line));
  const color = options.color ??
    (!Deno.noColor && Deno.stdout.isTerminal());
  const dim = (s: string) => (color ? `\x1b[2m${s}\x1b[0m` : s);
  const bold = (s: string) => (color ? `\x1b[1m${s}\x1b[0m` : s);
  const step = (agent: string, action: string, detail = "") =>
    log(
      `${bold(agent.padEnd(12))} ${action}${detail ? dim(`  ${detail}`) : ""}`,
    );
  // The text block is what OpenCode's and Gemini's models read: the
  // envelopes (structuredContent holds the same messages as objects).
  const show = (agent: Agent, result: CallToolResult) => {
    const text = textOf(result, 0);
    if (!text || text === "(no messages)") {
      log(dim(`${" ".repeat(13)}(inbox empty)`));
      return;
    }
    log(`${" ".repeat(13)}${agent.alias} reads:`);
    for (const line of text.split("\n")) log(`${" ".repeat(15)}${line}`);
  };
  const env = options.env ?? Object.fromEntries(
    PASSED_ENV.flatMap((n) => {
      const v = Deno.env.get(n);
      return v === undefined ? [] : [[n, v]];
    }),
  );

  const repo = await Deno.makeTempDir({
    prefix: "c2c-demo-",
    dir: options.tempDir,
  });
  const agents: Agent[] = [];
  try {
    const git = await new Deno.Command("git", {
      args: ["init", "-q", repo],
      stderr: "piped",
    }).output().catch((e) => {
      throw new DemoError(`cannot run git: ${(e as Error).message}`);
    });
    if (!git.success) {
      throw new DemoError(
        `git init failed: ${new TextDecoder().decode(git.stderr).trim()}`,
      );
    }
    log(dim(`temp repo ${repo}; broker root ${repo}/.git/c2c/mcp`));
    log(
      dim(
        "starting two c2c MCP servers (the first start may fetch npm packages)…",
      ),
    );
    const started = performance.now();
    const ticker = setInterval(() => {
      const s = Math.round((performance.now() - started) / 1000);
      log(dim(`  still starting after ${s} s…`));
    }, PROGRESS_MS);
    let storm: Agent, tide: Agent;
    try {
      const results = await Promise.allSettled(
        ["storm-beacon", "tide-runner"].map((a) => startAgent(repo, a, env)),
      );
      for (const r of results) {
        if (r.status === "fulfilled") agents.push(r.value);
      }
      const failed = results.find((r) => r.status === "rejected");
      if (failed) throw (failed as PromiseRejectedResult).reason;
      [storm, tide] = agents;
    } finally {
      clearInterval(ticker);
    }
    log("");

    for (const agent of [storm, tide]) {
      const me = (await agent.call("whoami")).structuredContent as {
        alias: string;
        alive: boolean;
      };
      step(agent.alias, "registered", `alive=${me.alive}`);
    }
    const peers = (await storm.call("list")).structuredContent as {
      peers: { alias: string; alive: boolean }[];
    };
    step(
      storm.alias,
      "sees peers",
      peers.peers.map((p) => `${p.alias}${p.alive ? " (live)" : ""}`).join(
        ", ",
      ),
    );

    await storm.call("send", {
      to_alias: "tide-runner",
      content: "Hi! I'm refactoring lib/auth.ts; can you take the tests?",
    });
    step(storm.alias, "sends a DM to tide-runner");
    show(tide, await tide.call("poll_inbox"));

    await tide.call("send", {
      to_alias: "storm-beacon",
      content: "On it. </c2c> tags in bodies are escaped, so I can't fake one.",
    });
    step(tide.alias, "replies");
    show(storm, await storm.call("poll_inbox"));

    for (const agent of [storm, tide]) {
      await agent.call("join_room", { room_id: "swarm-lounge" });
      step(agent.alias, "joins room swarm-lounge");
    }
    await storm.call("send_room", {
      room_id: "swarm-lounge",
      content: "Standup: auth refactor 60% done.",
    });
    step(storm.alias, "posts to swarm-lounge");
    await tide.call("send_room", {
      room_id: "swarm-lounge",
      content: "Tests for auth: 12 written, 3 failing.",
    });
    step(tide.alias, "posts to swarm-lounge");
    show(storm, await storm.call("poll_inbox"));
    show(tide, await tide.call("poll_inbox"));

    const history = (await tide.call("room_history", {
      room_id: "swarm-lounge",
    })).structuredContent as { total: number };
    step(tide.alias, "reads room history", `${history.total} lines`);
    log(dim("\nBoth servers exit now; their leases are released with them."));
    return 0;
  } catch (e) {
    const cause = e instanceof DemoError
      ? e.message
      : `${(e as Error).name}: ${(e as Error).message}`;
    log(`c2c demo failed: ${cause.replace(/\s*\n\s*/g, " ")}`);
    return 1;
  } finally {
    await Promise.all(agents.map((a) => a.client.close().catch(() => {})));
    await Deno.remove(repo, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  // The failure line goes to standard error, the story to standard output.
  Deno.exitCode = await runDemo({
    log: (line) =>
      line.startsWith("c2c demo failed: ")
        ? console.error(line)
        : console.log(line),
  });
}
