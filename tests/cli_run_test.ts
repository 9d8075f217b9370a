// `c2c run` through bin/c2c, as a user starts it: the launcher grants FFI on
// libc for this command only, the harness holds the session live, and
// the client's exit code comes back.

import assert from "node:assert/strict";
import { Broker } from "../mod.ts";
import { DENO, REPO, waitFor } from "./_helpers.ts";
import { baseEnv, tempRepo } from "./_cli.ts";

Deno.test("c2c run keeps the alias live while the client runs and returns its exit code", async () => {
  await using repo = await tempRepo();
  const child = new Deno.Command(`${REPO}/bin/c2c`, {
    args: [
      "run",
      "generic",
      "--alias",
      "tui-agent",
      "--command",
      DENO,
      "--",
      "run",
      "--allow-env",
      `${REPO}/tests/fixtures/fake_tui.ts`,
    ],
    cwd: repo.path,
    clearEnv: true,
    env: { ...baseEnv(), C2C_DENO: DENO },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const broker = new Broker({ root: `${repo.path}/.git/c2c/mcp` });
  await waitFor(
    async () => {
      const row = await broker.registrationByAlias("tui-agent");
      return row !== undefined &&
        (await broker.liveness(row.session_id)) === true;
    },
    15_000,
    "tui-agent to be registered and live",
  );
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode("exit 5\r"));
  await writer.close();
  const out = await child.output();
  assert.equal(out.code, 5, new TextDecoder().decode(out.stderr));
  // A clean exit unregisters the alias (cli_run_exit_test.ts).
  assert.equal(await broker.registrationByAlias("tui-agent"), undefined);
});
