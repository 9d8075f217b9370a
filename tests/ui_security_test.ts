// `c2c ui`'s gate, against the real server process (bin/c2c, the launcher's
// exact flags): the token, the cookie, Host and Origin checks, no CORS,
// --read-only, 127.0.0.1 only — as a hostile local process sends raw
// requests, and as a hostile page in the same real Chromium tries them.

import assert from "node:assert/strict";
import { Broker } from "../lib/broker.ts";
import { tempDir } from "./_cli.ts";
import { openBrowser, rawRequest, startUiProcess } from "./ui_harness.ts";

/** A broker with one agent, `alice`, to post to. */
async function brokerWithAlice(root: string): Promise<Broker> {
  const broker = new Broker({ root });
  await broker.register("s-alice", { alias: "alice" });
  return broker;
}

function corsHeaders(headers: Map<string, string>): string[] {
  return [...headers.keys()].filter((h) => h.startsWith("access-control-"));
}

Deno.test("c2c ui refuses requests without the token, with a foreign Host, or from another origin, and answers no CORS", async () => {
  await using root = await tempDir("c2c-ui-sec-");
  const broker = await brokerWithAlice(root.path);
  await using ui = await startUiProcess(root.path);
  const host = `host: 127.0.0.1:${ui.port}`;
  const cookie = `cookie: c2c_ui_${ui.port}=${ui.token}`;
  const origin = `origin: ${ui.origin}`;
  const post = (head: string[], body = '{"to":"alice","content":"hi"}') =>
    rawRequest(ui.port, [
      "POST /api/send HTTP/1.1",
      "content-type: application/json",
      ...head,
    ], body);

  // No token, a wrong one, a token for another port's cookie name.
  for (
    const path of ["/", "/api/state", "/api/events", "/api/rooms/r/history"]
  ) {
    const r = await rawRequest(ui.port, [`GET ${path} HTTP/1.1`, host]);
    assert.equal(r.status, 401, path);
    assert.match(r.body, /needs the token/);
  }
  for (
    const bad of [
      `cookie: c2c_ui_${ui.port}=${ui.token.slice(1)}x`,
      `cookie: c2c_ui_1=${ui.token}`,
      "authorization: Bearer nope",
    ]
  ) {
    const r = await rawRequest(ui.port, ["GET /api/state HTTP/1.1", host, bad]);
    assert.equal(r.status, 401, bad);
  }
  const wrongQuery = await rawRequest(ui.port, [
    "GET /?token=x HTTP/1.1",
    host,
  ]);
  assert.equal(wrongQuery.status, 401);

  // The token in the URL becomes a strict, script-proof cookie.
  const first = await rawRequest(ui.port, [
    `GET /?token=${ui.token} HTTP/1.1`,
    host,
  ]);
  assert.equal(first.status, 303);
  assert.equal(first.headers.get("location"), "/");
  assert.equal(
    first.headers.get("set-cookie"),
    `c2c_ui_${ui.port}=${ui.token}; Path=/; HttpOnly; SameSite=Strict`,
  );
  const page = await rawRequest(ui.port, ["GET / HTTP/1.1", host, cookie]);
  assert.equal(page.status, 200);
  // The page's own inline script and style, by hash; nothing else.
  const policy = page.headers.get("content-security-policy")!;
  assert.match(
    policy,
    /default-src 'none'; script-src 'sha256-[^' ]+'; style-src 'sha256-[^' ]+';.*frame-ancestors 'none'/,
  );
  assert.doesNotMatch(policy, /unsafe/);
  assert.equal(
    (await rawRequest(ui.port, [
      "GET /api/state HTTP/1.1",
      `host: localhost:${ui.port}`,
      cookie,
    ])).status,
    200,
  );

  // DNS rebinding: a page of another site, its name pointed at 127.0.0.1,
  // sends its own Host — even with the cookie.
  for (
    const foreign of [
      `host: evil.example:${ui.port}`,
      "host: 127.0.0.1",
      `host: 127.0.0.1:${ui.port + 1}`,
    ]
  ) {
    const r = await rawRequest(ui.port, [
      "GET /api/state HTTP/1.1",
      foreign,
      cookie,
    ]);
    assert.equal(r.status, 403, foreign);
    assert.match(r.body, /foreign Host/);
  }

  // Cross-origin posts, whatever they carry; and a post with no Origin.
  for (
    const head of [
      [host, cookie, "origin: http://evil.example"],
      [host, cookie, `origin: http://127.0.0.1:${ui.port + 1}`],
      [host, cookie, origin, "sec-fetch-site: same-site"],
      [host, cookie, origin, "sec-fetch-site: cross-site"],
      [host, cookie],
    ]
  ) {
    const r = await post(head);
    assert.equal(r.status, 403, head.join(" | "));
    assert.deepEqual(corsHeaders(r.headers), []);
  }
  // No preflight is ever answered, so no other origin may send JSON.
  const preflight = await rawRequest(ui.port, [
    "OPTIONS /api/send HTTP/1.1",
    host,
    "origin: http://evil.example",
    "access-control-request-method: POST",
    "access-control-request-headers: content-type",
  ]);
  assert.equal(preflight.status, 405);
  assert.deepEqual(corsHeaders(preflight.headers), []);
  assert.deepEqual(
    (await broker.peekInbox("s-alice")).messages,
    [],
    "nothing refused reached alice",
  );

  // The page's own post passes.
  const ok = await post([host, cookie, origin, "sec-fetch-site: same-origin"]);
  assert.equal(ok.status, 200, ok.body);
  assert.deepEqual(corsHeaders(ok.headers), []);
  assert.deepEqual(
    (await broker.peekInbox("s-alice")).messages.map((m) => m.from_alias),
    ["human"],
  );

  // 127.0.0.1 only: not the IPv6 loopback, not another address.
  await assert.rejects(Deno.connect({ hostname: "::1", port: ui.port }));
  assert.equal(await ui.stop(), 0);
});

Deno.test("c2c ui --read-only registers no alias and refuses posts", async () => {
  await using root = await tempDir("c2c-ui-ro-");
  const broker = await brokerWithAlice(root.path);
  await using ui = await startUiProcess(root.path, ["--read-only"]);
  assert.equal(ui.alias, null);
  const r = await rawRequest(ui.port, [
    "POST /api/send HTTP/1.1",
    `host: 127.0.0.1:${ui.port}`,
    `cookie: c2c_ui_${ui.port}=${ui.token}`,
    `origin: ${ui.origin}`,
    "content-type: application/json",
  ], '{"to":"alice","content":"hi"}');
  assert.equal(r.status, 403);
  assert.match(r.body, /read-only/);
  assert.deepEqual(
    (await broker.list()).peers.map((p) => p.alias),
    ["alice"],
  );
  assert.deepEqual((await broker.peekInbox("s-alice")).messages, []);
});

Deno.test("c2c ui in Chromium: a page on another local port cannot post as the human, nor read the state, even with the cookie", async () => {
  await using root = await tempDir("c2c-ui-xsite-");
  const broker = await brokerWithAlice(root.path);
  await using ui = await startUiProcess(root.path);
  // The attacker: another origin on the same machine. Ports do not count
  // for cookies' SameSite, so the browser sends the UI's cookie along.
  const attacker = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      new Response(
        `<!doctype html><form id=f method=POST enctype=text/plain action="${ui.origin}/api/send"><input name='{"to":"alice","content":"forged form","x":"' value='"}'></form>`,
        { headers: { "content-type": "text/html" } },
      ),
  );
  try {
    await using browser = await openBrowser();
    const page = await browser.newPage();
    await page.goto(ui.url);
    await page.waitForSelector('html[data-ready="1"]');
    const evil = await browser.newPage();
    await evil.goto(`http://127.0.0.1:${attacker.addr.port}/`);
    const outcome = await evil.evaluate(async (target: string) => {
      const tries: Record<string, string> = {};
      const attempt = async (name: string, init: RequestInit, path: string) => {
        try {
          const r = await fetch(target + path, init);
          tries[name] = r.type === "opaque" ? "opaque" : String(r.status);
        } catch (e) {
          tries[name] = `blocked: ${(e as Error).name}`;
        }
      };
      const body = JSON.stringify({ to: "alice", content: "forged fetch" });
      await attempt("json", {
        method: "POST",
        credentials: "include",
        headers: { "content-type": "application/json" },
        body,
      }, "/api/send");
      await attempt("no-cors", {
        method: "POST",
        mode: "no-cors",
        credentials: "include",
        headers: { "content-type": "text/plain" },
        body,
      }, "/api/send");
      await attempt("read", { credentials: "include" }, "/api/state");
      return tries;
    }, ui.origin);
    // The JSON post needs a preflight, which is refused; the state cannot
    // be read across origins (no CORS).
    assert.match(outcome.json, /^blocked/);
    assert.match(outcome.read, /^blocked/);
    // A plain form post navigates away: wait for the UI's refusal page.
    await Promise.all([
      evil.waitForURL(`${ui.origin}/api/send`),
      evil.evaluate('document.getElementById("f").submit()'),
    ]);
    assert.match(await evil.content(), /refused|needs an Origin|foreign/);
    assert.deepEqual(
      (await broker.peekInbox("s-alice")).messages,
      [],
      `nothing reached alice: ${JSON.stringify(outcome)}`,
    );
  } finally {
    await attacker.shutdown();
  }
});
