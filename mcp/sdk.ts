/**
 * The one place c2c imports the MCP SDK. Deno cannot resolve the SDK's
 * subpath types on its own (every SDK type would become `any`), so each
 * import carries a `@ts-types` hint pointing at the extensionless subpath,
 * which the package's `exports` map resolves to the `.d.ts` file.
 *
 * @module
 */

// @ts-types="@modelcontextprotocol/sdk/server/mcp"
import { McpServer as SdkMcpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
// @ts-types="@modelcontextprotocol/sdk/server/index"
import type { ServerOptions } from "@modelcontextprotocol/sdk/server/index.js";
// @ts-types="@modelcontextprotocol/sdk/types"
import type { Implementation } from "@modelcontextprotocol/sdk/types.js";
// @ts-types="@modelcontextprotocol/sdk/validation/types"
import type { jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/types.js";

// @ts-types="@modelcontextprotocol/sdk/server/stdio"
export { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
// @ts-types="@modelcontextprotocol/sdk/types"
export type {
  CallToolResult,
  ServerNotification,
  ServerRequest,
  ToolAnnotations,
} from "@modelcontextprotocol/sdk/types.js";
// @ts-types="@modelcontextprotocol/sdk/shared/protocol"
export type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";

/**
 * The JSON Schema validator c2c's servers get: none. The SDK's server uses
 * one only to check a client's answer to `elicitation/create` (c2c never
 * elicits; zod validates every tool's input and output), yet by default it
 * builds an Ajv instance with all formats in every server process: some
 * 5–20 ms of each start, which every client waits for before its first model
 * request. Should c2c ever elicit, this fails loudly instead of accepting
 * unchecked input.
 */
const NO_JSON_SCHEMA_VALIDATOR: jsonSchemaValidator = {
  getValidator() {
    throw new Error(
      "c2c's MCP server validates no JSON Schema; give McpServer a jsonSchemaValidator to elicit",
    );
  },
};

/**
 * The SDK's `McpServer`, minus the Ajv instance it would build at start (see
 * {@linkcode NO_JSON_SCHEMA_VALIDATOR}); an explicit `jsonSchemaValidator`
 * in `options` still wins. Everything else is the SDK's.
 */
export class McpServer extends SdkMcpServer {
  /**
   * @param serverInfo Name, title and version reported in `initialize`.
   * @param options The SDK's server options.
   */
  constructor(serverInfo: Implementation, options?: ServerOptions) {
    super(serverInfo, {
      jsonSchemaValidator: NO_JSON_SCHEMA_VALIDATOR,
      ...options,
    });
  }
}
