// Test harness: real nats-server processes on 127.0.0.1 random ports, each
// with its own temp store directory — a single JetStream node (plain,
// user/password, token, nkey, operator/.creds, TLS, or without JetStream)
// or a 3-node JetStream cluster — ready when its /healthz says JetStream is
// up (for a cluster: a meta leader is known). Every process started is
// stopped by dispose, and as a last resort on unload. A missing nats-server
// fails the test; nothing is skipped.

import { nkeys } from "@nats-io/nats-core";

const INSTALL_HINT = "install nats-server (apt-get install -y nats-server)";
// A test that needs more than this many servers at once is a bug.
const MAX_LIVE = 9;
// Generous: CI machines are several times slower than ours.
const READY_TIMEOUT_MS = 30_000;

const live = new Set<Deno.ChildProcess>();
globalThis.addEventListener("unload", () => {
  for (const proc of live) {
    try {
      proc.kill("SIGKILL");
    } catch { /* already gone */ }
  }
});

/** How a test server authenticates clients. */
export type NatsAuthMode =
  | { user: string; pass: string }
  | { token: string }
  | { nkey: string }
  | { operator: OperatorSetup };

/** Options of {@linkcode startNats}. */
export interface NatsServerOptions {
  /** JetStream on (default) or off. */
  jetstream?: boolean;
  /** Client authentication (default none). */
  auth?: NatsAuthMode;
  /** Require TLS with a fresh CA (see {@linkcode NatsServer.tls}). */
  tls?: boolean;
  /** Listen on this port instead of a random one. */
  port?: number;
  /** Wait for readiness (default true). */
  wait?: boolean;
  /** More server configuration (an `authorization` block with permissions). */
  extra?: string;
}

/** TLS material of a TLS test server. */
export interface TlsFiles {
  /** The CA that signed the server certificate (PEM). */
  ca: string;
  /** Another CA, which did not (PEM). */
  otherCa: string;
}

/** One running (or stopped) nats-server. */
export interface NatsServer extends AsyncDisposable {
  /** `nats://127.0.0.1:<port>` (or `tls://`). */
  url: string;
  /** Client port. */
  port: number;
  /** `127.0.0.1:<port>`. */
  hostPort: string;
  /** Its directory (config, log, store). */
  dir: string;
  /** TLS files, for a TLS server. */
  tls: TlsFiles | undefined;
  /** Whether the process is running. */
  readonly running: boolean;
  /** The server's log so far. */
  log(): Promise<string>;
  /** Stops it (SIGTERM, or the signal given) and waits for the exit. */
  stop(signal?: Deno.Signal): Promise<void>;
  /** Starts it again on the same ports and store; waits until ready. */
  restart(): Promise<void>;
}

/** A 3-node JetStream cluster. */
export interface NatsCluster extends AsyncDisposable {
  /** The nodes n1, n2, n3. */
  nodes: NatsServer[];
  /** `nats://127.0.0.1:p1,nats://127.0.0.1:p2,…`. */
  url: string;
  /** Index of the node that leads `stream` (-1 when none does), from /jsz. */
  streamLeader(stream: string): Promise<number>;
}

/** `127.0.0.1` ports nobody listens on now (held open while choosing). */
export function freePorts(count: number): number[] {
  const listeners = Array.from(
    { length: count },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  const ports = listeners.map((l) => (l.addr as Deno.NetAddr).port);
  for (const l of listeners) l.close();
  return ports;
}

async function requireTool(name: string, hint: string): Promise<void> {
  try {
    await new Deno.Command(name, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
  } catch {
    throw new Error(`${name} is not installed: ${hint}`);
  }
}

interface NodeSpec {
  dir: string;
  port: number;
  monitorPort: number;
  config: string;
}

class Node implements NatsServer {
  readonly url: string;
  readonly port: number;
  readonly hostPort: string;
  readonly dir: string;
  readonly tls: TlsFiles | undefined;
  readonly #spec: NodeSpec;
  readonly #owned: boolean;
  #proc: Deno.ChildProcess | undefined;

  constructor(spec: NodeSpec, tls: TlsFiles | undefined, owned: boolean) {
    this.#spec = spec;
    this.#owned = owned;
    this.port = spec.port;
    this.hostPort = `127.0.0.1:${spec.port}`;
    this.url = `${tls ? "tls" : "nats"}://${this.hostPort}`;
    this.dir = spec.dir;
    this.tls = tls;
  }

  get running(): boolean {
    return this.#proc !== undefined;
  }

  get monitorPort(): number {
    return this.#spec.monitorPort;
  }

  async start(wait: boolean): Promise<void> {
    if (this.#proc) return;
    if (live.size >= MAX_LIVE) {
      throw new Error(`the NATS harness runs at most ${MAX_LIVE} servers`);
    }
    const conf = `${this.dir}/server.conf`;
    await Deno.writeTextFile(conf, this.#spec.config);
    const proc = spawnServer(["-c", conf, "-l", `${this.dir}/server.log`]);
    live.add(proc);
    this.#proc = proc;
    if (wait) await this.ready();
  }

  /** Waits until /healthz answers ok (JetStream up, meta leader known). */
  async ready(): Promise<void> {
    const proc = this.#proc;
    if (!proc) throw new Error(`server ${this.hostPort} is not running`);
    let exited = false;
    const status = proc.status.then(() => {
      exited = true;
    });
    const url = `http://127.0.0.1:${this.#spec.monitorPort}/healthz`;
    const deadline = performance.now() + READY_TIMEOUT_MS;
    let last = "no answer";
    while (performance.now() < deadline) {
      if (exited) {
        this.#proc = undefined;
        live.delete(proc);
        // Config errors go to stderr before the log file exists.
        const stderr = (await new Response(proc.stderr).text()).trim();
        throw new Error(
          `nats-server ${this.hostPort} exited while starting: ${
            stderr || await this.#tail()
          }`,
        );
      }
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
        last = await res.text();
        if (res.ok && /"ok"/.test(last)) return;
      } catch (e) {
        last = (e as Error).message;
      }
      await Promise.race([status, delay(25)]);
    }
    throw new Error(
      `nats-server ${this.hostPort} not ready after ${READY_TIMEOUT_MS} ms (${last}): ${await this
        .#tail()}`,
    );
  }

  async #tail(): Promise<string> {
    return (await this.log()).trim().split("\n").slice(-5).join(" | ");
  }

  async log(): Promise<string> {
    try {
      return await Deno.readTextFile(`${this.dir}/server.log`);
    } catch {
      return "";
    }
  }

  async stop(signal: Deno.Signal = "SIGTERM"): Promise<void> {
    const proc = this.#proc;
    if (!proc) return;
    this.#proc = undefined;
    try {
      proc.kill(signal);
    } catch { /* already exited */ }
    await drain(proc);
    live.delete(proc);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start(true);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop("SIGKILL");
    if (this.#owned) {
      await Deno.remove(this.dir, { recursive: true }).catch(() => {});
    }
  }
}

// Debian installs nats-server in /usr/sbin, which a user's PATH may lack.
function spawnServer(args: string[]): Deno.ChildProcess {
  for (const bin of ["nats-server", "/usr/sbin/nats-server"]) {
    try {
      return new Deno.Command(bin, {
        args,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  throw new Error(`nats-server is not installed: ${INSTALL_HINT}`);
}

async function drain(proc: Deno.ChildProcess): Promise<void> {
  await proc.stderr.cancel().catch(() => {});
  await proc.status;
}

/**
 * Waits until `predicate` holds, checking every 10 ms, for at most
 * `timeoutMs`; throws naming `what` otherwise. For state that has no event
 * to wait on (a link's state after the event that changes it).
 */
export async function waitUntil(
  what: string,
  predicate: () => boolean,
  timeoutMs = READY_TIMEOUT_MS,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await delay(10);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function authBlock(auth: NatsAuthMode | undefined): string {
  if (!auth) return "";
  if ("user" in auth) {
    return `authorization { users: [ { user: ${
      JSON.stringify(auth.user)
    }, password: ${JSON.stringify(auth.pass)} } ] }\n`;
  }
  if ("token" in auth) {
    return `authorization { token: ${JSON.stringify(auth.token)} }\n`;
  }
  if ("nkey" in auth) {
    return `authorization { users: [ { nkey: ${auth.nkey} } ] }\n`;
  }
  return auth.operator.serverConfig;
}

/**
 * Starts one nats-server on 127.0.0.1 (random port unless given), JetStream
 * on unless `jetstream: false`, and waits until it is ready.
 */
export function startNats(
  options: NatsServerOptions = {},
): Promise<NatsServer> {
  return options.port === undefined
    ? onFreshPorts(() => startNode(options))
    : startNode(options);
}

// Ports are chosen free, then released for nats-server to bind: another
// process may take one in between. Choose again, a bounded number of times.
async function onFreshPorts<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await start();
    } catch (e) {
      const taken = /address already in use/.test((e as Error).message);
      if (!taken || attempt >= 3) throw e;
    }
  }
}

async function startNode(options: NatsServerOptions): Promise<NatsServer> {
  const dir = await Deno.makeTempDir({ prefix: "c2c-nats-" });
  try {
    const [port, monitorPort] = options.port === undefined
      ? freePorts(2)
      : [options.port, freePorts(1)[0]];
    const tls = options.tls ? await makeTls(dir) : undefined;
    const config = [
      `listen: "127.0.0.1:${port}"`,
      `http: "127.0.0.1:${monitorPort}"`,
      options.jetstream === false ? "" : `jetstream { store_dir: "${dir}/js" }`,
      authBlock(options.auth),
      tls
        ? `tls { cert_file: "${dir}/server.pem", key_file: "${dir}/server.key" }`
        : "",
      options.extra ?? "",
    ].join("\n");
    const node = new Node({ dir, port, monitorPort, config }, tls, true);
    await node.start(false);
    try {
      if (options.wait !== false) await node.ready();
    } catch (e) {
      await node[Symbol.asyncDispose]();
      throw e;
    }
    return node;
  } catch (e) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  }
}

/**
 * Starts a 3-node JetStream cluster on 127.0.0.1 random ports (one config
 * per node: server_name, listen, jetstream store_dir, cluster routes to all
 * three) and waits until every node knows a meta leader.
 */
export function startNatsCluster(): Promise<NatsCluster> {
  return onFreshPorts(startCluster);
}

async function startCluster(): Promise<NatsCluster> {
  const base = await Deno.makeTempDir({ prefix: "c2c-nats-cluster-" });
  const ports = freePorts(9);
  const names = ["n1", "n2", "n3"];
  const routes = names.map((_, i) => `"nats-route://127.0.0.1:${ports[3 + i]}"`)
    .join(", ");
  const nodes = names.map((name, i) => {
    const dir = `${base}/${name}`;
    const config = [
      `server_name: ${name}`,
      `listen: "127.0.0.1:${ports[i]}"`,
      `http: "127.0.0.1:${ports[6 + i]}"`,
      `jetstream { store_dir: "${dir}/js" }`,
      `cluster { name: c2c, listen: "127.0.0.1:${
        ports[3 + i]
      }", routes: [${routes}] }`,
    ].join("\n");
    return new Node(
      { dir, port: ports[i], monitorPort: ports[6 + i], config },
      undefined,
      false,
    );
  });
  const dispose = async () => {
    for (const node of nodes) await node[Symbol.asyncDispose]();
    await Deno.remove(base, { recursive: true }).catch(() => {});
  };
  try {
    for (const node of nodes) await Deno.mkdir(node.dir, { recursive: true });
    for (const node of nodes) await node.start(false);
    for (const node of nodes) await node.ready();
  } catch (e) {
    await dispose();
    throw e;
  }
  return {
    nodes,
    url: nodes.map((n) => n.url).join(","),
    async streamLeader(stream: string): Promise<number> {
      for (const node of nodes) {
        if (!node.running) continue;
        const res = await fetch(
          `http://127.0.0.1:${node.monitorPort}/jsz?streams=true`,
        );
        const jsz = await res.json() as {
          account_details?: {
            stream_detail?: { name: string; cluster?: { leader?: string } }[];
          }[];
        };
        for (const account of jsz.account_details ?? []) {
          for (const s of account.stream_detail ?? []) {
            const leader = s.cluster?.leader;
            if (s.name === stream && leader) return names.indexOf(leader);
          }
        }
      }
      return -1;
    },
    [Symbol.asyncDispose]: dispose,
  };
}

async function makeTls(dir: string): Promise<TlsFiles> {
  await requireTool("openssl", "install openssl (apt-get install -y openssl)");
  const run = async (...args: string[]) => {
    const out = await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(
        `openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`,
      );
    }
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
  for (const ca of ["ca", "other-ca"]) {
    await run(
      "req",
      "-x509",
      ...ec,
      "-nodes",
      "-keyout",
      `${ca}.key`,
      "-out",
      `${ca}.pem`,
      "-days",
      "2",
      "-subj",
      `/CN=c2c test ${ca}`,
    );
  }
  await run(
    "req",
    ...ec,
    "-nodes",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=localhost",
  );
  await Deno.writeTextFile(
    `${dir}/server.ext`,
    "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
  );
  await run(
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "2",
    "-extfile",
    "server.ext",
  );
  return { ca: `${dir}/ca.pem`, otherCa: `${dir}/other-ca.pem` };
}

/** A user nkey: its public key (for the server) and its seed file. */
export interface UserNkey {
  /** `U…` public key. */
  publicKey: string;
  /** The `SU…` seed. */
  seed: string;
}

/** A fresh user nkey. */
export function userNkey(): UserNkey {
  const user = nkeys.createUser();
  return {
    publicKey: user.getPublicKey(),
    seed: new TextDecoder().decode(user.getSeed()),
  };
}

/** An operator-mode setup: the server's config and user `.creds` texts. */
export interface OperatorSetup {
  /** Lines for the server config (operator, resolver, preload). */
  serverConfig: string;
  /** A `.creds` of a user of the JetStream-enabled account. */
  creds: string;
  /** A `.creds` of a user of an account the server does not know. */
  strangerCreds: string;
}

/**
 * Makes an operator, a system account, an account with JetStream (and at
 * most `connections` connections, default unlimited), and users.
 */
export async function operatorSetup(
  options: { connections?: number } = {},
): Promise<OperatorSetup> {
  const operator = nkeys.createOperator();
  const system = nkeys.createAccount();
  const account = nkeys.createAccount();
  const opJwt = await jwt(operator, operator, "OP", {
    type: "operator",
    system_account: system.getPublicKey(),
  });
  const sysJwt = await jwt(operator, system, "SYS", { type: "account" });
  const accJwt = await jwt(operator, account, "ACC", {
    type: "account",
    limits: {
      subs: -1,
      conn: options.connections ?? -1,
      leaf: -1,
      imports: -1,
      exports: -1,
      data: -1,
      payload: -1,
      wildcards: true,
      mem_storage: -1,
      disk_storage: -1,
      streams: -1,
      consumer: -1,
    },
  });
  const userCreds = async (issuer: nkeys.KeyPair) => {
    const user = nkeys.createUser();
    const token = await jwt(issuer, user, "user", {
      type: "user",
      subs: -1,
      data: -1,
      payload: -1,
    });
    return credsText(token, new TextDecoder().decode(user.getSeed()));
  };
  return {
    serverConfig: [
      `operator: "${opJwt}"`,
      "resolver: MEMORY",
      `system_account: ${system.getPublicKey()}`,
      `resolver_preload: { ${account.getPublicKey()}: "${accJwt}", ${system.getPublicKey()}: "${sysJwt}" }`,
      "",
    ].join("\n"),
    creds: await userCreds(account),
    strangerCreds: await userCreds(nkeys.createAccount()),
  };
}

// A NATS v2 JWT (header.claims.signature, ed25519-nkey), as @nats-io/jwt
// writes it: small enough to keep the harness free of another package.
async function jwt(
  issuer: nkeys.KeyPair,
  subject: nkeys.KeyPair,
  name: string,
  nats: Record<string, unknown>,
): Promise<string> {
  const claims: Record<string, unknown> = {
    name,
    sub: subject.getPublicKey(),
    iss: issuer.getPublicKey(),
    iat: Math.floor(Date.now() / 1000),
    nats: { ...nats, version: 2 },
  };
  const hash = await crypto.subtle.digest(
    "SHA-512",
    new TextEncoder().encode(JSON.stringify(claims)),
  );
  claims.jti = base64url(new Uint8Array(hash));
  const head = base64url(
    new TextEncoder().encode(JSON.stringify({
      typ: "JWT",
      alg: "ed25519-nkey",
    })),
  );
  const body = base64url(new TextEncoder().encode(JSON.stringify(claims)));
  const signature = issuer.sign(new TextEncoder().encode(`${head}.${body}`));
  return `${head}.${body}.${base64url(signature)}`;
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-")
    .replaceAll("/", "_").replace(/=+$/, "");
}

function credsText(token: string, seed: string): string {
  return `-----BEGIN NATS USER JWT-----
${token}
------END NATS USER JWT------

************************* IMPORTANT *************************
NKEY Seed printed below can be used to sign and prove identity.

-----BEGIN USER NKEY SEED-----
${seed}
------END USER NKEY SEED------
`;
}
