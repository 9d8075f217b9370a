// `setup` for every client: fresh configs, merges into realistic existing
// configs that stay byte-identical elsewhere, idempotency, refusals, dry runs
// and uninstall — through the planner and the writer on a temp HOME.

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { parse as parseToml } from "smol-toml";
import { ConfigParseError, SetupConflictError } from "../setup/errors.ts";
import type { ClientName } from "../setup/launch.ts";
import { configFiles } from "../setup/paths.ts";
import {
  applySetup,
  planSetup,
  type SetupOptions,
  setupStamp,
} from "../setup/setup.ts";
import { lineDiff } from "../setup/diff.ts";
import { REPO } from "./_helpers.ts";

const STAMP = setupStamp(new Date("2026-11-21T10:00:00Z"));

/** Realistic existing configs, with comments where the format allows. */
const EXISTING: Record<ClientName, Record<string, string>> = {
  "claude-code": {
    ".claude.json": `{
  "numStartups": 42,
  "theme": "dark",
  "mcpServers": {
    "github": {
      "type": "stdio",
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-github"],
      "env": {}
    }
  },
  "projects": {
    "/home/me/work": {
      "allowedTools": [],
      "history": [{"display": "fix the tests"}]
    }
  }
}
`,
    ".claude/settings.json": `{
  "permissions": {
    "allow": ["Bash(git status)"]
  },
  "hooks": {
    "PostToolUse": [
      {
        "matcher": "Edit|Write",
        "hooks": [{ "type": "command", "command": "prettier --write" }]
      }
    ]
  }
}
`,
  },
  codex: {
    ".codex/config.toml": `# My Codex config
model = "o4-mini"   # fast enough
approval_policy = "on-request"

[mcp_servers.github]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-github"]

# profiles below
[profiles.deep]
model = "o3"
`,
    ".codex/hooks.json": `{
  "hooks": {
    "Stop": [
      { "hooks": [{ "type": "command", "command": "notify-send done" }] }
    ]
  }
}
`,
  },
  gemini: {
    ".gemini/settings.json": `{
  // editor settings
  "theme": "GitHub",
  "mcpServers": {
    "github": { "command": "npx", "args": ["-y", "server-github"] }
  },
  "hooks": {
    "BeforeTool": [
      { "matcher": "run_shell_command", "hooks": [{ "type": "command", "command": "audit.sh" }] }
    ]
  },
}
`,
  },
  opencode: {
    ".config/opencode/opencode.json": `{
  "$schema": "https://opencode.ai/config.json",
  // my model
  "model": "anthropic/claude-sonnet",
  "mcp": {
    "github": {
      "type": "local",
      "command": ["npx", "-y", "server-github"], // comment after
      "enabled": true,
    },
  },
}
`,
  },
  kimi: {
    ".kimi/mcp.json": `{
    "mcpServers": {
        "github": {
            "command": "npx",
            "args": ["-y", "server-github"]
        }
    }
}
`,
  },
  crush: {
    ".config/crush/crush.json": `{
  "$schema": "https://charm.land/crush.json",
  "lsp": { "go": { "command": "gopls" } },
  "mcp": {
    "github": { "type": "stdio", "command": "npx", "args": ["-y", "server-github"] }
  }
}
`,
  },
};

/** Where each client's c2c server entry lives once parsed. */
function serverEntry(client: ClientName, files: Record<string, string>) {
  const json = (name: string) => {
    const text = files[name];
    // JSONC: drop comments and trailing commas for a plain JSON.parse.
    return JSON.parse(
      text.replace(/\/\/[^\n"]*$/gm, "").replace(/,(\s*[}\]])/g, "$1"),
    );
  };
  switch (client) {
    case "claude-code":
      return json(".claude.json").mcpServers.c2c;
    case "codex":
      return (parseToml(files[".codex/config.toml"]) as {
        mcp_servers: Record<string, unknown>;
      }).mcp_servers.c2c;
    case "gemini":
      return json(".gemini/settings.json").mcpServers.c2c;
    case "opencode":
      return json(".config/opencode/opencode.json").mcp.c2c;
    case "kimi":
      return json(".kimi/mcp.json").mcpServers.c2c;
    case "crush":
      return json(".config/crush/crush.json").mcp.c2c;
  }
}

async function home(files: Record<string, string> = {}): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "c2c-setup-home-" });
  for (const [name, text] of Object.entries(files)) {
    await Deno.mkdir(dirname(join(dir, name)), { recursive: true });
    await Deno.writeTextFile(join(dir, name), text);
  }
  return dir;
}

function options(
  client: ClientName,
  homeDir: string,
  extra: Partial<SetupOptions> = {},
): SetupOptions {
  const env = new Map<string, string>();
  return {
    client,
    uninstall: false,
    noAlias: false,
    force: false,
    targetDir: null,
    root: client === "codex" ? "/repo/.git/c2c/mcp" : null,
    home: homeDir,
    env: (name) => env.get(name),
    deno: "/opt/deno/bin/deno",
    denoDir: "/home/me/.cache/deno",
    repo: REPO,
    user: "Alice",
    host: "laptop.example.com",
    ...extra,
  };
}

const read = (path: string) => {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
};

function run(opts: SetupOptions, dryRun = false) {
  const plan = planSetup(opts, read);
  return { plan, outcomes: applySetup(plan, { dryRun, stamp: STAMP }) };
}

function snapshot(homeDir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) walk(path);
      else out[path.slice(homeDir.length + 1)] = Deno.readTextFileSync(path);
    }
  };
  walk(homeDir);
  return out;
}

const CLIENTS = Object.keys(EXISTING) as ClientName[];

for (const client of CLIENTS) {
  Deno.test(`setup ${client}: a fresh config gets the c2c server${client === "kimi" || client === "crush" || client === "opencode" ? "" : " and hooks"}`, async () => {
    const dir = await home();
    const { outcomes, plan } = run(options(client, dir));
    assert.equal(plan.alias, `${client}-alice-laptop`);
    assert.ok(
      outcomes.every((o) => o.status === "created"),
      JSON.stringify(outcomes),
    );
    const files = snapshot(dir);
    const entry = serverEntry(client, files) as Record<string, unknown>;
    const env = (entry.env ?? entry.environment) as Record<string, string>;
    assert.equal(env.C2C_MCP_AUTO_REGISTER_ALIAS, `${client}-alice-laptop`);
    assert.equal(env.C2C_MCP_CLIENT, client);
    const args =
      (entry.args ?? (entry.command as string[]).slice(1)) as string[];
    if (client === "codex") {
      assert.equal(env.C2C_MCP_BROKER_ROOT, "/repo/.git/c2c/mcp");
      // The server may use exactly the broker root and Codex's daemon socket.
      const socket = `${dir}/.codex/app-server-control/app-server-control.sock`;
      assert.ok(args.includes(`--allow-write=/repo/.git/c2c/mcp,${socket}`));
      assert.ok(args.includes(`--allow-net=unix:${socket}`));
      assert.equal(env.C2C_MCP_WAKE, "codex-daemon");
      assert.equal(env.C2C_MCP_CODEX_SOCKET, socket);
      assert.ok(files[".codex/hooks.json"].includes('"SessionStart"'));
      assert.equal(entry.default_tools_approval_mode, "approve");
      // Codex leaves optional servers still starting out of the session.
      assert.equal(entry.required, true);
      assert.ok(files[".codex/hooks.json"].includes("c2c-hook codex"));
      assert.ok(
        files[".codex/hooks.json"].includes("--alias codex-alice-laptop"),
      );
    } else {
      const command = Array.isArray(entry.command)
        ? entry.command[0]
        : entry.command;
      assert.equal(command, `${REPO}/bin/c2c-mcp`);
      assert.deepEqual(args, ["--deno", "/opt/deno/bin/deno"]);
    }
    if (client === "claude-code") {
      // Claude Code waits for an alwaysLoad server before its first request.
      assert.equal(entry.alwaysLoad, true);
      const settings = JSON.parse(files[".claude/settings.json"]);
      assert.match(
        settings.hooks.PostToolUse[0].hooks[0].command,
        /c2c-hook claude-code --deno/,
      );
      assert.equal(settings.hooks.PostToolUse[0].matcher, "*");
      assert.ok(settings.hooks.Stop[0].hooks[0].command.includes("c2c-hook"));
    }
    if (client === "gemini") {
      assert.equal(entry.trust, true);
      const settings = JSON.parse(files[".gemini/settings.json"]);
      assert.ok(
        settings.hooks.AfterTool[0].hooks[0].command.includes(
          "--alias gemini-alice-laptop",
        ),
      );
      assert.equal(settings.hooksConfig.enabled, true);
    }
    // Modes: new files are private.
    for (
      const path of configFiles(client, {
        home: dir,
        env: () => undefined,
        targetDir: null,
      })
    ) {
      assert.equal(Deno.statSync(path).mode! & 0o777, 0o600, path);
    }
    // Uninstall removes what it created (the backups it made stay).
    run({ ...options(client, dir), uninstall: true });
    const left = Object.keys(snapshot(dir)).filter((n) =>
      !n.includes(".c2c-backup-")
    );
    assert.deepEqual(left, []);
  });

  Deno.test(`setup ${client}: merges into an existing config, byte-identical elsewhere, idempotent, and uninstall restores it`, async () => {
    const dir = await home(EXISTING[client]);
    const before = snapshot(dir);
    const first = run(options(client, dir));
    assert.ok(first.outcomes.some((o) => o.status === "updated"));
    const after = snapshot(dir);
    for (const [name, text] of Object.entries(before)) {
      const diff = lineDiff(text, after[name]);
      assert.ok(
        !/^- /m.test(diff),
        `${name}: an existing line changed:\n${diff}`,
      );
      const backup = `${name}.c2c-backup-${STAMP}`;
      if (text !== after[name]) assert.equal(after[backup], text);
    }
    assert.ok(serverEntry(client, after));
    const second = run(options(client, dir));
    assert.ok(
      second.outcomes.every((o) => o.status === "unchanged"),
      JSON.stringify(second.outcomes),
    );
    run({ ...options(client, dir), uninstall: true });
    const restored = snapshot(dir);
    for (const [name, text] of Object.entries(before)) {
      assert.equal(restored[name], text, `${name} not restored`);
    }
  });

  Deno.test(`setup ${client}: refuses a corrupt config and leaves it untouched`, async () => {
    const [name] = Object.keys(EXISTING[client]);
    const garbage = name.endsWith(".toml")
      ? "[mcp_servers\nbroken = "
      : '{"mcpServers": {';
    const dir = await home({ [name]: garbage });
    assert.throws(() => run(options(client, dir)), (e: unknown) => {
      assert.ok(e instanceof ConfigParseError, String(e));
      assert.ok(e.message.includes(join(dir, name)), e.message);
      return true;
    });
    assert.deepEqual(snapshot(dir), { [name]: garbage });
  });

  Deno.test(`setup ${client}: --dry-run shows the change and writes nothing`, async () => {
    const dir = await home(EXISTING[client]);
    const before = snapshot(dir);
    const { outcomes } = run(options(client, dir), true);
    assert.ok(outcomes.some((o) => o.diff && /^\+ /m.test(o.diff)));
    assert.deepEqual(snapshot(dir), before);
  });

  Deno.test(`setup ${client}: a differing c2c entry needs --force, which backs up and replaces it`, async () => {
    const dir = await home(EXISTING[client]);
    run(options(client, dir, { alias: "first-alias" }));
    const configured = snapshot(dir);
    assert.throws(
      () => run(options(client, dir, { alias: "second-alias" })),
      SetupConflictError,
    );
    assert.deepEqual(snapshot(dir), configured);
    const forced = run(
      options(client, dir, { alias: "second-alias", force: true }),
    );
    assert.ok(forced.outcomes.some((o) => o.backup));
    const entry = serverEntry(client, snapshot(dir)) as Record<string, unknown>;
    const env = (entry.env ?? entry.environment) as Record<string, string>;
    assert.equal(env.C2C_MCP_AUTO_REGISTER_ALIAS, "second-alias");
  });
}

Deno.test("setup --no-alias writes no auto-register alias", async () => {
  const dir = await home();
  run(options("kimi", dir, { noAlias: true }));
  const entry = serverEntry("kimi", snapshot(dir)) as {
    env: Record<string, string>;
  };
  assert.equal(entry.env.C2C_MCP_AUTO_REGISTER_ALIAS, undefined);
});

Deno.test("setup --target-dir writes project configs with the root pinned", async () => {
  const dir = await home();
  const project = await Deno.makeTempDir({ prefix: "c2c-setup-project-" });
  const root = `${project}/.git/c2c/mcp`;
  for (
    const client of ["claude-code", "gemini", "opencode", "crush"] as const
  ) {
    run(options(client, dir, { targetDir: project, root }));
  }
  const files = snapshot(project);
  assert.deepEqual(Object.keys(files).sort(), [
    ".claude/settings.local.json",
    ".gemini/c2c-setup-state.json",
    ".gemini/settings.json",
    ".opencode/plugin/c2c.js",
    "crush.json",
    "opencode.json",
  ]);
  const claude = JSON.parse(snapshot(dir)[".claude.json"]);
  const entry = claude.projects[project].mcpServers.c2c;
  // Through bin/c2c-mcp (which grants the session's messaging socket), with
  // the root pinned in the environment.
  assert.equal(entry.command, `${REPO}/bin/c2c-mcp`);
  assert.equal(entry.env.C2C_MCP_BROKER_ROOT, root);
  assert.ok(
    files[".opencode/plugin/c2c.js"].includes(`const ROOT = "${root}";`),
  );
  assert.ok(files[".claude/settings.local.json"].includes(`--root ${root}`));
});

Deno.test("setup pins Deno's cache for the hook as for the server", async () => {
  const dir = await home();
  run(options("claude-code", dir));
  const settings = JSON.parse(snapshot(dir)[".claude/settings.json"]);
  const command: string = settings.hooks.PostToolUse[0].hooks[0].command;
  assert.match(
    command,
    /^DENO_DIR=\/home\/me\/\.cache\/deno \S+\/bin\/c2c-hook /,
  );
});
