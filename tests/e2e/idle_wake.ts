/**
 * Idle wake with the real clients (issue 9): a client sits idle at its
 * prompt, another session sends, and the client's native wake path makes it
 * start a turn whose model request carries the message — exactly once.
 *
 * - Claude Code, Codex and OpenCode run their interactive TUIs in tmux
 *   ({@linkcode TuiSession}); Claude Code and Codex are woken by their own
 *   c2c MCP server (messaging socket; app-server daemon), OpenCode by c2c's
 *   plugin (a `promptAsync` pointer, after which the model calls
 *   `poll_inbox`).
 * - Gemini CLI runs `gemini -p`: its AfterAgent hook keeps the run going
 *   with the envelopes that arrived during the turn.
 *
 * {@linkcode IdleAgent} is shared with `bench/native_wake_bench.ts`.
 *
 * @module
 */

import { Broker, type Message, renderEnvelope } from "../../mod.ts";
import { CodexDaemon } from "../../wake/codex_daemon.ts";
import { readClaudeState } from "../../wake/claude_socket.ts";
import {
  type ClientName,
  ensureClient,
  ensureOpencodePluginDeps,
} from "./clients.ts";
import {
  countOccurrences,
  type FakeModel,
  type RecordedRequest,
  startFakeModel,
} from "./fake_model.ts";
import { LiveAgent } from "./live_agent.ts";
import { oneMachine, type Place } from "./machines.ts";
import { initRepo, mergeJsonFile } from "./run_client.ts";
import { type Agent, prepareAgent } from "./setup_client.ts";
import { TuiSession } from "./tui.ts";

/** Clients whose interactive TUI is woken while idle. */
export type TuiClient = "claude" | "codex" | "opencode";

/** How each client is woken here. */
export const WAKE_MECHANISM: Readonly<Record<ClientName, string>> = {
  claude: "messaging socket, written by its c2c MCP server",
  codex: "app-server daemon `thread/queue/add`, by its c2c MCP server",
  opencode: "c2c plugin → `promptAsync` pointer → `poll_inbox`",
  gemini: "AfterAgent hook → `deny` with the envelopes (`gemini -p`)",
};

/** The alias of the session that sends to the idle agents. */
export const SENDER = "wake-peer";

/** The pointer the OpenCode plugin sends (plural or not). */
const POINTER = /c2c messages? waiting — call the c2c poll_inbox tool/;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Polls `predicate` every 50 ms until it holds.
 *
 * @param what What is awaited (for the error).
 * @param predicate The condition.
 * @param timeout_ms How long.
 * @throws {Error} Naming `what` when time runs out.
 */
export async function until(
  what: string,
  predicate: () => boolean | Promise<boolean>,
  timeout_ms: number,
): Promise<void> {
  const deadline = Date.now() + timeout_ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout_ms} ms waiting for ${what}`);
    }
    await sleep(50);
  }
}

/** A peer that sends from the test process (a registered shell session). */
export class Sender {
  readonly broker: Broker;
  readonly #session = `${SENDER}-s`;
  readonly #atOnce: boolean;

  private constructor(broker: Broker, atOnce: boolean) {
    this.broker = broker;
    this.#atOnce = atOnce;
  }

  /**
   * Registers the sender in a project's broker (file store).
   *
   * @param project The shared project repository.
   * @returns The sender.
   */
  static create(project: string): Promise<Sender> {
    return Sender.register(new Broker({ root: `${project}/.git/c2c/mcp` }));
  }

  /**
   * Registers the sender in a broker (e.g. one on another machine, over
   * NATS).
   *
   * @param broker The broker it sends through.
   * @param options `at_once`: send a burst's messages all at once rather
   * than back to back. Over NATS each send is a few network round trips
   * (10 ms each on this loaded machine), so ten back to back span 85–150
   * ms and more: longer than the wake's burst window (quiet 25 ms, at most
   * 200 ms), i.e. no longer one burst. Peers sending at the same moment
   * arrive together, as back-to-back appends to an inbox file do.
   * @returns The sender.
   */
  static async register(
    broker: Broker,
    options: { at_once?: boolean } = {},
  ): Promise<Sender> {
    await broker.register(`${SENDER}-s`, { alias: SENDER, leased: false });
    return new Sender(broker, options.at_once === true);
  }

  /**
   * Sends `n` messages: a burst (back to back, or all at once).
   *
   * @param to Recipient alias.
   * @param n How many.
   * @param label Distinguishes the bodies.
   * @returns Their ids and when the first send started.
   */
  async send(
    to: string,
    n: number,
    label: string,
  ): Promise<{ ids: string[]; t0: number }> {
    const t0 = Date.now();
    const one = async (i: number) =>
      (await this.broker.send(this.#session, {
        to_alias: to,
        content: `${label} ${i + 1}/${n}: <b>wake</b> & "up" ${
          crypto.randomUUID().slice(0, 6)
        }`,
      })).id;
    const ids: string[] = [];
    if (this.#atOnce) {
      ids.push(
        ...await Promise.all(Array.from({ length: n }, (_, i) => one(i))),
      );
    } else {
      for (let i = 0; i < n; i++) ids.push(await one(i));
    }
    return { ids, t0 };
  }

  /**
   * The envelopes of messages a session has taken (from its archive), or a
   * reason why some were not taken.
   *
   * @param sessionId The recipient's session.
   * @param ids Message ids.
   * @returns The envelopes, in `ids` order.
   */
  async envelopes(sessionId: string, ids: string[]): Promise<string[]> {
    const { messages } = await this.broker.history(sessionId, { limit: 500 });
    const byId = new Map(messages.map((m: Message) => [m.id, m]));
    const missing = ids.filter((id) => !byId.has(id));
    if (missing.length) {
      const pending = (await this.broker.pendingMessages(sessionId)).length;
      throw new Error(
        `${missing.length} of ${ids.length} messages were never taken from the inbox (${pending} still pending)`,
      );
    }
    return ids.map((id) => renderEnvelope(byId.get(id)!));
  }
}

/** Options of {@linkcode IdleAgent.start}. */
export interface IdleAgentOptions {
  /** Which client. */
  client: TuiClient;
  /** The shared project repository. */
  project: string;
  /** Its alias. */
  alias: string;
  /** More `c2c setup` flags (e.g. `--rewake`). */
  setupArgs?: string[];
  /** The client's executable, instead of the pinned install. */
  bin?: string;
  /**
   * The broker the test reads the agent's registration and inbox through
   * (default: the file store at the project's root).
   */
  broker?: Broker;
}

/** A real client's TUI, idle at its prompt, with its own fake model. */
export class IdleAgent implements AsyncDisposable {
  readonly client: TuiClient;
  readonly alias: string;
  readonly fake: FakeModel;
  readonly agent: Agent;
  readonly tui: TuiSession;
  /** Milliseconds from starting the TUI to its being idle at its prompt. */
  ready_ms = 0;
  readonly broker: Broker;

  private constructor(
    options: IdleAgentOptions,
    fake: FakeModel,
    agent: Agent,
    tui: TuiSession,
  ) {
    this.client = options.client;
    this.alias = options.alias;
    this.fake = fake;
    this.agent = agent;
    this.tui = tui;
    this.broker = options.broker ??
      new Broker({ root: `${options.project}/.git/c2c/mcp` });
  }

  /**
   * Configures the client with `c2c setup`, pre-seeds what its first start
   * would ask (trust, onboarding), starts its TUI in tmux and waits until it
   * is idle at its prompt with its wake path registered.
   *
   * @param options Client, project and alias.
   * @returns The idle agent.
   */
  static async start(options: IdleAgentOptions): Promise<IdleAgent> {
    const { client, project, alias } = options;
    const bin = options.bin ?? (await ensureClient(client)).bin;
    const deps = client === "opencode"
      ? await ensureOpencodePluginDeps()
      : null;
    const fake = await startFakeModel(
      client === "opencode" ? [{ text: "ready" }] : [],
    );
    let agent: Agent | null = null;
    let tui: TuiSession | null = null;
    try {
      agent = await prepareAgent(
        client,
        fake.url,
        alias,
        { cwd: project },
        options.setupArgs,
      );
      const home = agent.home;
      let unset: string[] = [];
      if (client === "claude") {
        // First-start dialogs: onboarding, the API key, folder trust, the
        // auto-mode offer; and the c2c tools allowed.
        await mergeJsonFile(`${home.home}/.claude.json`, {
          hasCompletedOnboarding: true,
          theme: "dark",
          customApiKeyResponses: { approved: ["sk-ant-fake"], rejected: [] },
          projects: {
            [project]: {
              hasTrustDialogAccepted: true,
              hasCompletedProjectOnboarding: true,
            },
          },
        });
        await mergeJsonFile(`${home.home}/.claude/settings.json`, {
          permissions: {
            defaultMode: "default",
            disableAutoMode: "disable",
            allow: ["mcp__c2c"],
          },
        });
      } else if (client === "codex") {
        await Deno.writeTextFile(
          `${home.codex_home}/config.toml`,
          `\n[projects."${project}"]\ntrust_level = "trusted"\n`,
          { append: true },
        );
      } else {
        // OpenCode loads plugin files only outside --pure, and first installs
        // @opencode-ai/plugin into its config folder: copy it from the cache.
        unset = ["OPENCODE_PURE"];
        await copyTree(deps!, `${home.xdg_config}/opencode`);
      }
      const t0 = performance.now();
      tui = await TuiSession.start({ home, bin, unset });
      const idle = new IdleAgent(options, fake, agent, tui);
      await idle.#ready();
      idle.ready_ms = Math.round(performance.now() - t0);
      return idle;
    } catch (e) {
      await tui?.[Symbol.asyncDispose]();
      await agent?.[Symbol.asyncDispose]();
      await fake.close();
      throw e;
    }
  }

  async #ready(): Promise<void> {
    if (this.client === "codex") {
      // The hooks setup wrote are new: Codex asks to trust them (after its
      // prompt first shows), and starts the thread — and its MCP server —
      // only then. Trust them, as a user does once.
      let screen = "";
      await until("Codex's thread, MCP server and prompt", async () => {
        screen = await this.tui.capture();
        if (/t trust all/.test(screen)) {
          // The hooks list (reached when a keypress of the dialog below
          // landed as "review"): trust them all; the next pass closes it.
          await this.tui.keys("t");
          await sleep(500);
          return false;
        }
        if (/esc close/.test(screen)) {
          await this.tui.keys("Escape");
          await sleep(500);
          return false;
        }
        if (/Hooks need review/.test(screen)) {
          await this.tui.keys("2");
          await sleep(300);
          await this.tui.keys("Enter");
          await sleep(500);
          return false;
        }
        return /Ask Codex to do anything/.test(screen) &&
          (await this.broker.registrationByAlias(this.alias)) !== undefined;
      }, 60_000).catch(async (e) => {
        // What the TUI showed, and Codex's own log, say where it stopped.
        const log = await codexLogTail(this.agent.home.codex_home);
        throw new Error(
          `${
            (e as Error).message
          }; last screen:\n${screen}\ncodex log:\n${log}`,
        );
      });
    } else if (this.client === "claude") {
      await this.tui.waitFor(/❯/, 40_000);
    } else {
      // OpenCode (Bun) is the slowest to start: 20–50 s to its prompt with
      // the machine's two cores shared by a dozen test processes (load
      // 12–26), and past 60 s at times — slow, not stuck (its log goes on).
      await this.tui.waitFor(/Ask anything/, 150_000).catch(async (e) => {
        // OpenCode's own log says where its start-up stopped.
        const log = await logTail(`${this.agent.home.xdg_data}/opencode`);
        throw new Error(`${(e as Error).message}\nopencode log:\n${log}`);
      });
      // OpenCode has no session before the first prompt: make one.
      await this.tui.keys("hello");
      await sleep(400);
      await this.tui.keys("Enter");
      await this.fake.waitForTurn(0, 60_000);
    }
    await until(
      `${this.alias}'s wake path in the registry`,
      async () => {
        const wake = (await this.broker.registrationByAlias(this.alias))?.wake;
        return wake?.path !== undefined &&
          (wake.path !== "claude-socket" || wake.status_file !== undefined);
      },
      30_000,
    );
    await this.waitIdle();
  }

  /**
   * Claude Code's session status file (`~/.claude/sessions/<pid>.json`):
   * the one the registration records, else the one the client wrote (a
   * session woken another way records none).
   *
   * @returns Its path, or `null` when there is none.
   */
  async claudeStatusFile(): Promise<string | null> {
    const wake = (await this.broker.registrationByAlias(this.alias))?.wake;
    if (typeof wake?.status_file === "string") return wake.status_file;
    const dir = `${this.agent.home.home}/.claude/sessions`;
    try {
      const names = [...Deno.readDirSync(dir)].map((e) => e.name)
        .filter((n) => /^\d+\.json$/.test(n));
      return names.length === 1 ? `${dir}/${names[0]}` : null;
    } catch {
      return null;
    }
  }

  /**
   * What to show when a scenario fails: the error, every request the fake
   * model saw, and the TUI's screen.
   *
   * @param error The failure.
   * @returns Multi-line detail.
   */
  async failureDetail(error: unknown): Promise<string> {
    const requests = this.fake.requests.map((r) =>
      `${r.kind} #${r.turn} → ${r.reply} @${r.wall_ms}`
    ).join("\n");
    const screen = await this.tui.capture().catch(() => "?");
    return `${
      (error as Error).message
    }\n--- requests ---\n${requests}\n--- TUI ---\n${screen}`;
  }

  /** The agent's c2c session id. */
  async sessionId(): Promise<string> {
    const row = await this.broker.registrationByAlias(this.alias);
    if (!row) throw new Error(`${this.alias} is not registered`);
    return row.session_id;
  }

  /**
   * Waits until the client is idle at its prompt: every model request
   * answered, and the client's own idle signal where it has one (Claude
   * Code's session status, the Codex thread's status), else a short pause.
   */
  async waitIdle(timeout_ms = 30_000): Promise<void> {
    await until(
      "the model's answers",
      () =>
        this.fake.held === null &&
        this.fake.requests.every((r) => r.reply !== ""),
      timeout_ms,
    );
    const wake = (await this.broker.registrationByAlias(this.alias))?.wake;
    const file = this.client === "claude"
      ? await this.claudeStatusFile()
      : null;
    if (file) {
      await until(
        "Claude Code's status 'idle'",
        () => readClaudeState(file) === "idle",
        timeout_ms,
      );
    } else if (
      this.client === "codex" && typeof wake?.socket === "string" &&
      typeof wake.thread_id === "string"
    ) {
      const { socket, thread_id } = wake;
      await until("the Codex thread's status 'idle'", async () => {
        try {
          using daemon = await CodexDaemon.connect(socket);
          return await daemon.threadState(thread_id) === "idle";
        } catch {
          return false;
        }
      }, timeout_ms);
    }
    // Let the client finish rendering and settle at its prompt.
    await sleep(this.client === "opencode" ? 600 : 300);
  }

  /**
   * Waits for model turn `n` (the wake).
   *
   * @param n Turn index.
   * @param timeout_ms How long.
   * @returns The request.
   */
  async turn(n: number, timeout_ms = 20_000): Promise<RecordedRequest> {
    try {
      return await this.fake.waitForTurn(n, timeout_ms);
    } catch (e) {
      const pending =
        (await this.broker.pendingMessages(await this.sessionId())).length;
      throw new Error(
        `${this.alias} was not woken (no model turn ${n}; ${pending} message(s) still in its inbox): ${
          (e as Error).message
        }\nthe TUI shows:\n${await this.tui.capture().catch(() => "?")}`,
      );
    }
  }

  /** Ends the TUI and everything it started; closes the fake; removes the home. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.tui[Symbol.asyncDispose]();
    await this.fake.close();
    await this.agent[Symbol.asyncDispose]();
  }
}

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  const out = await new Deno.Command("cp", {
    args: ["-R", `${from}/node_modules`, `${from}/package.json`, to],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`cp: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** What one client's idle-wake scenario showed. */
export interface WakeResult {
  /** The client. */
  client: ClientName;
  /** How it was set up when not plainly (e.g. `--rewake`). */
  variant?: string;
  /** Whether every check passed. */
  ok: boolean;
  /** The first failed check, or `null`. */
  reason: string | null;
  /** How it was woken. */
  mechanism: string;
  /** Send → model request for one message (Gemini: turn end → next request). */
  single_ms: number | null;
  /** Wakes (new model turns carrying the messages) for a burst of 10. */
  burst_wakes: number | null;
  /** Of the burst's 10 messages, how many reached the model exactly once. */
  burst_once: number | null;
  /** Whether the TUI showed the message (Claude Code), `null` if not checked. */
  shown: boolean | null;
  /** Start of the TUI → idle at its prompt, ready to be woken (TUIs only). */
  ready_ms?: number;
  /** Wall time of the scenario. */
  ms: number;
}

/** A failed check (reason for the table; evidence for the log). */
export class WakeCheck extends Error {}

/**
 * Fails the scenario with `reason` unless `ok`.
 *
 * @param ok The condition.
 * @param reason One line for the table.
 */
export function check(ok: unknown, reason: string): asserts ok {
  if (!ok) throw new WakeCheck(reason);
}

/**
 * How many of `envelopes` are in `request` exactly once, and in no later
 * turn more than once.
 *
 * @param fake The client's fake model.
 * @param request The wake turn.
 * @param envelopes The messages' envelopes.
 * @returns The count.
 */
export function seenOnce(
  fake: FakeModel,
  request: RecordedRequest,
  envelopes: string[],
): number {
  let once = 0;
  for (const envelope of envelopes) {
    const count = countOccurrences(request, envelope);
    const later = fake.turns.slice((request.turn ?? 0) + 1).some((t) =>
      countOccurrences(t, envelope) > 1
    );
    if (count === 1 && !later) once++;
  }
  return once;
}

/** The last lines of every log file under a Codex home (diagnostics). */
function codexLogTail(codexHome: string): Promise<string> {
  return logTail(codexHome);
}

/** The last lines of every `.log` file under a folder (diagnostics). */
async function logTail(root: string): Promise<string> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (/\.log$/.test(entry.name)) {
        const text = await Deno.readTextFile(path).catch(() => "");
        out.push(`== ${path}\n${text.split("\n").slice(-40).join("\n")}`);
      }
    }
  };
  await walk(root).catch(() => {});
  return out.join("\n") || "(no log files)";
}

/**
 * Runs one TUI client's scenario: one message to the idle client (woken,
 * seen once, shown), then a burst of 10 (one wake, all 10 seen once).
 *
 * @param client Which client.
 * @param where Where it runs: the idle client on side B, the sender on side
 * A (default: both in one fresh project, on one machine).
 * @returns The result and, when it failed, the evidence.
 */
export async function runTuiWake(
  client: TuiClient,
  where?: Place,
): Promise<{ result: WakeResult; detail: string }> {
  const started = performance.now();
  const result: WakeResult = {
    client,
    ok: false,
    reason: null,
    mechanism: WAKE_MECHANISM[client],
    single_ms: null,
    burst_wakes: null,
    burst_once: null,
    shown: null,
    ms: 0,
  };
  let detail = "";
  try {
    await using local = where ? null : await oneMachine(
      `c2c-e2e-wake-${client}-`,
    );
    const place = (where ?? local)!;
    await using agent = await IdleAgent.start({
      client,
      project: place.project("b"),
      alias: `${client}-idle`,
      setupArgs: [...place.setup_args],
      broker: await place.broker("b"),
    });
    result.ready_ms = agent.ready_ms;
    const sender = await Sender.register(await place.broker("a"), {
      at_once: place.remote,
    });
    try {
      // One message to the idle client.
      let turns = agent.fake.turns.length;
      if (client === "opencode") {
        agent.fake.script.push({ call: "poll_inbox" }, { text: "read it" });
      }
      const one = await sender.send(agent.alias, 1, "single");
      const wake = await agent.turn(turns);
      result.single_ms = wake.wall_ms - one.t0;
      const carrier = client === "opencode"
        ? await agent.turn(turns + 1)
        : wake;
      if (client === "opencode") {
        check(
          countOccurrences(wake, "1 c2c message waiting") >= 1,
          "OpenCode's wake turn does not carry the plugin's pointer",
        );
      }
      const [envelope] = await sender.envelopes(
        await agent.sessionId(),
        one.ids,
      );
      check(
        seenOnce(agent.fake, carrier, [envelope]) === 1,
        `the message reached the model ${
          countOccurrences(carrier, envelope)
        } times in the wake turn (want exactly 1)`,
      );
      if (client === "claude") {
        // Claude Code shows a cross-session message as "Message from @…".
        const screen = await agent.tui.waitFor(
          new RegExp(`Message from @${SENDER}-c2c`),
          10_000,
        ).catch(() => "");
        result.shown = screen !== "";
        check(result.shown, "the TUI did not show the message");
      }
      await agent.waitIdle();

      // A burst of ten: one wake, each message once.
      turns = agent.fake.turns.length;
      if (client === "opencode") {
        agent.fake.script.push({ call: "poll_inbox" }, {
          text: "read them",
        });
      }
      const burst = await sender.send(agent.alias, 10, "burst");
      const burstWake = await agent.turn(turns);
      const burstCarrier = client === "opencode"
        ? await agent.turn(turns + 1)
        : burstWake;
      await agent.waitIdle();
      await sleep(1_000); // a second wake would come within this
      const newTurns = agent.fake.turns.length - turns;
      result.burst_wakes = client === "opencode"
        ? agent.fake.turns.slice(turns).filter((t) =>
          POINTER.test(lastUserText(t))
        ).length
        : newTurns;
      const envelopes = await sender.envelopes(
        await agent.sessionId(),
        burst.ids,
      );
      result.burst_once = seenOnce(agent.fake, burstCarrier, envelopes);
      check(
        result.burst_wakes === 1,
        `the burst woke the client ${result.burst_wakes} times (want 1)`,
      );
      check(
        result.burst_once === 10,
        `${result.burst_once}/10 burst messages reached the model exactly once`,
      );
      check(
        (await agent.broker.pendingMessages(await agent.sessionId())).length ===
          0,
        "messages were left in the inbox",
      );
      result.ok = true;
    } catch (e) {
      result.reason = (e as Error).message.split("\n")[0];
      detail = await agent.failureDetail(e);
    }
  } catch (e) {
    result.reason = (e as Error).message.split("\n")[0];
    detail = (e as Error).message;
  } finally {
    result.ms = Math.round(performance.now() - started);
  }
  return { result, detail };
}

/**
 * The last message of a request when it is the user's (a tool result last
 * means the turn continues an earlier prompt), as JSON text.
 */
function lastUserText(request: RecordedRequest): string {
  const body = request.body as Record<string, unknown> | null;
  const messages = (body?.messages ?? body?.input ?? body?.contents) as
    | unknown[]
    | undefined;
  const last = messages?.at(-1) as { role?: string } | undefined;
  return last?.role === "user" ? JSON.stringify(last) : "";
}

/**
 * Gemini CLI's scenario: `gemini -p` whose turn is held while messages
 * arrive; at the end of the turn the AfterAgent hook continues the run with
 * them, once (one message, then a burst of 10 in a second run).
 *
 * @returns The result and, when it failed, the evidence.
 */
export async function runGeminiWake(): Promise<
  { result: WakeResult; detail: string }
> {
  const started = performance.now();
  const result: WakeResult = {
    client: "gemini",
    ok: false,
    reason: null,
    mechanism: WAKE_MECHANISM.gemini,
    single_ms: null,
    burst_wakes: null,
    burst_once: null,
    shown: null,
    ms: 0,
  };
  let detail = "";
  const project = await Deno.makeTempDir({ prefix: "c2c-e2e-wake-gemini-" });
  try {
    await initRepo(project);
    const sender = await Sender.create(project);
    for (const n of [1, 10]) {
      const outcome = await geminiRun(project, sender, n);
      if (n === 1) {
        result.single_ms = outcome.ms;
        check(outcome.once === 1, outcome.problem ?? "not seen once");
      } else {
        result.burst_wakes = outcome.wakes;
        result.burst_once = outcome.once;
        check(outcome.wakes === 1, outcome.problem ?? "not one wake");
        check(outcome.once === 10, outcome.problem ?? "not all seen once");
      }
      detail += outcome.detail;
    }
    result.ok = true;
  } catch (e) {
    result.reason = (e as Error).message.split("\n")[0];
    detail += (e as Error).message;
  } finally {
    result.ms = Math.round(performance.now() - started);
    await Deno.remove(project, { recursive: true }).catch(() => {});
  }
  return { result, detail };
}

/** One `gemini -p` run with `n` messages arriving during its only turn. */
export async function geminiRun(
  project: string,
  sender: Sender,
  n: number,
): Promise<
  {
    ms: number | null;
    wakes: number;
    once: number;
    problem: string | null;
    detail: string;
  }
> {
  await using agent = await LiveAgent.create({
    client: "gemini",
    alias: "gemini-idle",
    cwd: project,
    script: [{ text: "turn over", hold: true }, { text: "read them" }],
  });
  agent.start();
  await agent.heldAt(0);
  const sent = await sender.send(agent.alias, n, n === 1 ? "single" : "burst");
  const released = Date.now();
  agent.release();
  await agent.finish();
  const failure = agent.failure();
  if (failure) {
    return {
      ms: null,
      wakes: 0,
      once: 0,
      problem: failure,
      detail: agent.report(),
    };
  }
  const reg = agent.fake.turns;
  const wakes = reg.length - 1;
  const next = reg[1];
  if (!next) {
    return {
      ms: null,
      wakes,
      once: 0,
      problem: "the AfterAgent hook did not continue the run",
      detail: agent.report(),
    };
  }
  const row = (await new Broker({ root: `${project}/.git/c2c/mcp` })
    .registrationByAlias(agent.alias))!;
  const envelopes = await sender.envelopes(row.session_id, sent.ids);
  const once = seenOnce(agent.fake, next, envelopes);
  return {
    ms: next.wall_ms - released,
    wakes,
    once,
    problem: once === n && wakes === 1
      ? null
      : `${once}/${n} messages seen once in ${wakes} continuation(s) (want ${n} in 1)`,
    detail: once === n ? "" : agent.report(),
  };
}
