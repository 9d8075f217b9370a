/**
 * TEMPORARY: hand-written MCP configs that make each real client launch c2c's
 * MCP server. Replaced by `c2c setup <client>` once it lands (issue 5); the
 * end-to-end tests must then configure the clients through `setup` itself.
 *
 * The server entry is the documented command line: the running Deno binary,
 * `run`, the flags from `permissionFlags("server", {root})` (read/write on
 * the broker root only, the server's env allow-list), and `server.ts`, with
 * `C2C_MCP_BROKER_ROOT` and `C2C_MCP_AUTO_REGISTER_ALIAS` in its env.
 * `DENO_DIR` is passed too: each client runs with a throwaway HOME, and Deno
 * would otherwise look for (and download) its module cache under that HOME.
 *
 * Requires `--allow-read` and `--allow-write` on the client's HOME, and
 * `--allow-run` (to ask Deno where its cache is).
 *
 * @module
 */

import { permissionFlags } from "../../lib/permissions.ts";
import { type ClientName, REPO_DIR } from "./clients.ts";
import {
  type ClientHome,
  codexConfigPath,
  mergeJsonFile,
} from "./run_client.ts";

/** What the MCP entry of one client needs. */
export interface McpEntryOptions {
  /** Broker root shared by every agent of one test. */
  root: string;
  /** Alias the server registers at start. */
  alias: string;
}

/** The server's command line and env, as each client config spells it. */
export interface ServerCommand {
  /** The Deno binary. */
  command: string;
  /** `run`, the permission flags, and `server.ts`. */
  args: string[];
  /** Env for the server process. */
  env: Record<string, string>;
}

let denoDir: Promise<string> | null = null;

/**
 * Deno's cache folder as the test process sees it (`deno info --json`).
 *
 * @returns Absolute path of `DENO_DIR`.
 */
export function denoCacheDir(): Promise<string> {
  denoDir ??= (async () => {
    const fromEnv = Deno.env.get("DENO_DIR");
    if (fromEnv) return fromEnv;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json"],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "null",
    }).output();
    return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir as string;
  })();
  return denoDir;
}

/**
 * The c2c MCP server command for a broker root and alias.
 *
 * @param options Root and alias.
 * @returns Command, args and env.
 */
export async function serverCommand(
  options: McpEntryOptions,
): Promise<ServerCommand> {
  return {
    command: Deno.execPath(),
    args: [
      "run",
      ...permissionFlags("server", { root: options.root }),
      `${REPO_DIR}/server.ts`,
    ],
    env: {
      C2C_MCP_BROKER_ROOT: options.root,
      C2C_MCP_AUTO_REGISTER_ALIAS: options.alias,
      DENO_DIR: await denoCacheDir(),
    },
  };
}

function tomlString(value: string): string {
  return JSON.stringify(value); // TOML basic strings share JSON's escapes
}

/**
 * Writes the client's MCP config so that it starts c2c's server
 * (TEMPORARY: replaced by `c2c setup <client>`). Merges into what
 * {@linkcode prepareClientHome} wrote (model provider, telemetry settings).
 *
 * - Claude Code: `~/.claude.json` `mcpServers.c2c` (user scope, connects
 *   without approval).
 * - Codex: `$CODEX_HOME/config.toml` `[mcp_servers.c2c]` with the env and
 *   `default_tools_approval_mode = "approve"` (else `exec` refuses the call).
 * - OpenCode: `$XDG_CONFIG_HOME/opencode/opencode.json` `mcp.c2c`.
 * - Gemini CLI: `~/.gemini/settings.json` `mcpServers.c2c` with
 *   `trust: true` (an untrusted server is not offered in `-p` mode).
 *
 * @param client Which client.
 * @param home The client's prepared home.
 * @param options Root and alias.
 * @returns The path written.
 */
export async function writeMcpConfig(
  client: ClientName,
  home: ClientHome,
  options: McpEntryOptions,
): Promise<string> {
  const server = await serverCommand(options);
  switch (client) {
    case "claude": {
      const path = `${home.home}/.claude.json`;
      await mergeJsonFile(path, {
        mcpServers: { c2c: { type: "stdio", ...server } },
      });
      return path;
    }
    case "codex": {
      const path = codexConfigPath(home);
      const env = Object.entries(server.env)
        .map(([k, v]) => `${k} = ${tomlString(v)}`).join(", ");
      await Deno.writeTextFile(
        path,
        [
          "",
          "[mcp_servers.c2c]",
          `command = ${tomlString(server.command)}`,
          `args = [${server.args.map(tomlString).join(", ")}]`,
          `env = { ${env} }`,
          `default_tools_approval_mode = "approve"`,
          "",
        ].join("\n"),
        { append: true },
      );
      return path;
    }
    case "opencode": {
      const path = `${home.xdg_config}/opencode/opencode.json`;
      await mergeJsonFile(path, {
        mcp: {
          c2c: {
            type: "local",
            command: [server.command, ...server.args],
            environment: server.env,
            enabled: true,
          },
        },
      });
      return path;
    }
    case "gemini": {
      const path = `${home.home}/.gemini/settings.json`;
      await mergeJsonFile(path, {
        mcpServers: { c2c: { ...server, trust: true } },
      });
      return path;
    }
  }
}
