// `c2c setup <client> --broker-url URL`: the client's server entry and hooks
// get the NATS store's variables, checked before any file changes.

import assert from "node:assert/strict";
import { exits, launch, tempDir, tempRepo } from "./_cli.ts";

Deno.test("c2c setup claude-code --broker-url writes the store into the server entry and the hooks", async () => {
  await using repo = await tempRepo();
  await using home = await tempDir("c2c-home-");
  const env = { HOME: home.path, USER: "alice" };
  const r = exits(
    await launch([
      "setup",
      "claude-code",
      "--broker-url",
      "nats://127.0.0.1:4333",
      "--namespace",
      "team-a",
    ], { cwd: repo.path, env }),
    0,
  );
  assert.match(
    r.stdout,
    /store: NATS at nats:\/\/127\.0\.0\.1:4333, namespace team-a/,
  );
  const server = JSON.parse(
    Deno.readTextFileSync(`${home.path}/.claude.json`),
  ).mcpServers.c2c;
  assert.equal(server.env.C2C_BROKER_URL, "nats://127.0.0.1:4333");
  assert.equal(server.env.C2C_BROKER_NAMESPACE, "team-a");
  const hooks = Deno.readTextFileSync(`${home.path}/.claude/settings.json`);
  assert.match(
    hooks,
    /C2C_BROKER_URL=nats:\/\/127\.0\.0\.1:4333 C2C_BROKER_NAMESPACE=team-a \S+\/bin\/c2c-hook claude-code/,
  );
});

Deno.test("c2c setup codex --broker-url pins the namespace of the repository's origin", async () => {
  await using repo = await tempRepo();
  await using home = await tempDir("c2c-home-");
  new Deno.Command("git", {
    args: ["remote", "add", "origin", "git@github.com:Org/Repo.git"],
    cwd: repo.path,
  }).outputSync();
  const r = exits(
    await launch(["setup", "codex", "--broker-url", "nats://h1:4222,h2"], {
      cwd: repo.path,
      env: { HOME: home.path, USER: "bob" },
    }),
    0,
  );
  assert.match(r.stdout, /namespace github\.com\/org\/repo/i);
  const toml = Deno.readTextFileSync(`${home.path}/.codex/config.toml`);
  assert.match(toml, /C2C_BROKER_NAMESPACE = "github\.com\/[Oo]rg\/[Rr]epo"/);
  assert.match(toml, /--allow-net=[^"]*h1:4222,h2:4222/);
});

Deno.test("c2c setup refuses a bad broker URL, or NATS options without one, and writes nothing", async () => {
  await using repo = await tempRepo();
  await using home = await tempDir("c2c-home-");
  const env = { HOME: home.path, USER: "carol" };
  const bad = exits(
    await launch(
      ["setup", "gemini", "--broker-url", "http://h:80", "--json"],
      { cwd: repo.path, env },
    ),
    1,
  );
  assert.match(bad.error().message, /scheme 'http' is not supported/);
  const lonely = exits(
    await launch(["setup", "gemini", "--namespace", "x"], {
      cwd: repo.path,
      env,
    }),
    2,
  );
  assert.match(lonely.stderr, /--namespace needs --broker-url/);
  assert.deepEqual([...Deno.readDirSync(home.path)], []);
});
