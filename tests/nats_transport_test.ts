// The Deno-native transport under nats-core, through real servers: big
// payloads both ways (partial reads and writes), ordering under load, TLS,
// and a dial abandoned by the client's timeout leaving nothing open.

import assert from "node:assert/strict";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "../lib/store/nats/transport.ts";
import { startNats } from "./_nats.ts";

async function echoRoundTrips(a: NatsConnection, b: NatsConnection) {
  const sub = b.subscribe("echo", {
    callback: (_err, msg) => {
      msg.respond(msg.data);
    },
  });
  await b.flush();
  for (const size of [1, 64 * 1024, 300_000, 1_000_000 - 1024]) {
    const body = new Uint8Array(size);
    for (let i = 0; i < size; i++) body[i] = (i * 31 + size) & 0xff;
    const reply = await a.request("echo", body, { timeout: 10_000 });
    assert.equal(reply.data.length, size);
    assert.deepEqual(reply.data, body, `payload of ${size} bytes`);
  }
  sub.unsubscribe();
}

Deno.test("connect() carries payloads up to ~1 MB both ways", async () => {
  await using server = await startNats();
  const a = await connect({ servers: server.hostPort });
  const b = await connect({ servers: server.hostPort });
  try {
    await echoRoundTrips(a, b);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("connect() over TLS (upgraded after INFO) carries ~1 MB payloads", async () => {
  await using server = await startNats({ tls: true });
  const ca = await Deno.readTextFile(server.tls!.ca);
  const a = await connect({ servers: server.hostPort, tls: { ca } });
  const b = await connect({
    servers: `localhost:${server.port}`,
    tls: { caFile: server.tls!.ca },
  });
  try {
    await echoRoundTrips(a, b);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("connect() delivers 10,000 messages in order", async () => {
  await using server = await startNats();
  const pub = await connect({ servers: server.hostPort });
  const sub = await connect({ servers: server.hostPort });
  try {
    const total = 10_000;
    const subscription = sub.subscribe("seq", { max: total });
    await sub.flush();
    for (let i = 0; i < total; i++) pub.publish("seq", String(i));
    await pub.flush();
    let expected = 0;
    for await (const msg of subscription) {
      assert.equal(msg.string(), String(expected));
      expected++;
    }
    assert.equal(expected, total);
  } finally {
    await pub.close();
    await sub.close();
  }
});

Deno.test("connect() gives up on a peer that never says INFO and leaves nothing open", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const accepted = listener.accept();
  const error = await connect({ servers: `127.0.0.1:${port}`, timeout: 300 })
    .then(() => undefined, (e) => e);
  assert.equal((error as Error)?.name, "TimeoutError");
  // the client's side is closed: the peer reads end-of-stream (bounded, so
  // a transport that leaks the socket fails here instead of hanging)
  const conn = await accepted;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const read = await Promise.race([
    conn.read(new Uint8Array(16)),
    new Promise<"open">((resolve) => {
      timer = setTimeout(() => resolve("open"), 10_000);
    }),
  ]);
  clearTimeout(timer);
  conn.close();
  assert.equal(read, null, "the abandoned dial's socket is still open");
});
