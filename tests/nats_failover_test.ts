// withFailover() through real servers: it rides a 3-node cluster's stream
// leader being killed mid-traffic without losing or duplicating a message
// (msgID dedupe), gives up with one clear error when the budget runs out,
// and never retries what retrying cannot fix.

import assert from "node:assert/strict";
import { jetstreamManager } from "@nats-io/jetstream";
import { NatsUnavailableError } from "../lib/errors.ts";
import {
  connectNats,
  isTransientNatsError,
  withFailover,
} from "../lib/store/nats/connect.ts";
import { type NatsConfig, natsConfigFromEnv } from "../lib/store/nats/url.ts";
import { startNats, startNatsCluster } from "./_nats.ts";

function config(url: string): NatsConfig {
  return natsConfigFromEnv(new Map([["C2C_BROKER_URL", url]]))!;
}

Deno.test("withFailover() rides a 3-node cluster's leader kill: every message stored once", async () => {
  await using cluster = await startNatsCluster();
  const c = config(cluster.url);
  const nc = await connectNats({ config: c, namespace: "failover" });
  try {
    const jsm = await jetstreamManager(nc);
    await withFailover(() =>
      jsm.streams.add({
        name: "C2C_FO",
        subjects: ["fo.>"],
        num_replicas: 3,
        duplicate_window: 120_000_000_000, // 2 min, in ns
      }), { config: c });
    const js = jsm.jetstream();
    const total = 300;
    const killAt = 100;
    const restartAt = 200;
    let killed = -1;
    let retries = 0;
    const retried = new Set<number>();
    for (let i = 0; i < total; i++) {
      if (i === killAt) {
        killed = await cluster.streamLeader("C2C_FO");
        assert.ok(killed >= 0, "the stream has a leader");
        await cluster.nodes[killed].stop("SIGKILL");
      }
      if (i === restartAt) await cluster.nodes[killed].restart();
      await withFailover(
        () => js.publish(`fo.${i % 7}`, `m${i}`, { msgID: `id-${i}` }),
        {
          config: c,
          onRetry: () => {
            retries++;
            retried.add(i);
          },
        },
      );
    }
    // the stream leader was gone: at least the send in flight had to wait
    assert.ok(retries > 0, "no publish met the failover");

    const info = await withFailover(() => jsm.streams.info("C2C_FO"), {
      config: c,
    });
    assert.equal(info.state.messages, total);
    const ids = new Set<string>();
    for (let seq = 1; seq <= info.state.last_seq; seq++) {
      const msg = await withFailover(
        () => jsm.streams.getMessage("C2C_FO", { seq }),
        { config: c },
      );
      ids.add(msg!.header.get("Nats-Msg-Id"));
    }
    assert.equal(ids.size, total);
    assert.equal(info.state.last_seq, total, "no duplicate took a sequence");
  } finally {
    await nc.close();
  }
});

Deno.test("withFailover() gives up after its budget with one clear line, not 'jetstream is not enabled'", async () => {
  await using server = await startNats();
  const c = config(server.url);
  const nc = await connectNats({ config: c, namespace: "failover" });
  try {
    const js = (await jetstreamManager(nc)).jetstream();
    let attempts = 0;
    // no stream takes this subject: the server has no responder for it
    const e = await withFailover(() => {
      attempts++;
      return js.publish("nobody.takes.this", "x", { timeout: 1000 });
    }, { config: c, budgetMs: 300 }).catch((e) => e);
    assert.ok(e instanceof NatsUnavailableError, String(e));
    assert.equal(
      e.message,
      `NATS at ${server.url} did not complete the operation within 0.3 s (no JetStream leader answered); the cluster may be electing a leader or down — try again, and check the servers if it persists`,
    );
    assert.ok(attempts > 1, `attempts: ${attempts}`);
  } finally {
    await nc.close();
  }
});

Deno.test("withFailover() throws a non-transient error at once (a CAS conflict)", async () => {
  await using server = await startNats();
  const c = config(server.url);
  const nc = await connectNats({ config: c, namespace: "failover" });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "CAS", subjects: ["cas.>"] });
    const js = jsm.jetstream();
    await js.publish("cas.k", "1");
    let attempts = 0;
    const e = await withFailover(() => {
      attempts++;
      return js.publish("cas.k", "2", { expect: { lastSubjectSequence: 9 } });
    }, { config: c }).catch((e) => e);
    assert.equal(attempts, 1);
    assert.equal(isTransientNatsError(e), false);
    assert.match(String(e), /wrong last sequence/);
  } finally {
    await nc.close();
  }
});
