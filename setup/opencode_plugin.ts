/**
 * The OpenCode plugin `c2c setup opencode` installs (`plugin/c2c.js` in
 * OpenCode's config folder, or the project's `.opencode/plugin/`): OpenCode's
 * wake path. It runs inside OpenCode, learns the session from `session.*`
 * events, watches this session's c2c inbox, and when messages wait while the
 * session is idle, sends it one short pointer with
 * `client.session.promptAsync` — once per burst. The model then calls the
 * c2c `poll_inbox` tool, which drains the messages: the pointer never
 * carries a body, so nothing is delivered twice or left behind.
 * (`client.tui.appendPrompt` would merge with what the user is typing.)
 *
 * With the NATS store (`--broker-url`, or `C2C_BROKER_URL` in OpenCode's own
 * environment) there is no inbox file on this machine: the plugin watches
 * the local signal file the session's own c2c server keeps instead,
 * `signals/<session>` in the broker root, which holds the number of waiting
 * messages (docs/design.md#nats-signal). It finds its session by the alias
 * (or `C2C_MCP_SESSION_ID`): the NATS store keeps no local registry, so
 * with `--no-alias` and no session id it cannot tell which signal is its own.
 *
 * The file is plain JavaScript with no imports beyond Node built-ins (Bun
 * runs it), generated here with the alias, the store and, for project
 * configs, the broker root baked in.
 *
 * @module
 */

/** First line of the plugin: marks the file as c2c's (for uninstall). */
export const OPENCODE_PLUGIN_MARKER =
  "// c2c wake plugin for OpenCode — written by `c2c setup opencode`";

/** What the plugin is generated with. */
export interface OpencodePluginOptions {
  /** The alias setup configured (the server's session id), or `null`. */
  alias: string | null;
  /** The broker root pinned by setup (project configs), or `null`. */
  root: string | null;
  /** Whether setup configured the NATS store (`--broker-url`). */
  nats?: boolean;
}

/**
 * The plugin's source.
 *
 * @param options Alias and root to bake in.
 * @returns JavaScript source (an ES module).
 *
 * @example Usage
 * ```ts
 * import { opencodePluginSource } from "./opencode_plugin.ts";
 * const js = opencodePluginSource({ alias: "opencode-me-box", root: null });
 * js.startsWith("// c2c wake plugin"); // true
 * ```
 */
export function opencodePluginSource(options: OpencodePluginOptions): string {
  return `${OPENCODE_PLUGIN_MARKER}
// (\`c2c setup --uninstall opencode\` removes it; \`--no-wake\` leaves it out).
// When c2c messages wait for this session and it is idle, it asks the model
// once per burst to call the c2c poll_inbox tool. It never sends a body.
import { existsSync, readFileSync, watch } from "node:fs";
import { execFileSync } from "node:child_process";

const ALIAS = ${JSON.stringify(options.alias)};
const ROOT = ${JSON.stringify(options.root)};
// The NATS store keeps no inbox file here: the session's own c2c server
// keeps signals/<session> holding the number of waiting messages.
const NATS = ${options.nats === true} ||
  (process.env.C2C_BROKER_URL ?? "").trim() !== "";
const QUIET_MS = 25;
const MAX_WAIT_MS = 200;

function brokerRoot(directory) {
  if (process.env.C2C_MCP_BROKER_ROOT) return process.env.C2C_MCP_BROKER_ROOT;
  if (ROOT) return ROOT;
  try {
    const common = execFileSync(
      "git",
      ["rev-parse", "--path-format=absolute", "--git-common-dir"],
      { cwd: directory, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
    ).trim();
    return common ? common + "/c2c/mcp" : null;
  } catch {
    return null;
  }
}

// The c2c session of this OpenCode process: the registration its MCP server
// made (pid = this process), else the alias setup configured.
function sessionKey(root) {
  try {
    const rows = JSON.parse(readFileSync(root + "/registry.json", "utf8"));
    const mine = rows.find((r) => r.pid === process.pid && r.client === "opencode");
    if (mine) return mine.session_id;
  } catch {}
  return process.env.C2C_MCP_SESSION_ID || ALIAS;
}

// Where this session's waiting messages show: its inbox file, or with the
// NATS store its signal file.
function pendingFile(root, key) {
  return NATS ? root + "/signals/" + key : root + "/" + key + ".inbox.jsonl";
}

function pendingCount(file) {
  try {
    const text = readFileSync(file, "utf8");
    if (NATS) {
      const n = Number.parseInt(text, 10);
      return n > 0 ? n : 0;
    }
    // Complete lines only: a send in progress has no newline yet.
    return text.split("\\n").slice(0, -1)
      .filter((line) => line.trim() !== "").length;
  } catch {
    return 0;
  }
}

export const C2cWake = async ({ client, directory, worktree }) => {
  const root = brokerRoot(directory || worktree || process.cwd());
  if (!root) return {};
  const children = new Set();
  let current = null; // the main session the user works in
  let idle = false;
  let pointed = 0; // pending count when the last pointer went out
  let quiet;
  let cap;

  async function check() {
    clearTimeout(quiet);
    clearTimeout(cap);
    quiet = cap = undefined;
    const key = sessionKey(root);
    if (!key) return;
    const pending = pendingCount(pendingFile(root, key));
    if (pending === 0) {
      pointed = 0;
      return;
    }
    if (!current || !idle || pending <= pointed) return;
    pointed = pending;
    idle = false; // the prompt starts a turn
    const text = pending + " c2c message" + (pending === 1 ? "" : "s") +
      " waiting — call the c2c poll_inbox tool";
    try {
      await client.session.promptAsync({
        path: { id: current },
        body: { parts: [{ type: "text", text }] },
      });
    } catch {
      pointed = 0; // try again on the next change
    }
  }

  function poke() {
    clearTimeout(quiet);
    quiet = setTimeout(check, QUIET_MS);
    cap ??= setTimeout(check, MAX_WAIT_MS);
  }

  // Watch the folder, not the file: the file may not exist yet. The folder
  // appears with the first c2c call (its server's start): until then, and
  // should the watch fail, try again each second.
  const dir = NATS ? root + "/signals" : root;
  const relevant = NATS
    ? (name) => !name.endsWith(".lock")
    : (name) => name.endsWith(".inbox.jsonl") || name === "registry.json";
  function startWatch() {
    const again = () => setTimeout(startWatch, 1000).unref?.();
    try {
      if (!existsSync(dir)) return again();
      const watcher = watch(dir, { persistent: false }, (_event, name) => {
        if (!name || relevant(String(name))) poke();
      });
      watcher.on?.("error", () => {
        try { watcher.close(); } catch {}
        again();
      });
      poke(); // what arrived before the watch
    } catch {
      again();
    }
  }
  startWatch();
  // A safety net for a missed event: cheap (one small read).
  setInterval(() => { if (idle) poke(); }, 2000).unref?.();

  return {
    event: async ({ event }) => {
      const p = event?.properties ?? {};
      const info = p.info;
      if ((event.type === "session.created" || event.type === "session.updated") && info?.id) {
        if (info.parentID) children.add(info.id);
        else if (current !== info.id) {
          current = info.id;
          idle = false;
        }
        return;
      }
      const id = p.sessionID;
      if (!id || children.has(id)) return;
      if (event.type === "session.status") {
        current ??= id;
        if (id !== current) return;
        idle = p.status?.type === "idle";
        if (idle) poke();
      } else if (event.type === "session.idle") {
        current ??= id;
        if (id !== current) return;
        idle = true;
        poke();
      }
    },
  };
};
`;
}
