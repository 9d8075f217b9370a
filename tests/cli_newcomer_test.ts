// A newcomer's first minutes with `c2c`, as real subprocesses: errors that
// name commands (the MCP server keeps naming tools), usage errors before
// session errors, relative times, shell completion, `health` checking what
// `setup` wrote, and the commands that used to answer unhelpfully.

import assert from "node:assert/strict";
import { cliGrant } from "../lib/permissions.ts";
import { DENO } from "./_helpers.ts";
import { connect } from "./_mcp.ts";
import { c2c, exits, launch, registerAll, tempDir, tempRepo } from "./_cli.ts";

interface Health {
  healthy: boolean;
  checks: { name: string; status: string; detail: string; fix?: string }[];
}

Deno.test("c2c errors name c2c commands and options; the MCP server's name its tools", async () => {
  await using root = await tempDir();
  await registerAll(root.path, ["alice", "bob"]);
  const [member, unknown] = await Promise.all([
    c2c(root.path, ["room", "send", "lounge", "hi", "--alias", "alice"]),
    c2c(root.path, ["send", "nobody", "hi", "--alias", "alice"]),
  ]);
  assert.equal(
    exits(member, 1).stderr,
    "c2c room send: 'alice' is not a member of room 'lounge'; join it first: c2c room join lounge\n",
  );
  assert.match(
    exits(unknown, 1).stderr,
    /; 'c2c list' shows who is registered\n$/,
  );
  await using mcp = await connect(root.path, {
    C2C_MCP_SESSION_ID: "carol-s",
    C2C_MCP_AUTO_REGISTER_ALIAS: "carol",
  });
  assert.equal(
    await mcp.fails("send_room", { room_id: "lounge", content: "hi" }),
    "'carol' is not a member of room 'lounge'; call join_room first",
  );
  assert.equal(
    await mcp.fails("send", { to_alias: "nobody", content: "hi" }),
    "unknown alias 'nobody'; call list to see registered peers",
  );
  assert.match(
    await mcp.fails("send", {
      to_alias: "bob",
      content: "hi",
      from_alias: "alice",
    }),
    /^from_alias 'alice' is not your alias/,
  );
});

Deno.test("c2c reports a usage error as one (exit 2) even when no session is set", async () => {
  await using root = await tempDir();
  const [limit, empty, negative, roomEmpty] = await Promise.all([
    c2c(root.path, ["history", "--limit", "many"]),
    c2c(root.path, ["send", "bob", ""]),
    c2c(root.path, ["room", "history", "lounge", "--limit", "-3"]),
    c2c(root.path, ["room", "send", "lounge", ""]),
  ]);
  assert.match(
    exits(limit, 2).stderr,
    /--limit must be an integer ≥ 0, got 'many'/,
  );
  assert.match(exits(empty, 2).stderr, /^c2c send: the message is empty/);
  assert.match(
    exits(negative, 2).stderr,
    /--limit must be an integer ≥ 0, got '-3'/,
    "a negative number is a value, not a missing one",
  );
  assert.match(exits(roomEmpty, 2).stderr, /the message is empty/);
  // A message that is a negative number is a message.
  await registerAll(root.path, ["alice", "bob"]);
  exits(await c2c(root.path, ["send", "bob", "-1", "--alias", "alice"]), 0);
});

Deno.test("c2c --json with no command is a JSON usage error", async () => {
  const [bare, room] = await Promise.all([
    c2c(null, ["--json"]),
    c2c(null, ["room", "--json"]),
  ]);
  assert.deepEqual(exits(bare, 2).error(), {
    code: "usage",
    message: "missing command",
  });
  assert.deepEqual(exits(room, 2).error(), {
    code: "usage",
    message: "missing room command",
  });
});

Deno.test("c2c -V, version and a mistyped command or client answer helpfully", async () => {
  const [v, misplaced, sned, setup, join, run] = await Promise.all([
    c2c(null, ["-V"]),
    c2c(null, ["--alias", "x", "list"]),
    c2c(null, ["sned", "bob", "hi"]),
    c2c(null, ["setup", "claude"]),
    c2c(null, ["join", "lounge"]),
    c2c(null, ["run", "--help"]),
  ]);
  assert.match(exits(v, 0).stdout, /^c2c \d/);
  assert.equal(
    exits(misplaced, 2).stderr,
    "c2c: option '--alias' goes after the command, e.g. 'c2c send … --alias …'; see 'c2c --help'\n",
  );
  assert.match(exits(sned, 2).stderr, /\(did you mean 'send'\?\)/);
  assert.match(
    exits(setup, 2).stderr,
    /^c2c setup: unknown client 'claude' \(did you mean 'claude-code'\?\); choose one of claude-code, /,
  );
  assert.match(exits(join, 2).stderr, /\(did you mean 'room join'\?\)/);
  const help = exits(run, 0).stdout;
  assert.match(help, /\nOptions:\n {2}--alias A +alias to register/);
  assert.match(help, /\n {2}--command PROGRAM /);
  assert.doesNotMatch(help, /--json/, "run hands --json to the client");
});

Deno.test("c2c list shows how long ago peers were seen; --json keeps ISO times", async () => {
  await using root = await tempDir();
  await registerAll(root.path, ["alice"]);
  const [text, json] = await Promise.all([
    c2c(root.path, ["list"]),
    c2c(root.path, ["list", "--json"]),
  ]);
  assert.match(exits(text, 0).stdout, /\nalice .* (just now|\d+s ago) .*\n$/);
  const peers = exits(json, 0).json<{ peers: { last_seen: string }[] }>()
    .peers;
  assert.match(peers[0].last_seen, /^\d{4}-\d\d-\d\dT.*Z$/);
});

Deno.test("c2c verify on a fresh broker, room history of a missing room, health without a session", async () => {
  await using root = await tempDir();
  await using home = await tempDir("c2c-home-");
  const [verify, nosuch, health] = await Promise.all([
    c2c(root.path, ["verify"]),
    c2c(root.path, ["room", "history", "nosuch"]),
    c2c(root.path, ["health", "--json"], { env: { HOME: home.path } }),
  ]);
  assert.equal(exits(verify, 0).stdout, "no messages exchanged yet\n");
  assert.equal(
    exits(nosuch, 1).stderr,
    "c2c room history: no room 'nosuch'; there are no rooms yet (a room exists once someone joins it: c2c room join nosuch)\n",
  );
  const session = exits(health, 0).json<Health>().checks.find((c) =>
    c.name === "session"
  );
  assert.match(
    session!.fix!,
    /c2c register --alias NAME', then pass --alias NAME \(or export C2C_ALIAS=NAME\)/,
  );
});

Deno.test("c2c completion prints scripts that complete commands, room commands, options and clients", async () => {
  const [bash, zsh, fish, bad] = await Promise.all([
    c2c(null, ["completion", "bash"]),
    c2c(null, ["completion", "zsh"]),
    c2c(null, ["completion", "fish"]),
    c2c(null, ["completion", "tcsh"]),
  ]);
  assert.match(
    exits(bad, 2).stderr,
    /unknown shell 'tcsh'; choose one of bash, zsh, fish/,
  );
  await using dir = await tempDir();
  Deno.writeTextFileSync(`${dir.path}/c2c.bash`, exits(bash, 0).stdout);
  const probe = (words: string) =>
    `COMP_WORDS=(${words}); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _c2c; echo "\${COMPREPLY[*]}"`;
  const script = [
    `source ${dir.path}/c2c.bash`,
    probe("c2c se"),
    probe("c2c room h"),
    probe("c2c setup cl"),
    probe("c2c history --l"),
    probe("c2c send bob --re"),
    probe("c2c ''"),
  ].join("\n");
  const out = await new Deno.Command("bash", {
    args: ["-c", script],
    stdout: "piped",
  }).output();
  const lines = new TextDecoder().decode(out.stdout).split("\n");
  assert.deepEqual(lines.slice(0, 5), [
    "setup send send-all set-status search",
    "history",
    "claude-code",
    "--limit",
    "--reply-to",
  ]);
  assert.ok(
    !lines[5].split(" ").includes("hook"),
    "internal commands stay out",
  );
  assert.ok(!lines[5].split(" ").includes("my-rooms"), "old names stay out");
  // zsh and fish, where installed: the scripts at least parse.
  for (const [shell, text] of [["zsh", zsh], ["fish", fish]] as const) {
    Deno.writeTextFileSync(`${dir.path}/c2c.${shell}`, exits(text, 0).stdout);
    let status;
    try {
      status = await new Deno.Command(shell, {
        args: ["-n", `${dir.path}/c2c.${shell}`],
      }).output();
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) continue;
      throw e;
    }
    assert.ok(status.success, new TextDecoder().decode(status.stderr));
  }
});

Deno.test("c2c health checks what setup wrote: hooks, wake plugin, and that what they run exists", async () => {
  await using repo = await tempRepo();
  await using home = await tempDir("c2c-home-");
  const env = { HOME: home.path, USER: "alice" };
  exits(await launch(["setup", "claude-code"], { cwd: repo.path, env }), 0);
  exits(await launch(["setup", "opencode"], { cwd: repo.path, env }), 0);
  // A Codex config left by a checkout that was since deleted.
  const gone = `${home.path}/old-checkout`;
  Deno.mkdirSync(`${home.path}/.codex`);
  Deno.writeTextFileSync(
    `${home.path}/.codex/config.toml`,
    `[mcp_servers.c2c]\ncommand = "${DENO}"\nargs = ["run", "--config=${gone}/deno.json", "${gone}/server.ts"]\n`,
  );
  Deno.writeTextFileSync(
    `${home.path}/.codex/hooks.json`,
    JSON.stringify({
      hooks: {
        PostToolUse: [{
          hooks: [{
            type: "command",
            command: `'${gone}/bin/c2c-hook' codex --deno '${DENO}'`,
          }],
        }],
      },
    }),
  );
  const report = exits(
    await launch(["health", "--json"], { cwd: repo.path, env }),
    1,
  ).json<Health>();
  const check = (name: string) => report.checks.find((c) => c.name === name);
  assert.equal(
    check("client claude-code")?.status,
    "ok",
    JSON.stringify(report),
  );
  assert.match(check("client claude-code")!.detail, /PostToolUse, Stop hooks/);
  assert.equal(check("client opencode")?.status, "ok");
  assert.match(check("client opencode")!.detail, /wake plugin/);
  const codex = check("client codex")!;
  assert.equal(codex.status, "fail");
  assert.match(
    codex.detail,
    new RegExp(`points at ${gone}/server\\.ts, which no longer exists`),
  );
  assert.match(
    codex.detail,
    new RegExp(`points at ${gone}/bin/c2c-hook, which no longer exists`),
  );
  assert.match(codex.fix!, /c2c setup codex --force/);
  assert.equal(check("client gemini"), undefined, "never set up: not listed");

  // The opencode plugin removed: an idle OpenCode is no longer woken.
  Deno.removeSync(`${home.path}/.config/opencode/plugin/c2c.js`);
  const text = exits(
    await launch(["health"], { cwd: repo.path, env }),
    1,
  ).stdout;
  assert.match(
    text,
    /\n {2}warn {2}client opencode +no c2c wake plugin at \S+c2c\.js: an idle agent is not woken\n/,
  );
  assert.match(text, /\n {2}FAIL {2}client codex /);
});

Deno.test("cliGrant() lets health read (never write) outside the broker root", () => {
  assert.deepEqual(cliGrant(["health"], DENO), {
    entry: "cli",
    scope: { read: ["/"] },
  });
});
