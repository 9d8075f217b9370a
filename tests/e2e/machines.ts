/**
 * Where a scenario's two sides run. On one machine (the DM matrix) both
 * sides work in one project repository, whose `.git/c2c/mcp` is the file
 * store they share. Across machines (issue 13) each side is a machine of
 * its own: its own project repository (so its own local broker directory),
 * its agents' own throwaway homes, and nothing shared but the NATS URL;
 * every agent is configured by `c2c setup <client> --broker-url URL`, and
 * the two repositories are clones of one repository by different URL
 * schemes, so both derive the same namespace from their `origin` remotes.
 *
 * Requires `--allow-run=git`, read/write on the temp folders and, across
 * machines, `--allow-net` to the NATS server.
 *
 * @module
 */

import { Broker } from "../../mod.ts";
import { openStore } from "../../lib/store/open.ts";
import { initRepo } from "./run_client.ts";

/** A scenario's side: A sends, B receives. */
export type Side = "a" | "b";

/** Where a scenario's agents run and how the test looks at their broker. */
export interface Place extends AsyncDisposable {
  /** `one machine` or `across machines (NATS)`, for messages. */
  readonly label: string;
  /** Whether the two sides are machines of their own. */
  readonly remote: boolean;
  /**
   * The project repository of a side: its agents' working directory, and
   * their broker root (file store) or local directory (NATS store).
   */
  project(side: Side): string;
  /** What `c2c setup <client>` is given besides the alias. */
  readonly setup_args: readonly string[];
  /**
   * A broker as a process on that side opens it (the CLI would): to send
   * from, or to read an agent's registration, inbox and archive. Closed
   * with the place.
   */
  broker(side: Side): Promise<Broker>;
}

/**
 * One machine: both sides in one fresh project repository.
 *
 * @param prefix Temp folder prefix.
 * @returns The place (dispose it to remove the project).
 */
export async function oneMachine(prefix: string): Promise<Place> {
  const project = await Deno.makeTempDir({ prefix });
  await initRepo(project);
  const broker = new Broker({ root: rootOf(project) });
  return {
    label: "one machine",
    remote: false,
    project: () => project,
    setup_args: [],
    broker: () => Promise.resolve(broker),
    async [Symbol.asyncDispose]() {
      await Deno.remove(project, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * The `origin` remote of each machine's clone of repository `repo`: one
 * repository, two URL schemes.
 *
 * @param repo The repository's name.
 * @returns Machine A's and machine B's remote URL.
 */
export function origins(repo: string): Record<Side, string> {
  return {
    a: `git@github.com:c2c-e2e/${repo}.git`,
    b: `https://github.com/c2c-e2e/${repo}`,
  };
}

/**
 * The namespace both clones of `repo` derive from {@linkcode origins}.
 *
 * @param repo The repository's name.
 * @returns The namespace.
 */
export function sharedNamespace(repo: string): string {
  return `github.com/c2c-e2e/${repo}`;
}

/**
 * Two machines sharing only a NATS server: each side its own clone of
 * `repo` (another URL scheme each), set up with `--broker-url url`.
 * Scenarios that run at once on one server use distinct repositories, so
 * distinct namespaces: they cannot see each other.
 *
 * @param url The NATS server's URL.
 * @param repo The repository both machines cloned.
 * @returns The place (dispose it to close its brokers and remove both clones).
 */
export async function twoMachines(url: string, repo: string): Promise<Place> {
  const base = await Deno.makeTempDir({ prefix: `c2c-e2e-${repo}-` });
  const projects: Record<Side, string> = {
    a: `${base}/machine-a/project`,
    b: `${base}/machine-b/project`,
  };
  const brokers = new Map<Side, Promise<Broker>>();
  try {
    for (const side of ["a", "b"] as const) {
      await initRepo(projects[side]);
      await git(projects[side], "remote", "add", "origin", origins(repo)[side]);
    }
  } catch (e) {
    await Deno.remove(base, { recursive: true }).catch(() => {});
    throw e;
  }
  const env = new Map([["C2C_BROKER_URL", url]]);
  return {
    label: "across machines (NATS)",
    remote: true,
    project: (side) => projects[side],
    setup_args: ["--broker-url", url],
    broker(side) {
      let broker = brokers.get(side);
      if (!broker) {
        // The namespace from the clone's origin remote, as its CLI finds it.
        broker = openStore({
          root: rootOf(projects[side]),
          env,
          cwd: projects[side],
          name: `e2e-machine-${side}`,
        }).then((store) => new Broker({ store }));
        brokers.set(side, broker);
      }
      return broker;
    },
    async [Symbol.asyncDispose]() {
      for (const broker of brokers.values()) {
        await (await broker.catch(() => null))?.close().catch(() => {});
      }
      await Deno.remove(base, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * The same place with the sides' roles swapped: what ran on machine B
 * sends, what ran on machine A receives. The original still owns (and
 * disposes) everything.
 *
 * @param place The place.
 * @returns A view of it with A and B swapped; disposing it does nothing.
 */
export function swapSides(place: Place): Place {
  const other = (side: Side): Side => side === "a" ? "b" : "a";
  return {
    label: place.label,
    remote: place.remote,
    setup_args: place.setup_args,
    project: (side) => place.project(other(side)),
    broker: (side) => place.broker(other(side)),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
}

/** A project's broker root (file store) or local directory (NATS store). */
export function rootOf(project: string): string {
  return `${project}/.git/c2c/mcp`;
}

async function git(cwd: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command("git", {
    args,
    cwd,
    stdout: "null",
    stderr: "piped",
    env: { GIT_CONFIG_NOSYSTEM: "1", HOME: cwd },
  }).output();
  if (!out.success) {
    throw new Error(
      `git ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
}
