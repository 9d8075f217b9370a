/**
 * One handler per `c2c` command: read the arguments, make one call into the
 * library, print the result (as text, or the result object with `--json`).
 * Logic beyond that lives in `lib/`.
 *
 * @module
 */

import type { Broker } from "../lib/broker.ts";
import { claimsOf } from "../lib/claims.ts";
import { formatDuration, parseDuration } from "../lib/duration.ts";
import { MAX_SHELL_WAIT_S } from "../lib/wait.ts";
import { sessionPlace } from "../lib/status.ts";
import { renderEnvelope, renderEnvelopes } from "../lib/envelope.ts";
import { describeError } from "../lib/errors.ts";
import type { HookClient } from "../lib/hook.ts";
import type {
  ClientConfig,
  HealthReport,
  HealthStatus,
} from "../lib/health.ts";
import type { Message, RoomMessage } from "../lib/message.ts";
import { resolveCliSession } from "../lib/session.ts";
import { wakeCell } from "../lib/wake_info.ts";
import type {
  ClaimConflict,
  ClaimInfo,
  GcResult,
  MessageStatus,
  SweepResult,
} from "../lib/types.ts";
import { intOption, UsageError } from "./args.ts";
import {
  actingAs,
  CLI_WORDING,
  CliError,
  type Context,
  readAtMost,
  resolveRoot,
  shellIdentityAdvice,
  statedAlias,
} from "./context.ts";
import {
  type Colour,
  count,
  inert,
  inertFields,
  livenessWord,
  relativeTime,
  roomLine,
  table,
  toJson,
} from "./format.ts";

const HOOK_CLIENT_NAMES: ReadonlySet<string> = new Set([
  "claude-code",
  "codex",
  "gemini",
]);

function isHookClient(name: string | undefined): name is HookClient {
  return name !== undefined && HOOK_CLIENT_NAMES.has(name);
}

async function setup(ctx: Context, uninstall: boolean): Promise<number> {
  // Loaded only for this command: the config editors pull in npm packages.
  const { runSetupCommand } = await import("./setup_command.ts");
  return runSetupCommand(ctx, uninstall);
}

/**
 * `c2c hook claude-code --rewake`: Claude Code's asyncRewake waiter. Exits
 * 2 (which wakes the session) only after writing messages to stderr, and 0
 * in every other case.
 */
async function rewake(
  ctx: Context,
  stdinSession: string | undefined,
): Promise<number> {
  const sessionId = ctx.optionalSession() ?? stdinSession;
  if (!sessionId) return 0;
  const broker = await ctx.broker();
  const { REWAKE_EXIT, waitToRewake } = await import("../wake/rewake.ts");
  // Claude Code ends its hooks with SIGTERM as it exits; the waiter must
  // not die between taking messages and writing them, so it stops itself.
  const stop = new AbortController();
  const signals = ["SIGTERM", "SIGINT", "SIGHUP"] as const;
  const onSignal = () => stop.abort();
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  try {
    const outcome = await waitToRewake({
      broker,
      sessionId,
      signal: stop.signal,
      write: writeStderr,
    });
    return outcome.kind === "delivered" ? REWAKE_EXIT : 0;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  }
}

async function writeStderr(text: string): Promise<void> {
  const bytes = new TextEncoder().encode(
    text.endsWith("\n") ? text : text + "\n",
  );
  let written = 0;
  while (written < bytes.length) {
    written += await Deno.stderr.write(bytes.subarray(written));
  }
}

/** `PATH: HOLDER holds HELD (exclusive, 5m ago): "reason"`. */
function conflictText(c: ClaimConflict, now: Date): string {
  return `${c.path}: ${c.holder} holds ${c.held_path} (${
    c.exclusive ? "exclusive" : "shared"
  }, since ${relativeTime(c.since, now)}): "${c.reason}"`;
}

/** What the guard prints when a commit touches claimed files. */
function guardCheckText(
  blocked: readonly ClaimConflict[],
  checked: number,
  warn: boolean,
): string {
  if (blocked.length === 0) {
    return `${
      count(checked, "file")
    } checked: none is claimed by another agent`;
  }
  const now = new Date();
  const holders = [...new Set(blocked.map((b) => b.holder))];
  return [
    warn
      ? "c2c guard: warning: this commit touches files another agent claimed (committing anyway: C2C_GUARD=warn):"
      : "c2c guard: commit refused: it touches files another agent claimed:",
    ...blocked.map((b) => `  ${conflictText(b, now)}`),
    ...(warn ? [] : [
      `Ask ${holders.join(", ")} (c2c send ${
        holders[0]
      } …), or wait for the release (c2c claims).`,
      "To commit anyway: C2C_GUARD=warn git commit …, or git commit --no-verify.",
    ]),
  ].join("\n");
}

/** Most bytes of file names `guard check --stdin` reads. */
const GUARD_STDIN_BYTES = 64 * 1024 * 1024;

/**
 * The committing session, whose own claims never stop its commits: the
 * session id the environment names, else the session registered under
 * `--alias` / `C2C_ALIAS`. Only compared, never acted as: no borrowing
 * check.
 */
async function committer(ctx: Context, broker: Broker): Promise<string | null> {
  const own = ctx.optionalSession();
  if (own) return own;
  const alias = ctx.alias();
  if (!alias) return null;
  return (await broker.registrationByAlias(alias))?.session_id ?? null;
}

/** What `c2c guard install` / `uninstall` did. */
interface GuardSetup {
  /** `installed`, `already`, `uninstalled` or `absent`. */
  status: string;
  /** The hooks directory git uses. */
  hooks_dir: string;
  /** The guard's pre-commit hook. */
  hook: string;
  /** Where the earlier pre-commit hook went (it runs after the guard). */
  chained: string | null;
  /** The earlier hook, put back by uninstall. */
  restored: string | null;
  /** Whether the hooks directory comes from core.hooksPath. */
  hooks_path: boolean;
}

/**
 * Runs `bin/c2c-guard install|uninstall`, which edits the hooks directory
 * in shell (the only thing these commands may run), and reads its report.
 */
async function runGuardScript(action: string): Promise<GuardSetup> {
  // Loaded only here: the permission table pulls in the NATS URL parser.
  const { guardScript } = await import("../lib/permissions.ts");
  const out = await new Deno.Command(guardScript(), {
    args: [action],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b).trim();
  if (!out.success) {
    const why = decode(out.stderr).replace(/^c2c guard: /, "");
    throw new CliError("guard", why || `bin/c2c-guard ${action} failed`);
  }
  const fields = new Map<string, string>();
  for (const line of decode(out.stdout).split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) fields.set(line.slice(0, at), line.slice(at + 1));
  }
  const field = (name: string) => fields.get(name) || null;
  return {
    status: field("status") ?? "unknown",
    hooks_dir: field("hooks_dir") ?? "",
    hook: field("hook") ?? "",
    chained: field("chained"),
    restored: field("restored"),
    hooks_path: field("hooks_path") === "1",
  };
}

function guardText(r: GuardSetup): string {
  const where = r.hooks_path
    ? " (core.hooksPath: every repository using that directory is guarded)"
    : "";
  switch (r.status) {
    case "installed":
    case "already":
      return `${
        r.status === "installed" ? "installed" : "already installed:"
      } the c2c guard as ${r.hook}${where}` +
        (r.chained
          ? `\nthe earlier pre-commit hook runs after it: ${r.chained}`
          : "");
    case "uninstalled":
      return `removed the c2c guard from ${r.hook}` +
        (r.restored ? "; the earlier pre-commit hook is back" : "");
    default:
      return `no c2c guard in ${r.hooks_dir}; nothing to remove`;
  }
}

/** A command handler; resolves to the exit status. */
export type Handler = (ctx: Context) => Promise<number>;

/** Default seconds between `broker-gc` rounds. */
export const DEFAULT_GC_INTERVAL_S = 60;

function str(ctx: Context, name: string): string | undefined {
  const v = ctx.values[name];
  return typeof v === "string" ? v : undefined;
}

/**
 * Prints `result` as JSON (exact bytes), or the text `render` makes of it.
 * `render` gets a copy whose every string is inert ({@linkcode inertFields}):
 * no alias, client name, path or body can drive the user's terminal. Colour
 * is added by the renderer after that, so it survives.
 */
function emit<T>(ctx: Context, result: T, render: (r: T) => string): number {
  ctx.print(ctx.json ? toJson(result) : render(inertFields(result)));
  return 0;
}

// Inert here too, whatever `emit` was given: envelopes are the output an
// attacker writes most of.
function envelopes(messages: readonly Message[]): string {
  return messages.length === 0
    ? "(no messages)"
    : inert(messages.map(renderEnvelope).join("\n"), { lines: true });
}

function roomLines(messages: readonly RoomMessage[]): string {
  return messages.length === 0
    ? "(no messages)"
    : messages.map(roomLine).join("\n");
}

function aliveCell(alive: boolean | null): { text: string; colour: Colour } {
  return {
    text: livenessWord(alive),
    colour: alive === null ? "dim" : alive ? "green" : "red",
  };
}

/** The client pid to record for a new CLI registration. */
function clientPid(ctx: Context): number {
  const pid = Number(ctx.env("C2C_MCP_CLIENT_PID") ?? "");
  return Number.isInteger(pid) && pid > 0 ? pid : Deno.ppid;
}

async function join(ctx: Context): Promise<number> {
  const broker = await ctx.broker();
  const result = await broker.joinRoom(await ctx.session(broker), {
    room_id: ctx.positionals[0],
    alias: statedAlias(ctx.values),
    history_limit: intOption(ctx.values, "history-limit", ctx.spec.name),
  });
  return emit(
    ctx,
    result,
    (r) =>
      `${r.already_member ? "already in" : "joined"} room ${r.room_id} (${
        count(r.member_count, "member")
      })` + (r.history.length ? "\n" + roomLines(r.history) : ""),
  );
}

/** Where each client keeps what `c2c setup` writes, for `health`. */
async function clientConfigs(ctx: Context): Promise<ClientConfig[]> {
  const home = ctx.env("HOME");
  if (!home) return [];
  const paths = await import("../setup/paths.ts");
  const at = { home, env: ctx.env, targetDir: null };
  const codex = paths.codexHome(at);
  return [
    {
      client: "claude-code",
      server: paths.claudeStateFile(at),
      hooks: paths.claudeSettingsFile(at),
    },
    {
      client: "codex",
      server: `${codex}/config.toml`,
      hooks: `${codex}/hooks.json`,
    },
    {
      client: "opencode",
      server: paths.opencodeFile(at),
      plugin: paths.opencodePluginFile(at),
    },
    {
      client: "gemini",
      server: paths.geminiSettingsFile(at),
      hooks: paths.geminiSettingsFile(at),
    },
    { client: "kimi", server: paths.kimiFile(at) },
    { client: "crush", server: paths.crushFile(at) },
  ];
}

async function myRooms(ctx: Context): Promise<number> {
  const broker = await ctx.broker();
  const result = await broker.myRooms(await ctx.session(broker), {
    alias: statedAlias(ctx.values),
  });
  return emit(
    ctx,
    result,
    (r) =>
      r.rooms.length === 0 ? "not in any room" : table(
        ["ROOM", "MEMBERS"],
        r.rooms.map((x) => [x.room_id, String(x.member_count)]),
        ctx.paint,
      ),
  );
}

function sweepText(r: SweepResult | GcResult, dryRun = false): string {
  const would = dryRun ? "would remove" : "removed";
  const parts: string[] = [];
  if (r.removed_registrations > 0) {
    parts.push(
      `${would} ${count(r.removed_registrations, "registration")}: ${
        r.removed.map((x) => `${x.alias} (${x.reason})`).join(", ")
      }`,
    );
  }
  if (r.rescued_messages > 0) {
    parts.push(
      `${dryRun ? "would rescue" : "rescued"} ${
        count(r.rescued_messages, "message")
      } to dead-letter.jsonl`,
    );
  }
  if (r.orphan_inboxes > 0) {
    parts.push(`${count(r.orphan_inboxes, "orphan inbox")}`.replace(
      "inboxs",
      "inboxes",
    ));
  }
  if ("purged_dead_letters" in r) {
    if (r.purged_dead_letters > 0) {
      parts.push(
        `${dryRun ? "would purge" : "purged"} ${
          count(r.purged_dead_letters, "dead letter")
        }`,
      );
    }
    if (r.removed_lock_files > 0) {
      parts.push(`removed ${count(r.removed_lock_files, "idle lock file")}`);
    }
  }
  return parts.length === 0 ? "nothing to remove" : parts.join("; ");
}

const STATUS_TEXT: Record<HealthStatus, [string, Colour]> = {
  ok: ["ok", "green"],
  warn: ["warn", "yellow"],
  fail: ["FAIL", "red"],
  unknown: ["?", "dim"],
};

/** Runs `broker-gc` rounds until stopped. */
async function gcLoop(ctx: Context): Promise<number> {
  const broker = await ctx.broker();
  const once = ctx.values.once === true;
  const dryRun = ctx.values["dry-run"] === true;
  const duration = (name: string) => {
    const v = str(ctx, name);
    if (v === undefined) return undefined;
    try {
      return parseDuration(v, `--${name}`);
    } catch (e) {
      throw new UsageError(ctx.spec.name, (e as Error).message);
    }
  };
  const intervalMs = duration("interval") ?? DEFAULT_GC_INTERVAL_S * 1000;
  if (intervalMs <= 0) {
    throw new UsageError(ctx.spec.name, "--interval must be more than 0");
  }
  const options = {
    dryRun,
    leaselessTtlMs: duration("ttl"),
    deadLetterTtlMs: duration("dead-letter-ttl"),
  };
  const round = async () => {
    const result = await broker.gc(options);
    ctx.print(
      ctx.json
        ? toJson(result)
        : once
        ? sweepText(inertFields(result), dryRun)
        : `${new Date().toISOString()} ${
          sweepText(inertFields(result), dryRun)
        }`,
    );
  };
  if (once) {
    await round();
    return 0;
  }
  // Stop between rounds on SIGINT/SIGTERM: a round itself is synchronous
  // under its locks, so it always completes.
  const stop = Promise.withResolvers<void>();
  const signals = ["SIGINT", "SIGTERM"] as const;
  const onSignal = () => stop.resolve();
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  if (!ctx.json) {
    ctx.print(
      `broker-gc: every ${formatDuration(intervalMs)}${
        dryRun ? " (dry run)" : ""
      } on ${inert(broker.root)}; Ctrl-C stops`,
    );
  }
  try {
    let stopped = false;
    stop.promise.then(() => stopped = true);
    while (!stopped) {
      await round();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        stop.promise,
        new Promise((r) => timer = setTimeout(r, intervalMs)),
      ]);
      clearTimeout(timer);
    }
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  }
  return 0;
}

/** About how much one `poll-inbox` / `peek-inbox` prints at most. */
export const CLI_INBOX_BYTES = 8 * 1024 * 1024;

/**
 * Bounds of what `poll-inbox` and `peek-inbox` print: `--limit` (default
 * 500) and about {@linkcode CLI_INBOX_BYTES}, so a backlog never becomes one
 * output too big to print (or, in JSON, too big for one string).
 */
function cliInboxBounds(ctx: Context): { limit: number; maxBytes: number } {
  return {
    limit: intOption(ctx.values, "limit", ctx.spec.name) ?? 500,
    maxBytes: CLI_INBOX_BYTES,
  };
}

/** `c2c status`: one line per message, never any content. */
function statusText(statuses: readonly MessageStatus[]): string {
  if (statuses.length === 0) return "(no sent messages)";
  return statuses.map((s) => {
    const to = s.room_id !== undefined ? `room ${s.room_id}` : s.to_alias;
    const parts = [s.id, s.state];
    if (to !== undefined) parts.push(`to ${to}`);
    if (s.state === "delivered") {
      parts.push(`via ${s.via} at ${s.delivered_at}`);
    } else if (s.expires_at !== undefined) {
      parts.push(
        `${s.state === "expired" ? "expired" : "expires"} ${s.expires_at}`,
      );
    }
    return parts.join("  ");
  }).join("\n");
}

function inboxText(messages: readonly Message[], remaining: number): string {
  const text = envelopes(messages);
  return remaining > 0
    ? `${text}\n(${count(remaining, "more message")} waiting: run it again)`
    : text;
}

/** Every runnable command, by full name. */
export const HANDLERS: Record<string, Handler> = {
  async register(ctx) {
    const broker = await ctx.broker();
    const alias = ctx.alias();
    const fromEnv = resolveCliSession(str(ctx, "session-id"), ctx.env);
    let source = ctx.positionals[0] ? "flag" as const : fromEnv?.source;
    let sessionId = ctx.positionals[0] ?? fromEnv?.sessionId;
    if (!sessionId && alias) {
      // No session id anywhere: the alias names the session, as
      // C2C_MCP_AUTO_REGISTER_ALIAS does for the server (docs/design.md#identity).
      sessionId = (await broker.registrationByAlias(alias))?.session_id ??
        alias;
      source = "alias";
    }
    // A bare `c2c register` from a shell: a new session with a generated
    // alias, which the output tells how to use.
    const generated = !sessionId || !source;
    if (!sessionId || !source) {
      sessionId = `shell-${crypto.randomUUID()}`;
      source = "generated";
    }
    // Refreshing or renaming someone else's live session is borrowing it.
    await actingAs(broker, { sessionId, source });
    // A refresh keeps what the session's own client recorded.
    const known = (await broker.registration(sessionId)) !== undefined;
    const result = await broker.register(sessionId, {
      alias,
      client: str(ctx, "client") ?? (known ? undefined : "cli"),
      pid: known ? undefined : clientPid(ctx),
      leased: false,
      ...(known ? {} : sessionPlace(ctx.env)),
    });
    return emit(ctx, result, (r) => {
      const head = {
        registered: `registered ${r.alias}`,
        already_registered: `refreshed ${r.alias}`,
        renamed: `renamed ${r.previous_alias} to ${r.alias}`,
        taken_over:
          `took over ${r.alias} from dead session ${r.replaced_session_id}`,
      }[r.status];
      return `${head} (session ${r.session_id})` +
        (r.redelivered
          ? `; ${count(r.redelivered, "message")} redelivered`
          : "") +
        (generated || source === "alias"
          ? `\nact as ${r.alias}: pass --alias ${r.alias} to each command, or export C2C_ALIAS=${r.alias}`
          : "");
    });
  },

  async whoami(ctx) {
    const broker = await ctx.broker();
    const result = await broker.whoami(
      await ctx.session(broker, ctx.positionals[0]),
    );
    return emit(ctx, result, (r) =>
      [
        ["alias", r.alias],
        ["session_id", r.session_id],
        [
          "alive",
          livenessWord(r.alive) + (r.alive === null ? " (no lease)" : ""),
        ],
        ["client", r.client ?? "-"],
        ["pid", r.pid === null ? "-" : String(r.pid)],
        [
          "registered_at",
          `${r.registered_at} (${relativeTime(r.registered_at)})`,
        ],
        ["last_seen", `${r.last_seen} (${relativeTime(r.last_seen)})`],
      ].map(([k, v]) => `${k.padEnd(13)} ${v}`).join("\n"));
  },

  async list(ctx) {
    const broker = await ctx.broker();
    const result = await claimsOf(broker).withCounts(
      await broker.list({ all: ctx.values.all === true }),
    );
    const now = new Date();
    return emit(
      ctx,
      result,
      (r) =>
        r.peers.length === 0 ? "no peers registered" : table(
          [
            "ALIAS",
            "ALIVE",
            "PENDING",
            "CLAIMS",
            "CLIENT",
            "WAKE",
            "PID",
            "SESSION",
            "LAST SEEN",
            "BRANCH",
            "STATUS",
          ],
          r.peers.map((p) => [
            p.alias ?? "(unregistered)",
            aliveCell(p.alive),
            String(p.pending),
            p.claims === undefined ? "-" : String(p.claims),
            p.client ?? "-",
            wakeCell(p.wake),
            p.pid === null ? "-" : String(p.pid),
            p.session_id,
            p.last_seen === null ? "-" : relativeTime(p.last_seen, now),
            p.git_branch ?? "-",
            p.status ?? "-",
          ]),
          ctx.paint,
        ),
    );
  },

  async send(ctx) {
    const broker = await ctx.broker();
    // The message first: a usage error (an empty message) is reported as
    // one even when the session is missing too.
    const content = await ctx.message(1);
    const r = await broker.send(await ctx.session(broker), {
      to_alias: ctx.positionals[0],
      content,
      from_alias: statedAlias(ctx.values),
      reply_to: str(ctx, "reply-to"),
    });
    return emit(
      ctx,
      r,
      (x) =>
        x.recipient_alive === false
          ? `queued for ${x.to_alias} (id ${x.id}): not alive now; it gets it when a session takes the alias, until ${x.expires_at}`
          : `sent to ${x.to_alias} (id ${x.id})`,
    );
  },

  async "send-all"(ctx) {
    const broker = await ctx.broker();
    const content = await ctx.message(0);
    const result = await broker.sendAll(await ctx.session(broker), {
      content,
      from_alias: statedAlias(ctx.values),
    });
    return emit(ctx, result, (r) => {
      const lines = [
        r.sent_to.length === 0
          ? "no live peers to send to"
          : `sent to ${count(r.sent_to.length, "peer")}: ${
            r.sent_to.map((s) => s.to_alias).join(", ")
          }`,
      ];
      for (const s of r.skipped) lines.push(`skipped ${s.alias} (${s.reason})`);
      return lines.join("\n");
    });
  },

  async "poll-inbox"(ctx) {
    const broker = await ctx.broker();
    const { deliver } = await import("../lib/delivery.ts");
    // Show first, take after, like the hooks: a poller killed between the
    // two leaves what it printed pending (printed again next time), and
    // never takes what it did not print.
    let shown = false;
    const r = await deliver(broker, await ctx.session(broker), {
      order: "show-then-take",
      via: "poll",
      bounds: cliInboxBounds(ctx),
      show: (batch) => {
        shown = true;
        emit(ctx, batch, () => inboxText(batch.messages, batch.remaining));
      },
    });
    if (r.error !== undefined) throw r.error;
    if (shown) return 0;
    return emit(
      ctx,
      { messages: [], remaining: r.remaining },
      () => envelopes([]),
    );
  },

  async wait(ctx) {
    const broker = await ctx.broker();
    const timeout = str(ctx, "timeout");
    const abort = new AbortController();
    // Ctrl-C gives up the wait: it takes nothing (docs/design.md#conversations).
    const signals = ["SIGINT", "SIGTERM"] as const;
    const onSignal = () => abort.abort();
    for (const s of signals) Deno.addSignalListener(s, onSignal);
    try {
      const r = await broker.waitForMessage(await ctx.session(broker), {
        from_alias: str(ctx, "from"),
        room_id: str(ctx, "room"),
        reply_to: str(ctx, "reply-to"),
        timeout_s: timeout === undefined
          ? undefined
          : parseDuration(timeout, "--timeout") / 1000,
      }, {
        signal: abort.signal,
        bounds: cliInboxBounds(ctx),
        maxTimeoutS: MAX_SHELL_WAIT_S,
      });
      emit(
        ctx,
        r,
        () =>
          r.timed_out
            ? `(no matching message came; ${
              count(r.remaining, "other message")
            } waiting)`
            : inboxText(r.messages, r.remaining),
      );
      return r.timed_out ? 3 : 0;
    } finally {
      for (const s of signals) Deno.removeSignalListener(s, onSignal);
    }
  },

  async "set-status"(ctx) {
    const broker = await ctx.broker();
    const text = ctx.positionals.join(" ");
    if (ctx.values.clear !== true && text.trim() === "") {
      throw new UsageError(
        ctx.spec.name,
        "say what you are working on (one line), or --clear to remove your status",
      );
    }
    const r = await broker.setStatus(await ctx.session(broker), {
      status: ctx.values.clear === true ? "" : text,
    });
    return emit(
      ctx,
      r,
      (x) =>
        x.status === null
          ? `cleared the status of ${x.alias}`
          : `${x.alias}: ${x.status}`,
    );
  },

  async search(ctx) {
    const broker = await ctx.broker();
    const r = await broker.searchMessages(await ctx.session(broker), {
      query: ctx.positionals.join(" "),
      limit: intOption(ctx.values, "limit", ctx.spec.name),
    });
    const now = new Date();
    return emit(ctx, r, (x) => {
      if (x.hits.length === 0) return `no messages match '${x.query}'`;
      const lines = x.hits.map((h) =>
        `${relativeTime(h.ts, now)}  ${h.from_alias} → ${
          h.room_id !== undefined ? `#${h.room_id}` : h.to_alias ?? "?"
        }  ${inert(h.content)}${h.truncated ? " …" : ""}  (id ${h.id})`
      );
      if (x.more) lines.push("(more match: raise --limit or narrow the query)");
      return lines.join("\n");
    });
  },

  async "peek-inbox"(ctx) {
    const broker = await ctx.broker();
    const r = await broker.peekInbox(
      await ctx.session(broker),
      cliInboxBounds(ctx),
    );
    return emit(ctx, r, () => inboxText(r.messages, r.remaining));
  },

  async history(ctx) {
    const broker = await ctx.broker();
    const r = await broker.history(await ctx.session(broker), {
      limit: intOption(ctx.values, "limit", ctx.spec.name),
      peer: str(ctx, "peer"),
      thread_id: str(ctx, "thread"),
    });
    return emit(ctx, r, () => envelopes(r.messages));
  },

  async status(ctx) {
    const broker = await ctx.broker();
    const r = await broker.messageStatus(await ctx.session(broker), {
      ids: ctx.positionals.length > 0 ? ctx.positionals : undefined,
      last: intOption(ctx.values, "last", ctx.spec.name),
    });
    return emit(ctx, r, (x) => statusText(x.messages));
  },

  init: join,
  "room init": join,
  "room join": join,

  async claim(ctx) {
    const broker = await ctx.broker();
    const reason = str(ctx, "reason");
    if (reason === undefined) {
      throw new UsageError(
        ctx.spec.name,
        "missing --reason: say why you claim these files (peers and the commit guard show it)",
      );
    }
    const ttl = str(ctx, "ttl");
    const result = await claimsOf(broker).claim(await ctx.session(broker), {
      paths: ctx.positionals,
      reason,
      exclusive: ctx.values.shared !== true,
      ttl_s: ttl === undefined
        ? undefined
        : Math.max(1, Math.ceil(parseDuration(ttl, "--ttl") / 1000)),
    });
    emit(ctx, result, (r) => {
      const now = new Date();
      const lines: string[] = [];
      for (const g of r.granted) {
        const others = r.shared_with.filter((s) =>
          s.session_id !== g.session_id
        );
        lines.push(
          `claimed ${g.path} (${g.exclusive ? "exclusive" : "shared"}${
            g.expires_at ? `, until ${g.expires_at}` : ""
          })` +
            (!g.exclusive && others.length > 0
              ? `; shared with ${
                [...new Set(others.map((o) => o.holder))].join(", ")
              }`
              : ""),
        );
      }
      for (const c of r.conflicts) {
        lines.push(`not claimed ${conflictText(c, now)}`);
      }
      if (r.notified.length > 0) {
        lines.push(`told ${r.notified.join(", ")} that you asked`);
      }
      return lines.join("\n");
    });
    return result.conflicts.length === 0 ? 0 : 1;
  },

  async release(ctx) {
    const broker = await ctx.broker();
    const result = await claimsOf(broker).release(await ctx.session(broker), {
      paths: ctx.positionals,
    });
    return emit(ctx, result, (r) => {
      const lines = [
        r.released.length === 0
          ? "nothing to release"
          : `released ${r.released.join(", ")}`,
      ];
      if (r.not_held.length > 0) {
        lines.push(`not yours: ${r.not_held.join(", ")}`);
      }
      return lines.join("\n");
    });
  },

  async claims(ctx) {
    const broker = await ctx.broker();
    const result = await claimsOf(broker).list({ path: ctx.positionals[0] });
    const now = new Date();
    return emit(
      ctx,
      result,
      (r) =>
        r.claims.length === 0 ? "no live claims" : table(
          ["PATH", "HOLDER", "MODE", "SINCE", "EXPIRES", "REASON"],
          r.claims.map((c: ClaimInfo) => [
            c.path,
            c.holder,
            c.exclusive ? "exclusive" : "shared",
            relativeTime(c.since, now),
            c.expires_at === null ? "-" : relativeTime(c.expires_at, now),
            c.reason,
          ]),
          ctx.paint,
        ),
    );
  },

  async guard(ctx) {
    const [action, ...files] = ctx.positionals;
    if (action !== "check") {
      if (files.length > 0) {
        throw new UsageError(
          ctx.spec.name,
          `unexpected argument '${files[0]}' (only check takes files)`,
        );
      }
      return emit(ctx, await runGuardScript(action), guardText);
    }
    const broker = await ctx.broker();
    let names = files;
    if (ctx.values.stdin === true) {
      const input = new TextDecoder().decode(
        await readAtMost(Deno.stdin, GUARD_STDIN_BYTES),
      );
      names = [...files, ...input.split("\0").filter((n) => n !== "")];
    }
    const warn = ctx.values.warn === true;
    let result;
    try {
      result = await claimsOf(broker).check(
        names,
        await committer(ctx, broker),
      );
    } catch (e) {
      // The guard is advisory: say what went wrong and how to commit anyway.
      const why = e instanceof Error
        ? describeError(e, CLI_WORDING)
        : String(e);
      if (warn) {
        ctx.print(inert(`c2c guard: warning: claims not checked: ${why}`));
        return 0;
      }
      throw new CliError(
        "guard",
        `claims could not be checked: ${why}; commit anyway with C2C_GUARD=warn git commit … or git commit --no-verify`,
      );
    }
    // As a hook (--stdin), a commit nobody's claim stands in the way of
    // passes silently.
    if (ctx.json || result.blocked.length > 0 || ctx.values.stdin !== true) {
      emit(ctx, result, (r) => guardCheckText(r.blocked, r.checked, warn));
    }
    return result.blocked.length === 0 || warn ? 0 : 1;
  },

  async "room leave"(ctx) {
    const broker = await ctx.broker();
    const result = await broker.leaveRoom(await ctx.session(broker), {
      room_id: ctx.positionals[0],
      alias: statedAlias(ctx.values),
    });
    return emit(
      ctx,
      result,
      (r) =>
        r.left
          ? `left room ${r.room_id} (${count(r.member_count, "member")} left)`
          : `not a member of room ${r.room_id}; nothing to do`,
    );
  },

  async "room send"(ctx) {
    const broker = await ctx.broker();
    const content = await ctx.message(1);
    const result = await broker.sendRoom(await ctx.session(broker), {
      room_id: ctx.positionals[0],
      content,
      from_alias: statedAlias(ctx.values),
    });
    return emit(
      ctx,
      result,
      (r) =>
        r.deduplicated
          ? `not repeated: you posted the same to ${r.room_id} within 60 s (id ${r.id})`
          : `posted to ${r.room_id}: queued for ${
            count(r.queued_count, "member")
          } (id ${r.id})`,
    );
  },

  async "room history"(ctx) {
    const broker = await ctx.broker();
    const roomId = ctx.positionals[0];
    const r = await broker.roomHistory({
      room_id: roomId,
      limit: intOption(ctx.values, "limit", ctx.spec.name),
      offset: intOption(ctx.values, "offset", ctx.spec.name),
    });
    if (r.total === 0) {
      // An empty history may be a typo: say so, rather than "(no messages)".
      const { rooms } = await broker.listRooms();
      if (!rooms.some((x) => x.room_id === roomId)) {
        throw new CliError(
          "unknown_room",
          `no room '${roomId}'${
            rooms.length
              ? `; rooms: ${rooms.map((x) => x.room_id).join(", ")}`
              : "; there are no rooms yet"
          } (a room exists once someone joins it: c2c room join ${roomId})`,
        );
      }
    }
    return emit(ctx, r, (x) => roomLines(x.messages));
  },

  async "room list"(ctx) {
    const broker = await ctx.broker();
    const result = await broker.listRooms();
    return emit(ctx, result, (r) =>
      r.rooms.length === 0 ? "no rooms" : table(
        ["ROOM", "MEMBERS", "MESSAGES"],
        r.rooms.map((x) => [
          x.room_id,
          String(x.member_count),
          String(x.message_count),
        ]),
        ctx.paint,
      ));
  },

  "my-rooms": myRooms,
  "room mine": myRooms,

  async health(ctx) {
    let root: string | null = null;
    let rootError: string | undefined;
    try {
      root = await resolveRoot(ctx.env);
    } catch (e) {
      rootError = (e as Error).message;
    }
    const alias = ctx.alias();
    // Loaded per command: each `c2c` call starts a process, so modules only
    // one command uses stay out of every other command's start-up.
    const { checkHealth } = await import("../lib/health.ts");
    const { natsConfigFromEnv } = await import("../lib/store/nats/url.ts");
    const nats = natsConfigFromEnv({ get: ctx.env });
    const report: HealthReport & { store?: unknown } = checkHealth({
      root,
      rootError,
      sessionId: resolveCliSession(str(ctx, "session-id"), ctx.env)
        ?.sessionId ?? null,
      alias: alias ?? null,
      clients: await clientConfigs(ctx),
      shellAdvice: shellIdentityAdvice(),
      localOnly: nats !== undefined,
    });
    if (nats) {
      const { storeHealth } = await import("../lib/store/nats/health.ts");
      const store = await storeHealth(nats, ctx.env);
      report.store = store;
      report.checks.push(...store.checks);
      report.healthy &&= store.checks.every((c) => c.status !== "fail");
    }
    emit(ctx, report, (r) => {
      const width = Math.max(...r.checks.map((c) => c.name.length));
      const lines = [
        `c2c health: ${
          nats
            ? `NATS store at ${nats.display}; local directory`
            : "broker root"
        } ${r.root ?? "(none)"}`,
      ];
      // Details and fixes were made inert by emit; keep each to its line.
      for (const c of r.checks) {
        const [word, colour] = STATUS_TEXT[c.status];
        lines.push(
          `  ${ctx.paint(colour, word.padEnd(4))}  ${
            c.name.padEnd(width)
          }  ${c.detail}`,
        );
        if (c.fix && c.status !== "ok") {
          lines.push(`        ${" ".repeat(width)}  fix: ${c.fix}`);
        }
      }
      const failed = r.checks.filter((c) => c.status === "fail").length;
      lines.push(
        r.healthy
          ? ctx.paint("green", "healthy")
          : ctx.paint("red", `unhealthy: ${count(failed, "problem")}`),
      );
      return lines.join("\n");
    });
    return report.healthy ? 0 : 1;
  },

  async sweep(ctx) {
    const broker = await ctx.broker();
    const r = await broker.sweep();
    return emit(ctx, r, (x) => sweepText(x));
  },

  "broker-gc": gcLoop,

  async repair(ctx) {
    const broker = await ctx.broker();
    const { repairBroker } = await import("../lib/repair.ts");
    const result = repairBroker(broker.paths, {
      dryRun: ctx.values["dry-run"] === true,
    });
    return emit(ctx, result, (r) => {
      if (r.repaired.length === 0) {
        return "every broker file reads fine; nothing to repair";
      }
      const verb = r.dry_run ? "would move" : "moved";
      return r.repaired.map((a) =>
        `${verb} ${a.path} aside to ${a.moved_to} (${a.problem}); ` +
        `${count(a.salvaged, "readable record")} kept, ${
          count(a.dropped, "unreadable line")
        } only in the copy`
      ).join("\n");
    });
  },

  async "refresh-peer"(ctx) {
    const pid = intOption(ctx.values, "pid", ctx.spec.name, 1);
    if (pid === undefined) {
      throw new UsageError(ctx.spec.name, "missing option --pid N");
    }
    const broker = await ctx.broker();
    const result = await broker.refreshPeer({
      alias: ctx.positionals[0],
      pid,
      isAlive: (await import("../lib/pid.ts")).isPidAlive,
    });
    return emit(
      ctx,
      result,
      (r) => `${r.alias} (session ${r.session_id}) now points at pid ${r.pid}`,
    );
  },

  async "tail-log"(ctx) {
    const broker = await ctx.broker();
    const result = await broker.tailLog({
      limit: intOption(ctx.values, "limit", ctx.spec.name),
    });
    return emit(
      ctx,
      result,
      (r) =>
        r.entries.length === 0 ? "the log is empty" : table(
          ["TS", "OPERATION", "OK", "MS", "ERROR"],
          r.entries.map((e) => [
            e.ts,
            e.tool,
            e.ok ? "ok" : { text: "failed", colour: "red" },
            String(e.ms),
            e.error ?? "",
          ]),
          ctx.paint,
        ),
    );
  },

  async verify(ctx) {
    const broker = await ctx.broker();
    const { verifyExchange } = await import("../lib/verify.ts");
    const result = verifyExchange(broker.paths, {
      transcripts: str(ctx, "transcripts"),
      goal: intOption(ctx.values, "goal", ctx.spec.name),
    });
    emit(ctx, result, (r) => {
      if (r.participants.length === 0) {
        return "no messages exchanged yet";
      }
      const goal = r.goal;
      const withT = r.transcript_files !== null;
      const rows = r.participants.map((p) => [
        p.alias,
        String(p.sent),
        String(p.received),
        ...(withT
          ? [
            `${p.archive.sent}/${p.archive.received}`,
            `${p.transcripts!.sent}/${p.transcripts!.received}`,
          ]
          : []),
        ...(goal === null ? [] : [
          p.reached ? { text: "reached", colour: "green" as const } : {
            text: "short: " + [
              p.sent < goal ? `${goal - p.sent} more sent` : "",
              p.received < goal ? `${goal - p.received} more received` : "",
            ].filter(Boolean).join(", "),
            colour: "red" as const,
          },
        ]),
      ]);
      const below = r.participants.filter((p) => p.reached === false).length;
      const ignored = r.transcript_ignored ?? 0;
      return [
        table(
          [
            "PARTICIPANT",
            "SENT",
            "RECEIVED",
            ...(withT ? ["ARCHIVE S/R", "TRANSCRIPTS S/R"] : []),
            ...(goal === null ? [] : [`GOAL ${goal}`]),
          ],
          rows,
          ctx.paint,
        ),
        `counted ${count(r.archive_messages, "archived message")}` +
        (withT
          ? ` and ${count(r.transcript_markers!, "message")} in ${
            count(r.transcript_files!, "transcript file")
          }` +
            (ignored
              ? ` (${
                count(ignored, "envelope-like marker")
              } ignored: not a message this broker carried)`
              : "")
          : ""),
        ...(goal === null ? [] : [
          below === 0
            ? `all ${
              count(r.participants.length, "participant")
            } reached the goal`
            : `${below} of ${
              count(r.participants.length, "participant")
            } below the goal`,
        ]),
      ].join("\n");
    });
    // Without a goal it only counts; with one, short is a failure.
    return result.all_reached === false ? 1 : 0;
  },

  async install(ctx) {
    const url = new URL("../", import.meta.url);
    if (url.protocol !== "file:") {
      throw new CliError(
        "invalid_argument",
        `install needs a local copy of c2c; this one runs from ${url.href}`,
      );
    }
    const { codeDir, denoCacheDir, installC2c, installLayout } = await import(
      "../lib/install.ts"
    );
    const { configFiles, setupStamp } = await import("../setup/paths.ts");
    const { CLIENTS } = await import("../setup/launch.ts");
    const home = ctx.env("HOME");
    const r = await installC2c({
      codeDir: codeDir(),
      denoPath: Deno.execPath(),
      layout: installLayout(str(ctx, "root"), ctx.env),
      sourceCache: denoCacheDir(ctx.env),
      configFiles: home
        ? CLIENTS.flatMap((c) =>
          configFiles(c, { home, env: ctx.env, targetDir: null })
        )
        : [],
      stamp: ctx.env("C2C_SETUP_STAMP") ?? setupStamp(new Date()),
      env: ctx.env,
    });
    return emit(ctx, r, () => {
      const lines = [
        {
          installed: `installed c2c at ${r.command}`,
          updated: `updated c2c at ${r.command}`,
          unchanged: `c2c at ${r.command} is up to date`,
        }[r.status],
        `it runs c2c ${r.version} from ${r.dir} (code, Deno and its cache)`,
        ...r.moved_configs.map((f) =>
          `moved ${f} to this version (backup: ${f}.c2c-backup-…)`
        ),
      ];
      if (!r.on_path) {
        lines.push(
          `${r.bin_dir} is not on PATH; add it, e.g. in ~/.bashrc:`,
          `  export PATH="${r.bin_dir}:$PATH"`,
        );
      }
      return lines.join("\n");
    });
  },

  setup: (ctx) => setup(ctx, ctx.values.uninstall === true),
  unsetup: (ctx) => setup(ctx, true),

  async hook(ctx) {
    const client = ctx.positionals[0];
    if (!isHookClient(client)) {
      throw new UsageError(
        "hook",
        `hooks deliver for ${
          [...HOOK_CLIENT_NAMES].join(", ")
        }, not '${client}'`,
      );
    }
    const {
      deliveryText,
      hookBounds,
      hookOutput,
      parseHookInput,
      recordCodexThread,
      shouldDeliver,
    } = await import("../lib/hook.ts");
    // bin/c2c-hook hands the waiter no stdin (it passes the session id); a
    // terminal would never end it.
    const input = parseHookInput(
      ctx.values.rewake === true && Deno.stdin.isTerminal()
        ? ""
        : await new Response(Deno.stdin.readable).text(),
    );
    if (ctx.values.rewake === true) {
      if (client !== "claude-code") {
        throw new UsageError(
          "hook",
          `--rewake is Claude Code's asyncRewake waiter, not ${client}'s`,
        );
      }
      return await rewake(ctx, input.session_id);
    }
    if (!shouldDeliver(input)) return 0;
    const broker = await ctx.broker();
    const alias = ctx.alias();
    const sessionId = alias
      ? (await broker.registrationByAlias(alias))?.session_id
      : ctx.optionalSession() ?? input.session_id;
    if (!sessionId || !(await broker.registration(sessionId))) return 0;
    if (input.hook_event_name === "SessionStart") {
      // Codex's session start: only the thread id matters (the wake path
      // queues messages on it); messages wait for the turn's own hooks.
      if (client === "codex" && input.session_id) {
        await recordCodexThread(broker, sessionId, input.session_id);
      }
      return 0;
    }
    const { deliver } = await import("../lib/delivery.ts");
    // Show first, take after (the delivery lock keeps a rewake waiter, which
    // takes first, from showing these too): a client that kills a slow hook
    // between the two can at worst show a message twice (ids tell), never
    // lose it.
    const r = await deliver(broker, sessionId, {
      order: "show-then-take",
      via: "hook",
      bounds: hookBounds(client, input),
      show: ({ messages, remaining }) => {
        const text = deliveryText(
          renderEnvelopes(messages),
          messages.length,
          remaining,
        );
        ctx.print(JSON.stringify(hookOutput(client, input, text)));
      },
    });
    if (r.error !== undefined) throw r.error;
    return 0;
  },

  async run(ctx) {
    // Loaded only here: the harness brings the FFI pseudo-terminal.
    const { parseRunArgs, runHarness } = await import("../wake/mod.ts");
    let run;
    try {
      run = parseRunArgs(ctx.positionals);
    } catch (e) {
      throw new UsageError("run", (e as Error).message.replace(/^usage: /, ""));
    }
    const code = await runHarness({
      root: await resolveRoot(ctx.env),
      broker: await ctx.broker(),
      ...run,
    });
    // A read of the user's terminal may still be pending: end here.
    Deno.exit(code);
  },

  async "restart-me"(ctx) {
    const { restartMe } = await import("../wake/mod.ts");
    const r = await restartMe({ env: ctx.env });
    if (ctx.json) {
      ctx.print(toJson(r));
    } else if (r.code === 0) {
      ctx.print(inert(r.message, { lines: true }));
    } else {
      console.error(inert(r.message, { lines: true }));
    }
    return r.code;
  },

  async wake(ctx) {
    const { wakeTmuxPane } = await import("../wake/mod.ts");
    const pane = str(ctx, "tmux-pane");
    const alias = str(ctx, "alias");
    if (!pane || !alias) {
      throw new UsageError("wake", "--tmux-pane and --alias are both needed");
    }
    const stop = new AbortController();
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      Deno.addSignalListener(signal, () => stop.abort());
    }
    return await wakeTmuxPane({
      root: await resolveRoot(ctx.env),
      broker: await ctx.broker(),
      pane,
      alias,
      client: str(ctx, "client") as never,
      signal: stop.signal,
    });
  },

  async ui(ctx) {
    // Loaded only here: the web server and its page.
    const { runUi } = await import("../ui/mod.ts");
    // The launchers grant the port as written: digits without a leading 0.
    const raw = str(ctx, "port");
    const port = intOption(ctx.values, "port", "ui");
    if (
      raw !== undefined && (!/^(0|[1-9]\d{0,4})$/.test(raw) || port! > 65535)
    ) {
      throw new UsageError(
        "ui",
        `--port must be a port from 1 to 65535 (or 0: a free one), got '${raw}'`,
      );
    }
    if (ctx.values["read-only"] === true && str(ctx, "alias") !== undefined) {
      throw new UsageError(
        "ui",
        "--read-only posts nothing: leave out --alias, or --read-only",
      );
    }
    const broker = await ctx.broker();
    try {
      return await runUi({
        broker,
        port,
        open: ctx.values.open === true,
        readOnly: ctx.values["read-only"] === true,
        alias: str(ctx, "alias"),
        announce: (ui) =>
          ctx.print(
            ctx.json
              ? toJson({
                url: ui.url,
                port: ui.port,
                token: ui.token,
                alias: ui.alias,
                read_only: ui.readOnly,
                broker: broker.store.describe(),
              })
              : `c2c ui: ${ui.url}\n${
                ui.alias === null
                  ? "read-only: watching"
                  : `you post as ${ui.alias}`
              }; Ctrl-C stops`,
          ),
        warn: (text) => console.error(`c2c ui: ${inert(text)}`),
      });
    } catch (e) {
      if (e instanceof Deno.errors.AddrInUse) {
        throw new CliError(
          "port_in_use",
          `port ${port} on 127.0.0.1 is in use: choose another with --port, or leave --port out for a free one`,
        );
      }
      throw e;
    }
  },

  async completion(ctx) {
    const { completionScript } = await import("./completion.ts");
    const shell = ctx.positionals[0] as "bash" | "zsh" | "fish";
    // A script for a shell, not text for a terminal: the exact bytes.
    ctx.print(completionScript(shell).trimEnd());
    return 0;
  },

  async mcp() {
    // Loaded only for this command: the MCP SDK and zod stay out of every
    // other command's start-up.
    const { runServer } = await import("../server.ts");
    await runServer();
    return 0;
  },
};
