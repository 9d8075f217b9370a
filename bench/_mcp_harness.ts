// Private helpers of the MCP and memory groups: the exact command lines the
// server is launched with (documented flags, the launcher, the echo floor),
// an SDK client connected to each, and reading a process's memory from /proc.

import { fileURLToPath } from "node:url";
import {
  type CallToolResult,
  Client,
  StdioClientTransport,
} from "../mcp/sdk_client.ts";
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
import { getDefaultEnvironment } from "@modelcontextprotocol/sdk/client/stdio.js";
import { permissionFlags } from "../lib/permissions.ts";

const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));

/** The Deno binary running the benchmark (the pinned one). */
export const DENO: string = Deno.execPath();
/** `server.ts`, the MCP server. */
export const SERVER: string = here("../server.ts");
/**
 * `bin/c2c`, the `c2c` command: a POSIX shell script that finds the root
 * and execs Deno (`c2c mcp` execs `bin/c2c-mcp`, which execs the server).
 */
export const LAUNCHER: string = here("../bin/c2c");
/** The trivial echo server, the floor under every MCP figure. */
export const ECHO_SERVER: string = here("./_echo_server.ts");
/** A script that only waits for the end of its standard input. */
export const IDLE_SCRIPT: string = here("./_idle.ts");

/**
 * The environment every spawned server gets besides its own settings: what
 * the SDK's transport passes on by default (`HOME`, `PATH`, `USER`, …), plus
 * `DENO_DIR` when set, so that children use the same (warm) Deno cache.
 */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = getDefaultEnvironment();
  const denoDir = Deno.env.get("DENO_DIR");
  if (denoDir) env.DENO_DIR = denoDir;
  return env;
}

/** A program and its arguments. */
export interface Command {
  /** Executable. */
  command: string;
  /** Arguments. */
  args: string[];
}

/**
 * The documented server command line (README; `serverArgs` in
 * `tests/_mcp.ts`): `deno run` + the server's permission flags + `server.ts`.
 */
export function serverCommand(root: string): Command {
  return {
    command: DENO,
    args: ["run", ...permissionFlags("server", { root }), SERVER],
  };
}

/**
 * `c2c mcp` as the README launches it: the launcher, which resolves the root
 * (here from `C2C_MCP_BROKER_ROOT`) and starts the server with the same flags.
 */
export function launcherCommand(): Command {
  return { command: LAUNCHER, args: ["mcp"] };
}

/** The echo server, with no permissions at all. */
export function echoCommand(): Command {
  return { command: DENO, args: ["run", "--no-prompt", ECHO_SERVER] };
}

/** The environment of a server speaking for `session` (also its alias). */
export function sessionEnv(
  root: string,
  session: string,
): Record<string, string> {
  return {
    C2C_MCP_BROKER_ROOT: root,
    C2C_MCP_SESSION_ID: session,
    C2C_MCP_AUTO_REGISTER_ALIAS: session,
  };
}

/** An MCP server process with an SDK client connected to it. */
export interface McpProcess extends AsyncDisposable {
  /** The SDK client. */
  client: Client;
  /** Pid of the process the client spawned. */
  pid: number;
  /** Calls a tool; throws if it fails; returns its raw result. */
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  /** Closes stdin and waits for the process to exit. */
  close(): Promise<void>;
}

/** Options of {@linkcode connectMcp}. */
export interface ConnectOptions {
  /** Extra environment (on top of {@linkcode baseEnv}). */
  env?: Record<string, string>;
  /** Largest reply the client accepts, bytes (SDK default: 10 MiB). */
  maxBufferSize?: number;
}

/**
 * Spawns an MCP server with the official SDK `StdioClientTransport` and
 * connects a `Client` (`initialize` + `notifications/initialized`), as every
 * stdio client does. The client does not call `tools/list`, so it does not
 * validate `structuredContent` against output schemas: the figures are the
 * server's, not a validating client's.
 */
export async function connectMcp(
  cmd: Command,
  options: ConnectOptions = {},
): Promise<McpProcess> {
  const transport = new StdioClientTransport({
    command: cmd.command,
    args: cmd.args,
    env: { ...baseEnv(), ...options.env },
    stderr: "pipe",
    maxBufferSize: options.maxBufferSize,
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Uint8Array) => {
    stderr += new TextDecoder().decode(chunk);
  });
  const client = new Client({ name: "c2c-bench", version: "1.0.0" });
  try {
    await client.connect(transport);
  } catch (e) {
    await client.close().catch(() => {});
    throw new Error(`${cmd.args.at(-1)}: ${(e as Error).message}\n${stderr}`);
  }
  const close = () => client.close().catch(() => {});
  return {
    client,
    pid: transport.pid ?? 0,
    async call(name, args = {}) {
      const result = await client.callTool(
        { name, arguments: args },
        undefined,
        {
          timeout: 600_000,
        },
      ) as CallToolResult;
      if (result.isError) {
        const text = (result.content[0] as { text?: string }).text;
        throw new Error(`${name} failed: ${text}\n${stderr}`);
      }
      return result;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Resident memory of a process, from `/proc/<pid>/status`, in KiB. */
export interface Memory {
  /** Current resident set size (`VmRSS`). */
  rssKiB: number;
  /** Peak resident set size so far (`VmHWM`). */
  peakKiB: number;
}

/** Reads a process's `VmRSS` and `VmHWM` (Linux only). */
export function readMemory(pid: number): Memory {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const field = (name: string) => {
    const m = status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m"));
    if (!m) throw new Error(`no ${name} in /proc/${pid}/status`);
    return Number(m[1]);
  };
  return { rssKiB: field("VmRSS"), peakKiB: field("VmHWM") };
}

/**
 * A minimal JSON-RPC-over-stdio MCP client that reads replies in linear time
 * (it looks for the newline in each new chunk only). The SDK's
 * `StdioClientTransport` re-joins and re-scans its whole buffer for every
 * 64 KiB chunk, which is quadratic in the size of a reply; this client shows
 * what the server itself costs for a large reply.
 */
export interface RawMcpClient extends AsyncDisposable {
  /** Calls a tool; throws on a JSON-RPC error or `isError`; returns the result. */
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  /** Closes stdin and waits for the process to exit. */
  close(): Promise<void>;
}

/** Spawns an MCP server and initializes it through a {@linkcode RawMcpClient}. */
export async function connectRaw(
  cmd: Command,
  env: Record<string, string> = {},
): Promise<RawMcpClient> {
  const child = new Deno.Command(cmd.command, {
    args: cmd.args,
    env: { ...baseEnv(), ...env },
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const writer = child.stdin.getWriter();
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const waiting = new Map<number, PromiseWithResolvers<unknown>>();
  let nextId = 1;
  const reading = (async () => {
    let parts: Uint8Array[] = [];
    for await (const chunk of child.stdout) {
      let from = 0;
      let at;
      while ((at = chunk.indexOf(10, from)) !== -1) {
        parts.push(chunk.subarray(from, at));
        const line = parts.length === 1 ? parts[0] : concat(parts);
        parts = [];
        from = at + 1;
        const msg = JSON.parse(decoder.decode(line));
        const w = waiting.get(msg.id);
        if (!w) continue; // a notification
        waiting.delete(msg.id);
        if (msg.error) w.reject(new Error(msg.error.message));
        else w.resolve(msg.result);
      }
      if (from < chunk.length) parts.push(chunk.slice(from));
    }
    for (const w of waiting.values()) {
      w.reject(new Error(`server exited: ${await stderr}`));
    }
  })();
  const send = (message: Record<string, unknown>) =>
    writer.write(
      encoder.encode(JSON.stringify({ jsonrpc: "2.0", ...message }) + "\n"),
    );
  const request = async (method: string, params: unknown) => {
    const id = nextId++;
    const w = Promise.withResolvers<unknown>();
    waiting.set(id, w);
    await send({ id, method, params });
    return w.promise;
  };
  await request("initialize", {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "c2c-bench-raw", version: "1.0.0" },
  });
  await send({ method: "notifications/initialized" });
  const close = async () => {
    await writer.close().catch(() => {});
    await reading.catch(() => {});
    await child.status;
  };
  return {
    async call(name, args = {}) {
      const result = await request("tools/call", {
        name,
        arguments: args,
      }) as CallToolResult;
      if (result.isError) {
        throw new Error(`${name} failed: ${JSON.stringify(result.content)}`);
      }
      return result;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
