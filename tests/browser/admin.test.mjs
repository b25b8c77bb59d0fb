// The admin console in a real browser (Debian's Chromium, headless) against a real sync server:
// a site in review mode with the fixture articles and history published, three days of signals
// sent over HTTP with the site key (among them a burst of questions nothing answers), then the
// operator's walk: sign in, the overview's figures, the gap and the incident that burst raised,
// a learned change in the review queue with its explanation, approve it, the new version
// current, roll back, settings, an article written for the gap, files imported; accessibility (axe-core, keyboard, a phone-sized screen) and the
// page's Content-Security-Policy checked along the way.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import {
  admin, batchId, createSite, importFixtures, repoRoot, request, signalsRequest, startServer,
  tempDir,
} from "../server/server.mjs";
import { launchChromium } from "./demo-site.mjs";

const artifacts = path.join(repoRoot, "build/test-artifacts");
const DAY = 86400000;
let data, server, browser, page, site, quiet;
const traffic = []; // every event sent before the console opens, to check its figures against
const problems = []; // page errors, CSP violations and failed console lines, shown on failure

function api(p) {
  return `${server.url}/v1/sites/acme${p}`;
}

async function post(p, body) {
  return request(api(p), {
    method: "POST",
    headers: admin(site.token, { "Content-Type": "application/json" }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function currentVersion() {
  const res = await request(api(""), { headers: admin(site.token) });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.version;
}

// Sends one batch of events with the site key, as the widget does.
async function sendSignals(events) {
  const res = await request(api("/signals"), signalsRequest(site.key, { batch_id: batchId(), events }));
  assert.equal(res.status, 202, JSON.stringify(res.body));
}

// One customer's question and how it ended, in the widget's event shapes.
function outcome(session, n, ts, query, article, ending) {
  const base = { ts, session, query_id: `${session}-q${n}`, query, bundle: "1", context: { route: "/settings/security" } };
  const events = [
    { ...base, type: "query", confidence: 0.7 },
    { ...base, type: "shown", shown: [article, "reset-password", "refund"].filter((a, i, all) => all.indexOf(a) === i) },
  ];
  if (ending === "resolved") events.push({ ...base, type: "resolved", article, ts: ts + 5000 });
  if (ending === "escalated") events.push({ ...base, type: "escalated", ts: ts + 5000 });
  if (ending === "not_helpful") events.push({ ...base, type: "not_helpful", article, ts: ts + 5000 });
  return events;
}

// axe-core's WCAG 2.1 A and AA rules on the page as it is now (evaluated through the DevTools
// protocol, which the page's Content-Security-Policy does not govern).
const axeSource = fs.readFileSync(path.join(repoRoot, "node_modules/axe-core/axe.min.js"), "utf8");
async function accessibilityViolations(where) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(axeSource);
  const found = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
  }).then((r) => r.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`)));
  return found.map((v) => `${where}: ${v}`);
}

function withProblems(e) {
  return new Error(`${e.message}\nbrowser problems:\n${problems.join("\n")}`);
}

before(async () => {
  assert.ok(fs.existsSync(path.join(repoRoot, "web/dist/admin/admin.js")), "run scripts/build-web first");
  data = tempDir("loopwise-admin-");
  site = createSite(data, "acme", "https://app.example.com");
  quiet = createSite(data, "quiet", "https://quiet.example.com"); // a site with nothing yet
  importFixtures(data, "acme");
  // Gaps and incidents are updated every half second; learning runs only when asked.
  server = await startServer(data, ["--watch-every", "0.5", "--learn-every", "0"]);
  const put = await request(api(""), {
    method: "PUT",
    headers: admin(site.token, { "Content-Type": "application/json" }),
    body: JSON.stringify({ mode: "review" }),
  });
  assert.equal(put.status, 200, JSON.stringify(put.body));

  // Three days of traffic for the overview: questions, some resolved, some handed to a human.
  // Each at the start of its UTC day, so the three days stay three days whenever this runs.
  const now = Date.now();
  const today = Math.floor(now / DAY) * DAY;
  for (let d = 2; d >= 0; d--) {
    for (let i = 0; i < 4 + d; i++) {
      const ending = i % 3 === 0 ? "escalated" : i % 3 === 1 ? "resolved" : "not_helpful";
      traffic.push(...outcome(`day${d}-s${i}`, i, today - d * DAY + 1000, "how do i get a refund", "refund", ending));
    }
  }
  // Two quiet days of one invoice question an hour on the invoices page, each shown an article and
  // left without a word (abandoned), then, in the last 20 minutes, 40 customers whose invoice PDF
  // comes out blank: nothing answers them (declined, escalated), a knowledge gap and a spike. One
  // phrasing carries markup, which must stay text.
  const invoices = { bundle: "1", context: { route: "/billing/invoices" } };
  for (let hour = 48; hour >= 1; hour--) {
    const base = { ...invoices, ts: now - hour * 3600000, session: `hourly-${hour}`, query_id: `hourly-${hour}`, query: "how do i download an invoice" };
    traffic.push({ ...base, type: "query", confidence: 0.8 }, { ...base, type: "shown", shown: ["refund"] },
      { ...base, type: "abandoned", shown: ["refund"], ts: base.ts + 60000 });
  }
  // Customers paste what they see; every phrasing carries markup, so whichever the server keeps as
  // examples, the console must show it as text (the <img> would set window.pwned if it ran).
  const blank = ["the <b>invoice</b> pdf export is blank", "invoice pdf export comes out blank <img src=x onerror=window.pwned=1>",
    "exported invoice pdf is empty <i>again</i>", "blank pdf <b>when exporting</b> an invoice", "my invoice pdf export shows <u>nothing</u>"];
  for (let i = 0; i < 40; i++) {
    const base = { ...invoices, ts: now - 1200000 + i * 25000, session: `blank-${i}`, query_id: `blank-${i}`, query: blank[i % blank.length] };
    traffic.push({ ...base, type: "query", confidence: 0.1 }, { ...base, type: "shown", shown: [] },
      { ...base, type: "escalated", ts: base.ts + 1000 });
  }
  traffic.sort((a, b) => a.ts - b.ts);
  await sendSignals(traffic);

  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  // Refused requests are expected (a wrong token, a route the server lacks); other errors are not.
  page.on("console", (m) => {
    if (m.type() === "error" && !/Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  // Any Content-Security-Policy violation is recorded by the page itself.
  await page.addInitScript(() => {
    window.cspViolations = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
  if (data) fs.rmSync(data, { recursive: true, force: true });
});

test("the console is served at /admin/ with a strict policy and no way out of its folder", async () => {
  const redirect = await fetch(`${server.url}/admin`, { redirect: "manual" });
  assert.equal(redirect.status, 301);
  assert.equal(new URL(redirect.headers.get("location"), server.url).pathname, "/admin/");

  const index = await fetch(`${server.url}/admin/`);
  assert.equal(index.status, 200);
  assert.match(index.headers.get("content-type"), /^text\/html/);
  const csp = index.headers.get("content-security-policy");
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
  assert.equal(index.headers.get("x-content-type-options"), "nosniff");
  const html = await index.text();
  assert.doesNotMatch(html, /<script>|<style|style=|https?:\/\//, "no inline code and nothing from elsewhere");

  for (const [file, type] of [["admin.js", /^text\/javascript/], ["admin.css", /^text\/css/], ["icon.svg", /^image\/svg\+xml/]]) {
    const res = await fetch(`${server.url}/admin/${file}`);
    assert.equal(res.status, 200, file);
    assert.match(res.headers.get("content-type"), type, file);
  }
  for (const p of ["/admin/..%2Floopwise.db", "/admin/.hidden", "/admin/%2e%2e", "/admin/x/y", "/admin/missing.js", "/admin/admin.exe"]) {
    const res = await request(`${server.url}${p}`);
    assert.equal(res.status, 404, p);
    assert.equal(typeof res.body.error.message, "string", p);
  }
});

test("signing in with a wrong token or site says so, and markup in the site name stays text", async () => {
  await page.goto(`${server.url}/admin/`);
  const siteInput = page.getByLabel("Site");
  const tokenInput = page.getByLabel("Admin token");
  const alert = page.locator("#signin-error");

  await siteInput.fill("acme");
  await tokenInput.fill("sk_not-the-token");
  await page.getByRole("button", { name: "Sign in" }).click();
  await alert.filter({ hasText: "The admin token is not valid for the site \u201cacme\u201d." }).waitFor();

  await siteInput.fill('<img src=x onerror="window.pwned=1">');
  await tokenInput.fill(site.token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await alert.filter({ hasText: "There is no site" }).waitFor();
  assert.match(await alert.textContent(), /<img src=x onerror="window.pwned=1">/);
  assert.equal(await page.locator("img").count(), 0);
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, "nothing kept after a refused sign-in");
});

test("after signing in, the overview charts the days' rates and questions", async () => {
  await page.getByLabel("Site").fill("acme");
  await page.getByLabel("Admin token").fill(site.token);
  await page.getByRole("button", { name: "Sign in" }).click();
  try {
    await page.getByRole("tab", { name: "Overview", selected: true }).waitFor({ timeout: 10000 });
    await page.getByRole("figure", { name: "Resolution, escalation, gap and abandonment rates by day" }).waitFor();
  } catch (e) {
    throw withProblems(e);
  }
  assert.match(await page.locator(".site-line").textContent(), /acme · review mode · version 1 is current/);
  // The token is kept for the tab only, and sent as a bearer token (never in the URL).
  assert.equal(await page.evaluate(() => localStorage.length), 0);
  assert.match(await page.evaluate(() => sessionStorage.getItem("loopwise-admin")), new RegExp(site.token));
  assert.doesNotMatch(page.url(), new RegExp(site.token));

  // Two charts drawn by the chart library, each with its figures also as a table: one row per
  // UTC day with questions, counted here from the events sent; the rates as the server computed them.
  assert.equal(await page.locator("figure.chart canvas").count() >= 2, true);
  const asked = new Map(); // day -> questions
  for (const e of traffic) {
    const day = new Date(e.ts).toISOString().slice(0, 10);
    if (e.type === "query") asked.set(day, (asked.get(day) ?? 0) + 1);
  }
  const days = [...asked.keys()].sort();
  const questions = page.getByRole("figure", { name: "Questions by day" });
  await questions.getByText("Show the figures as a table").click();
  const rows = questions.locator(".chart-table tbody tr");
  assert.deepEqual(await rows.locator("th").allTextContents(), days);
  assert.deepEqual(await rows.locator("td").allTextContents(), days.map((d) => String(asked.get(d))));

  const analytics = (await request(api("/analytics"), { headers: admin(site.token) })).body;
  const percent = (r) => (r === null ? "\u2014" : `${Math.round(r * 1000) / 10}%`);
  const rates = page.getByRole("figure", { name: "Resolution, escalation, gap and abandonment rates by day" });
  await rates.getByText("Show the figures as a table").click();
  const shown = [];
  for (const row of await rates.locator(".chart-table tbody tr").all()) shown.push(await row.locator("th, td").allTextContents());
  assert.deepEqual(shown, analytics.by_day.map((d) => [d.day, percent(d.resolution_rate), percent(d.escalation_rate),
    percent(d.gap_rate), percent(d.abandonment_rate)]));
  // Every hourly invoice question was left; nothing else was.
  const hourly = traffic.filter((e) => e.type === "query" && e.query_id.startsWith("hourly-"));
  assert.equal(analytics.rates.abandoned, hourly.length);
  for (const d of analytics.by_day) {
    assert.equal(d.abandoned, hourly.filter((e) => new Date(e.ts).toISOString().startsWith(d.day)).length, d.day);
  }
  // The refund questions two days ago: 2 of 6 resolved, 2 of 6 handed to a human, none declined
  // (the hourly invoice question that day was shown an article and left).
  const first = analytics.by_day[0];
  assert.equal(first.resolved, 2);
  assert.equal(first.escalated, 2);
  const summary = page.locator(".facts").first();
  assert.match(await summary.textContent(), new RegExp(`Questions${[...asked.values()].reduce((a, b) => a + b)}`));

  // Where the questions came from: the invoices page has the most.
  const byPage = page.getByRole("table", { name: "The pages with the most questions" });
  assert.deepEqual(await byPage.locator("tbody th").allTextContents(), analytics.by_route.slice(0, 10).map((r) => r.route));
  assert.equal(await byPage.locator("tbody th").first().textContent(), "/billing/invoices");
  const byVersion = page.getByRole("table", { name: "The bundle versions that answered the questions" });
  assert.deepEqual(await byVersion.locator("tbody th").allTextContents(), analytics.by_bundle.map((b) => `v${b.bundle}`));

  fs.mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: path.join(artifacts, "admin.png"), fullPage: true });
});

// Polls the admin API until `found` accepts its answer and two reads a watch period apart agree
// (scores aside, which decay with time), so the page and the test see the same state.
async function eventually(route, found, what) {
  const deadline = Date.now() + 20000;
  let previous = null;
  for (;;) {
    const res = await request(api(route), { headers: admin(site.token) });
    const state = JSON.stringify(res.body, (k, v) => (k === "score" ? undefined : v));
    if (res.status === 200 && found(res.body) && state === previous) return res.body;
    previous = state;
    if (Date.now() > deadline) throw new Error(`${what} never appeared in GET ${route}: ${state.slice(0, 400)}`);
    await new Promise((resolve) => setTimeout(resolve, 600));
  }
}

test("Gaps and Incidents show the blank-invoice questions, their examples as text", async () => {
  const isBlank = (x) => x.examples.some((e) => e.includes("pdf"));
  const gaps = (await eventually("/gaps", (b) => b.gaps.some(isBlank), "the blank-invoice gap")).gaps;
  const gap = gaps.find(isBlank);
  await page.getByRole("tab", { name: "Gaps" }).click();
  const gapsPanel = page.getByRole("tabpanel", { name: "Gaps" });
  const gapCard = gapsPanel.getByRole("article", { name: gap.label, exact: true });
  await gapCard.waitFor();
  assert.equal(await gapsPanel.getByRole("article").count(), gaps.length);
  assert.deepEqual(await gapCard.locator(".examples li").allTextContents(), gap.examples);
  assert.match(await gapCard.textContent(),
    new RegExp(`Questions${gap.queries}Sessions${gap.sessions}Confirmed by agents${gap.confirmed}Score`));
  assert.deepEqual(await gapCard.locator(".pages li").allTextContents(), gap.pages.map((p) => `${p.route} ${p.count}`));
  assert.equal(gap.pages[0].route, "/billing/invoices");
  assert.ok(gap.examples.some((e) => e.includes("<")), "the examples carry markup");
  assert.equal(await gapsPanel.locator(".examples b, .examples i, .examples u, .examples img").count(), 0,
    "customers' markup is shown, not applied");
  await page.screenshot({ path: path.join(artifacts, "admin-gaps.png"), fullPage: true });

  const incidents = (await eventually("/incidents", (b) => b.incidents.some(isBlank), "the spike")).incidents;
  const incident = incidents.find(isBlank);
  assert.equal(incident.status, "open");
  await page.getByRole("tab", { name: "Incidents" }).click();
  const incidentsPanel = page.getByRole("tabpanel", { name: "Incidents" });
  const card = incidentsPanel.getByRole("article", { name: incident.label, exact: true });
  await card.waitFor();
  assert.match(await card.textContent(), new RegExp(`Questions${incident.count} against a usual ${Math.round(incident.baseline * 10) / 10}`));
  assert.match(await card.textContent(), /Page\/billing\/invoices/);
  const open = incidents.filter((i) => i.status === "open").length;
  await incidentsPanel.getByRole("heading", { name: `Open (${open})` }).waitFor();
  assert.deepEqual(await card.locator(".examples li").allTextContents(), incident.examples);
  assert.equal(await incidentsPanel.locator(".examples b, .examples i, .examples u, .examples img").count(), 0);
  assert.equal(await page.evaluate(() => window.pwned), undefined);
});

test("every page passes axe's WCAG 2.1 AA checks (contrast, labels, roles)", async () => {
  const violations = [];
  for (const tab of ["Overview", "Review queue", "Gaps", "Articles", "Incidents", "Versions", "Settings"]) {
    await page.getByRole("tab", { name: tab }).click();
    await page.getByRole("tabpanel", { name: tab }).getByRole("heading", { level: 2 }).waitFor();
    await page.waitForFunction(() => !document.querySelector("[aria-busy=true]"));
    violations.push(...(await accessibilityViolations(tab)));
  }
  assert.deepEqual(violations, []);
});

test("the tabs work by keyboard", async () => {
  const overview = page.getByRole("tab", { name: "Overview" });
  await overview.click();
  await overview.press("ArrowRight");
  await page.getByRole("tab", { name: "Review queue", selected: true }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), "tab-review");
  await page.keyboard.press("End");
  await page.getByRole("tab", { name: "Settings", selected: true }).waitFor();
  await page.keyboard.press("Home");
  await page.getByRole("tab", { name: "Overview", selected: true }).waitFor();
  assert.match(page.url(), /#overview$/);
});

test("on a phone-sized screen the console fits its width", async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    for (const tab of ["Overview", "Articles", "Versions"]) {
      await page.getByRole("tab", { name: tab }).click();
      await page.getByRole("tabpanel", { name: tab }).getByRole("heading", { level: 2 }).waitFor();
      if (tab === "Overview") await page.locator("figure.chart canvas").first().waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${tab} is ${overflow}px wider than the screen`);
      if (tab === "Overview") await page.screenshot({ path: path.join(artifacts, "admin-narrow.png"), fullPage: true });
    }
  } finally {
    await page.setViewportSize({ width: 1280, height: 900 });
  }
});

test("the console's TypeScript type-checks (strict)", () => {
  execFileSync(path.join(repoRoot, "node_modules/.bin/tsc"), ["--noEmit", "-p", path.join(repoRoot, "web/admin")],
    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
});

test("a learned change: explained in the review queue, approved, published, then rolled back", async () => {
  // Distinct customers find that a new phrasing is answered by the 2FA article.
  const now = Date.now();
  const phrase = "my authenticator phone fell in the lake";
  const events = [];
  for (const s of ["lake-a", "lake-b", "lake-c", "lake-d"]) events.push(...outcome(s, 1, now - 60000, phrase, "reset-2fa", "resolved"));
  await sendSignals(events);
  const trained = await post("/train");
  assert.equal(trained.status, 200, `POST .../train: ${JSON.stringify(trained.body)}`);
  const listed = await request(api("/changes"), { headers: admin(site.token) });
  const pending = listed.body.changes.filter((c) => c.status === "pending");
  assert.ok(pending.length > 0, `training in review mode stages changes: ${JSON.stringify(trained.body).slice(0, 300)}`);
  const change = pending.find((c) => c.article === "reset-2fa") ?? pending[0];
  assert.ok(change.summary, "a pending change carries its explanation");
  const before = await currentVersion();

  await page.getByRole("tab", { name: "Review queue" }).click();
  const queue = page.getByRole("tabpanel", { name: "Review queue" });
  const card = queue.getByRole("article", { name: change.summary });
  try {
    await card.waitFor({ timeout: 10000 });
  } catch (e) {
    throw withProblems(e);
  }
  assert.equal(await card.getByRole("heading", { level: 3 }).textContent(), change.summary);
  assert.equal(await page.getByRole("tab", { name: "Review queue" }).locator(".count").textContent(), String(pending.length));
  await page.screenshot({ path: path.join(artifacts, "admin-review.png"), fullPage: true });
  if (pending.length > 1) {
    // "Reject all" asks first; cancelling leaves the queue as it was.
    await queue.getByRole("button", { name: "Reject all" }).click();
    await page.getByRole("dialog", { name: `Reject all ${pending.length} pending changes?` })
      .getByRole("button", { name: "Cancel" }).click();
    await page.getByRole("dialog").waitFor({ state: "detached" });
    const still = (await request(api("/changes"), { headers: admin(site.token) })).body.changes;
    assert.equal(still.filter((c) => c.status === "pending").length, pending.length);
  }

  // While the approve runs (held back here until checked) its button says so, and no other
  // decision can start; then focus lands on the list's heading, not on <body>.
  let release;
  const held = new Promise((resolve) => (release = resolve));
  await page.route("**/changes/*/approve", async (route) => {
    await held;
    await route.continue();
  });
  await card.getByRole("button", { name: "Approve" }).click();
  const approving = card.getByRole("button", { name: "Approving the change\u2026" });
  await approving.waitFor();
  assert.equal(await approving.isDisabled(), true);
  assert.equal(await card.getByRole("button", { name: "Reject" }).isDisabled(), true);
  release();
  await page.getByRole("status").filter({ hasText: "Approved" }).waitFor();
  await page.unroute("**/changes/*/approve");
  await page.waitForFunction(() => document.activeElement.matches(".list-title"));
  const after = await request(api("/changes"), { headers: admin(site.token) });
  const decided = after.body.changes.find((c) => String(c.id) === String(change.id));
  assert.notEqual(decided.status, "pending");
  const published = await currentVersion();
  assert.ok(published > before, `approving published a new version (was ${before}, now ${published})`);
  await page.locator(".site-line").filter({ hasText: `version ${published} is current` }).waitFor();

  await rollBackInConsole(before, published);

  // More lessons to review: customers find the CSV export and project deletion articles answer
  // new phrasings.
  const more = [];
  for (const s of ["csv-a", "csv-b", "csv-c", "csv-d"]) more.push(...outcome(s, 1, Date.now() - 30000, "download my reports as a spreadsheet", "export-data", "resolved"));
  for (const s of ["del-a", "del-b", "del-c", "del-d"]) more.push(...outcome(s, 1, Date.now() - 30000, "how can i get rid of an old project", "delete-project", "resolved"));
  await sendSignals(more);
  assert.equal((await post("/train")).status, 200);

  // What is left is rejected: first one the console still shows as pending although someone else
  // has just decided it (the server's refusal is shown, and Refresh catches up), then the rest,
  // all at once when there are several. The queue ends empty, the tab shows no count, and the
  // published version stays.
  const left = (await request(api("/changes"), { headers: admin(site.token) })).body.changes.filter((c) => c.status === "pending");
  assert.ok(left.length >= 1, "the new lessons are waiting for review");
  await page.getByRole("tab", { name: "Review queue" }).click();
  const stale = queue.getByRole("article", { name: left[0].summary, exact: true });
  await stale.waitFor();
  assert.equal((await post(`/changes/${left[0].id}/reject`)).status, 200);
  await stale.getByRole("button", { name: "Reject" }).click();
  await queue.getByRole("alert").filter({ hasText: "Rejecting the change failed:" }).waitFor();
  assert.match(await queue.getByRole("alert").textContent(), /already rejected/);
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Reject", "focus stays on the button");
  await page.getByRole("button", { name: "Refresh" }).click();
  await queue.getByRole("heading", { name: `Pending (${left.length - 1})` }).waitFor();
  if (left.length > 2) {
    await queue.getByRole("button", { name: "Reject all" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Reject all" }).click();
  } else if (left.length === 2) {
    await queue.getByRole("article", { name: left[1].summary, exact: true }).getByRole("button", { name: "Reject" }).click();
  }
  await queue.getByText("Nothing waits for review.").waitFor();
  const remaining = (await request(api("/changes"), { headers: admin(site.token) })).body.changes;
  assert.equal(remaining.filter((c) => c.status === "pending").length, 0);
  assert.equal(remaining.filter((c) => c.status === "rejected").length, left.length);
  assert.equal(await page.getByRole("tab", { name: "Review queue" }).locator(".count").isVisible(), false);
  assert.equal(await currentVersion(), before);
});

test("Versions lists what is kept and rolls back after a confirmation", async () => {
  // Another publish makes a newer version to come back from.
  const published = await post("/publish");
  assert.equal(published.status, 200, JSON.stringify(published.body));
  const newest = published.body.version;
  const versions = await request(api("/versions"), { headers: admin(site.token) });
  const target = versions.status === 200
    ? versions.body.versions.filter((v) => v.version < newest).map((v) => v.version).sort((a, b) => b - a)[0]
    : newest - 1;
  await rollBackInConsole(target, newest);
  await page.screenshot({ path: path.join(artifacts, "admin-versions.png"), fullPage: true });
  if (versions.status !== 200) return;

  // And forward again: the newer version is offered as "make current", not as a rollback.
  const panel = page.getByRole("tabpanel", { name: "Versions" });
  await panel.getByRole("button", { name: `Make v${newest} current` }).click();
  await page.getByRole("dialog", { name: `Make version ${newest} current again?` })
    .getByRole("button", { name: "Make current" }).click();
  await page.getByRole("status").filter({ hasText: `Restored: version ${newest} is current` }).waitFor();
  assert.equal(await currentVersion(), newest);
  await panel.locator("tr.current th").filter({ hasText: `v${newest}` }).waitFor();

  // Below them, the learning runs as the server recorded them, newest first: the review test's
  // two runs, each staged.
  const runs = (await request(api("/runs"), { headers: admin(site.token) })).body.runs;
  assert.ok(runs.filter((r) => r.outcome === "staged").length >= 2, JSON.stringify(runs).slice(0, 500));
  const table = panel.getByRole("table", { name: "Learning runs, newest first" });
  await table.waitFor();
  const rows = await table.locator("tbody tr")
    .evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((cell) => cell.textContent)));
  assert.equal(rows.length, runs.length);
  const count = (n, word) => `${n.toLocaleString("en-US")} ${word}${n === 1 ? "" : "s"}`;
  runs.forEach((run, i) => {
    assert.equal(rows[i][0], `${new Date(run.at).toISOString().slice(0, 16).replace("T", " ")} UTC`);
    assert.ok(rows[i][1].startsWith(count(run.signals, "signal")), rows[i][1]);
    if (run.replay.compared) assert.ok(rows[i][3].endsWith(`on ${count(run.replay.questions, "question")}`), rows[i][3]);
    else if (run.replay.questions) assert.equal(rows[i][3], run.replay.note);
    if (run.outcome === "staged") assert.equal(rows[i][4], `${count(run.changes.length, "change")} staged for review.`);
  });
});

test("Learn now stages a lesson; a published change is reverted from the review queue after a confirmation", async () => {
  const events = [];
  for (const s of ["acct-a", "acct-b", "acct-c"]) {
    events.push(...outcome(s, 1, Date.now() - 20000, "my invoices should go to my accountant", "export-data", "resolved"));
  }
  await sendSignals(events);
  // Learned at once from the Versions page, staged for review: the new run heads the table and
  // the review queue's tab counts the change.
  await page.getByRole("tab", { name: "Versions" }).click();
  const versions = page.getByRole("tabpanel", { name: "Versions" });
  await versions.getByRole("button", { name: "Learn now" }).click();
  await page.getByRole("status").filter({ hasText: "Learning run finished. 1 change staged for review." }).waitFor();
  const [run] = (await request(api("/runs"), { headers: admin(site.token) })).body.runs;
  assert.deepEqual([run.outcome, run.signals], ["staged", events.length], JSON.stringify(run));
  await versions.getByRole("table", { name: "Learning runs, newest first" }).locator("tbody tr").first()
    .filter({ hasText: "1 change staged for review." }).waitFor();
  assert.equal(await page.getByRole("tab", { name: "Review queue" }).locator(".count").textContent(), "1");
  const approved = await post("/changes/all/approve");
  assert.equal(approved.status, 200, JSON.stringify(approved.body));
  const change = approved.body.changes.find((c) => c.article === "export-data");
  assert.ok(change, `the lesson was learned and approved: ${JSON.stringify(run).slice(0, 300)}`);

  await page.getByRole("tab", { name: "Review queue" }).click();
  await page.getByRole("button", { name: "Refresh" }).click();
  const queue = page.getByRole("tabpanel", { name: "Review queue" });
  await queue.locator("details.decided summary").click();
  const card = queue.getByRole("article", { name: change.summary, exact: true });
  await card.getByRole("button", { name: "Revert" }).click();
  const dialog = page.getByRole("dialog", { name: `Revert change #${change.id}?` });
  await dialog.getByRole("button", { name: "Revert" }).click();
  await page.getByRole("status").filter({ hasText: "Reverted" }).waitFor();
  const after = (await request(api("/changes"), { headers: admin(site.token) })).body.changes;
  assert.equal(after.find((c) => c.id === change.id).status, "rejected");
  assert.equal(await currentVersion(), approved.body.version + 1, "a version without it is current");
  // Decided again, it offers no revert.
  await queue.locator("details.decided summary").click();
  assert.equal(await queue.getByRole("article", { name: change.summary, exact: true })
    .getByRole("button", { name: "Revert" }).count(), 0);
});

test("Settings: the script tag, review or autonomous, allowed origins, pins and blocks, incident webhooks", async () => {
  // A receiver on this machine, so any alert the server sends lands somewhere real.
  const hookServer = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(200).end("ok"));
  });
  await new Promise((resolve) => hookServer.listen(0, "127.0.0.1", resolve));
  const hookUrl = `http://127.0.0.1:${hookServer.address().port}/incident`;
  const siteNow = async () => (await request(api(""), { headers: admin(site.token) })).body;
  const status = (text) => page.getByRole("status").filter({ hasText: text }).waitFor();
  try {
    await page.getByRole("tab", { name: "Settings" }).click();
    const panel = page.getByRole("tabpanel", { name: "Settings" });
    const snippet = panel.locator(".snippet");
    await snippet.waitFor();
    assert.equal(await snippet.textContent(),
      `<script src="${server.url}/widget/loopwise.js" data-site="acme" data-key="${site.key}" async></script>`);

    const learning = panel.getByRole("form", { name: "Learning" });
    assert.equal(await learning.getByLabel("Review", { exact: true }).isChecked(), true);
    await learning.getByLabel("Autonomous", { exact: true }).check();
    await learning.getByRole("button", { name: "Save" }).click();
    await status("The site is in autonomous mode.");
    assert.equal((await siteNow()).mode, "autonomous");
    await page.locator(".site-line").filter({ hasText: "acme · autonomous mode" }).waitFor();
    await learning.getByLabel("Review", { exact: true }).check();
    await learning.getByRole("button", { name: "Save" }).click();
    await status("The site is in review mode.");
    assert.equal((await siteNow()).mode, "review");

    // Verified customers: turned on, the secret appears; a new one on request; off again.
    const identity = panel.getByRole("form", { name: "Verified customers" });
    assert.equal(await identity.getByLabel("Every session", { exact: true }).isChecked(), true);
    await identity.getByLabel("Signed-in customers only", { exact: true }).check();
    await identity.getByRole("button", { name: "Save" }).click();
    await status("Verified customers are required.");
    const secret = (await siteNow()).identity_secret;
    assert.match(secret, /^id_[0-9a-f]{64}$/);
    assert.equal(await identity.locator(".identity-secret").textContent(), secret);
    await identity.getByLabel(/^Make a new secret/).check();
    await identity.getByRole("button", { name: "Save" }).click();
    // The status reads as after the last save: the secret on screen changing says this one is done.
    await identity.locator(".identity-secret").filter({ hasNotText: secret }).waitFor();
    const renewed = await siteNow();
    assert.notEqual(renewed.identity_secret, secret);
    assert.equal(await identity.locator(".identity-secret").textContent(), renewed.identity_secret);
    await identity.getByLabel("Every session", { exact: true }).check();
    await identity.getByRole("button", { name: "Save" }).click();
    await status("Every session counts as a customer.");
    assert.equal((await siteNow()).identity, "off");

    const origins = panel.getByRole("form", { name: "Allowed origins" });
    const originsBox = origins.getByLabel("Origins, one a line");
    assert.equal(await originsBox.inputValue(), "https://app.example.com");
    await originsBox.fill("https://app.example.com\nhttps://beta.example.com/");
    await origins.getByRole("button", { name: "Save" }).click();
    await status("Saved 2 allowed origins.");
    assert.deepEqual((await siteNow()).origins, ["https://app.example.com", "https://beta.example.com"]);
    await originsBox.fill("not an origin");
    await origins.getByRole("button", { name: "Save" }).click();
    await origins.getByRole("alert").filter({ hasText: "Saving allowed origins failed:" }).waitFor();
    assert.equal((await siteNow()).origins.length, 2, "a refused list changes nothing");
    // An empty list turns the widget off on every page: the console asks first.
    await originsBox.fill("");
    await origins.getByRole("button", { name: "Save" }).click();
    const emptied = page.getByRole("dialog", { name: "Save with no allowed origins?" });
    assert.match(await emptied.textContent(), /The widget will answer on no page/);
    await emptied.getByRole("button", { name: "Cancel" }).click();
    assert.equal((await siteNow()).origins.length, 2, "cancelled: nothing saved");
    await origins.getByRole("button", { name: "Save" }).click();
    await emptied.getByRole("button", { name: "Save and turn the widget off" }).click();
    await status("No allowed origins: the widget answers on no page.");
    assert.deepEqual((await siteNow()).origins, []);

    // Pins and blocks: added, refused with the server's reason, removed.
    const rulesForm = panel.getByRole("form", { name: "Pins and blocks" });
    const rulesNow = async () => (await request(api("/rules"), { headers: admin(site.token) })).body.rules
      .map((r) => [r.kind, r.pattern, r.article]);
    assert.equal(await rulesForm.getByText("No pins or blocks yet.").isVisible(), true);
    await rulesForm.getByLabel("Questions containing", { exact: true }).fill("lost phone");
    await rulesForm.getByLabel("Article", { exact: true }).selectOption("reset-2fa");
    await rulesForm.getByRole("button", { name: "Add the rule" }).click();
    await status("Added: Pin: questions containing \u201clost phone\u201d get");
    assert.deepEqual(await rulesNow(), [["pin", "lost phone", "reset-2fa"]]);
    assert.equal(await rulesForm.getByText("No pins or blocks yet.").isVisible(), false);
    await rulesForm.getByRole("button", { name: "Add the rule" }).click(); // the phrase is empty now
    await rulesForm.getByRole("alert").filter({ hasText: "Adding the rule failed: A pin's \"pattern\" must be" }).waitFor();
    await rulesForm.getByLabel("Rule", { exact: true }).selectOption("block");
    assert.equal(await rulesForm.getByLabel("Questions containing", { exact: true }).isVisible(), false, "a block has no phrase");
    await rulesForm.getByLabel("Article", { exact: true }).selectOption("refund");
    await rulesForm.getByRole("button", { name: "Add the rule" }).click();
    await status("Added: Block: nothing is learned for");
    assert.deepEqual(await rulesNow(), [["pin", "lost phone", "reset-2fa"], ["block", "", "refund"]]);
    await rulesForm.getByRole("button", { name: /^Remove the rule .Pin/ }).click();
    await status("Removed: Pin");
    await rulesForm.getByRole("button", { name: /^Remove the rule .Block/ }).click();
    await status("Removed: Block");
    assert.deepEqual(await rulesNow(), []);
    assert.equal(await rulesForm.locator(".rules li").count(), 0);
    assert.equal(await rulesForm.getByText("No pins or blocks yet.").isVisible(), true);

    const alerts = panel.getByRole("form", { name: "Incident alerts" });
    await alerts.getByRole("button", { name: "Add a webhook" }).click();
    await alerts.getByLabel("Webhook URL").fill("ftp://files.example.com/x");
    await alerts.getByRole("button", { name: "Save" }).click();
    await alerts.getByRole("alert").filter({ hasText: "webhooks[0].url" }).waitFor();
    await alerts.getByLabel("Webhook URL").fill(hookUrl);
    await alerts.getByLabel("Format").selectOption("slack");
    await alerts.getByRole("button", { name: "Save" }).click();
    await status("Saved 1 webhook.");
    const hooks = (await request(api("/webhooks"), { headers: admin(site.token) })).body.webhooks;
    assert.deepEqual(hooks.map((w) => [w.url, w.format]), [[hookUrl, "slack"]]);
    assert.equal(await alerts.getByRole("alert").count(), 0, "the earlier error is gone");
    assert.deepEqual(await accessibilityViolations("settings"), []);

    await alerts.getByRole("button", { name: "Remove" }).click();
    await alerts.getByRole("button", { name: "Save" }).click();
    await status("No webhooks: incidents are not sent anywhere.");
    assert.deepEqual((await request(api("/webhooks"), { headers: admin(site.token) })).body.webhooks, []);
    await page.screenshot({ path: path.join(artifacts, "admin-settings.png"), fullPage: true });
  } finally {
    hookServer.close();
  }
});

// On the Versions page (or, on a server without GET .../versions, its fallback): cancelling the
// confirmation changes nothing; confirming makes `target` current in the server and in the page.
async function rollBackInConsole(target, from) {
  await page.getByRole("tab", { name: "Versions" }).click();
  const panel = page.getByRole("tabpanel", { name: "Versions" });
  await panel.getByRole("heading", { name: "Versions" }).waitFor();
  // The header is read again with the page, so a publish made elsewhere shows too.
  await page.locator(".site-line").filter({ hasText: `version ${from} is current` }).waitFor();
  const listed = await request(api("/versions"), { headers: admin(site.token) });
  let button;
  if (listed.status === 200) {
    const table = panel.getByRole("table", { name: "Published versions, newest first" });
    await table.waitFor();
    const current = table.locator("tr.current th");
    assert.equal(await current.textContent(), `v${from}`);
    button = table.getByRole("button", { name: `Roll back to v${target}` });
  } else {
    assert.equal(target, from - 1, "without the versions list only the previous version is offered");
    await panel.getByText(`Version ${from} is current.`).waitFor();
    button = panel.getByRole("button", { name: "Roll back to the previous version" });
  }

  await button.click();
  const dialog = page.getByRole("dialog");
  await dialog.waitFor();
  assert.match(await dialog.textContent(), /Roll back to/);
  assert.deepEqual(await accessibilityViolations("the rollback dialog"), []);
  await page.screenshot({ path: path.join(artifacts, "admin-rollback.png") });
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await dialog.waitFor({ state: "detached" });
  assert.equal(await currentVersion(), from, "cancel changes nothing");
  assert.equal(await page.evaluate(() => document.activeElement.textContent), await button.textContent(),
    "focus returns to the button that opened the dialog");

  await button.click();
  await page.getByRole("dialog").getByRole("button", { name: "Roll back" }).click();
  await page.getByRole("status").filter({ hasText: `version ${target} is current` }).waitFor();
  await page.waitForFunction(() => document.activeElement.matches("h2") && document.activeElement.textContent === "Versions");
  assert.equal(await currentVersion(), target);
  await page.locator(".site-line").filter({ hasText: `version ${target} is current` }).waitFor();
  if (listed.status === 200) {
    await panel.locator("tr.current th").filter({ hasText: `v${target}` }).waitFor();
  }
}

test("a gap leads to a new article: written with the gap's pages, published, edited, deleted", async () => {
  const articles = async () => (await request(api("/articles"), { headers: admin(site.token) })).body;
  const gap = (await eventually("/gaps", (b) => b.gaps.some((g) => g.status === "open" && g.examples.some((e) => e.includes("pdf"))),
    "the blank-invoice gap")).gaps.find((g) => g.examples.some((e) => e.includes("pdf")));
  await page.getByRole("tab", { name: "Gaps" }).click();
  await page.getByRole("tabpanel", { name: "Gaps" }).getByRole("article", { name: gap.label, exact: true })
    .getByRole("button", { name: "Write an article" }).click();

  const panel = page.getByRole("tabpanel", { name: "Articles" });
  await page.getByRole("tab", { name: "Articles", selected: true }).waitFor();
  const editor = panel.getByRole("form", { name: "New article" });
  await editor.waitFor();
  assert.equal(await editor.getByRole("textbox", { name: "Pages" }).inputValue(),
    gap.pages.map((p) => p.route).slice(0, 5).join("\n"));
  assert.deepEqual(await editor.locator(".examples li").allTextContents(), gap.examples);
  const title = "Invoice PDFs come out blank";
  await editor.getByRole("textbox", { name: "Title" }).fill(title);
  assert.equal(await editor.getByRole("textbox", { name: "Id" }).inputValue(), "invoice-pdfs-come-out-blank");
  // The preview is the widget's own rendering: Markdown formats, markup stays text.
  await editor.getByRole("textbox", { name: "Body" }).fill("<img src=x onerror=window.pwned=1> **bold**");
  const preview = editor.getByRole("region", { name: "Preview" });
  await preview.locator("strong", { hasText: "bold" }).waitFor();
  assert.match(await preview.textContent(), /<img src=x onerror=window\.pwned=1>/);
  assert.equal(await preview.locator("img").count(), 0);
  await editor.getByRole("textbox", { name: "Body" }).fill("Turn off **Compact layout** in Billing settings, then export again.");
  await preview.locator("strong", { hasText: "Compact layout" }).waitFor();
  assert.match(await preview.locator(".preview-title").textContent(), /^Invoice PDFs come out blank$/);
  assert.deepEqual(await accessibilityViolations("the article editor"), []);
  await editor.getByRole("textbox", { name: "Tags" }).fill("billing, invoices, billing");
  await editor.getByRole("button", { name: "Save" }).click();
  await page.getByRole("status").filter({ hasText: `Saved \u201c${title}\u201d. Publish to show it to customers.` }).waitFor();
  const row = panel.getByRole("row", { name: new RegExp(title) });
  assert.equal(await row.locator(".badge").textContent(), "new");
  await panel.getByText("1 change not published yet.").waitFor();
  let listed = await articles();
  assert.deepEqual(listed.articles.find((a) => a.id === "invoice-pdfs-come-out-blank"), {
    id: "invoice-pdfs-come-out-blank", title, body: "Turn off **Compact layout** in Billing settings, then export again.",
    tags: ["billing", "invoices"], pages: gap.pages.map((p) => p.route).slice(0, 5), state: "new",
  });
  assert.equal(listed.articles.filter((a) => a.state !== "published").length, 1);

  // Found by what it is about, and published: customers' widgets now answer with it.
  await panel.getByRole("searchbox", { name: "Find an article" }).fill("invoices");
  assert.equal(await panel.locator("tbody tr:not([hidden])").count(),
    listed.articles.filter((a) => [a.title, a.id, ...a.tags, ...a.pages].join(" ").toLowerCase().includes("invoices")).length);
  const before = await currentVersion();
  await panel.getByRole("button", { name: "Publish" }).click();
  await page.getByRole("status").filter({ hasText: `Published version ${before + 1} with ${listed.articles.length} articles` }).waitFor();
  assert.equal(await currentVersion(), before + 1);
  await panel.getByText("Customers see every article as it is here.").waitFor();
  assert.equal(await row.locator(".badge").textContent(), "published");
  listed = await articles();
  assert.ok(listed.articles.every((a) => a.state === "published"), JSON.stringify(listed.articles.map((a) => a.state)));

  // Edited, then deleted: each waits for the next publish, and says so.
  await row.getByRole("button", { name: `Edit \u201c${title}\u201d` }).click();
  const edit = panel.getByRole("form", { name: `Edit \u201c${title}\u201d` });
  assert.equal(await edit.getByRole("textbox", { name: "Id" }).getAttribute("readonly"), "");
  await edit.getByRole("textbox", { name: "Body" }).fill("Export the invoice again from the invoice's own page.");
  await edit.getByRole("button", { name: "Save" }).click();
  await page.getByRole("status").filter({ hasText: "Saved" }).waitFor();
  assert.equal(await row.locator(".badge").textContent(), "edited");
  await row.getByRole("button", { name: `Delete \u201c${title}\u201d` }).click();
  await page.getByRole("dialog", { name: `Delete \u201c${title}\u201d?` }).getByRole("button", { name: "Delete" }).click();
  await page.getByRole("status").filter({ hasText: `Deleted \u201c${title}\u201d. Publish to take it out of the widgets.` }).waitFor();
  await panel.getByText("Deleted, still shown until you publish: invoice-pdfs-come-out-blank").waitFor();
  assert.equal(await row.count(), 0);
  assert.deepEqual((await articles()).removed, ["invoice-pdfs-come-out-blank"]);
  await panel.getByRole("button", { name: "Publish" }).click();
  await page.getByRole("status").filter({ hasText: `Published version ${before + 2}` }).waitFor();
  assert.deepEqual((await articles()).removed, []);

  // A new article needs a title and an id of its own.
  await panel.getByRole("button", { name: "New article" }).click();
  const blank = panel.getByRole("form", { name: "New article" });
  await blank.getByRole("button", { name: "Save" }).click();
  await blank.getByRole("alert").filter({ hasText: "Give the article a title." }).waitFor();
  await blank.getByRole("textbox", { name: "Title" }).fill("Refunds");
  await blank.getByRole("textbox", { name: "Id" }).fill("refund");
  await blank.getByRole("button", { name: "Save" }).click();
  await blank.getByRole("alert").filter({ hasText: "An article with the id \u201crefund\u201d exists" }).waitFor();
  await blank.getByRole("button", { name: "Cancel" }).click();
  assert.equal(await blank.count(), 0);
  assert.equal((await articles()).articles.find((a) => a.id === "refund").title, "Ask for a refund");
  await page.screenshot({ path: path.join(artifacts, "admin-articles.png"), fullPage: true });
});

test("a gap marked out of scope after a confirmation: its questions become the agents' word", async () => {
  const isBlank = (g) => g.status === "open" && g.examples.some((e) => e.includes("pdf"));
  const gap = (await eventually("/gaps", (b) => b.gaps.some(isBlank), "the blank-invoice gap")).gaps.find(isBlank);
  await page.getByRole("tab", { name: "Gaps" }).click();
  const card = page.getByRole("tabpanel", { name: "Gaps" }).getByRole("article", { name: gap.label, exact: true });
  const dialog = page.getByRole("dialog", { name: "Mark these questions out of scope?" });
  await card.getByRole("button", { name: "Out of scope" }).click();
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await dialog.waitFor({ state: "detached" });
  await card.getByRole("button", { name: "Out of scope" }).click();
  await dialog.getByRole("button", { name: "Mark out of scope" }).click();
  // Learned from at once: the status says so after the count.
  const said = await page.getByRole("status")
    .filter({ hasText: "questions marked out of scope. Learning run finished." }).textContent();
  const marked = Number(said.match(/(\d+) questions marked/)[1]);
  assert.ok(marked > 0 && marked <= gap.queries - gap.confirmed, `${marked} of ${gap.queries - gap.confirmed}`);
  const after = await eventually("/gaps", (b) => b.gaps.some((g) => g.id === gap.id && g.confirmed === gap.confirmed + marked),
    "the confirmed questions");
  const now = after.gaps.find((g) => g.id === gap.id);
  await page.getByRole("tab", { name: "Incidents" }).click();
  await page.getByRole("tab", { name: "Gaps" }).click();
  await card.waitFor();
  assert.match(await card.textContent(), new RegExp(`Confirmed by agents${now.confirmed}Score`));
});

test("articles and tickets imported from files; a refused file is named with its line", async () => {
  const panel = page.getByRole("tabpanel", { name: "Articles" });
  await page.getByRole("tab", { name: "Articles" }).click();
  // Each article's counts are the analytics' own.
  const refund = (await request(api("/analytics"), { headers: admin(site.token) })).body.by_article.find((r) => r.article === "refund");
  const percent = refund.resolution_rate * 100;
  const refundRow = panel.getByRole("row", { name: /Ask for a refund/ });
  await refundRow.waitFor();
  const cells = await refundRow.locator("td").allTextContents();
  assert.deepEqual(cells.slice(1, 4), [String(refund.shown),
    `${refund.resolved} (${percent > 0 && percent < 10 ? percent.toFixed(1) : Math.round(percent)}%)`, String(refund.not_helpful)]);
  assert.ok(refund.shown > 0 && refund.not_helpful > 0, JSON.stringify(refund));
  const choose = async (button, files) => {
    const [chooser] = await Promise.all([page.waitForEvent("filechooser"), panel.getByRole("button", { name: button }).click()]);
    await chooser.setFiles(files.map(([name, text]) => ({ name, mimeType: "application/octet-stream", buffer: Buffer.from(text) })));
  };
  await choose("Import articles\u2026", [
    ["late-fees.md", "# Late fees\n\nA payment more than 14 days late adds a 2% fee to the next invoice.\n"],
    ["tax.jsonl", '{"id": "vat", "title": "VAT on your invoices", "pages": ["/billing"]}\n'],
  ]);
  await page.getByRole("status").filter({ hasText: "Imported 2 articles. Publish to show them to customers." }).waitFor();
  for (const title of ["Late fees", "VAT on your invoices"]) {
    assert.equal(await panel.getByRole("row", { name: new RegExp(title) }).locator(".badge").textContent(), "new");
  }
  const listed = (await request(api("/articles"), { headers: admin(site.token) })).body.articles;
  assert.deepEqual(listed.filter((a) => a.state === "new").map((a) => a.id).sort(), ["late-fees", "vat"]);

  // What an article answers: its history tickets and the changes learned for it.
  const detail = (await request(api("/articles/reset-2fa"), { headers: admin(site.token) })).body;
  assert.ok(detail.tickets > 0 && detail.changes.length > 0, JSON.stringify(detail).slice(0, 300));
  await panel.getByRole("button", { name: "Questions \u201cReset two-factor authentication\u201d" }).click();
  const answers = panel.getByRole("region", { name: "What \u201cReset two-factor authentication\u201d answers" });
  await answers.waitFor();
  assert.deepEqual(await answers.locator("ul.tickets li").allTextContents(), detail.ticket_examples);
  assert.match(await answers.textContent(), new RegExp(`${detail.tickets} tickets? in the history`));
  const learned = await answers.locator("ul.learned li").allTextContents();
  assert.equal(learned.length, detail.changes.length);
  detail.changes.forEach((c, i) => assert.ok(learned[i].includes(c.summary), `${learned[i]} / ${c.summary}`));
  assert.deepEqual(await accessibilityViolations("an article's questions"), []);
  await answers.getByRole("button", { name: "Close" }).click();
  assert.equal(await answers.count(), 0);

  // Download gives the knowledge base back in the import format.
  const [download] = await Promise.all([page.waitForEvent("download"), panel.getByRole("button", { name: "Download" }).click()]);
  assert.equal(download.suggestedFilename(), "acme-articles.jsonl");
  const saved = fs.readFileSync(await download.path(), "utf8").trimEnd().split("\n").map((line) => JSON.parse(line));
  assert.deepEqual(saved.sort((x, y) => x.id.localeCompare(y.id)),
    listed.map(({ state, ...a }) => a).sort((x, y) => x.id.localeCompare(y.id)));

  // The whole file is refused, with the server's reason: file and line.
  await choose("Import tickets\u2026", [["tickets.csv", "text,article\nis vat on my invoice,vat\nwhat about fees,no-such\n"]]);
  await panel.getByRole("alert").filter({ hasText: 'Importing failed: tickets.csv:3: unknown article "no-such"' }).waitFor();
  await choose("Import tickets\u2026", [["tickets.csv", "text,article\nis vat on my invoice,vat\n"]]);
  await page.getByRole("status").filter({ hasText: "Imported 1 ticket. Publish to learn from them." }).waitFor();
  for (const id of ["late-fees", "vat"]) {
    assert.equal((await request(api(`/articles/${id}`), { method: "DELETE", headers: admin(site.token) })).status, 200);
  }
});

test("the console loaded nothing its Content-Security-Policy refused, and threw nothing", async () => {
  assert.deepEqual(await page.evaluate(() => window.cspViolations), []);
  assert.deepEqual(problems, []);
});

test("a site with nothing yet: every page says so plainly", async () => {
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.locator("#signin-error").filter({ hasText: "Signed out." }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  await page.getByLabel("Site").fill("quiet");
  await page.getByLabel("Admin token").fill(quiet.token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator(".site-line").filter({ hasText: "quiet · review mode · nothing published yet" }).waitFor();
  for (const [tab, text] of [["Overview", "No signals yet."], ["Review queue", "Nothing waits for review."],
    ["Gaps", "No knowledge gaps found."], ["Articles", "No articles yet."], ["Incidents", "No incidents."], ["Versions", "Nothing published yet."]]) {
    await page.getByRole("tab", { name: tab }).click();
    await page.getByRole("tabpanel", { name: tab }).getByText(text).waitFor();
  }
});

test("a site's first day: the charts show its one day in the middle, not pinned to an edge", async () => {
  const base = { ts: Date.now(), session: "first", query_id: "first-q", query: "how do i get a refund", bundle: "1", context: { route: "/" } };
  const sent = await request(`${server.url}/v1/sites/quiet/signals`,
    signalsRequest(quiet.key, { batch_id: batchId(), events: [{ ...base, type: "query", confidence: 0.2 }] }));
  assert.equal(sent.status, 202, JSON.stringify(sent.body));
  await page.getByRole("tab", { name: "Overview" }).click();
  for (const name of ["Resolution, escalation, gap and abandonment rates by day", "Questions by day"]) {
    const figure = page.getByRole("figure", { name });
    await figure.locator("canvas").waitFor();
    // The horizontal middle of what the chart drew in colour (its points or its bar) and of the
    // plotting area uPlot lays over the canvas, in CSS pixels from the canvas's left edge.
    const { drawn, area } = await figure.evaluate((f) => {
      const canvas = f.querySelector("canvas");
      const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
      let left = Infinity;
      let right = -Infinity;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] > 128 && Math.max(data[i], data[i + 1], data[i + 2]) - Math.min(data[i], data[i + 1], data[i + 2]) > 60) {
          const x = (i / 4) % canvas.width;
          left = Math.min(left, x);
          right = Math.max(right, x);
        }
      }
      const c = canvas.getBoundingClientRect();
      const o = f.querySelector(".u-over").getBoundingClientRect();
      return { drawn: ((left + right) / 2) * (c.width / canvas.width), area: o.left - c.left + o.width / 2 };
    });
    assert.ok(Math.abs(drawn - area) <= 3, `${name}: drawn around x=${drawn}, the plot's middle is x=${area}`);
  }
  await page.screenshot({ path: path.join(artifacts, "admin-first-day.png") });
});

test("a refused token on a later call signs out with a clear message", async () => {
  await page.evaluate(() => {
    const c = JSON.parse(sessionStorage.getItem("loopwise-admin"));
    sessionStorage.setItem("loopwise-admin", JSON.stringify({ ...c, token: "sk_revoked" }));
  });
  await page.reload();
  await page.locator("#signin-error").filter({ hasText: "not valid for the site \u201cquiet\u201d" }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem("loopwise-admin")), null);
  assert.deepEqual(await accessibilityViolations("sign-in"), []);

  // A link can name the site; the token is then the only thing to type.
  await page.goto(`${server.url}/admin/?site=acme`);
  assert.equal(await page.getByLabel("Site").inputValue(), "acme");
  assert.equal(await page.evaluate(() => document.activeElement.id), "signin-token");
});
