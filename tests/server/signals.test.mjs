// Signal ingestion on a real server: accepted, idempotent by batch_id, scrubbed on arrival,
// rate-limited, and every kind of bad input refused with a 4xx error JSON while the server lives on.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import {
  admin, batchId, createSite, event, request, signalsRequest, sqlite, startServer, tempDir,
} from "./server.mjs";

let data, server, site, url;

before(async () => {
  data = tempDir();
  site = createSite(data, "acme");
  server = await startServer(data, ["--client-rate", "0"]);
  url = `${server.url}/v1/sites/acme/signals`;
});

after(async () => {
  await server.stop();
  fs.rmSync(data, { recursive: true, force: true });
});

async function alive() {
  const r = await request(`${server.url}/healthz`);
  assert.equal(r.status, 200, "the server still answers");
}

test("a batch is accepted with 202, and a repeated batch_id is acknowledged but stored once", async () => {
  const id = batchId();
  const events = [event(1), event(2, { type: "resolved", article: "reset-password" }), event(3, { type: "escalated" })];
  let r = await request(url, signalsRequest(site.key, { batch_id: id, events }));
  assert.deepEqual([r.status, r.body], [202, { accepted: 3, duplicate: false }]);
  r = await request(url, signalsRequest(site.key, { batch_id: id, events }));
  assert.deepEqual([r.status, r.body], [202, { accepted: 3, duplicate: true }]);
  const rows = sqlite(data, `SELECT COUNT(*) AS n FROM signals WHERE batch_id = '${id}'`);
  assert.equal(rows[0].n, 3);
  // The same batch_id from two clients at once is still stored once.
  const id2 = batchId();
  const results = await Promise.all(Array.from({ length: 8 }, () =>
    request(url, signalsRequest(site.key, { batch_id: id2, events: [event(9)] }))));
  assert.ok(results.every((x) => x.status === 202));
  assert.equal(results.filter((x) => !x.body.duplicate).length, 1);
  assert.equal(sqlite(data, `SELECT COUNT(*) AS n FROM signals WHERE batch_id = '${id2}'`)[0].n, 1);
});

test("free text is scrubbed again on arrival; unknown fields are ignored", async () => {
  const id = batchId();
  const r = await request(url, signalsRequest(site.key, {
    batch_id: id,
    events: [event(1, {
      query: "card 4111 1111 1111 1111 and mail jane.doe@example.com, \uFF4A\uFF41\uFF4E\uFF45\uFF20\uFF58\uFF0E\uFF49\uFF4F",
      context: { route: "/billing", plan: "pro", note: "call +44 20 7946 0958", "bob@example.com": "yes", seats: 12, acct: 4111111111111111 },
      surprise: { ignored: true },
    })],
  }));
  assert.equal(r.status, 202);
  const [row] = sqlite(data, `SELECT query, context FROM signals WHERE batch_id = '${id}'`);
  // Full-width forms too; and context keys, which reach the public bundle through learned priors.
  assert.equal(row.query, "card [card] and mail [email], [email]");
  assert.deepEqual(JSON.parse(row.context), { route: "/billing", plan: "pro", note: "call [phone]", "[email]": "yes", seats: 12, acct: "[card]" });
});

test("a signal from a clock far in the future is put at most a day ahead", async () => {
  const id = batchId();
  const r = await request(url, signalsRequest(site.key, { batch_id: id, events: [event(1, { ts: 1e15 })] }));
  assert.equal(r.status, 202);
  const [row] = sqlite(data, `SELECT ts FROM signals WHERE batch_id = '${id}'`);
  assert.ok(row.ts <= Date.now() + 24 * 3600 * 1000 + 60000 && row.ts > Date.now(), String(row.ts));
});

test("verified customers: a signed id becomes one session a day and is never stored; other claims are not believed", async () => {
  const siteUrl = `${server.url}/v1/sites/acme`;
  const put = (body) => request(siteUrl, {
    method: "PUT", headers: admin(site.token, { "Content-Type": "application/json" }), body: JSON.stringify(body),
  });
  let r = await put({ identity: "sometimes" });
  assert.deepEqual([r.status, r.body.error.code], [400, "invalid_site"]);
  assert.match(r.body.error.message, /identity must be "off", "optional" or "required"/);
  r = await put({ identity: "optional" });
  assert.equal(r.status, 200);
  assert.equal(r.body.identity, "optional");
  const secret = r.body.identity_secret;
  assert.match(secret, /^id_[0-9a-f]{64}$/);
  r = await request(siteUrl, { headers: admin(site.token) });
  assert.deepEqual([r.body.identity, r.body.identity_secret], ["optional", secret]);

  // What the site's backend computes for its customer, as the README shows.
  const sign = (key, id) => crypto.createHmac("sha256", key).update(id).digest("hex");
  const customer = "cust-7f3a9c";
  const signed = { customer, customer_signature: sign(secret, customer) };
  const unverifiedBefore = await unverifiedCount();
  const id = batchId();
  r = await request(url, signalsRequest(site.key, {
    batch_id: id,
    events: [
      event(1, { session: "tab-a", ...signed }),
      event(2, { session: "tab-b", ...signed }),  // the same customer in another tab
      event(3, { session: "tab-c", customer, customer_signature: sign("not the secret", customer) }),
      event(4, { session: "tab-d" }),
    ],
  }));
  assert.equal(r.status, 202);
  const sessions = sqlite(data, `SELECT session FROM signals WHERE batch_id = '${id}' ORDER BY ts`).map((x) => x.session);
  assert.match(sessions[0], /^customer:[0-9a-f]{32}$/);
  assert.equal(sessions[1], sessions[0], "one customer is one session, whatever the browser says");
  assert.deepEqual(sessions.slice(2), ["tab-c", "tab-d"], "a signature that does not verify vouches for nothing");
  assert.equal(sqlite(data, `SELECT COUNT(*) AS n FROM signals WHERE session LIKE '%${customer}%'`)[0].n, 0);
  assert.equal(await unverifiedCount(), unverifiedBefore + 1);

  // Nobody may claim a verified customer's session outright.
  r = await request(url, signalsRequest(site.key, { batch_id: batchId(), events: [event(5, { session: sessions[0] })] }));
  assert.deepEqual([r.status, r.body.error.code], [400, "invalid_signal"]);
  assert.match(r.body.error.message, /events\[0\]\.session may not start with "customer:"/);

  // A new secret: signatures made with the old one no longer verify.
  r = await put({ rotate_identity_secret: true });
  assert.match(r.body.identity_secret, /^id_[0-9a-f]{64}$/);
  assert.notEqual(r.body.identity_secret, secret);
  const id2 = batchId();
  r = await request(url, signalsRequest(site.key, { batch_id: id2, events: [event(6, { session: "tab-e", ...signed })] }));
  assert.equal(r.status, 202);
  assert.equal(sqlite(data, `SELECT session FROM signals WHERE batch_id = '${id2}'`)[0].session, "tab-e");
  r = await put({ identity: "off" });
  assert.equal(r.body.identity, "off");
});

async function unverifiedCount() {
  const r = await fetch(`${server.url}/metrics`);
  const m = (await r.text()).match(/^loopwise_signal_customers_unverified_total (\d+)$/m);
  assert.ok(m, "/metrics counts unverified customers");
  return Number(m[1]);
}

test("wrong key and wrong origin are refused", async () => {
  let r = await request(url, signalsRequest("pk_nope", { batch_id: batchId(), events: [event()] }));
  assert.deepEqual([r.status, r.body.error.code], [401, "invalid_key"]);
  r = await request(url, { method: "POST", body: JSON.stringify({ batch_id: batchId(), events: [event()] }) });
  assert.deepEqual([r.status, r.body.error.code], [401, "missing_key"]);
  r = await request(url, signalsRequest(site.key, { batch_id: batchId(), events: [event()] }, { Origin: "https://evil.example" }));
  assert.deepEqual([r.status, r.body.error.code], [403, "origin_not_allowed"]);
  r = await request(url, signalsRequest(site.key, { batch_id: batchId(), events: [event()] }, { Origin: "https://app.example.com" }));
  assert.equal(r.status, 202);
  assert.equal(r.headers.get("access-control-allow-origin"), "https://app.example.com");
  // A batch refused before it is read still carries the site's CORS headers, so a browser can
  // read why (and drop it rather than send it again); other origins get none.
  const big = { batch_id: batchId(), events: [event(0, { pad: "y".repeat(300 * 1024) })] };
  r = await request(url, signalsRequest(site.key, big, { Origin: "https://app.example.com" }));
  assert.deepEqual([r.status, r.body.error.code], [413, "body_too_large"]);
  assert.equal(r.headers.get("access-control-allow-origin"), "https://app.example.com");
  r = await request(url, signalsRequest(site.key, big, { Origin: "https://evil.example" }));
  assert.equal(r.status, 413);
  assert.equal(r.headers.get("access-control-allow-origin"), null);
});

const bad = [
  ["malformed JSON", '{"batch_id": "x", "events": [', 400, "invalid_json"],
  ["not an object", "[1, 2, 3]", 400, "invalid_batch"],
  ["missing batch_id", { events: [event()] }, 400, "invalid_batch"],
  ["batch_id of the wrong type", { batch_id: 12, events: [event()] }, 400, "invalid_batch"],
  ["batch_id with odd characters", { batch_id: "a b/c", events: [event()] }, 400, "invalid_batch"],
  ["events not a list", { batch_id: "b", events: {} }, 400, "invalid_batch"],
  ["no events", { batch_id: "b", events: [] }, 400, "invalid_batch"],
  ["unknown event type", { batch_id: "b", events: [event(0, { type: "hacked" })] }, 400, "invalid_signal"],
  ["ts as a string", { batch_id: "b", events: [event(0, { ts: "yesterday" })] }, 400, "invalid_signal"],
  ["query as a number", { batch_id: "b", events: [event(0, { query: 42 })] }, 400, "invalid_signal"],
  ["shown with numbers", { batch_id: "b", events: [event(0, { shown: [1, 2] })] }, 400, "invalid_signal"],
  ["confidence out of range", { batch_id: "b", events: [event(0, { confidence: 7 })] }, 400, "invalid_signal"],
  ["nested context", { batch_id: "b", events: [event(0, { context: { a: { b: 1 } } })] }, 400, "invalid_signal"],
  ["a string over 2 KB", { batch_id: "b", events: [event(0, { query: "x".repeat(2049) })] }, 400, "string_too_long"],
  ["over 500 events", { batch_id: "b", events: Array.from({ length: 501 }, (_, i) => event(i)) }, 413, "too_many_events"],
  ["a body over 256 KB", { batch_id: "b", events: [event(0, { pad: "y".repeat(300 * 1024) })] }, 413, "body_too_large"],
  ["deep nesting", `{"batch_id": "b", "events": [${"[".repeat(5000)}${"]".repeat(5000)}]}`, 400, "too_deep"],
  ["invalid UTF-8", Buffer.concat([Buffer.from('{"batch_id": "b", "events": [{"type": "query", "ts": 1, "query": "'),
    Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}]}')]), 400, "invalid_json"],
];

for (const [name, body, status, code] of bad) {
  test(`refused: ${name} -> ${status} ${code}`, async () => {
    const r = await request(url, signalsRequest(site.key, body instanceof Buffer ? new Uint8Array(body) : body));
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.equal(r.body.error.code, code);
    assert.equal(typeof r.body.error.message, "string");
    await alive();
  });
}

test("nothing from refused batches was stored", () => {
  assert.equal(sqlite(data, "SELECT COUNT(*) AS n FROM signal_batches WHERE batch_id = 'b'")[0].n, 0);
});

test("unknown routes answer 404 and wrong methods 405 with Allow, both with the error JSON", async () => {
  for (const [method, path] of [["GET", "/nope"], ["GET", "/v1/sites/acme/nothing"], ["PATCH", "/v1/nope"]]) {
    const r = await request(`${server.url}${path}`, { method });
    assert.deepEqual([r.status, r.body.error.code], [404, "not_found"], `${method} ${path}`);
  }
  for (const [method, path, allow] of [["DELETE", "/v1/sites/acme/signals", "POST, OPTIONS"],
    ["POST", "/healthz", "GET, HEAD"], ["PATCH", "/v1/sites/acme", "PUT, GET, HEAD"],
    ["GET", "/v1/sites/acme/publish", "POST"]]) {
    const r = await request(`${server.url}${path}`, { method });
    assert.deepEqual([r.status, r.body.error.code], [405, "method_not_allowed"], `${method} ${path}`);
    assert.equal(r.headers.get("allow"), allow, `${method} ${path}`);
  }
  await alive();
});

test("garbage on the socket does not hurt the server", async () => {
  const { port } = new URL(server.url);
  for (const junk of ["\x00\x01\x02 nonsense\r\n\r\n", "GET / HTTP/9.9\r\nHost:\r\n\r\n",
    `POST /v1/sites/acme/signals HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n`]) {
    await new Promise((resolve) => {
      const socket = net.connect(Number(port), "127.0.0.1", () => socket.end(junk));
      socket.on("data", () => {});
      socket.on("close", resolve);
      socket.on("error", resolve);
    });
  }
  await alive();
});

test("bodies are refused before they are read: chunked ones, and signal batches over the limit", async () => {
  const { port } = new URL(server.url);
  // What the refused request's unread "body" holds: a whole request of its own, which must not
  // run as the next request on the connection.
  const inner = JSON.stringify({ batch_id: "smuggled", events: [event(0)] });
  const smuggled = `POST /v1/sites/acme/signals HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Loopwise-Key: ${site.key}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(inner)}\r\n\r\n${inner}`;
  const send = (head) => new Promise((resolve) => {
    const socket = net.connect(Number(port), "127.0.0.1");
    let text = "";
    socket.on("data", (c) => (text += c));
    socket.on("close", () => resolve(text));
    socket.on("error", () => resolve(text));
    socket.write(`POST /v1/sites/acme/signals HTTP/1.1\r\nHost: 127.0.0.1\r\n${head}\r\n`);
    socket.write(smuggled);
  });
  for (const [head, status, code] of [
    ["Transfer-Encoding: chunked\r\n", 411, "length_required"],
    ["Transfer-Encoding: identity\r\n", 411, "length_required"],
    ["Content-Length: 30000000\r\n", 413, "body_too_large"],
  ]) {
    const reply = await send(head);
    assert.match(reply, new RegExp(`^HTTP/1\\.1 ${status} `), head);
    assert.ok(reply.includes(`"${code}"`), reply);
    assert.equal(reply.match(/HTTP\/1\.1 \d{3}/g).length, 1, `one answer, then the connection closes: ${reply}`);
  }
  assert.equal(sqlite(data, "SELECT COUNT(*) AS n FROM signal_batches WHERE batch_id = 'smuggled'")[0].n, 0);
  await alive();
});

test("the per-client rate limit answers 429 with Retry-After", async () => {
  const dir = tempDir();
  const s2 = createSite(dir, "tiny");
  const limited = await startServer(dir, ["--client-rate", "5"]);
  try {
    const u = `${limited.url}/v1/sites/tiny/signals`;
    let r = await request(u, signalsRequest(s2.key, { batch_id: batchId(), events: Array.from({ length: 12 }, (_, i) => event(i)) }));
    assert.equal(r.status, 202);
    r = await request(u, signalsRequest(s2.key, { batch_id: batchId(), events: Array.from({ length: 12 }, (_, i) => event(i)) }));
    assert.deepEqual([r.status, r.body.error.code], [429, "rate_limited"]);
    assert.ok(Number(r.headers.get("retry-after")) >= 1);
    const metrics = await (await fetch(`${limited.url}/metrics`)).text();
    assert.match(metrics, /loopwise_signal_batches_rejected_total\{reason="rate_limited"\} 1/);
  } finally {
    await limited.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
