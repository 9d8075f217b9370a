/**
 * The web server of `c2c ui`: 127.0.0.1 only, every request through the
 * gate (`auth.ts`), the page (`page.ts`), a JSON API, and server-sent
 * events that push each change of the {@linkcode LiveView} to every open
 * page.
 *
 * Routes (all behind the gate):
 * - `GET /` the page, carrying its first snapshot (with `?token=`: sets the
 *   cookie, then redirects to `/`, so the token leaves the address bar and
 *   the history);
 * - `GET /api/events` the live feed: a `snapshot` event (or, for a page
 *   that has one — `?since=<seq>`, or `Last-Event-ID` on a reconnect — a
 *   `resume` event with what it missed), then `agents`, `rooms` and
 *   `traffic` events as things change;
 * - `GET /api/state` the snapshot as JSON;
 * - `GET /api/traffic?skip=N` the stream's messages after its newest `N`
 *   (the page carries the newest 200 and fetches the rest after drawing);
 * - `GET /api/rooms/<room>/history?before=N&limit=M` a page of a room's
 *   history (the `limit` messages before offset `N`; without `before`, the
 *   newest);
 * - `POST /api/send` `{to, content}` or `{room_id, content}`: the human
 *   posts (refused with `--read-only`).
 *
 * No response carries CORS headers, and every one forbids framing,
 * referrers and any script or style but the page's own.
 *
 * Requires `--allow-net=127.0.0.1:<port>` (`127.0.0.1:0` for a free port)
 * and what the broker's store requires.
 *
 * @module
 */

import type { Broker } from "../lib/broker.ts";
import { C2cError, describeError, type Wording } from "../lib/errors.ts";
import { validateRoomId } from "../lib/paths.ts";
import { checkRequest, type Gate, newToken, tokenCookie } from "./auth.ts";
import { HumanPeer } from "./human.ts";
import { type LiveEvent, LiveView, type LiveViewOptions } from "./live_view.ts";
import { pageHtml, pagePolicy } from "./page.ts";

/** The only address the server binds. */
export const UI_HOSTNAME = "127.0.0.1";
/** Most pages connected to the live feed at once. */
export const MAX_FEEDS = 32;
/** A page this many bytes behind on the feed is cut off (it reconnects). */
const FEED_BACKLOG = 8 * 1024 * 1024;
/** How often an idle feed says it is still there. */
const PING_MS = 15_000;
/** Messages the page carries inline (the stream draws 60 at first). */
const FIRST_TRAFFIC = 200;
/** Most messages one page of a room's history holds. */
const MAX_HISTORY_PAGE = 500;

/** How the page words the next steps broker errors advise. */
const UI_WORDING: Wording = {
  step(next) {
    switch (next.step) {
      case "list_peers":
        return "the agents list shows who is registered";
      case "register":
        return "restart c2c ui";
      case "join_room":
        return `join #${next.room_id} first`;
    }
  },
  senderArgument: "--alias",
};

/** Options of {@linkcode startUi}. */
export interface UiOptions {
  /** The broker to show. */
  broker: Broker;
  /** Port on 127.0.0.1 (default 0: a free one). */
  port?: number;
  /** No posting: the human does not register. */
  readOnly?: boolean;
  /** The human's alias (default `human`). */
  alias?: string;
  /** The access token (default: a new random one). */
  token?: string;
  /** Options of the live model (limits, timing). */
  view?: Omit<LiveViewOptions, "onInbox" | "onError">;
  /** Gets what went wrong in the background (a pass, a drain). */
  onError?(error: unknown): void;
}

/** A running `c2c ui`. */
export interface UiServer extends AsyncDisposable {
  /** The URL to open, token included. */
  readonly url: string;
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** The port it listens on. */
  readonly port: number;
  /** The access token. */
  readonly token: string;
  /** The human's alias, or `null` when read-only. */
  readonly alias: string | null;
  /** Whether posting is off. */
  readonly readOnly: boolean;
  /** The live model (for tests and the bench). */
  readonly view: LiveView;
  /** Stops serving, closes every feed and ends the human's session. */
  close(): Promise<void>;
}

const encoder = new TextEncoder();

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": pagePolicy(),
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  // No Cross-Origin-Opener-Policy: it makes Chromium move the page to a
  // new process on every open (about 100 ms here), and no other page can
  // read this one's data without it (no CORS, cookie-bound, same-origin).
  "cross-origin-resource-policy": "same-origin",
  "cache-control": "no-store",
};

function respond(
  body: BodyInit | null,
  status: number,
  type: string,
  extra: Record<string, string> = {},
): Response {
  return new Response(body, {
    status,
    headers: { ...SECURITY_HEADERS, "content-type": type, ...extra },
  });
}

function json(value: unknown, status = 200): Response {
  return respond(
    JSON.stringify(value),
    status,
    "application/json; charset=utf-8",
  );
}

function failure(status: number, code: string, message: string): Response {
  return json({ error: { code, message } }, status);
}

/** Reads a request body up to `max` bytes; `null` when it is longer. */
async function readBody(
  request: Request,
  max: number,
): Promise<Uint8Array | null> {
  if (!request.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body) {
    size += chunk.length;
    if (size > max) return null;
    chunks.push(chunk);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Starts `c2c ui`: registers the human (unless read-only), reads the
 * broker, and serves the page on 127.0.0.1.
 *
 * @param options Broker, port, mode, alias.
 * @returns The running server.
 * @throws {AliasTakenError} When a live session holds the human's alias.
 * @throws {Deno.errors.AddrInUse} When the port is taken.
 *
 * @example Usage
 * ```ts ignore
 * import { startUi } from "./server.ts";
 * await using ui = await startUi({ broker });
 * console.log(ui.url); // http://127.0.0.1:43123/?token=…
 * ```
 */
export async function startUi(options: UiOptions): Promise<UiServer> {
  const { broker } = options;
  const readOnly = options.readOnly ?? false;
  const report = options.onError ?? (() => {});
  const token = options.token ?? newToken();
  const human = readOnly
    ? null
    : await HumanPeer.join(broker, options.alias ?? "human");
  const view = new LiveView(broker, {
    ...options.view,
    onError: report,
    onInbox: (sessionId) => {
      if (human && sessionId === human.sessionId) {
        human.drain().catch(report);
      }
    },
  });
  const feeds = new Set<Feed>();
  const stop = new AbortController();
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    await view.start();
    server = Deno.serve({
      hostname: UI_HOSTNAME,
      port: options.port ?? 0,
      signal: stop.signal,
      onListen: () => {},
      onError: (e) => {
        report(e);
        return failure(500, "internal", "internal error");
      },
    }, (request) => route(request));
  } catch (e) {
    view.close();
    await human?.leave().catch(() => {});
    throw e;
  }
  const port = server.addr.port;
  const gate: Gate = { port, token };
  const origin = `http://${UI_HOSTNAME}:${port}`;
  const meta = () => ({
    me: human?.alias ?? null,
    read_only: readOnly,
    broker: broker.store.describe(),
  });
  const limit = await broker.messageLimit();

  async function route(request: Request): Promise<Response> {
    const verdict = checkRequest(request, gate);
    if (!verdict.ok) {
      return respond(
        verdict.reason + "\n",
        verdict.status,
        "text/plain; charset=utf-8",
        verdict.status === 405 ? { allow: "GET, HEAD, POST" } : {},
      );
    }
    const url = new URL(request.url);
    const path = url.pathname;
    if (request.method === "POST") {
      return path === "/api/send"
        ? await post(request)
        : failure(404, "not_found", `no such endpoint: POST ${path}`);
    }
    if (verdict.viaQuery && path === "/") {
      // The token leaves the address bar (and the history) for a cookie.
      return respond(null, 303, "text/plain", {
        location: "/",
        "set-cookie": tokenCookie(gate),
      });
    }
    switch (path) {
      case "/": {
        // The first screen's worth inline; the rest of the stream follows
        // (`/api/traffic`) once the page is drawn.
        const snapshot = view.snapshot();
        return respond(
          pageHtml({
            ...meta(),
            ...snapshot,
            traffic: snapshot.traffic.slice(0, FIRST_TRAFFIC),
            more: snapshot.traffic.length > FIRST_TRAFFIC,
          }),
          200,
          "text/html; charset=utf-8",
        );
      }
      case "/api/traffic": {
        const skip = Number(url.searchParams.get("skip") ?? 0);
        return json(
          view.snapshot().traffic.slice(Number.isSafeInteger(skip) ? skip : 0),
        );
      }
      case "/api/state":
        return json({ ...meta(), ...view.snapshot() });
      case "/api/events":
        return openFeed(
          request.headers.get("last-event-id") ?? url.searchParams.get("since"),
        );
    }
    const room = /^\/api\/rooms\/([^/]+)\/history$/.exec(path);
    if (room) return await history(decodeURIComponent(room[1]), url);
    return failure(404, "not_found", `no such page: ${path}`);
  }

  /**
   * A page's live feed. A page that has a snapshot (its own, or the events
   * up to an id) gets what it has not seen; any other, the snapshot.
   */
  function openFeed(since: string | null): Response {
    if (feeds.size >= MAX_FEEDS) {
      return failure(
        503,
        "too_many_pages",
        `${MAX_FEEDS} pages are open already; close one`,
      );
    }
    const feed = new Feed(() => feeds.delete(feed));
    feeds.add(feed);
    const missed = since !== null && /^\d{1,15}$/.test(since)
      ? view.since(Number(since))
      : null;
    if (missed === null) {
      const snapshot = view.snapshot();
      feed.send("snapshot", { ...meta(), ...snapshot }, snapshot.seq);
    } else {
      feed.send("resume", {
        agents: view.agents(),
        rooms: view.rooms(),
        traffic: missed,
      }, view.seq);
    }
    feed.follow(view);
    return respond(feed.body, 200, "text/event-stream; charset=utf-8");
  }

  async function history(roomId: string, url: URL): Promise<Response> {
    const num = (name: string) => {
      const v = url.searchParams.get(name);
      return v !== null && /^\d{1,9}$/.test(v) ? Number(v) : undefined;
    };
    try {
      validateRoomId(roomId);
      const limit = Math.min(num("limit") ?? 100, MAX_HISTORY_PAGE);
      const before = num("before");
      if (before === undefined) {
        const r = await broker.roomHistory({ room_id: roomId, limit });
        return json({
          room_id: roomId,
          total: r.total,
          offset: Math.max(0, r.total - r.messages.length),
          messages: r.messages,
        });
      }
      const offset = Math.max(0, before - limit);
      const r = await broker.roomHistory({
        room_id: roomId,
        offset,
        limit: before - offset,
      });
      return json({
        room_id: roomId,
        total: r.total,
        offset,
        messages: r.messages,
      });
    } catch (e) {
      return brokerFailure(e);
    }
  }

  async function post(request: Request): Promise<Response> {
    if (human === null) {
      return failure(
        403,
        "read_only",
        "this live view is read-only (c2c ui --read-only): posting is off",
      );
    }
    const type = request.headers.get("content-type") ?? "";
    if (!/^application\/json\s*(;|$)/i.test(type)) {
      return failure(415, "bad_request", "send JSON (application/json)");
    }
    // A body escaped as JSON takes at most 6 bytes per byte of content.
    const bytes = await readBody(request, limit * 6 + 4096);
    if (bytes === null) {
      return failure(
        413,
        "message_too_large",
        `the message is over the broker's limit of ${limit} bytes`,
      );
    }
    let input: unknown;
    try {
      input = JSON.parse(
        new TextDecoder("utf-8", { fatal: true }).decode(bytes),
      );
    } catch {
      return failure(400, "bad_request", "the body is not JSON");
    }
    const body = input as Record<string, unknown>;
    if (
      typeof input !== "object" || input === null ||
      typeof body.content !== "string" || body.content.trim() === "" ||
      (typeof body.to === "string") === (typeof body.room_id === "string")
    ) {
      return failure(
        400,
        "bad_request",
        "send {to, content} or {room_id, content} with a non-empty content",
      );
    }
    try {
      if (typeof body.to === "string") {
        const receipt = await human.send({
          to_alias: body.to,
          content: body.content,
        });
        view.touchInbox({ alias: receipt.to_alias });
        return json(receipt);
      }
      const result = await human.post({
        room_id: body.room_id as string,
        content: body.content,
      });
      view.touchRoom(result.room_id);
      return json(result);
    } catch (e) {
      return brokerFailure(e);
    }
  }

  function brokerFailure(e: unknown): Response {
    if (e instanceof C2cError) {
      return failure(400, e.code, describeError(e, UI_WORDING));
    }
    report(e);
    return failure(500, "internal", describeError(e, UI_WORDING));
  }

  let closing: Promise<void> | null = null;
  const close = () =>
    closing ??= (async () => {
      view.close();
      for (const feed of feeds) feed.end();
      stop.abort();
      await server.finished.catch(() => {});
      await human?.leave().catch(report);
    })();

  return {
    url: `${origin}/?token=${token}`,
    origin,
    port,
    token,
    alias: human?.alias ?? null,
    readOnly,
    view,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** One page's live feed: server-sent events. */
class Feed {
  readonly body: ReadableStream<Uint8Array>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #unsubscribe: (() => void) | null = null;
  #ping: ReturnType<typeof setInterval> | undefined;
  #ended = false;
  readonly #onEnd: () => void;

  constructor(onEnd: () => void) {
    this.#onEnd = onEnd;
    this.body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
        // A page reconnects a second after losing the feed.
        controller.enqueue(encoder.encode("retry: 1000\n\n"));
      },
      cancel: () => this.#stop(),
    }, new ByteLengthQueuingStrategy({ highWaterMark: 64 * 1024 }));
    this.#ping = setInterval(() => this.#write(": ping\n\n"), PING_MS);
  }

  follow(view: LiveView): void {
    this.#unsubscribe = view.subscribe((e: LiveEvent) => {
      switch (e.type) {
        case "traffic":
          return this.send("traffic", e.items, e.seq);
        case "agents":
          return this.send("agents", e.agents);
        case "rooms":
          return this.send("rooms", e.rooms);
      }
    });
  }

  /**
   * Sends one event; `id` (a `seq`) comes back as `Last-Event-ID` when the
   * page reconnects.
   */
  send(event: string, data: unknown, id?: number): void {
    // JSON has no raw newline: one `data:` line, whatever the content.
    this.#write(
      `${id === undefined ? "" : `id: ${id}\n`}event: ${event}\ndata: ${
        JSON.stringify(data)
      }\n\n`,
    );
  }

  #write(text: string): void {
    if (this.#ended) return;
    if ((this.#controller.desiredSize ?? 0) < -FEED_BACKLOG) {
      // The page stopped reading: let it go (it gets a fresh snapshot when
      // it reconnects) rather than hold its backlog.
      this.end();
      return;
    }
    this.#controller.enqueue(encoder.encode(text));
  }

  end(): void {
    if (this.#ended) return;
    this.#stop();
    try {
      this.#controller.close();
    } catch { /* already closed */ }
  }

  #stop(): void {
    if (this.#ended) return;
    this.#ended = true;
    clearInterval(this.#ping);
    this.#unsubscribe?.();
    this.#onEnd();
  }
}
