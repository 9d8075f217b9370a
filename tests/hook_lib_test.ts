// The hook's answer shapes per client and event.

import assert from "node:assert/strict";
import {
  deliveryText,
  hookOutput,
  parseHookInput,
  shouldDeliver,
} from "../lib/hook.ts";

Deno.test("hookOutput() gives additionalContext after tool calls", () => {
  assert.deepEqual(
    hookOutput("claude-code", { hook_event_name: "PostToolUse" }, "x"),
    {
      hookSpecificOutput: {
        hookEventName: "PostToolUse",
        additionalContext: "x",
      },
    },
  );
  assert.deepEqual(hookOutput("gemini", {}, "x"), {
    hookSpecificOutput: { hookEventName: "AfterTool", additionalContext: "x" },
  });
});

Deno.test("hookOutput() blocks the end of a turn once", () => {
  assert.deepEqual(hookOutput("codex", { hook_event_name: "Stop" }, "x"), {
    decision: "block",
    reason: "x",
  });
  assert.deepEqual(
    hookOutput("gemini", { hook_event_name: "AfterAgent" }, "x"),
    { decision: "deny", reason: "x" },
  );
  assert.equal(
    shouldDeliver({ hook_event_name: "Stop", stop_hook_active: true }),
    false,
  );
  assert.equal(shouldDeliver({ hook_event_name: "Stop" }), true);
  assert.equal(
    shouldDeliver({ hook_event_name: "PostToolUse", stop_hook_active: true }),
    true,
  );
});

Deno.test("parseHookInput() tolerates anything", () => {
  assert.deepEqual(parseHookInput("not json"), {});
  assert.deepEqual(parseHookInput("[1]"), {});
  assert.deepEqual(
    parseHookInput(
      '{"session_id":"s","hook_event_name":"Stop","stop_hook_active":true,"x":1}',
    ),
    { session_id: "s", hook_event_name: "Stop", stop_hook_active: true },
  );
  assert.match(deliveryText("<c2c/>", 1), /^c2c: 1 new message from/);
});
