// `c2c install` from a real clone, as a user runs it: afterwards nothing may
// point into the clone. The clone is deleted, then the installed command, a
// client config written by the installed `c2c setup`, its MCP server (started
// and initialized over stdio) and its hook must all still work. A second
// install of changed code moves the configs to the new version.

import assert from "node:assert/strict";
import { DENO, REPO } from "./_helpers.ts";
import { baseEnv, tempDir, tempRepo } from "./_cli.ts";
import { connect } from "./_mcp.ts";
import { c2cLaunchPaths } from "../lib/install.ts";

interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(
  command: string,
  args: string[],
  options: { cwd: string; env: Record<string, string>; stdin?: string },
): Promise<Out> {
  const child = new Deno.Command(command, {
    args,
    cwd: options.cwd,
    clearEnv: true,
    env: options.env,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(options.stdin));
    await w.close();
  }
  const out = await child.output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

function ok(r: Out, what: string): Out {
  assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`);
  return r;
}

async function gitClone(to: string): Promise<void> {
  ok(
    await run("git", ["clone", "-q", REPO, to], {
      cwd: "/",
      env: { PATH: Deno.env.get("PATH")! },
    }),
    "git clone",
  );
}

Deno.test("c2c install from a fresh clone: the command, a client's MCP server and hook work after the clone is deleted", async () => {
  await using tmp = await tempDir("c2c-install-");
  await using project = await tempRepo();
  const clone = `${tmp.path}/clone`;
  const home = `${tmp.path}/home`;
  Deno.mkdirSync(home);
  await gitClone(clone);
  // The clone has no ./denow Deno of its own: name this one.
  const installEnv = { ...baseEnv(), HOME: home, C2C_DENO: DENO };
  const installed = ok(
    await run(`${clone}/bin/c2c`, ["install", "--json"], {
      cwd: clone,
      env: installEnv,
    }),
    "install",
  );
  const r = JSON.parse(installed.stdout);
  assert.equal(r.status, "installed");
  assert.equal(r.command, `${home}/.local/bin/c2c`);
  assert.ok(r.dir.startsWith(`${home}/.local/share/c2c/0.`), r.dir);
  await Deno.remove(clone, { recursive: true });

  // Nothing of the test's environment that could lead back to a checkout
  // or its Deno: no DENO_DIR, no deno on PATH.
  const env = { PATH: "/usr/bin:/bin", HOME: home };
  const c2c = (args: string[], stdin?: string) =>
    run(r.command, args, { cwd: project.path, env, stdin });
  assert.match(ok(await c2c(["--version"]), "--version").stdout, /^c2c \d/);
  ok(await c2c(["register", "a-s", "--alias", "ann"]), "register ann");
  ok(await c2c(["register", "b-s", "--alias", "ben"]), "register ben");
  ok(
    await c2c(["send", "ben", "-", "--session-id", "a-s"], "hi ben\n"),
    "send",
  );
  const list = JSON.parse(ok(await c2c(["list", "--json"]), "list").stdout);
  assert.deepEqual(
    list.peers.map((p: { alias: string }) => p.alias).sort(),
    ["ann", "ben"],
  );

  // The installed setup writes the install's paths into the client config.
  ok(await c2c(["setup", "claude-code", "--alias", "cc-ben"]), "setup");
  const state = Deno.readTextFileSync(`${home}/.claude.json`);
  const settings = Deno.readTextFileSync(`${home}/.claude/settings.json`);
  for (const text of [state, settings]) {
    const paths = c2cLaunchPaths(text);
    assert.ok(paths.length > 0, text);
    for (const p of paths) {
      assert.ok(p.startsWith(`${r.dir}/`), `${p} is not in ${r.dir}`);
      Deno.statSync(p);
    }
    assert.ok(!text.includes(clone), text);
  }

  // The config's MCP server starts and answers, as Claude Code would run it.
  const entry = JSON.parse(state).mcpServers.c2c;
  await using server = await connect("", { ...entry.env, HOME: home }, {
    command: entry.command,
    args: entry.args,
    cwd: project.path,
  });
  const who = await server.ok<{ alias: string }>("whoami");
  assert.equal(who.alias, "cc-ben");
  await server.ok("send", { to_alias: "ben", content: "from the server" });

  // The config's hook delivers ben's messages (Deno from the install).
  const hook = JSON.parse(settings).hooks.PostToolUse[0].hooks[0].command;
  const delivered = ok(
    await run("/bin/sh", ["-c", hook], {
      cwd: project.path,
      env,
      stdin: JSON.stringify({
        session_id: "b-s",
        hook_event_name: "PostToolUse",
      }),
    }),
    "hook",
  );
  const context = JSON.parse(delivered.stdout).hookSpecificOutput
    .additionalContext;
  assert.match(context, /hi ben/);
  assert.match(context, /from the server/);
});

Deno.test("c2c install of changed code writes a new version and moves the configs there", async () => {
  await using tmp = await tempDir("c2c-reinstall-");
  await using project = await tempRepo();
  const clone = `${tmp.path}/clone`;
  const home = `${tmp.path}/home`;
  Deno.mkdirSync(home);
  await gitClone(clone);
  const env = { ...baseEnv(), HOME: home, C2C_DENO: DENO };
  const install = async () =>
    JSON.parse(
      ok(
        await run(`${clone}/bin/c2c`, ["install", "--json"], {
          cwd: clone,
          env,
        }),
        "install",
      ).stdout,
    );
  const first = await install();
  const again = await install();
  assert.deepEqual([again.status, again.dir], ["unchanged", first.dir]);
  // Codex's entry starts the server directly (deno run … server.ts).
  ok(
    await run(first.command, ["setup", "codex", "--alias", "cx"], {
      cwd: project.path,
      env: { PATH: "/usr/bin:/bin", HOME: home },
    }),
    "setup codex",
  );
  const config = `${home}/.codex/config.toml`;
  const before = Deno.readTextFileSync(config);
  assert.ok(before.includes(first.dir), before);

  Deno.writeTextFileSync(`${clone}/lib/zz_changed.ts`, "export {};\n");
  const second = await install();
  assert.equal(second.status, "updated");
  assert.notEqual(second.dir, first.dir);
  assert.deepEqual(second.moved_configs, [config, `${home}/.codex/hooks.json`]);
  const after = Deno.readTextFileSync(config);
  assert.ok(!after.includes(first.dir), after);
  assert.ok(after.includes(second.dir), after);
  // Everything else in the file is as it was.
  assert.equal(after.replaceAll(second.dir, first.dir), before);
  const backups = [...Deno.readDirSync(`${home}/.codex`)].filter((e) =>
    e.name.startsWith("config.toml.c2c-backup-")
  );
  assert.equal(backups.length, 1);
  // The old version stays for clients still running it.
  Deno.statSync(`${first.dir}/bin/c2c-mcp`);
  assert.equal(
    Deno.readTextFileSync(second.command),
    `#!/bin/sh\n# c2c: written by c2c install; runs the installed version below.\nexec '${second.dir}/bin/c2c' "$@"\n`,
  );
});
