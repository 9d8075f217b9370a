// C2C_BROKER_URL and C2C_NATS_* parsing: servers, credentials taken out of
// the URL, masking, conflicts, and the exact permission grants.

import assert from "node:assert/strict";
import { NatsConfigError } from "../lib/errors.ts";
import {
  natsConfigFromEnv,
  natsGrants,
  natsPermissionFlags,
  parseBrokerUrl,
  redact,
} from "../lib/store/nats/url.ts";

const env = (vars: Record<string, string>) => new Map(Object.entries(vars));
const config = (url: string, vars: Record<string, string> = {}) =>
  natsConfigFromEnv(env({ C2C_BROKER_URL: url, ...vars }))!;
function configError(
  url: string,
  vars: Record<string, string> = {},
): NatsConfigError {
  try {
    config(url, vars);
  } catch (e) {
    assert.ok(e instanceof NatsConfigError, String(e));
    return e;
  }
  throw new Error(`no error for ${JSON.stringify(url)}`);
}

Deno.test("natsConfigFromEnv() is undefined when C2C_BROKER_URL is unset or empty", () => {
  assert.deepEqual(natsConfigFromEnv(env({})), undefined);
  assert.deepEqual(natsConfigFromEnv(env({ C2C_BROKER_URL: "" })), undefined);
  assert.deepEqual(natsConfigFromEnv(env({ C2C_BROKER_URL: "  " })), undefined);
});

Deno.test("parseBrokerUrl() reads a comma list, default port, schemes inherited", () => {
  const parsed = parseBrokerUrl(
    "nats://H1.example:4222, h2.example ,10.0.0.3:5222,[::1]:4223,nats://H1.example:4222",
  );
  assert.deepEqual(parsed.servers.map((s) => s.hostPort), [
    "h1.example:4222",
    "h2.example:4222",
    "10.0.0.3:5222",
    "[::1]:4223",
  ]);
  assert.deepEqual(parsed.servers[3].hostname, "::1");
  assert.deepEqual(parsed.tls, false);
  assert.deepEqual(parseBrokerUrl("tls://a,b:1").tls, true);
  assert.deepEqual(parseBrokerUrl("a:1/").servers[0].hostPort, "a:1");
});

Deno.test("parseBrokerUrl() takes user:password and a token out of the URL", () => {
  assert.deepEqual(parseBrokerUrl("nats://alice:s3cr%40t@h:1").auth, {
    kind: "user",
    user: "alice",
    pass: "s3cr@t",
  });
  assert.deepEqual(parseBrokerUrl("nats://tok123@h:1,h:2").auth, {
    kind: "token",
    token: "tok123",
    from: "C2C_BROKER_URL",
  });
  // a password holding '/' or '@' unencoded still splits at the last '@'
  assert.deepEqual(parseBrokerUrl("nats://u:p/a@ss@h").auth, {
    kind: "user",
    user: "u",
    pass: "p/a@ss",
  });
});

Deno.test("parseBrokerUrl() names the bad part, and never the secret", () => {
  const cases: [string, RegExp][] = [
    ["http://h:4222", /scheme 'http' is not supported; use nats:\/\//],
    ["nats://h:99999", /port '99999' is not a number from 1 to 65535/],
    ["nats://h:0", /port '0'/],
    ["nats://h:x", /port 'x'/],
    ["nats://h/path", /has a path, query or fragment \('\/path'\)/],
    ["nats://h?x=1", /path, query or fragment/],
    ["nats://ho st", /'ho st' is not a host name/],
    ["nats://a,,b", /server 2 is empty/],
    [
      "nats://a,tls://b",
      /server 2 .* is tls:\/\/ but an earlier server is nats:\/\//,
    ],
    ["nats://[::1", /IPv6 address without its closing/],
    ["nats://[zz]:1", /'zz' is not an IPv6 address/],
    ["nats://:4222", /names no host/],
    ["nats://@h", /empty user before '@'/],
    ["nats://:secretpw@h", /password but no user/],
    ["nats://u:@h", /empty password/],
    ["nats://u:a%zzsecret@h", /malformed %-escape/],
    [
      "nats://u:one1@a,nats://u:two2@b",
      /other credentials than an earlier server/,
    ],
    ["nats://h\x1b[31m", /\\x1b\[31m/],
    ["x".repeat(5000), /at most 4096/],
  ];
  for (const [url, pattern] of cases) {
    const e = configError(url);
    assert.match(e.message, pattern, url);
    assert.match(e.message, /^C2C_BROKER_URL/);
    assert.deepEqual(e.code, "nats_config");
    assert.doesNotMatch(e.message, /secret|one1|two2/, url);
    assert.equal(e.message.includes("\x1b"), false, url);
    assert.deepEqual(e.message.includes("\n"), false);
  }
  // the user shows, the password does not, even in an unparsable entry
  const e = configError("nats://alice:hunter22@h:http");
  assert.match(e.message, /alice:\*\*\*@h:http/);
  assert.doesNotMatch(e.message, /hunter22/);
});

Deno.test("natsConfigFromEnv() masks secrets in display", () => {
  assert.deepEqual(
    config("nats://alice:s3cret@h1:1,h2:2").display,
    "nats://alice:***@h1:1,h2:2",
  );
  assert.deepEqual(config("tls://tok123@h").display, "tls://***@h:4222");
  assert.deepEqual(
    config("nats://h", { C2C_NATS_TOKEN: "tok123" }).display,
    "nats://h:4222",
  );
});

Deno.test("natsConfigFromEnv() reads the C2C_NATS_* credentials, one way only", () => {
  assert.deepEqual(config("nats://h", { C2C_NATS_TOKEN: "abcd" }).auth, {
    kind: "token",
    token: "abcd",
    from: "C2C_NATS_TOKEN",
  });
  assert.deepEqual(config("nats://h", { C2C_NATS_CREDS: "/x/u.creds" }).auth, {
    kind: "creds",
    file: "/x/u.creds",
  });
  assert.deepEqual(config("nats://h", { C2C_NATS_NKEY: "/x/u.nk" }).auth, {
    kind: "nkey",
    file: "/x/u.nk",
  });
  const both = configError("nats://u:pwpwpw@h", {
    C2C_NATS_CREDS: "/x/u.creds",
  });
  assert.match(
    both.message,
    /^C2C_BROKER_URL \(user:password\) and C2C_NATS_CREDS: give credentials one way only/,
  );
  assert.doesNotMatch(both.message, /pwpwpw/);
  assert.match(
    configError("nats://h", { C2C_NATS_TOKEN: "t", C2C_NATS_NKEY: "/k" })
      .message,
    /C2C_NATS_TOKEN and C2C_NATS_NKEY/,
  );
  assert.match(
    configError("nats://h", { C2C_NATS_CA: "ca.pem" }).message,
    /^C2C_NATS_CA: 'ca.pem' is not an absolute path/,
  );
  assert.match(
    configError("nats://h", { C2C_NATS_CREDS: "/a,b" }).message,
    /comma or a control character/,
  );
  const token = configError("nats://h", { C2C_NATS_TOKEN: "abc\ndef" });
  assert.match(token.message, /C2C_NATS_TOKEN: the secret contains a control/);
  assert.doesNotMatch(token.message, /abc|def/);
});

Deno.test("natsConfigFromEnv() asks for TLS with tls:// or a CA file", () => {
  assert.deepEqual(config("nats://h").tls, false);
  assert.deepEqual(config("tls://h").tls, true);
  const withCa = config("nats://h", { C2C_NATS_CA: "/etc/c2c/ca.pem" });
  assert.deepEqual([withCa.tls, withCa.caFile], [true, "/etc/c2c/ca.pem"]);
});

Deno.test("natsGrants() names exactly the servers and the files", () => {
  const c = config("tls://u:pw12@nats.example.com,10.1.2.3:4333,[::1]:4", {
    C2C_NATS_CA: "/etc/ca.pem",
  });
  assert.deepEqual(natsGrants(c), {
    net: ["nats.example.com:4222", "10.1.2.3:4333", "[::1]:4"],
    read: ["/etc/ca.pem"],
  });
  assert.deepEqual(
    natsPermissionFlags(
      config("nats://h:1,k:2", {
        C2C_NATS_CREDS: "/home/a/u.creds",
        C2C_NATS_CA: "/home/a/ca.pem",
      }),
    ),
    ["--allow-net=h:1,k:2", "--allow-read=/home/a/ca.pem,/home/a/u.creds"],
  );
  assert.deepEqual(natsPermissionFlags(config("nats://h")), [
    "--allow-net=h:4222",
  ]);
});

Deno.test("redact() scrubs the password or token, also percent-encoded", () => {
  const c = config("nats://u:p%40ss-word@h");
  assert.deepEqual(redact(c, "x p@ss-word y p%40ss-word"), "x *** y ***");
  assert.deepEqual(redact(config("nats://h"), "p@ss-word"), "p@ss-word");
});
