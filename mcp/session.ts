/**
 * The MCP server's session: which session id it speaks for, the lease that
 * keeps that session alive for the server's whole life, and auto-registration
 * (`C2C_MCP_AUTO_REGISTER_ALIAS`, `C2C_MCP_AUTO_JOIN_ROOMS`).
 *
 * @module
 */

import { basename, dirname } from "node:path";
import type { Broker } from "../lib/broker.ts";
import { validateAlias } from "../lib/alias.ts";
import { describeError, SessionInUseError } from "../lib/errors.ts";
import { validateSessionId } from "../lib/paths.ts";
import type { SessionLease } from "../lib/store/store.ts";
import type { WakeInfo } from "../lib/registry.ts";
import {
  type EnvReader,
  resolveServerSession,
  type SessionSource,
} from "../lib/session.ts";
import { parseWakePath, WAKE_ENV, type WakePath } from "../lib/wake_info.ts";
import { sessionPlace } from "../lib/status.ts";

/** Where this session's client can be woken, from the environment. */
export interface WakeConfig {
  /** The wake path (`null`: none recorded). */
  path: WakePath | null;
  /** Claude Code's messaging socket. */
  claudeSocket?: string;
  /** Its auth token. */
  claudeToken?: string;
  /** Claude Code's session status file. */
  claudeStatusFile?: string;
  /** Codex's app-server daemon socket. */
  codexSocket?: string;
}

/**
 * Reads the wake configuration: `C2C_MCP_WAKE` (written by `c2c setup`),
 * else Claude Code's messaging socket when the client exports one (a config
 * written before wake existed still wakes), else none.
 *
 * @param env Environment reader.
 * @returns The wake path and what it needs.
 */
export function wakeConfig(env: EnvReader): WakeConfig {
  const claudeSocket = env("CLAUDE_CODE_MESSAGING_SOCKET");
  const path = parseWakePath(env(WAKE_ENV)) ??
    (claudeSocket ? "claude-socket" : null);
  const config: WakeConfig = { path };
  if (path === "claude-socket" && claudeSocket) {
    config.claudeSocket = claudeSocket;
    config.claudeToken = env("CLAUDE_CODE_MESSAGING_TOKEN");
    config.claudeStatusFile = env("C2C_MCP_CLAUDE_STATUS_FILE");
  }
  if (path === "codex-daemon") config.codexSocket = env("C2C_MCP_CODEX_SOCKET");
  return config;
}

/** Client names as c2c records them, keyed by MCP `clientInfo.name`. */
const CLIENT_NAMES: Record<string, string> = {
  "claude-code": "claude-code",
  "codex-mcp-client": "codex",
  "opencode": "opencode",
  "gemini-cli-mcp-client": "gemini",
  "kimi": "kimi",
  "crush": "crush",
};

/**
 * Maps an MCP `clientInfo.name` to c2c's client name.
 *
 * @param name `clientInfo.name` from `initialize`.
 * @returns c2c's name for it (`codex`, `gemini`, …), or the name itself.
 */
export function clientNameOf(name: string | undefined): string | null {
  if (!name) return null;
  return CLIENT_NAMES[name] ?? name;
}

/** State of the session one server process speaks for. */
export class ServerSession {
  /** The broker, or `null` when no root could be resolved. */
  readonly broker: Broker | null;
  /** Why there is no broker, when there is none. */
  readonly rootError: string | null;
  /** Session id this server speaks for. */
  sessionId: string;
  /** Where the session id came from. */
  source: SessionSource;
  /** Alias to register at start, if configured. */
  readonly autoAlias: string | undefined;
  /** Rooms to join after registering. */
  readonly autoRooms: string[];
  /** Why auto-registration failed, shown by whoami and tool errors. */
  autoRegisterError: string | null = null;
  /** Client name, once known. */
  client: string | null;
  /** Client pid. */
  readonly pid: number | null;
  /** A client-side session id seen in tool-call metadata (Codex). */
  clientSessionId: string | undefined;
  /** How the client can be woken. */
  readonly wake: WakeConfig;
  #lease: SessionLease | null = null;
  /** Keeps the local signal of a NATS-stored inbox, while leased. */
  #signal: Disposable | undefined;
  #harnessLeased = false;
  /** Set once the lease is held and the auto-registration attempted. */
  #established = false;
  /** Why the session could not be established (retried per call). */
  #problem: string | null = null;
  /** A session id that can never work (from the environment): permanent. */
  #badSessionId: string | null = null;
  #threadId: string | undefined;
  /** The thread id the SessionStart hook recorded, as last read. */
  #recordedThread: string | undefined;
  /** Set once this run replaced the wake field a previous run left. */
  #wakeReset = false;
  /** Where the session works, for peers' `list`. */
  readonly #place: { cwd?: string; git_branch?: string };

  private constructor(
    broker: Broker | null,
    rootError: string | null,
    env: EnvReader,
  ) {
    this.broker = broker;
    this.rootError = rootError;
    const resolved = resolveServerSession(env);
    this.sessionId = resolved.sessionId;
    this.source = resolved.source;
    this.autoAlias = env("C2C_MCP_AUTO_REGISTER_ALIAS");
    this.autoRooms = (env("C2C_MCP_AUTO_JOIN_ROOMS") ?? "").split(",")
      .map((r) => r.trim()).filter((r) => r.length > 0);
    this.client = env("C2C_MCP_CLIENT") ?? null;
    const pid = Number(env("C2C_MCP_CLIENT_PID") ?? Deno.ppid);
    this.pid = Number.isInteger(pid) && pid > 0 ? pid : null;
    this.wake = wakeConfig(env);
    this.#place = sessionPlace(env);
  }

  /** Whether `c2c run` holds this session (it records its own wake path). */
  get harnessLeased(): boolean {
    return this.#harnessLeased;
  }

  /**
   * The Codex thread this session runs in: seen in a tool call's `_meta`,
   * found in the daemon, or recorded by the SessionStart hook in the
   * registration (whose wake field this server reset when it started, so a
   * thread id there is this run's).
   *
   * @returns The thread id, or `undefined` while unknown.
   */
  async threadId(): Promise<string | undefined> {
    if (this.#threadId) return this.#threadId;
    if (!this.#wakeReset || !this.broker) return undefined;
    await this.#readRecordedThread(this.broker);
    return this.#recordedThread;
  }

  /** Remembers the thread id a hook recorded in this session's row. */
  async #readRecordedThread(broker: Broker): Promise<void> {
    const recorded = (await broker.registration(this.sessionId))?.wake
      ?.thread_id;
    this.#recordedThread = typeof recorded === "string" && recorded
      ? recorded
      : undefined;
  }

  /**
   * The project directory of the broker root, when the root is the usual
   * `<project>/.git/c2c/mcp` (to find this session's Codex thread in the
   * daemon before it is known).
   *
   * @returns The project directory, or `null`.
   */
  projectDir(): string | null {
    const root = this.broker?.root;
    if (!root) return null;
    const gitDir = dirname(dirname(root));
    return basename(gitDir) === ".git" ? dirname(gitDir) : null;
  }

  /**
   * The `wake` field this session registers with (`undefined` under `c2c
   * run`, whose harness records its own).
   *
   * @returns The wake info.
   */
  wakeInfo(): WakeInfo | undefined {
    const { path } = this.wake;
    if (this.#harnessLeased || path === null) return undefined;
    switch (path) {
      case "claude-socket": {
        const socket = this.wake.claudeSocket;
        if (!socket) {
          return {
            path,
            enabled: false,
            reason:
              "CLAUDE_CODE_MESSAGING_SOCKET is not set (Claude Code older than 2.1.224, or --bare); hooks deliver on the next tool call",
          };
        }
        const info: WakeInfo = { path, enabled: true, socket };
        if (this.wake.claudeStatusFile) {
          info.status_file = this.wake.claudeStatusFile;
        }
        return info;
      }
      case "codex-daemon": {
        const socket = this.wake.codexSocket;
        if (!socket) {
          return {
            path,
            enabled: false,
            reason:
              "C2C_MCP_CODEX_SOCKET is not set; run 'c2c setup codex --force' again",
          };
        }
        const info: WakeInfo = { path, enabled: true, socket };
        const thread = this.#threadId ??
          (this.#wakeReset ? this.#recordedThread : undefined);
        if (thread) {
          info.thread_id = thread;
        } else {
          info.reason = "thread id not known yet (learned at the first turn)";
        }
        return info;
      }
      default:
        return { path };
    }
  }

  /**
   * Records the Codex thread id (from a tool call or the daemon) so that the
   * wake path can queue messages on it.
   *
   * @param id The thread id.
   */
  async noteThreadId(id: string): Promise<void> {
    if (id === this.#threadId) return;
    this.#threadId = id;
    if (this.wake.path === "codex-daemon") await this.#refresh({});
  }

  /**
   * Starts the session: takes its lease and auto-registers when configured.
   * Never throws: whatever goes wrong (a damaged broker, a bad id in the
   * environment, a root it may not write) is kept and reported by every
   * tool call, with the fix, and retried on the next call, so a client
   * always connects and a broker repaired meanwhile heals on its own.
   *
   * @param broker The broker, or `null` when the root is unusable.
   * @param rootError Why there is no broker.
   * @param env Environment reader.
   * @returns The started session.
   */
  static async start(
    broker: Broker | null,
    rootError: string | null,
    env: EnvReader,
  ): Promise<ServerSession> {
    const session = new ServerSession(broker, rootError, env);
    session.#badSessionId = sessionIdProblem(
      session.source,
      session.sessionId,
      session.autoAlias,
    );
    if (broker && session.#badSessionId === null) {
      session.#harnessLeased = env("C2C_HARNESS_SESSION_ID") ===
          session.sessionId && await session.#harnessHolds(broker);
      await session.#establish(broker);
    }
    return session;
  }

  /**
   * Whether the session can serve a tool call now: establishes it first if
   * an earlier attempt failed.
   *
   * @returns `null` when it can, else the one-line cause and fix.
   */
  async ready(): Promise<string | null> {
    const broker = this.broker;
    if (!broker) return this.rootError ?? "no broker root";
    if (this.#badSessionId) return this.#badSessionId;
    if (!this.#established) await this.#establish(broker);
    return this.#problem;
  }

  /** Under `c2c run` the harness holds this session's lease. */
  async #harnessHolds(broker: Broker): Promise<boolean> {
    try {
      return await broker.liveness(this.sessionId) === true;
    } catch {
      return false; // the lease cannot be probed: take our own (and report)
    }
  }

  async #establish(broker: Broker): Promise<void> {
    try {
      if (!this.#harnessLeased && !this.#lease) await this.#takeLease(broker);
      await this.ensureRegistered();
      if (!this.#harnessLeased) {
        // A registration left by this session's previous run (Codex's
        // session id is its alias) keeps its old wake field, thread id
        // included: replace it.
        await this.#refresh({});
        this.#wakeReset = true;
      }
      this.#established = true;
      this.#problem = null;
    } catch (e) {
      this.#problem = startProblem(e);
    }
  }

  async #takeLease(broker: Broker): Promise<void> {
    try {
      this.#lease = await broker.acquireLease(this.sessionId);
    } catch (e) {
      if (!(e instanceof SessionInUseError)) throw e;
      // Another live process speaks for this id (two clients sharing one
      // alias-derived id). Serve under a fresh id; the alias collision, if
      // any, is then reported like any other.
      this.sessionId = `${this.sessionId}.${crypto.randomUUID().slice(0, 8)}`;
      this.source = "generated";
      this.#lease = await broker.acquireLease(this.sessionId);
    }
    // Hooks and wake paths on this machine look at a local signal file.
    this.#signal = broker.store.watchSignal?.(this.sessionId);
  }

  /**
   * Registers the auto-register alias if this session is not registered yet.
   * Called at start and again before each tool that needs a registration, so
   * a collision with a predecessor that was still shutting down heals itself.
   */
  async ensureRegistered(): Promise<void> {
    const broker = this.broker;
    if (!broker || !this.autoAlias) return;
    if (await broker.registration(this.sessionId)) return;
    try {
      await broker.register(this.sessionId, this.#registerArgs(this.autoAlias));
      this.autoRegisterError = null;
    } catch (e) {
      this.autoRegisterError =
        `C2C_MCP_AUTO_REGISTER_ALIAS '${this.autoAlias}' could not be registered: ${
          describeError(e)
        }`;
      return;
    }
    for (const room of this.autoRooms) {
      try {
        await broker.joinRoom(this.sessionId, { room_id: room });
      } catch (e) {
        this.autoRegisterError = `auto-join of room '${room}' failed: ${
          describeError(e)
        }`;
      }
    }
  }

  /**
   * Records the client's name (from `initialize`) in the registration.
   *
   * @param name c2c client name.
   */
  async setClient(name: string | null): Promise<void> {
    if (!name || this.client) return;
    this.client = name;
    await this.#refresh({ client: name });
  }

  /**
   * Records a client-side session id seen in tool-call metadata (Codex sends
   * its thread's session id with every call), so hooks and wake paths that
   * only know that id can find this session.
   *
   * @param id The client's id for this session.
   */
  async noteClientSessionId(id: string): Promise<void> {
    if (id === this.clientSessionId) return;
    this.clientSessionId = id;
    await this.#refresh({ client_session_id: id });
  }

  async #refresh(
    extra: Partial<Parameters<Broker["register"]>[1]>,
  ): Promise<void> {
    const broker = this.broker;
    const row = await broker?.registration(this.sessionId);
    if (!broker || !row) return;
    if (this.#wakeReset) await this.#readRecordedThread(broker);
    try {
      await broker.register(this.sessionId, {
        ...this.#registerArgs(row.alias),
        ...extra,
      });
    } catch {
      // Best effort: the registration itself stands; tools report problems.
    }
  }

  /**
   * Arguments for `register` calls made on behalf of this session.
   *
   * @param alias The alias to register.
   * @returns Register arguments including client details and the lease flag.
   */
  registerArgs(alias: string | undefined): Parameters<Broker["register"]>[1] {
    return this.#registerArgs(alias);
  }

  #registerArgs(alias: string | undefined): Parameters<Broker["register"]>[1] {
    const args: Parameters<Broker["register"]>[1] = {
      leased: this.#lease !== null || this.#harnessLeased,
      pid: this.pid,
    };
    if (alias !== undefined) args.alias = alias;
    if (this.client) args.client = this.client;
    if (this.clientSessionId) args.client_session_id = this.clientSessionId;
    const wake = this.wakeInfo();
    if (wake) args.wake = wake;
    if (this.#place.cwd !== undefined) args.cwd = this.#place.cwd;
    if (this.#place.git_branch !== undefined) {
      args.git_branch = this.#place.git_branch;
    }
    return args;
  }

  /** Releases the lease: peers see this session dead from now on. */
  close(): void {
    this.#signal?.[Symbol.dispose]();
    this.#signal = undefined;
    this.#lease?.release();
    this.#lease = null;
  }
}

/**
 * Why a session id from the environment can never work, or `null`. Named
 * by the variable it came from, so the fix is clear.
 */
function sessionIdProblem(
  source: SessionSource,
  sessionId: string,
  autoAlias: string | undefined,
): string | null {
  try {
    validateSessionId(sessionId);
    return null;
  } catch (e) {
    if (source === "alias" && autoAlias !== undefined) {
      try {
        validateAlias(autoAlias);
      } catch (aliasError) {
        return `C2C_MCP_AUTO_REGISTER_ALIAS in the client's c2c config is not usable: ${
          describeError(aliasError)
        }; fix it there (or run 'c2c setup <client> --alias NAME --force')`;
      }
    }
    const name = source === "generated" || source === "alias"
      ? "C2C_MCP_AUTO_REGISTER_ALIAS"
      : source;
    return `${name} is not a valid session id: ${
      describeError(e)
    }; fix it in the client's c2c config (or run 'c2c setup <client> --force')`;
  }
}

/** A failure to establish the session as one line with its fix. */
function startProblem(error: unknown): string {
  if (
    error instanceof Deno.errors.NotCapable ||
    error instanceof Deno.errors.PermissionDenied
  ) {
    return `this c2c server may not use the broker root: ${
      describeError(error)
    }; its permission flags must cover the root (run 'c2c setup <client> --force' from the project), and the directory must be writable`;
  }
  return describeError(error);
}
