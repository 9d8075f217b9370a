// The MCP server always starts: whatever is wrong with the broker files or
// the environment a client gave it, the client connects, and every tool
// answers with the one-line cause and the fix. A server that died at start
// would leave the agent with no c2c at all ("failed to connect").

import assert from "node:assert/strict";
import { permissionFlags } from "../lib/permissions.ts";
import { c2c, exits, launch, registerAll, tempDir } from "./_cli.ts";
import { REPO } from "./_helpers.ts";
import { connect } from "./_mcp.ts";

const ALICE = {
  C2C_MCP_SESSION_ID: "alice-s",
  C2C_MCP_AUTO_REGISTER_ALIAS: "alice",
};

/** Connects (which must succeed) and returns whoami's one-line error. */
async function whoamiFails(
  root: string,
  env: Record<string, string>,
  options: Parameters<typeof connect>[2] = {},
): Promise<string> {
  await using server = await connect(root, env, options);
  const tools = await server.client.listTools();
  assert.ok(tools.tools.length > 10, "the server lists its tools");
  return await server.fails("whoami");
}

const CORRUPT_REGISTRIES: [string, (path: string) => void][] = [
  ["truncated", (p) => Deno.writeTextFileSync(p, '[{"session_id": "a')],
  ["of the wrong shape", (p) => Deno.writeTextFileSync(p, '{"a": 1}')],
  [
    "binary",
    (p) => Deno.writeFileSync(p, new Uint8Array([0xff, 0xfe, 0x00, 0x9c])),
  ],
  ["a directory", (p) => Deno.mkdirSync(p)],
];

for (const [what, plant] of CORRUPT_REGISTRIES) {
  Deno.test(`server starts with a registry.json that is ${what} and names it per call`, async () => {
    await using dir = await tempDir();
    plant(`${dir.path}/registry.json`);
    const text = await whoamiFails(dir.path, ALICE);
    assert.match(text, /registry\.json is not valid c2c data/);
    assert.match(text, /c2c repair/);
  });
}

for (
  const [what, id] of [
    ["with ../", "../../x"],
    ["too long", "s".repeat(300)],
  ]
) {
  Deno.test(`server starts with a C2C_MCP_SESSION_ID ${what} and says how to fix it`, async () => {
    await using dir = await tempDir();
    const text = await whoamiFails(dir.path, { C2C_MCP_SESSION_ID: id });
    assert.match(text, /C2C_MCP_SESSION_ID/);
    assert.match(text, /not a valid session id/);
    assert.equal(
      [...Deno.readDirSync(dir.path)].some((e) => e.name.includes("..")),
      false,
    );
  });
}

Deno.test("server starts with a bad C2C_MCP_AUTO_REGISTER_ALIAS and says how to fix it", async () => {
  await using dir = await tempDir();
  const text = await whoamiFails(dir.path, {
    C2C_MCP_AUTO_REGISTER_ALIAS: "Bad Alias!",
  });
  assert.match(text, /C2C_MCP_AUTO_REGISTER_ALIAS/);
  assert.match(text, /invalid alias 'Bad Alias!'/);
});

Deno.test("server starts when leases/ is a file, reports it per call, and heals once fixed", async () => {
  await using dir = await tempDir();
  Deno.writeTextFileSync(`${dir.path}/leases`, "");
  await using server = await connect(dir.path, ALICE);
  const text = await server.fails("whoami");
  assert.match(text, /leases is not a directory/);
  Deno.removeSync(`${dir.path}/leases`);
  const me = await server.ok<{ alias: string; alive: boolean }>("whoami");
  assert.equal(me.alias, "alice");
  assert.equal(me.alive, true);
});

Deno.test("server starts on a broker it may not write and says so per call", async () => {
  await using dir = await tempDir();
  const readOnly = [
    "run",
    "--no-prompt",
    `--allow-read=${dir.path}`,
    "--allow-env",
    `${REPO}/server.ts`,
  ];
  const text = await whoamiFails(dir.path, ALICE, { args: readOnly });
  assert.match(text, /not permitted/);
  assert.match(text, /write/);
});

Deno.test("server starts on a broker root outside its permissions (a path with a comma)", async () => {
  await using dir = await tempDir();
  const root = `${dir.path}/a,b/broker`;
  const args = [
    "run",
    ...permissionFlags("server", { root }),
    `${REPO}/server.ts`,
  ];
  const text = await whoamiFails(root, ALICE, { args });
  assert.match(text, /not permitted|comma/);
});

Deno.test("server starts on a broker root that is a symlink, and works where its target is granted", async () => {
  await using dir = await tempDir();
  const real = `${dir.path}/real`;
  const link = `${dir.path}/link`;
  Deno.mkdirSync(real);
  Deno.symlinkSync(real, link);
  const text = await whoamiFails(link, ALICE);
  assert.match(text, /is a symlink to .*real.*C2C_MCP_BROKER_ROOT=/);
  const both = [
    "run",
    "--no-prompt",
    `--allow-read=${link},${real}`,
    `--allow-write=${link},${real}`,
    "--allow-env",
    `${REPO}/server.ts`,
  ];
  await using server = await connect(link, ALICE, { args: both });
  const me = await server.ok<{ alias: string }>("whoami");
  assert.equal(me.alias, "alice");
});

Deno.test("a registry row with session_id '../../x' breaks nothing for the others", async () => {
  await using dir = await tempDir();
  await registerAll(dir.path, ["a", "b"]);
  const path = `${dir.path}/registry.json`;
  const rows = JSON.parse(Deno.readTextFileSync(path));
  rows.push({ ...rows[0], session_id: "../../x", alias: "evil" });
  Deno.writeTextFileSync(path, JSON.stringify(rows));
  const list = exits(await c2c(dir.path, ["list", "--json"]), 0).json<
    { peers: { alias: string }[] }
  >();
  assert.deepEqual(list.peers.map((p) => p.alias), ["a", "b"]);
  exits(await c2c(dir.path, ["send", "b", "hi", "--session-id", "a-s"]), 0);
  exits(await c2c(dir.path, ["sweep"]), 0);
  exits(await c2c(dir.path, ["register", "c-s", "--alias", "c"]), 0);
  // The bad row is kept for repair, never silently dropped.
  assert.match(Deno.readTextFileSync(path), /"\.\.\/\.\.\/x"/);
  const health = await c2c(dir.path, ["health", "--json"]);
  assert.match(health.stdout, /registry\.json entry \d+: session_id/);
  const repair = exits(await c2c(dir.path, ["repair", "--json"]), 0).json<
    { repaired: { path: string }[] }
  >();
  assert.equal(repair.repaired.length, 1);
  assert.doesNotMatch(Deno.readTextFileSync(path), /"\.\.\/\.\.\/x"/);
  const after = exits(await c2c(dir.path, ["list", "--json"]), 0).json<
    { peers: { alias: string }[] }
  >();
  assert.deepEqual(after.peers.map((p) => p.alias), ["a", "b", "c"]);
});

Deno.test("a corrupt dead-letter file does not block registration", async () => {
  await using dir = await tempDir();
  Deno.writeTextFileSync(`${dir.path}/dead-letter.jsonl`, "not json\n");
  const r = exits(
    await c2c(dir.path, ["register", "a-s", "--alias", "a", "--json"]),
    0,
  ).json<{ alias: string; warning?: string }>();
  assert.equal(r.alias, "a");
  assert.match(r.warning ?? "", /dead-letter\.jsonl is not valid c2c data/);
  assert.equal(
    Deno.readTextFileSync(`${dir.path}/dead-letter.jsonl`),
    "not json\n",
  );
  await using server = await connect(dir.path, ALICE);
  assert.equal((await server.ok<{ alias: string }>("whoami")).alias, "alice");
});

Deno.test("bin/c2c-mcp: a broker root with a comma starts the server, which names the cause", async () => {
  await using dir = await tempDir();
  const root = `${dir.path}/a,b/broker`;
  const text = await whoamiFails(root, ALICE, {
    command: `${REPO}/bin/c2c-mcp`,
    args: ["--deno", Deno.execPath()],
  });
  assert.match(text, /has a comma in its path.*C2C_MCP_BROKER_ROOT/);
  const cli = exits(
    await launch(["list", "--json"], {
      env: { C2C_MCP_BROKER_ROOT: root },
    }),
    1,
  );
  assert.match(cli.error().message, /has a comma in its path/);
});

Deno.test("bin/c2c-mcp and bin/c2c grant a symlinked broker root at its real path", async () => {
  await using dir = await tempDir();
  Deno.mkdirSync(`${dir.path}/real`);
  Deno.symlinkSync(`${dir.path}/real`, `${dir.path}/link`);
  const root = `${dir.path}/link/broker`; // below the link, not yet created
  await using server = await connect(root, ALICE, {
    command: `${REPO}/bin/c2c-mcp`,
    args: ["--deno", Deno.execPath()],
  });
  assert.equal((await server.ok<{ alias: string }>("whoami")).alias, "alice");
  const list = exits(
    await launch(["list", "--json"], { env: { C2C_MCP_BROKER_ROOT: root } }),
    0,
  ).json<{ peers: { alias: string }[] }>();
  assert.deepEqual(list.peers.map((p) => p.alias), ["alice"]);
});
