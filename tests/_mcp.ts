// Test helpers for the MCP server: the official SDK client over stdio,
// spawning the real server with the documented permission flags.

import {
  type CallToolResult,
  Client,
  StdioClientTransport,
} from "../mcp/sdk_client.ts";
import { permissionFlags } from "../lib/permissions.ts";
import { DENO, REPO } from "./_helpers.ts";

export { Client, StdioClientTransport };
export type { CallToolResult };

/** Every tool c2c's server offers, by name (sorted). */
export const C2C_TOOL_NAMES: readonly string[] = [
  "claim",
  "claims",
  "history",
  "join_room",
  "leave_room",
  "list",
  "list_rooms",
  "message_status",
  "my_rooms",
  "peek_inbox",
  "poll_inbox",
  "register",
  "release",
  "room_history",
  "search_messages",
  "send",
  "send_all",
  "send_room",
  "set_status",
  "sweep",
  "tail_log",
  "wait_for_message",
  "whoami",
];

/** The documented server command line for a broker root. */
export function serverArgs(root: string): string[] {
  return ["run", ...permissionFlags("server", { root }), `${REPO}/server.ts`];
}

/** A connected SDK client and the server process behind it. */
export interface Connection extends AsyncDisposable {
  client: Client;
  transport: StdioClientTransport;
  /** Everything the server wrote to stderr so far. */
  stderr: () => string;
  /** Calls a tool; returns the raw result. */
  call: (
    name: string,
    args?: Record<string, unknown>,
  ) => Promise<CallToolResult>;
  /** Calls a tool that must succeed; returns its structuredContent. */
  ok: <T = Record<string, unknown>>(
    name: string,
    args?: Record<string, unknown>,
  ) => Promise<T>;
  /** Calls a tool that must fail; returns its one-line error text. */
  fails: (name: string, args?: Record<string, unknown>) => Promise<string>;
  /** Closes the client (the server exits on end of input). */
  close: () => Promise<void>;
}

/** Drops variables set to "" (a way for callers to unset a default). */
function withoutEmpty(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ""));
}

/** Spawns a server for `root` with `env` and connects an SDK client to it. */
export async function connect(
  root: string,
  env: Record<string, string> = {},
  options: {
    args?: string[];
    command?: string;
    cwd?: string;
    client?: Client;
  } = {},
): Promise<Connection> {
  const transport = new StdioClientTransport({
    command: options.command ?? DENO,
    args: options.args ?? serverArgs(root),
    env: withoutEmpty({
      PATH: Deno.env.get("PATH") ?? "",
      C2C_MCP_BROKER_ROOT: root,
      ...env,
    }),
    cwd: options.cwd,
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Uint8Array) => {
    stderr += new TextDecoder().decode(chunk);
  });
  const client = options.client ??
    new Client({ name: "c2c-test", version: "1.0.0" });
  await client.connect(transport);
  const call = (name: string, args: Record<string, unknown> = {}) =>
    client.callTool({ name, arguments: args }) as Promise<CallToolResult>;
  const close = async () => {
    await client.close().catch(() => {});
  };
  return {
    client,
    transport,
    stderr: () => stderr,
    call,
    ok: async <T>(name: string, args: Record<string, unknown> = {}) => {
      const r = await call(name, args);
      if (r.isError) {
        throw new Error(`${name} failed: ${JSON.stringify(r.content)}`);
      }
      return r.structuredContent as T;
    },
    fails: async (name: string, args: Record<string, unknown> = {}) => {
      const r = await call(name, args);
      if (!r.isError) {
        throw new Error(`${name} should have failed: ${JSON.stringify(r)}`);
      }
      const text = (r.content[0] as { text: string }).text;
      if (text.includes("\n")) throw new Error(`multi-line error: ${text}`);
      return text;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
