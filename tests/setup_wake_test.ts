// `c2c setup` and the idle-wake paths (issue 9): the wake path in each
// client's server entry, `--no-wake`, OpenCode's plugin file, Gemini's
// AfterAgent hook, Codex's SessionStart hook — and the generated OpenCode
// plugin itself, run against a fake OpenCode client.

import assert from "node:assert/strict";
import { parse as parseToml } from "smol-toml";
import {
  ConfigShapeError,
  SetupConflictError,
  SetupOptionError,
} from "../setup/errors.ts";
import type { ClientName } from "../setup/launch.ts";
import { opencodePluginSource } from "../setup/opencode_plugin.ts";
import {
  applySetup,
  planSetup,
  type SetupOptions,
  setupStamp,
} from "../setup/setup.ts";
import { REPO, waitFor } from "./_helpers.ts";
import { tempDir } from "./_cli.ts";

const STAMP = setupStamp(new Date("2026-11-21T10:00:00Z"));

function options(
  client: ClientName,
  home: string,
  extra: Partial<SetupOptions> = {},
): SetupOptions {
  return {
    client,
    uninstall: false,
    noAlias: false,
    force: false,
    targetDir: null,
    root: client === "codex" ? "/repo/.git/c2c/mcp" : null,
    home,
    env: () => undefined,
    deno: "/opt/deno/bin/deno",
    denoDir: null,
    repo: REPO,
    user: "me",
    host: "box",
    ...extra,
  };
}

function read(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

function run(opts: SetupOptions) {
  const plan = planSetup(opts, read);
  return { plan, files: applySetup(plan, { dryRun: false, stamp: STAMP }) };
}

function serverEnv(client: ClientName, home: string): Record<string, string> {
  const json = (path: string) => JSON.parse(read(`${home}/${path}`)!);
  switch (client) {
    case "claude-code":
      return json(".claude.json").mcpServers.c2c.env;
    case "codex":
      return (parseToml(read(`${home}/.codex/config.toml`)!) as {
        mcp_servers: { c2c: { env: Record<string, string> } };
      }).mcp_servers.c2c.env;
    case "gemini":
      return json(".gemini/settings.json").mcpServers.c2c.env;
    case "opencode":
      return json(".config/opencode/opencode.json").mcp.c2c.environment;
    case "kimi":
      return json(".kimi/mcp.json").mcpServers.c2c.env;
    case "crush":
      return json(".config/crush/crush.json").mcp.c2c.env;
  }
}

const WAKE: Record<ClientName, string | undefined> = {
  "claude-code": "claude-socket",
  codex: "codex-daemon",
  opencode: "opencode-plugin",
  gemini: "gemini-hook",
  kimi: undefined,
  crush: undefined,
};

for (const client of Object.keys(WAKE) as ClientName[]) {
  Deno.test(
    `setup ${client} records its wake path (${
      WAKE[client] ?? "none"
    }) in the server entry; --no-wake ${
      WAKE[client] ? "records off" : "adds nothing"
    }`,
    async () => {
      await using on = await tempDir();
      await using off = await tempDir();
      const a = run(options(client, on.path));
      const b = run(options(client, off.path, { noWake: true }));
      assert.equal(serverEnv(client, on.path).C2C_MCP_WAKE, WAKE[client]);
      assert.equal(a.plan.wake ?? undefined, WAKE[client]);
      const expectOff = WAKE[client] === undefined ? undefined : "off";
      assert.equal(serverEnv(client, off.path).C2C_MCP_WAKE, expectOff);
      assert.equal(b.plan.wake ?? undefined, expectOff);
    },
  );
}

Deno.test("setup opencode writes the wake plugin; --no-wake removes it; uninstall removes it", async () => {
  await using home = await tempDir();
  const plugin = `${home.path}/.config/opencode/plugin/c2c.js`;
  const first = run(options("opencode", home.path));
  assert.ok(
    first.files.some((f) => f.path === plugin && f.status === "created"),
  );
  assert.match(read(plugin)!, /^\/\/ c2c wake plugin for OpenCode/);
  assert.ok(read(plugin)!.includes('const ALIAS = "opencode-me-box";'));
  assert.equal(Deno.statSync(plugin).mode! & 0o777, 0o600);
  // Idempotent.
  const again = run(options("opencode", home.path));
  assert.ok(again.files.every((f) => f.status === "unchanged"));
  // --no-wake (with --force, since the server entry changes) drops it.
  run(options("opencode", home.path, { noWake: true, force: true }));
  assert.equal(read(plugin), null);
  run(options("opencode", home.path, { force: true }));
  assert.notEqual(read(plugin), null);
  run(options("opencode", home.path, { uninstall: true }));
  assert.equal(read(plugin), null);
});

Deno.test("setup opencode --broker-url writes the plugin for the NATS store, which keeps no inbox file on this machine", async () => {
  await using home = await tempDir();
  const plugin = `${home.path}/.config/opencode/plugin/c2c.js`;
  run(options("opencode", home.path, {
    broker: { C2C_BROKER_URL: "nats://127.0.0.1:4222" },
  }));
  assert.match(read(plugin)!, /^const NATS = true \|\|$/m);
  await using other = await tempDir();
  run(options("opencode", other.path));
  // The file store's plugin still follows C2C_BROKER_URL in OpenCode's env.
  assert.match(
    read(`${other.path}/.config/opencode/plugin/c2c.js`)!,
    /^const NATS = false \|\|\n\s+\(process\.env\.C2C_BROKER_URL/m,
  );
});

Deno.test("setup opencode leaves a plugin that is not c2c's alone and says why", async () => {
  await using home = await tempDir();
  const plugin = `${home.path}/.config/opencode/plugin/c2c.js`;
  await Deno.mkdir(`${home.path}/.config/opencode/plugin`, { recursive: true });
  await Deno.writeTextFile(plugin, "export const Mine = async () => ({});\n");
  assert.throws(
    () => planSetup(options("opencode", home.path), read),
    (e: unknown) =>
      e instanceof ConfigShapeError && /not c2c's/.test(e.message) &&
      /--no-wake/.test(e.message),
  );
  run(options("opencode", home.path, { uninstall: true }));
  assert.equal(read(plugin), "export const Mine = async () => ({});\n");
});

Deno.test("setup gemini adds an AfterAgent hook with the hook command; --no-wake and uninstall drop it", async () => {
  await using home = await tempDir();
  run(options("gemini", home.path));
  const settings = () =>
    JSON.parse(read(`${home.path}/.gemini/settings.json`) ?? "{}");
  const after = settings().hooks.AfterAgent;
  assert.equal(after.length, 1);
  assert.equal(
    after[0].hooks[0].command,
    settings().hooks.AfterTool[0].hooks[0].command,
  );
  run(options("gemini", home.path, { noWake: true, force: true }));
  assert.equal(settings().hooks.AfterAgent, undefined);
  assert.equal(settings().hooks.AfterTool.length, 1);
  run(options("gemini", home.path, { force: true }));
  run(options("gemini", home.path, { uninstall: true }));
  assert.equal(settings().hooks, undefined);
});

Deno.test("setup codex adds a SessionStart hook and grants exactly the daemon socket; --no-wake drops both", async () => {
  await using home = await tempDir();
  run(options("codex", home.path));
  const hooks = () => JSON.parse(read(`${home.path}/.codex/hooks.json`)!).hooks;
  assert.equal(hooks().SessionStart.length, 1);
  const config = () =>
    (parseToml(read(`${home.path}/.codex/config.toml`)!) as {
      mcp_servers: { c2c: { args: string[]; env: Record<string, string> } };
    }).mcp_servers.c2c;
  const socket =
    `${home.path}/.codex/app-server-control/app-server-control.sock`;
  assert.ok(config().args.includes(`--allow-net=unix:${socket}`));
  run(options("codex", home.path, { noWake: true, force: true }));
  assert.equal(hooks().SessionStart, undefined);
  assert.ok(!config().args.some((a) => a.startsWith("--allow-net")));
  assert.equal(config().env.C2C_MCP_CODEX_SOCKET, undefined);
});

Deno.test("setup claude-code --rewake arms the asyncRewake waiter on SessionStart and Stop, turns the socket wake off; idempotent; uninstall removes it all", async () => {
  await using home = await tempDir();
  const file = `${home.path}/.claude/settings.json`;
  const settings = () => JSON.parse(read(file) ?? "{}");
  const first = run(options("claude-code", home.path, { rewake: true }));
  assert.equal(first.plan.wake, "claude-rewake");
  assert.equal(
    serverEnv("claude-code", home.path).C2C_MCP_WAKE,
    "claude-rewake",
  );
  const { hooks } = settings();
  const deliver = hooks.PostToolUse[0].hooks[0];
  const waiter = {
    type: "command",
    command:
      `exec ${REPO}/bin/c2c-hook claude-code --rewake --deno /opt/deno/bin/deno`,
    asyncRewake: true,
    timeout: 1800,
  };
  assert.deepEqual(hooks.SessionStart, [{ hooks: [waiter] }]);
  assert.deepEqual(hooks.Stop, [{ hooks: [deliver, waiter] }]);
  assert.deepEqual(deliver, {
    type: "command",
    command: `${REPO}/bin/c2c-hook claude-code --deno /opt/deno/bin/deno`,
    timeout: 10,
  });
  // Idempotent.
  const again = run(options("claude-code", home.path, { rewake: true }));
  assert.ok(again.files.every((f) => f.status === "unchanged"));
  // Back to the socket: the entry differs, so --force; the waiter goes.
  assert.throws(
    () => planSetup(options("claude-code", home.path), read),
    SetupConflictError,
  );
  run(options("claude-code", home.path, { force: true }));
  assert.equal(settings().hooks.SessionStart, undefined);
  assert.deepEqual(settings().hooks.Stop, [{ hooks: [deliver] }]);
  assert.equal(
    serverEnv("claude-code", home.path).C2C_MCP_WAKE,
    "claude-socket",
  );
  run(options("claude-code", home.path, { rewake: true, force: true }));
  run(options("claude-code", home.path, { uninstall: true }));
  assert.equal(settings().hooks, undefined);
});

Deno.test("setup claude-code --rewake keeps the user's own SessionStart and Stop hooks, before and after uninstall", async () => {
  await using home = await tempDir();
  const file = `${home.path}/.claude/settings.json`;
  const mine = {
    hooks: {
      SessionStart: [{ hooks: [{ type: "command", command: "echo hi" }] }],
      Stop: [{ hooks: [{ type: "command", command: "notify-send done" }] }],
    },
  };
  await Deno.mkdir(`${home.path}/.claude`, { recursive: true });
  await Deno.writeTextFile(file, JSON.stringify(mine, null, 2) + "\n");
  const original = read(file);
  run(options("claude-code", home.path, { rewake: true }));
  const hooks = JSON.parse(read(file)!).hooks;
  const json = (x: unknown) => JSON.stringify(x);
  assert.equal(hooks.SessionStart.length, 2);
  assert.ok(
    hooks.SessionStart.map(json).includes(json(mine.hooks.SessionStart[0])),
  );
  assert.equal(hooks.Stop.length, 2);
  assert.ok(hooks.Stop.map(json).includes(json(mine.hooks.Stop[0])));
  run(options("claude-code", home.path, { uninstall: true }));
  assert.equal(read(file), original);
});

Deno.test("setup --rewake is refused for other clients and with --no-wake", () => {
  assert.throws(
    () => planSetup(options("codex", "/nowhere", { rewake: true }), read),
    (e: unknown) =>
      e instanceof SetupOptionError && /codex has its own/.test(e.message),
  );
  assert.throws(
    () =>
      planSetup(
        options("claude-code", "/nowhere", { rewake: true, noWake: true }),
        read,
      ),
    SetupOptionError,
  );
});

// The generated plugin, run under Deno against a fake OpenCode client.

interface Prompt {
  path: { id: string };
  body: { parts: { type: string; text: string }[] };
}

async function loadPlugin(root: string, alias: string, nats = false) {
  const file = `${root}/../plugin-${crypto.randomUUID()}.js`;
  await Deno.writeTextFile(file, opencodePluginSource({ alias, root, nats }));
  const mod = await import(`file://${file}`);
  const prompts: Prompt[] = [];
  const hooks = await mod.C2cWake({
    client: {
      session: {
        promptAsync: (p: Prompt) => {
          prompts.push(p);
          return Promise.resolve({});
        },
      },
    },
    directory: root,
    worktree: root,
  });
  const event = (type: string, properties: Record<string, unknown>) =>
    hooks.event({ event: { type, properties } });
  return { prompts, event };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function line(id: number): string {
  return JSON.stringify({
    id: `m${id}`,
    ts: "t",
    from_alias: "peer",
    to_alias: "oc",
    content: "x",
  }) + "\n";
}

Deno.test("the OpenCode plugin points an idle session at poll_inbox once per burst, never while busy", async () => {
  await using dir = await tempDir();
  const root = `${dir.path}/root`;
  await Deno.mkdir(root);
  const inbox = `${root}/oc.inbox.jsonl`;
  const { prompts, event } = await loadPlugin(root, "oc");
  await event("session.created", { info: { id: "ses_main" } });
  await event("session.created", {
    info: { id: "ses_child", parentID: "ses_main" },
  });
  await event("session.status", {
    sessionID: "ses_main",
    status: { type: "busy" },
  });
  // Busy: nothing.
  await Deno.writeTextFile(inbox, line(1), { append: true });
  await sleep(300);
  assert.equal(prompts.length, 0);
  // A child session going idle is not the user's session.
  await event("session.idle", { sessionID: "ses_child" });
  await sleep(100);
  assert.equal(prompts.length, 0);
  await event("session.idle", { sessionID: "ses_main" });
  await sleep(300);
  assert.equal(prompts.length, 1);
  assert.deepEqual(prompts[0].path, { id: "ses_main" });
  assert.deepEqual(prompts[0].body.parts, [{
    type: "text",
    text: "1 c2c message waiting — call the c2c poll_inbox tool",
  }]);
  // Idle again with the same message unread: no second pointer.
  await event("session.idle", { sessionID: "ses_main" });
  await sleep(300);
  assert.equal(prompts.length, 1);
  // The model polled (inbox empty); a burst of ten → one pointer.
  await Deno.writeTextFile(inbox, "");
  await sleep(100);
  for (let i = 2; i < 12; i++) {
    await Deno.writeTextFile(inbox, line(i), { append: true });
  }
  await sleep(400);
  assert.equal(prompts.length, 2);
  assert.match(prompts[1].body.parts[0].text, /^10 c2c messages waiting/);
});

Deno.test("the OpenCode plugin on the NATS store wakes an idle session from the signal file its server keeps, once per burst", async () => {
  await using dir = await tempDir();
  const root = `${dir.path}/root`;
  await Deno.mkdir(root);
  // A stale file-store inbox must not count: the NATS store has none.
  await Deno.writeTextFile(`${root}/oc.inbox.jsonl`, line(0));
  const { prompts, event } = await loadPlugin(root, "oc", true);
  await event("session.created", { info: { id: "ses_main" } });
  await event("session.idle", { sessionID: "ses_main" });
  // The server makes signals/ at its start; another session's signal on
  // this machine is not ours.
  await Deno.mkdir(`${root}/signals`);
  await Deno.writeTextFile(`${root}/signals/other`, "4\n");
  const signal = `${root}/signals/oc`;
  await Deno.writeTextFile(signal, "1\n");
  await waitFor(() => prompts.length > 0, 10_000, "the plugin's pointer");
  assert.deepEqual(prompts.map((p) => p.body.parts[0].text), [
    "1 c2c message waiting — call the c2c poll_inbox tool",
  ]);
  // Drained (the signal emptied), then a burst: one pointer with the count.
  await Deno.writeTextFile(signal, "");
  await event("session.idle", { sessionID: "ses_main" });
  await sleep(200);
  for (let n = 1; n <= 10; n++) await Deno.writeTextFile(signal, `${n}\n`);
  await waitFor(() => prompts.length > 1, 10_000, "the second pointer");
  await sleep(400); // a third pointer would come within this
  assert.equal(prompts.length, 2);
  assert.match(prompts[1].body.parts[0].text, /^10 c2c messages waiting/);
});
