/**
 * `c2c setup <client>` / `c2c unsetup <client>`: gathers the options, plans
 * and applies the change (`setup/`), prints what happened. Loaded only for
 * these commands, since the config editors bring npm packages with them.
 *
 * @module
 */

import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { resolveBrokerRoot } from "../lib/root.ts";
import { natsConfigFromEnv } from "../lib/store/nats/url.ts";
import type { WakePath } from "../lib/wake_info.ts";
import { type ClientName, CLIENTS } from "../setup/launch.ts";
import {
  applySetup,
  type FileOutcome,
  planSetup,
  setupStamp,
} from "../setup/setup.ts";
import { UsageError } from "./args.ts";
import { CliError, type Context } from "./context.ts";
import { count, toJson } from "./format.ts";

const RESTART: Record<ClientName, string> = {
  "claude-code": "Claude Code",
  codex: "Codex",
  opencode: "OpenCode",
  gemini: "Gemini CLI",
  kimi: "Kimi Code",
  crush: "Crush",
};

function readText(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** Where Deno keeps its cache, so the server finds its npm packages. */
function denoDir(ctx: Context, home: string): string {
  return ctx.env("DENO_DIR") ??
    join(ctx.env("XDG_CACHE_HOME") ?? join(home, ".cache"), "deno");
}

/**
 * Runs `setup` (or `unsetup`).
 *
 * Requires read/write on the client's config files (granted by the launcher
 * from `setup/paths.ts`), `--allow-sys=hostname`, and `--allow-run=git` for
 * `--target-dir`.
 *
 * @param ctx The command context.
 * @param uninstall Remove instead of add.
 * @returns The exit status.
 */
export async function runSetupCommand(
  ctx: Context,
  uninstall: boolean,
): Promise<number> {
  const client = ctx.positionals[0] as ClientName;
  if (!CLIENTS.includes(client)) {
    throw new UsageError(
      ctx.spec.name,
      `unknown client '${client}'; choose one of ${CLIENTS.join(", ")}`,
    );
  }
  const home = ctx.env("HOME");
  if (!home) throw new CliError("invalid_argument", "HOME is not set");
  const target = ctx.values["target-dir"];
  const targetDir = typeof target === "string" ? resolve(target) : null;
  // Pin the broker root where the client cannot find it itself: a project
  // config belongs to that project's broker, and Codex starts its servers in
  // ~/.codex, outside any repository.
  let root: string | null = null;
  if (targetDir) {
    root = (await resolveBrokerRoot({ cwd: targetDir, envRoot: "" })).root;
  } else if (client === "codex") {
    root = ctx.env("C2C_MCP_BROKER_ROOT") ??
      (await resolveBrokerRoot()).root;
  }
  const alias = ctx.values.alias;
  const rewake = ctx.values.rewake === true;
  if (rewake && client !== "claude-code") {
    throw new UsageError(
      ctx.spec.name,
      `--rewake is Claude Code's asyncRewake wake; ${client} has its own`,
    );
  }
  if (rewake && ctx.values["no-wake"] === true) {
    throw new UsageError(ctx.spec.name, "--rewake and --no-wake contradict");
  }
  const broker = await brokerEnv(ctx, client, targetDir);
  const plan = planSetup({
    client,
    uninstall,
    broker,
    alias: typeof alias === "string" ? alias : undefined,
    noAlias: ctx.values["no-alias"] === true,
    noWake: ctx.values["no-wake"] === true,
    rewake,
    force: ctx.values.force === true,
    targetDir,
    root,
    home,
    env: ctx.env,
    deno: Deno.execPath(),
    denoDir: denoDir(ctx, home),
    repo: fileURLToPath(new URL("../", import.meta.url)).replace(/\/$/, ""),
    user: ctx.env("USER") ?? ctx.env("LOGNAME") ?? "user",
    host: hostname(),
  }, readText);
  const dryRun = ctx.values["dry-run"] === true;
  const files = applySetup(plan, {
    dryRun,
    stamp: ctx.env("C2C_SETUP_STAMP") ?? setupStamp(new Date()),
  });
  const changed = files.some((f) => f.status !== "unchanged");
  const result = {
    ...plan,
    changes: undefined,
    dry_run: dryRun,
    changed,
    files,
  };
  delete result.changes;
  if (ctx.json) {
    ctx.print(toJson(result));
    return 0;
  }
  ctx.print(
    describe(client, plan.action, plan.alias, root, plan.wake, files, dryRun),
  );
  if (broker && plan.action === "install") {
    const config = natsConfigFromEnv({ get: (name) => broker[name] })!;
    ctx.print(
      `store: NATS at ${config.display}, namespace ${
        broker.C2C_BROKER_NAMESPACE ??
          "from each repository's origin remote (else 'default')"
      }; check with: c2c health`,
    );
  }
  for (const note of plan.notes) ctx.print(`note: ${note}`);
  if (changed && !dryRun) {
    ctx.print(
      plan.action === "install"
        ? `restart ${
          RESTART[client]
        } to pick it up; undo with: c2c setup --uninstall ${client}`
        : `restart ${RESTART[client]} to drop c2c`,
    );
  }
  return 0;
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "host"; // without --allow-sys=hostname
  }
}

function describe(
  client: ClientName,
  action: "install" | "uninstall",
  alias: string | null,
  root: string | null,
  wake: WakePath | null,
  files: FileOutcome[],
  dryRun: boolean,
): string {
  const lines: string[] = [];
  if (action === "install") {
    lines.push(
      `c2c setup ${client}: alias ${
        alias ?? "(none: register from the agent)"
      }; broker root ${root ?? "found per project by git"}; idle wake ${
        wake ?? "none (use 'c2c run')"
      }`,
    );
  } else {
    lines.push(`c2c setup --uninstall ${client}`);
  }
  const changed = files.filter((f) => f.status !== "unchanged");
  if (changed.length === 0) {
    lines.push(
      action === "install"
        ? "already configured; nothing changed"
        : "c2c is not configured there; nothing changed",
    );
    return lines.join("\n");
  }
  const verb = dryRun ? "would be " : "";
  for (const f of changed) {
    lines.push(`  ${verb}${f.status} ${f.path} (${f.summary.join(", ")})`);
    if (f.backup) lines.push(`    previous version saved as ${f.backup}`);
    if (f.diff) lines.push(f.diff.replace(/^/gm, "    "));
  }
  if (dryRun) {
    lines.push(`dry run: ${count(changed.length, "file")} left as they are`);
  }
  return lines.join("\n");
}

/**
 * The NATS store's variables for the client's config and hooks, from
 * `--broker-url`, `--namespace`, `--creds` and `--ca`, checked now so a bad
 * URL is refused before any file changes. Codex starts its servers in
 * `~/.codex`, and a project config belongs to one project, so for those the
 * namespace is pinned now (from the repository's `origin` remote) unless
 * given; other clients' servers find it per project.
 */
async function brokerEnv(
  ctx: Context,
  client: ClientName,
  targetDir: string | null,
): Promise<Record<string, string> | null> {
  const value = (name: string) => {
    const v = ctx.values[name];
    return typeof v === "string" ? v : undefined;
  };
  const url = value("broker-url");
  if (url === undefined) {
    for (const name of ["namespace", "creds", "ca"]) {
      if (value(name) !== undefined) {
        throw new UsageError(ctx.spec.name, `--${name} needs --broker-url`);
      }
    }
    return null;
  }
  const env: Record<string, string> = { C2C_BROKER_URL: url };
  const files: [string, string][] = [["creds", "C2C_NATS_CREDS"], [
    "ca",
    "C2C_NATS_CA",
  ]];
  for (const [flag, name] of files) {
    const file = value(flag);
    if (file !== undefined) env[name] = resolve(file);
  }
  let namespace = value("namespace");
  if (namespace === undefined && (client === "codex" || targetDir)) {
    const { resolveNamespace } = await import(
      "../lib/store/nats/namespace.ts"
    );
    namespace = (await resolveNamespace({
      env: "",
      cwd: targetDir ?? Deno.cwd(),
    })).namespace;
  }
  if (namespace !== undefined) env.C2C_BROKER_NAMESPACE = namespace;
  natsConfigFromEnv({ get: (name) => env[name] }); // throws a clear error
  return env;
}
