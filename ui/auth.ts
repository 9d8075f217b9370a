/**
 * Who may talk to `c2c ui`: the gate every request passes before routing.
 *
 * The server binds 127.0.0.1 only, but any local process — and any web
 * page the user's browser opens — can reach 127.0.0.1. So every request
 * needs the random token the command printed (a query parameter on the
 * first load, then an `HttpOnly`, `SameSite=Strict` cookie), and a request
 * is refused when:
 * - its `Host` is not `127.0.0.1:<port>` or `localhost:<port>`: a page of
 *   another site whose name was re-pointed at 127.0.0.1 (DNS rebinding)
 *   sends its own name;
 * - its `Origin` is another origin, or `Sec-Fetch-Site` says another site
 *   made it: pages on other ports of 127.0.0.1 are "same site" for cookies,
 *   so the cookie alone does not stop their posts;
 * - it changes something (POST) without an `Origin` header naming this
 *   server (browsers always send one with a POST);
 * - its method is not GET, HEAD or POST (no CORS preflight is ever
 *   answered, so no other origin may send JSON).
 *
 * Pure: no I/O.
 *
 * @module
 */

/** The name of the token's query parameter. */
export const TOKEN_PARAM = "token";

/** What the gate knows about the server. */
export interface Gate {
  /** The port the server listens on (127.0.0.1). */
  port: number;
  /** The access token. */
  token: string;
}

/** The gate's answer. */
export type Verdict =
  /** Let through; `viaQuery`: the token came in the URL (set the cookie). */
  | { ok: true; viaQuery: boolean }
  /** Refused, with the status and a one-line reason. */
  | { ok: false; status: 401 | 403 | 405; reason: string };

/**
 * A new access token: 32 random bytes, base64url.
 *
 * @returns The token.
 *
 * @example Usage
 * ```ts
 * import { newToken } from "./auth.ts";
 * newToken().length; // 43
 * ```
 */
export function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(
    /\//g,
    "_",
  ).replace(/=+$/, "");
}

/**
 * The cookie holding the token: named for the port, so that two `c2c ui`
 * on one machine (cookies ignore ports) do not overwrite each other's.
 *
 * @param port The server's port.
 * @returns The cookie's name.
 */
export function cookieName(port: number): string {
  return `c2c_ui_${port}`;
}

/**
 * The `Set-Cookie` value that hands the browser the token.
 *
 * @param gate Port and token.
 * @returns The header value.
 */
export function tokenCookie(gate: Gate): string {
  return `${
    cookieName(gate.port)
  }=${gate.token}; Path=/; HttpOnly; SameSite=Strict`;
}

/**
 * The origins the page itself has.
 *
 * @param port The server's port.
 * @returns `http://127.0.0.1:<port>` and `http://localhost:<port>`.
 */
export function ownOrigins(port: number): string[] {
  return [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
}

/** Compares two strings in time that depends only on their lengths. */
function sameToken(given: string, token: string): boolean {
  if (given.length !== token.length) return false;
  let diff = 0;
  for (let i = 0; i < token.length; i++) {
    diff |= given.charCodeAt(i) ^ token.charCodeAt(i);
  }
  return diff === 0;
}

function cookieToken(header: string | null, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const at = part.indexOf("=");
    if (at !== -1 && part.slice(0, at).trim() === name) {
      return part.slice(at + 1).trim();
    }
  }
  return null;
}

/**
 * Decides whether a request may pass (see the module doc).
 *
 * @param request The request.
 * @param gate Port and token.
 * @returns Pass, or the refusal.
 *
 * @example Usage
 * ```ts
 * import { checkRequest } from "./auth.ts";
 * const gate = { port: 8123, token: "t" };
 * checkRequest(new Request("http://evil.example:8123/?token=t"), gate);
 * // { ok: false, status: 403, reason: "foreign Host 'evil.example:8123' …" }
 * ```
 */
export function checkRequest(request: Request, gate: Gate): Verdict {
  const method = request.method;
  if (method !== "GET" && method !== "HEAD" && method !== "POST") {
    return { ok: false, status: 405, reason: `method ${method} not allowed` };
  }
  const url = new URL(request.url);
  const host = request.headers.get("host") ?? url.host;
  const hosts = [`127.0.0.1:${gate.port}`, `localhost:${gate.port}`];
  if (!hosts.includes(host.toLowerCase())) {
    return {
      ok: false,
      status: 403,
      reason: `foreign Host '${
        host.slice(0, 100)
      }': open the page as http://127.0.0.1:${gate.port}/`,
    };
  }
  const origin = request.headers.get("origin");
  if (origin !== null && !ownOrigins(gate.port).includes(origin)) {
    return {
      ok: false,
      status: 403,
      reason: "cross-origin request refused",
    };
  }
  const site = request.headers.get("sec-fetch-site");
  if (site !== null && site !== "same-origin" && site !== "none") {
    return { ok: false, status: 403, reason: `${site} request refused` };
  }
  if (method === "POST" && origin === null) {
    return {
      ok: false,
      status: 403,
      reason: "a post needs an Origin header naming this page",
    };
  }
  const fromCookie = cookieToken(
    request.headers.get("cookie"),
    cookieName(gate.port),
  );
  if (fromCookie !== null && sameToken(fromCookie, gate.token)) {
    return { ok: true, viaQuery: false };
  }
  const bearer = /^Bearer (\S+)$/.exec(
    request.headers.get("authorization") ?? "",
  )?.[1];
  if (bearer !== undefined && sameToken(bearer, gate.token)) {
    return { ok: true, viaQuery: false };
  }
  const fromQuery = url.searchParams.get(TOKEN_PARAM);
  if (fromQuery !== null && sameToken(fromQuery, gate.token)) {
    return { ok: true, viaQuery: true };
  }
  return {
    ok: false,
    status: 401,
    reason: "this page needs the token: open the URL `c2c ui` printed",
  };
}
