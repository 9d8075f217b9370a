/**
 * The page `c2c ui` serves: HTML, CSS and plain JavaScript, no build step
 * and no library — the DOM and `EventSource` are enough. One response: the
 * style and the script are inline (no round trip for them before the live
 * feed opens), and the Content-Security-Policy allows exactly those two by
 * their SHA-256 ({@linkcode pagePolicy}) — no other script or style, no
 * `eval`.
 *
 * Every text that comes from the broker (aliases, room ids, bodies, client
 * names) is put into the page as text (`textContent`), never as HTML: a
 * message cannot add markup or script to the page.
 *
 * The page keeps marks for tests and the bench:
 * `document.documentElement.dataset.ready` is `"1"` once the first snapshot
 * is drawn (and the performance mark `c2c-ready` says when: the page
 * carries its first snapshot, so that is before the live feed connects), and
 * `window.c2cShownAt` maps a message id to the time (epoch ms) it was drawn.
 *
 * @module
 */

import { createHash } from "node:crypto";

/**
 * The HTML of the page, with `@CSS@` and `@JS@` where {@linkcode pageHtml}
 * puts the style and the script.
 */
const PAGE_TEMPLATE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>c2c — live view</title>
<link rel="icon" href="data:,">
<style>@CSS@</style>
</head>
<body>
<header class="top">
  <h1>c2c <span class="sub">live view</span></h1>
  <span id="broker" class="broker"></span>
  <span id="status" class="status" data-state="connecting">connecting…</span>
  <span id="me" class="me"></span>
</header>
<div class="layout">
  <aside class="side">
    <section aria-labelledby="agents-h">
      <h2 id="agents-h">Agents <span id="agents-count" class="count"></span></h2>
      <ul id="agents" class="agents"></ul>
      <p id="agents-empty" class="empty">No agent is registered.</p>
    </section>
    <section aria-labelledby="rooms-h">
      <h2 id="rooms-h">Rooms <span id="rooms-count" class="count"></span></h2>
      <ul id="rooms" class="rooms"></ul>
      <p id="rooms-empty" class="empty">No rooms yet.</p>
    </section>
  </aside>
  <main class="main">
    <nav class="tabs" role="tablist">
      <button id="tab-stream" type="button" role="tab" aria-selected="true">Traffic</button>
      <button id="tab-room" type="button" role="tab" aria-selected="false" hidden></button>
    </nav>
    <section id="stream-panel" class="panel" role="tabpanel">
      <div class="filters">
        <select id="filter-agent" aria-label="Agent"><option value="">All agents</option></select>
        <select id="filter-room" aria-label="Room"><option value="">Rooms and direct messages</option></select>
        <input id="search" type="search" placeholder="Search" aria-label="Search messages">
      </div>
      <ol id="stream" class="messages" aria-live="polite"></ol>
      <p id="stream-empty" class="empty">No messages yet.</p>
    </section>
    <section id="room-panel" class="panel" role="tabpanel" hidden>
      <p id="room-members" class="room-members"></p>
      <ol id="room-log" class="messages chat"></ol>
    </section>
    <form id="composer" class="composer" hidden>
      <label class="to">To <select id="target" aria-label="Recipient"></select></label>
      <textarea id="body" rows="2" placeholder="Message — Enter sends, Shift+Enter starts a new line" aria-label="Message"></textarea>
      <button id="send" type="submit">Send</button>
      <p id="send-error" class="error" role="alert"></p>
    </form>
    <p id="read-only" class="read-only" hidden>Read-only: posting is off (<code>c2c ui --read-only</code>).</p>
  </main>
</div>
<script type="application/json" id="c2c-snapshot">@DATA@</script>
<script>@JS@</script>
</body>
</html>
`;

/** The page's style: light and dark, wide and narrow. */
export const PAGE_CSS = `:root {
  color-scheme: light dark;
  --bg: #f6f6f7; --panel: #ffffff; --fg: #1d1d1f; --muted: #686872;
  --line: #e2e2e7; --accent: #2458d6; --accent-fg: #ffffff;
  --mine: #edf3ff; --to-me: #fff6e0; --ok: #15803d; --dead: #c81e1e;
  --unknown: #9a9aa3; --code: #efeff2;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #111214; --panel: #1a1b1f; --fg: #e7e7ea; --muted: #9d9da6;
    --line: #2d2e33; --accent: #7aa5ff; --accent-fg: #0c1222;
    --mine: #1b263f; --to-me: #33290f; --ok: #34c15a; --dead: #f06060;
    --unknown: #6e6e78; --code: #26272c;
  }
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
html, body { height: 100%; margin: 0; }
body {
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  background: var(--bg); color: var(--fg);
  display: flex; flex-direction: column;
}
button, select, input, textarea { font: inherit; color: inherit; }
:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
code { background: var(--code); padding: 0 4px; border-radius: 4px; font-size: 12px; }
header.top {
  display: flex; align-items: baseline; gap: 12px; flex-wrap: wrap;
  padding: 10px 16px; background: var(--panel); border-bottom: 1px solid var(--line);
}
h1 { font-size: 16px; margin: 0; }
h1 .sub { font-weight: 400; color: var(--muted); }
.broker {
  flex: 1; min-width: 0; color: var(--muted); font-size: 12px;
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
}
.status, .me { font-size: 12px; color: var(--muted); white-space: nowrap; }
.status::before {
  content: ""; display: inline-block; width: 8px; height: 8px; margin-right: 6px;
  border-radius: 50%; background: var(--unknown);
}
.status[data-state="live"]::before { background: var(--ok); }
.status[data-state="closed"]::before { background: var(--dead); }
.me strong { color: var(--fg); }
.layout {
  flex: 1; min-height: 0;
  display: grid; grid-template-columns: minmax(220px, 320px) minmax(0, 1fr);
}
.side { background: var(--panel); border-right: 1px solid var(--line); overflow: auto; padding-bottom: 12px; }
.side h2 {
  margin: 14px 16px 6px; font-size: 12px; font-weight: 600; color: var(--muted);
  text-transform: uppercase; letter-spacing: .05em;
}
.count { font-weight: 400; }
.empty { margin: 6px 16px; color: var(--muted); font-size: 13px; }
ul.agents, ul.rooms { list-style: none; margin: 0; padding: 0; }
.agent, .room {
  padding: 6px 16px; border-top: 1px solid var(--line);
  content-visibility: auto; contain-intrinsic-size: auto 48px;
}
.agent .line, .room .line { display: flex; align-items: center; gap: 8px; min-width: 0; }
.dot { flex: none; width: 9px; height: 9px; border-radius: 50%; background: var(--unknown); }
.agent[data-alive="true"] .dot { background: var(--ok); }
.agent[data-alive="false"] .dot { background: var(--dead); }
.agent[data-alive="false"] .alias { color: var(--muted); text-decoration: line-through; }
.link {
  border: none; background: none; padding: 0; cursor: pointer; font-weight: 600;
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap; text-align: left;
}
.link:hover { color: var(--accent); }
.client { color: var(--muted); font-size: 12px; white-space: nowrap; }
.pending { margin-left: auto; font-size: 12px; color: var(--muted); white-space: nowrap; }
.pending.some { color: var(--fg); font-weight: 600; }
.agent .sub, .room .sub { padding-left: 17px; font-size: 12px; color: var(--muted); }
.room .sub { padding-left: 0; }
.agent.me .alias::after { content: " (you)"; font-weight: 400; color: var(--muted); }
.claims { list-style: none; margin: 2px 0 0; padding-left: 17px; font-size: 12px; color: var(--muted); }
.claims li { overflow-wrap: anywhere; }
.agent .status { margin: 2px 0 0; padding-left: 17px; font-size: 12px; overflow-wrap: anywhere; }
.main { display: flex; flex-direction: column; min-width: 0; min-height: 0; }
.tabs { display: flex; gap: 4px; padding: 8px 16px 0; border-bottom: 1px solid var(--line); }
.tabs button {
  padding: 6px 12px; border: 1px solid transparent; border-bottom: none;
  border-radius: 6px 6px 0 0; background: none; color: var(--muted); cursor: pointer;
}
.tabs button[aria-selected="true"] {
  background: var(--panel); color: var(--fg); border-color: var(--line); margin-bottom: -1px;
}
.panel { flex: 1; min-height: 0; display: flex; flex-direction: column; }
.filters { display: flex; flex-wrap: wrap; gap: 8px; padding: 10px 16px 4px; }
.filters select, .filters input, .composer select, .composer textarea {
  padding: 5px 8px; border: 1px solid var(--line); border-radius: 6px; background: var(--panel);
}
.filters input { flex: 1; min-width: 140px; }
.room-members { margin: 8px 16px 0; font-size: 12px; color: var(--muted); }
ol.messages { flex: 1; min-height: 0; overflow: auto; list-style: none; margin: 0; padding: 4px 16px 12px; }
.msg {
  margin: 6px 0; padding: 6px 10px; border: 1px solid var(--line); border-radius: 8px; background: var(--panel);
  content-visibility: auto; contain-intrinsic-size: auto 58px;
}
.msg.to-me { background: var(--to-me); }
.msg.mine { background: var(--mine); border-color: var(--accent); }
.msg.system { background: transparent; border-style: dashed; color: var(--muted); }
.msg .meta { display: flex; flex-wrap: wrap; align-items: baseline; gap: 6px; font-size: 12px; color: var(--muted); }
.msg .from, .msg .to { color: var(--fg); font-weight: 600; }
.msg .room-tag { color: var(--accent); }
.badge { padding: 0 7px; border-radius: 9px; font-size: 11px; background: var(--accent); color: var(--accent-fg); }
.badge.event { background: var(--muted); }
.msg .body { margin-top: 2px; white-space: pre-wrap; overflow-wrap: anywhere; }
.msg .cut { font-size: 12px; color: var(--muted); }
.composer {
  display: grid; grid-template-columns: auto minmax(0, 1fr) auto; align-items: end; gap: 8px;
  padding: 10px 16px; background: var(--panel); border-top: 1px solid var(--line);
}
.composer .to { display: flex; flex-direction: column; gap: 2px; font-size: 12px; color: var(--muted); }
.composer textarea { min-height: 38px; max-height: 40vh; resize: vertical; background: var(--bg); }
.composer button {
  padding: 8px 18px; border: none; border-radius: 6px; cursor: pointer;
  background: var(--accent); color: var(--accent-fg); font-weight: 600;
}
.composer button:disabled { opacity: .6; cursor: default; }
.composer .error { grid-column: 1 / -1; margin: 0; color: var(--dead); font-size: 12px; }
.composer .error:empty { display: none; }
.read-only { margin: 0; padding: 10px 16px; border-top: 1px solid var(--line); color: var(--muted); font-size: 12px; }
@media (max-width: 720px) {
  .layout { grid-template-columns: minmax(0, 1fr); grid-template-rows: auto minmax(0, 1fr); }
  .side { max-height: 36vh; border-right: none; border-bottom: 1px solid var(--line); }
  .composer { grid-template-columns: minmax(0, 1fr) auto; }
  .composer .to { grid-column: 1 / -1; flex-direction: row; align-items: center; gap: 6px; }
  .broker { display: none; }
}
`;

/** The page's script (plain JavaScript, run in the browser). */
export const PAGE_JS = `"use strict";
(function () {
  var SYSTEM = "c2c-system";
  var S = {
    me: null, readOnly: true, agents: [], rooms: [], traffic: [], ids: new Set(),
    limit: 1000, filter: { agent: "", room: "", q: "" },
    room: null, roomOffset: null, roomDone: false, roomLoading: false, roomIds: new Set(),
    streamEnd: 0, streamAll: false,
  };
  var streamNodes = new Map();
  var shownAt = new Map();
  window.c2cShownAt = shownAt;

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function epochNow() { return performance.timeOrigin + performance.now(); }
  // One formatter: toLocaleTimeString with options builds a new one per call.
  var timeFormat = new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  function clock(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    return timeFormat.format(d);
  }
  function ago(iso) {
    var s = (Date.now() - Date.parse(iso)) / 1000;
    if (!isFinite(s)) return "?";
    if (s < 5) return "just now";
    if (s < 60) return Math.round(s) + " s ago";
    if (s < 3600) return Math.round(s / 60) + " min ago";
    if (s < 86400) return Math.round(s / 3600) + " h ago";
    return new Date(iso).toLocaleDateString();
  }
  function newer(a, b) { return a.ts > b.ts || (a.ts === b.ts && a.seq > b.seq); }

  // ---- messages ----------------------------------------------------------
  function matches(item) {
    var f = S.filter;
    if (f.agent && item.from !== f.agent && item.to !== f.agent) return false;
    if (f.room === "@dm" && item.room_id !== null) return false;
    if (f.room && f.room !== "@dm" && item.room_id !== f.room) return false;
    if (f.q) {
      var hay = (item.content + "\\n" + item.from + "\\n" + (item.to || "") + "\\n" + (item.room_id || "")).toLowerCase();
      if (hay.indexOf(f.q) === -1) return false;
    }
    return true;
  }
  function messageNode(item, inStream) {
    var li = el("li", "msg");
    li.dataset.id = item.id;
    li.dataset.from = item.from;
    if (item.room_id !== null) li.dataset.room = item.room_id; else li.dataset.to = item.to;
    if (S.me !== null && item.from === S.me) li.classList.add("mine");
    if (S.me !== null && item.to === S.me) li.classList.add("to-me");
    if (item.from === SYSTEM) li.classList.add("system");
    var meta = el("div", "meta");
    var t = el("time", "", clock(item.ts));
    t.dateTime = item.ts;
    t.title = item.ts;
    meta.append(t, el("span", "from", item.from));
    if (inStream) {
      if (item.room_id !== null) meta.append(el("span", "", "in"), el("span", "room-tag", "#" + item.room_id));
      else meta.append(el("span", "", "→"), el("span", "to", item.to));
    }
    if (S.me !== null && item.from === S.me) meta.append(el("span", "badge", "you"));
    if (item.event) meta.append(el("span", "badge event", item.event));
    li.append(meta, el("div", "body", item.content));
    if (item.cut) li.append(el("div", "cut", "… cut here (" + item.cut + " characters in all)"));
    return li;
  }
  // The stream draws its newest messages first and older ones as it is
  // scrolled: a page of 1,000 messages opens as fast as one of 60.
  var STREAM_PAGE = 60;
  function renderStream() {
    streamNodes.clear();
    $("stream").replaceChildren();
    S.streamEnd = 0;
    S.streamAll = false;
    moreStream();
  }
  function moreStream() {
    var list = $("stream");
    var frag = document.createDocumentFragment();
    var added = 0;
    var i = S.streamEnd;
    for (; i < S.traffic.length && added < STREAM_PAGE; i++) {
      var item = S.traffic[i];
      if (!matches(item)) continue;
      var node = messageNode(item, true);
      streamNodes.set(item.id, node);
      frag.append(node);
      added++;
    }
    S.streamEnd = i;
    S.streamAll = i >= S.traffic.length;
    list.append(frag);
    $("stream-empty").hidden = streamNodes.size > 0;
    if (!S.streamAll && list.scrollHeight <= list.clientHeight + 300) moreStream();
  }
  function addTraffic(items) {
    var list = $("stream");
    for (var k = 0; k < items.length; k++) {
      var item = items[k];
      if (S.ids.has(item.id)) continue;
      S.ids.add(item.id);
      var i = 0;
      while (i < S.traffic.length && newer(S.traffic[i], item)) i++;
      S.traffic.splice(i, 0, item);
      // Older than what is drawn so far: drawn when scrolled to.
      if (i < S.streamEnd || S.streamAll) {
        S.streamEnd++;
        if (matches(item)) {
          var node = messageNode(item, true);
          var next = null;
          for (var j = i + 1; j < S.streamEnd && next === null; j++) {
            next = streamNodes.get(S.traffic[j].id) || null;
          }
          list.insertBefore(node, next);
          streamNodes.set(item.id, node);
        }
      }
      if (S.room !== null && item.room_id === S.room) appendRoomLive(item);
      shownAt.set(item.id, epochNow());
      if (shownAt.size > 5000) shownAt.delete(shownAt.keys().next().value);
    }
    while (S.traffic.length > S.limit) {
      var old = S.traffic.pop();
      S.ids.delete(old.id);
      S.streamEnd = Math.min(S.streamEnd, S.traffic.length);
      var gone = streamNodes.get(old.id);
      if (gone) { gone.remove(); streamNodes.delete(old.id); }
    }
    $("stream-empty").hidden = streamNodes.size > 0;
  }

  // ---- agents and rooms ----------------------------------------------------
  function aliveWord(a) { return a.alive === true ? "alive" : a.alive === false ? "dead" : "no lease (shell)"; }
  function rank(a) { return a.alive === true ? 0 : a.alive === null ? 1 : 2; }
  function renderAgents() {
    var ul = $("agents");
    var sorted = S.agents.slice().sort(function (a, b) {
      return rank(a) - rank(b) || (a.alias < b.alias ? -1 : a.alias > b.alias ? 1 : 0);
    });
    var frag = document.createDocumentFragment();
    var alive = 0;
    sorted.forEach(function (a) {
      if (a.alive === true) alive++;
      var li = el("li", "agent");
      li.dataset.alias = a.alias;
      li.dataset.alive = a.alive === true ? "true" : a.alive === false ? "false" : "unknown";
      if (a.alias === S.me) li.classList.add("me");
      var line = el("div", "line");
      var dot = el("span", "dot");
      dot.title = aliveWord(a);
      var name = el("button", "link alias", a.alias);
      name.type = "button";
      name.title = "Show " + a.alias + "'s messages";
      name.addEventListener("click", function () { showAgent(a.alias); });
      line.append(dot, name);
      if (a.client) line.append(el("span", "client", a.client));
      var p = el("span", "pending" + (a.pending > 0 ? " some" : ""), a.pending + " pending");
      line.append(p);
      var sub = el("div", "sub");
      var t = el("time", "ago", ago(a.last_seen));
      t.dataset.ts = a.last_seen;
      t.title = "last registered or refreshed " + a.last_seen;
      sub.append(el("span", "state", aliveWord(a)), " · seen ", t);
      if (a.git_branch) sub.append(" · ", el("code", "branch", a.git_branch));
      li.append(line, sub);
      // A dead session's status is stale: shown only while it may be alive.
      if (a.status && a.alive !== false) li.append(el("div", "status", a.status));
      if (a.claims && a.claims.length > 0) {
        var cl = el("ul", "claims");
        a.claims.forEach(function (c) {
          var ci = el("li", "claim");
          ci.append(el("code", "", c.path));
          if (!c.exclusive) ci.append(" (shared)");
          if (c.reason) ci.append(" — " + c.reason);
          cl.append(ci);
        });
        li.append(cl);
      }
      frag.append(li);
    });
    ul.replaceChildren(frag);
    $("agents-count").textContent = S.agents.length ? alive + " alive of " + S.agents.length : "";
    $("agents-empty").hidden = S.agents.length > 0;
    renderChoices();
  }
  function renderRooms() {
    var ul = $("rooms");
    var frag = document.createDocumentFragment();
    S.rooms.forEach(function (r) {
      var li = el("li", "room");
      li.dataset.room = r.room_id;
      var line = el("div", "line");
      var b = el("button", "link", "#" + r.room_id);
      b.type = "button";
      b.title = "Open #" + r.room_id;
      b.addEventListener("click", function () { openRoom(r.room_id); });
      line.append(b);
      var sub = el("div", "sub", r.members.length + (r.members.length === 1 ? " member" : " members") +
        " · " + r.message_count + (r.message_count === 1 ? " message" : " messages"));
      li.append(line, sub);
      frag.append(li);
    });
    ul.replaceChildren(frag);
    $("rooms-count").textContent = S.rooms.length ? String(S.rooms.length) : "";
    $("rooms-empty").hidden = S.rooms.length > 0;
    if (S.room !== null) showMembers();
    renderChoices();
  }
  function fill(select, options, keep) {
    var before = select.value;
    var frag = document.createDocumentFragment();
    options.forEach(function (o) {
      if (o.group) {
        var g = document.createElement("optgroup");
        g.label = o.group;
        o.items.forEach(function (i) { var opt = el("option", "", i[1]); opt.value = i[0]; g.append(opt); });
        if (o.items.length) frag.append(g);
      } else {
        var opt = el("option", "", o[1]);
        opt.value = o[0];
        frag.append(opt);
      }
    });
    select.replaceChildren(frag);
    var want = keep !== undefined ? keep : before;
    if (Array.prototype.some.call(select.options, function (o) { return o.value === want; })) select.value = want;
  }
  var choicesKey = "";
  function renderChoices() {
    // Pending counts change with every message: the lists only when their
    // entries do (an open drop-down is not rebuilt under the user's hand).
    var key = JSON.stringify([S.me, S.readOnly, S.rooms.map(function (r) { return r.room_id; }),
      S.agents.map(function (a) { return [a.alias, a.alive]; })]);
    if (key === choicesKey) return;
    choicesKey = key;
    var aliases = S.agents.map(function (a) { return a.alias; }).sort();
    fill($("filter-agent"), [["", "All agents"]].concat(aliases.map(function (a) { return [a, a]; })), S.filter.agent);
    fill($("filter-room"), [["", "Rooms and direct messages"], ["@dm", "Direct messages only"]]
      .concat(S.rooms.map(function (r) { return [r.room_id, "#" + r.room_id]; })), S.filter.room);
    if (!S.readOnly) {
      fill($("target"), [
        { group: "Rooms", items: S.rooms.map(function (r) { return ["room:" + r.room_id, "#" + r.room_id]; }) },
        { group: "Agents", items: S.agents.filter(function (a) { return a.alias !== S.me; })
          .map(function (a) { return ["dm:" + a.alias, a.alias + (a.alive === false ? " (dead)" : "")]; }) },
      ]);
    }
  }
  function showAgent(alias) {
    S.filter.agent = alias;
    $("filter-agent").value = alias;
    showStream();
    renderStream();
    setTarget("dm:" + alias);
  }
  function setTarget(value) {
    var t = $("target");
    if (Array.prototype.some.call(t.options, function (o) { return o.value === value; })) t.value = value;
  }

  // ---- room view -------------------------------------------------------------
  function showStream() {
    $("stream-panel").hidden = false;
    $("room-panel").hidden = true;
    $("tab-stream").setAttribute("aria-selected", "true");
    $("tab-room").setAttribute("aria-selected", "false");
  }
  function showRoomPanel() {
    $("stream-panel").hidden = true;
    $("room-panel").hidden = false;
    $("tab-stream").setAttribute("aria-selected", "false");
    $("tab-room").setAttribute("aria-selected", "true");
  }
  function showMembers() {
    var r = S.rooms.find(function (x) { return x.room_id === S.room; });
    $("room-members").textContent = r ? (r.members.length ? "Members: " + r.members.join(", ") : "No members") : "";
  }
  function toItem(m) {
    return { id: m.id, ts: m.ts, from: m.from_alias, to: null, room_id: m.room_id, content: m.content };
  }
  function openRoom(id) {
    S.room = id;
    S.roomOffset = null;
    S.roomDone = false;
    S.roomLoading = false;
    S.roomIds = new Set();
    $("room-log").replaceChildren();
    var tab = $("tab-room");
    tab.textContent = "#" + id;
    tab.hidden = false;
    showRoomPanel();
    showMembers();
    setTarget("room:" + id);
    loadOlder(true);
  }
  function loadOlder(first) {
    var id = S.room;
    if (id === null || S.roomLoading || S.roomDone) return;
    S.roomLoading = true;
    var q = "limit=100" + (S.roomOffset !== null ? "&before=" + S.roomOffset : "");
    fetch("/api/rooms/" + encodeURIComponent(id) + "/history?" + q)
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (data) {
        if (S.room !== id) return;
        S.roomOffset = data.offset;
        S.roomDone = data.offset === 0;
        var log = $("room-log");
        var height = log.scrollHeight;
        var frag = document.createDocumentFragment();
        data.messages.forEach(function (m) {
          if (S.roomIds.has(m.id)) return;
          S.roomIds.add(m.id);
          frag.append(messageNode(toItem(m), false));
        });
        log.prepend(frag);
        if (first) log.scrollTop = log.scrollHeight;
        else log.scrollTop += log.scrollHeight - height;
        S.roomLoading = false;
        if (!S.roomDone && log.scrollHeight <= log.clientHeight) loadOlder(false);
      })
      .catch(function (e) {
        S.roomLoading = false;
        $("room-members").textContent = "Could not load #" + id + ": " + e.message;
      });
  }
  function appendRoomLive(item) {
    if (S.roomIds.has(item.id)) return;
    S.roomIds.add(item.id);
    var log = $("room-log");
    var atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    log.append(messageNode(item, false));
    if (atEnd) log.scrollTop = log.scrollHeight;
  }

  // ---- composer ----------------------------------------------------------------
  function send() {
    var target = $("target").value;
    var content = $("body").value;
    var error = $("send-error");
    if (!target) { error.textContent = "Choose a room or an agent to write to."; return; }
    if (!content.trim()) return;
    var payload = target.indexOf("room:") === 0
      ? { room_id: target.slice(5), content: content }
      : { to: target.slice(3), content: content };
    $("send").disabled = true;
    error.textContent = "";
    fetch("/api/send", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payload),
    })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (data) {
          if (!r.ok) {
            error.textContent = (data.error && data.error.message) || ("Not sent (HTTP " + r.status + ")");
            return;
          }
          $("body").value = "";
          if (data.deduplicated) error.textContent = "Not posted again: you sent the same text to this room within the last minute.";
          if (data.recipient_alive === false) error.textContent = "Queued: " + data.to_alias + " is not alive now; its next session gets it (until " + data.expires_at + ").";
        });
      })
      .catch(function (e) { error.textContent = "Could not reach c2c ui: " + e.message; })
      .then(function () { $("send").disabled = false; $("body").focus(); });
  }

  // ---- live feed -------------------------------------------------------------------
  function setStatus(state, text) {
    var s = $("status");
    s.dataset.state = state;
    s.textContent = text;
  }
  function snapshot(d) {
    S.me = d.me;
    S.readOnly = d.read_only;
    S.agents = d.agents;
    S.rooms = d.rooms;
    S.traffic = d.traffic.slice();
    S.ids = new Set(S.traffic.map(function (i) { return i.id; }));
    $("broker").textContent = d.broker;
    $("broker").title = d.broker;
    var me = $("me");
    me.replaceChildren();
    if (S.me !== null) me.append("you post as ", el("strong", "", S.me));
    else me.textContent = "read-only";
    $("composer").hidden = S.readOnly;
    $("read-only").hidden = !S.readOnly;
    renderAgents();
    renderRooms();
    renderStream();
    if (S.room !== null) showMembers();
    if (document.documentElement.dataset.ready !== "1") performance.mark("c2c-ready");
    document.documentElement.dataset.ready = "1";
  }
  function resume(d) {
    S.agents = d.agents;
    S.rooms = d.rooms;
    renderAgents();
    renderRooms();
    addTraffic(d.traffic);
  }
  function connect(since) {
    // Events carry ids: a reconnect resumes from the last one it got.
    var es = new EventSource("/api/events" + (since === null ? "" : "?since=" + since));
    es.addEventListener("snapshot", function (e) { snapshot(JSON.parse(e.data)); });
    es.addEventListener("resume", function (e) { resume(JSON.parse(e.data)); });
    es.addEventListener("traffic", function (e) { addTraffic(JSON.parse(e.data)); });
    es.addEventListener("agents", function (e) { S.agents = JSON.parse(e.data); renderAgents(); });
    es.addEventListener("rooms", function (e) { S.rooms = JSON.parse(e.data); renderRooms(); });
    es.addEventListener("open", function () { setStatus("live", "live"); });
    es.addEventListener("error", function () {
      if (es.readyState === EventSource.CLOSED) {
        setStatus("closed", "disconnected — run c2c ui again and open the URL it prints");
      } else {
        setStatus("connecting", "reconnecting…");
      }
    });
  }

  function start() {
    performance.mark("c2c-script");
    $("filter-agent").addEventListener("change", function (e) { S.filter.agent = e.target.value; renderStream(); });
    $("filter-room").addEventListener("change", function (e) { S.filter.room = e.target.value; renderStream(); });
    $("search").addEventListener("input", function (e) { S.filter.q = e.target.value.trim().toLowerCase(); renderStream(); });
    $("tab-stream").addEventListener("click", showStream);
    $("tab-room").addEventListener("click", showRoomPanel);
    $("room-log").addEventListener("scroll", function (e) { if (e.target.scrollTop < 80) loadOlder(false); });
    $("stream").addEventListener("scroll", function (e) {
      var l = e.target;
      if (l.scrollTop + l.clientHeight > l.scrollHeight - 300) moreStream();
    });
    $("composer").addEventListener("submit", function (e) { e.preventDefault(); send(); });
    $("body").addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
    });
    setInterval(function () {
      document.querySelectorAll("time.ago").forEach(function (t) { t.textContent = ago(t.dataset.ts); });
    }, 15000);
    // The page came with its first snapshot: draw it now, then follow.
    var boot = $("c2c-snapshot");
    var since = null;
    if (boot !== null) {
      var first = JSON.parse(boot.textContent);
      boot.remove();
      snapshot(first);
      since = first.seq;
      if (first.more) {
        fetch("/api/traffic?skip=" + first.traffic.length)
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (older) { addTraffic(older); })
          .catch(function () { /* the newest are there; the feed goes on */ });
      }
    }
    connect(since);
  }
  start();
})();
`;

/**
 * The whole page: HTML with its style, its script and its first snapshot
 * inline — drawn as soon as the page is parsed, before the live feed
 * connects (a data block: never run, so the policy needs no word on it).
 *
 * @param snapshot What the page shows first (JSON-serialisable).
 * @returns The HTML.
 */
export function pageHtml(snapshot: unknown): string {
  // As JSON inside <script>: no `<` may end the block or open a comment.
  const data = JSON.stringify(snapshot).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  // Function replacers: a `$` in the script is not a replacement pattern.
  return PAGE_TEMPLATE.replace("@CSS@", () => PAGE_CSS)
    .replace("@DATA@", () => data)
    .replace("@JS@", () => PAGE_JS);
}

/**
 * The Content-Security-Policy of the page: its own inline style and script
 * (by hash) and nothing else; connections to itself only; no framing.
 *
 * @returns The header value.
 */
export function pagePolicy(): string {
  const hash = (text: string) =>
    `'sha256-${createHash("sha256").update(text).digest("base64")}'`;
  return [
    "default-src 'none'",
    `script-src ${hash(PAGE_JS)}`,
    `style-src ${hash(PAGE_CSS)}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}
