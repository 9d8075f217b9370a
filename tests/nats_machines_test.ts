// Two machines that share nothing but a NATS URL, over MCP: real server
// processes (the documented command line, with the NATS grants), each
// machine its own HOME, working directory and local root, talking through
// real nats-server processes (tests/_nats.ts). The same scenario also runs
// in file mode (both servers on one broker root), and the MCP results must
// have the same shapes and values, ids and timestamps aside.

import assert from "node:assert/strict";
import { headers } from "@nats-io/nats-core";
import { jetstream } from "@nats-io/jetstream";
import { natsScope, permissionFlags } from "../lib/permissions.ts";
import { natsNames } from "../lib/store/nats/names.ts";
import { SIG_HEADER, SIGNER_HEADER } from "../lib/store/nats/signing.ts";
import { connect as natsConnect } from "../lib/store/nats/transport.ts";
import { REPO, waitFor } from "./_helpers.ts";
import { unguardedNats } from "./_stores.ts";
import { connect, type Connection } from "./_mcp.ts";
import { freePorts, startNats, startNatsCluster } from "./_nats.ts";

const DENO_DIR = Deno.env.get("DENO_DIR") ??
  `${Deno.env.get("HOME")}/.cache/deno`;

/** One machine: its own HOME, working directory and local root. */
interface Machine extends AsyncDisposable {
  name: string;
  home: string;
  cwd: string;
  root: string;
  /** Starts an MCP server for a session on this machine. */
  server(session: string, alias: string): Promise<Server>;
}

interface Server extends Connection {
  /** The server's process id. */
  pid: number;
}

/** The NATS (or file) settings every machine gets. */
interface Shared {
  url?: string;
  namespace?: string;
  /** File mode: the one root both "machines" use. */
  root?: string;
}

async function machine(name: string, shared: Shared): Promise<Machine> {
  const base = await Deno.makeTempDir({ prefix: `c2c-machine-${name}-` });
  const home = `${base}/home`;
  const cwd = `${base}/work`;
  const root = shared.root ?? `${base}/local`;
  for (const d of [home, cwd, root]) await Deno.mkdir(d, { recursive: true });
  const servers: Server[] = [];
  return {
    name,
    home,
    cwd,
    root,
    server: async (session, alias) => {
      const env: Record<string, string> = {
        HOME: home,
        // A HOME of its own, but Deno's module cache stays the warm one.
        DENO_DIR: DENO_DIR,
        C2C_MCP_SESSION_ID: session,
        C2C_MCP_AUTO_REGISTER_ALIAS: alias,
      };
      if (shared.url) {
        env.C2C_BROKER_URL = shared.url;
        env.C2C_BROKER_NAMESPACE = shared.namespace ?? "machines";
      }
      const nats = natsScope((n) => env[n]);
      const conn = await connect(root, env, {
        cwd,
        args: [
          "run",
          ...permissionFlags("server", {
            root,
            net: nats.net,
            read: nats.read,
          }),
          `${REPO}/server.ts`,
        ],
      });
      const pid = (conn.transport as unknown as { pid: number | null }).pid ??
        -1;
      const server = Object.assign(conn, { pid });
      servers.push(server);
      return server;
    },
    [Symbol.asyncDispose]: async () => {
      for (const s of servers) await s.close();
      await Deno.remove(base, { recursive: true }).catch(() => {});
    },
  };
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const ISO = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g;

/** Ids, timestamps, pids and durations aside. */
function normalize(value: unknown): unknown {
  if (typeof value === "string") {
    return value.replace(UUID, "<id>").replace(ISO, "<ts>");
  }
  if (Array.isArray(value)) return value.map(normalize);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // A machine's working directory is a fresh temp directory per run.
      out[k] = ["ms", "pid", "pid_start_time", "removed_lock_files", "cwd"]
          .includes(k)
        ? "<n>"
        : normalize(v);
    }
    return out;
  }
  return value;
}

/** The scenario both modes run; returns what each call answered. */
async function scenario(a: Machine, b: Machine): Promise<unknown[]> {
  const t: unknown[] = [];
  const ok = async (label: string, s: Server, tool: string, args = {}) => {
    const r = await s.ok(tool, args);
    t.push({ [label]: r });
    return r as Record<string, unknown>;
  };
  const alpha = await a.server("s-alpha", "alpha");
  const bravo = await b.server("s-bravo", "bravo");
  const brio = await b.server("s-brio", "brio");
  await ok("alpha registers", alpha, "register", { alias: "alpha" });
  await ok("bravo registers", bravo, "register", { alias: "bravo" });
  await ok("brio registers", brio, "register", { alias: "brio" });
  // Alive both ways.
  const listA = await ok("list on A", alpha, "list");
  const listB = await ok("list on B", bravo, "list");
  for (const list of [listA, listB]) {
    const peers = list.peers as { alias: string; alive: boolean }[];
    assert.deepEqual(
      peers.map((p) => [p.alias, p.alive]).sort(),
      [["alpha", true], ["bravo", true], ["brio", true]],
    );
  }
  // DM both ways.
  await ok("A→B", alpha, "send", { to_alias: "bravo", content: "hi bravo" });
  await ok("B→A", bravo, "send", { to_alias: "alpha", content: "hi alpha" });
  const gotB = await ok("B polls", bravo, "poll_inbox");
  assert.deepEqual(
    (gotB.messages as { content: string }[]).map((m) => m.content),
    ["hi bravo"],
  );
  const gotA = await ok("A polls", alpha, "poll_inbox");
  assert.deepEqual(
    (gotA.messages as { content: string }[]).map((m) => m.content),
    ["hi alpha"],
  );
  await ok("A send_all", alpha, "send_all", { content: "to everyone" });
  await ok("B peeks", bravo, "peek_inbox");
  await ok("B polls again", bravo, "poll_inbox");
  await ok("brio polls", brio, "poll_inbox");
  // A room with members on both machines.
  await ok("A joins", alpha, "join_room", { room_id: "bridge" });
  await ok("B joins", bravo, "join_room", { room_id: "bridge" });
  const post = await ok("A posts", alpha, "send_room", {
    room_id: "bridge",
    content: "across the wire",
  });
  assert.equal(post.queued_count, 1);
  await ok("B posts", bravo, "send_room", {
    room_id: "bridge",
    content: "and back",
  });
  const roomB = await ok("B polls the room", bravo, "poll_inbox");
  assert.deepEqual(
    (roomB.messages as { content: string }[]).map((m) => m.content),
    ["across the wire"],
  );
  await ok("A polls the room", alpha, "poll_inbox");
  await ok("room history on A", alpha, "room_history", { room_id: "bridge" });
  await ok("room history on B", bravo, "room_history", {
    room_id: "bridge",
    limit: 2,
  });
  await ok("list_rooms on B", bravo, "list_rooms");
  await ok("my_rooms on A", alpha, "my_rooms");
  await ok("history on B", bravo, "history");
  // A session on B dies: A sweeps it; its waiting message is rescued.
  await ok("A→brio", alpha, "send", { to_alias: "brio", content: "late" });
  Deno.kill(brio.pid, "SIGKILL");
  await waitFor(
    async () => {
      const list = await alpha.ok<
        { peers: { alias: string; alive: boolean }[] }
      >(
        "list",
      );
      return list.peers.find((p) => p.alias === "brio")?.alive === false;
    },
    10_000,
    "brio to read dead on A",
  );
  const swept = await ok("A sweeps", alpha, "sweep");
  assert.equal(swept.removed_registrations, 1);
  assert.equal(swept.rescued_messages, 1);
  await ok("list after sweep", bravo, "list");
  await ok("whoami on B", bravo, "whoami");
  return t;
}

Deno.test("two machines over MCP: register, list, DM both ways, send_all, a shared room, history, sweep — same results as in file mode", async () => {
  await using server = await startNats();
  let nats: unknown[];
  {
    const shared = { url: server.url, namespace: "two-machines" };
    await using a = await machine("a", shared);
    await using b = await machine("b", shared);
    nats = await scenario(a, b);
  }
  let file: unknown[];
  {
    const root = await Deno.makeTempDir({ prefix: "c2c-file-mode-" });
    try {
      await using a = await machine("a", { root });
      await using b = await machine("b", { root });
      file = await scenario(a, b);
    } finally {
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  }
  assert.deepEqual(normalize(nats), normalize(file));
});

Deno.test("a session SIGKILLed on machine B reads dead on machine A within 2 s", async () => {
  await using server = await startNats();
  const shared = { url: server.url, namespace: "sigkill" };
  await using a = await machine("a", shared);
  await using b = await machine("b", shared);
  const alpha = await a.server("s-alpha", "alpha");
  const bravo = await b.server("s-bravo", "bravo");
  await alpha.ok("register", { alias: "alpha" });
  await bravo.ok("register", { alias: "bravo" });
  const alive = async () =>
    (await alpha.ok<{ peers: { alias: string; alive: boolean }[] }>("list"))
      .peers.find((p) => p.alias === "bravo")?.alive;
  assert.equal(await alive(), true);
  Deno.kill(bravo.pid, "SIGKILL");
  // The bound: dead within 2 s (NATS drops a closed connection's
  // subscriptions at once; the probe answers "no responders").
  await waitFor(async () => await alive() === false, 2000, "bravo dead on A");
  const queued = await alpha.ok<{ recipient_alive: boolean | null }>("send", {
    to_alias: "bravo",
    content: "x",
  });
  assert.equal(queued.recipient_alive, false);
});

/** Starts `n` senders on A and one receiver on B; checks exactly-once. */
async function tenSenders(
  url: string,
  namespace: string,
  during?: () => Promise<void>,
): Promise<void> {
  const shared = { url, namespace };
  await unguardedNats(url, namespace); // 100 messages per sender to one peer
  await using a = await machine("a", shared);
  await using b = await machine("b", shared);
  const receiver = await b.server("s-sink", "sink");
  await receiver.ok("register", { alias: "sink" });
  const senders = await Promise.all(
    Array.from(
      { length: 10 },
      (_, i) => (i % 2 === 0 ? a : b).server(`s-w${i}`, `writer-${i}`),
    ),
  );
  await Promise.all(
    senders.map((s, i) => s.ok("register", { alias: `writer-${i}` })),
  );
  const perSender = 100;
  const sent: string[][] = senders.map(() => []);
  let disturbed: Promise<void> | undefined;
  await Promise.all(senders.map(async (s, i) => {
    for (let k = 0; k < perSender; k++) {
      if (i === 0 && k === perSender / 4 && during) {
        disturbed = during();
        disturbed.catch(() => {}); // awaited below
      }
      const r = await s.ok<{ id: string }>("send", {
        to_alias: "sink",
        content: `${i}:${k}`,
      });
      sent[i].push(r.id);
    }
  }));
  await disturbed;
  const got: { id: string; content: string }[] = [];
  while (got.length < 10 * perSender) {
    const { messages } = await receiver.ok<
      { messages: { id: string; content: string }[] }
    >("poll_inbox");
    if (messages.length === 0) break;
    got.push(...messages);
  }
  assert.equal(got.length, 10 * perSender, "all received");
  assert.equal(new Set(got.map((m) => m.id)).size, 10 * perSender, "once each");
  assert.deepEqual(
    got.map((m) => m.id).sort(),
    sent.flat().sort(),
    "exactly the ids sent",
  );
  // Each sender's messages arrive in the order it sent them.
  for (let i = 0; i < 10; i++) {
    const mine = got.filter((m) => m.content.startsWith(`${i}:`));
    assert.deepEqual(mine.map((m) => m.id), sent[i]);
  }
}

Deno.test("10 senders × 100 messages across two machines: 1,000 received exactly once", async () => {
  await using server = await startNats();
  await tenSenders(server.url, "ten-senders");
});

Deno.test("10 senders × 100 messages while a node of a 3-node cluster is killed and restarted: nothing lost or duplicated", async () => {
  await using cluster = await startNatsCluster();
  const namespace = "cluster-ten";
  await tenSenders(cluster.url, namespace, async () => {
    const stream = natsNames(namespace).streams.inbox;
    const leader = await cluster.streamLeader(stream);
    const victim = cluster.nodes[leader >= 0 ? leader : 0];
    await victim.stop("SIGKILL");
    await victim.restart();
  });
});

Deno.test("NATS down when a server starts: each tool answers one line naming the URL, and works once NATS is up", async () => {
  const [port] = freePorts(1);
  const url = `nats://127.0.0.1:${port}`;
  await using a = await machine("a", { url, namespace: "late" });
  const alpha = await a.server("s-alpha", "alpha");
  const error = await alpha.fails("register", { alias: "alpha" });
  assert.match(error, new RegExp(`127\\.0\\.0\\.1:${port}`));
  assert.ok(!/queued/.test(error));
  const send = await alpha.fails("send", { to_alias: "x", content: "y" });
  assert.match(send, new RegExp(`127\\.0\\.0\\.1:${port}`));
  await using server = await startNats({ port });
  await waitFor(
    async () => {
      const r = await alpha.call("register", { alias: "alpha" });
      return !r.isError;
    },
    30_000,
    "the server to reach NATS",
  );
  const list = await alpha.ok<{ peers: { alias: string; alive: boolean }[] }>(
    "list",
  );
  assert.deepEqual(list.peers.map((p) => [p.alias, p.alive]), [[
    "alpha",
    true,
  ]]);
  assert.ok(server.running);
});

Deno.test("a message published straight into NATS with a forged sender is not delivered, and is audited", async () => {
  await using server = await startNats();
  const namespace = "forgery";
  const shared = { url: server.url, namespace };
  await using a = await machine("a", shared);
  await using b = await machine("b", shared);
  const alpha = await a.server("s-alpha", "alpha");
  const bravo = await b.server("s-bravo", "bravo");
  await alpha.ok("register", { alias: "alpha" });
  await bravo.ok("register", { alias: "bravo" });
  await alpha.ok("send", { to_alias: "bravo", content: "real" });
  const names = natsNames(namespace);
  const nc = await natsConnect({ servers: [server.hostPort] });
  const js = jetstream(nc);
  const forged = (content: string) =>
    JSON.stringify({
      id: crypto.randomUUID(),
      ts: new Date().toISOString(),
      from_alias: "alpha",
      to_alias: "bravo",
      content,
    });
  await js.publish(names.inbox("bravo"), forged("no signature"));
  const h = headers();
  h.set(SIG_HEADER, "bm90IGEgc2lnbmF0dXJl");
  h.set(SIGNER_HEADER, "s-alpha");
  await js.publish(names.inbox("bravo"), forged("bad signature"), {
    headers: h,
  });
  await nc.close();
  const got = await bravo.ok<{ messages: { content: string }[] }>(
    "poll_inbox",
  );
  assert.deepEqual(got.messages.map((m) => m.content), ["real"]);
  const log = await bravo.ok<
    { entries: { tool: string; ok: boolean; error?: string }[] }
  >("tail_log", { limit: 100 });
  const verify = log.entries.filter((e) => e.tool === "verify");
  assert.deepEqual(verify.map((e) => [e.ok, e.error]), [
    [false, "forged"],
    [false, "forged"],
  ]);
  assert.ok(!JSON.stringify(log).includes("signature"));
});

Deno.test("a session frozen on machine B (SIGSTOP: connected, silent) reads dead on machine A, and alive again when it resumes", async () => {
  await using server = await startNats();
  const shared = { url: server.url, namespace: "frozen" };
  await using a = await machine("a", shared);
  await using b = await machine("b", shared);
  const alpha = await a.server("s-alpha", "alpha");
  const bravo = await b.server("s-bravo", "bravo");
  await alpha.ok("register", { alias: "alpha" });
  await bravo.ok("register", { alias: "bravo" });
  const alive = async () =>
    (await alpha.ok<{ peers: { alias: string; alive: boolean }[] }>("list"))
      .peers.find((p) => p.alias === "bravo")?.alive;
  assert.equal(await alive(), true);
  Deno.kill(bravo.pid, "SIGSTOP");
  try {
    // A probe waits 1 s for an answer: silence is not alive.
    await waitFor(async () => await alive() === false, 10_000, "bravo dead");
  } finally {
    Deno.kill(bravo.pid, "SIGCONT");
  }
  await waitFor(async () => await alive() === true, 10_000, "bravo back");
});

Deno.test("over NATS: a reply to an agent restarting on machine B waits for its next session, arrives once in thread, and its receipt reads delivered", async () => {
  await using server = await startNats();
  const shared = { url: server.url, namespace: "restart" };
  await using a = await machine("a", shared);
  await using b = await machine("b", shared);
  const alpha = await a.server("s-alpha", "alpha");
  const bravo = await b.server("s-bravo", "bravo");
  await alpha.ok("register", { alias: "alpha" });
  const ask = await bravo.ok<{ id: string }>("send", {
    to_alias: "alpha",
    content: "question",
  });
  await alpha.ok("poll_inbox");
  Deno.kill(bravo.pid, "SIGKILL");
  await waitFor(
    async () =>
      (await alpha.ok<{ peers: { alias: string; alive: boolean }[] }>("list"))
        .peers.find((p) => p.alias === "bravo")?.alive === false,
    10_000,
    "bravo to read dead on A",
  );
  const reply = await alpha.ok<
    { id: string; recipient_alive: boolean; thread_id: string }
  >("send", { to_alias: "bravo", content: "answer", reply_to: ask.id });
  assert.equal(reply.recipient_alive, false);
  assert.equal(reply.thread_id, ask.id);
  const state = async () =>
    (await alpha.ok<{ messages: { state: string; via?: string }[] }>(
      "message_status",
      { ids: [reply.id] },
    )).messages[0];
  assert.equal((await state()).state, "queued");
  const bravo2 = await b.server("s-bravo-2", "bravo");
  const got = await bravo2.ok<
    { messages: { content: string; thread_id: string }[] }
  >("poll_inbox");
  assert.deepEqual(
    got.messages.map((m) => [m.content, m.thread_id]),
    [["answer", ask.id]],
  );
  assert.deepEqual(
    (await bravo2.ok<{ messages: unknown[] }>("poll_inbox")).messages,
    [],
  );
  assert.deepEqual(await state(), {
    ...(await state()),
    state: "delivered",
    via: "poll",
  });
  const thread = await alpha.ok<{ messages: { content: string }[] }>(
    "history",
    { thread_id: ask.id },
  );
  assert.deepEqual(thread.messages.map((m) => m.content), [
    "question",
    "answer",
  ]);
});
