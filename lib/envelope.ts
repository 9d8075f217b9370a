/**
 * The envelope an agent reads (docs/design.md#envelope):
 *
 * ```text
 * <c2c event="message" from="storm-beacon" alias="tide-runner" id="…" ts="…">body</c2c>
 * ```
 *
 * Attribute values are XML-escaped. The body is kept as written except that
 * every `<c2c` and `</c2c` in it (any letter case) becomes `&lt;c2c` /
 * `&lt;/c2c`, so no body can close its envelope or forge another one.
 *
 * @module
 */

import type { Message } from "./message.ts";

/**
 * Escapes a value for use inside a double-quoted XML attribute.
 *
 * @param value Raw value.
 * @returns The escaped value.
 */
export function escapeAttribute(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ATTRIBUTE_ESCAPES[c]);
}

const ATTRIBUTE_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

/**
 * Neutralises envelope markers inside a body.
 *
 * @param body Raw message body.
 * @returns The body with `<c2c`/`</c2c` (any case) escaped.
 */
export function escapeBody(body: string): string {
  return body.replace(/<(\/?)(c2c)/gi, "&lt;$1$2");
}

/** An event name as a stored message may carry one: short, lowercase. */
const EVENT_NAME = /^[a-z][a-z_]{0,31}$/;

/**
 * The envelope's `event`: the message's own (`claim` for a claim notice),
 * else `room_message` for a room copy and `message` for a direct one. A
 * stored event of another shape is not shown: it reads as a plain message.
 */
function envelopeEvent(message: Message): string {
  if (message.event !== undefined && EVENT_NAME.test(message.event)) {
    return message.event;
  }
  return message.room_id === undefined ? "message" : "room_message";
}

/**
 * Renders one message as a `<c2c …>` envelope.
 *
 * @param message The message (a room copy renders as `room_message`, a
 * claim notice as `claim`).
 * @returns The envelope text.
 *
 * @example Usage
 * ```ts
 * import { renderEnvelope } from "./envelope.ts";
 * renderEnvelope({
 *   id: "1", ts: "2026-01-01T00:00:00.000Z",
 *   from_alias: "storm-beacon", to_alias: "tide-runner", content: "hi",
 * });
 * // <c2c event="message" from="storm-beacon" alias="tide-runner" id="1" ts="2026-01-01T00:00:00.000Z">hi</c2c>
 * ```
 */
export function renderEnvelope(message: Message): string {
  const event = envelopeEvent(message);
  let attrs = `event="${event}" from="${escapeAttribute(message.from_alias)}"` +
    ` alias="${escapeAttribute(message.to_alias)}"`;
  if (message.room_id !== undefined) {
    attrs += ` room_id="${escapeAttribute(message.room_id)}"`;
  }
  if (message.reply_to !== undefined) {
    attrs += ` reply_to="${escapeAttribute(message.reply_to)}"`;
  }
  // Named only when neither the id (a root) nor reply_to (an answer to
  // the root) already says it.
  if (
    message.thread_id !== undefined && message.thread_id !== message.id &&
    message.thread_id !== message.reply_to
  ) {
    attrs += ` thread_id="${escapeAttribute(message.thread_id)}"`;
  }
  attrs += ` id="${escapeAttribute(message.id)}" ts="${
    escapeAttribute(message.ts)
  }"`;
  return `<c2c ${attrs}>${escapeBody(message.content)}</c2c>`;
}

/**
 * Renders several messages, one envelope per line.
 *
 * @param messages Messages, oldest first.
 * @returns The envelopes joined by newlines (empty string for none).
 */
export function renderEnvelopes(messages: readonly Message[]): string {
  return messages.map(renderEnvelope).join("\n");
}
