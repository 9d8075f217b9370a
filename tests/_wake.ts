// Shared helpers of the wake tests: the harness (`wake/main.ts run`) with the
// scripted TUI stand-in (`fixtures/fake_tui.ts`), started in a pseudo-terminal
// that the test owns, so the harness sees a real terminal (raw mode, size,
// SIGWINCH) and the test plays the user.

import { dirname } from "node:path";
import { Pty } from "../wake/pty.ts";
import { wakePermissionFlags } from "../wake/flags.ts";
import { DENO, REPO } from "./_helpers.ts";

/**
 * The fake TUI's command line (program first), logging input to `log`; it
 * may read and write the log's directory.
 */
export function fakeTuiCommand(log: string, extra: string[] = []): string[] {
  return [
    DENO,
    "run",
    "--no-prompt",
    "--allow-env",
    `--allow-read=${dirname(log)}`,
    `--allow-write=${dirname(log)}`,
    `${REPO}/tests/fixtures/fake_tui.ts`,
    "--log",
    log,
    ...extra,
  ];
}

/** The harness's command line with the documented flags. */
export function harnessCommand(
  root: string,
  runArgs: string[],
): string[] {
  return [
    DENO,
    "run",
    ...wakePermissionFlags("run", root),
    `${REPO}/wake/main.ts`,
    "run",
    ...runArgs,
  ];
}

/** Options of {@linkcode ManagedTui.start}. */
export interface ManagedTuiOptions {
  /** Alias for the harness to register. */
  alias: string;
  /** Extra arguments for the fake TUI (after its `--log FILE`). */
  args?: (dir: string) => string[];
  /** Initial terminal size. */
  cols?: number;
  /** Initial terminal size. */
  rows?: number;
}

/** The harness running the fake TUI, in a test-owned terminal. */
export class ManagedTui implements AsyncDisposable {
  readonly pty: Pty;
  /** Everything the terminal showed so far. */
  output = "";
  /** File the fake TUI appends every input chunk to. */
  readonly inputLog: string;
  /** A scratch directory the fake TUI may read and write. */
  readonly dir: string;
  readonly #reader: Promise<void>;

  private constructor(pty: Pty, logDir: string) {
    this.pty = pty;
    this.dir = logDir;
    this.inputLog = `${logDir}/input.log`;
    this.#reader = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of pty.readable) {
        this.output += decoder.decode(chunk, { stream: true });
      }
    })();
  }

  /** Starts `wake/main.ts run generic --alias A -- <fake TUI>`. */
  static async start(
    root: string,
    options: ManagedTuiOptions,
  ): Promise<ManagedTui> {
    const logDir = await Deno.makeTempDir({ prefix: "c2c-tui-" });
    const [command, ...args] = harnessCommand(root, [
      "generic",
      "--alias",
      options.alias,
      "--",
      ...fakeTuiCommand(`${logDir}/input.log`, options.args?.(logDir)),
    ]);
    const pty = Pty.spawn({
      command,
      args,
      env: { C2C_MCP_BROKER_ROOT: root, NO_COLOR: "1" },
      cols: options.cols ?? 100,
      rows: options.rows ?? 30,
    });
    const tui = new ManagedTui(pty, logDir);
    await tui.waitFor(/ready \d+x\d+/, "the fake TUI to start");
    return tui;
  }

  /** Lines of output matching `re` (terminal escapes and `\r` removed). */
  matches(re: RegExp): string[] {
    return this.output
      // deno-lint-ignore no-control-regex
      .replace(/\x1b\[[0-9;?]*[A-Za-z~]/g, "")
      .replaceAll("\r", "")
      .split("\n")
      .filter((line) => re.test(line));
  }

  /** Poll lines the fake TUI received as submitted input. */
  pollLines(): string[] {
    return this.matches(/^line:"c2c: /);
  }

  /** What the fake TUI read, every byte, so far. */
  input(): string {
    try {
      return Deno.readTextFileSync(this.inputLog);
    } catch {
      return "";
    }
  }

  /** Waits until the output has `count` lines matching `re`. */
  async waitFor(
    re: RegExp,
    what: string,
    count = 1,
    timeoutMs = 10_000,
  ): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.matches(re);
      if (found.length >= count) return found;
      if (Date.now() > deadline) {
        throw new Error(
          `timed out waiting for ${what}; output:\n${this.output}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Types as the user. */
  type(text: string): void {
    this.pty.write(text);
  }

  /** Kills the harness (if still running) and cleans up. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.pty.kill("SIGKILL", false);
    await this.pty.exited;
    await this.pty.close();
    await this.#reader;
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/** Sleeps `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
