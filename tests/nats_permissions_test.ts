// A process granted exactly natsPermissionFlags() (plus --allow-env on the
// NATS variables) connects, stores a message and needs nothing else; one
// without those grants is refused in one line naming what is missing.

import assert from "node:assert/strict";
import {
  NATS_ENV_VARS,
  type NatsConfig,
  natsConfigFromEnv,
  natsPermissionFlags,
} from "../lib/store/nats/url.ts";
import { operatorSetup, startNats } from "./_nats.ts";

const FIXTURE = new URL("./fixtures/nats_client.ts", import.meta.url).pathname;
const REPO = new URL("..", import.meta.url).pathname;

interface ClientResult {
  ok: boolean;
  server?: string;
  error?: string;
}

async function runClient(
  vars: Record<string, string>,
  flags: string[],
): Promise<ClientResult> {
  // Every NATS variable is set, unused ones empty, so the parent's
  // environment cannot leak into what is tested.
  const env = Object.fromEntries(NATS_ENV_VARS.map((name) => [name, ""]));
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      `--allow-env=${NATS_ENV_VARS.join(",")}`,
      ...flags,
      FIXTURE,
    ],
    cwd: REPO,
    env: { ...env, ...vars, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout).trim();
  const stderr = new TextDecoder().decode(out.stderr).trim();
  let result: ClientResult;
  try {
    result = JSON.parse(stdout.split("\n").at(-1) ?? "");
  } catch {
    throw new Error(`client printed no result: ${stdout} ${stderr}`);
  }
  assert.equal(out.success, result.ok, stderr);
  return result;
}

function config(vars: Record<string, string>): NatsConfig {
  return natsConfigFromEnv(new Map(Object.entries(vars)))!;
}

Deno.test("a process granted natsPermissionFlags() alone connects; without them it is refused", async () => {
  await using server = await startNats();
  const vars = { C2C_BROKER_URL: server.url };
  const flags = natsPermissionFlags(config(vars));
  assert.deepEqual(flags, [`--allow-net=${server.hostPort}`]);
  assert.deepEqual(await runClient(vars, flags), {
    ok: true,
    server: server.hostPort,
  });

  const none = await runClient(vars, []);
  assert.equal(
    none.error,
    `not permitted: Requires net access to "${server.hostPort}", run again with the --allow-net flag`,
  );
  const otherPort = await runClient(vars, [`--allow-net=127.0.0.1:1`]);
  assert.match(otherPort.error ?? "", /^not permitted: Requires net access/);
});

Deno.test("a host name needs only --allow-net=<name>:<port> (no DNS permission)", async () => {
  await using server = await startNats();
  const vars = { C2C_BROKER_URL: `nats://localhost:${server.port}` };
  const flags = natsPermissionFlags(config(vars));
  assert.deepEqual(flags, [`--allow-net=localhost:${server.port}`]);
  assert.equal((await runClient(vars, flags)).ok, true);
});

Deno.test("TLS with a CA file and .creds needs exactly --allow-read on those two files", async () => {
  const operator = await operatorSetup();
  await using server = await startNats({ tls: true, auth: { operator } });
  const creds = `${server.dir}/user.creds`;
  await Deno.writeTextFile(creds, operator.creds);
  const vars = {
    C2C_BROKER_URL: server.url,
    C2C_NATS_CA: server.tls!.ca,
    C2C_NATS_CREDS: creds,
  };
  const flags = natsPermissionFlags(config(vars));
  assert.deepEqual(flags, [
    `--allow-net=${server.hostPort}`,
    `--allow-read=${server.tls!.ca},${creds}`,
  ]);
  assert.equal((await runClient(vars, flags)).ok, true);

  const unreadable = await runClient(vars, [flags[0]]);
  assert.match(
    unreadable.error ?? "",
    /^C2C_NATS_CREDS: cannot read .*user\.creds \(Requires read access to .*\); grant --allow-read on it/,
  );
});
