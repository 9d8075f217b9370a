/**
 * A scripted fake model for driving the real agent CLIs offline. It listens on
 * 127.0.0.1 (a random port) and speaks the four wire APIs the clients use
 * (`../shared/REAL_CLIENTS.md`):
 *
 * - Anthropic Messages, `POST /v1/messages` (SSE when `stream`, else JSON),
 *   plus `/v1/messages/count_tokens` and `HEAD /` (Claude Code);
 * - OpenAI Responses, `POST /v1/responses` SSE (Codex; MCP tools arrive in a
 *   `namespace` tool and are called with `namespace` + `name`);
 * - Chat Completions, `POST /v1/chat/completions` SSE (OpenCode);
 * - Gemini, `POST /v1beta/models/M:streamGenerateContent?alt=sse`, plus the
 *   JSON `:generateContent` side calls (router, next-speaker checks) and
 *   `:countTokens`.
 *
 * One fake serves one client session: start one per agent. Every request that
 * offers tools is a *turn* and takes the next step of the script (call a c2c
 * tool with given arguments, or answer with text); requests without tools
 * (titles, quota checks, routers) are *side* requests and get a harmless
 * text answer without consuming a step. A step can be held: its request is
 * recorded and the answer waits until the test calls
 * {@linkcode FakeModel.release}, which keeps the client (and so its MCP
 * server and lease) alive for as long as the test needs. Every request body is
 * recorded, so a test can assert what the model saw.
 *
 * @example Usage
 * ```ts
 * import { startFakeModel } from "./fake_model.ts";
 * await using fake = await startFakeModel([
 *   { call: "whoami" },
 *   { call: "send", args: { to_alias: "peer", content: "hi" } },
 *   { text: "done" },
 * ]);
 * console.log(fake.url); // http://127.0.0.1:PORT — the client's base URL
 * ```
 *
 * Requires `--allow-net=127.0.0.1`.
 *
 * @module
 */

/** The wire APIs the fake speaks. */
export type Api = "anthropic" | "responses" | "chat" | "gemini";

/** One scripted answer to a turn request. */
export interface Step {
  /**
   * c2c tool to call, by its base name (`send`, `poll_inbox`, …); the fake
   * finds the client's name for it among the offered tools (`mcp__c2c__send`,
   * `c2c_send`, `mcp_c2c_send`, or `send` in namespace `mcp__c2c`). With
   * `raw`, the exact tool name instead.
   */
  call?: string;
  /**
   * Tool arguments (default `{}`), or a function computing them from the
   * turn's request when they depend on what the model was told (an id a
   * previous tool returned, a message a hook delivered). A function that
   * throws fails the turn with its message, like a tool not offered.
   */
  args?:
    | Record<string, unknown>
    | ((request: RecordedRequest) => Record<string, unknown>);
  /** Treat `call` as the client's exact tool name. */
  raw?: boolean;
  /** Plain-text answer that ends the turn (used when `call` is absent). */
  text?: string;
  /** Hold the answer until {@linkcode FakeModel.release} is called. */
  hold?: boolean;
}

/** A tool the client offered to the model. */
export interface OfferedTool {
  /** Tool name as the client sends it. */
  name: string;
  /** Responses API namespace (`mcp__c2c`), when the tool sits in one. */
  namespace?: string;
}

/** One request the fake received. */
export interface RecordedRequest {
  /** Arrival order among all requests (0-based). */
  index: number;
  /** HTTP method. */
  method: string;
  /** Path and query string. */
  path: string;
  /** Which API it belongs to; `null` for unknown paths. */
  api: Api | null;
  /** `turn` (offers tools: takes a step), `side` (answered harmlessly), or `other`. */
  kind: "turn" | "side" | "other";
  /** Index among turn requests, or `null`. */
  turn: number | null;
  /** The body parsed as JSON, or `null`. */
  body: unknown;
  /** The raw body. */
  text: string;
  /** What the fake answered, e.g. `tool mcp__c2c__send` or `text`. */
  reply: string;
  /** Milliseconds since the fake started. */
  at_ms: number;
  /** Wall-clock arrival time (`Date.now()`), to compare across fakes. */
  wall_ms: number;
}

/** Aliases a step's c2c tool name may have, per client naming scheme. */
function candidateNames(base: string): string[] {
  return [`mcp__c2c__${base}`, `c2c_${base}`, `mcp_c2c_${base}`];
}

/** The namespace Codex puts MCP server `c2c`'s tools in. */
const CODEX_NAMESPACE = "mcp__c2c";

/**
 * The cause the fake names when a turn offers no c2c tool and no earlier one
 * did: the client sent its first model request before c2c's MCP server had
 * answered `initialize` (see `setup/claude_code.ts`, `setup/codex.ts`).
 */
export const NOT_READY =
  "the MCP server was not ready when the client sent its first request";

/** Whether an offered tool is one of c2c's, in any client's naming. */
function isC2cTool(tool: OfferedTool): boolean {
  return tool.namespace === CODEX_NAMESPACE ||
    /^(?:mcp__c2c__|mcp_c2c_|c2c_)/.test(tool.name);
}

/** A running fake model. */
export class FakeModel implements AsyncDisposable {
  /** Base URL, e.g. `http://127.0.0.1:41234` (append `/v1` for OpenAI-style clients). */
  readonly url: string;
  /** Every request received, in arrival order. */
  readonly requests: RecordedRequest[] = [];
  /** Problems the fake met (a scripted tool not offered, bad JSON, …). */
  readonly errors: string[] = [];
  /** The script; tests may push more steps while a client runs. */
  readonly script: Step[];
  #server: Deno.HttpServer<Deno.NetAddr>;
  #started = performance.now();
  #turns = 0;
  #ids = 0;
  #held: { request: RecordedRequest; release: () => void } | null = null;
  /** Script indexes of steps replayed after a ToolSearch. */
  #searched = new Set<number>();
  #waiters = new Set<() => void>();
  #closed = false;

  /** Use {@linkcode startFakeModel}. */
  constructor(script: Step[]) {
    this.script = script;
    this.#server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: () => {},
    }, (request) => this.#handle(request));
    this.url = `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** Turn requests received so far. */
  get turns(): RecordedRequest[] {
    return this.requests.filter((r) => r.kind === "turn");
  }

  /** The request currently held, if any. */
  get held(): RecordedRequest | null {
    return this.#held?.request ?? null;
  }

  /**
   * Releases the held answer (no-op when nothing is held).
   */
  release(): void {
    const held = this.#held;
    this.#held = null;
    held?.release();
  }

  /**
   * Waits until turn request `n` (0-based) has arrived.
   *
   * @param n Turn index.
   * @param timeout_ms How long to wait.
   * @returns The recorded request.
   */
  async waitForTurn(n: number, timeout_ms = 60_000): Promise<RecordedRequest> {
    await this.#until(
      () => this.turns.length > n,
      timeout_ms,
      `turn request ${n}`,
    );
    return this.turns[n];
  }

  /**
   * Waits until an answer is held.
   *
   * @param timeout_ms How long to wait.
   * @returns The held request.
   */
  async waitForHold(timeout_ms = 60_000): Promise<RecordedRequest> {
    await this.#until(() => this.#held !== null, timeout_ms, "a held request");
    return this.#held!.request;
  }

  /** Stops the server; a held answer is released first. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.release();
    for (const wake of this.#waiters) wake();
    await this.#server.shutdown();
  }

  /** Same as {@linkcode FakeModel.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #until(
    predicate: () => boolean,
    timeout_ms: number,
    what: string,
  ): Promise<void> {
    const deadline = Date.now() + timeout_ms;
    while (!predicate()) {
      if (this.#closed) throw new Error(`fake model closed awaiting ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `fake model: timed out after ${timeout_ms} ms awaiting ${what}; ` +
            `received: ${
              this.requests.map((r) => `${r.method} ${r.path} (${r.kind})`)
                .join(", ") || "nothing"
            }${
              this.errors.length ? `; errors: ${this.errors.join("; ")}` : ""
            }`,
        );
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.#waiters.add(done);
      });
    }
  }

  #notify(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  #id(prefix: string): string {
    return `${prefix}_${++this.#ids}`;
  }

  async #handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const path = url.pathname + url.search;
    const text = request.method === "GET" || request.method === "HEAD"
      ? ""
      : await request.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON: recorded as text only.
    }
    const api = apiOf(request.method, url.pathname);
    const record: RecordedRequest = {
      index: this.requests.length,
      method: request.method,
      path,
      api,
      kind: "other",
      turn: null,
      body,
      text,
      reply: "",
      at_ms: Math.round(performance.now() - this.#started),
      wall_ms: Date.now(),
    };
    const respond = (reply: string, response: Response) => {
      record.reply = reply;
      return response;
    };
    if (api === null) {
      this.requests.push(record);
      this.#notify();
      return this.#other(request.method, url.pathname, respond);
    }
    const stream = isStreaming(api, url.pathname, body);
    const offered = offeredTools(body);
    if (!isMainCall(api, url.pathname) || offered.length === 0) {
      record.kind = "side";
      this.requests.push(record);
      this.#notify();
      return respond(
        "side",
        sideAnswer(api, url.pathname, body, stream, this.#id("side")),
      );
    }
    record.kind = "turn";
    record.turn = this.#turns++;
    this.requests.push(record);
    const step = this.script[record.turn] ?? { text: "done" };
    if (step.hold) {
      await new Promise<void>((release) => {
        this.#held = { request: record, release };
        this.#notify();
      });
    } else {
      this.#notify();
    }
    return respond(...this.#answer(record, step, offered, stream));
  }

  #other(
    method: string,
    pathname: string,
    respond: (reply: string, response: Response) => Response,
  ): Response {
    if (method === "HEAD") return respond("head", new Response(null));
    if (method === "GET" && /\/models\/?$/.test(pathname)) {
      // Model lists (Codex, Gemini): empty is enough.
      return respond(
        "models",
        Response.json({ object: "list", data: [], models: [] }),
      );
    }
    return respond("404", new Response("not found", { status: 404 }));
  }

  /**
   * Why a scripted tool is missing from a turn. No c2c tool at all means
   * the client sent the request without c2c's MCP server: not connected yet
   * when no earlier turn had its tools (the client did not wait for a slow
   * start), gone when one had.
   */
  #notOffered(turn: number, step: Step, offered: OfferedTool[]): string {
    if (step.raw || offered.some(isC2cTool)) {
      return `tool '${step.call}' not offered`;
    }
    const before = this.turns.some((r) =>
      r.turn !== null && r.turn < turn && offeredTools(r).some(isC2cTool)
    );
    return before
      ? `c2c tools were not offered to the model: the MCP server was connected in an earlier request and was gone when the client sent request ${turn}`
      : `c2c tools were not offered to the model: ${NOT_READY}`;
  }

  #answer(
    record: RecordedRequest,
    step: Step,
    offered: OfferedTool[],
    stream: boolean,
  ): [string, Response] {
    const { api, body } = record as RecordedRequest & { api: Api };
    const turn = record.turn!;
    if (step.call === undefined) {
      const text = step.text ?? "done";
      return ["text", turnText(api, body, text, stream, this.#id("msg"))];
    }
    let tool = resolveTool(offered, step.call, step.raw ?? false);
    let args: Record<string, unknown>;
    try {
      args = typeof step.args === "function"
        ? step.args(record)
        : step.args ?? {};
    } catch (e) {
      const error = `turn ${turn}: arguments of '${step.call}': ${
        (e as Error).message
      }`;
      this.errors.push(error);
      return [
        "error",
        turnText(api, body, `FAKE MODEL ERROR: ${error}`, stream, "err"),
      ];
    }
    if (!tool) {
      // Claude Code 2.1.3xx may defer MCP tools behind ToolSearch: select the
      // tool first and answer this step again on the next turn. Only when
      // the request lists the tool among its deferred ones, and once per
      // step: a server that never connected would otherwise loop here.
      const search = offered.find((t) => t.name === "ToolSearch");
      const deferred = record.text.includes(`mcp__c2c__${step.call}`);
      if (search && !step.raw && deferred && !this.#searched.has(turn)) {
        tool = search;
        args = { query: `select:mcp__c2c__${step.call}` };
        this.script.splice(turn + 1, 0, { ...step, hold: false });
        this.#searched.add(turn + 1);
      } else {
        const error = `turn ${turn}: ${
          this.#notOffered(turn, step, offered)
        }; offered: ${offered.map(qualifiedName).join(", ")}`;
        this.errors.push(error);
        return [
          "error",
          turnText(api, body, `FAKE MODEL ERROR: ${error}`, stream, "err"),
        ];
      }
    }
    const callId = this.#id("call");
    return [
      `tool ${qualifiedName(tool)}`,
      turnToolCall(api, body, tool, args, stream, callId),
    ];
  }
}

/**
 * Starts a fake model on 127.0.0.1 with a random port.
 *
 * Requires `--allow-net=127.0.0.1`.
 *
 * @param script Steps for successive turn requests; after the last one the
 * fake answers "done".
 * @returns The running fake (dispose it, or call `close()`).
 */
export function startFakeModel(script: Step[] = []): Promise<FakeModel> {
  return Promise.resolve(new FakeModel(script));
}

// ---------------------------------------------------------------------------
// Request classification

function apiOf(method: string, pathname: string): Api | null {
  if (method !== "POST") return null;
  if (/\/v1\/messages(\/count_tokens)?$/.test(pathname)) return "anthropic";
  if (/\/v1\/responses(\/compact)?$/.test(pathname)) return "responses";
  if (/\/v1\/chat\/completions$/.test(pathname)) return "chat";
  if (/\/v1beta\/models\/[^/]+:[A-Za-z]+$/.test(pathname)) return "gemini";
  return null;
}

/** Whether the path is the API's main generation call (not a side endpoint). */
function isMainCall(api: Api, pathname: string): boolean {
  switch (api) {
    case "anthropic":
      return pathname.endsWith("/v1/messages");
    case "responses":
      return pathname.endsWith("/v1/responses");
    case "chat":
      return true;
    case "gemini":
      return pathname.endsWith(":streamGenerateContent");
  }
}

function isStreaming(api: Api, pathname: string, body: unknown): boolean {
  if (api === "gemini") return pathname.endsWith(":streamGenerateContent");
  return (body as { stream?: unknown } | null)?.stream === true;
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object"
    ? value as Record<string, unknown>
    : {};
}

/**
 * The tools a recorded request offers the model, whatever its API: Anthropic
 * `tools[].name`, Chat Completions `tools[].function.name`, Gemini
 * `tools[].functionDeclarations[].name`, Responses `tools[].name` and the
 * tools inside `{"type":"namespace"}` entries (with their namespace).
 *
 * @param request A recorded request, or a request body.
 * @returns The offered tools, in the order sent.
 *
 * @example Usage
 * ```ts
 * import { offeredTools } from "./fake_model.ts";
 * offeredTools({ tools: [{ type: "function", function: { name: "c2c_send" } }] });
 * // [{ name: "c2c_send" }]
 * ```
 */
export function offeredTools(
  request: RecordedRequest | unknown,
): OfferedTool[] {
  const body = isRecorded(request) ? request.body : request;
  const tools: OfferedTool[] = [];
  for (const raw of asArray(asRecord(body).tools)) {
    const tool = asRecord(raw);
    if (tool.type === "namespace" && typeof tool.name === "string") {
      for (const inner of asArray(tool.tools)) {
        const name = asRecord(inner).name;
        if (typeof name === "string") {
          tools.push({ name, namespace: tool.name });
        }
      }
      continue;
    }
    const fn = asRecord(tool.function);
    if (typeof fn.name === "string") {
      tools.push({ name: fn.name });
      continue;
    }
    const declarations = asArray(tool.functionDeclarations);
    if (declarations.length) {
      for (const declaration of declarations) {
        const name = asRecord(declaration).name;
        if (typeof name === "string") tools.push({ name });
      }
      continue;
    }
    if (typeof tool.name === "string") tools.push({ name: tool.name });
  }
  return tools;
}

function isRecorded(value: unknown): value is RecordedRequest {
  const r = asRecord(value);
  return typeof r.index === "number" && typeof r.path === "string" &&
    "body" in r;
}

/**
 * A tool's name as one string: `namespace.name` for Responses namespace
 * tools (`mcp__c2c.send`), else the name.
 *
 * @param tool An offered tool.
 * @returns The qualified name.
 */
export function qualifiedName(tool: OfferedTool): string {
  return tool.namespace ? `${tool.namespace}.${tool.name}` : tool.name;
}

/**
 * The offered c2c tools, as base names mapped to the client's exact name
 * (e.g. `send` → `mcp__c2c__send`, `c2c_send`, `mcp_c2c_send`,
 * `mcp__c2c.send`).
 *
 * @param request A recorded request.
 * @returns Base name → qualified client name.
 */
export function c2cToolNames(request: RecordedRequest): Map<string, string> {
  const names = new Map<string, string>();
  for (const tool of offeredTools(request)) {
    if (tool.namespace === CODEX_NAMESPACE) {
      names.set(tool.name, qualifiedName(tool));
      continue;
    }
    const m = /^(?:mcp__c2c__|mcp_c2c_|c2c_)(.+)$/.exec(tool.name);
    if (m) names.set(m[1], tool.name);
  }
  return names;
}

function resolveTool(
  offered: OfferedTool[],
  call: string,
  raw: boolean,
): OfferedTool | undefined {
  if (raw) return offered.find((t) => t.name === call && !t.namespace);
  const namespaced = offered.find((t) =>
    t.namespace === CODEX_NAMESPACE && t.name === call
  );
  if (namespaced) return namespaced;
  for (const name of candidateNames(call)) {
    const tool = offered.find((t) => t.name === name);
    if (tool) return tool;
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// What the model saw

/**
 * Every string in a recorded request body, depth first. A string that is
 * itself JSON (some clients pass tool results as JSON text) is parsed and
 * walked instead, so escaped quotes do not hide what it says.
 *
 * @param request A recorded request.
 * @returns The strings.
 */
export function requestStrings(request: RecordedRequest): string[] {
  const out: string[] = [];
  walkStrings(request.body ?? request.text, out);
  return out;
}

function walkStrings(value: unknown, out: string[]): void {
  if (typeof value === "string") {
    const trimmed = value.trimStart();
    if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
      try {
        const parsed = JSON.parse(value);
        if (parsed !== null && typeof parsed === "object") {
          walkStrings(parsed, out);
          return;
        }
      } catch {
        // Plain text that starts with a brace.
      }
    }
    out.push(value);
  } else if (Array.isArray(value)) {
    for (const item of value) walkStrings(item, out);
  } else if (value !== null && typeof value === "object") {
    for (const item of Object.values(value)) walkStrings(item, out);
  }
}

/**
 * HTML-escapes `&`, `<`, `>` and `"` (the form Gemini CLI gives its model
 * for hook context: `&lt;c2c …&gt;`).
 *
 * @param text Raw text.
 * @returns The escaped text.
 */
export function htmlEscape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;")
    .replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function countIn(haystack: string, needle: string): number {
  if (!needle) return 0;
  let count = 0;
  for (let at = haystack.indexOf(needle); at !== -1;) {
    count++;
    at = haystack.indexOf(needle, at + needle.length);
  }
  return count;
}

/**
 * The forms in which a client may show `needle` to its model: raw; inside a
 * JSON string (as `structuredContent` reaches the model); with `<` and `>`
 * HTML-escaped but `&` and quotes left alone (Gemini CLI's hook context); and
 * fully HTML-escaped (with and without quotes).
 *
 * @param needle The text, e.g. an envelope.
 * @returns The distinct forms.
 */
export function shownForms(needle: string): string[] {
  const angles = (text: string) =>
    text.replace(/</g, "&lt;").replace(/>/g, "&gt;");
  return [
    ...new Set([
      needle,
      JSON.stringify(needle).slice(1, -1),
      angles(needle),
      angles(needle.replace(/&/g, "&amp;")),
      htmlEscape(needle),
    ]),
  ];
}

/**
 * How many times `needle` occurs in what a request showed the model: in every
 * string of the body (JSON-in-string decoded), in any of its
 * {@linkcode shownForms}.
 *
 * @param request A recorded request.
 * @param needle Text to count, e.g. an envelope.
 * @returns The number of occurrences.
 *
 * @example Usage
 * ```ts ignore
 * import { countOccurrences } from "./fake_model.ts";
 * countOccurrences(fake.turns[3], renderEnvelope(message)); // 1
 * ```
 */
export function countOccurrences(
  request: RecordedRequest,
  needle: string,
): number {
  const forms = shownForms(needle);
  let count = 0;
  for (const text of requestStrings(request)) {
    for (const form of forms) count += countIn(text, form);
  }
  return count;
}

/**
 * Where in a request `needle` (in any of its {@linkcode shownForms}) was
 * shown to the model, in words: the message or item that holds it, by role
 * and kind, e.g. `messages[3] user text`, `input[7] developer message`,
 * `messages[4] tool result`, `contents[2] user functionResponse`.
 *
 * @param request A recorded request.
 * @param needle Text to look for.
 * @returns One description per string that holds it (empty: not shown).
 */
export function whereSeen(request: RecordedRequest, needle: string): string[] {
  const forms = shownForms(needle);
  const found: string[] = [];
  const body = asRecord(request.body);
  for (const key of ["system", "instructions", "systemInstruction"]) {
    if (holds(body[key], forms)) found.push(`${key} prompt`);
  }
  for (const key of ["messages", "input", "contents"]) {
    asArray(body[key]).forEach((raw, i) => {
      if (!holds(raw, forms)) return;
      const item = asRecord(raw);
      const role = typeof item.role === "string" ? item.role : "";
      const kinds = new Set<string>();
      if (typeof item.type === "string" && item.type !== "message") {
        kinds.add(item.type);
      }
      if (role === "tool") kinds.add("result");
      for (const part of [...asArray(item.content), ...asArray(item.parts)]) {
        if (!holds(part, forms)) continue;
        const p = asRecord(part);
        const kind = typeof p.type === "string"
          ? p.type
          : Object.keys(p).find((k) => k !== "thoughtSignature");
        if (kind) kinds.add(kind);
      }
      if (kinds.size === 0 && typeof item.content === "string") {
        kinds.add("message");
      }
      found.push(`${key}[${i}] ${[role, ...kinds].filter(Boolean).join(" ")}`);
    });
  }
  return found;
}

function holds(value: unknown, forms: string[]): boolean {
  const strings: string[] = [];
  walkStrings(value, strings);
  return strings.some((text) => forms.some((form) => text.includes(form)));
}

/**
 * The tool results a request carries back to the model, oldest first, as
 * text: Anthropic `tool_result`, Responses `function_call_output`, Chat
 * Completions `role: "tool"` messages, Gemini `functionResponse` parts.
 *
 * @param request A recorded request.
 * @returns One string per tool result.
 */
export function toolResults(request: RecordedRequest): string[] {
  const body = asRecord(request.body);
  const results: string[] = [];
  // As the client sent it: a string stays as is, a list of content blocks
  // becomes their texts, anything else its JSON.
  const flatten = (value: unknown): string => {
    if (typeof value === "string") return value;
    if (
      Array.isArray(value) &&
      value.every((b) => typeof asRecord(b).text === "string")
    ) {
      return value.map((b) => asRecord(b).text).join("\n");
    }
    return JSON.stringify(value);
  };
  for (const message of asArray(body.messages)) {
    const m = asRecord(message);
    if (m.role === "tool") results.push(flatten(m.content));
    for (const block of asArray(m.content)) {
      const b = asRecord(block);
      if (b.type === "tool_result") results.push(flatten(b.content));
    }
  }
  for (const item of asArray(body.input)) {
    const i = asRecord(item);
    if (i.type === "function_call_output") results.push(flatten(i.output));
  }
  for (const content of asArray(body.contents)) {
    for (const part of asArray(asRecord(content).parts)) {
      const response = asRecord(part).functionResponse;
      if (response) results.push(flatten(asRecord(response).response));
    }
  }
  return results;
}

// ---------------------------------------------------------------------------
// Answers

const USAGE_ANTHROPIC = { input_tokens: 10, output_tokens: 5 };

function sse(events: Array<[string | null, unknown]>): Response {
  const text = events.map(([event, data]) =>
    (event ? `event: ${event}\n` : "") +
    `data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`
  ).join("");
  return new Response(text, {
    headers: {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
    },
  });
}

function modelOf(body: unknown, fallback: string): string {
  const model = asRecord(body).model;
  return typeof model === "string" ? model : fallback;
}

function sideAnswer(
  api: Api,
  pathname: string,
  body: unknown,
  stream: boolean,
  id: string,
): Response {
  if (api === "anthropic" && pathname.endsWith("/count_tokens")) {
    return Response.json({ input_tokens: 10 });
  }
  if (api === "gemini") {
    if (pathname.endsWith(":countTokens")) {
      return Response.json({ totalTokens: 10 });
    }
    if (!stream) {
      // Router, next-speaker and similar checks ask for JSON text; one object
      // answers all of them: route to flash, the user speaks next.
      return Response.json(geminiChunk([{
        text: JSON.stringify({
          reasoning: "fake model",
          model_choice: "flash",
          complexity_reasoning: "fake model",
          complexity_score: 1,
          next_speaker: "user",
        }),
      }]));
    }
  }
  if (api === "responses" && pathname.endsWith("/compact")) {
    return Response.json({ output: [] });
  }
  return turnText(api, body, "ok", stream, id);
}

function turnText(
  api: Api,
  body: unknown,
  text: string,
  stream: boolean,
  id: string,
): Response {
  switch (api) {
    case "anthropic": {
      const message = {
        id,
        type: "message",
        role: "assistant",
        model: modelOf(body, "claude-fake"),
        content: [] as unknown[],
        stop_reason: null as string | null,
        stop_sequence: null,
        usage: USAGE_ANTHROPIC,
      };
      if (!stream) {
        return Response.json({
          ...message,
          content: [{ type: "text", text }],
          stop_reason: "end_turn",
        });
      }
      return sse([
        ["message_start", { type: "message_start", message }],
        ["content_block_start", {
          type: "content_block_start",
          index: 0,
          content_block: { type: "text", text: "" },
        }],
        ["content_block_delta", {
          type: "content_block_delta",
          index: 0,
          delta: { type: "text_delta", text },
        }],
        ["content_block_stop", { type: "content_block_stop", index: 0 }],
        ["message_delta", {
          type: "message_delta",
          delta: { stop_reason: "end_turn", stop_sequence: null },
          usage: { output_tokens: 5 },
        }],
        ["message_stop", { type: "message_stop" }],
      ]);
    }
    case "responses": {
      const item = {
        type: "message",
        id: `${id}_item`,
        role: "assistant",
        status: "completed",
        content: [{ type: "output_text", text, annotations: [] }],
      };
      return responsesAnswer(body, id, item, [
        ["response.output_text.delta", {
          type: "response.output_text.delta",
          item_id: item.id,
          output_index: 0,
          content_index: 0,
          delta: text,
        }],
      ]);
    }
    case "chat":
      return chatAnswer(body, id, stream, { content: text }, "stop");
    case "gemini":
      return geminiAnswer([{ text }], stream);
  }
}

function turnToolCall(
  api: Api,
  body: unknown,
  tool: OfferedTool,
  args: Record<string, unknown>,
  stream: boolean,
  callId: string,
): Response {
  const json = JSON.stringify(args);
  switch (api) {
    case "anthropic": {
      const message = {
        id: `msg_${callId}`,
        type: "message",
        role: "assistant",
        model: modelOf(body, "claude-fake"),
        content: [] as unknown[],
        stop_reason: null as string | null,
        stop_sequence: null,
        usage: USAGE_ANTHROPIC,
      };
      const block = {
        type: "tool_use",
        id: `toolu_${callId}`,
        name: tool.name,
      };
      if (!stream) {
        return Response.json({
          ...message,
          content: [{ ...block, input: args }],
          stop_reason: "tool_use",
        });
      }
      return sse([
        ["message_start", { type: "message_start", message }],
        ["content_block_start", {
          type: "content_block_start",
          index: 0,
          content_block: { ...block, input: {} },
        }],
        ["content_block_delta", {
          type: "content_block_delta",
          index: 0,
          delta: { type: "input_json_delta", partial_json: json },
        }],
        ["content_block_stop", { type: "content_block_stop", index: 0 }],
        ["message_delta", {
          type: "message_delta",
          delta: { stop_reason: "tool_use", stop_sequence: null },
          usage: { output_tokens: 5 },
        }],
        ["message_stop", { type: "message_stop" }],
      ]);
    }
    case "responses": {
      const item: Record<string, unknown> = {
        type: "function_call",
        id: `fc_${callId}`,
        call_id: callId,
        name: tool.name,
        arguments: json,
        status: "completed",
      };
      if (tool.namespace) item.namespace = tool.namespace;
      return responsesAnswer(body, `resp_${callId}`, item, [
        ["response.function_call_arguments.delta", {
          type: "response.function_call_arguments.delta",
          item_id: item.id,
          output_index: 0,
          delta: json,
        }],
        ["response.function_call_arguments.done", {
          type: "response.function_call_arguments.done",
          item_id: item.id,
          output_index: 0,
          arguments: json,
        }],
      ]);
    }
    case "chat":
      return chatAnswer(body, callId, stream, {
        tool_calls: [{
          index: 0,
          id: callId,
          type: "function",
          function: { name: tool.name, arguments: json },
        }],
      }, "tool_calls");
    case "gemini":
      return geminiAnswer(
        [{ functionCall: { name: tool.name, args } }],
        stream,
      );
  }
}

function responsesAnswer(
  body: unknown,
  id: string,
  item: Record<string, unknown>,
  deltas: Array<[string, unknown]>,
): Response {
  const base = {
    id,
    object: "response",
    created_at: Math.floor(Date.now() / 1000),
    model: modelOf(body, "gpt-fake"),
  };
  const usage = {
    input_tokens: 10,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: 5,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 15,
  };
  const added = item.type === "function_call"
    ? { ...item, arguments: "", status: "in_progress" }
    : { ...item, content: [], status: "in_progress" };
  return sse([
    ["response.created", {
      type: "response.created",
      response: { ...base, status: "in_progress", output: [] },
    }],
    ["response.output_item.added", {
      type: "response.output_item.added",
      output_index: 0,
      item: added,
    }],
    ...deltas,
    ["response.output_item.done", {
      type: "response.output_item.done",
      output_index: 0,
      item,
    }],
    ["response.completed", {
      type: "response.completed",
      response: { ...base, status: "completed", output: [item], usage },
    }],
  ]);
}

function chatAnswer(
  body: unknown,
  id: string,
  stream: boolean,
  delta: Record<string, unknown>,
  finish: string,
): Response {
  const base = {
    id: `chatcmpl_${id}`,
    created: Math.floor(Date.now() / 1000),
    model: modelOf(body, "m"),
  };
  const usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 };
  if (!stream) {
    return Response.json({
      ...base,
      object: "chat.completion",
      choices: [{
        index: 0,
        message: { role: "assistant", content: null, ...delta },
        finish_reason: finish,
      }],
      usage,
    });
  }
  const chunk = (choice: unknown, extra: Record<string, unknown> = {}) => ({
    ...base,
    object: "chat.completion.chunk",
    choices: [choice],
    ...extra,
  });
  return sse([
    [
      null,
      chunk({
        index: 0,
        delta: { role: "assistant", ...delta },
        finish_reason: null,
      }),
    ],
    [null, chunk({ index: 0, delta: {}, finish_reason: finish }, { usage })],
    [null, "[DONE]"],
  ]);
}

function geminiChunk(parts: unknown[]): Record<string, unknown> {
  return {
    candidates: [{
      content: { role: "model", parts },
      finishReason: "STOP",
      index: 0,
    }],
    usageMetadata: {
      promptTokenCount: 10,
      candidatesTokenCount: 5,
      totalTokenCount: 15,
    },
    modelVersion: "gemini-fake",
  };
}

function geminiAnswer(parts: unknown[], stream: boolean): Response {
  const chunk = geminiChunk(parts);
  return stream ? sse([[null, chunk]]) : Response.json(chunk);
}
