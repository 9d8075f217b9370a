// `c2c run` ending cleanly leaves no dead registration behind: the alias is
// unregistered and the messages still waiting for it are kept as dead
// letters, handed back when the alias registers again.

import assert from "node:assert/strict";
import { Broker } from "../mod.ts";
import { DENO, REPO, waitFor } from "./_helpers.ts";
import { baseEnv, c2c, exits, tempRepo } from "./_cli.ts";

Deno.test("c2c run unregisters its alias on a clean exit and keeps what was waiting", async () => {
  await using repo = await tempRepo();
  const root = `${repo.path}/.git/c2c/mcp`;
  const child = new Deno.Command(`${REPO}/bin/c2c`, {
    args: [
      "run",
      "generic",
      "--alias",
      "short-lived",
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
  const broker = new Broker({ root });
  await waitFor(
    async () => {
      const row = await broker.registrationByAlias("short-lived");
      return row !== undefined &&
        (await broker.liveness(row.session_id)) === true;
    },
    15_000,
    "short-lived to be registered and live",
  );
  exits(await c2c(root, ["register", "--alias", "peer"]), 0);
  exits(
    await c2c(root, [
      "send",
      "short-lived",
      "are you there?",
      "--alias",
      "peer",
    ]),
    0,
  );
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode("exit 0\r"));
  await writer.close();
  const out = await child.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));

  assert.equal(await broker.registrationByAlias("short-lived"), undefined);
  const listed = exits(await c2c(root, ["list", "--json"]), 0)
    .json<{ peers: { alias: string }[] }>().peers.map((p) => p.alias);
  assert.deepEqual(listed, ["peer"], "no dead row left in list");
  const back = exits(
    await c2c(root, ["register", "--alias", "short-lived", "--json"]),
    0,
  ).json<{ redelivered: number }>();
  assert.equal(back.redelivered, 1, "the waiting message comes back");
});
