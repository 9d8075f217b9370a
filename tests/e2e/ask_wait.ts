/**
 * Ask and wait with two real clients (issue 14): the asker's model calls
 * `send` to the answerer, then `wait_for_message({reply_to: <the id send
 * returned>})`; the answerer, alive meanwhile with its model request held,
 * is released, receives the question through its own delivery path (its
 * hook, after a `whoami`), and its model answers with `send` and `reply_to`
 * = the question's id, read from the envelope it was shown. The asker's
 * pending `wait_for_message` must return that answer — its body once, with
 * `reply_to` and the question's `thread_id` — in the asker's next model
 * request, drained by the wait (`delivered_via: "wait"`); then the asker's
 * model calls `message_status` for the question and must read `delivered`.
 * The asker's wait must have begun (audit log: end − duration) before the
 * answer was sent: it was pending, not a look at an inbox already holding it.
 *
 * The wait uses the product's default `timeout_s` (docs/design.md#waiting):
 * no scenario-specific timeout, so the clients' own tool-call timeouts are
 * met as a user meets them.
 *
 * @module
 */

import type { Message } from "../../mod.ts";
import { type ClientName, CLIENTS } from "./clients.ts";
import {
  check,
  deliveredMessage,
  explain,
  failedRun,
  type Outcome,
  plain,
} from "./dm_cell.ts";
import type { AskResult } from "./dm_matrix_doc.ts";
import { DELIVERY } from "./dm_matrix_doc.ts";
import {
  countOccurrences,
  type RecordedRequest,
  requestStrings,
  toolResults,
  whereSeen,
} from "./fake_model.ts";
import { LiveAgent } from "./live_agent.ts";
import type { Place } from "./machines.ts";

/**
 * The JSON object a tool result carries: Claude Code's is the JSON itself,
 * Codex's follows "Wall time: …\nOutput:\n", Gemini's is JSON in a string.
 *
 * @param text A tool result as {@linkcode toolResults} gives it.
 * @returns The object.
 * @throws {Error} When there is none.
 */
export function resultJson(text: string | undefined): Record<string, unknown> {
  for (const candidate of [text ?? "", plain(text)]) {
    const start = candidate.indexOf("{");
    const end = candidate.lastIndexOf("}");
    if (start < 0 || end < start) continue;
    try {
      return JSON.parse(candidate.slice(start, end + 1));
    } catch {
      // Try the unescaped form.
    }
  }
  throw new Error(`no JSON object in the tool result: ${text}`);
}

/**
 * The last tool result of a request, as JSON.
 *
 * @param request A turn request.
 * @returns The object.
 */
function lastResult(request: RecordedRequest): Record<string, unknown> {
  return resultJson(toolResults(request).at(-1));
}

/**
 * The id of the newest message envelope from `from` that the model was shown
 * (raw or HTML-escaped), as a model reads it to answer in thread.
 *
 * @param request A turn request.
 * @param from The sender's alias.
 * @returns The id.
 * @throws {Error} When no envelope from `from` is there.
 */
export function envelopeId(request: RecordedRequest, from: string): string {
  const pattern = new RegExp(
    `<c2c event="message" from="${from}"[^>]*? id="([^"]+)"`,
    "g",
  );
  let id: string | undefined;
  for (const text of requestStrings(request)) {
    const raw = text.replaceAll("&lt;", "<").replaceAll("&gt;", ">")
      .replaceAll("&quot;", '"');
    for (const m of raw.matchAll(pattern)) id = m[1];
  }
  if (!id) throw new Error(`no envelope from ${from} in the model's request`);
  return id;
}

/**
 * Runs the scenario: `asker` asks `answerer` and waits for the answer.
 *
 * @param asker The client that sends and waits.
 * @param answerer The client that answers in thread.
 * @param place Where both run (disposed by the caller).
 * @returns The result, and the evidence when it failed.
 */
export async function runAskWait(
  asker: ClientName,
  answerer: ClientName,
  place: Place,
): Promise<Outcome<AskResult>> {
  const started = performance.now();
  const result: AskResult = {
    asker,
    answerer,
    ok: false,
    reason: null,
    path: DELIVERY[answerer],
    seen_in: [],
    wait_ms: null,
    pending_ms: null,
    status: null,
    ms: 0,
  };
  let detail = "";
  const askerAlias = `${asker}-asks`;
  const answererAlias = `${answerer}-answers`;
  const tag = crypto.randomUUID().slice(0, 8);
  const question = `Question from ${asker} ${tag}: which branch? <b>&</b>`;
  const answer = `Answer from ${answerer} ${tag}: "main" <i>&</i>`;
  let questionId = "";
  try {
    await using b = await LiveAgent.create({
      client: answerer,
      alias: answererAlias,
      cwd: place.project("b"),
      script: [
        // Alive until the question is queued; then the hook after this
        // call hands the question over.
        { call: "whoami", hold: true },
        {
          call: "send",
          args: (request) => ({
            to_alias: askerAlias,
            content: answer,
            reply_to: envelopeId(request, askerAlias),
          }),
        },
        { text: "answered" },
      ],
      setup_args: [...place.setup_args],
    });
    await using a = await LiveAgent.create({
      client: asker,
      alias: askerAlias,
      cwd: place.project("a"),
      script: [
        { call: "send", args: { to_alias: answererAlias, content: question } },
        {
          call: "wait_for_message",
          args: (request) => ({ reply_to: String(lastResult(request).id) }),
        },
        {
          call: "message_status",
          args: (request) => ({
            ids: [String(resultJson(toolResults(request).at(-2)).id)],
          }),
        },
        { text: "got it" },
      ],
      setup_args: [...place.setup_args],
    });
    b.start();
    await b.heldAt(0);
    a.start();
    // The asker's send returned (its result is in turn 1, whose answer is
    // the wait): the question is queued, so the answerer may go.
    const waitTurn = await a.fake.waitForTurn(1);
    const sent = lastResult(waitTurn);
    questionId = String(sent.id);
    check(
      sent.queued === true && sent.thread_id === questionId,
      `the asker's send was not queued as a thread root: ${
        JSON.stringify(sent)
      }`,
      a.report(),
    );
    b.release();
    await b.finish();
    const bFailed = failedRun(b);
    check(!bFailed, `answerer ${b.failure()}`, bFailed ?? "");
    await a.finish();
    const aFailed = failedRun(a);
    check(!aFailed, `asker ${a.failure()}`, aFailed ?? "");

    const broker = await place.broker("a");
    const asked = await deliveredMessage(
      await place.broker("b"),
      b,
      askerAlias,
      question,
    );
    check(
      asked.id === questionId,
      `the answerer received id ${asked.id}, the asker's send returned ${questionId}`,
    );
    const replied = lastResult(b.fake.turns[2]);
    check(
      replied.queued === true && replied.thread_id === questionId,
      `the answerer's send was not queued in the question's thread: ${
        JSON.stringify(replied)
      }`,
      b.report(),
    );
    const got: Message = await deliveredMessage(
      broker,
      a,
      answererAlias,
      answer,
    );
    const afterWait = a.fake.turns[2];
    check(afterWait, `${a.name}'s model got no request after its wait`);
    result.seen_in = whereSeen(afterWait, answer);
    result.wait_ms = afterWait.wall_ms - Date.parse(got.ts);
    const waited = lastResult(afterWait);
    const messages = (waited.messages ?? []) as Message[];
    check(
      waited.timed_out === false && messages.length === 1,
      `wait_for_message did not return the one answer: ${
        JSON.stringify(waited)
      }`,
      a.report(),
    );
    const [m] = messages;
    check(
      m.id === got.id && m.content === answer &&
        m.from_alias === answererAlias && m.reply_to === questionId &&
        m.thread_id === questionId,
      `the wait returned ${
        JSON.stringify(m)
      }; want the answer with reply_to and thread_id ${questionId}`,
      a.report(),
    );
    // The audit log stamps an operation's end and duration: the wait began
    // at ts − ms, which must be before the answer was sent (it was pending).
    const waits = (await broker.tailLog({ limit: 500 })).entries
      .filter((e) => e.tool === "wait_for_message");
    check(
      waits.length === 1 && waits[0].ok,
      `the audit log has ${waits.length} wait_for_message call(s), want 1 that succeeded: ${
        JSON.stringify(waits)
      }`,
    );
    const began = Date.parse(waits[0].ts) - waits[0].ms;
    result.pending_ms = Date.parse(got.ts) - Math.round(began);
    check(
      result.pending_ms > 0,
      `the answer was sent ${-result
        .pending_ms} ms before the asker's wait began: the wait was not pending`,
      a.report(),
    );
    const via = (got as Message & { delivered_via?: string }).delivered_via;
    check(
      via === "wait",
      `the answer was handed over by ${
        via ?? "nothing recorded"
      }, not by the wait`,
      a.report(),
    );
    const shown = countOccurrences(afterWait, answer);
    check(
      shown === 1,
      `the answer's body is ${shown} times in ${a.name}'s model request #2 (want 1)`,
      a.report(),
    );
    for (const later of a.fake.turns.slice(3)) {
      const again = countOccurrences(later, answer);
      check(
        again <= 1,
        `the answer's body is ${again} times in ${a.name}'s later request #${later.turn}`,
      );
    }
    const status = lastResult(a.fake.turns[3] ?? afterWait);
    const entry = ((status.messages ?? []) as Record<string, unknown>[])
      .find((s) => s.id === questionId);
    result.status = entry
      ? `${entry.state}${entry.via ? ` via ${entry.via}` : ""}`
      : null;
    check(
      entry?.state === "delivered" && entry.via === "hook",
      `message_status of the question reads ${
        JSON.stringify(entry ?? status)
      }; want delivered via hook`,
      a.report(),
    );
    result.ok = true;
  } catch (e) {
    ({ reason: result.reason, detail } = explain(e));
  } finally {
    result.ms = Math.round(performance.now() - started);
  }
  return { result, detail };
}

/**
 * The scenario's one-line name.
 *
 * @param r A result.
 * @returns E.g. "Claude Code asks Codex".
 */
export function askTitle(r: Pick<AskResult, "asker" | "answerer">): string {
  return `${CLIENTS[r.asker].title} asks ${CLIENTS[r.answerer].title}`;
}
