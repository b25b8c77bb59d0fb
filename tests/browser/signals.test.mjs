// Signals from the widget in a real browser (headless Chromium) to a real sync server: Yes, No,
// Talk to a human, Contact a person and a question left unanswered arrive as signals, scrubbed of
// personal data in the browser; a page going away sends its queue (fetch keepalive); offline,
// nothing is lost and, when a batch is retried after the server already stored it, nothing is
// stored twice.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import {
  admin, createSite, importFixtures, repoRoot, request, sqlite, startServer, tempDir,
} from "../server/server.mjs";
import { launchChromium } from "./demo-site.mjs";

let data, server, browser, site, hostUrl, hostServer;

// The host page; ?flush=MS shortens the widget's send interval (data-loopwise-flush-ms);
// ?customer=ID&signature=HEX signs a customer in, as the site's backend would.
function hostPage(serverUrl, key, flush, customer, signature) {
  const esc = (v) => String(v).replace(/[^A-Za-z0-9_-]/g, "");
  const flushAttr = (flush ? ` data-loopwise-flush-ms="${Number(flush)}"` : "") +
    (customer ? ` data-loopwise-customer="${esc(customer)}" data-loopwise-customer-signature="${esc(signature)}"` : "");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme settings</title>
<script>window.Loopwise = window.Loopwise || { q: [] };
Loopwise.q.push(["setContext", { plan: "pro", owner: "jane@example.com" }]);</script>
<script src="${serverUrl}/widget/loopwise.js" data-site="acme" data-key="${key}"${flushAttr}
  data-loopwise-signal-context="plan,team" async></script>
</head><body data-loopwise-team="design team of jane@example.com" data-loopwise-seats="8">
<h1>Account settings</h1></body></html>`;
}

before(async () => {
  assert.ok(fs.existsSync(path.join(repoRoot, "web/dist/loopwise.js")), "run scripts/build-web first");
  data = tempDir("loopwise-signals-browser-");
  hostServer = http.createServer((req, res) => {
    const params = new URL(req.url, "http://host").searchParams;
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(hostPage(server.url, params.get("key") || site.key, params.get("flush"),
      params.get("customer"), params.get("signature")));
  });
  await new Promise((resolve) => hostServer.listen(0, "127.0.0.1", resolve));
  hostUrl = `http://127.0.0.1:${hostServer.address().port}`;
  site = createSite(data, "acme", hostUrl);
  importFixtures(data, "acme", { history: false });
  server = await startServer(data);
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
  if (hostServer) hostServer.close();
  if (data) fs.rmSync(data, { recursive: true, force: true });
});

// Signal counts by type, summed over the days the analytics route reports.
async function counts() {
  const res = await request(`${server.url}/v1/sites/acme/analytics`, { headers: admin(site.token) });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const out = {};
  for (const day of res.body.days) {
    for (const [type, n] of Object.entries(day.events)) out[type] = (out[type] || 0) + n;
  }
  return out;
}

async function waitFor(check, what, timeout = 15000) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const pause = (ms) => new Promise((r) => setTimeout(r, ms));

async function ask(page, text) {
  const dialog = page.getByRole("dialog", { name: "Help" });
  if (!(await dialog.isVisible())) await page.getByRole("button", { name: "Help" }).click();
  const input = dialog.getByRole("textbox", { name: "Your question" });
  await input.fill(text);
  await input.press("Enter");
  await dialog.getByText("Did this solve it?").waitFor({ timeout: 15000 });
  return dialog;
}

// The widget's IndexedDB queue: [{id, batch, event}].
function stored(page) {
  return page.evaluate(() => new Promise((resolve, reject) => {
    const open = indexedDB.open("loopwise-signals:acme");
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      if (!db.objectStoreNames.contains("events")) return resolve([]);
      const r = db.transaction("events").objectStore("events").getAll();
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    };
  }));
}

function newPage(context, logs) {
  return context.newPage().then((page) => {
    page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
    return page;
  });
}

test("Yes, No and Talk to a human arrive as scrubbed signals when the page goes away", async () => {
  const context = await browser.newContext();
  const logs = [];
  const page = await newPage(context, logs);
  // The default interval (10 s): what is sent here is sent by pagehide.
  await page.goto(`${hostUrl}/settings/4711/security`);
  let dialog = await ask(page, "my login jane@example.com fails, reset password");
  await dialog.getByRole("button", { name: "Yes", exact: true }).click();
  await dialog.locator(".answers").getByText("Glad that helped.").waitFor();
  dialog = await ask(page, "my login jane@example.com fails, reset password");
  await dialog.getByRole("button", { name: "No", exact: true }).click();
  await dialog.getByRole("button", { name: "Talk to a human" }).click();
  // Nothing on this page listens to escalate: no reply is promised.
  await dialog.locator(".answers").getByText("no one can reply here", { exact: false }).waitFor();

  // Scrubbed in the browser before it is even stored: the address is not in the queue.
  const queued = await waitFor(async () => {
    const rows = await stored(page);
    return rows.length === 7 ? rows : null;
  }, "seven queued events");
  for (const row of queued) assert.doesNotMatch(row.event.query, /jane@example\.com/);
  assert.equal(new Set(queued.map((r) => r.batch)).size, 1, "one batch, its id stored with its events");

  await page.goto("about:blank"); // pagehide: fetch keepalive
  const got = await waitFor(async () => {
    const c = await counts();
    return c.escalated ? c : null;
  }, `signals at the server\n${logs.join("\n")}`);
  assert.equal(got.resolved, 1);
  assert.equal(got.not_helpful, 1);
  assert.equal(got.escalated, 1);
  assert.equal(got.query, 2);
  assert.equal(got.shown, 2);

  // The server scrubs again on arrival; what it stored has no address either.
  const rows = sqlite(data, "SELECT type, query, session, query_id, bundle, context, article, shown FROM signals");
  assert.equal(rows.length, 7);
  for (const row of rows) {
    assert.doesNotMatch(row.query, /jane|example\.com/, row.query);
    assert.match(row.query, /reset password/);
    assert.match(row.session, /^[0-9a-f-]{36}$/);
    assert.match(row.query_id, /^[0-9a-f-]{36}$/);
    assert.equal(row.bundle, "1");
    // Only the folded route and the keys the script tag allows travel; their values scrubbed.
    const context = JSON.parse(row.context);
    assert.deepEqual(Object.keys(context).sort(), ["plan", "route", "team"], row.context);
    assert.equal(context.route, "/settings/:id/security");
    assert.equal(context.plan, "pro");
    assert.match(context.team, /^design team of /);
    assert.doesNotMatch(context.team, /jane|example\.com/);
  }
  assert.equal(new Set(rows.map((r) => r.session)).size, 1, "one session for the day");
  assert.equal(new Set(rows.map((r) => r.query_id)).size, 2, "one query_id per question");
  const resolved = rows.find((r) => r.type === "resolved");
  assert.equal(resolved.article, JSON.parse(resolved.shown)[0]);
  await context.close();
});

test("Contact a person, on a page that takes the handoff, arrives as the question's escalation", async () => {
  const context = await browser.newContext();
  const logs = [];
  const page = await newPage(context, logs);
  await page.addInitScript(() => {
    window.Loopwise = { q: [["on", "escalate", (d) => (window.handoff = d)]] };
  });
  const before = (await counts()).escalated || 0;
  await page.goto(`${hostUrl}/settings/security?flush=200`);
  const dialog = await ask(page, "how do I reset my password");
  await dialog.getByRole("button", { name: "Contact a person" }).click();
  await dialog.locator(".answers").getByText("We've let the team know about your question.").waitFor();
  assert.equal(await page.evaluate(() => window.handoff.query), "how do I reset my password");
  await waitFor(async () => ((await counts()).escalated || 0) === before + 1,
    `one more escalation at the server\n${logs.join("\n")}`);
  const [row] = sqlite(data, "SELECT query_id FROM signals WHERE type = 'escalated' ORDER BY id DESC LIMIT 1");
  const asked = sqlite(data, `SELECT query FROM signals WHERE type = 'query' AND query_id = '${row.query_id}'`);
  assert.deepEqual(asked.map((r) => r.query), ["how do I reset my password"], "the question it was about");
  await context.close();
});

test("a question left without Yes, No or a handoff arrives as abandoned, once, and a later Yes still counts", async () => {
  const first = sqlite(data, "SELECT COALESCE(MAX(id), 0) AS n FROM signals")[0].n;
  const since = (type) => sqlite(data, `SELECT query_id, query FROM signals WHERE id > ${first} AND type = '${type}' ORDER BY id`);
  const abandonedBefore = (await request(`${server.url}/v1/sites/acme/analytics`, { headers: admin(site.token) })).body.rates.abandoned;
  const context = await browser.newContext();
  const logs = [];
  const page = await newPage(context, logs);
  const visibility = (state) => page.evaluate((s) => {
    Object.defineProperty(document, "visibilityState", { value: s, configurable: true });
    document.dispatchEvent(new Event("visibilitychange"));
  }, state);
  await page.goto(`${hostUrl}/settings/security?flush=300`);

  // The next question leaves the first one.
  await ask(page, "how do I reset my password");
  const dialog = await ask(page, "how do i get a refund");
  const asked = await waitFor(async () => (since("query").length === 2 ? since("query") : null), "two questions");
  let left = await waitFor(async () => (since("abandoned").length === 1 ? since("abandoned") : null),
    `the first question abandoned\n${logs.join("\n")}`);
  assert.equal(left[0].query_id, asked[0].query_id);

  // Hiding the page (another tab, the phone's home screen) leaves the second; coming back and
  // saying Yes still resolves it, and hiding the page again sends nothing more.
  await visibility("hidden");
  left = await waitFor(async () => (since("abandoned").length === 2 ? since("abandoned") : null),
    `the second question abandoned\n${logs.join("\n")}`);
  assert.equal(left[1].query_id, asked[1].query_id);
  await visibility("visible");
  await dialog.getByRole("button", { name: "Yes", exact: true }).click();
  await waitFor(async () => since("resolved").length === 1, `the Yes\n${logs.join("\n")}`);
  await visibility("hidden");
  await pause(1000);
  assert.equal(since("abandoned").length, 2, "each question is abandoned once at most");

  // Analytics counts only the question nothing else became of.
  const rates = (await request(`${server.url}/v1/sites/acme/analytics`, { headers: admin(site.token) })).body.rates;
  assert.equal(rates.abandoned, abandonedBefore + 1);
  await context.close();
});

test("a signed-in customer's signals arrive under the customer's session, the id left behind", async () => {
  const siteUrl = `${server.url}/v1/sites/acme`;
  const put = (body) => request(siteUrl, {
    method: "PUT", headers: admin(site.token, { "Content-Type": "application/json" }), body: JSON.stringify(body),
  });
  const { body } = await put({ identity: "optional" });
  const customer = "cust-8c1d";
  const signature = crypto.createHmac("sha256", body.identity_secret).update(customer).digest("hex");
  const first = sqlite(data, "SELECT COALESCE(MAX(id), 0) AS n FROM signals")[0].n;
  const context = await browser.newContext();
  const logs = [];
  const page = await newPage(context, logs);
  await page.goto(`${hostUrl}/settings?flush=200&customer=${customer}&signature=${signature}`);
  const dialog = await ask(page, "how do i reset my password");
  await dialog.getByRole("button", { name: "Yes", exact: true }).click();
  const rows = await waitFor(() => {
    const r = sqlite(data, `SELECT type, session FROM signals WHERE id > ${first}`);
    return r.some((x) => x.type === "resolved") ? r : null;
  }, `signals at the server\n${logs.join("\n")}`);
  assert.equal(new Set(rows.map((r) => r.session)).size, 1);
  assert.match(rows[0].session, /^customer:[0-9a-f]{32}$/);
  assert.equal(sqlite(data, `SELECT COUNT(*) AS n FROM signals WHERE session LIKE '%${customer}%'`)[0].n, 0);
  await context.close();
  await put({ identity: "off" });
});

test("Did this solve it? is answered once per question, in the list and in the article alike", async () => {
  const before = await counts();
  const context = await browser.newContext();
  const logs = [];
  const page = await newPage(context, logs);
  await page.goto(`${hostUrl}/settings/security?flush=300`);
  const feedbackButtons = (dialog) => dialog.getByRole("group", { name: "Did this solve it?" }).getByRole("button");

  // Yes inside the article; Back to the list and the article again show it, and ask nothing.
  let dialog = await ask(page, "I forgot my password and can't log in");
  await dialog.locator(".card .open").first().click();
  await dialog.locator(".article").getByRole("button", { name: "Yes", exact: true }).click();
  await dialog.locator(".article").getByText("Glad that helped.").waitFor();
  await dialog.getByRole("button", { name: "Back to answers" }).click();
  await dialog.locator(".answers").getByText("Glad that helped.").waitFor();
  assert.equal(await feedbackButtons(dialog).count(), 0, "the list does not ask again");
  await dialog.locator(".card .open").first().click();
  await dialog.locator(".article").getByText("Glad that helped.").waitFor();
  assert.equal(await feedbackButtons(dialog).count(), 0, "nor does the article");

  // No in the list; an article among the next answers may still solve it, once.
  dialog = await ask(page, "I forgot my password and can't log in");
  await dialog.getByRole("button", { name: "No", exact: true }).click();
  await dialog.getByRole("button", { name: "Talk to a human" }).waitFor();
  await dialog.locator(".card .open").first().click();
  assert.equal(await feedbackButtons(dialog).count(), 2, "a later answer is asked about");
  await dialog.locator(".article").getByRole("button", { name: "Yes", exact: true }).click();
  await dialog.locator(".article").getByText("Glad that helped.").waitFor();
  await dialog.getByRole("button", { name: "Back to answers" }).click();
  await dialog.locator(".card .open").first().click();
  await dialog.locator(".article").getByText("Glad that helped.").waitFor();
  assert.equal(await feedbackButtons(dialog).count(), 0);

  const got = await waitFor(async () => {
    const c = await counts();
    return (c.not_helpful || 0) > (before.not_helpful || 0) && (c.resolved || 0) >= (before.resolved || 0) + 2 ? c : null;
  }, `signals at the server\n${logs.join("\n")}`);
  await pause(1000);
  const after = await counts();
  assert.deepEqual(after, got, "nothing more arrived");
  assert.equal((after.resolved || 0) - (before.resolved || 0), 2, "one resolved for each question");
  assert.equal((after.not_helpful || 0) - (before.not_helpful || 0), 1, "one not_helpful, for the second");
  await context.close();
});

// Playwright routes the page's ordinary requests (not keepalive ones sent as a page goes away):
// offline emulation is mirrored here because route.fetch goes around it.
async function routeSignals(page, state) {
  await page.route("**/v1/sites/acme/signals", async (route) => {
    if (route.request().method() !== "POST") return route.fallback();
    if (state.offline) return route.abort("internetdisconnected");
    let res;
    try {
      res = await route.fetch();
    } catch {
      return route.abort("internetdisconnected").catch(() => undefined);
    }
    if (res.status() === 202) state.acked.push(JSON.parse(route.request().postData()).batch_id);
    if (state.cut && res.status() === 202) {
      // Stored, but the answer never arrives: the widget must retry with the same batch_id.
      state.cut = false;
      return route.abort("connectionreset");
    }
    return route.fulfill({ response: res });
  });
}

// Asks on the security page, its signals routed through `state`, goes offline and answers Yes.
async function yesWhileOffline(context, page, state) {
  await routeSignals(page, state);
  await page.goto(`${hostUrl}/settings/security?flush=300`);
  const dialog = await ask(page, "I forgot my password and can't log in");
  await context.setOffline(true);
  state.offline = true;
  await dialog.getByRole("button", { name: "Yes", exact: true }).click();
  await dialog.locator(".answers").getByText("Glad that helped.").waitFor();
}

test("offline, a Yes waits; back online it arrives exactly once, even when a retry repeats it", async () => {
  const before = (await counts()).resolved || 0;
  const context = await browser.newContext();
  const logs = [];
  const page = await newPage(context, logs);
  // Closed however it ends: a page left running would send its queue into the next test.
  try {
    const state = { offline: false, cut: true, acked: [] };
    await yesWhileOffline(context, page, state);
    await pause(1500); // several flushes, all failing
    assert.equal((await counts()).resolved || 0, before, "nothing arrives while offline");
    const queued = (await stored(page)).filter((r) => r.event.type === "resolved");
    assert.equal(queued.length, 1);

    await context.setOffline(false);
    state.offline = false;
    // The question's own signals may have gone out before the page went offline: wait for the Yes.
    await waitFor(async () => state.acked.length >= 2 && state.acked.includes(queued[0].batch),
      `a retry after the lost answer, and the Yes\n${logs.join("\n")}`, 30000);
    assert.ok(state.acked.includes(queued[0].batch), "the queued batch_id is the one sent");
    assert.equal(state.acked[1], state.acked[0], `the retry repeats the batch_id: ${state.acked.join(" ")}`);
    await waitFor(async () => (await stored(page)).length === 0, "an empty queue");
    await pause(1000);
    assert.equal((await counts()).resolved, before + 1, "stored exactly once");
  } finally {
    await context.close();
  }
});

test("a reload while offline loses nothing and sends nothing twice", async () => {
  const before = (await counts()).resolved || 0;
  const context = await browser.newContext();
  const logs = [];
  const page = await newPage(context, logs);
  // Closed however it ends: a page left running would send its queue into the next test.
  try {
    const state = { offline: false, cut: false, acked: [] };
    await yesWhileOffline(context, page, state);
    await waitFor(async () => (await stored(page)).some((r) => r.event.type === "resolved"), "the Yes queued");

    // The page goes away offline (its keepalive send may or may not get out) and comes back online:
    // the queued batch is sent again under its stored id, and the server keeps one copy.
    await page.reload().catch(() => undefined);
    await context.setOffline(false);
    state.offline = false;
    await page.reload();
    await page.waitForFunction(() => window.Loopwise && window.Loopwise.loaded === true);
    await waitFor(async () => ((await counts()).resolved || 0) > before, `the Yes\n${logs.join("\n")}`, 30000);
    await waitFor(async () => (await stored(page)).length === 0, "an empty queue");
    await pause(1000);
    assert.equal((await counts()).resolved, before + 1, "stored exactly once");
  } finally {
    await context.close();
  }
});

test("a batch the server refuses for good (wrong key) is dropped with a warning, not retried", async () => {
  const total = sqlite(data, "SELECT COUNT(*) AS n FROM signals")[0].n;
  const context = await browser.newContext();
  const logs = [];
  const page = await newPage(context, logs);
  await page.goto(`${hostUrl}/settings/security?flush=300&key=pk_wrong`);
  await page.getByRole("button", { name: "Help" }).click();
  const dialog = page.getByRole("dialog", { name: "Help" });
  const input = dialog.getByRole("textbox", { name: "Your question" });
  await input.fill("call me at jane@example.com");
  await input.press("Enter");
  // Without the engine there is no scrubber, so the escalation carries no query text at all.
  await dialog.getByRole("button", { name: "Talk to a human" }).click();
  await waitFor(async () => logs.some((l) => /help signals were refused \(HTTP 401\) and dropped/.test(l)),
    `the warning\n${logs.join("\n")}`);
  await waitFor(async () => (await stored(page)).length === 0, "an empty queue");
  assert.equal(sqlite(data, "SELECT COUNT(*) AS n FROM signals")[0].n, total);
  await context.close();
});
