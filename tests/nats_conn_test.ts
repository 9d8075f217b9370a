// connectNats(), NatsLink and natsHealth() through real nats-server
// processes: every way to authenticate, every failure in one typed line
// naming the masked URL, reconnects, and what health reports.

import assert from "node:assert/strict";
import type { NatsConnection } from "@nats-io/nats-core";
import { jetstreamManager } from "@nats-io/jetstream";
import {
  type C2cError,
  describeError,
  NatsAuthError,
  NatsConfigError,
  NatsNamespaceError,
  NatsNoJetStreamError,
  NatsTlsError,
  NatsUnreachableError,
} from "../lib/errors.ts";
import { connectNats, mapNatsError } from "../lib/store/nats/connect.ts";
import { natsHealth } from "../lib/store/nats/health.ts";
import { NatsLink } from "../lib/store/nats/link.ts";
import { encodeName } from "../lib/store/nats/namespace.ts";
import { type NatsConfig, natsConfigFromEnv } from "../lib/store/nats/url.ts";
import {
  freePorts,
  operatorSetup,
  startNats,
  userNkey,
  waitUntil,
} from "./_nats.ts";

const NS = "test/ns.1";

function config(url: string, vars: Record<string, string> = {}): NatsConfig {
  return natsConfigFromEnv(
    new Map(Object.entries({ C2C_BROKER_URL: url, ...vars })),
  )!;
}

/** Connects, proves JetStream works with a stream round trip, closes. */
async function works(c: NatsConfig): Promise<void> {
  const nc = await connectNats({ config: c, namespace: NS });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.add({
      name: "PROBE",
      subjects: ["probe.>"],
    });
    assert.equal(info.config.name, "PROBE");
    await jsm.streams.delete("PROBE");
  } finally {
    await nc.close();
  }
}

/** The typed error `promise` rejects with. */
async function failure<T extends C2cError>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => T,
): Promise<T> {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof type, `expected ${type.name}, got ${e}`);
    const line = describeError(e);
    assert.equal(line.includes("\n"), false);
    return e;
  }
  throw new Error(`expected ${type.name}, but it succeeded`);
}

Deno.test("connectNats() connects to a plain server and replies come under c2c.<ns>._INBOX", async () => {
  await using server = await startNats();
  const nc = await connectNats({ config: config(server.url), namespace: NS });
  try {
    const sub = nc.subscribe("c2c.echo", {
      callback: (_err, msg) => {
        msg.respond(msg.reply ?? "");
      },
    });
    const reply = await nc.request("c2c.echo", "", { timeout: 5000 });
    assert.match(
      reply.string(),
      new RegExp(`^c2c\\.${encodeName(NS)}\\._INBOX\\.`),
    );
    sub.unsubscribe();
  } finally {
    await nc.close();
  }
});

Deno.test("connectNats() authenticates with user:password taken out of the URL", async () => {
  await using server = await startNats({
    auth: { user: "alice", pass: "s3cr@t,pw" },
  });
  const url = `nats://alice:${
    encodeURIComponent("s3cr@t,pw")
  }@${server.hostPort}`;
  await works(config(url));
  const wrong = await failure(
    connectNats({
      config: config(`nats://alice:wrongpass@${server.hostPort}`),
      namespace: NS,
    }),
    NatsAuthError,
  );
  assert.equal(
    wrong.message,
    `NATS at nats://alice:***@${server.hostPort} rejected user 'alice' from C2C_BROKER_URL; fix the user:password or token in C2C_BROKER_URL, or C2C_NATS_TOKEN, C2C_NATS_NKEY or C2C_NATS_CREDS`,
  );
  const none = await failure(
    connectNats({ config: config(server.url), namespace: NS }),
    NatsAuthError,
  );
  assert.match(none.message, /rejected no credentials/);
});

Deno.test("connectNats() authenticates with a token from the URL or C2C_NATS_TOKEN", async () => {
  await using server = await startNats({ auth: { token: "tok-123456" } });
  await works(config(`nats://tok-123456@${server.hostPort}`));
  await works(config(server.url, { C2C_NATS_TOKEN: "tok-123456" }));
  const wrong = await failure(
    connectNats({
      config: config(server.url, { C2C_NATS_TOKEN: "tok-bad-99" }),
      namespace: NS,
    }),
    NatsAuthError,
  );
  assert.match(wrong.message, /rejected the token from C2C_NATS_TOKEN/);
  assert.doesNotMatch(wrong.message, /tok-bad-99/);
});

Deno.test("connectNats() authenticates with an nkey seed file; bad seeds are config errors", async () => {
  const user = userNkey();
  await using server = await startNats({ auth: { nkey: user.publicKey } });
  const seedFile = `${server.dir}/user.nk`;
  await Deno.writeTextFile(seedFile, `${user.seed}\n`);
  await works(config(server.url, { C2C_NATS_NKEY: seedFile }));

  const other = `${server.dir}/other.nk`;
  await Deno.writeTextFile(other, userNkey().seed);
  const rejected = await failure(
    connectNats({
      config: config(server.url, { C2C_NATS_NKEY: other }),
      namespace: NS,
    }),
    NatsAuthError,
  );
  assert.match(
    rejected.message,
    /rejected the nkey seed file '.*other\.nk' \(C2C_NATS_NKEY\)/,
  );

  const broken = `${server.dir}/broken.nk`;
  await Deno.writeTextFile(broken, user.seed.slice(0, -2) + "AA");
  const malformed = await failure(
    connectNats({
      config: config(server.url, { C2C_NATS_NKEY: broken }),
      namespace: NS,
    }),
    NatsConfigError,
  );
  assert.match(
    malformed.message,
    /^C2C_NATS_NKEY: .*broken\.nk holds no valid user nkey seed/,
  );
  assert.doesNotMatch(malformed.message, new RegExp(user.seed.slice(0, 20)));

  const missing = await failure(
    connectNats({
      config: config(server.url, { C2C_NATS_NKEY: `${server.dir}/nope.nk` }),
      namespace: NS,
    }),
    NatsConfigError,
  );
  assert.match(
    missing.message,
    /^C2C_NATS_NKEY: cannot read .*nope\.nk \(NotFound\)/,
  );
});

Deno.test("connectNats() authenticates with a .creds file (operator mode)", async () => {
  const operator = await operatorSetup();
  await using server = await startNats({ auth: { operator } });
  const creds = `${server.dir}/user.creds`;
  await Deno.writeTextFile(creds, operator.creds);
  await works(config(server.url, { C2C_NATS_CREDS: creds }));

  const stranger = `${server.dir}/stranger.creds`;
  await Deno.writeTextFile(stranger, operator.strangerCreds);
  const rejected = await failure(
    connectNats({
      config: config(server.url, { C2C_NATS_CREDS: stranger }),
      namespace: NS,
    }),
    NatsAuthError,
  );
  assert.match(rejected.message, /rejected the \.creds file .*stranger\.creds/);

  const garbage = `${server.dir}/garbage.creds`;
  await Deno.writeTextFile(garbage, "not a creds file\n");
  const malformed = await failure(
    connectNats({
      config: config(server.url, { C2C_NATS_CREDS: garbage }),
      namespace: NS,
    }),
    NatsConfigError,
  );
  assert.match(
    malformed.message,
    /^C2C_NATS_CREDS: .*garbage\.creds is not a NATS \.creds file/,
  );
});

Deno.test("connectNats() says which permission a restricted user lacks", async () => {
  await using server = await startNats({
    extra: `authorization { users: [ { user: u, password: pw-pw-pw,
      permissions: { publish: ["c2c.>"], subscribe: ["c2c.>"] } } ] }`,
  });
  const e = await failure(
    connectNats({
      config: config(`nats://u:pw-pw-pw@${server.hostPort}`),
      namespace: NS,
    }),
    NatsAuthError,
  );
  assert.equal(
    e.message,
    `NATS at nats://u:***@${server.hostPort} rejected an operation for user 'u' from C2C_BROKER_URL (Permissions Violation for Publish to "$JS.API.INFO"); grant the user publish and subscribe on c2c.<namespace>.> and publish on $JS.API.> in the server's authorization`,
  );
});

Deno.test("connectNats() gives up when a server never completes the handshake (account at its connection limit)", async () => {
  const operator = await operatorSetup({ connections: 0 });
  await using server = await startNats({ auth: { operator } });
  const creds = `${server.dir}/user.creds`;
  await Deno.writeTextFile(creds, operator.creds);
  const e = await failure(
    connectNats({
      config: config(server.url, { C2C_NATS_CREDS: creds }),
      namespace: NS,
    }),
    NatsUnreachableError,
  );
  assert.match(e.message, /is unreachable \(timed out\)/);
  assert.match(await server.log(), /maximum account active connections/);
});

function encrypted(nc: NatsConnection): boolean {
  return (nc as unknown as {
    protocol: { transport: { isEncrypted(): boolean } };
  }).protocol.transport.isEncrypted();
}

Deno.test("connectNats() speaks TLS with a CA file; each TLS failure says what to fix", async () => {
  await using server = await startNats({ tls: true });
  const tls = server.tls!;
  for (
    const url of [
      server.url, // tls://127.0.0.1:P
      `nats://${server.hostPort}`, // upgraded after INFO
      `tls://localhost:${server.port}`,
    ]
  ) {
    const nc = await connectNats({
      config: config(url, { C2C_NATS_CA: tls.ca }),
      namespace: NS,
    });
    assert.equal(encrypted(nc), true, url);
    await nc.close();
  }

  const untrusted = await failure(
    connectNats({ config: config(server.url), namespace: NS }),
    NatsTlsError,
  );
  assert.equal(
    untrusted.message,
    `TLS to NATS at ${server.url} failed: the server's certificate is not trusted (unknown issuer); set C2C_NATS_CA to the CA file that signed it`,
  );
  const otherCa = await failure(
    connectNats({
      config: config(server.url, { C2C_NATS_CA: tls.otherCa }),
      namespace: NS,
    }),
    NatsTlsError,
  );
  assert.match(
    otherCa.message,
    /C2C_NATS_CA \(.*other-ca\.pem\) did not sign it/,
  );

  const missingCa = await failure(
    connectNats({
      config: config(server.url, { C2C_NATS_CA: `${server.dir}/none.pem` }),
      namespace: NS,
    }),
    NatsConfigError,
  );
  assert.match(
    missingCa.message,
    /^C2C_NATS_CA: cannot read .*none\.pem \(NotFound\)/,
  );

  await using plain = await startNats();
  const noTls = await failure(
    connectNats({
      config: config(`tls://${plain.hostPort}`, { C2C_NATS_CA: tls.ca }),
      namespace: NS,
    }),
    NatsTlsError,
  );
  assert.match(
    noTls.message,
    /failed: the server does not offer TLS; use nats:\/\//,
  );
});

Deno.test("connectNats() fails at once and clearly when nothing listens", async () => {
  const [a, b] = freePorts(2);
  const url = `nats://u:pw-secret@127.0.0.1:${a},127.0.0.1:${b}`;
  const e = await failure(
    connectNats({ config: config(url), namespace: NS }),
    NatsUnreachableError,
  );
  assert.equal(
    e.message,
    `NATS at nats://u:***@127.0.0.1:${a},127.0.0.1:${b} is unreachable (connection refused); start nats-server there or fix C2C_BROKER_URL`,
  );
});

Deno.test("connectNats() names a peer that does not speak NATS", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const answer = (async () => {
    for (let i = 0; i < 1; i++) {
      const conn = await listener.accept();
      await conn.write(
        new TextEncoder().encode("HTTP/1.1 400 Bad Request\r\n\r\n"),
      );
      conn.close();
    }
  })();
  const e = await failure(
    connectNats({ config: config(`nats://127.0.0.1:${port}`), namespace: NS }),
    NatsUnreachableError,
  );
  assert.match(
    e.message,
    /unreachable \(the server there does not speak NATS\)/,
  );
  await answer;
});

Deno.test("connectNats() says a server without JetStream has none", async () => {
  await using server = await startNats({ jetstream: false });
  const e = await failure(
    connectNats({ config: config(server.url), namespace: NS }),
    NatsNoJetStreamError,
  );
  assert.equal(
    e.message,
    `NATS at ${server.url} has no JetStream, which c2c stores messages in; start nats-server with -js (or a jetstream {} block in its config)`,
  );
  assert.doesNotMatch(e.message, /jetstream is not enabled/i);
});

Deno.test("mapNatsError() turns a missing stream into the namespace error, and leaves CAS errors alone", async () => {
  await using server = await startNats();
  const c = config(server.url);
  const nc = await connectNats({ config: c, namespace: NS });
  try {
    const jsm = await jetstreamManager(nc);
    const missing = await jsm.streams.info("C2C_NOPE_INBOX").catch((e) => e);
    const mapped = mapNatsError(missing, c, {
      namespace: "nope",
      missing: "stream C2C_NOPE_INBOX",
    });
    assert.ok(mapped instanceof NatsNamespaceError);
    assert.match(
      mapped.message,
      /^namespace 'nope' is not set up at NATS nats:\/\/127\.0\.0\.1:\d+ \(stream C2C_NOPE_INBOX not found\); check C2C_BROKER_NAMESPACE/,
    );
    await jsm.streams.add({ name: "KVISH", subjects: ["kv.>"] });
    const js = jsm.jetstream();
    await js.publish("kv.a", "1");
    const conflict = await js.publish("kv.a", "2", {
      expect: { lastSubjectSequence: 5 },
    }).catch((e) => e);
    assert.equal(mapNatsError(conflict, c), conflict);
  } finally {
    await nc.close();
  }
});

/** Resolves on the connection's next status event of `type`. */
async function nextStatus(nc: NatsConnection, type: string): Promise<void> {
  for await (const status of nc.status()) {
    if (status.type === type) return;
  }
  throw new Error(`connection closed before a ${type} event`);
}

Deno.test("connectNats()'s connection reconnects by itself when the server restarts", async () => {
  await using server = await startNats();
  const nc = await connectNats({ config: config(server.url), namespace: NS });
  try {
    const disconnected = nextStatus(nc, "disconnect");
    const reconnected = nextStatus(nc, "reconnect");
    await server.stop();
    await disconnected;
    await server.restart();
    await reconnected;
    const jsm = await jetstreamManager(nc);
    assert.ok((await jsm.getAccountInfo()).limits !== undefined);
  } finally {
    await nc.close();
  }
});

Deno.test("NatsLink answers at once while NATS is down, then connects when it comes up", async () => {
  const [port] = freePorts(1);
  const c = config(`nats://127.0.0.1:${port}`);
  await using link = new NatsLink({
    config: c,
    namespace: NS,
    name: "c2c-test",
  });
  const down = await failure(link.connection(20_000), NatsUnreachableError);
  assert.equal(
    down.message,
    `NATS at nats://127.0.0.1:${port} is unreachable (connection refused); start nats-server there or fix C2C_BROKER_URL — c2c keeps retrying and reconnects on its own`,
  );
  assert.equal(link.state, "connecting");

  await using server = await startNats({ port });
  const nc = await link.connection(20_000);
  assert.equal(link.state, "connected");
  assert.equal(nc.info?.port, port);

  // lost: tools answer at once; back: the same link serves again
  const disconnected = nextStatus(nc, "disconnect");
  await server.stop();
  await disconnected;
  await waitUntil(
    "the link to see the disconnect",
    () => link.state === "reconnecting",
  );
  const lost = await failure(link.connection(0), NatsUnreachableError);
  assert.match(lost.message, /\(the connection was lost; reconnecting\)/);
  await server.restart();
  assert.equal(await link.connection(20_000), nc);
});

Deno.test("NatsLink reports rejected credentials as the auth error", async () => {
  await using server = await startNats({ auth: { token: "right-token" } });
  await using link = new NatsLink({
    config: config(server.url, { C2C_NATS_TOKEN: "wrong-token" }),
    namespace: NS,
  });
  const e = await failure(link.connection(20_000), NatsAuthError);
  assert.match(e.message, /rejected the token from C2C_NATS_TOKEN/);
});

Deno.test("natsHealth() shows servers masked, the server, JetStream, rtt and the namespace's streams", async () => {
  await using server = await startNats({
    auth: { user: "u", pass: "hunter22" },
  });
  const c = config(`nats://u:hunter22@${server.hostPort}`);
  const nc = await connectNats({ config: c, namespace: NS });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "C2C_X_INBOX", subjects: ["c2c.x.inbox.>"] });
    const report = await natsHealth({
      config: c,
      namespace: NS,
      namespaceSource: "env",
      connection: nc,
      streams: ["C2C_X_INBOX", "C2C_X_ROOMS"],
      buckets: ["c2c_x_sessions"],
    });
    assert.equal(report.url, `nats://u:***@${server.hostPort}`);
    assert.deepEqual(report.servers, [server.hostPort]);
    assert.equal(report.connected_server, server.hostPort);
    assert.match(report.server ?? "", / 2\.\d+\.\d+$/);
    assert.equal(report.jetstream, true);
    assert.equal(typeof report.rtt_ms, "number");
    assert.deepEqual(report.streams, { C2C_X_INBOX: true, C2C_X_ROOMS: false });
    assert.deepEqual(report.buckets, { c2c_x_sessions: false });
    assert.deepEqual(report.checks.map((x) => [x.name, x.status]), [
      ["nats_connection", "ok"],
      ["jetstream", "ok"],
      ["namespace", "warn"],
      ["claims", "ok"],
    ]);
    assert.doesNotMatch(JSON.stringify(report), /hunter22/);
  } finally {
    await nc.close();
  }
});

Deno.test("natsHealth() without a connection fails its check with the error's fix", async () => {
  const [port] = freePorts(1);
  const c = config(`nats://u:hunter22@127.0.0.1:${port}`);
  const error = await connectNats({ config: c, namespace: NS }).catch((e) => e);
  const report = await natsHealth({
    config: c,
    namespace: "default",
    namespaceSource: "default",
    error,
  });
  assert.equal(report.jetstream, null);
  assert.equal(report.rtt_ms, null);
  assert.deepEqual(report.checks, [{
    name: "nats_connection",
    status: "fail",
    detail:
      `NATS at nats://u:***@127.0.0.1:${port} is unreachable (connection refused)`,
    fix: "start nats-server there or fix C2C_BROKER_URL",
  }]);
});
