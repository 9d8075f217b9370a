// A writer process for the throughput group. Usage:
//   _writer.ts ROOT SESSION TO_ALIAS COUNT WARM_ALIAS WARM_COUNT
// Sends WARM_COUNT untimed messages to WARM_ALIAS (so the send path is
// compiled and the files are open once), prints "ready", waits for a line on
// stdin, sends COUNT messages to TO_ALIAS, then prints one JSON line
// {"ids": [...], "ms": N}. Ids are printed at the end, not per send, so that
// writing to the pipe is not part of what is measured.

import { Broker } from "../mod.ts";
import { BODY } from "./_harness.ts";

const [root, session, to, count, warmTo, warmCount] = Deno.args;
const broker = new Broker({ root });
const encoder = new TextEncoder();

function print(line: string): void {
  Deno.stdout.writeSync(encoder.encode(line + "\n"));
}

for (let i = 0; i < Number(warmCount); i++) {
  await broker.send(session, { to_alias: warmTo, content: `warm ${i}` });
}
print("ready");

const go = new Uint8Array(8);
if (await Deno.stdin.read(go) === null) Deno.exit(0); // parent gave up

const ids: string[] = [];
const start = performance.now();
for (let i = 0; i < Number(count); i++) {
  const receipt = await broker.send(session, {
    to_alias: to,
    content: `${session} ${i}: ${BODY}`,
  });
  ids.push(receipt.id);
}
print(JSON.stringify({ ids, ms: performance.now() - start }));
