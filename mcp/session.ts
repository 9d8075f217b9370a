/**
 * The MCP server's session: which session id it speaks for, the lease that
 * keeps that session alive for the server's whole life, and auto-registration
 * (`C2C_MCP_AUTO_REGISTER_ALIAS`, `C2C_MCP_AUTO_JOIN_ROOMS`).
 *
 * @module
 */

import type { Broker } from "../lib/broker.ts";
import { describeError, SessionInUseError } from "../lib/errors.ts";
import type { Lease } from "../lib/lease.ts";
import {
  type EnvReader,
  resolveServerSession,
  type SessionSource,
} from "../lib/session.ts";

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
  #lease: Lease | null = null;
  #harnessLeased = false;

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
  }

  /**
   * Starts the session: takes its lease and auto-registers when configured.
   * Never throws for broker problems; they are kept and reported by tools.
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
    if (!broker) return session;
    if (
      env("C2C_HARNESS_SESSION_ID") === session.sessionId &&
      broker.liveness(session.sessionId) === true
    ) {
      // Under `c2c run` the harness holds this session's lease for the
      // client's whole life: serve the session without a lease of our own.
      session.#harnessLeased = true;
      await session.ensureRegistered();
      return session;
    }
    try {
      session.#lease = await broker.acquireLease(session.sessionId);
    } catch (e) {
      if (!(e instanceof SessionInUseError)) throw e;
      // Another live process speaks for this id (two clients sharing one
      // alias-derived id). Serve under a fresh id; the alias collision, if
      // any, is then reported like any other.
      session.sessionId = `${session.sessionId}.${
        crypto.randomUUID().slice(0, 8)
      }`;
      session.source = "generated";
      session.#lease = await broker.acquireLease(session.sessionId);
    }
    await session.ensureRegistered();
    return session;
  }

  /**
   * Registers the auto-register alias if this session is not registered yet.
   * Called at start and again before each tool that needs a registration, so
   * a collision with a predecessor that was still shutting down heals itself.
   */
  async ensureRegistered(): Promise<void> {
    const broker = this.broker;
    if (!broker || !this.autoAlias) return;
    if (broker.registration(this.sessionId)) return;
    try {
      await broker.register(this.sessionId, this.#registerArgs(this.autoAlias));
      this.autoRegisterError = null;
    } catch (e) {
      this.autoRegisterError = `auto-register of '${this.autoAlias}' failed: ${
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
    extra: { client?: string; client_session_id?: string },
  ): Promise<void> {
    const broker = this.broker;
    const row = broker?.registration(this.sessionId);
    if (!broker || !row) return;
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
    return args;
  }

  /** Releases the lease: peers see this session dead from now on. */
  close(): void {
    this.#lease?.release();
    this.#lease = null;
  }
}
