// bin/c2c, the `c2c` command: a POSIX-sh launcher that must give every
// command exactly the flags lib/permissions.ts computes (one source of
// truth), start one Deno process, and never grant more than that. A stand-in
// Deno records what the script would start; the helper for setup, unsetup
// and install (launcher.ts) runs on the real Deno.

import assert from "node:assert/strict";
import { COMMANDS } from "../cli/spec.ts";
import {
  CLI_ENV,
  cliGrant,
  findLibc,
  LIBC_CANDIDATES,
  permissionFlags,
} from "../lib/permissions.ts";
import { helperScope } from "../launcher.ts";
import { DENO, REPO } from "./_helpers.ts";
import { baseEnv, exits, launch, LAUNCHER, tempDir, tempRepo } from "./_cli.ts";
import { start } from "./_recording_deno.ts";

/** Sample arguments for each command (at least the command itself). */
function samples(name: string): string[][] {
  switch (name) {
    case "verify":
      return [
        ["verify"],
        ["verify", "--transcripts", "/tmp/t"],
        ["verify", "--goal", "3", "--transcripts=/tmp/u v"],
      ];
    case "refresh-peer":
      return [["refresh-peer", "a", "--pid", "1"]];
    case "install":
      return [["install"], ["install", "--root", "/tmp/r"]];
    case "setup":
      return [
        ["setup", "claude-code"],
        ["setup", "codex", "--alias", "cx", "--target-dir", "/tmp/p"],
        ["setup"],
      ];
    case "unsetup":
      return [["unsetup", "gemini"]];
    case "room":
      return [["room", "send", "lounge", "hi"], ["room", "list"]];
    case "mcp":
      return [["mcp"]];
    case "run":
      return [["run", "generic", "--alias", "x", "--", "bash"]];
    case "guard":
      return [
        ["guard", "install"],
        ["guard", "uninstall", "--json"],
        ["guard", "check", "a.ts"],
      ];
    default:
      return [[name], ["--json", name]];
  }
}

Deno.test("bin/c2c starts every command with exactly the flags cliGrant() and permissionFlags() give", async () => {
  await using root = await tempDir("c2c-root-");
  await using home = await tempDir("c2c-home-");
  const env = { C2C_MCP_BROKER_ROOT: root.path, HOME: home.path };
  const names = [...new Set(COMMANDS.map((c) => c.name.split(" ")[0]))];
  assert.ok(names.length > 20, `${names}`);
  for (const name of names) {
    for (const args of samples(name)) {
      const got = await start(args, { cwd: home.path, env });
      const reader = (n: string) =>
        ({ ...baseEnv(), ...env } as Record<string, string>)[n];
      const grant = cliGrant(args, DENO, reader);
      let expected: string[];
      if (grant.entry === "server") {
        expected = [
          ...permissionFlags("server", { root: root.path, ...grant.scope }),
          `${REPO}/server.ts`,
          ...args.slice(args.indexOf("mcp") + 1),
        ];
      } else {
        const command = args.find((a) => !a.startsWith("-"));
        const scope = ["setup", "unsetup", "install"].includes(command!)
          ? helperScope(args, {
            cwd: home.path,
            env: reader,
            stamp: got.env.C2C_SETUP_STAMP,
            deno: DENO,
          })
          : grant.scope;
        expected = [
          ...permissionFlags("cli", { root: root.path, ...scope }),
          `${REPO}/cli.ts`,
          ...args,
        ];
      }
      assert.deepEqual(
        got.argv,
        ["run", "--quiet", `--config=${REPO}/deno.json`, ...expected],
        `c2c ${args.join(" ")}`,
      );
      for (const [k, v] of Object.entries(grant.env ?? {})) {
        assert.equal(got.env[k], v, `c2c ${args.join(" ")}: ${k}`);
      }
    }
  }
});

Deno.test("bin/c2c finds the root through git, and scopes `run` to the libc it names", async () => {
  await using repo = await tempRepo();
  Deno.mkdirSync(`${repo.path}/sub`);
  const root = `${Deno.realPathSync(repo.path)}/.git/c2c/mcp`;
  const list = await start(["list"], { cwd: `${repo.path}/sub` });
  assert.ok(list.argv.includes(`--allow-read=${root}`), `${list.argv}`);
  assert.equal(list.env.C2C_MCP_BROKER_ROOT, root);
  const run = await start(["run", "generic"], { cwd: repo.path });
  const libc = findLibc();
  assert.ok(libc, "this machine has a known libc path");
  assert.ok(run.argv.includes(`--allow-ffi=${libc}`), `${run.argv}`);
  assert.ok(!run.argv.includes("--allow-ffi"));
  assert.equal(run.env.C2C_LIBC, libc);
  // Outside a repository: no root, no read or write grant, and the reason.
  await using away = await tempDir();
  const lost = await start(["list"], { cwd: away.path });
  assert.ok(!lost.argv.some((a) => /^--allow-(read|write)/.test(a)));
  assert.match(
    lost.env.C2C_LAUNCH_ROOT_ERROR,
    /is not inside a git repository/,
  );
});

Deno.test("bin/c2c's variable list and libc candidates match lib/permissions.ts", async () => {
  const script = await Deno.readTextFile(LAUNCHER);
  assert.deepEqual(
    script.match(/^env_list=(.*)$/m)?.[1].split(","),
    [...CLI_ENV],
  );
  assert.deepEqual(
    script.match(/^libc_candidates="(.*)"$/m)?.[1].split(" "),
    [...LIBC_CANDIDATES],
  );
});

Deno.test("bin/c2c runs commands with the real Deno: one process, the broker of the repository", async () => {
  await using repo = await tempRepo();
  exits(
    await launch(["register", "s1", "--alias", "one"], { cwd: repo.path }),
    0,
  );
  const list = exits(await launch(["list", "--json"], { cwd: repo.path }), 0);
  assert.deepEqual(
    list.json<{ peers: { alias: string }[] }>().peers.map((p) => p.alias),
    ["one"],
  );
  // An old shim that ran launcher.ts as the whole c2c gets told what to do.
  const old = await new Deno.Command(DENO, {
    args: ["run", "--allow-env", `${REPO}/launcher.ts`, "list"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(old.code, 1);
  assert.match(new TextDecoder().decode(old.stderr), /install again/);
});
