/**
 * `deno task demo`: c2c's main job, end to end, on a throwaway git repo.
 *
 * Two agents each get a real c2c MCP server process (started through the
 * launcher, exactly as a client would, with permissions scoped to the broker
 * root that git resolves), register, exchange direct messages, join a room,
 * talk there, and poll. The demo prints what each agent would read.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import {
  type CallToolResult,
  Client,
  StdioClientTransport,
} from "./mcp/sdk_client.ts";

const LAUNCHER = fileURLToPath(new URL("./launcher.ts", import.meta.url));
const color = !Deno.noColor && Deno.stdout.isTerminal();
const dim = (s: string) => (color ? `\x1b[2m${s}\x1b[0m` : s);
const bold = (s: string) => (color ? `\x1b[1m${s}\x1b[0m` : s);

interface Agent {
  alias: string;
  client: Client;
  call: (
    tool: string,
    args?: Record<string, unknown>,
  ) => Promise<CallToolResult>;
}

async function startAgent(repo: string, alias: string): Promise<Agent> {
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args: ["run", "--quiet", "--allow-env", "--allow-run", LAUNCHER, "mcp"],
    cwd: repo,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "",
      C2C_MCP_SESSION_ID: `demo-${alias}`,
      C2C_MCP_AUTO_REGISTER_ALIAS: alias,
    },
    stderr: "inherit",
  });
  const client = new Client({ name: `demo-${alias}`, version: "1.0.0" });
  await client.connect(transport);
  const call = async (tool: string, args: Record<string, unknown> = {}) => {
    const result = await client.callTool({
      name: tool,
      arguments: args,
    }) as CallToolResult;
    if (result.isError) {
      throw new Error(`${alias}: ${tool} failed: ${textOf(result, 0)}`);
    }
    return result;
  };
  return { alias, client, call };
}

function textOf(result: CallToolResult, index: number): string {
  const block = result.content[index];
  return block && block.type === "text" ? block.text : "";
}

function step(agent: string, action: string, detail = ""): void {
  console.log(
    `${bold(agent.padEnd(12))} ${action}${detail ? dim(`  ${detail}`) : ""}`,
  );
}

function show(agent: Agent, result: CallToolResult): void {
  const envelopes =
    (result.structuredContent as { envelopes?: string } | undefined)
      ?.envelopes ?? "";
  if (!envelopes) {
    console.log(dim(`${" ".repeat(13)}(inbox empty)`));
    return;
  }
  console.log(`${" ".repeat(13)}${agent.alias} reads:`);
  for (const line of envelopes.split("\n")) {
    console.log(`${" ".repeat(15)}${line}`);
  }
}

async function main(): Promise<void> {
  const repo = await Deno.makeTempDir({ prefix: "c2c-demo-" });
  await new Deno.Command("git", { args: ["init", "-q", repo] }).output();
  console.log(dim(`temp repo ${repo}; broker root ${repo}/.git/c2c/mcp\n`));
  const storm = await startAgent(repo, "storm-beacon");
  const tide = await startAgent(repo, "tide-runner");
  try {
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
    console.log(
      dim("\nBoth servers exit now; their leases are released with them."),
    );
  } finally {
    await storm.client.close();
    await tide.client.close();
    await Deno.remove(repo, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await main();
