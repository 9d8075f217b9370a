// The floor under every MCP figure: an MCP server with one trivial tool,
// `echo`, on the same SDK classes (McpServer + StdioServerTransport) and the
// same zod as `server.ts`, doing no work of its own. Whatever a c2c tool call
// costs beyond an `echo` call is c2c's; the rest is the SDK, JSON-RPC and the
// pipe. Run with `deno run --no-prompt bench/_echo_server.ts` (it needs no
// permissions at all).

import process from "node:process";
import { z } from "zod";
import { McpServer, StdioServerTransport } from "../mcp/sdk.ts";

const server = new McpServer({ name: "c2c-bench-echo", version: "0.0.0" });
server.registerTool(
  "echo",
  {
    description: "Returns its text argument unchanged.",
    inputSchema: { text: z.string() },
  },
  ({ text }) => ({ content: [{ type: "text", text }] }),
);
// Like server.ts: exit when the client closes stdin (the SDK transport does
// not notice end of input by itself), so a benchmark leaves nothing behind.
const transport = new StdioServerTransport();
transport.onclose = () => Deno.exit(0);
process.stdin.on("end", () => Deno.exit(0));
await server.connect(transport);
