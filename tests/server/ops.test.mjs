// Gaps, incidents, webhook alerts and analytics on a real server: signals posted over HTTP, the
// server's periodic watch (--watch-every) finding a knowledge gap and a spike, the spike POSTed to
// a webhook receiver started here (which fails once, so the alert is retried), exactly once, also
// across a restart; analytics checked against the known input; old signals forgotten
// (--keep-signals-days) only once every reader has read them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import {
  admin, batchId, cliFails, createSite, importFixtures, request, signalsRequest, startServer, tempDir,
} from "./server.mjs";

const HOUR = 3600 * 1000;
let data, site, server, receiver, hookUrl;
const deliveries = []; // {status, body} of every request the receiver got
const now = Date.now();

const known = [
  ["i forgot my password", "reset-password", "/login"],
  ["i want my money back", "refund", "/billing"],
  ["lost my authenticator phone", "reset-2fa", "/settings/security"],
  ["download a csv report", "export-data", "/projects/:id/reports"],
];
// Words every site's vocabulary carries (common English), as a bundle holds no others.
const gapQuestions = [
  "change the language to french", "switch the language to french", "french language please",
  "set my language to french", "how to change language to french", "can i use it in french",
];
const burstQuestions = [
  "checkout page shows error 500", "error 500 when i pay", "payment fails with server error",
  "checkout error 500 again", "cannot pay, server error on checkout",
];

let n = 0;
function question(ts, text, route, outcome, article) {
  const id = `q-${n++}`;
  const base = { ts, session: `s-${id}`, query_id: id, query: text, bundle: "1", context: { route }, confidence: 0.5 };
  const shown = outcome === "declined" ? [] : [article];
  const events = [{ ...base, type: "query" }, { ...base, type: "shown", shown }];
  if (outcome === "resolved") events.push({ ...base, ts: ts + 1000, type: "resolved", shown, article });
  if (outcome === "not_helpful") events.push({ ...base, ts: ts + 1000, type: "not_helpful", shown, article });
  if (outcome === "declined") events.push({ ...base, ts: ts + 2000, type: "escalated", shown });
  return events;
}

async function post(events) {
  for (let i = 0; i < events.length; i += 400) {
    const r = await request(`${server.url}/v1/sites/acme/signals`,
      signalsRequest(site.key, { batch_id: batchId(), events: events.slice(i, i + 400) }));
    assert.equal(r.status, 202);
  }
}

async function until(what, check, seconds = 20) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function get(route) {
  return request(`${server.url}/v1/sites/acme/${route}`, { headers: admin(site.token) });
}

before(async () => {
  data = tempDir();
  site = createSite(data, "acme");
  importFixtures(data, "acme");
  // The receiver answers 500 to the first alert and 200 after that.
  receiver = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => { body += c; });
    req.on("end", () => {
      const status = deliveries.length === 0 ? 500 : 200;
      deliveries.push({ status, body: JSON.parse(body), type: req.headers["content-type"] });
      res.writeHead(status).end();
    });
  });
  await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
  hookUrl = `http://127.0.0.1:${receiver.address().port}/hooks/loopwise?team=support`;
  server = await startServer(data, ["--watch-every", "0.3", "--learn-every", "0"]);
});

after(async () => {
  await server?.stop();
  receiver?.close();
  fs.rmSync(data, { recursive: true, force: true });
});

test("webhooks are set and read with the admin token, and bad ones are refused by entry", async () => {
  const put = (body, token = site.token) => request(`${server.url}/v1/sites/acme/webhooks`, {
    method: "PUT", headers: admin(token, { "Content-Type": "application/json" }), body: JSON.stringify(body),
  });
  let r = await put({ webhooks: [{ url: "https://x.example/hook", format: "teams" }] });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, "invalid_webhooks");
  assert.match(r.body.error.message, /webhooks\[0\]\.format/);
  r = await put({ webhooks: [{ url: "file:///etc/passwd" }] });
  assert.equal(r.status, 400);
  r = await put({ webhooks: [] }, "sk_wrong");
  assert.equal(r.status, 403);
  r = await put({ webhooks: [{ url: hookUrl, format: "json" }] });
  assert.equal(r.status, 200);
  r = await get("webhooks");
  assert.deepEqual(r.body, { webhooks: [{ url: hookUrl, format: "json" }] });
});

test("signals become a gap, a spike becomes one incident, alerted once after one retry", async () => {
  // Two days of steady, answered traffic: each known kind once an hour, in time order.
  const steady = [];
  for (let t = now - 48 * HOUR; t < now - HOUR; t += HOUR) {
    known.forEach(([text, article, route], k) => steady.push(...question(t + k * 7 * 60000, text, route, "resolved", article)));
  }
  await post(steady);
  // A question the knowledge base cannot answer: declined, escalated.
  const gaps = [];
  // Spread over hours: a gap is about volume, not a spike.
  gapQuestions.forEach((text, i) => gaps.push(...question(now - 7 * HOUR + i * HOUR, text, "/integrations", "declined")));
  await post(gaps);
  // The last 20 minutes: a burst of a new kind of question on one page (a broken checkout).
  const burst = [];
  for (let i = 0; i < 40; i++) {
    burst.push(...question(now - 20 * 60000 + i * 28000, burstQuestions[i % burstQuestions.length],
      "/billing/checkout", "not_helpful", "refund"));
  }
  await post(burst);

  const gap = await until("the gap", async () => {
    const r = await get("gaps");
    assert.equal(r.status, 200);
    const found = r.body.gaps.filter((g) => g.pages.some((p) => p.route === "/integrations"));
    return found.reduce((n, g) => n + g.queries, 0) === gapQuestions.length &&
      found.sort((a, b) => b.queries - a.queries)[0];
  });
  assert.equal(gap.status, "open");
  assert.ok(gap.queries >= 5, `${gap.queries} of the 6 questions in one gap`);
  assert.equal(gap.sessions, gap.queries);
  assert.match(gap.label, /french/);
  assert.ok(gap.examples.length >= 3 && gap.examples.every((e) => gapQuestions.includes(e)));
  assert.deepEqual(gap.pages, [{ route: "/integrations", count: gap.queries }]);
  assert.equal(Date.parse(gap.first_seen), now - 7 * HOUR);
  for (const field of ["id", "score", "last_seen"]) assert.ok(field in gap, field);
  assert.equal(gap.confirmed, 0);
  // Helpdesk agents find no article for two of its questions: the gap says so.
  const ids = gaps.filter((e) => e.type === "escalated").map((e) => e.query_id).slice(0, 2);
  const resolved = await request(`${server.url}/v1/sites/acme/resolutions`, {
    method: "POST", headers: admin(site.token, { "Content-Type": "application/json" }),
    body: JSON.stringify(ids.map((query_id) => ({ query_id, article: null }))),
  });
  assert.deepEqual([resolved.status, resolved.body], [200, { accepted: 2 }]);
  await until("the agents' word on the gap", async () =>
    (await get("gaps")).body.gaps.some((g) => g.id === gap.id && g.confirmed === 2));
  // The operator marks the whole gap out of scope: its other questions, each once.
  const outOfScope = (id, token = site.token) => request(`${server.url}/v1/sites/acme/gaps/${id}/out-of-scope`,
    { method: "POST", headers: admin(token) });
  let marked = await outOfScope(gap.id);
  assert.deepEqual([marked.status, marked.body], [200, { gap: gap.id, marked: gap.queries - 2 }]);
  await until("the gap confirmed whole", async () =>
    (await get("gaps")).body.gaps.some((g) => g.id === gap.id && g.confirmed === gap.queries));
  marked = await outOfScope(gap.id);
  assert.deepEqual(marked.body, { gap: gap.id, marked: 0 });
  for (const id of [gap.id + 1000, "abc", "-1"]) {
    marked = await outOfScope(id);
    assert.deepEqual([marked.status, marked.body.error.code], [404, "gap_not_found"], String(id));
  }
  assert.equal((await outOfScope(gap.id, "sk_wrong")).status, 403);

  const incident = await until("the incident", async () => {
    const r = await get("incidents");
    assert.equal(r.status, 200);
    return r.body.incidents[0];
  });
  assert.equal(incident.status, "open");
  assert.equal(incident.route, "/billing/checkout");
  assert.ok(burstQuestions.includes(incident.label), incident.label);
  assert.ok(incident.count >= 5 && incident.count >= 4 * incident.baseline, JSON.stringify(incident));
  assert.ok(incident.examples.length > 0 && incident.examples.every((e) => burstQuestions.includes(e)));
  assert.equal(incident.pages[0].route, "/billing/checkout");
  assert.ok(Date.parse(incident.first_seen) >= now - 25 * 60000);

  // The receiver failed the first attempt; the retry (after the backoff) delivered it.
  await until("the retried alert", () => deliveries.length >= 2);
  assert.deepEqual(deliveries.map((d) => d.status), [500, 200]);
  const alert = deliveries[1];
  assert.equal(alert.type, "application/json");
  assert.equal(alert.body.event, "incident.opened");
  assert.equal(alert.body.site, "acme");
  assert.equal(alert.body.incident.id, incident.id);
  assert.equal(alert.body.incident.route, "/billing/checkout");
  // Nothing more: not resent on later passes, nor after a restart.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(deliveries.length, 2);
  await server.stop();
  server = await startServer(data, ["--watch-every", "0.3", "--learn-every", "0"]);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(deliveries.length, 2);
  const incidents = (await get("incidents")).body.incidents;
  assert.equal(incidents.length, 1, JSON.stringify(incidents));
});

test("analytics: rates overall, by day, route, bundle and article, before and after the publish", async () => {
  const r = await get("analytics");
  assert.equal(r.status, 200);
  const a = r.body;
  // The existing fields stay.
  assert.equal(a.site, "acme");
  assert.ok(a.signals > 0 && Array.isArray(a.days) && a.days[0].events);
  const rate = (part, whole) => Math.round((10000 * part) / whole) / 10000;
  const steady = 47 * known.length, total = steady + gapQuestions.length + 40;
  assert.deepEqual(a.rates, {
    queries: total, resolved: steady, escalated: 6, declined: 6, not_helpful: 40, abandoned: 0,
    resolution_rate: rate(steady, total), escalation_rate: rate(6, total), gap_rate: rate(6, total),
    not_helpful_rate: rate(40, total), abandonment_rate: 0,
  });
  assert.equal(a.by_day.reduce((s, d) => s + d.queries, 0), total);
  assert.ok(a.by_day.every((d) => /^\d{4}-\d{2}-\d{2}$/.test(d.day)));
  const integrations = a.by_route.find((x) => x.route === "/integrations");
  assert.equal(integrations.queries, 6);
  assert.equal(integrations.gap_rate, 1);
  const checkout = a.by_route.find((x) => x.route === "/billing/checkout");
  assert.equal(checkout.not_helpful_rate, 1);
  assert.deepEqual(a.by_bundle.map((b) => [b.bundle, b.queries]), [["1", total]]);
  const refund = a.by_article.find((x) => x.article === "refund");
  assert.deepEqual(refund, { article: "refund", shown: 47 + 40, resolved: 47, not_helpful: 40, resolution_rate: rate(47, 87) });
  // Version 1 was published before every question was asked (their times are in the past, so
  // all fall "before"); the comparison is there with both sides.
  assert.equal(a.changes.length, 1);
  assert.equal(a.changes[0].version, 1);
  assert.equal(a.changes[0].before.queries + a.changes[0].after.queries <= total, true);
});

test("--keep-signals-days forgets old signals, but only once learning, gaps and incidents have read them", async () => {
  const dir = tempDir();
  const own = createSite(dir, "keep");
  importFixtures(dir, "keep");
  const keeper = await startServer(dir, ["--watch-every", "0.2", "--learn-every", "0", "--keep-signals-days", "2"]);
  try {
    const base = `${keeper.url}/v1/sites/keep`;
    const events = [
      ...question(now - 5 * 24 * HOUR, "i want my money back", "/billing", "resolved", "refund"),
      ...question(now - HOUR, "i forgot my password", "/login", "resolved", "reset-password"),
    ];
    const r = await request(`${base}/signals`, signalsRequest(own.key, { batch_id: batchId(), events }));
    assert.equal(r.status, 202);
    const analytics = async () => (await request(`${base}/analytics`, { headers: admin(own.token) })).body;
    // The watch reads them at once; learning has not yet, so they all stay.
    await new Promise((done) => setTimeout(done, 1500));
    assert.equal((await analytics()).signals, 6);
    assert.equal((await request(`${base}/train`, { method: "POST", headers: admin(own.token) })).status, 200);
    await until("the old question forgotten", async () => (await analytics()).signals === 3);
    const day = (ms) => new Date(ms).toISOString().slice(0, 10);
    assert.deepEqual((await analytics()).days.map((d) => d.day),
      [...new Set([day(now - HOUR), day(now - HOUR + 1000)])], "only the recent question's days are left");
    assert.ok(keeper.logs.some((l) => l.includes('"msg":"old signals forgotten"') && l.includes('"signals":3')));
    // Without the watch nothing would ever be forgotten: refused at start.
    assert.match(cliFails("serve", "--keep-signals-days", "2", "--watch-every", "0", "--data", dir).stderr,
      /--keep-signals-days forgets signals on each watch; --watch-every 0 turns it off/);
  } finally {
    await keeper.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
