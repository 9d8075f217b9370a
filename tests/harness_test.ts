// The managed harness (`c2c run`) end to end: the real harness process with
// its documented flags, running a scripted TUI stand-in, inside a terminal the
// test owns. Another session sends through the library, as a peer would.

import assert from "node:assert/strict";
import type { Broker } from "../mod.ts";
import { lines, tempBroker } from "./_helpers.ts";
import { fakeTuiCommand, harnessCommand, ManagedTui, sleep } from "./_wake.ts";

const BODY = "TOP-SECRET-BODY-7f3a";

async function peer(broker: Broker, alias = "peer") {
  const session = `${alias}-session`;
  const lease = await broker.acquireLease(session);
  await broker.register(session, { alias, leased: true });
  return {
    lease,
    send: (to: string, content = BODY) =>
      broker.send(session, { to_alias: to, content }),
  };
}

async function sessionOf(broker: Broker, alias: string): Promise<string> {
  const row = await broker.registrationByAlias(alias);
  assert.ok(row, `${alias} is registered`);
  return row.session_id;
}

Deno.test("runHarness() types one poll line per burst and never the body", async () => {
  await using broker = await tempBroker();
  await using tui = await ManagedTui.start(broker.root, { alias: "agent" });
  const { lease, send } = await peer(broker);
  using _ = lease;
  const session = await sessionOf(broker, "agent");

  for (let i = 0; i < 5; i++) await send("agent", `${BODY} ${i}`);
  await tui.waitFor(/^line:"c2c: /, "the poll line");
  await sleep(600); // any second line for this burst would be typed by now
  assert.equal(tui.pollLines().length, 1, tui.output);
  assert.match(tui.pollLines()[0], /new messages? - call the c2c poll_inbox/);

  // The agent polls; the next burst gets its own line.
  assert.equal((await broker.pollInbox(session)).messages.length, 5);
  await send("agent");
  await send("agent");
  await tui.waitFor(/^line:"c2c: /, "the second poll line", 2);
  await sleep(400);
  assert.equal(tui.pollLines().length, 2, tui.output);

  assert.ok(!tui.input().includes(BODY), "no body was typed into the client");
  assert.ok(!tui.output.includes(BODY), "no body reached the terminal");
});

Deno.test("runHarness() holds the poll line while the user has a half-typed line", async () => {
  await using broker = await tempBroker();
  await using tui = await ManagedTui.start(broker.root, { alias: "typist" });
  const { lease, send } = await peer(broker);
  using _ = lease;

  tui.type("half a thou");
  await sleep(100);
  await send("typist");
  await sleep(500);
  assert.equal(tui.pollLines().length, 0, "nothing typed into the user's line");
  tui.type("ght\r");
  const [user] = await tui.waitFor(/^line:/, "the user's line");
  assert.match(user, /^line:"half a thought"/);
  await tui.waitFor(/^line:"c2c: /, "the poll line after Enter");
  assert.match(tui.matches(/^line:/)[1], /^line:"c2c: 1 new message - /);
});

Deno.test("runHarness() passes a window resize through to the client", async () => {
  await using broker = await tempBroker();
  await using tui = await ManagedTui.start(broker.root, {
    alias: "resizer",
    cols: 90,
    rows: 20,
  });
  assert.equal(tui.matches(/^ready 90x20 /).length, 1, tui.output);
  tui.pty.resize({ cols: 132, rows: 43 });
  await tui.waitFor(/^size:132x43$/, "the new size in the client");
});

Deno.test("runHarness() relays keys, sends one Ctrl-C to the client, quits on two", async () => {
  await using broker = await tempBroker();
  await using tui = await ManagedTui.start(broker.root, { alias: "keys" });
  tui.type("hello\r");
  await tui.waitFor(/^line:"hello"/, "the typed line");
  tui.type("\x03");
  await tui.waitFor(/^ctrl-c$/, "Ctrl-C in the client");
  await sleep(200);
  assert.equal(
    await Promise.race([tui.pty.exited.then(() => "exited"), sleep(0)]),
    undefined,
    "one Ctrl-C does not end the harness",
  );
  tui.type("\x03");
  const status = await tui.pty.exited;
  assert.notEqual(status.signal, 9);
  assert.match(tui.output, /stopping deno \(Ctrl-C twice\)/);
});

Deno.test("runHarness() exits with the client's exit code", async () => {
  await using broker = await tempBroker();
  await using tui = await ManagedTui.start(broker.root, { alias: "quitter" });
  tui.type("exit 7\r");
  assert.deepEqual(await tui.pty.exited, { code: 7, signal: null });
});

Deno.test("runHarness() without a terminal relays piped input and the exit code", async () => {
  await using broker = await tempBroker();
  const dir = await Deno.makeTempDir({ prefix: "c2c-tui-" });
  const [command, ...args] = harnessCommand(broker.root, [
    "generic",
    "--alias",
    "piped",
    "--",
    ...fakeTuiCommand(`${dir}/input.log`),
  ]);
  const child = new Deno.Command(command, {
    args,
    env: { C2C_MCP_BROKER_ROOT: broker.root },
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const seen: string[] = [];
  for await (const line of lines(child.stdout)) {
    seen.push(line);
    if (/ready \d+x\d+/.test(line)) break; // raw mode is on: type now
  }
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode("exit 3\r"));
  await writer.close();
  const status = await child.status;
  assert.equal(status.code, 3);
  assert.match(
    seen.join("\n"),
    /ready 80x24 /,
    "default size without a terminal",
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runHarness() keeps the session live; SIGKILL of the harness makes it read dead", async () => {
  await using broker = await tempBroker();
  await using tui = await ManagedTui.start(broker.root, { alias: "mortal" });
  const row = await broker.registrationByAlias("mortal");
  assert.ok(row);
  assert.equal(row.client, "generic");
  assert.equal(await broker.liveness(row.session_id), true);
  const { lease, send } = await peer(broker);
  using _ = lease;
  await send("mortal"); // a live recipient accepts messages

  tui.pty.kill("SIGKILL", false);
  await tui.pty.exited;
  assert.equal(await broker.liveness(row.session_id), false);
  // Queued for the alias's next session, not refused.
  assert.equal((await send("mortal")).recipient_alive, false);
});

Deno.test("runHarness() refuses an alias held by a live session", async () => {
  await using broker = await tempBroker();
  const { lease } = await peer(broker, "taken");
  using _ = lease;
  const [command, ...args] = harnessCommand(broker.root, [
    "generic",
    "--alias",
    "taken",
    "--",
    "true",
  ]);
  const out = await new Deno.Command(command, {
    args,
    env: { C2C_MCP_BROKER_ROOT: broker.root },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 1);
  assert.match(new TextDecoder().decode(out.stderr), /alias 'taken'/);
});

Deno.test("runHarness() reports a program that is not in PATH", async () => {
  await using broker = await tempBroker();
  const [command, ...args] = harnessCommand(broker.root, [
    "generic",
    "--",
    "no-such-program-c2c",
  ]);
  const out = await new Deno.Command(command, {
    args,
    env: { C2C_MCP_BROKER_ROOT: broker.root },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 1);
  assert.match(
    new TextDecoder().decode(out.stderr),
    /command not found: no-such-program-c2c/,
  );
});
