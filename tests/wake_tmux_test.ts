// Interactive checks in tmux: a private tmux server per test (its own socket),
// keys sent with `send-keys`, the screen read with `capture-pane`.

import assert from "node:assert/strict";
import { DENO, REPO, tempBroker, waitFor } from "./_helpers.ts";
import { fakeTuiCommand, harnessCommand, sleep } from "./_wake.ts";
import { wakePermissionFlags } from "../wake/flags.ts";

/** A private tmux server; killed when disposed. */
class Tmux implements AsyncDisposable {
  readonly dir: string;
  readonly socket: string;

  private constructor(dir: string) {
    this.dir = dir;
    this.socket = `${dir}/tmux.sock`;
  }

  static async start(): Promise<Tmux> {
    return new Tmux(await Deno.makeTempDir({ prefix: "c2c-tmux-" }));
  }

  async run(...args: string[]): Promise<string> {
    const out = await new Deno.Command("tmux", {
      args: ["-S", this.socket, ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    if (!out.success) {
      throw new Error(
        `tmux ${args[0]}: ${new TextDecoder().decode(out.stderr)}`,
      );
    }
    return text;
  }

  /** Starts a detached session running `argv` (then a shell-less wait). */
  async newPane(argv: string[], env: Record<string, string>): Promise<string> {
    const quoted = argv.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
    const assignments = Object.entries(env).map(([k, v]) => `${k}='${v}'`)
      .join(" ");
    // Show the exit code, then keep the pane open for capture-pane.
    const script =
      `env ${assignments} ${quoted}; echo "pane-exit:$?"; sleep 60`;
    const pane = await this.run(
      "new-session",
      "-d",
      "-P",
      "-F",
      "#{pane_id}",
      "-x",
      "120",
      "-y",
      "40",
      "sh",
      "-c",
      script,
    );
    return pane.trim();
  }

  async screen(pane: string): Promise<string> {
    return await this.run("capture-pane", "-p", "-J", "-t", pane);
  }

  async waitScreen(pane: string, re: RegExp, what: string): Promise<string> {
    let last = "";
    try {
      await waitFor(
        async () => re.test(last = await this.screen(pane)),
        10_000,
        what,
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}; screen:\n${last}`);
    }
    return last;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.run("kill-server").catch(() => {});
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

Deno.test("runHarness() in tmux: typing works; Ctrl-C reaches the client, not the harness", async () => {
  await using broker = await tempBroker();
  await using tmux = await Tmux.start();
  const pane = await tmux.newPane(
    harnessCommand(broker.root, [
      "generic",
      "--alias",
      "tmuxed",
      "--",
      ...fakeTuiCommand(`${tmux.dir}/input.log`),
    ]),
    { C2C_MCP_BROKER_ROOT: broker.root },
  );
  await tmux.waitScreen(pane, /^ready 120x40 /m, "the fake TUI");

  await tmux.run("send-keys", "-t", pane, "-l", "typed through tmux");
  await tmux.run("send-keys", "-t", pane, "Enter");
  await tmux.waitScreen(pane, /^line:"typed through tmux"/m, "the typed line");

  await tmux.run("send-keys", "-t", pane, "C-c");
  await tmux.waitScreen(pane, /^ctrl-c$/m, "Ctrl-C in the client");
  await sleep(300);
  assert.doesNotMatch(await tmux.screen(pane), /pane-exit:/);
  assert.equal(
    await broker.liveness(
      (await broker.registrationByAlias("tmuxed"))!.session_id,
    ),
    true,
  );

  await tmux.run("send-keys", "-t", pane, "-l", "exit 4");
  await tmux.run("send-keys", "-t", pane, "Enter");
  await tmux.waitScreen(pane, /^pane-exit:4$/m, "the harness to exit with 4");
});

Deno.test("wakeTmuxPane() types the poll line into the pane once per burst", async () => {
  await using broker = await tempBroker();
  await using tmux = await Tmux.start();
  const log = `${tmux.dir}/input.log`;
  const pane = await tmux.newPane(fakeTuiCommand(log), {});
  await tmux.waitScreen(pane, /^ready /m, "the fake TUI");
  // The agent in the pane: registered, its lease held (here by the test).
  const lease = await broker.acquireLease("pane-agent");
  using _agent = lease;
  await broker.register("pane-agent", { alias: "panel", leased: true });
  const sender = await broker.acquireLease("sender");
  using _sender = sender;
  await broker.register("sender", { alias: "sender", leased: true });

  const wake = new Deno.Command(DENO, {
    args: [
      "run",
      ...wakePermissionFlags("wake", broker.root),
      `${REPO}/wake/main.ts`,
      "wake",
      "--tmux-pane",
      pane,
      "--alias",
      "panel",
      "--tmux-socket",
      tmux.socket,
    ],
    env: { C2C_MCP_BROKER_ROOT: broker.root },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = wake.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let said = "";
  while (!/watching 'panel'/.test(said)) {
    const { value, done } = await stderr.read();
    if (done) break;
    said += value;
  }
  assert.match(said, /watching 'panel' for pane %\d+ \(generic\)/);

  for (let i = 0; i < 3; i++) {
    await broker.send("sender", { to_alias: "panel", content: `BODY-${i}` });
  }
  await tmux.waitScreen(
    pane,
    /^line:"c2c: \d new messages? - call/m,
    "the poll line",
  );
  await sleep(500);
  const lines = (await tmux.screen(pane)).split("\n").filter((l) =>
    l.startsWith('line:"c2c:')
  );
  assert.equal(lines.length, 1, lines.join("\n"));
  assert.ok(!Deno.readTextFileSync(log).includes("BODY-"), "no body typed");

  wake.kill("SIGTERM");
  await stderr.cancel();
  await wake.stdout.cancel();
  assert.equal((await wake.status).code, 0);
});
