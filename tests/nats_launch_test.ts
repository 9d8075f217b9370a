// The NATS store's grants: bin/c2c, bin/c2c-mcp and bin/c2c-hook compute in
// shell what natsScope() computes in TypeScript (one source of truth, checked
// here): a connection to exactly the configured servers, read access to the
// credential and CA files named, nothing else.

import assert from "node:assert/strict";
import { cliGrant, natsScope, permissionFlags } from "../lib/permissions.ts";
import { DENO, REPO } from "./_helpers.ts";
import { baseEnv, tempDir, tempRepo } from "./_cli.ts";
import { start } from "./_recording_deno.ts";

const URLS = [
  "nats://127.0.0.1:4222",
  "nats://localhost",
  "tls://Nats.Example.COM:7422",
  "nats://alice:s3cret@h1:4222,h2:4223,h1:4222",
  "nats://tok@h3",
  "h4:014,nats://h5/",
  " nats://h6:4222 , nats://h7 ",
  "nats://[::1]:4222,[fe80::1]",
  "nats://u:p@ss@h8:1",
];

Deno.test("bin/c2c grants exactly natsScope()'s hosts and files for every broker URL form", async () => {
  await using root = await tempDir("c2c-root-");
  await using home = await tempDir("c2c-home-");
  for (const url of URLS) {
    for (
      const files of [
        {} as Record<string, string>,
        { C2C_NATS_CA: "/etc/ca.pem" },
        { C2C_NATS_CREDS: "/k/u.creds", C2C_NATS_CA: "/etc/ca.pem" },
      ]
    ) {
      const env: Record<string, string> = {
        C2C_MCP_BROKER_ROOT: root.path,
        HOME: home.path,
        C2C_BROKER_URL: url,
        C2C_BROKER_NAMESPACE: "ns",
        ...files,
      };
      const reader = (n: string) =>
        ({ ...baseEnv(), ...env } as Record<string, string>)[n];
      const scope = natsScope(reader);
      if (url.includes("@") && "C2C_NATS_CREDS" in files) {
        // Two ways of credentials is an error the process reports; the
        // shell may still name the hosts, never more than these.
        continue;
      }
      assert.ok(scope.net.length > 0, `${url} parses`);
      for (const args of [["list"], ["send", "bob", "hi"]]) {
        const got = await start(args, { cwd: home.path, env });
        const grant = cliGrant(args, DENO, reader);
        assert.deepEqual(
          got.argv,
          [
            "run",
            "--quiet",
            `--config=${REPO}/deno.json`,
            ...permissionFlags("cli", { root: root.path, ...grant.scope }),
            `${REPO}/cli.ts`,
            ...args,
          ],
          `${url} ${JSON.stringify(files)}`,
        );
      }
      const server = await start([], {
        cwd: home.path,
        env,
        launcher: `${REPO}/bin/c2c-mcp`,
      });
      const net = server.argv.find((a) => a.startsWith("--allow-net="));
      assert.equal(net, `--allow-net=${scope.net.join(",")}`, url);
      const read = server.argv.find((a) => a.startsWith("--allow-read="));
      assert.equal(
        read,
        `--allow-read=${[root.path, ...scope.read].join(",")}`,
        url,
      );
    }
  }
});

Deno.test("bin/c2c-mcp hands the server the origin remote for the default namespace", async () => {
  await using repo = await tempRepo();
  const git = (...args: string[]) =>
    new Deno.Command("git", { args, cwd: repo.path }).outputSync();
  git("remote", "add", "origin", "git@github.com:org/repo.git");
  const got = await start([], {
    cwd: repo.path,
    env: { C2C_BROKER_URL: "nats://127.0.0.1:4222" },
    launcher: `${REPO}/bin/c2c-mcp`,
  });
  assert.equal(got.env.C2C_BROKER_ORIGIN, "git@github.com:org/repo.git");
  const named = await start([], {
    cwd: repo.path,
    env: { C2C_BROKER_URL: "nats://127.0.0.1:4222", C2C_BROKER_NAMESPACE: "x" },
    launcher: `${REPO}/bin/c2c-mcp`,
  });
  assert.equal(named.env.C2C_BROKER_ORIGIN, undefined);
  await using bare = await tempRepo();
  const none = await start([], {
    cwd: bare.path,
    env: { C2C_BROKER_URL: "nats://127.0.0.1:4222" },
    launcher: `${REPO}/bin/c2c-mcp`,
  });
  assert.equal(none.env.C2C_BROKER_ORIGIN, undefined);
  assert.equal(none.env.C2C_BROKER_NAMESPACE, "default");
});
