/**
 * Crush and Kimi Code cannot be installed here (Crush's npm postinstall
 * downloads its binary from the internet; Kimi is on PyPI only), so they are
 * proven on what `c2c setup` writes, not live: through the launcher, as a
 * user runs it, into a config that already holds another server; the entry
 * has the shape the client reads (`../shared/REAL_CLIENTS.md`), the other
 * server is kept, a second run changes nothing, and the entry's command,
 * started as the client would start it (project as working directory, the
 * entry's env), is a c2c MCP server that registers the alias.
 *
 * Requires `--allow-run`, `--allow-env`, and read/write on temp folders.
 *
 * @module
 */

import { launch } from "../_cli.ts";
import { connect } from "../_mcp.ts";
import { initRepo } from "./run_client.ts";

/** The clients proven on their config files only. */
export type ConfigOnlyClient = "crush" | "kimi";

/** What is known about each of them. */
export interface ConfigOnlySpec {
  /** Which client. */
  client: ConfigOnlyClient;
  /** Human name. */
  title: string;
  /** Where it would come from. */
  source: string;
  /** Why it is not installed here. */
  why: string;
  /** The config file, relative to HOME. */
  file: string;
  /** Keys leading to c2c's entry in that file. */
  entry: string[];
}

/** Crush and Kimi Code. */
export const CONFIG_ONLY: Readonly<Record<ConfigOnlyClient, ConfigOnlySpec>> = {
  crush: {
    client: "crush",
    title: "Crush",
    source: "npm `@charmland/crush`",
    why: "its postinstall downloads the binary from the internet",
    file: ".config/crush/crush.json",
    entry: ["mcp", "c2c"],
  },
  kimi: {
    client: "kimi",
    title: "Kimi Code",
    source: "PyPI only",
    why: "not on npm; PyPI is unreachable here",
    file: ".kimi/mcp.json",
    entry: ["mcpServers", "c2c"],
  },
};

/** The other server the existing config holds (must survive setup). */
const OTHER = { command: "npx", args: ["-y", "some-other-server"] };

/** Outcome of {@linkcode checkConfigOnly}. */
export interface ConfigOnlyResult {
  /** Which client. */
  client: ConfigOnlyClient;
  /** Whether every check passed. */
  ok: boolean;
  /** Checks that passed, in words. */
  passed: string[];
  /** The first check that failed, with the evidence. */
  failure: string | null;
}

type Json = Record<string, unknown>;

function dig(value: unknown, keys: string[]): unknown {
  let at = value;
  for (const key of keys) at = (at as Json | undefined)?.[key];
  return at;
}

/**
 * Runs the config-file checks for Crush or Kimi Code.
 *
 * @param client Which client.
 * @returns What passed, and the first failure.
 *
 * @example Usage
 * ```ts ignore
 * import { checkConfigOnly } from "./config_only.ts";
 * (await checkConfigOnly("crush")).ok; // true
 * ```
 */
export async function checkConfigOnly(
  client: ConfigOnlyClient,
): Promise<ConfigOnlyResult> {
  const spec = CONFIG_ONLY[client];
  const base = await Deno.makeTempDir({ prefix: `c2c-e2e-${client}-` });
  const home = `${base}/home`;
  const project = `${base}/project`;
  const alias = `${client}-cfg`;
  const passed: string[] = [];
  const result = (failure: string | null): ConfigOnlyResult => ({
    client,
    ok: failure === null,
    passed,
    failure,
  });
  try {
    await initRepo(project);
    const path = `${home}/${spec.file}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), {
      recursive: true,
    });
    const existing: Json = {};
    let at = existing;
    for (const key of spec.entry.slice(0, -1)) at = at[key] = {} as Json;
    at.other = client === "crush" ? { type: "stdio", ...OTHER } : OTHER;
    await Deno.writeTextFile(path, JSON.stringify(existing, null, 2) + "\n");

    const env = {
      HOME: home,
      XDG_CONFIG_HOME: `${home}/.config`,
      USER: "e2e",
    };
    const setup = () =>
      launch(["setup", client, "--alias", alias, "--json"], {
        cwd: project,
        env,
      });
    const first = await setup();
    if (first.code !== 0) {
      return result(
        `c2c setup ${client} exited ${first.code}: ${first.stderr.trim()}`,
      );
    }
    passed.push(`\`c2c setup ${client}\` writes ~/${spec.file}`);

    const config = JSON.parse(await Deno.readTextFile(path));
    const entry = dig(config, spec.entry) as Json | undefined;
    const envOf = entry?.env as Record<string, string> | undefined;
    const shapeOk = entry !== undefined &&
      typeof entry.command === "string" && Array.isArray(entry.args) &&
      (client !== "crush" || entry.type === "stdio") &&
      envOf?.C2C_MCP_AUTO_REGISTER_ALIAS === alias &&
      envOf?.C2C_MCP_CLIENT === client;
    if (!shapeOk) {
      return result(
        `${spec.entry.join(".")} has the wrong shape: ${JSON.stringify(entry)}`,
      );
    }
    passed.push(
      `\`${spec.entry.join(".")}\` = {${
        client === "crush" ? "type: stdio, " : ""
      }command, args, env} with the alias`,
    );
    const other = dig(config, [...spec.entry.slice(0, -1), "other"]);
    const otherWanted = dig(existing, [...spec.entry.slice(0, -1), "other"]);
    if (JSON.stringify(other) !== JSON.stringify(otherWanted)) {
      return result(
        `the existing server entry changed: ${JSON.stringify(other)}`,
      );
    }
    passed.push("the existing server entry is kept");

    const again = await setup();
    const changed = again.code === 0 ? again.json().changed : null;
    if (changed !== false) {
      return result(
        `a second setup did not report "no change": ${again.stdout}${again.stderr}`,
      );
    }
    passed.push("a second run changes nothing");

    // Start the entry as the client would: in the project, with its env.
    await using server = await connect("", {
      ...envOf,
      HOME: home,
      C2C_MCP_BROKER_ROOT: "", // unset: the entry finds the project's root
    }, {
      command: entry.command as string,
      args: entry.args as string[],
      cwd: project,
    });
    const { tools } = await server.client.listTools();
    if (!tools.some((t) => t.name === "send")) {
      return result(
        `the entry's server offers no send tool: ${
          tools.map((t) => t.name).join(", ")
        }`,
      );
    }
    const whoami = await server.ok<{ alias: string; client: string }>(
      "whoami",
    );
    if (whoami.alias !== alias || whoami.client !== client) {
      return result(`whoami answered ${JSON.stringify(whoami)}`);
    }
    passed.push(
      `its command starts c2c's server in the project: ${tools.length} tools, registered as ${alias}`,
    );
    return result(null);
  } catch (e) {
    return result(`${(e as Error).message}`);
  } finally {
    await Deno.remove(base, { recursive: true }).catch(() => {});
  }
}
