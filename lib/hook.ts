/**
 * What `c2c hook <client>` answers a client's hook with (docs/design.md#delivery). Plain
 * hook stdout is not shown to the model; these JSON shapes are:
 *
 * - after a tool call (Claude Code / Codex `PostToolUse`, Gemini
 *   `AfterTool`): `{"hookSpecificOutput": {"hookEventName", "additionalContext"}}`;
 * - at the end of a turn (Claude Code / Codex `Stop`, Gemini `AfterAgent`):
 *   `{"decision": "block" | "deny", "reason"}`, which makes the agent go on
 *   and read the messages — once: never when the client says a stop hook is
 *   already active, or the agent could never stop.
 *
 * @module
 */

import type { Broker } from "./broker.ts";
import { type DeliveryBounds, MAX_ALONE_BYTES } from "./delivery.ts";
import { renderEnvelope } from "./envelope.ts";
import type { WakeInfo } from "./registry.ts";
import { wakePathOf } from "./wake_info.ts";
import { jsonBytes } from "./_bytes.ts";

/** Most messages one hook call hands the model (the rest: next call). */
export const HOOK_MESSAGE_LIMIT = 50;
/** Most bytes of hook output (the JSON the client reads) per call. */
export const HOOK_MESSAGE_BYTES = 256 * 1024;

/** Clients with a hook delivery path. */
export type HookClient = "claude-code" | "codex" | "gemini";

/** The fields of a hook's stdin that matter to c2c. */
export interface HookInput {
  /** The client's session id (Claude Code's equals the server's). */
  session_id?: string;
  /** `PostToolUse`, `Stop`, `AfterTool`, `AfterAgent`, … */
  hook_event_name?: string;
  /** Set when this stop was itself caused by a stop hook. */
  stop_hook_active?: boolean;
}

/**
 * Parses a hook's stdin leniently: anything unreadable is an empty input.
 *
 * @param text The JSON the client wrote.
 * @returns The fields c2c uses.
 */
export function parseHookInput(text: string): HookInput {
  try {
    const value = JSON.parse(text);
    if (typeof value !== "object" || value === null) return {};
    const input: HookInput = {};
    if (typeof value.session_id === "string") {
      input.session_id = value.session_id;
    }
    if (typeof value.hook_event_name === "string") {
      input.hook_event_name = value.hook_event_name;
    }
    if (value.stop_hook_active === true) input.stop_hook_active = true;
    return input;
  } catch {
    return {};
  }
}

const END_OF_TURN = new Set(["Stop", "SubagentStop", "AfterAgent"]);

/**
 * Whether this hook event should deliver at all. An end-of-turn event that a
 * stop hook itself caused must not block again.
 *
 * @param input The hook input.
 * @returns `false` when the hook must stay silent and leave the inbox alone.
 */
export function shouldDeliver(input: HookInput): boolean {
  return !(END_OF_TURN.has(input.hook_event_name ?? "") &&
    input.stop_hook_active);
}

/**
 * The text the agent reads: a one-line header and the envelopes.
 *
 * @param envelopes Rendered envelopes, one per line.
 * @param count How many messages.
 * @param remaining How many more wait (they come with the next hook).
 * @returns The text.
 */
export function deliveryText(
  envelopes: string,
  count: number,
  remaining = 0,
): string {
  const noun = count === 1 ? "message" : "messages";
  const more = remaining > 0
    ? ` ${remaining} more will follow after your next tool call.`
    : "";
  return `c2c: ${count} new ${noun} from other agents (already taken from your inbox; answer with the c2c send tool).${more}\n${envelopes}`;
}

/**
 * The JSON a client's hook prints to hand `text` to the model.
 *
 * @param client The client.
 * @param input The hook input (its event picks the shape).
 * @param text What the agent should read.
 * @returns The object to print as JSON.
 *
 * @example Usage
 * ```ts
 * import { hookOutput } from "./hook.ts";
 * hookOutput("claude-code", { hook_event_name: "PostToolUse" }, "hi");
 * // { hookSpecificOutput: { hookEventName: "PostToolUse", additionalContext: "hi" } }
 * ```
 */
export function hookOutput(
  client: HookClient,
  input: HookInput,
  text: string,
): Record<string, unknown> {
  const event = input.hook_event_name ??
    (client === "gemini" ? "AfterTool" : "PostToolUse");
  if (END_OF_TURN.has(event)) {
    return { decision: client === "gemini" ? "deny" : "block", reason: text };
  }
  return {
    hookSpecificOutput: { hookEventName: event, additionalContext: text },
  };
}

/**
 * A hook's delivery bounds, measured on the JSON line it prints: bounded, so
 * a backlog cannot flood the model's context in one turn.
 *
 * @param client The client.
 * @param input The hook input (its event picks the output's shape).
 * @returns Count and byte bounds for {@linkcode hookOutput}'s JSON.
 */
export function hookBounds(
  client: HookClient,
  input: HookInput,
): DeliveryBounds {
  return {
    limit: HOOK_MESSAGE_LIMIT,
    maxBytes: HOOK_MESSAGE_BYTES,
    aloneBytes: MAX_ALONE_BYTES,
    // Each envelope is a line of a JSON string: its quotes pay for the
    // escaped newline before it.
    cost: (m) => jsonBytes(renderEnvelope(m)),
    overhead: jsonBytes(
      hookOutput(client, input, deliveryText("", 999_999_999, 999_999_999)),
    ) + 1,
  };
}

/**
 * Records the Codex thread a session runs in, from its SessionStart hook
 * (whose `session_id` is the thread id), in the registration's wake field,
 * where the session's MCP server finds it to queue messages on the thread.
 * Only for sessions whose wake path is `codex-daemon`.
 *
 * Requires `--allow-read` and `--allow-write` on the broker root.
 *
 * @param broker The broker.
 * @param sessionId The c2c session.
 * @param threadId Codex's thread id.
 * @returns Whether it was recorded.
 */
export async function recordCodexThread(
  broker: Broker,
  sessionId: string,
  threadId: string,
): Promise<boolean> {
  const row = await broker.registration(sessionId);
  if (!row || wakePathOf(row.wake) !== "codex-daemon") return false;
  if (row.wake?.thread_id === threadId) return true;
  const wake: WakeInfo = { ...row.wake, thread_id: threadId };
  delete wake.reason;
  await broker.register(sessionId, { alias: row.alias, wake });
  return true;
}
