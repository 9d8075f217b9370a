// The `c2c` command's human output cannot drive a terminal: escape
// sequences, bells, C1 controls and bidi overrides in message bodies, room
// posts, an MCP client's name or typed input are shown inert, and a field
// can never start a line of its own; `--json` keeps the exact bytes.

import assert from "node:assert/strict";
import { Client, connect } from "./_mcp.ts";
import { c2c, exits, registerAll, type Run, tempDir } from "./_cli.ts";

// Retitle the window, write the clipboard (OSC 52), clear the screen, CSI
// in its C1 form, a bidi override, a bell, a carriage return.
const BODY = "hi\x1b]0;pwned\x07 \x1b]52;c;cGF5bWU=\x07\x1b[2J\x9b31m" +
  "\u202egnp.exe\u202c\r\nsecond line";
// An MCP client that names itself with an escape and a fake table row.
const CLIENT_NAME = "evil\x1b[31m\nforged-peer  yes  0  cli";

// Anything a terminal acts on, except the newline and tab bodies keep.
const ACTIVE =
  // deno-lint-ignore no-control-regex
  /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]/u;

function inertOutput(r: Run, what: string): string {
  assert.doesNotMatch(
    r.stdout,
    ACTIVE,
    `${what} stdout: ${JSON.stringify(r.stdout)}`,
  );
  assert.doesNotMatch(
    r.stderr,
    ACTIVE,
    `${what} stderr: ${JSON.stringify(r.stderr)}`,
  );
  return r.stdout;
}

Deno.test("c2c human output shows control characters inert; --json keeps the bytes", async () => {
  await using root = await tempDir();
  await registerAll(root.path, ["victim"]);
  await using mallory = await connect(
    root.path,
    { C2C_MCP_SESSION_ID: "mallory-s", C2C_MCP_AUTO_REGISTER_ALIAS: "mallory" },
    { client: new Client({ name: CLIENT_NAME, version: "1.0.0" }) },
  );
  await mallory.ok("send", { to_alias: "victim", content: BODY });
  await mallory.ok("join_room", { room_id: "lounge" });
  await mallory.ok("send_room", { room_id: "lounge", content: BODY });

  const as = ["--alias", "victim"];
  const [list, whoami, peek, peekJson] = await Promise.all([
    c2c(root.path, ["list"]),
    c2c(root.path, ["whoami", "mallory-s"]),
    c2c(root.path, ["peek-inbox", ...as]),
    c2c(root.path, ["peek-inbox", ...as, "--json"]),
  ]);
  const table = inertOutput(exits(list, 0), "list");
  // A header and two peers: the client name cannot add a row.
  assert.equal(table.trimEnd().split("\n").length, 3, table);
  assert.match(table, /evil\S+\[31m\S+forged-peer/);
  assert.match(
    inertOutput(exits(whoami, 0), "whoami"),
    /\nclient +evil\S+\[31m\S+forged-peer/,
  );
  const shown = inertOutput(exits(peek, 0), "peek-inbox");
  assert.match(
    shown,
    /hi\^\[\]0;pwned\^G \^\[\]52;c;cGF5bWU=\^G\^\[\[2J<U\+009B>31m<U\+202E>gnp\.exe<U\+202C>\^M\nsecond line/,
  );
  const exact = exits(peekJson, 0).json<{ messages: { content: string }[] }>();
  assert.equal(exact.messages[0].content, BODY, "--json keeps the bytes");

  const [poll, history, join, roomHistory] = [
    await c2c(root.path, ["poll-inbox", ...as]),
    await c2c(root.path, ["history", ...as]),
    await c2c(root.path, ["room", "join", "lounge", ...as]),
    await c2c(root.path, ["room", "history", "lounge"]),
  ];
  for (
    const [r, what] of [[poll, "poll-inbox"], [history, "history"]] as const
  ) {
    assert.match(inertOutput(exits(r, 0), what), /\^\[\]0;pwned\^G/);
  }
  for (
    const [r, what] of [[join, "room join"], [
      roomHistory,
      "room history",
    ]] as const
  ) {
    const out = inertOutput(exits(r, 0), what);
    assert.match(out, / mallory: hi\^\[\]0;pwned\^G .*\^M\nsecond line/);
  }
  const roomJson = exits(
    await c2c(root.path, ["room", "history", "lounge", "--json"]),
    0,
  ).json<{ messages: { content: string }[] }>();
  assert.ok(roomJson.messages.some((m) => m.content === BODY));
});

Deno.test("c2c errors that echo input show it inert, on one line", async () => {
  await using root = await tempDir();
  await registerAll(root.path, ["victim"]);
  const [alias, command, json] = await Promise.all([
    c2c(root.path, ["send", "bo\x1b]0;x\x07b", "hi", "--alias", "victim"]),
    c2c(root.path, ["sn\x1b[2Jd\nforged"]),
    c2c(root.path, ["send", "bo\x1bb", "hi", "--alias", "victim", "--json"]),
  ]);
  assert.equal(
    inertOutput(exits(alias, 1), "send").length,
    0,
  );
  assert.match(alias.stderr, /^c2c send: invalid alias 'bo\^\[\]0;x\^Gb': /);
  inertOutput(exits(command, 2), "unknown command");
  assert.equal(command.stderr.split("\n").length, 2, "one line");
  assert.match(command.stderr, /unknown command 'sn\^\[\[2Jd\^Jforged'/);
  // JSON escapes the control characters itself; the value stays exact.
  assert.ok(exits(json, 1).error().message.includes("'bo\x1bb'"));
});

Deno.test("c2c health shows a broker root path with escapes inert", async () => {
  await using dir = await tempDir();
  const root = `${dir.path}/x\x1b]0;t\x07y`;
  await using home = await tempDir("c2c-home-");
  const r = await c2c(root, ["health"], { env: { HOME: home.path } });
  const out = inertOutput(r, "health");
  assert.match(out, /^c2c health: broker root \S+x\^\[\]0;t\^Gy\n/);
});
