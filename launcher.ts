/**
 * The `c2c` launcher: resolves the broker root, then starts the real entry
 * point (`cli.ts`, or `server.ts` for `c2c mcp`) with Deno permissions scoped
 * to that root (DESIGN §10). Deno needs permission paths at start-up, and the
 * root is only known at run time (env or git), hence this second process.
 *
 * Runs with `--allow-env --allow-run=git,<deno>`; the child gets far less.
 *
 * @module
 */

import { resolveBrokerRoot } from "./lib/root.ts";
import { cliGrant, permissionFlags } from "./lib/permissions.ts";

// No `node:` imports here: they would start Deno's Node layer on every call.
const here = (name: string) =>
  decodeURIComponent(new URL(name, import.meta.url).pathname);

async function main(): Promise<number> {
  const args = Deno.args;
  const deno = Deno.execPath();
  const env: Record<string, string> = {};
  let root: string | null = null;
  try {
    root = (await resolveBrokerRoot()).root;
    env.C2C_MCP_BROKER_ROOT = root;
  } catch (e) {
    // Some commands (help, install, setup) work without a broker; the child
    // reports this message if the command needs one.
    env.C2C_LAUNCH_ROOT_ERROR = (e as Error).message;
  }
  if (!Deno.env.get("C2C_MCP_CLIENT_PID")) {
    // The client is our parent; the child would otherwise see us.
    env.C2C_MCP_CLIENT_PID = String(Deno.ppid);
  }
  // The env reader gives `install` its default root (DENO_INSTALL_ROOT, HOME).
  const readEnvVar = (name: string) => Deno.env.get(name) || undefined;
  const grant = cliGrant(args, deno, readEnvVar);
  Object.assign(env, grant.env ?? {});
  const command = args.find((a) => !a.startsWith("-"));
  if (command === "setup" || command === "unsetup") {
    // setup edits client config files: exactly those, their temp files and
    // the backups this run makes (named with a stamp picked here).
    const { setupCommandGrants, setupStamp } = await import(
      "./setup/paths.ts"
    );
    const stamp = setupStamp(new Date());
    env.C2C_SETUP_STAMP = stamp;
    const files = setupCommandGrants(
      args.slice(args.indexOf(command)),
      readEnvVar,
      Deno.cwd(),
      stamp,
    );
    grant.scope = {
      ...grant.scope,
      read: [...(grant.scope.read ?? []), ...(files?.read ?? [])],
      write: [...(grant.scope.write ?? []), ...(files?.write ?? [])],
      run: ["git"],
      sys: ["hostname"],
    };
  }
  const script = grant.entry === "server"
    ? here("./server.ts")
    : here("./cli.ts");
  const flags = permissionFlags(grant.entry, { root, ...grant.scope });
  const child = new Deno.Command(deno, {
    args: [
      "run",
      "--quiet",
      `--config=${here("./deno.json")}`,
      ...flags,
      script,
      ...(grant.entry === "server"
        ? args.slice(args.indexOf("mcp") + 1)
        : args),
    ],
    env,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  // Ctrl-C reaches the child directly (same process group); the launcher
  // only has to survive it. A client stopping its MCP server signals the
  // launcher alone, so SIGTERM and SIGHUP are passed on.
  Deno.addSignalListener("SIGINT", () => {});
  for (const signal of ["SIGTERM", "SIGHUP"] as const) {
    Deno.addSignalListener(signal, () => {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
    });
  }
  const status = await child.status;
  return status.signal ? 128 + signalNumber(status.signal) : status.code;
}

function signalNumber(signal: Deno.Signal): number {
  const numbers: Partial<Record<Deno.Signal, number>> = {
    SIGHUP: 1,
    SIGINT: 2,
    SIGKILL: 9,
    SIGTERM: 15,
  };
  return numbers[signal] ?? 1;
}

if (import.meta.main) Deno.exit(await main());
