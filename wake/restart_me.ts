/**
 * `c2c restart-me`: run by an agent (or its user) inside a client, asks the
 * `c2c run` harness around that client to restart it with the same arguments
 * (a new session under the same alias; pending messages move with it).
 *
 * Outside a harness nothing can restart the client from within, so the
 * command says how to get one and fails.
 *
 * Requires `--allow-read` and `--allow-write` on the broker root (the control
 * file lives there) and `--allow-env` for {@linkcode RESTART_ME_ENV}.
 *
 * @module
 */

import { CONTROL_ENV, sendControlRequest } from "./control.ts";
import { type ClientProfile, DETECT_ENV, detectClient } from "./clients.ts";

/** Environment variables {@linkcode restartMe} reads. */
export const RESTART_ME_ENV: readonly string[] = [
  CONTROL_ENV,
  "C2C_SESSION_ID",
  "C2C_ALIAS",
  ...DETECT_ENV,
];

/** What {@linkcode restartMe} did, for the CLI to print. */
export interface RestartMeResult {
  /** Exit code: 0 when the harness took the request, else 1. */
  code: number;
  /** Whether the caller runs inside a `c2c run` harness. */
  managed: boolean;
  /** The client detected from the environment, if any. */
  client: string | null;
  /** One or more lines for the user (stdout when `code` is 0, else stderr). */
  message: string;
}

/** Options of {@linkcode restartMe}. */
export interface RestartMeOptions {
  /** Environment reader (e.g. `readEnv` from `lib/session.ts`). */
  env: (name: string) => string | undefined;
  /** How long to wait for the harness to take the request (ms, default 3 s). */
  waitMs?: number;
}

/**
 * Asks the surrounding harness to restart the client.
 *
 * @param options Environment reader and timeout.
 * @returns Exit code, whether managed, and what to print.
 *
 * @example Usage
 * ```ts ignore
 * import { restartMe } from "./restart_me.ts";
 * import { readEnv } from "../lib/session.ts";
 * const result = await restartMe({ env: readEnv });
 * (result.code === 0 ? console.log : console.error)(result.message);
 * Deno.exit(result.code);
 * ```
 */
export async function restartMe(
  options: RestartMeOptions,
): Promise<RestartMeResult> {
  const env = options.env;
  const profile = detectClient(env);
  const client = profile?.name ?? null;
  const control = env(CONTROL_ENV);
  if (!control) {
    return {
      code: 1,
      managed: false,
      client,
      message: unmanagedAdvice(profile, env("C2C_ALIAS")),
    };
  }
  const sent = await sendControlRequest(control, {
    op: "restart",
    ts: new Date().toISOString(),
    ...(env("C2C_SESSION_ID") ? { session_id: env("C2C_SESSION_ID") } : {}),
  }, options.waitMs);
  if (sent === "no-harness") {
    return {
      code: 1,
      managed: false,
      client,
      message:
        `c2c restart-me: the c2c run harness that started this session is gone (${CONTROL_ENV}=${control}).\n` +
        unmanagedAdvice(profile, env("C2C_ALIAS")),
    };
  }
  const who = profile && profile.name !== "generic" ? profile.name : "client";
  return {
    code: sent === "acknowledged" ? 0 : 1,
    managed: true,
    client,
    message: sent === "acknowledged"
      ? `c2c restart-me: the harness is restarting the ${who} now (same arguments, same alias; pending messages are kept).`
      : `c2c restart-me: request written to ${control}, but the harness has not taken it yet.`,
  };
}

function unmanagedAdvice(
  profile: ClientProfile | null,
  alias: string | undefined,
): string {
  const name = profile && profile.name !== "generic" ? profile.name : null;
  const run = `c2c run ${name ?? "<client>"}${
    alias ? ` --alias ${alias}` : ""
  }`;
  return [
    `c2c restart-me: this ${
      name ?? "session"
    } is not running under \`c2c run\`, so nothing can restart it from inside.`,
    `Quit it and start it again through the harness: ${run} [-- <client args>]`,
    "(then `c2c restart-me` works, and waiting messages wake it by themselves).",
  ].join("\n");
}
