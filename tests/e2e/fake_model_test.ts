// The fake model on its own (no client): each API's answer shape, side
// requests, holding, and what-the-model-saw counting.

import assert from "node:assert/strict";
import {
  c2cToolNames,
  countOccurrences,
  htmlEscape,
  NOT_READY,
  type RecordedRequest,
  startFakeModel,
  toolResults,
  whereSeen,
} from "./fake_model.ts";

async function post(url: string, body: unknown): Promise<string> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200);
  return await response.text();
}

/** The JSON `data:` payloads of an SSE body. */
function sseData(text: string): unknown[] {
  return text.split("\n").filter((l) => l.startsWith("data: "))
    .map((l) => l.slice(6)).filter((d) => d !== "[DONE]")
    .map((d) => JSON.parse(d));
}

const ARGS = { to_alias: "peer", content: "hi" };

// Parsed wire payloads, navigated freely in assertions.
// deno-lint-ignore no-explicit-any
type Loose = Record<string, any>;

Deno.test("startFakeModel() streams an Anthropic tool_use with input_json_delta", async () => {
  await using fake = await startFakeModel([{ call: "send", args: ARGS }]);
  const events = sseData(
    await post(`${fake.url}/v1/messages?beta=true`, {
      stream: true,
      messages: [{ role: "user", content: "go" }],
      tools: [{ name: "Bash" }, { name: "mcp__c2c__send" }],
    }),
  ) as Loose[];
  const start = events.find((e) => e.type === "content_block_start")!;
  assert.equal(start.content_block.type, "tool_use");
  assert.equal(start.content_block.name, "mcp__c2c__send");
  const delta = events.find((e) => e.type === "content_block_delta")!;
  assert.deepEqual(JSON.parse(delta.delta.partial_json), ARGS);
  assert.equal(
    events.find((e) => e.type === "message_delta")!.delta.stop_reason,
    "tool_use",
  );
  assert.equal(fake.turns.length, 1);
  assert.equal(fake.turns[0].reply, "tool mcp__c2c__send");
});

Deno.test("startFakeModel() calls a Responses namespace tool with namespace and name", async () => {
  await using fake = await startFakeModel([{ call: "send", args: ARGS }]);
  const events = sseData(
    await post(`${fake.url}/v1/responses`, {
      stream: true,
      input: [],
      tools: [{
        type: "namespace",
        name: "mcp__c2c",
        tools: [{ type: "function", name: "send" }],
      }],
    }),
  ) as Loose[];
  const done = events.find((e) => e.type === "response.output_item.done")!;
  assert.equal(done.item.type, "function_call");
  assert.equal(done.item.namespace, "mcp__c2c");
  assert.equal(done.item.name, "send");
  assert.deepEqual(JSON.parse(done.item.arguments), ARGS);
  assert.ok(events.some((e) => e.type === "response.completed"));
  assert.equal(c2cToolNames(fake.turns[0]).get("send"), "mcp__c2c.send");
});

Deno.test("startFakeModel() streams Chat Completions tool_calls and [DONE]; a request without tools is a side request", async () => {
  await using fake = await startFakeModel([{ call: "send", args: ARGS }]);
  const title = await post(`${fake.url}/v1/chat/completions`, {
    stream: true,
    messages: [{ role: "user", content: "title?" }],
  });
  assert.match(title, /"content":"ok"/);
  const text = await post(`${fake.url}/v1/chat/completions`, {
    stream: true,
    messages: [],
    tools: [{ type: "function", function: { name: "c2c_send" } }],
  });
  assert.ok(text.trimEnd().endsWith("data: [DONE]"));
  const chunks = sseData(text) as Loose[];
  const call = chunks[0].choices[0].delta.tool_calls[0];
  assert.equal(call.function.name, "c2c_send");
  assert.deepEqual(JSON.parse(call.function.arguments), ARGS);
  assert.equal(chunks[1].choices[0].finish_reason, "tool_calls");
  assert.deepEqual(fake.requests.map((r) => r.kind), ["side", "turn"]);
});

Deno.test("startFakeModel() answers Gemini stream calls with functionCall and router calls with JSON", async () => {
  await using fake = await startFakeModel([{ call: "send", args: ARGS }]);
  const router = JSON.parse(
    await post(`${fake.url}/v1beta/models/flash-lite:generateContent`, {
      contents: [],
    }),
  );
  const routed = JSON.parse(router.candidates[0].content.parts[0].text);
  assert.equal(routed.model_choice, "flash");
  const chunks = sseData(
    await post(
      `${fake.url}/v1beta/models/flash:streamGenerateContent?alt=sse`,
      {
        contents: [],
        tools: [{ functionDeclarations: [{ name: "mcp_c2c_send" }] }],
      },
    ),
  ) as Loose[];
  const part = chunks[0].candidates[0].content.parts[0];
  assert.deepEqual(part.functionCall, { name: "mcp_c2c_send", args: ARGS });
});

Deno.test("FakeModel.release() lets a held answer go; the request is recorded while held", async () => {
  await using fake = await startFakeModel([{ text: "later", hold: true }]);
  const pending = post(`${fake.url}/v1/chat/completions`, {
    stream: true,
    messages: [],
    tools: [{ type: "function", function: { name: "c2c_send" } }],
  });
  const held = await fake.waitForHold(5_000);
  assert.equal(held.turn, 0);
  let settled = false;
  pending.then(() => settled = true);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(settled, false);
  fake.release();
  assert.match(await pending, /"content":"later"/);
});

Deno.test("FakeModel records an error when a scripted c2c tool is not offered", async () => {
  await using fake = await startFakeModel([{ call: "send" }]);
  const text = await post(`${fake.url}/v1/chat/completions`, {
    stream: true,
    messages: [],
    tools: [
      { type: "function", function: { name: "bash" } },
      { type: "function", function: { name: "c2c_whoami" } },
    ],
  });
  assert.match(text, /FAKE MODEL ERROR/);
  assert.match(
    fake.errors[0],
    /^turn 0: tool 'send' not offered; offered: bash, c2c_whoami$/,
  );
});

Deno.test("FakeModel names a server not ready when the first turn offers no c2c tool", async () => {
  await using fake = await startFakeModel([{ call: "whoami" }]);
  const text = await post(`${fake.url}/v1/messages`, {
    stream: true,
    messages: [{ role: "user", content: "go" }],
    tools: [{ name: "Bash" }, { name: "ToolSearch" }],
  });
  assert.ok(
    text.includes(
      `FAKE MODEL ERROR: turn 0: c2c tools were not offered to the model: ${NOT_READY}`,
    ),
  );
  assert.equal(
    NOT_READY,
    "the MCP server was not ready when the client sent its first request",
  );
  // No c2c tool is listed as deferred either: no ToolSearch detour.
  assert.equal(fake.turns[0].reply, "error");
});

Deno.test("FakeModel names a server gone when a later turn loses the c2c tools", async () => {
  await using fake = await startFakeModel([{ call: "whoami" }, {
    call: "whoami",
  }]);
  const request = (tools: string[]) =>
    post(`${fake.url}/v1/chat/completions`, {
      stream: true,
      messages: [],
      tools: tools.map((name) => ({ type: "function", function: { name } })),
    });
  await request(["bash", "c2c_whoami"]);
  await request(["bash"]);
  assert.deepEqual(fake.errors, [
    "turn 1: c2c tools were not offered to the model: the MCP server was connected in an earlier request and was gone when the client sent request 1; offered: bash",
  ]);
});

Deno.test("FakeModel selects a deferred c2c tool through ToolSearch once", async () => {
  await using fake = await startFakeModel([{ call: "whoami" }]);
  const body = {
    stream: true,
    messages: [{
      role: "user",
      content:
        "<available-deferred-tools>mcp__c2c__whoami</available-deferred-tools>",
    }],
    tools: [{ name: "Bash" }, { name: "ToolSearch" }],
  };
  const first = sseData(await post(`${fake.url}/v1/messages`, body)) as Loose[];
  const start = first.find((e) => e.type === "content_block_start")!;
  assert.equal(start.content_block.name, "ToolSearch");
  // Still not offered after the search: an error, not another search.
  await post(`${fake.url}/v1/messages`, body);
  assert.equal(fake.turns[1].reply, "error");
  assert.match(fake.errors[0], /^turn 1: c2c tools were not offered/);
});

function recorded(body: unknown): RecordedRequest {
  return {
    index: 0,
    method: "POST",
    path: "/",
    api: "anthropic",
    kind: "turn",
    turn: 0,
    body,
    text: JSON.stringify(body),
    reply: "",
    at_ms: 0,
    wall_ms: 0,
  };
}

Deno.test("countOccurrences() counts raw, JSON-in-string and HTML-escaped forms", () => {
  const envelope = '<c2c event="message" from="a" alias="b">hi</c2c>';
  assert.equal(
    countOccurrences(recorded({ m: [{ text: `x ${envelope} y` }] }), envelope),
    1,
  );
  assert.equal(
    countOccurrences(
      recorded({ output: JSON.stringify([{ text: envelope }]) }),
      envelope,
    ),
    1,
  );
  assert.equal(
    countOccurrences(recorded({ t: htmlEscape(envelope) }), envelope),
    1,
  );
  assert.equal(
    countOccurrences(recorded({ t: envelope, u: envelope }), envelope),
    2,
  );
});

Deno.test("countOccurrences() counts Gemini's hook form: angle brackets escaped, & and quotes kept", () => {
  const envelope = '<c2c event="message" from="a" alias="b">x <&> "y"</c2c>';
  const gemini =
    '&lt;c2c event="message" from="a" alias="b"&gt;x &lt;&&gt; "y"&lt;/c2c&gt;';
  assert.equal(
    countOccurrences(
      recorded({ t: `<hook_context>${gemini}</hook_context>` }),
      envelope,
    ),
    1,
  );
});

Deno.test("whereSeen() names the message and part that showed the text", () => {
  const needle = "<c2c>hi</c2c>";
  assert.deepEqual(
    whereSeen(
      recorded({
        system: "rules",
        messages: [
          { role: "user", content: "start" },
          {
            role: "user",
            content: [{ type: "tool_result", content: "{}" }, {
              type: "text",
              text: `ctx ${needle}`,
            }],
          },
          { role: "tool", content: needle },
        ],
        input: [{ type: "message", role: "developer", content: needle }],
        contents: [{ role: "user", parts: [{ functionResponse: { needle } }] }],
      }),
      needle,
    ),
    [
      "messages[1] user text",
      "messages[2] tool result",
      "input[0] developer message",
      "contents[0] user functionResponse",
    ],
  );
});

Deno.test("toolResults() reads each API's tool results", () => {
  assert.deepEqual(
    toolResults(recorded({
      messages: [
        { role: "user", content: [{ type: "tool_result", content: "A" }] },
        { role: "tool", content: "B" },
      ],
      input: [{ type: "function_call_output", output: "C" }],
      contents: [{ parts: [{ functionResponse: { response: { r: "D" } } }] }],
    })),
    ["A", "B", "C", '{"r":"D"}'],
  );
});

Deno.test("startFakeModel() computes a step's arguments from its request, and fails the turn when that throws", async () => {
  await using fake = await startFakeModel([
    {
      call: "wait_for_message",
      args: (request) => {
        const id = /"id":"([^"]+)"/.exec(toolResults(request).at(-1) ?? "");
        if (!id) throw new Error("no id in the last tool result");
        return { reply_to: id[1] };
      },
    },
    {
      call: "wait_for_message",
      args: () => {
        throw new Error("no id in the last tool result");
      },
    },
  ]);
  const tools = [{ name: "mcp__c2c__wait_for_message" }];
  const events = sseData(
    await post(`${fake.url}/v1/messages`, {
      stream: true,
      tools,
      messages: [{
        role: "user",
        content: [{
          type: "tool_result",
          tool_use_id: "t1",
          content: '{"id":"m-42","queued":true}',
        }],
      }],
    }),
  ) as Loose[];
  const delta = events.find((e) => e.type === "content_block_delta")!;
  assert.deepEqual(JSON.parse(delta.delta.partial_json), { reply_to: "m-42" });
  const failed = await post(`${fake.url}/v1/messages`, {
    stream: true,
    tools,
    messages: [{ role: "user", content: "go" }],
  });
  assert.match(failed, /FAKE MODEL ERROR/);
  assert.deepEqual(fake.errors, [
    "turn 1: arguments of 'wait_for_message': no id in the last tool result",
  ]);
});
