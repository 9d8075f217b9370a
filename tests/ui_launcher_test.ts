// `c2c ui`'s permission grant: bin/c2c gives it exactly what cliGrant()
// computes — 127.0.0.1 at the --port asked for (127.0.0.1:0, a free port
// and no connection anywhere, without one or with one the command will
// refuse), xdg-open with --open, NATS servers added after — and the
// narrowest grant is enough to serve and is refused anything else.

import assert from "node:assert/strict";
import { cliGrant, permissionFlags } from "../lib/permissions.ts";
import { baseEnv, c2c, tempDir } from "./_cli.ts";
import { DENO, REPO } from "./_helpers.ts";
import { start } from "./_recording_deno.ts";

Deno.test("bin/c2c ui starts cli.ts with exactly cliGrant()'s flags for every form of --port and --open", async () => {
  await using root = await tempDir("c2c-root-");
  await using home = await tempDir("c2c-home-");
  const cases: [string[], Record<string, string>, string, string | null][] = [
    [["ui"], {}, "127.0.0.1:0", null],
    [["ui", "--json"], {}, "127.0.0.1:0", null],
    [["ui", "--port", "8123"], {}, "127.0.0.1:8123", null],
    [["ui", "--port=65535", "--open"], {}, "127.0.0.1:65535", "xdg-open"],
    [
      ["ui", "--open", "--read-only", "--port", "0"],
      {},
      "127.0.0.1:0",
      "xdg-open",
    ],
    [["ui", "--port", "65536"], {}, "127.0.0.1:0", null],
    [["ui", "--port", "080"], {}, "127.0.0.1:0", null],
    [["ui", "--port", "12ab"], {}, "127.0.0.1:0", null],
    [["ui", "--port"], {}, "127.0.0.1:0", null],
    [
      ["ui", "--port", "9000"],
      { C2C_BROKER_URL: "nats://n1:4222,n2:4223" },
      "127.0.0.1:9000,n1:4222,n2:4223",
      null,
    ],
  ];
  for (const [args, extra, net, run] of cases) {
    const env = { C2C_MCP_BROKER_ROOT: root.path, HOME: home.path, ...extra };
    const got = await start(args, { cwd: home.path, env });
    const reader = (n: string) =>
      ({ ...baseEnv(), ...env } as Record<string, string>)[n];
    const grant = cliGrant(args, DENO, reader);
    assert.equal(grant.entry, "cli");
    const expected = [
      ...permissionFlags("cli", { root: root.path, ...grant.scope }),
      `${REPO}/cli.ts`,
      ...args,
    ];
    assert.deepEqual(
      got.argv.slice(3),
      expected,
      `c2c ${args.join(" ")}`,
    );
    assert.ok(got.argv.includes(`--allow-net=${net}`), `${args}: ${got.argv}`);
    const runs = got.argv.filter((a) => a.startsWith("--allow-run"));
    assert.deepEqual(runs, run ? [`--allow-run=${run}`] : [], `${args}`);
  }
});

Deno.test("c2c ui with --allow-net=127.0.0.1:0 serves on a free port and may connect nowhere", async () => {
  await using root = await tempDir("c2c-ui-net-");
  // What the grant allows, tried by a script run with exactly it.
  const flags = permissionFlags("cli", {
    root: root.path,
    ...cliGrant(["ui"], DENO).scope,
  });
  assert.ok(flags.includes("--allow-net=127.0.0.1:0"), `${flags}`);
  const probe = `${root.path}/probe.ts`;
  await Deno.writeTextFile(
    probe,
    `const s = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response("ok"));
const tries: Record<string, string> = {};
const targets: [string, number][] = [["itself", s.addr.port], ["elsewhere", 22]];
for (const [name, port] of targets) {
  try { (await Deno.connect({ hostname: "127.0.0.1", port })).close(); tries[name] = "connected"; }
  catch (e) { tries[name] = (e as Error).name; }
}
try {
  const all = Deno.serve({ hostname: "0.0.0.0", port: 0, onListen() {} }, () => new Response());
  tries.all = "listening";
  await all.shutdown();
} catch (e) { tries.all = (e as Error).name; }
console.log(JSON.stringify({ port: s.addr.port, ...tries }));
await s.shutdown();
`,
  );
  const out = await new Deno.Command(DENO, {
    args: ["run", ...flags, probe],
    env: baseEnv(),
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const got = JSON.parse(text);
  assert.ok(got.port > 0);
  assert.deepEqual(
    [got.itself, got.elsewhere, got.all],
    ["NotCapable", "NotCapable", "NotCapable"],
  );
});

Deno.test("c2c ui refuses a port it would not be granted, and an alias it would not use, before listening", async () => {
  const env = { C2C_MCP_BROKER_ROOT: "/nonexistent" };
  for (const port of ["65536", "080"]) {
    const r = await c2c(null, ["ui", "--port", port, "--json"], { env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.error().message, /--port must be a port from 1 to 65535/);
  }
  const r = await c2c(null, ["ui", "--read-only", "--alias", "me", "--json"], {
    env,
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.error().message, /--read-only posts nothing/);
});
