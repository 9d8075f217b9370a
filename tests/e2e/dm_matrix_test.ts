// The cross-client DM matrix, proven with the real clients (issue 7). Every
// agent is a real Claude Code, Codex, OpenCode or Gemini CLI process,
// configured by `c2c setup <client>` itself and driven by its own scripted
// fake model:
//
// - 16 cells, one per ordered pair (same-client pairs: two homes, two
//   aliases). B starts first and its model request is held (B stays alive:
//   a send to a dead recipient is refused by design); A's model calls `send`
//   to B; then B is released, its model calls `whoami` (hook clients) or
//   `poll_inbox` (OpenCode), and the envelope from A with the exact body must
//   be in B's next model request exactly once.
// - A room: all four join, each posts once, each sees the three others'
//   posts exactly once through its own delivery path.
// - A broadcast: each of the four calls `send_all` once, each sees the three
//   others' broadcasts exactly once.
// - Ask and wait (issue 14, `ask_wait.ts`): Claude Code asks Codex with
//   `send`, then `wait_for_message({reply_to})`; Codex, told by its hook,
//   answers in thread; the pending wait returns the answer once, and
//   `message_status` reads the question delivered. Codex asks Claude Code
//   the same way.
// - Crush and Kimi Code (not installable here): config-file checks.
// - Idle wake (issue 9, `idle_wake.ts`): Claude Code, Codex and OpenCode TUIs
//   idle at their prompt in tmux, Gemini `-p` with its AfterAgent hook; one
//   message and a burst of 10 must each wake the client once. Claude Code
//   also with `c2c setup claude-code --rewake` (`rewake_wake.ts`): its
//   asyncRewake waiter hook instead of the messaging socket.
//
// The cells (`dm_cell.ts`) and the wake scenarios also run across two
// machines over NATS (`nats_matrix_test.ts`), whose section of the document
// this run keeps.
//
// The run writes docs/dm-matrix.md from the results, also when some fail,
// then fails the test for each failed cell. Scenarios run a few at a time
// (C2C_E2E_JOBS, default one per core, 2 to 4): each is its own project
// (broker root) with its own fake models, so they cannot see each other.

import { renderEnvelope } from "../../mod.ts";
import {
  CLIENT_NAMES,
  type ClientName,
  CLIENTS,
  ensureAllClients,
  REPO_DIR,
} from "./clients.ts";
import {
  checkConfigOnly,
  CONFIG_ONLY,
  type ConfigOnlyResult,
} from "./config_only.ts";
import {
  check,
  deliveredMessage,
  explain,
  failedRun,
  type Outcome,
  plain,
  receiveStep,
  runCell,
  seenOnce,
} from "./dm_cell.ts";
import {
  type AskResult,
  type CellResult,
  type GroupResult,
  type MatrixReport,
  type PairResult,
  renderMatrixDoc,
} from "./dm_matrix_doc.ts";
import { type Step, toolResults } from "./fake_model.ts";
import { askTitle, runAskWait } from "./ask_wait.ts";
import { runGeminiWake, runTuiWake, type WakeResult } from "./idle_wake.ts";
import { runRewakeWake } from "./rewake_wake.ts";
import { LiveAgent } from "./live_agent.ts";
import { oneMachine } from "./machines.ts";

/** Where the generated table goes. */
const DOC_PATH = `${REPO_DIR}/docs/dm-matrix.md`;

/**
 * How many scenarios run at once: `C2C_E2E_JOBS`, else one per core (2 to 4).
 * The run is CPU-bound (OpenCode above all): on 2 cores 2, 3 and 4 at once all
 * take about 66 s, and fewer at once leaves each client more headroom.
 */
const JOBS = Number(Deno.env.get("C2C_E2E_JOBS")) ||
  Math.min(4, Math.max(2, navigator.hardwareConcurrency));

/** The ask-and-wait pairs (asker, answerer): both hook clients, both ways. */
const ASK_PAIRS: readonly (readonly [ClientName, ClientName])[] = [
  ["claude", "codex"],
  ["codex", "claude"],
];

/** Ask and wait in a project of its own. */
async function runLocalAsk(
  asker: ClientName,
  answerer: ClientName,
): Promise<Outcome<AskResult>> {
  await using place = await oneMachine(`c2c-e2e-ask-${asker}-${answerer}-`);
  return await runAskWait(asker, answerer, place);
}

/** One DM cell in a project of its own. */
async function runLocalCell(
  from: ClientName,
  to: ClientName,
  n: number,
): Promise<Outcome<CellResult>> {
  await using place = await oneMachine(`c2c-e2e-dm-${from}-${to}-`);
  return await runCell(from, to, n, place);
}

// ---------------------------------------------------------------------------
// Room and broadcast

const ROOM = "e2e-lounge";

async function runGroup(
  name: "room" | "broadcast",
): Promise<Outcome<GroupResult>> {
  const started = performance.now();
  const group: GroupResult = {
    name,
    ok: false,
    reason: null,
    pairs: [],
    ms: 0,
  };
  let detail = "";
  await using place = await oneMachine(`c2c-e2e-${name}-`);
  const project = place.project("a");
  const suffix = name === "room" ? "room" : "all";
  const bodies = new Map(
    CLIENT_NAMES.map((c) => [
      c,
      `${name} post from ${c}: <i>hi</i> & "all" ${
        crypto.randomUUID().slice(0, 8)
      }`,
    ]),
  );
  // Turn at which each agent posts (held until every agent is ready).
  const postTurn = name === "room" ? 1 : 0;
  const agents: LiveAgent[] = [];
  try {
    for (const client of CLIENT_NAMES) {
      const body = bodies.get(client)!;
      const post: Step = name === "room"
        ? { call: "send_room", args: { room_id: ROOM, content: body } }
        : { call: "send_all", args: { content: body } };
      agents.push(
        await LiveAgent.create({
          client,
          alias: `${client}-${suffix}`,
          cwd: project,
          script: [
            ...(name === "room"
              ? [{ call: "join_room", args: { room_id: ROOM } }]
              : []),
            { ...post, hold: true },
            { ...receiveStep(client), hold: true },
            { text: "done" },
          ],
        }),
      );
    }
    for (const agent of agents) agent.start();
    // Everyone alive (and, for the room, a member) before anyone posts.
    await Promise.all(agents.map((a) => a.heldAt(postTurn)));
    for (const agent of agents) agent.release();
    // Everyone has posted before anyone's last tool call.
    await Promise.all(agents.map((a) => a.heldAt(postTurn + 1)));
    for (const agent of agents) agent.release();
    await Promise.all(agents.map((a) => a.finish()));
    for (const agent of agents) {
      const failed = failedRun(agent);
      check(!failed, agent.failure()!, failed ?? "");
      const result = plain(
        toolResults(agent.fake.turns[postTurn + 1]).at(-1),
      );
      const posted = name === "room"
        ? /"queued_count":\s*3\b/.test(result)
        : /"skipped":\s*\[\]/.test(result) &&
          agents.every((o) =>
            o === agent || result.includes(`"to_alias":"${o.alias}"`)
          );
      check(
        posted,
        `${agent.name}'s ${
          name === "room" ? "send_room" : "send_all"
        } did not reach the three others: ${result}`,
        agent.report(),
      );
    }
    const broker = await place.broker("b");
    for (const receiver of agents) {
      for (const sender of agents) {
        if (sender === receiver) continue;
        const pair: PairResult = {
          from: sender.client,
          to: receiver.client,
          ok: false,
          reason: null,
        };
        try {
          const message = await deliveredMessage(
            broker,
            receiver,
            sender.alias,
            bodies.get(sender.client)!,
          );
          if (name === "room") {
            check(message.room_id === ROOM, `room_id is ${message.room_id}`);
          }
          seenOnce(
            receiver,
            receiver.fake.turns.at(-1)!,
            renderEnvelope(message),
            `${sender.alias}'s post`,
          );
          pair.ok = true;
        } catch (e) {
          const why = explain(e);
          pair.reason = why.reason;
          detail +=
            `${sender.alias} → ${receiver.alias}: ${why.reason}\n${why.detail}\n`;
        }
        group.pairs.push(pair);
      }
    }
    group.ok = group.pairs.every((p) => p.ok);
  } catch (e) {
    const why = explain(e);
    group.reason = why.reason;
    detail = why.detail;
  } finally {
    for (const agent of agents) await agent[Symbol.asyncDispose]();
    group.ms = Math.round(performance.now() - started);
  }
  return { result: group, detail };
}

// ---------------------------------------------------------------------------

/** Runs `tasks` with at most `limit` at once; results in task order. */
async function pool<T>(
  tasks: (() => Promise<T>)[],
  limit: number,
): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(limit, tasks.length) }, worker),
  );
  return results;
}

function title(client: ClientName): string {
  return CLIENTS[client].title;
}

Deno.test("DM matrix: each real client's send reaches each other client's model exactly once, in a room and by broadcast too, and wakes it when idle; docs/dm-matrix.md records it", async (t) => {
  await ensureAllClients();
  const date = new Date().toISOString();
  const started = performance.now();
  const pairs = CLIENT_NAMES.flatMap((from) =>
    CLIENT_NAMES.map((to) => [from, to] as const)
  );
  // Heaviest first (OpenCode runs take longest), so the pool ends together.
  const weight = (c: readonly ClientName[]) =>
    c.filter((x) => x === "opencode").length;
  const order = [...pairs].sort((x, y) => weight(y) - weight(x));
  type Job =
    | { kind: "cell"; outcome: Outcome<CellResult> }
    | { kind: "group"; outcome: Outcome<GroupResult> }
    | { kind: "config"; result: ConfigOnlyResult }
    | { kind: "wake"; outcome: Outcome<WakeResult> }
    | { kind: "ask"; outcome: Outcome<AskResult> };
  const jobs: (() => Promise<Job>)[] = [
    // Idle wake (issue 9): the OpenCode TUI is the longest scenario.
    async () => ({ kind: "wake", outcome: await runTuiWake("opencode") }),
    async () => ({ kind: "wake", outcome: await runTuiWake("claude") }),
    // Claude Code set up with --rewake: the asyncRewake waiter hook.
    async () => ({ kind: "wake", outcome: await runRewakeWake() }),
    async () => ({ kind: "wake", outcome: await runTuiWake("codex") }),
    async () => ({ kind: "wake", outcome: await runGeminiWake() }),
    async () => ({ kind: "group", outcome: await runGroup("room") }),
    async () => ({ kind: "group", outcome: await runGroup("broadcast") }),
    ...ASK_PAIRS.map(([asker, answerer]) => async (): Promise<Job> => ({
      kind: "ask",
      outcome: await runLocalAsk(asker, answerer),
    })),
    ...order.map((pair) => async (): Promise<Job> => ({
      kind: "cell",
      outcome: await runLocalCell(pair[0], pair[1], pairs.indexOf(pair) + 1),
    })),
    async () => ({ kind: "config", result: await checkConfigOnly("crush") }),
    async () => ({ kind: "config", result: await checkConfigOnly("kimi") }),
  ];
  const done = await pool(jobs, JOBS);
  const position = (cell: CellResult) =>
    pairs.findIndex(([f, t]) => f === cell.from && t === cell.to);
  const cells = done.flatMap((j) => j.kind === "cell" ? [j.outcome] : [])
    .sort((x, y) => position(x.result) - position(y.result));
  const groups = done.flatMap((j) => j.kind === "group" ? [j.outcome] : []);
  const room = groups.find((g) => g.result.name === "room")!;
  const broadcast = groups.find((g) => g.result.name === "broadcast")!;
  const configOnly = done.flatMap((j) => j.kind === "config" ? [j.result] : []);
  const wakes = done.flatMap((j) => j.kind === "wake" ? [j.outcome] : []);
  const asks = done.flatMap((j) => j.kind === "ask" ? [j.outcome] : []);
  const report: MatrixReport = {
    date,
    deno: Deno.version.deno,
    cells: cells.map((c) => c.result),
    room: room.result,
    broadcast: broadcast.result,
    config_only: configOnly,
    wake: wakes.map((w) => w.result),
    ask: asks.map((a) => a.result),
    jobs: JOBS,
    total_ms: Math.round(performance.now() - started),
  };
  const previous = await Deno.readTextFile(DOC_PATH).catch(() => "");
  await Deno.writeTextFile(DOC_PATH, renderMatrixDoc(report, previous));
  console.log(
    `dm matrix: ${report.cells.filter((c) => c.ok).length}/16 cells, room ${
      room.result.ok ? "ok" : "FAILED"
    }, broadcast ${broadcast.result.ok ? "ok" : "FAILED"}, ${
      (report.total_ms / 1000).toFixed(1)
    } s with ${JOBS} at once; idle wake ${
      wakes.map((w) =>
        `${w.result.client}${w.result.variant ? ` ${w.result.variant}` : ""} ${
          w.result.ok ? `ok ${w.result.single_ms} ms` : "FAILED"
        }`
      ).join(", ")
    }; ask and wait ${
      asks.map((a) =>
        `${a.result.asker} → ${a.result.answerer} ${
          a.result.ok ? `ok ${a.result.wait_ms} ms` : "FAILED"
        }`
      ).join(", ")
    }; wrote ${DOC_PATH}`,
  );

  for (const { result: cell, detail } of cells) {
    await t.step(
      `${title(cell.from)} → ${
        title(cell.to)
      }: the envelope reaches B's model once through ${cell.path}`,
      () => {
        if (!cell.ok) throw new Error(`${cell.reason}\n${detail}`);
      },
    );
  }
  for (const { result: group, detail } of [room, broadcast]) {
    await t.step(
      group.name === "room"
        ? "room: each of the four sees the three others' send_room posts exactly once"
        : "broadcast: each of the four sees the three others' send_all messages exactly once",
      () => {
        if (!group.ok) {
          throw new Error(
            `${
              group.reason ??
                group.pairs.filter((p) => !p.ok).map((p) =>
                  `${p.from} → ${p.to}: ${p.reason}`
                ).join("; ")
            }\n${detail}`,
          );
        }
      },
    );
  }
  for (const { result: ask, detail } of asks) {
    await t.step(
      `ask and wait: ${
        askTitle(ask)
      } with send then wait_for_message; the answer in thread returns from the pending wait once, and the question reads delivered`,
      () => {
        if (!ask.ok) throw new Error(`${ask.reason}\n${detail}`);
      },
    );
  }
  for (const { result: wake, detail } of wakes) {
    await t.step(
      `${title(wake.client)}${
        wake.variant ? ` (${wake.variant})` : ""
      } idle at its prompt: woken through ${wake.mechanism}; one message once, a burst of 10 in one wake${
        wake.variant === "--rewake"
          ? "; one waiter armed, none left once the client is killed"
          : ""
      }`,
      () => {
        if (!wake.ok) throw new Error(`${wake.reason}\n${detail}`);
      },
    );
  }
  for (const result of configOnly) {
    await t.step(
      `${
        CONFIG_ONLY[result.client].title
      } (config only): c2c setup writes an entry that starts c2c's server`,
      () => {
        if (!result.ok) throw new Error(result.failure ?? "failed");
      },
    );
  }
});
