// `c2c guard`: the pre-commit hook, with real `git commit`s in a temp
// repository — refused over another live session's exclusive claim (naming
// holder, reason and the override), allowed after release, allowed with
// C2C_GUARD=warn and --no-verify, a chained hook still runs, uninstall puts
// back exactly what was there, core.hooksPath is respected, and the path
// with no exclusive claim starts no Deno process.

import assert from "node:assert/strict";
import { DENO, REPO } from "./_helpers.ts";
import {
  baseEnv,
  exits,
  git,
  gitEnv,
  launch,
  type Run,
  tempRepo,
} from "./_cli.ts";
import { start } from "./_recording_deno.ts";
import { cliGrant, permissionFlags } from "../lib/permissions.ts";

const GUARD = `${REPO}/bin/c2c-guard`;

/** `bin/c2c` in the repository, with the test's git settings. */
function c2cIn(
  repo: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<Run> {
  return launch(args, { cwd: repo, env: { ...gitEnv(), ...env } });
}

/** Writes a file and stages it. */
async function stage(repo: string, path: string, text: string): Promise<void> {
  const file = `${repo}/${path}`;
  await Deno.mkdir(file.slice(0, file.lastIndexOf("/")), { recursive: true });
  await Deno.writeTextFile(file, text);
  assert.equal((await git(repo, ["add", path])).code, 0);
}

/**
 * A live session registered as `alias` in the repository's broker: its
 * lease held by a worker process, as its MCP server would.
 */
async function holder(
  repo: string,
  alias: string,
): Promise<AsyncDisposable & { session: string }> {
  const root = `${Deno.realPathSync(repo)}/.git/c2c/mcp`;
  const session = `${alias}-s`;
  const child = new Deno.Command(DENO, {
    args: [
      "run",
      "--no-prompt",
      `--allow-read=${root}`,
      `--allow-write=${root}`,
      `${REPO}/tests/fixtures/worker.ts`,
      root,
      "hold",
      session,
      alias,
    ],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const { value } = await reader.read();
  assert.match(value ?? "", /ready/);
  return {
    session,
    [Symbol.asyncDispose]: async () => {
      child.kill("SIGKILL");
      await child.status;
      await reader.cancel().catch(() => {});
    },
  };
}

const CHAINED_HOOK = `#!/bin/sh
echo "chained ran" >> .git/chained.log
`;

function chainedRuns(repo: string): number {
  try {
    return Deno.readTextFileSync(`${repo}/.git/chained.log`).split("\n")
      .filter((l) => l === "chained ran").length;
  } catch {
    return 0;
  }
}

Deno.test("c2c guard: refused over a live claim, allowed after release and with an override; the chained hook runs; uninstall restores it", async () => {
  await using repo = await tempRepo();
  const r = repo.path;
  // Someone's pre-commit hook was there first.
  const hook = `${r}/.git/hooks/pre-commit`;
  await Deno.writeTextFile(hook, CHAINED_HOOK);
  await Deno.chmod(hook, 0o750);
  const installed = exits(await c2cIn(r, ["guard", "install", "--json"]), 0)
    .json<{ status: string; hook: string; chained: string }>();
  assert.equal(installed.status, "installed");
  assert.equal(installed.hook, `${Deno.realPathSync(r)}/.git/hooks/pre-commit`);
  assert.equal(installed.chained, `${installed.hook}.c2c-chained`);
  assert.match(await Deno.readTextFile(hook), /c2c-guard-hook/);
  // Installing again changes nothing.
  const again = exits(await c2cIn(r, ["guard", "install"]), 0);
  assert.match(again.stdout, /already installed/);
  assert.equal(await Deno.readTextFile(installed.chained), CHAINED_HOOK);

  await using alice = await holder(r, "alice");
  exits(
    await c2cIn(r, ["claim", "src/", "--reason", "rewriting src"], {
      C2C_MCP_SESSION_ID: alice.session,
    }),
    0,
  );

  // Refused: names holder, reason and the override. The chained hook is
  // not reached (the commit is refused before it).
  await stage(r, "src/a.ts", "export const a = 1;\n");
  const refused = await git(r, ["commit", "-m", "touch src"]);
  assert.equal(refused.code, 1, refused.out);
  assert.match(refused.out, /commit refused/);
  assert.match(refused.out, /src\/a\.ts: alice holds src\/\*\* \(exclusive/);
  assert.match(refused.out, /"rewriting src"/);
  assert.match(refused.out, /C2C_GUARD=warn git commit/);
  assert.match(refused.out, /--no-verify/);
  assert.equal(chainedRuns(r), 0);

  // The holder itself commits its own claimed files.
  const own = await git(r, ["commit", "-m", "alice's own"], {
    C2C_MCP_SESSION_ID: alice.session,
  });
  assert.equal(own.code, 0, own.out);
  assert.equal(chainedRuns(r), 1);

  // Unclaimed files commit; the chained hook still runs.
  await stage(r, "README.md", "hi\n");
  const free = await git(r, ["commit", "-m", "readme"]);
  assert.equal(free.code, 0, free.out);
  assert.equal(chainedRuns(r), 2);

  // Overrides: C2C_GUARD=warn reports and commits; --no-verify skips hooks.
  await stage(r, "src/b.ts", "export const b = 2;\n");
  const warned = await git(r, ["commit", "-m", "warned"], {
    C2C_GUARD: "warn",
  });
  assert.equal(warned.code, 0, warned.out);
  assert.match(warned.out, /warning: .*claimed/);
  assert.match(warned.out, /src\/b\.ts: alice holds src\/\*\*/);
  await stage(r, "src/c.ts", "c\n");
  assert.equal((await git(r, ["commit", "--no-verify", "-m", "nv"])).code, 0);

  // A rename out of the claimed directory touches the claimed file too.
  assert.equal((await git(r, ["mv", "src/c.ts", "c.ts"])).code, 0);
  const moved = await git(r, ["commit", "-m", "move"]);
  assert.equal(moved.code, 1, moved.out);
  assert.match(moved.out, /src\/c\.ts: alice holds/);

  // After the release, the same commit goes through.
  exits(
    await c2cIn(r, ["release", "src/"], { C2C_MCP_SESSION_ID: alice.session }),
    0,
  );
  const released = await git(r, ["commit", "-m", "move"]);
  assert.equal(released.code, 0, released.out);

  // Uninstall: the first hook is back, the very same bytes and mode.
  const removed = exits(await c2cIn(r, ["guard", "uninstall", "--json"]), 0)
    .json<{ status: string; restored: string }>();
  assert.equal(removed.status, "uninstalled");
  assert.equal(removed.restored, installed.hook);
  assert.equal(await Deno.readTextFile(hook), CHAINED_HOOK);
  assert.equal((await Deno.stat(hook)).mode! & 0o777, 0o750);
  await assert.rejects(Deno.stat(installed.chained), Deno.errors.NotFound);
  const nothing = exits(await c2cIn(r, ["guard", "uninstall"]), 0);
  assert.match(nothing.stdout, /nothing to remove/);
});

Deno.test("c2c guard: core.hooksPath is respected, a hook that was absent stays absent, another tool's hook is not removed", async () => {
  await using repo = await tempRepo();
  const r = repo.path;
  assert.equal(
    (await git(r, ["config", "core.hooksPath", ".githooks"])).code,
    0,
  );
  const installed = exits(await c2cIn(r, ["guard", "install", "--json"]), 0)
    .json<{ hook: string; chained: string | null; hooks_path: boolean }>();
  assert.equal(installed.hook, `${Deno.realPathSync(r)}/.githooks/pre-commit`);
  assert.equal(installed.chained, null);
  assert.equal(installed.hooks_path, true);
  await assert.rejects(
    Deno.stat(`${r}/.git/hooks/pre-commit`),
    Deno.errors.NotFound,
  );
  exits(await c2cIn(r, ["guard", "uninstall"]), 0);
  await assert.rejects(Deno.stat(installed.hook), Deno.errors.NotFound);
  // A hook that is not the guard's is never removed.
  await Deno.writeTextFile(installed.hook, CHAINED_HOOK);
  const absent = exits(await c2cIn(r, ["guard", "uninstall", "--json"]), 0);
  assert.equal(absent.json<{ status: string }>().status, "absent");
  assert.equal(await Deno.readTextFile(installed.hook), CHAINED_HOOK);
  // Nor when it replaced the guard's, leaving the chained one: both stay.
  await Deno.writeTextFile(`${installed.hook}.c2c-chained`, "#!/bin/sh\n");
  const refused = exits(await c2cIn(r, ["guard", "uninstall", "--json"]), 1);
  assert.equal(refused.error().code, "guard");
  assert.match(refused.error().message, /is not the c2c guard's hook, yet/);
  assert.equal(await Deno.readTextFile(installed.hook), CHAINED_HOOK);
  // Outside a repository: one line saying so.
  const away = await Deno.makeTempDir();
  try {
    const lost = exits(
      await launch(["guard", "install"], {
        cwd: away,
        env: { C2C_MCP_BROKER_ROOT: away, ...gitEnv() },
      }),
      1,
    );
    assert.match(lost.stderr, /not inside a git repository/);
  } finally {
    await Deno.remove(away, { recursive: true });
  }
});

Deno.test("c2c guard: with no exclusive claim the hook starts no Deno process", async () => {
  await using repo = await tempRepo();
  const r = repo.path;
  exits(await c2cIn(r, ["guard", "install"]), 0);
  // A stand-in Deno that records being started.
  const marker = `${r}/.git/deno-started`;
  const fake = `${r}/.git/fake-deno`;
  await Deno.writeTextFile(fake, `#!/bin/sh\ntouch '${marker}'\nexit 0\n`);
  await Deno.chmod(fake, 0o755);
  const commit = async (name: string) => {
    await stage(r, name, name);
    const out = await git(r, ["commit", "-m", name], { C2C_DENO: fake });
    assert.equal(out.code, 0, out.out);
  };
  const started = async () => {
    try {
      await Deno.stat(marker);
      return true;
    } catch {
      return false;
    }
  };
  await commit("no-claims-file.txt");
  assert.equal(await started(), false);
  // Only shared claims: nothing could refuse a commit.
  await using alice = await holder(r, "alice");
  exits(
    await c2cIn(r, ["claim", "a/**", "--shared", "--reason", "r"], {
      C2C_MCP_SESSION_ID: alice.session,
    }),
    0,
  );
  await commit("only-shared.txt");
  assert.equal(await started(), false);
  // An exclusive claim: now the hook asks Deno (the stand-in, here).
  exits(
    await c2cIn(r, ["claim", "b/**", "--reason", "r"], {
      C2C_MCP_SESSION_ID: alice.session,
    }),
    0,
  );
  await commit("exclusive.txt");
  assert.equal(await started(), true);
});

Deno.test("bin/c2c-guard starts `cli.ts guard check` with exactly the flags cliGrant() gives", async () => {
  await using repo = await tempRepo();
  const r = repo.path;
  const root = `${Deno.realPathSync(r)}/.git/c2c/mcp`;
  await Deno.mkdir(root, { recursive: true });
  await Deno.writeTextFile(
    `${root}/claims.json`,
    '{"version":1,"claims":[{"path":"x","session_id":"s","alias":"a","reason":"r","exclusive":true,"since":"2026-01-01T00:00:00.000Z"}],"notified":[]}\n',
  );
  await Deno.writeTextFile(`${root}/claims.guard`, "");
  const got = await start(["pre-commit"], {
    cwd: r,
    launcher: GUARD,
    env: { C2C_GUARD: "warn" },
  });
  const args = ["guard", "check", "--stdin", "--warn"];
  const grant = cliGrant(args, DENO, (n) => baseEnv()[n]);
  assert.deepEqual(got.argv, [
    "run",
    "--quiet",
    `--config=${REPO}/deno.json`,
    ...permissionFlags("cli", { root, ...grant.scope }),
    `${REPO}/cli.ts`,
    ...args,
  ]);
  assert.equal(got.env.C2C_MCP_BROKER_ROOT, root);
  // Its variable list is the CLI's.
  const script = await Deno.readTextFile(GUARD);
  const { CLI_ENV } = await import("../lib/permissions.ts");
  assert.deepEqual(
    script.match(/^env_list=(.*)$/m)?.[1].split(","),
    [...CLI_ENV],
  );
});

Deno.test("c2c guard check: files on the command line or NUL-separated on stdin, --json, --warn", async () => {
  await using repo = await tempRepo();
  const r = repo.path;
  await using alice = await holder(r, "alice");
  exits(
    await c2cIn(r, ["claim", "lib/*.ts", "--reason", "types"], {
      C2C_MCP_SESSION_ID: alice.session,
    }),
    0,
  );
  const listed = exits(
    await c2cIn(r, ["guard", "check", "lib/a.ts", "b.md"]),
    1,
  );
  assert.match(listed.stdout, /lib\/a\.ts: alice holds lib\/\*\.ts/);
  const json = exits(
    await launch(["guard", "check", "--stdin", "--json"], {
      cwd: r,
      env: gitEnv(),
      stdin: "b.md\0lib/new\nline.ts\0lib/x/y.ts\0",
    }),
    1,
  ).json<{ checked: number; blocked: { path: string }[] }>();
  assert.equal(json.checked, 3);
  assert.deepEqual(json.blocked.map((b) => b.path), ["lib/new\nline.ts"]);
  // The name with a newline is shown inert in text.
  const text = exits(
    await launch(["guard", "check", "--stdin", "--warn"], {
      cwd: r,
      env: gitEnv(),
      stdin: "lib/new\nline.ts\0",
    }),
    0,
  );
  assert.match(text.stdout, /lib\/new\^Jline\.ts/);
  const clean = exits(await c2cIn(r, ["guard", "check", "README.md"]), 0);
  assert.match(clean.stdout, /1 file checked: none is claimed/);
});
