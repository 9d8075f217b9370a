/**
 * Per-broker settings: `config.json` in the broker root, read by every
 * process that opens the broker. Limits live here, not in a process's
 * environment, because they protect the receiver: a sender that could raise
 * the message size limit in its own environment could hand its peers
 * messages bigger than their replies can carry.
 *
 * The file is optional (defaults apply) and written by hand or by the
 * operator; a file that is present but invalid is an error naming it, never
 * silently ignored.
 *
 * ```json
 * { "max_message_bytes": 65536, "max_inbox_bytes": 16777216,
 *   "message_ttl_s": 604800, "rate_limit_messages": 60,
 *   "rate_limit_window_s": 60, "loop_repeat_limit": 5 }
 * ```
 *
 * @module
 */

import { readBytesOrNull } from "./_fs.ts";
import { CorruptFileError } from "./errors.ts";
import type { BrokerPaths } from "./paths.ts";

/** The settings of one broker. */
export interface BrokerConfig {
  /** Largest message body accepted, in UTF-8 bytes. */
  max_message_bytes: number;
  /**
   * Largest pending inbox, in bytes on disk: a send that would pass it is
   * refused (room copies and broadcasts skip that member), so one flooding
   * sender cannot fill a disk or an agent's context.
   */
  max_inbox_bytes: number;
  /**
   * Most messages one sender may send to one alias (or post to one room)
   * within `rate_limit_window_s`; more are refused with `rate_limited`
   * (docs/design.md#conversations). 0 turns the limit off.
   */
  rate_limit_messages: number;
  /** The window of `rate_limit_messages`, in seconds. */
  rate_limit_window_s: number;
  /**
   * Most times one sender may send the same body to the same alias or room
   * within 60 s; more is refused as a loop (`loop_detected`). 0 turns the
   * check off.
   */
  loop_repeat_limit: number;
  /**
   * How long a direct message queued for a recipient that is not alive
   * waits for a session to take its alias before it expires into the dead
   * letters, in seconds (docs/design.md#conversations).
   */
  message_ttl_s: number;
}

/** Default body limit: 64 KiB of UTF-8. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;
/** Default inbox quota: 16 MiB (256 messages at the body limit). */
export const DEFAULT_MAX_INBOX_BYTES = 16 * 1024 * 1024;
/**
 * Highest body limit a broker may set: one message must always fit in one
 * bounded reply to its recipient (even when every character is escaped).
 */
export const MAX_MESSAGE_BYTES_CEILING = 256 * 1024;

/**
 * Default rate limit: 60 messages per sender and recipient (or room) per
 * minute — one a second, sustained for a whole minute, which no agent
 * writing its own messages reaches; two agents auto-replying to each other
 * do within seconds.
 */
export const DEFAULT_RATE_LIMIT_MESSAGES = 60;
/** Default window of the rate limit: 60 s. */
export const DEFAULT_RATE_LIMIT_WINDOW_S = 60;
/**
 * Default loop limit: the same body to the same recipient at most 5 times
 * a minute (a 6th is refused as a loop).
 */
export const DEFAULT_LOOP_REPEAT_LIMIT = 5;
/** Default time a message queued for a recipient that is not alive waits: 7 days. */
export const DEFAULT_MESSAGE_TTL_S = 7 * 24 * 3600;

/** The settings when `config.json` is absent. */
export const DEFAULT_CONFIG: Readonly<BrokerConfig> = {
  max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
  max_inbox_bytes: DEFAULT_MAX_INBOX_BYTES,
  rate_limit_messages: DEFAULT_RATE_LIMIT_MESSAGES,
  rate_limit_window_s: DEFAULT_RATE_LIMIT_WINDOW_S,
  loop_repeat_limit: DEFAULT_LOOP_REPEAT_LIMIT,
  message_ttl_s: DEFAULT_MESSAGE_TTL_S,
};

const RANGES: Record<keyof BrokerConfig, [number, number]> = {
  max_message_bytes: [1, MAX_MESSAGE_BYTES_CEILING],
  max_inbox_bytes: [1024, 1024 ** 4],
  rate_limit_messages: [0, 1_000_000],
  rate_limit_window_s: [1, 86_400],
  loop_repeat_limit: [0, 1_000_000],
  message_ttl_s: [60, 365 * 24 * 3600],
};

/**
 * Checks a parsed `config.json`.
 *
 * @param value Parsed JSON.
 * @returns The settings, defaults filled in.
 * @throws {Error} With the reason, when the value is not a valid config.
 */
export function parseConfig(value: unknown): BrokerConfig {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error("top level is not an object");
  }
  const config: BrokerConfig = { ...DEFAULT_CONFIG };
  for (const [key, raw] of Object.entries(value)) {
    if (!(key in RANGES)) {
      throw new Error(
        `unknown setting '${key}' (known: ${Object.keys(RANGES).join(", ")})`,
      );
    }
    const [min, max] = RANGES[key as keyof BrokerConfig];
    if (
      !Number.isInteger(raw) || (raw as number) < min || (raw as number) > max
    ) {
      throw new Error(`'${key}' must be an integer from ${min} to ${max}`);
    }
    config[key as keyof BrokerConfig] = raw as number;
  }
  return config;
}

/**
 * Reads the broker's settings.
 *
 * Requires `--allow-read` on the broker root.
 *
 * @param paths Broker layout.
 * @returns The settings (defaults when there is no `config.json`).
 * @throws {CorruptFileError} When `config.json` exists but is not valid.
 */
export function readConfig(paths: BrokerPaths): BrokerConfig {
  const bytes = readBytesOrNull(paths.config);
  if (bytes === null) return { ...DEFAULT_CONFIG };
  try {
    return parseConfig(JSON.parse(new TextDecoder().decode(bytes)));
  } catch (e) {
    throw new CorruptFileError(paths.config, (e as Error).message);
  }
}
