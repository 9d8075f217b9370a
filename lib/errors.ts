/**
 * Typed errors raised by the broker. Every error carries a stable `code` that
 * adapters (MCP server, CLI) surface to callers, and a one-line message that
 * names the alias, file or argument at fault and says what to do about it.
 *
 * @module
 */

/** Stable machine-readable codes, one per failure kind. */
export type C2cErrorCode =
  | "invalid_alias"
  | "reserved_alias"
  | "alias_taken"
  | "unknown_alias"
  | "recipient_dead"
  | "self_send"
  | "sender_mismatch"
  | "not_registered"
  | "message_too_large"
  | "invalid_room_id"
  | "invalid_session_id"
  | "invalid_argument"
  | "not_member"
  | "corrupt_file"
  | "broker_root"
  | "session_in_use"
  | "dead_pid"
  | "symlink_refused"
  | "inbox_full"
  | "session_borrowed"
  | "config_parse"
  | "config_shape"
  | "setup_conflict"
  | "harness"
  | "tmux"
  | "wake"
  | "nats_config"
  | "nats_unreachable"
  | "nats_auth"
  | "nats_tls"
  | "nats_no_jetstream"
  | "nats_namespace"
  | "nats_unavailable"
  | "wait_cancelled"
  | "rate_limited"
  | "loop_detected";

/**
 * A next step an error advises, as data. The broker knows what to do next;
 * each interface names it in its own terms — the MCP server a tool
 * (`join_room`), the CLI a command (`c2c room join lounge`) — so one error
 * reads right in both and neither speaks the other's language.
 */
export type NextStep =
  /** See who is registered. */
  | { step: "list_peers" }
  /** Register this session (as `alias`, when known). */
  | { step: "register"; alias?: string }
  /** Join the room before using it. */
  | { step: "join_room"; room_id: string };

/** How one interface names next steps and the arguments errors point at. */
export interface Wording {
  /**
   * The advice for a step, e.g. `call join_room first`.
   *
   * @param next The step.
   * @returns A clause that follows the cause after `; `.
   */
  step(next: NextStep): string;
  /** What the argument stating the sender's alias is called (`from_alias`). */
  readonly senderArgument: string;
}

/** The MCP server's words (tool and argument names): every `message`. */
export const TOOL_WORDING: Wording = {
  step(next) {
    switch (next.step) {
      case "list_peers":
        return "call list to see registered peers";
      case "register":
        return "call register first";
      case "join_room":
        return "call join_room first";
    }
  },
  senderArgument: "from_alias",
};

/** An error's cause, fixed or worded per interface. */
export type Cause = string | ((wording: Wording) => string);

/**
 * Base class of every error the broker raises on purpose. Its `message` is
 * worded for the MCP server; {@linkcode C2cError.describe} words it for
 * another interface.
 *
 * @example Usage
 * ```ts
 * import { C2cError } from "./errors.ts";
 * try {
 *   throw new C2cError("invalid_argument", "limit must be a positive integer");
 * } catch (e) {
 *   if (e instanceof C2cError) console.log(e.code); // "invalid_argument"
 * }
 * ```
 */
export class C2cError extends Error {
  /** Stable code for programs; the message is for people. */
  readonly code: C2cErrorCode;
  /** The step the error advises, if any (as data, for any interface). */
  readonly next: NextStep | undefined;
  readonly #text: Cause;

  /**
   * Creates the error.
   *
   * @param code Stable failure code.
   * @param cause One-line description: a string, or a function of the
   * interface's {@linkcode Wording} when it names arguments.
   * @param next The step to advise after the cause, if any.
   */
  constructor(code: C2cErrorCode, cause: Cause, next?: NextStep) {
    super(compose(cause, next, TOOL_WORDING));
    this.name = new.target.name;
    this.code = code;
    this.next = next;
    this.#text = cause;
  }

  /**
   * The message in an interface's own words (`message` is the MCP
   * server's).
   *
   * @param wording How the interface names steps and arguments.
   * @returns One line.
   */
  describe(wording: Wording): string {
    return compose(this.#text, this.next, wording);
  }
}

function compose(
  cause: Cause,
  next: NextStep | undefined,
  wording: Wording,
): string {
  const text = typeof cause === "string" ? cause : cause(wording);
  return next ? `${text}; ${wording.step(next)}` : text;
}

/** An alias that does not match `[a-z0-9][a-z0-9._-]{0,63}`. */
export class InvalidAliasError extends C2cError {
  /** The rejected alias. */
  readonly alias: string;
  /**
   * Creates the error.
   *
   * @param alias The rejected alias.
   * @param reason Why it was rejected.
   */
  constructor(alias: string, reason: string) {
    super("invalid_alias", `invalid alias '${alias}': ${reason}`);
    this.alias = alias;
  }
}

/** An alias reserved for the broker itself (`c2c`, `c2c-system`, `broker`). */
export class ReservedAliasError extends C2cError {
  /** The reserved alias. */
  readonly alias: string;
  /**
   * Creates the error.
   *
   * @param alias The reserved alias that was requested.
   */
  constructor(alias: string) {
    super(
      "reserved_alias",
      `alias '${alias}' is reserved for the broker; choose another`,
    );
    this.alias = alias;
  }
}

/** The alias is held by another session that is (or may be) alive. */
export class AliasTakenError extends C2cError {
  /** The requested alias. */
  readonly alias: string;
  /** Session id of the current holder. */
  readonly holderSessionId: string;
  /** A free alias the caller could use instead. */
  readonly suggestion: string;
  /**
   * Creates the error.
   *
   * @param alias The requested alias.
   * @param holderSessionId Session holding it.
   * @param suggestion A free alternative.
   */
  constructor(alias: string, holderSessionId: string, suggestion: string) {
    super(
      "alias_taken",
      `alias '${alias}' is held by a live session (${holderSessionId}); choose another, e.g. '${suggestion}'`,
    );
    this.alias = alias;
    this.holderSessionId = holderSessionId;
    this.suggestion = suggestion;
  }
}

/** No registration carries this alias. */
export class UnknownAliasError extends C2cError {
  /** The alias that was not found. */
  readonly alias: string;
  /**
   * Creates the error.
   *
   * @param alias The alias that was not found.
   */
  constructor(alias: string) {
    super("unknown_alias", `unknown alias '${alias}'`, {
      step: "list_peers",
    });
    this.alias = alias;
  }
}

/** The recipient's session is definitively dead (its lease is released). */
export class RecipientDeadError extends C2cError {
  /** The dead recipient's alias. */
  readonly alias: string;
  /**
   * Creates the error.
   *
   * @param alias The dead recipient's alias.
   */
  constructor(alias: string) {
    super(
      "recipient_dead",
      `recipient is not alive: '${alias}' has no running session; it gets messages again once it re-registers`,
    );
    this.alias = alias;
  }
}

/** A session tried to send a direct message to itself. */
export class SelfSendError extends C2cError {
  /** The caller's own alias. */
  readonly alias: string;
  /**
   * Creates the error.
   *
   * @param alias The caller's own alias.
   */
  constructor(alias: string) {
    super("self_send", `cannot send to yourself ('${alias}')`);
    this.alias = alias;
  }
}

/** A `from_alias` argument that is not the caller's registered alias. */
export class SenderMismatchError extends C2cError {
  /** The alias the caller claimed. */
  readonly claimed: string;
  /** The caller's registered alias. */
  readonly actual: string;
  /**
   * Creates the error.
   *
   * @param claimed Alias claimed.
   * @param actual Alias registered.
   */
  constructor(claimed: string, actual: string) {
    super(
      "sender_mismatch",
      (w) =>
        `${w.senderArgument} '${claimed}' is not your alias; this session is registered as '${actual}'`,
    );
    this.claimed = claimed;
    this.actual = actual;
  }
}

/** The calling session has no registration. */
export class NotRegisteredError extends C2cError {
  /** The unregistered session id. */
  readonly sessionId: string;
  /**
   * Creates the error.
   *
   * @param sessionId The unregistered session id.
   */
  constructor(sessionId: string) {
    super("not_registered", `session '${sessionId}' is not registered`, {
      step: "register",
    });
    this.sessionId = sessionId;
  }
}

/** Content larger than the configured limit. */
export class MessageTooLargeError extends C2cError {
  /** Size of the rejected content in UTF-8 bytes. */
  readonly bytes: number;
  /** The limit in bytes. */
  readonly limit: number;
  /**
   * Creates the error.
   *
   * @param bytes Content size.
   * @param limit The limit.
   */
  constructor(bytes: number, limit: number) {
    super(
      "message_too_large",
      `message is ${bytes} bytes; the limit is ${limit} bytes (max_message_bytes in the broker's config.json): send a shorter message, or split it`,
    );
    this.bytes = bytes;
    this.limit = limit;
  }
}

/** A room id that is not `[A-Za-z0-9_.-]{1,64}` (or is `.`/`..`). */
export class InvalidRoomIdError extends C2cError {
  /** The rejected room id. */
  readonly roomId: string;
  /**
   * Creates the error.
   *
   * @param roomId The rejected room id.
   */
  constructor(roomId: string) {
    super(
      "invalid_room_id",
      `invalid room id '${roomId}': use 1-64 of A-Z a-z 0-9 _ . - (not '.' or '..')`,
    );
    this.roomId = roomId;
  }
}

/** A session id that cannot safely become a file name. */
export class InvalidSessionIdError extends C2cError {
  /** The rejected session id. */
  readonly sessionId: string;
  /**
   * Creates the error.
   *
   * @param sessionId The rejected session id.
   */
  constructor(sessionId: string) {
    super(
      "invalid_session_id",
      `invalid session id '${sessionId}': use 1-128 of A-Z a-z 0-9 _ . : @ + - starting with a letter, digit or _`,
    );
    this.sessionId = sessionId;
  }
}

/** An argument outside its allowed range or shape. */
export class InvalidArgumentError extends C2cError {
  /**
   * Creates the error.
   *
   * @param message What is wrong with which argument.
   */
  constructor(message: string) {
    super("invalid_argument", message);
  }
}

/** The caller is not a member of the room it addressed. */
export class NotMemberError extends C2cError {
  /** The room. */
  readonly roomId: string;
  /** The caller's alias. */
  readonly alias: string;
  /**
   * Creates the error.
   *
   * @param roomId The room.
   * @param alias The caller's alias.
   */
  constructor(roomId: string, alias: string) {
    super("not_member", `'${alias}' is not a member of room '${roomId}'`, {
      step: "join_room",
      room_id: roomId,
    });
    this.roomId = roomId;
    this.alias = alias;
  }
}

/**
 * A broker file that exists but cannot be parsed. The bytes are left on disk;
 * only the operations that need this file fail.
 */
export class CorruptFileError extends C2cError {
  /** Absolute path of the bad file. */
  readonly path: string;
  /** What is wrong with it (line, parse error). */
  readonly detail: string;
  /**
   * Creates the error.
   *
   * @param path The bad file.
   * @param detail What is wrong (line, parse error).
   */
  constructor(path: string, detail: string) {
    super(
      "corrupt_file",
      `${path} is not valid c2c data (${detail}); it was left untouched — inspect it, or run 'c2c repair' to move it aside`,
    );
    this.path = path;
    this.detail = detail;
  }
}

/** No broker root could be determined, or it cannot be used. */
export class BrokerRootError extends C2cError {
  /**
   * Creates the error.
   *
   * @param message What went wrong and how to fix it.
   */
  constructor(message: string) {
    super("broker_root", message);
  }
}

/** Another live process already holds this session's lease. */
export class SessionInUseError extends C2cError {
  /** The session whose lease is held. */
  readonly sessionId: string;
  /**
   * Creates the error.
   *
   * @param sessionId The session whose lease is held.
   */
  constructor(sessionId: string) {
    super(
      "session_in_use",
      `session '${sessionId}' is already held by another live process; use a different session id`,
    );
    this.sessionId = sessionId;
  }
}

/** A pid that does not name a running process. */
export class DeadPidError extends C2cError {
  /** The pid. */
  readonly pid: number;
  /**
   * Creates the error.
   *
   * @param pid The pid that is not running.
   */
  constructor(pid: number) {
    super("dead_pid", `pid ${pid} is not a running process`);
    this.pid = pid;
  }
}

/** What {@linkcode SymlinkRefusedError} found instead of a plain file or directory. */
export type UnsafePathKind =
  /** A symlink where a broker directory belongs. */
  | "directory"
  /** A symlink where a broker file belongs. */
  | "file"
  /** Something other than a directory (a file, a FIFO) where one belongs. */
  | "not_directory"
  /** A directory, FIFO, socket or device where a broker file belongs. */
  | "not_file"
  /** A name that kept changing under repeated opens. */
  | "unstable";

const UNSAFE_PATH_TEXT: Record<UnsafePathKind, string> = {
  directory:
    "is a symlink; c2c refuses symlinked directories inside the broker root (they could lead reads and writes outside it) — replace it with a real directory",
  file:
    "is a symlink; c2c never follows a symlink inside the broker root (it could lead reads and writes outside it) — remove the link; 'c2c repair' moves broker files aside",
  not_directory:
    "is not a directory; c2c needs a directory there — move it away; 'c2c repair' moves broker files aside",
  not_file:
    "is not a regular file (a directory, FIFO, socket or device); c2c refuses to open it — move it away; 'c2c repair' moves broker files aside",
  unstable:
    "kept changing while c2c opened it (another process is replacing it with something else); c2c refused to use it — check what writes there",
};

/**
 * A path inside the broker root that is not the plain file or directory c2c
 * expects (a symlink above all, which could lead reads and writes outside
 * the root). The operation is refused; nothing is read, written or created.
 */
export class SymlinkRefusedError extends C2cError {
  /** The refused path. */
  readonly path: string;
  /** What was found there. */
  readonly kind: UnsafePathKind;
  /**
   * Creates the error.
   *
   * @param path The refused path.
   * @param kind What was found there (default: a symlinked directory).
   */
  constructor(path: string, kind: UnsafePathKind = "directory") {
    super("symlink_refused", `${path} ${UNSAFE_PATH_TEXT[kind]}`);
    this.path = path;
    this.kind = kind;
  }
}

/** The recipient's pending inbox is over the broker's quota. */
export class InboxFullError extends C2cError {
  /** The recipient's alias. */
  readonly alias: string;
  /** Bytes already waiting. */
  readonly pendingBytes: number;
  /** The quota in bytes. */
  readonly quota: number;
  /**
   * Creates the error.
   *
   * @param alias The recipient.
   * @param pendingBytes Bytes waiting in its inbox.
   * @param quota The broker's `max_inbox_bytes`.
   */
  constructor(alias: string, pendingBytes: number, quota: number) {
    super(
      "inbox_full",
      `'${alias}' has ${
        mebibytes(pendingBytes)
      } of messages waiting, and this one would pass its inbox quota of ${
        mebibytes(quota)
      } (max_inbox_bytes in the broker's config.json); nothing was queued — try again after ${alias} reads its inbox`,
    );
    this.alias = alias;
    this.pendingBytes = pendingBytes;
    this.quota = quota;
  }
}

function mebibytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * A command named (by flag or `C2C_SESSION_ID`) a session that a live
 * process holds, from outside that session's own client.
 */
export class SessionBorrowedError extends C2cError {
  /** The session. */
  readonly sessionId: string;
  /** Its alias, when registered. */
  readonly alias: string | undefined;
  /**
   * Creates the error.
   *
   * @param sessionId The session named.
   * @param alias Its alias, when registered.
   */
  constructor(sessionId: string, alias?: string) {
    const who = alias
      ? `'${alias}' (session ${sessionId})`
      : `session '${sessionId}'`;
    super(
      "session_borrowed",
      `${who} belongs to a live c2c session (its MCP server or c2c run holds it); a command may act as it only from inside that session's own client — use its MCP tools there, or act as yourself: c2c register --alias NAME, then --alias NAME`,
    );
    this.sessionId = sessionId;
    this.alias = alias;
  }
}

/**
 * `C2C_BROKER_URL`, `C2C_BROKER_NAMESPACE` or a `C2C_NATS_*` variable (or
 * the file it names) that cannot be used. Nothing was dialed.
 */
export class NatsConfigError extends C2cError {
  /** The variable at fault (or several, joined by " and "). */
  readonly variable: string;
  /**
   * Creates the error.
   *
   * @param variable The variable at fault.
   * @param problem What is wrong and what to do, after `<variable>: `;
   * never the secret itself.
   */
  constructor(variable: string, problem: string) {
    super("nats_config", `${variable}: ${problem}`);
    this.variable = variable;
  }
}

/** No NATS server of the configured list answered. */
export class NatsUnreachableError extends C2cError {
  /** The servers, secrets masked. */
  readonly url: string;
  /** What the dial met. */
  readonly reason: string;
  /**
   * Creates the error.
   *
   * @param url The servers, secrets masked.
   * @param reason What the dial met (`connection refused`, `timed out`).
   * @param retrying Whether a background connection keeps trying.
   */
  constructor(url: string, reason: string, retrying = false) {
    super(
      "nats_unreachable",
      `NATS at ${url} is unreachable (${reason}); start nats-server there or fix C2C_BROKER_URL${
        retrying ? " — c2c keeps retrying and reconnects on its own" : ""
      }`,
    );
    this.url = url;
    this.reason = reason;
  }
}

/** The NATS server refused the credentials (or they could not be used). */
export class NatsAuthError extends C2cError {
  /** The servers, secrets masked. */
  readonly url: string;
  /**
   * Creates the error.
   *
   * @param url The servers, secrets masked.
   * @param credentials Which credentials were offered, never the secret
   * (`user 'alice' from C2C_BROKER_URL`).
   * @param reason Why, when the server said more than "Authorization
   * Violation" (an expired user JWT, a permissions violation).
   * @param fix What to do, when not to fix the credentials.
   */
  constructor(
    url: string,
    credentials: string,
    reason?: string,
    fix =
      "fix the user:password or token in C2C_BROKER_URL, or C2C_NATS_TOKEN, C2C_NATS_NKEY or C2C_NATS_CREDS",
  ) {
    super(
      "nats_auth",
      `NATS at ${url} rejected ${credentials}${
        reason ? ` (${reason})` : ""
      }; ${fix}`,
    );
    this.url = url;
  }
}

/** A TLS handshake with NATS failed, or TLS was asked of a plain server. */
export class NatsTlsError extends C2cError {
  /** The servers, secrets masked. */
  readonly url: string;
  /**
   * Creates the error.
   *
   * @param url The servers, secrets masked.
   * @param reason What failed (`the server's certificate is not trusted`).
   * @param fix What to do about it.
   */
  constructor(url: string, reason: string, fix: string) {
    super("nats_tls", `TLS to NATS at ${url} failed: ${reason}; ${fix}`);
    this.url = url;
  }
}

/** The NATS server (or the account) runs without JetStream, which c2c needs. */
export class NatsNoJetStreamError extends C2cError {
  /** The servers, secrets masked. */
  readonly url: string;
  /**
   * Creates the error.
   *
   * @param url The servers, secrets masked.
   * @param account Whether the server has JetStream but this account not.
   */
  constructor(url: string, account = false) {
    super(
      "nats_no_jetstream",
      account
        ? `NATS at ${url} has no JetStream for this account, which c2c stores messages in; enable JetStream for the account (jetstream limits in its configuration or JWT)`
        : `NATS at ${url} has no JetStream, which c2c stores messages in; start nats-server with -js (or a jetstream {} block in its config)`,
    );
    this.url = url;
  }
}

/** The namespace's streams or buckets are not on the NATS server. */
export class NatsNamespaceError extends C2cError {
  /** The namespace, as configured (not encoded). */
  readonly namespace: string;
  /**
   * Creates the error.
   *
   * @param namespace The namespace.
   * @param url The servers, secrets masked.
   * @param missing What is missing (`stream C2C_x_INBOX`).
   */
  constructor(namespace: string, url: string, missing: string) {
    super(
      "nats_namespace",
      `namespace '${namespace}' is not set up at NATS ${url} (${missing} not found); check C2C_BROKER_NAMESPACE (peers must use the same one), or register a session to create it`,
    );
    this.namespace = namespace;
  }
}

/**
 * JetStream did not complete an operation: no leader answered (a cluster
 * electing one), or requests timed out, until c2c's retry budget ran out.
 */
export class NatsUnavailableError extends C2cError {
  /** The servers, secrets masked. */
  readonly url: string;
  /**
   * Creates the error.
   *
   * @param url The servers, secrets masked.
   * @param reason The last failure, in c2c's words.
   * @param seconds How long c2c retried, when it did.
   */
  constructor(url: string, reason: string, seconds?: number) {
    super(
      "nats_unavailable",
      `NATS at ${url} did not complete the operation${
        seconds === undefined ? "" : ` within ${seconds} s`
      } (${reason}); the cluster may be electing a leader or down — try again, and check the servers if it persists`,
    );
    this.url = url;
  }
}

/**
 * A `wait_for_message` its caller gave up on (the MCP request was
 * cancelled, or the client timed out): it took nothing from the inbox.
 */
export class WaitCancelledError extends C2cError {
  /** Creates the error. */
  constructor() {
    super(
      "wait_cancelled",
      "the wait was cancelled before a matching message came; nothing was taken from the inbox",
    );
  }
}

/**
 * A sender over the broker's rate limit towards one alias or room
 * (docs/design.md#conversations): nothing was sent.
 */
export class RateLimitedError extends C2cError {
  /** The recipient alias, or `#room`. */
  readonly target: string;
  /** Seconds until a message to it would be accepted again. */
  readonly retry_after_s: number;
  /**
   * Creates the error.
   *
   * @param target The recipient alias, or `#room` for a room.
   * @param limit The broker's `rate_limit_messages`.
   * @param windowS Its `rate_limit_window_s`.
   * @param retryAfterS Seconds until the oldest counted message leaves the
   * window.
   */
  constructor(
    target: string,
    limit: number,
    windowS: number,
    retryAfterS: number,
  ) {
    super(
      "rate_limited",
      `you sent ${limit} messages to ${target} within ${windowS} s, the broker's limit (rate_limit_messages in its config.json); nothing was sent — retry after ${retryAfterS} s, and if two agents are answering each other automatically, stop one`,
    );
    this.target = target;
    this.retry_after_s = retryAfterS;
  }
}

/**
 * The same body sent to the same alias or room too often within a minute:
 * refused as a reply loop (docs/design.md#conversations).
 */
export class LoopDetectedError extends C2cError {
  /** The recipient alias, or `#room`. */
  readonly target: string;
  /** Seconds until the same body would be accepted again. */
  readonly retry_after_s: number;
  /**
   * Creates the error.
   *
   * @param target The recipient alias, or `#room` for a room.
   * @param times How many times that body went there within the window.
   * @param retryAfterS Seconds until the oldest of them leaves the window.
   */
  constructor(target: string, times: number, retryAfterS: number) {
    super(
      "loop_detected",
      `you already sent this exact message to ${target} ${times} times within 60 s (loop_repeat_limit in the broker's config.json): this looks like a reply loop, and nothing was sent — change the message, or retry after ${retryAfterS} s`,
    );
    this.target = target;
    this.retry_after_s = retryAfterS;
  }
}

/**
 * One line describing any error for a person: a {@linkcode C2cError}'s own
 * message (in `wording`, default the MCP server's), a permission refusal with
 * the path Deno names, else the message.
 *
 * @param error Anything thrown.
 * @param wording How the interface names steps and arguments.
 * @returns A single line.
 */
export function describeError(
  error: unknown,
  wording: Wording = TOOL_WORDING,
): string {
  let text: string;
  if (error instanceof C2cError) {
    text = error.describe(wording);
  } else if (
    error instanceof Deno.errors.NotCapable ||
    error instanceof Deno.errors.PermissionDenied
  ) {
    text = `not permitted: ${error.message}`;
  } else if (error instanceof Error) {
    text = `${error.name}: ${error.message}`;
  } else {
    text = String(error);
  }
  return text.replace(/\s*\n\s*/g, " ").trim();
}
