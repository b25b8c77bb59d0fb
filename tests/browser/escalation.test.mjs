// The escalation model in the widget (headless Chromium, real server): once the site's history
// shows that customers who found an answer not helpful and ask again end up with a person, the
// bundle carries an escalation model and the panel offers a human along with the answers to such
// a second question, but not with a first one; where the history shows that frustrated questions,
// or one plan's customers, end up with a person, so does the panel.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import {
  admin, batchId, createSite, importFixtures, request, signalsRequest, startServer, tempDir,
} from "../server/server.mjs";
import { launchChromium } from "./demo-site.mjs";

let data, server, browser, site, beta, hostUrl, hostServer;

before(async () => {
  data = tempDir("loopwise-escalation-browser-");
  // ?site=beta serves the second site's script tag; ?plan=P tells the widget the customer's plan.
  hostServer = http.createServer((req, res) => {
    const params = new URL(req.url, "http://host").searchParams;
    const which = params.get("site") === "beta" ? beta : site;
    const plan = (params.get("plan") || "").replace(/[^a-z]/g, "");
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme</title>
<script>window.Loopwise = { q: [["setContext", { plan: "${plan}" }]] };</script>
<script src="${server.url}/widget/loopwise.js" data-site="${which.name}" data-key="${which.key}" async></script>
</head><body><h1>Account settings</h1></body></html>`);
  });
  await new Promise((resolve) => hostServer.listen(0, "127.0.0.1", resolve));
  hostUrl = `http://127.0.0.1:${hostServer.address().port}`;
  site = { name: "acme", ...createSite(data, "acme", hostUrl) };
  beta = { name: "beta", ...createSite(data, "beta", hostUrl) };
  importFixtures(data, "acme");
  importFixtures(data, "beta");
  server = await startServer(data, ["--learn-every", "0"]);
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
  if (hostServer) hostServer.close();
  if (data) fs.rmSync(data, { recursive: true, force: true });
});

// One question of a session, answered with confidence 0.8 and ending in `ending`.
function question(session, n, ts, ending, query = "I forgot my password", plan = undefined) {
  const base = {
    ts, session, query_id: `${session}-q${n}`, query, bundle: "1",
    context: plan ? { route: "/settings/security", plan } : { route: "/settings/security" }, confidence: 0.8,
  };
  const shown = ["reset-password", "refund"];
  const events = [{ ...base, type: "query" }, { ...base, ts: ts + 1, type: "shown", shown }];
  if (ending === "resolved") events.push({ ...base, ts: ts + 2, type: "resolved", shown, article: "reset-password" });
  else events.push({ ...base, ts: ts + 2, type: ending, shown });
  return events;
}

test("after a No, the next answer comes with a human offered, as the site's history taught", async () => {
  const base = `${server.url}/v1/sites/acme`;
  // 40 sessions: No, then a second question, escalated. 40 sessions: one question, resolved.
  const events = [];
  const t0 = Date.now() - 3600 * 1000;
  for (let i = 0; i < 40; i++) {
    events.push(...question(`a-${i}`, 1, t0 + i * 100, "not_helpful"));
    events.push(...question(`a-${i}`, 2, t0 + i * 100 + 50, "escalated"));
    events.push(...question(`b-${i}`, 1, t0 + i * 100 + 20, "resolved"));
  }
  for (let i = 0; i < events.length; i += 400) {
    const r = await request(`${base}/signals`, signalsRequest(site.key, { batch_id: batchId(), events: events.slice(i, i + 400) }));
    assert.equal(r.status, 202, JSON.stringify(r.body));
  }
  let r = await request(`${base}/train`, { method: "POST", headers: admin(site.token) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await request(`${base}/publish`, { method: "POST", headers: admin(site.token) });
  assert.ok(r.status >= 200 && r.status < 300, JSON.stringify(r.body));

  const context = await browser.newContext();
  const page = await context.newPage();
  const logs = [];
  page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
  await page.goto(`${hostUrl}/settings/security`);
  await page.getByRole("button", { name: "Help" }).click();
  const dialog = page.getByRole("dialog", { name: "Help" });
  const input = dialog.getByRole("textbox", { name: "Your question" });
  const human = dialog.getByRole("button", { name: "Talk to a human" });

  await input.fill("I forgot my password");
  await input.press("Enter");
  await dialog.getByText("Did this solve it?").waitFor({ timeout: 15000 });
  assert.equal(await human.count(), 0, `a first question gets answers only\n${logs.join("\n")}`);
  await dialog.getByRole("button", { name: "No", exact: true }).click();
  await human.waitFor();

  await input.fill("I still can't reset my password");
  await input.press("Enter");
  await dialog.getByText("Did this solve it?").waitFor({ timeout: 15000 });
  await dialog.getByText("Would you rather ask a person?").waitFor();
  assert.equal(await human.count(), 1, "the human is offered with the answers");
  assert.ok((await dialog.locator(".card").count()) > 0, "the answers are still there");
  await context.close();
});

test("frustrated questions, and customers of a plan that always ends with a person, get the human at once", async () => {
  const base = `${server.url}/v1/sites/beta`;
  // 120 sessions of one question. Frustrated ones and the free plan's end with a person; calm
  // questions on the pro plan are resolved.
  const events = [];
  const t0 = Date.now() - 3600 * 1000;
  for (let i = 0; i < 120; i++) {
    const frustrated = i % 3 === 0, free = i % 4 === 0;
    const query = frustrated ? "I STILL can't reset my password, this is useless!!" : "I forgot my password";
    events.push(...question(`c-${i}`, 1, t0 + i * 100, frustrated || free ? "escalated" : "resolved", query,
      free ? "free" : "pro"));
  }
  const r = await request(`${base}/signals`, signalsRequest(beta.key, { batch_id: batchId(), events }));
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const trained = await request(`${base}/train`, { method: "POST", headers: admin(beta.token) });
  assert.equal(trained.status, 200, JSON.stringify(trained.body));
  const published = await request(`${base}/publish`, { method: "POST", headers: admin(beta.token) });
  assert.ok(published.status >= 200 && published.status < 300, JSON.stringify(published.body));

  const context = await browser.newContext();
  const offered = async (plan, text) => {
    const page = await context.newPage();
    await page.goto(`${hostUrl}/settings/security?site=beta&plan=${plan}`);
    await page.getByRole("button", { name: "Help" }).click();
    const dialog = page.getByRole("dialog", { name: "Help" });
    const input = dialog.getByRole("textbox", { name: "Your question" });
    await input.fill(text);
    await input.press("Enter");
    await dialog.getByText("Did this solve it?").waitFor({ timeout: 15000 });
    const human = await dialog.getByRole("button", { name: "Talk to a human" }).count();
    await page.close();
    return human === 1;
  };
  assert.equal(await offered("pro", "I forgot my password"), false, "a calm question on the pro plan");
  assert.equal(await offered("pro", "I forgot my password and it is STILL not working, useless!!"), true,
    "a frustrated question");
  assert.equal(await offered("free", "I forgot my password"), true, "a calm question on the free plan");
  await context.close();
});
