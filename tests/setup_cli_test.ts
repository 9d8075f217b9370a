// `c2c setup` and `c2c unsetup` through the launcher, as a user runs them:
// scoped to the client's config files, text and --json, exit codes.

import assert from "node:assert/strict";
import { exits, launch, tempDir, tempRepo } from "./_cli.ts";

Deno.test("c2c setup claude-code configures, is idempotent, and unsetup undoes it", async () => {
  await using repo = await tempRepo();
  await using home = await tempDir("c2c-home-");
  const env = { HOME: home.path, USER: "alice" };
  const first = exits(
    await launch(["setup", "claude-code"], { cwd: repo.path, env }),
    0,
  );
  assert.match(first.stdout, /alias claude-code-alice-/);
  assert.match(
    first.stdout,
    /created .*\.claude\.json \(add mcpServers\.c2c\)/,
  );
  assert.match(first.stdout, /restart Claude Code/);
  const again = exits(
    await launch(["setup", "claude-code", "--json"], { cwd: repo.path, env }),
    0,
  );
  const result = again.json<
    { changed: boolean; files: { status: string }[] }
  >();
  assert.equal(result.changed, false);
  assert.ok(result.files.every((f) => f.status === "unchanged"));
  const undo = exits(
    await launch(["unsetup", "claude-code"], { cwd: repo.path, env }),
    0,
  );
  assert.match(undo.stdout, /removed .*\.claude\.json/);
  const left = [...Deno.readDirSync(home.path)].map((e) => e.name);
  assert.ok(
    left.every((n) =>
      n.includes("c2c-backup") || n === ".claude" || n === ".cache"
    ),
    left.join(),
  );
});

Deno.test("c2c setup refuses a corrupt config naming it, exit 1, file untouched", async () => {
  await using repo = await tempRepo();
  await using home = await tempDir("c2c-home-");
  await Deno.mkdir(`${home.path}/.gemini`);
  const path = `${home.path}/.gemini/settings.json`;
  await Deno.writeTextFile(path, '{"theme": ');
  const r = exits(
    await launch(["setup", "gemini"], {
      cwd: repo.path,
      env: { HOME: home.path },
    }),
    1,
  );
  assert.match(
    r.stderr,
    new RegExp(`^c2c setup: ${path}:1:\\d+: cannot parse`),
  );
  assert.equal(await Deno.readTextFile(path), '{"theme": ');
  const json = exits(
    await launch(["setup", "gemini", "--json"], {
      cwd: repo.path,
      env: { HOME: home.path },
    }),
    1,
  );
  assert.equal(json.error().code, "config_parse");
});

Deno.test("c2c setup --dry-run prints a diff and writes nothing", async () => {
  await using repo = await tempRepo();
  await using home = await tempDir("c2c-home-");
  const r = exits(
    await launch(["setup", "opencode", "--dry-run"], {
      cwd: repo.path,
      env: { HOME: home.path },
    }),
    0,
  );
  assert.match(r.stdout, /would be created .*opencode\.json/);
  assert.match(r.stdout, /\+ +"c2c": \{/);
  const left = [...Deno.readDirSync(home.path)].map((e) => e.name);
  assert.ok(!left.includes(".config"), left.join());
});

Deno.test("c2c setup codex pins the broker root of the repo it runs in", async () => {
  await using repo = await tempRepo();
  await using home = await tempDir("c2c-home-");
  const r = exits(
    await launch(["setup", "codex", "--alias", "codex-x", "--json"], {
      cwd: repo.path,
      env: { HOME: home.path },
    }),
    0,
  );
  const root = r.json<{ root: string }>().root;
  assert.ok(root.endsWith("/.git/c2c/mcp"), root);
  const toml = await Deno.readTextFile(`${home.path}/.codex/config.toml`);
  assert.ok(toml.includes(`C2C_MCP_BROKER_ROOT = "${root}"`));
  assert.ok(toml.includes('default_tools_approval_mode = "approve"'));
  const hooks = await Deno.readTextFile(`${home.path}/.codex/hooks.json`);
  assert.ok(hooks.includes(`--alias codex-x --root ${root}`));
});

Deno.test("c2c setup rejects unknown clients and bad aliases with usage or input errors", async () => {
  await using home = await tempDir("c2c-home-");
  const env = { HOME: home.path };
  const unknown = exits(await launch(["setup", "vim"], { env }), 2);
  assert.match(
    unknown.stderr,
    /unknown client 'vim'; choose one of claude-code, codex/,
  );
  const bad = exits(
    await launch(["setup", "kimi", "--alias", "Bad"], { env }),
    1,
  );
  assert.match(bad.stderr, /aliases are lowercase; use 'bad'/);
  assert.deepEqual(
    [...Deno.readDirSync(home.path)].filter((e) => e.name !== ".cache"),
    [],
  );
});

Deno.test("c2c setup claude-code --rewake names the wake path and writes the waiter; other clients get a usage error", async () => {
  await using repo = await tempRepo();
  await using home = await tempDir("c2c-home-");
  const env = { HOME: home.path, USER: "alice" };
  const r = exits(
    await launch(["setup", "claude-code", "--rewake"], { cwd: repo.path, env }),
    0,
  );
  assert.match(r.stdout, /idle wake claude-rewake/);
  assert.match(r.stdout, /add c2c hook in hooks\.SessionStart/);
  const settings = JSON.parse(
    await Deno.readTextFile(`${home.path}/.claude/settings.json`),
  );
  assert.equal(settings.hooks.SessionStart[0].hooks[0].asyncRewake, true);
  const codex = exits(
    await launch(["setup", "codex", "--rewake"], { cwd: repo.path, env }),
    2,
  );
  assert.match(codex.stderr, /--rewake is Claude Code's asyncRewake wake/);
});
