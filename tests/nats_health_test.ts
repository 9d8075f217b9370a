// `c2c health` with the NATS store: the servers, the one connected to,
// JetStream and the round-trip time, and one clear failed check for each way
// the store can be unusable; through the real launcher and nats-server.

import assert from "node:assert/strict";
import { exits, launch, tempRepo } from "./_cli.ts";
import { freePorts, startNats } from "./_nats.ts";

interface StoreReport {
  healthy: boolean;
  store: {
    url: string;
    jetstream: boolean | null;
    rtt_ms: number | null;
    namespace: string;
    connected_server: string | null;
  };
  checks: { name: string; status: string; detail: string; fix?: string }[];
}

Deno.test("c2c health reports a reachable NATS store: JetStream, namespace, round trip", async () => {
  await using nats = await startNats();
  await using repo = await tempRepo();
  const r = await launch(["health", "--json"], {
    cwd: repo.path,
    env: { C2C_BROKER_URL: nats.url, C2C_BROKER_NAMESPACE: "team-a" },
  });
  const report = r.json<StoreReport>();
  assert.equal(report.store.jetstream, true, r.stdout);
  assert.equal(report.store.namespace, "team-a");
  assert.equal(report.store.connected_server, nats.hostPort);
  assert.equal(typeof report.store.rtt_ms, "number");
  const text = await launch(["health"], {
    cwd: repo.path,
    env: { C2C_BROKER_URL: nats.url, C2C_BROKER_NAMESPACE: "team-a" },
  });
  assert.match(text.stdout, /NATS store at nats:\/\/127\.0\.0\.1:\d+/);
});

Deno.test("c2c health fails with one clear line for an unreachable NATS or one without JetStream", async () => {
  await using repo = await tempRepo();
  const [port] = freePorts(1);
  const down = exits(
    await launch(["health", "--json"], {
      cwd: repo.path,
      env: { C2C_BROKER_URL: `nats://127.0.0.1:${port}` },
    }),
    1,
  ).json<StoreReport>();
  const failed = down.checks.filter((c) => c.status === "fail");
  assert.equal(failed.length, 1, JSON.stringify(down.checks));
  assert.match(failed[0].detail, new RegExp(`127\\.0\\.0\\.1:${port}`));
  assert.match(failed[0].detail, /unreachable/);
  await using plain = await startNats({ jetstream: false });
  const nojs = exits(
    await launch(["health", "--json"], {
      cwd: repo.path,
      env: { C2C_BROKER_URL: plain.url },
    }),
    1,
  ).json<StoreReport>();
  assert.ok(
    nojs.checks.some((c) =>
      c.status === "fail" && /JetStream/i.test(`${c.detail} ${c.fix}`)
    ),
    JSON.stringify(nojs.checks),
  );
});
