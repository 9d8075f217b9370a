/**
 * Claude Code's asyncRewake waiter with the real client (issue 9, for
 * versions without the messaging socket): the interactive TUI in tmux,
 * configured by `c2c setup claude-code --rewake` (so its server's socket
 * wake is off), idle at its prompt. Another session sends; the waiter armed
 * by the SessionStart hook exits 2 with the envelopes, and Claude Code
 * starts a turn whose request carries them as hook feedback — once. Then a
 * burst of 10 (one wake), exactly one waiter armed while idle, and none left
 * once the client is killed outright (it gets no chance to end its hooks).
 *
 * Run by the DM matrix with the other idle-wake scenarios.
 *
 * @module
 */

import {
  check,
  IdleAgent,
  seenOnce,
  Sender,
  until,
  type WakeResult,
} from "./idle_wake.ts";
import { oneMachine, type Place } from "./machines.ts";
import { homeProcesses } from "./tui.ts";

/** How the client is woken in this scenario. */
export const REWAKE_MECHANISM =
  "asyncRewake waiter hook exits 2 → Stop hook feedback";

/**
 * The live rewake waiters of a throwaway home (they inherit its `HOME`).
 *
 * @param base The home's folder.
 * @returns Their pids.
 */
export function waiterProcesses(base: string): number[] {
  return homeProcesses(base).filter((pid) => {
    try {
      return Deno.readTextFileSync(`/proc/${pid}/cmdline`).includes(
        "\0--rewake\0",
      );
    } catch {
      return false; // exited meanwhile
    }
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs the scenario.
 *
 * @param options `bin`: another Claude Code executable (e.g. an older one);
 * `where`: the client on side B, the sender on side A (default: both in one
 * fresh project, on one machine).
 * @returns The result and, when it failed, the evidence.
 */
export async function runRewakeWake(
  options: { bin?: string; where?: Place } = {},
): Promise<{ result: WakeResult; detail: string }> {
  const started = performance.now();
  const result: WakeResult = {
    client: "claude",
    variant: "--rewake",
    ok: false,
    reason: null,
    mechanism: REWAKE_MECHANISM,
    single_ms: null,
    burst_wakes: null,
    burst_once: null,
    shown: null,
    ms: 0,
  };
  let detail = "";
  try {
    await using local = options.where
      ? null
      : await oneMachine("c2c-e2e-rewake-");
    const place = (options.where ?? local)!;
    await using agent = await IdleAgent.start({
      client: "claude",
      project: place.project("b"),
      alias: "claude-rewake",
      setupArgs: ["--rewake", ...place.setup_args],
      bin: options.bin,
      broker: await place.broker("b"),
    });
    const base = agent.agent.home.base;
    result.ready_ms = agent.ready_ms;
    const sender = await Sender.register(await place.broker("a"), {
      at_once: place.remote,
    });
    try {
      const wake = (await agent.broker.registrationByAlias(agent.alias))?.wake;
      check(
        wake?.path === "claude-rewake" && wake.socket === undefined,
        `the server registered wake ${
          JSON.stringify(wake)
        }, not claude-rewake without a socket`,
      );
      const session = await agent.sessionId();
      const armed = (what: string) =>
        until(what, () => agent.broker.rewakeArmed(session), 15_000);
      await armed("the SessionStart hook's waiter");

      // One message to the idle client.
      let turns = agent.fake.turns.length;
      const one = await sender.send(agent.alias, 1, "single");
      const woken = await agent.turn(turns);
      result.single_ms = woken.wall_ms - one.t0;
      const [envelope] = await sender.envelopes(session, one.ids);
      check(
        seenOnce(agent.fake, woken, [envelope]) === 1,
        "the message did not reach the model exactly once in the wake turn",
      );
      const screen = await agent.tui.waitFor(/Stop hook feedback/, 10_000)
        .catch(() => "");
      result.shown = screen !== "";
      check(result.shown, "the TUI did not show the hook feedback");
      await agent.waitIdle();
      // The wake turn's Stop hook armed the next waiter; any other one
      // started meanwhile found it armed and ended.
      await armed("a waiter after the wake turn");
      await until(
        "exactly one waiter process while idle",
        () => waiterProcesses(base).length === 1,
        10_000,
      );

      // A burst of ten: one wake, each message once.
      turns = agent.fake.turns.length;
      const burst = await sender.send(agent.alias, 10, "burst");
      const burstWake = await agent.turn(turns);
      await agent.waitIdle();
      await sleep(1_000); // a second wake would come within this
      result.burst_wakes = agent.fake.turns.length - turns;
      const envelopes = await sender.envelopes(session, burst.ids);
      result.burst_once = seenOnce(agent.fake, burstWake, envelopes);
      check(
        result.burst_wakes === 1,
        `the burst woke the client ${result.burst_wakes} times (want 1)`,
      );
      check(
        result.burst_once === 10,
        `${result.burst_once}/10 burst messages reached the model exactly once`,
      );
      check(
        (await agent.broker.pendingMessages(session)).length === 0,
        "messages were left in the inbox",
      );

      // Killed outright, the client cannot end its hooks: the waiter must
      // notice by itself (its parent and the session's lease are gone).
      await armed("a waiter after the burst");
      Deno.kill(await agent.tui.panePid(), "SIGKILL");
      await until(
        "no waiter left after the client was killed",
        () => waiterProcesses(base).length === 0,
        5_000,
      ).catch((e) => {
        throw new Error(
          `${(e as Error).message} (${waiterProcesses(base).length} left)`,
        );
      });
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
