// `c2c ui` in a real headless Chromium, against real MCP server processes
// as the agents and `c2c ui` started by bin/c2c with the launcher's exact
// permission flags. Waits on page selectors and server answers, never on
// sleeps; each run saves a screenshot (.cache/ui-screenshot.png).

import assert from "node:assert/strict";
import { unguarded } from "./_helpers.ts";
import { Broker } from "../lib/broker.ts";
import type { Message } from "../lib/message.ts";
import { connect } from "./_mcp.ts";
import { tempDir } from "./_cli.ts";
import { openBrowser, SCREENSHOT, startUiProcess } from "./ui_harness.ts";

/**
 * How long a pushed update may take here before the test calls it lost.
 * Generous (CI machines are several times slower, and the page must not
 * reload to see it); the 200 ms budget is measured by bench/ui_bench.ts.
 */
const PUSH_BOUND_MS = 5_000;

/** A body that would end the page's inline data and run, if not escaped. */
const HOSTILE_POST =
  `Does the page keep </script><script>document.title="pwned"</script> as text?`;

Deno.test("c2c ui shows two live agents, a DM between them as it is sent, a death without a reload, and the human's posts reach an agent", async () => {
  await using root = await tempDir("c2c-ui-");
  const agent = (alias: string) =>
    connect(root.path, {
      C2C_MCP_SESSION_ID: `s-${alias}`,
      C2C_MCP_AUTO_REGISTER_ALIAS: alias,
    });
  await using alice = await agent("alice");
  const bob = await agent("bob");
  try {
    await alice.ok("whoami");
    await bob.ok("whoami");
    await alice.ok("join_room", { room_id: "lounge" });
    await bob.ok("join_room", { room_id: "lounge" });
    await alice.ok("send_room", {
      room_id: "lounge",
      content: "Starting on the store split; I'll take lib/store/.",
    });
    await alice.ok("claim", {
      paths: ["lib/store/**"],
      reason: "splitting the store out",
    });
    // In the page's first snapshot, which the page carries inline.
    const early = await bob.ok<{ id: string }>("send_room", {
      room_id: "lounge",
      content: HOSTILE_POST,
    });

    await using ui = await startUiProcess(root.path);
    await using browser = await openBrowser();
    const page = await browser.newPage();
    await page.goto(ui.url);
    // The token went into a cookie and out of the address bar.
    assert.equal(page.url(), `${ui.origin}/`);
    await page.waitForSelector('html[data-ready="1"]');
    await page.waitForSelector(
      '#agents [data-alias="alice"][data-alive="true"]',
    );
    await page.waitForSelector('#agents [data-alias="bob"][data-alive="true"]');
    assert.match(
      await page.locator('#agents [data-alias="alice"] .claims').innerText(),
      /lib\/store\/\*\*/,
    );
    assert.equal(
      await page.locator(`#stream li[data-id="${early.id}"] .body`)
        .textContent(),
      HOSTILE_POST,
    );
    // A mark that a reload would wipe.
    await page.evaluate(() => {
      (globalThis as unknown as { sameDocument: boolean }).sameDocument = true;
    });

    // A DM between two agents is pushed into the stream.
    const body =
      `Review please: the parser change, and that <img src=x onerror="document.title='pwned'"> stays text.`;
    const t0 = performance.now();
    const receipt = await alice.ok<{ id: string }>("send", {
      to_alias: "bob",
      content: body,
    });
    const item = await page.waitForSelector(
      `#stream li[data-id="${receipt.id}"]`,
      {
        timeout: PUSH_BOUND_MS,
      },
    );
    const ms = performance.now() - t0;
    assert.ok(
      ms < PUSH_BOUND_MS,
      `the DM reached the open page ${ms.toFixed(0)} ms after the send`,
    );
    assert.equal(await item!.$eval(".body", (e) => e.textContent), body);
    assert.equal(await item!.getAttribute("data-from"), "alice");
    assert.equal(await item!.getAttribute("data-to"), "bob");
    // The body is text: its markup made no element and ran nothing.
    assert.equal(await page.locator("#stream img").count(), 0);
    assert.notEqual(await page.title(), "pwned");

    // bob's reply, drained at once, shows too (found in his archive).
    const reply = await bob.ok<{ id: string }>("send", {
      to_alias: "alice",
      content: "On it — looking at the archive path now.",
    });
    await alice.ok("poll_inbox");
    await page.waitForSelector(`#stream li[data-id="${reply.id}"]`, {
      timeout: PUSH_BOUND_MS,
    });

    // Killing bob's server turns him dead on the open page.
    Deno.kill(bob.transport.pid!, "SIGKILL");
    await page.waitForSelector(
      '#agents [data-alias="bob"][data-alive="false"]',
      { timeout: PUSH_BOUND_MS },
    );

    // The human posts to a room from the page; alice gets an envelope
    // from `human`, and the page marks the post as the human's.
    await page.selectOption("#target", "room:lounge");
    await page.fill("#body", "Thanks both. Ship the split behind a flag.");
    await page.click("#send");
    const mine = await page.waitForSelector(
      '#stream li.mine[data-room="lounge"][data-from="human"]',
      { timeout: PUSH_BOUND_MS },
    );
    assert.match((await mine!.textContent()) ?? "", /you/);
    const polled = await alice.call("poll_inbox");
    const got = (polled.structuredContent as { messages: Message[] }).messages;
    const post = got.find((m) => m.from_alias === "human");
    assert.ok(post, JSON.stringify(got));
    assert.equal(post.room_id, "lounge");
    assert.equal(post.content, "Thanks both. Ship the split behind a flag.");
    assert.match(
      (polled.content[0] as { text: string }).text,
      /<c2c event="room_message" from="human" alias="alice" room_id="lounge"/,
    );

    // And a DM, sent with Enter.
    await page.selectOption("#target", "dm:alice");
    await page.fill("#body", "alice: ping me when the split lands.");
    await page.press("#body", "Enter");
    await page.waitForSelector('#stream li.mine[data-to="alice"]', {
      timeout: PUSH_BOUND_MS,
    });
    const dm = (await alice.ok<{ messages: Message[] }>("poll_inbox"))
      .messages;
    assert.deepEqual(
      dm.map((m) => [m.from_alias, m.content]),
      [["human", "alice: ping me when the split lands."]],
    );
    await Deno.mkdir(SCREENSHOT.replace(/\/[^/]+$/, ""), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });

    // A send to the dead bob is queued for its next session, in words.
    await page.selectOption("#target", "dm:bob");
    await page.fill("#body", "are you there?");
    await page.click("#send");
    await page.waitForSelector("#send-error:not(:empty)");
    assert.match(
      await page.locator("#send-error").innerText(),
      /Queued: bob is not alive now/,
    );

    assert.equal(
      await page.evaluate(() =>
        (globalThis as unknown as { sameDocument?: boolean }).sameDocument
      ),
      true,
      "the page never reloaded",
    );

    // The human's session ends with the server: no dead `human` row left.
    assert.equal(await ui.stop(), 0);
    const broker = new Broker({ root: root.path });
    assert.equal(await broker.registrationByAlias("human"), undefined);
  } finally {
    await bob.close();
  }
});

Deno.test("c2c ui --read-only in a narrow dark window: no composer, one column, dark colours, a room's history scrolls back to its first post", async () => {
  await using root = await tempDir("c2c-ui-ro-");
  const broker = new Broker({ root: root.path });
  await unguarded(root.path); // a long room history from one poster
  await broker.register("s-a", { alias: "alpha" });
  await broker.joinRoom("s-a", { room_id: "build" });
  // 1 join line + 250 posts: three pages of history.
  for (let i = 0; i < 250; i++) {
    await broker.sendRoom("s-a", { room_id: "build", content: `post ${i}` });
  }
  await using ui = await startUiProcess(root.path, ["--read-only"]);
  await using browser = await openBrowser({ width: 420, height: 760 });
  const page = await browser.newPage();
  await page.emulateMedia({ colorScheme: "dark" });
  await page.goto(ui.url);
  await page.waitForSelector('html[data-ready="1"]');
  assert.equal(await page.locator("#composer").isHidden(), true);
  assert.match(await page.locator("#read-only").innerText(), /Read-only/);
  assert.match(await page.locator("#me").innerText(), /read-only/);
  // Narrow: the side bar sits above the stream, in one column.
  const columns = await page.evaluate<string>(
    "getComputedStyle(document.querySelector('.layout')).gridTemplateColumns",
  );
  assert.equal(columns.split(" ").length, 1, columns);
  // Dark: light text on a dark background.
  const [bg, fg] = await page.evaluate<string[]>(
    "[getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]",
  );
  const lum = (rgb: string) =>
    rgb.match(/\d+/g)!.slice(0, 3).map(Number).reduce((a, b) => a + b);
  assert.ok(lum(bg) < 150 && lum(fg) > 500, `${bg} on ${fg}`);

  // The stream starts with each room's newest 200 posts (the room view
  // has the rest); it draws its newest 60, then 60 more each time it is
  // scrolled to the end; the search box filters it.
  const stream = page.locator("#stream > li");
  assert.equal(await stream.count(), 60);
  for (const drawn of [120, 180, 200]) {
    await page.$eval("#stream", (e) => e.scrollTop = e.scrollHeight);
    await stream.nth(drawn - 1).waitFor({ state: "attached" });
    assert.equal(await stream.count(), drawn);
  }
  assert.equal(await stream.last().locator(".body").textContent(), "post 50");
  await page.fill("#search", "POST 24");
  await page.locator("#stream > li").nth(9).waitFor({ state: "attached" });
  assert.deepEqual(
    await page.locator("#stream > li .body").allTextContents(),
    Array.from({ length: 10 }, (_, i) => `post ${249 - i}`),
  );
  await page.fill("#search", "");

  // The room opens on its newest 100; scrolling up loads the rest.
  // (The page's policy forbids eval, so waits go through locators; and
  // messages off screen are not rendered, so their text is read from the
  // DOM, not as rendered.)
  const log = page.locator("#room-log li");
  await page.click('#rooms [data-room="build"] button');
  await log.nth(99).waitFor();
  assert.equal(await log.count(), 100);
  assert.equal(await log.last().locator(".body").textContent(), "post 249");
  for (const want of [200, 251]) {
    await page.$eval("#room-log", (e) => e.scrollTop = 0);
    await log.nth(want - 1).waitFor();
    assert.equal(await log.count(), want);
  }
  assert.equal(
    await page.locator("#room-log li .body").first().textContent(),
    "alpha joined",
  );
  // A post while the room is open is appended live.
  const live = await broker.sendRoom("s-a", {
    room_id: "build",
    content: "post 250",
  });
  await page.waitForSelector(`#room-log li[data-id="${live.id}"]`);
  assert.equal(await log.count(), 252);
});
