/**
 * One cell of the DM matrix, and the checks the matrix's scenarios share:
 * B starts first and its model request is held (B stays alive: a send to a
 * dead recipient is refused by design); A's model calls `send` to B; then
 * B is released, its model calls `whoami` (hook clients) or `poll_inbox`
 * (OpenCode), and the envelope from A with the exact body must be in B's
 * next model request exactly once, and in no later one more than once.
 *
 * The cell runs wherever its {@linkcode Place} says: both agents in one
 * project on one machine (the DM matrix), or A and B on two machines that
 * share only a NATS server (`nats_matrix_test.ts`).
 *
 * @module
 */

import { type Broker, type Message, renderEnvelope } from "../../mod.ts";
import type { ClientName } from "./clients.ts";
import type { CellResult } from "./dm_matrix_doc.ts";
import { DELIVERY } from "./dm_matrix_doc.ts";
import {
  countOccurrences,
  type RecordedRequest,
  type Step,
  toolResults,
  whereSeen,
} from "./fake_model.ts";
import { LiveAgent } from "./live_agent.ts";
import type { Place } from "./machines.ts";

/**
 * B's tool call after release: any tool for hook clients, the poll for
 * OpenCode.
 *
 * @param client B's client.
 * @returns The scripted step.
 */
export function receiveStep(client: ClientName): Step {
  return { call: client === "opencode" ? "poll_inbox" : "whoami" };
}

/** A failed check: a one-line reason for the table, the evidence for the log. */
export class CheckFailed extends Error {
  /**
   * @param reason One line for the table.
   * @param detail Evidence for the test log.
   */
  constructor(reason: string, readonly detail = "") {
    super(reason);
  }
}

/**
 * Fails the scenario with `reason` unless `ok`.
 *
 * @param ok The condition.
 * @param reason One line for the table.
 * @param detail Evidence for the log.
 */
export function check(
  ok: unknown,
  reason: string,
  detail = "",
): asserts ok {
  if (!ok) throw new CheckFailed(reason, detail);
}

/**
 * The first line of an error, and the rest as detail.
 *
 * @param e What was thrown.
 * @returns Reason and detail.
 */
export function explain(e: unknown): { reason: string; detail: string } {
  if (e instanceof CheckFailed) return { reason: e.message, detail: e.detail };
  const text = e instanceof Error ? e.message : String(e);
  const [first, ...rest] = text.split("\n");
  return { reason: first, detail: rest.join("\n") };
}

/**
 * The message from `from` with `content` that reached `to` (drained into its
 * archive), or a failure naming where it is stuck.
 *
 * @param broker A broker on `to`'s side.
 * @param to The receiver.
 * @param from The sender's alias.
 * @param content The exact body.
 * @returns The archived message.
 */
export async function deliveredMessage(
  broker: Broker,
  to: LiveAgent,
  from: string,
  content: string,
): Promise<Message> {
  const reg = await broker.registrationByAlias(to.alias);
  check(reg, `${to.name} never registered its alias`, to.report());
  const matches = (m: Message) =>
    m.from_alias === from && m.content === content;
  const { messages } = await broker.history(reg.session_id, { limit: 200 });
  const found = messages.find(matches);
  if (found) return found;
  const pending = (await broker.pendingMessages(reg.session_id)).some(matches);
  throw new CheckFailed(
    pending
      ? `the message from ${from} is still in ${to.alias}'s inbox: nothing delivered it`
      : `the message from ${from} is neither in ${to.alias}'s inbox nor in its archive`,
    to.report(),
  );
}

/**
 * Checks that `envelope` is in `request` exactly once and in no later turn
 * more than once (no second delivery).
 *
 * @param agent The receiver.
 * @param request The model request that must carry it.
 * @param envelope The rendered envelope.
 * @param what What it is, for the failure.
 */
export function seenOnce(
  agent: LiveAgent,
  request: RecordedRequest,
  envelope: string,
  what: string,
): void {
  const count = countOccurrences(request, envelope);
  check(
    count === 1,
    count === 0
      ? `${what} was taken from ${agent.alias}'s inbox but never shown in its model request #${request.turn}`
      : `${what} shown ${count} times in ${agent.alias}'s model request #${request.turn} (want 1)`,
    `envelope: ${envelope}\n${agent.report()}\nlast tool result: ${
      toolResults(request).at(-1)
    }`,
  );
  for (const later of agent.fake.turns.slice((request.turn ?? 0) + 1)) {
    const again = countOccurrences(later, envelope);
    check(
      again <= 1,
      `${what} shown ${again} times in ${agent.alias}'s later model request #${later.turn}`,
      `envelope: ${envelope}`,
    );
  }
}

/**
 * A tool result with JSON-escaped quotes undone: Gemini wraps the result's
 * JSON text in JSON again (`{"output": "…{\"queued\":true}…"}`).
 *
 * @param text The tool result.
 * @returns It, unescaped.
 */
export function plain(text: string | undefined): string {
  return (text ?? "").replaceAll('\\"', '"');
}

/**
 * Why an agent's run failed, with its report, or `null`.
 *
 * @param agent The agent.
 * @returns The failure.
 */
export function failedRun(agent: LiveAgent): string | null {
  const failure = agent.failure();
  return failure && `${failure}\n${agent.report()}`;
}

/** A scenario's result, and the evidence for the test log when it failed. */
export interface Outcome<T> {
  /** The result. */
  result: T;
  /** Evidence for the test log when it failed. */
  detail: string;
}

/**
 * Runs one cell: `from` (side A) sends to `to` (side B).
 *
 * @param from A's client.
 * @param to B's client.
 * @param n The cell's number (in the body).
 * @param place Where the two sides run (disposed by the caller).
 * @returns The cell's result.
 */
export async function runCell(
  from: ClientName,
  to: ClientName,
  n: number,
  place: Place,
): Promise<Outcome<CellResult>> {
  const started = performance.now();
  const cell: CellResult = {
    from,
    to,
    ok: false,
    reason: null,
    path: DELIVERY[to],
    seen_in: [],
    deliver_ms: null,
    cell_ms: 0,
  };
  let detail = "";
  const aliasA = `${from}-a`;
  const aliasB = `${to}-b`;
  const body = `DM #${n} ${from} to ${to}: <b>bold</b> & "quoted" ${
    crypto.randomUUID().slice(0, 8)
  }`;
  try {
    await using b = await LiveAgent.create({
      client: to,
      alias: aliasB,
      cwd: place.project("b"),
      script: [{ ...receiveStep(to), hold: true }, { text: "done" }],
      setup_args: [...place.setup_args],
    });
    await using a = await LiveAgent.create({
      client: from,
      alias: aliasA,
      cwd: place.project("a"),
      script: [
        { call: "send", args: { to_alias: aliasB, content: body } },
        { text: "sent" },
      ],
      setup_args: [...place.setup_args],
    });
    b.start();
    await b.heldAt(0);
    a.start();
    await a.finish();
    const aFailed = failedRun(a);
    check(!aFailed, `sender ${a.failure()}`, aFailed ?? "");
    const sendResult = a.fake.turns[1] && toolResults(a.fake.turns[1]).at(-1);
    check(
      /"queued":\s*true/.test(plain(sendResult)),
      `A's send was not queued: ${sendResult ?? "(no tool result)"}`,
      a.report(),
    );
    const released = Date.now();
    b.release();
    await b.finish();
    const bFailed = failedRun(b);
    check(!bFailed, `receiver ${b.failure()}`, bFailed ?? "");
    const message = await deliveredMessage(
      await place.broker("b"),
      b,
      aliasA,
      body,
    );
    const envelope = renderEnvelope(message);
    const next = b.fake.turns[1];
    check(next, `${b.name}'s model got no request after its tool call`);
    cell.seen_in = whereSeen(next, envelope);
    cell.deliver_ms = next.wall_ms - released;
    seenOnce(b, next, envelope, "the envelope");
    if (to === "opencode") {
      check(
        cell.seen_in.some((where) => where.endsWith("tool result")),
        "the envelope is not in the poll_inbox result",
        toolResults(next).at(-1),
      );
    }
    cell.ok = true;
  } catch (e) {
    ({ reason: cell.reason, detail } = explain(e));
  } finally {
    cell.cell_ms = Math.round(performance.now() - started);
  }
  return { result: cell, detail };
}
