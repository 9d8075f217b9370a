/**
 * One agent of a scenario: a real client configured by `c2c setup`, its own
 * scripted fake model, and its run. Scenarios start several at once, hold
 * their model requests to keep them alive (a send to a dead recipient is
 * refused by design), and release them in the order the scenario needs.
 *
 * Requires what `setup_client.ts` and `run_client.ts` require, and
 * `--allow-net=127.0.0.1`.
 *
 * @module
 */

import { type ClientName, CLIENTS, ensureClient } from "./clients.ts";
import {
  type FakeModel,
  type RecordedRequest,
  startFakeModel,
  type Step,
} from "./fake_model.ts";
import {
  describeRun,
  type RunningClient,
  type RunResult,
  startClient,
} from "./run_client.ts";
import { type Agent, prepareAgent } from "./setup_client.ts";

/** Options of {@linkcode LiveAgent.create}. */
export interface LiveAgentOptions {
  /** Which client. */
  client: ClientName;
  /** Its c2c alias (given to `c2c setup --alias`). */
  alias: string;
  /** The shared project repository (the agents' working directory). */
  cwd: string;
  /** What its model does, turn by turn. */
  script: Step[];
  /** The user prompt (default: a short instruction). */
  prompt?: string;
  /** Kill the client after this long (default 90 s). */
  timeout_ms?: number;
  /** More `c2c setup` flags (e.g. `--broker-url URL`). */
  setup_args?: string[];
}

/** A configured client with its own fake model, started on demand. */
export class LiveAgent implements AsyncDisposable {
  /** Which client. */
  readonly client: ClientName;
  /** Its c2c alias. */
  readonly alias: string;
  /** Its fake model (what it was told, what it sent). */
  readonly fake: FakeModel;
  /** Its home, configured by `c2c setup`. */
  readonly agent: Agent;
  /** The run, once started. */
  running: RunningClient | null = null;
  /** The run's result, once finished. */
  result: RunResult | null = null;
  readonly #bin: string;
  readonly #prompt: string;
  readonly #timeout_ms: number;

  private constructor(
    options: LiveAgentOptions,
    fake: FakeModel,
    agent: Agent,
    bin: string,
  ) {
    this.client = options.client;
    this.alias = options.alias;
    this.fake = fake;
    this.agent = agent;
    this.#bin = bin;
    this.#prompt = options.prompt ?? "Work with your peers over c2c.";
    this.#timeout_ms = options.timeout_ms ?? 90_000;
  }

  /**
   * Starts a fake model, prepares a home pointed at it, and runs `c2c setup
   * <client> --alias <alias> [setup_args…]` there (in the shared project).
   *
   * @param options Client, alias, project and script.
   * @returns The agent, not started yet.
   */
  static async create(options: LiveAgentOptions): Promise<LiveAgent> {
    const { bin } = await ensureClient(options.client);
    const fake = await startFakeModel(options.script);
    try {
      const agent = await prepareAgent(
        options.client,
        fake.url,
        options.alias,
        { cwd: options.cwd },
        options.setup_args,
      );
      return new LiveAgent(options, fake, agent, bin);
    } catch (e) {
      await fake.close();
      throw e;
    }
  }

  /** `Claude Code (alias)`, for messages. */
  get name(): string {
    return `${CLIENTS[this.client].title} (${this.alias})`;
  }

  /** Starts the client's non-interactive run. */
  start(): void {
    this.running = startClient({
      home: this.agent.home,
      bin: this.#bin,
      prompt: this.#prompt,
      timeout_ms: this.#timeout_ms,
    });
  }

  /**
   * Waits until the model request of turn `n` arrives and is held (the
   * client, its MCP server and its lease are alive meanwhile).
   *
   * @param n Turn index of a step scripted with `hold`.
   * @param timeout_ms How long to wait.
   * @returns The held request.
   * @throws {Error} When the client exits first, or time runs out; the
   * message holds the client's output and what its model received.
   */
  async heldAt(n: number, timeout_ms = 60_000): Promise<RecordedRequest> {
    if (!this.running) throw new Error(`${this.name} was not started`);
    const turn = this.fake.waitForTurn(n, timeout_ms).then(() => null);
    turn.catch(() => {}); // the race below reports it
    let exited: RunResult | null;
    try {
      exited = await Promise.race([turn, this.running.result]);
    } catch (e) {
      throw new Error(
        `${this.name}: ${(e as Error).message}\n${this.report()}`,
      );
    }
    if (exited) {
      this.result = exited;
      // The fake's own error, when it gave one, says why the client stopped
      // early (e.g. c2c's server was not ready for the first request).
      const cause = this.fake.errors[0];
      throw new Error(
        `${this.name} exited before its model turn ${n}${
          cause ? ` because its model answered: ${cause}` : ""
        }\n${this.report()}`,
      );
    }
    const held = this.fake.held;
    if (held?.turn !== n) {
      throw new Error(`${this.name}: turn ${n} is not held\n${this.report()}`);
    }
    return held;
  }

  /** Lets the held model answer go. */
  release(): void {
    this.fake.release();
  }

  /**
   * Waits for the run to end.
   *
   * @returns The result.
   */
  async finish(): Promise<RunResult> {
    if (!this.running) throw new Error(`${this.name} was not started`);
    this.result = await this.running.result;
    return this.result;
  }

  /**
   * Why a run counts as failed, or `null`: a non-zero exit, a timeout, or a
   * scripted tool the client did not offer.
   *
   * @returns The reason, with the client's output.
   */
  failure(): string | null {
    const run = this.result;
    if (!run) return `${this.name} did not finish`;
    if (run.code !== 0 || run.timed_out) {
      return `${this.name} ${
        run.timed_out ? "timed out" : `exited ${run.code ?? run.signal}`
      }`;
    }
    if (this.fake.errors.length) {
      return `${this.name}: ${this.fake.errors.join("; ")}`;
    }
    return null;
  }

  /**
   * The run's output and the model requests, for failure messages.
   *
   * @returns A multi-line report.
   */
  report(): string {
    const requests = this.fake.requests.map((r) =>
      `${r.method} ${r.path} ${r.kind}${
        r.turn === null ? "" : ` #${r.turn}`
      } → ${r.reply || "(held)"}`
    ).join("\n");
    return `${this.result ? describeRun(this.result, 2_000) : "(running)"}\n` +
      `--- ${this.name}'s model requests ---\n${requests || "none"}` +
      (this.fake.errors.length
        ? `\nfake model errors: ${this.fake.errors.join("; ")}`
        : "");
  }

  /**
   * Ends a run still going (its model released; after 5 s its process
   * group killed), closes the fake, removes the home.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.running && !this.result) {
      const running = this.running;
      this.fake.release();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), 5_000);
      });
      const done = await Promise.race([running.result, late]);
      clearTimeout(timer);
      if (!done) {
        try {
          Deno.kill(-running.pid, "SIGKILL");
        } catch {
          // Gone already.
        }
      }
      this.result = await running.result;
    }
    await this.fake.close();
    await this.agent[Symbol.asyncDispose]();
  }
}
