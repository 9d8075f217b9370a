// The claim commands as a user runs them: `bin/c2c` in a temp repository
// (broker at .git/c2c/mcp, so absolute paths are checked against the
// repository), text and --json output, exit statuses, refusals, the claim
// count in `list`, help and completion.

import assert from "node:assert/strict";
import { DENO, REPO } from "./_helpers.ts";
import { exits, launch, type Run, tempRepo } from "./_cli.ts";

/** A live session `<alias>-s`: its lease held by a worker process. */
async function holder(repo: string, alias: string): Promise<AsyncDisposable> {
  const root = `${Deno.realPathSync(repo)}/.git/c2c/mcp`;
  const child = new Deno.Command(DENO, {
    args: [
      "run",
      "--no-prompt",
      `--allow-read=${root}`,
      `--allow-write=${root}`,
      `${REPO}/tests/fixtures/worker.ts`,
      root,
      "hold",
      `${alias}-s`,
      alias,
    ],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  assert.match((await reader.read()).value ?? "", /ready/);
  return {
    [Symbol.asyncDispose]: async () => {
      child.kill("SIGKILL");
      await child.status;
      await reader.cancel().catch(() => {});
    },
  };
}

Deno.test("c2c claim, claims, release and list: text, --json, exit statuses and refusals", async () => {
  await using repo = await tempRepo();
  const r = repo.path;
  const top = Deno.realPathSync(r);
  await using _alice = await holder(r, "alice");
  const as = (session: string) => ({ C2C_MCP_SESSION_ID: session });
  const c2c = (
    args: string[],
    env: Record<string, string> = {},
  ): Promise<Run> => launch(args, { cwd: r, env });

  const a = exits(
    await c2c([
      "claim",
      "lib/",
      `${top}/docs/a.md`,
      "--reason",
      "moving lib",
      "--json",
    ], as("alice-s")),
    0,
  ).json<{ granted: { path: string; holder: string }[] }>();
  assert.deepEqual(a.granted.map((g) => [g.path, g.holder]), [
    ["lib/**", "alice"],
    ["docs/a.md", "alice"],
  ]);

  // A shell session holds no lease: it must say how long.
  exits(await c2c(["register", "--alias", "bob"]), 0);
  const noTtl = exits(
    await c2c(["claim", "x.ts", "--reason", "r", "--alias", "bob"]),
    1,
  );
  assert.match(noTtl.stderr, /holds no lease .*--ttl/);
  const b = exits(
    await c2c([
      "claim",
      "lib/a.ts",
      "x.ts",
      "--reason",
      "quick fix",
      "--ttl",
      "30m",
      "--alias",
      "bob",
    ]),
    1,
  );
  assert.match(b.stdout, /^claimed x\.ts \(exclusive, until /m);
  assert.match(
    b.stdout,
    /^not claimed lib\/a\.ts: alice holds lib\/\*\* \(exclusive, since (just now|\d+s ago)\): "moving lib"$/m,
  );
  assert.match(b.stdout, /^told alice that you asked$/m);

  // Refusals: one line each, the path named.
  const outside = exits(
    await c2c(
      ["claim", "/etc/passwd", "--reason", "r", "--json"],
      as("alice-s"),
    ),
    1,
  ).error();
  assert.equal(outside.code, "invalid_argument");
  assert.match(outside.message, /'\/etc\/passwd' is outside the repository/);
  const up = exits(
    await c2c(["claim", "../../x", "--reason", "r"], as("alice-s")),
    1,
  );
  assert.match(up.stderr, /has a '\.\.' segment/);
  const noReason = exits(await c2c(["claim", "y.ts"], as("alice-s")), 2);
  assert.match(noReason.stderr, /missing --reason/);
  const badTtl = exits(
    await c2c(
      ["claim", "y.ts", "--reason", "r", "--ttl", "soon"],
      as("alice-s"),
    ),
    1,
  );
  assert.match(badTtl.stderr, /--ttl must be a duration/);

  // claims: a table, or JSON; filtered by a path.
  const table = exits(await c2c(["claims"]), 0);
  assert.match(
    table.stdout,
    /^PATH\s+HOLDER\s+MODE\s+SINCE\s+EXPIRES\s+REASON$/m,
  );
  assert.match(
    table.stdout,
    /^lib\/\*\*\s+alice\s+exclusive\s+(just now|\d+s ago)\s+-\s+moving lib$/m,
  );
  assert.match(
    table.stdout,
    /^x\.ts\s+bob\s+exclusive\s+(just now|\d+s ago)\s+in \d+m\s+quick fix$/m,
  );
  const under = exits(await c2c(["claims", "lib/q/r.ts", "--json"]), 0)
    .json<{ claims: { path: string }[] }>();
  assert.deepEqual(under.claims.map((c) => c.path), ["lib/**"]);

  // list: each peer's claim count.
  const peers = exits(await c2c(["list", "--json"]), 0)
    .json<{ peers: { alias: string; claims: number }[] }>();
  assert.deepEqual(peers.peers.map((p) => [p.alias, p.claims]), [
    ["alice", 2],
    ["bob", 1],
  ]);
  assert.match(exits(await c2c(["list"]), 0).stdout, /\bCLAIMS\b/);

  // release: some, then the rest.
  const one = exits(
    await c2c(["release", "docs/a.md", "nope.ts"], as("alice-s")),
    0,
  );
  assert.match(one.stdout, /^released docs\/a\.md\nnot yours: nope\.ts\n$/);
  const rest = exits(await c2c(["release", "--json"], as("alice-s")), 0)
    .json<{ released: string[] }>();
  assert.deepEqual(rest.released, ["lib/**"]);
  assert.match(
    exits(await c2c(["release"], as("alice-s")), 0).stdout,
    /nothing to release/,
  );
});

Deno.test("c2c help and completion know the claim commands", async () => {
  const help = exits(await launch(["--help"]), 0).stdout;
  assert.match(help, /^File claims:\n {2}claim <path…> +claim files/m);
  assert.match(help, /^ {2}guard <install\|uninstall\|check> \[file…\]/m);
  const claimHelp = exits(await launch(["claim", "--help"]), 0).stdout;
  assert.match(claimHelp, /--reason TEXT/);
  assert.match(claimHelp, /--ttl DURATION/);
  const bash = exits(await launch(["completion", "bash"]), 0).stdout;
  for (const word of ["claim", "claims", "release", "guard", "uninstall"]) {
    assert.match(bash, new RegExp(`\\b${word}\\b`), word);
  }
  const usage = exits(await launch(["guard", "reinstall"]), 2);
  assert.match(usage.stderr, /choose one of install, uninstall, check/);
});
