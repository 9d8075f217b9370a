/**
 * What a command handler gets: its parsed arguments, output, and the two
 * things most commands need first — the broker and the caller's session.
 *
 * @module
 */

import { Broker } from "../lib/broker.ts";
import {
  BrokerRootError,
  C2cError,
  SessionBorrowedError,
  type Wording,
} from "../lib/errors.ts";
import { BROKER_ROOT_ENV, resolveBrokerRoot } from "../lib/root.ts";
import { openStore } from "../lib/store/open.ts";
import {
  type EnvReader,
  mayActAs,
  resolveCliSession,
  type ResolvedSession,
} from "../lib/session.ts";
import type { OptionValues } from "./args.ts";
import { UsageError } from "./args.ts";
import type { Painter } from "./format.ts";
import type { CommandSpec } from "./spec.ts";

/** A CLI-level failure with a stable code (exit status 1). */
export class CliError extends Error {
  /** Stable code, printed in `--json` errors. */
  readonly code: string;
  /**
   * Creates the error.
   *
   * @param code Stable code.
   * @param message One line: what failed and what to do.
   */
  constructor(code: string, message: string) {
    super(message);
    this.name = "CliError";
    this.code = code;
  }
}

/** How the CLI names the next steps broker errors advise. */
export const CLI_WORDING: Wording = {
  step(next) {
    switch (next.step) {
      case "list_peers":
        return "'c2c list' shows who is registered";
      case "register":
        return `register it first: c2c register --alias ${
          next.alias ?? "NAME"
        }`;
      case "join_room":
        return `join it first: c2c room join ${next.room_id}`;
    }
  },
  senderArgument: "--alias",
};

/**
 * The advice for a shell that has no identity yet: the way in is an alias.
 *
 * @param alias The alias to suggest, if one was tried.
 * @returns The advice, one clause.
 */
export function shellIdentityAdvice(alias?: string): string {
  const name = alias ?? "NAME";
  return `register with 'c2c register --alias ${name}', then pass --alias ${name} (or export C2C_ALIAS=${name})`;
}

/** The caller has no session id and no registered alias to act as. */
export class NoSessionError extends CliError {
  /**
   * Creates the error.
   *
   * @param alias The alias that was tried, if any.
   */
  constructor(alias?: string) {
    super(
      "no_session",
      alias
        ? `alias '${alias}' is not registered; register it with 'c2c register --alias ${alias}'`
        : `this shell has no c2c identity yet; ${shellIdentityAdvice()}`,
    );
  }
}

/** Everything a handler may use. */
export interface Context {
  /** The command. */
  spec: CommandSpec;
  /** Parsed options. */
  values: OptionValues;
  /** Positional arguments. */
  positionals: string[];
  /** Whether `--json` was given. */
  json: boolean;
  /** Environment reader (never throws). */
  env: EnvReader;
  /** Colours text when colour is on. */
  paint: Painter;
  /** Writes one line (or block) to standard output. */
  print(text: string): void;
  /** Opens the broker at the resolved root. */
  broker(): Promise<Broker>;
  /** Closes the broker if it was opened (a NATS connection keeps a process alive). */
  closeBroker(): Promise<void>;
  /** The caller's session id: flag, environment, else registered alias. */
  session(broker: Broker, explicit?: string): Promise<string>;
  /** The caller's session id, or `null` when none is given. */
  optionalSession(): string | null;
  /** The alias from `--alias`, else `C2C_ALIAS`. */
  alias(): string | undefined;
  /** The message from positionals starting at `from` (or stdin for `-`). */
  message(from: number): Promise<string>;
}

/**
 * Resolves the broker root: `C2C_MCP_BROKER_ROOT` (set by the launcher),
 * else the launcher's reason for not finding one, else git (when run
 * directly).
 *
 * Requires `--allow-run=git` when no root is set.
 *
 * @param env Environment reader.
 * @returns The absolute root.
 * @throws {BrokerRootError} When no root can be found.
 */
export async function resolveRoot(env: EnvReader): Promise<string> {
  const envRoot = env(BROKER_ROOT_ENV);
  // The launcher sets this only when it found no root it could grant.
  const launchError = env("C2C_LAUNCH_ROOT_ERROR");
  if (launchError) throw new BrokerRootError(launchError);
  return (await resolveBrokerRoot({ envRoot: envRoot ?? "" })).root;
}

/**
 * Opens the broker at {@linkcode resolveRoot}. Its limits come from the
 * broker's own `config.json`, never from this process's environment.
 *
 * Requires read/write on the root, and `--allow-run=git` when no root is set.
 *
 * @param env Environment reader.
 * @returns The broker.
 * @throws {BrokerRootError} When no root can be found.
 */
export async function openBroker(env: EnvReader): Promise<Broker> {
  const store = await openStore({
    root: await resolveRoot(env),
    env: { get: env },
    name: "c2c-cli",
  });
  return new Broker({ store });
}

/** Inputs of {@linkcode createContext}. */
export interface ContextInit {
  /** The command. */
  spec: CommandSpec;
  /** Parsed options. */
  values: OptionValues;
  /** Positionals. */
  positionals: string[];
  /** Environment reader. */
  env: EnvReader;
  /** Painter. */
  paint: Painter;
  /** Output sink. */
  print(text: string): void;
}

/**
 * Builds a handler's context.
 *
 * @param init Parsed command line, environment and output.
 * @returns The context.
 */
export function createContext(init: ContextInit): Context {
  let opened: Promise<Broker> | null = null;
  const flagSession = () => {
    const v = init.values["session-id"];
    return typeof v === "string" ? v : undefined;
  };
  const ctx: Context = {
    ...init,
    json: init.values.json === true,
    broker: () => opened ??= openBroker(init.env),
    closeBroker: async () => {
      const broker = await opened?.catch(() => null);
      await broker?.close();
    },
    alias: () => {
      const v = init.values.alias;
      return typeof v === "string" ? v : init.env("C2C_ALIAS");
    },
    optionalSession: () =>
      resolveCliSession(flagSession(), init.env)?.sessionId ?? null,
    session: async (broker, explicit) => {
      if (explicit) return explicit;
      const resolved = resolveCliSession(flagSession(), init.env);
      if (resolved) return await actingAs(broker, resolved);
      // Clients whose shells export no session id (Codex, OpenCode) act as
      // the session their alias is registered under.
      const alias = ctx.alias();
      if (alias) {
        const row = await broker.registrationByAlias(alias);
        if (row) {
          return await actingAs(broker, {
            sessionId: row.session_id,
            source: "alias",
          });
        }
      }
      throw new NoSessionError(alias);
    },
    message: async (from) => {
      const words = init.positionals.slice(from);
      let text: string;
      if (words.length === 1 && words[0] === "-") {
        // Never more than the limit allows: `c2c send x - < huge` is refused
        // after limit + 2 bytes (one over, plus the newline dropped below),
        // not after holding the whole input in memory.
        const limit = await (await ctx.broker()).messageLimit();
        const bytes = await readAtMost(Deno.stdin, limit + 2);
        if (bytes.length > limit + 1) {
          throw new CliError(
            "message_too_large",
            `the message on standard input is over ${limit} bytes, the broker's limit (max_message_bytes in its config.json): send a shorter message, or split it`,
          );
        }
        text = new TextDecoder().decode(bytes);
        // `echo hi | c2c send x -` means "hi", not "hi\n".
        if (text.endsWith("\n")) text = text.slice(0, -1);
      } else {
        text = words.join(" ");
      }
      if (text === "") {
        throw new UsageError(init.spec.name, "the message is empty");
      }
      return text;
    },
  };
  return ctx;
}

/**
 * Returns the session a command acts as, refusing someone else's live
 * session ({@linkcode mayActAs}).
 *
 * @param broker The broker.
 * @param resolved The session and where its id came from.
 * @returns The session id.
 * @throws {SessionBorrowedError} When a live process holds the session and
 * the caller is not inside that session's client.
 */
export async function actingAs(
  broker: Broker,
  resolved: ResolvedSession,
): Promise<string> {
  const { sessionId, source } = resolved;
  if (!mayActAs(source, await broker.liveness(sessionId))) {
    throw new SessionBorrowedError(
      sessionId,
      (await broker.registration(sessionId))?.alias,
    );
  }
  return sessionId;
}

/**
 * Reads from `source` until its end or until `max` bytes are in.
 *
 * @param source A reader (standard input).
 * @param max Most bytes to read.
 * @returns What was read: `max` bytes when the input had that many or more.
 */
export async function readAtMost(
  source: { read(p: Uint8Array): Promise<number | null> },
  max: number,
): Promise<Uint8Array> {
  const buffer = new Uint8Array(max);
  let length = 0;
  while (length < max) {
    const n = await source.read(buffer.subarray(length));
    if (n === null) break;
    length += n;
  }
  return buffer.subarray(0, length);
}

/**
 * The `--alias` option as the sender's stated alias: passed to the broker,
 * which checks it against the session's registration (never trusted).
 * `C2C_ALIAS` only finds a session; it is not a claim.
 *
 * @param values Parsed options.
 * @returns The stated alias, if any.
 */
export function statedAlias(values: OptionValues): string | undefined {
  return typeof values.alias === "string" ? values.alias : undefined;
}

/**
 * A code for any error, for `--json` error output.
 *
 * @param error Anything thrown.
 * @returns The error's stable code.
 */
export function errorCode(error: unknown): string {
  if (error instanceof C2cError) return error.code;
  if (error instanceof UsageError) return "usage";
  if (error instanceof CliError) return error.code;
  if (
    error instanceof Deno.errors.NotCapable ||
    error instanceof Deno.errors.PermissionDenied
  ) {
    return "permission_denied";
  }
  return "internal";
}
