// mcp/sdk.ts: the SDK's McpServer without the Ajv validator it would build at
// every start. An SDK client talks to it in-process (the SDK's in-memory
// transport): tools still answer, and the one SDK path that used the
// validator (a client's answer to a form elicitation) fails loudly.

import assert from "node:assert/strict";
import { z } from "zod";
// @ts-types="@modelcontextprotocol/sdk/inMemory"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
// @ts-types="@modelcontextprotocol/sdk/types"
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
// @ts-types="@modelcontextprotocol/sdk/validation/ajv"
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv";
import { McpServer } from "../mcp/sdk.ts";
import { Client } from "../mcp/sdk_client.ts";

/** A server with one echo tool and a client that accepts every elicitation. */
async function connected(server: McpServer) {
  server.registerTool("echo", {
    inputSchema: { text: z.string() },
    outputSchema: { text: z.string() },
  }, ({ text }: { text: string }) => ({
    content: [{ type: "text" as const, text }],
    structuredContent: { text },
  }));
  const client = new Client(
    { name: "sdk-test", version: "1" },
    { capabilities: { elicitation: { form: {} } } },
  );
  client.setRequestHandler(ElicitRequestSchema, () => ({
    action: "accept",
    content: { name: 42 },
  }));
  const [a, b] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(a), client.connect(b)]);
  return { client, [Symbol.asyncDispose]: () => client.close() };
}

const ELICIT = {
  mode: "form" as const,
  message: "name?",
  requestedSchema: {
    type: "object" as const,
    properties: { name: { type: "string" as const } },
  },
};

Deno.test("McpServer (mcp/sdk.ts) serves tools and validates tool input and output with zod", async () => {
  const server = new McpServer({ name: "t", version: "1" });
  await using c = await connected(server);
  const ok = await c.client.callTool({
    name: "echo",
    arguments: { text: "hi" },
  });
  assert.deepEqual(ok.structuredContent, { text: "hi" });
  const bad = await c.client.callTool({ name: "echo", arguments: { text: 1 } });
  assert.equal(bad.isError, true);
});

Deno.test("McpServer (mcp/sdk.ts) builds no Ajv validator: an elicitation answer fails loudly", async () => {
  const server = new McpServer({ name: "t", version: "1" });
  await using _c = await connected(server);
  await assert.rejects(
    server.server.elicitInput(ELICIT),
    /c2c's MCP server validates no JSON Schema/,
  );
});

Deno.test("McpServer (mcp/sdk.ts) keeps an explicit jsonSchemaValidator", async () => {
  const server = new McpServer({ name: "t", version: "1" }, {
    jsonSchemaValidator: new AjvJsonSchemaValidator(),
  });
  await using _c = await connected(server);
  await assert.rejects(
    server.server.elicitInput(ELICIT),
    /does not match requested schema/,
  );
});
