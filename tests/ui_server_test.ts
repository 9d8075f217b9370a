// ui/server.ts in-process over HTTP: the page carries its first snapshot,
// and the live feed resumes a page from what it has (`?since=`, or
// `Last-Event-ID` on a reconnect) instead of sending everything again.

import assert from "node:assert/strict";
import { startUi } from "../ui/server.ts";
import { lines, tempBroker, unguarded } from "./_helpers.ts";

/** Reads server-sent events: `{event, id, data}` as they come. */
async function* events(body: ReadableStream<Uint8Array>) {
  let event: Record<string, string> = {};
  for await (const line of lines(body)) {
    if (line === "") {
      if (event.event) yield event;
      event = {};
    } else if (!line.startsWith(":")) {
      const at = line.indexOf(": ");
      event[line.slice(0, at)] = line.slice(at + 2);
    }
  }
}

Deno.test("startUi() serves the page with its first snapshot inline, escaped, and resumes the feed from a seq", async () => {
  await using broker = await tempBroker();
  await broker.register("s-a", { alias: "alpha" });
  await broker.register("s-b", { alias: "bravo" });
  const before = await broker.send("s-a", {
    to_alias: "bravo",
    content: "</script><!-- <b>&",
  });
  await using ui = await startUi({ broker, readOnly: true });
  const auth = { authorization: `Bearer ${ui.token}` };
  const html = await (await fetch(`${ui.origin}/`, { headers: auth })).text();
  const data =
    /<script type="application\/json" id="c2c-snapshot">(.*?)<\/script>/s
      .exec(html)![1];
  assert.doesNotMatch(data, /[<>&]/);
  const snapshot = JSON.parse(data);
  assert.equal(snapshot.traffic[0].content, "</script><!-- <b>&");
  assert.equal(snapshot.me, null);

  // The page follows from its snapshot: nothing sent twice.
  const stop = new AbortController();
  const since = await fetch(`${ui.origin}/api/events?since=${snapshot.seq}`, {
    headers: auth,
    signal: stop.signal,
  });
  const feed = events(since.body!);
  const first = (await feed.next()).value!;
  assert.equal(first.event, "resume");
  assert.deepEqual(JSON.parse(first.data).traffic, []);
  const sent = await broker.send("s-b", { to_alias: "alpha", content: "new" });
  const next = (await feed.next()).value!;
  assert.equal(next.event, "traffic");
  assert.deepEqual(JSON.parse(next.data).map((i: { id: string }) => i.id), [
    sent.id,
  ]);
  stop.abort();

  // A reconnect names the last id it got; one from nowhere gets everything.
  const stop2 = new AbortController();
  const again = await fetch(`${ui.origin}/api/events`, {
    headers: { ...auth, "last-event-id": String(snapshot.seq) },
    signal: stop2.signal,
  });
  const resumed = (await events(again.body!).next()).value!;
  assert.equal(resumed.event, "resume");
  assert.deepEqual(
    JSON.parse(resumed.data).traffic.map((i: { id: string }) => i.id),
    [sent.id],
  );
  stop2.abort();
  for (const bad of ["999999", "x"]) {
    const stop3 = new AbortController();
    const r = await fetch(`${ui.origin}/api/events?since=${bad}`, {
      headers: auth,
      signal: stop3.signal,
    });
    const e = (await events(r.body!).next()).value!;
    assert.equal(e.event, "snapshot", bad);
    assert.deepEqual(
      JSON.parse(e.data).traffic.map((i: { id: string }) => i.id),
      [sent.id, before.id],
    );
    stop3.abort();
  }
});

Deno.test("startUi() puts the newest 200 messages in the page and serves the rest of the stream after them", async () => {
  await using broker = await tempBroker();
  await unguarded(broker.root); // 250 messages to one peer
  await broker.register("s-a", { alias: "alpha" });
  await broker.register("s-b", { alias: "bravo" });
  for (let i = 0; i < 250; i++) {
    await broker.send("s-a", { to_alias: "bravo", content: `m${i}` });
  }
  await using ui = await startUi({ broker, readOnly: true });
  const auth = { authorization: `Bearer ${ui.token}` };
  const html = await (await fetch(`${ui.origin}/`, { headers: auth })).text();
  const inline = JSON.parse(
    /id="c2c-snapshot">(.*?)<\/script>/s.exec(html)![1],
  );
  assert.equal(inline.traffic.length, 200);
  assert.equal(inline.more, true);
  assert.equal(inline.traffic[0].content, "m249");
  const rest = await (await fetch(`${ui.origin}/api/traffic?skip=200`, {
    headers: auth,
  })).json();
  assert.deepEqual(
    rest.map((i: { content: string }) => i.content),
    Array.from({ length: 50 }, (_, i) => `m${49 - i}`),
  );
});
