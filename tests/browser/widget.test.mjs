// The widget in a real browser (Debian's Chromium, headless): a host page on its own origin embeds
// the script tag; the launcher opens the panel, which loads the engine and the site's verified
// bundle from a real sync server and answers a question.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import zlib from "node:zlib";
import { createSite, importFixtures, repoRoot, startServer, tempDir } from "../server/server.mjs";
import { launchChromium } from "./demo-site.mjs";

const artifacts = path.join(repoRoot, "build/test-artifacts");
let data, server, page, browser, site, hostUrl;
const consoleLines = [];

// The customer's product: one page with the script tag, on an origin of its own. The stub and its
// queued calls come before the tag, as a host page would write them.
// `css` is the host page's own stylesheet (the aggressive-CSS test).
function hostPage(serverUrl, key, css = "") {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme settings</title>${css ? `<style>${css}</style>` : ""}
<script>window.globalsBefore = Object.getOwnPropertyNames(window);
window.Loopwise = window.Loopwise || { q: [] };
Loopwise.q.push(["setContext", { plan: "pro" }]);
Loopwise.q.push(["on", "escalate", function (d) { window.escalated = d; }]);</script>
<script src="${serverUrl}/widget/loopwise.js" data-site="acme" data-key="${key}" async></script>
</head><body><h1>Account settings</h1><p>The host page's own content.</p></body></html>`;
}

let hostServer;

// A page that themes the widget from its script tag, and throws an error before anyone asks.
function themedPage(serverUrl, key) {
  const strings = JSON.stringify({ ask: "Fragen", question: "Ihre Frage", nonsense: 5 }).replaceAll('"', "&quot;");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme billing</title>
<script src="${serverUrl}/widget/loopwise.js" data-site="acme" data-key="${key}" data-loopwise-color="#ffd400"
  data-loopwise-position="left" data-loopwise-title="Acme help" data-loopwise-greeting="Hi! Ask us anything."
  data-loopwise-strings="${strings}" async></script>
<script>setTimeout(() => { throw new Error("the host page's own bug"); }, 0);</script>
</head><body><h1>Billing</h1><h2>Invoices</h2></body></html>`;
}

// What a careless or hostile host stylesheet does to everything it can reach.
const AGGRESSIVE_CSS = `* { all: unset !important; }
html { font-size: 48px !important; } body { font: italic 40px/3 "Comic Sans MS", cursive !important;
  color: red !important; background: yellow !important; letter-spacing: 4px !important; }
div, button, input, p, h2, h3, article, header, form, mark { display: block !important; position: static !important;
  padding: 30px !important; margin: 17px !important; border: 5px dashed lime !important; width: 900px !important;
  font-size: 60px !important; color: purple !important; background: black !important; }
[data-loopwise] { display: none !important; } :host { display: none !important; }`;

before(async () => {
  assert.ok(fs.existsSync(path.join(repoRoot, "web/dist/loopwise.js")), "run scripts/build-web first");
  data = tempDir("loopwise-browser-");
  // The host page's origin is the site's allowed origin, so its server starts first.
  hostServer = http.createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    if (req.url.startsWith("/themed")) return res.end(themedPage(server.url, site.key));
    res.end(hostPage(server.url, site.key, req.url.startsWith("/aggressive") ? AGGRESSIVE_CSS : ""));
  });
  await new Promise((resolve) => hostServer.listen(0, "127.0.0.1", resolve));
  hostUrl = `http://127.0.0.1:${hostServer.address().port}`;
  site = createSite(data, "acme", hostUrl);
  importFixtures(data, "acme");
  server = await startServer(data);

  browser = await launchChromium();
  page = await browser.newPage();
  page.on("console", (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => consoleLines.push(`pageerror: ${e.message}`));
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
  if (hostServer) hostServer.close();
  if (data) fs.rmSync(data, { recursive: true, force: true });
});

test("the launcher opens the panel, which answers from the verified bundle", async () => {
  await page.goto(`${hostUrl}/settings/security`);
  // Only window.Loopwise is added to the page; the stub's queue has been replayed.
  await page.waitForFunction(() => window.Loopwise && window.Loopwise.loaded === true);
  assert.equal(await page.evaluate(() => typeof window.createLoopwiseEngine), "undefined");

  const launcher = page.getByRole("button", { name: "Help" });
  await launcher.click();
  const dialog = page.getByRole("dialog", { name: "Help" });
  await dialog.waitFor();
  const input = dialog.getByRole("textbox", { name: "Your question" });
  assert.equal(await input.evaluate((el) => el.getRootNode().activeElement === el), true,
    "focus moves into the panel");

  await input.fill("I forgot my password and can't log in");
  await input.press("Enter");
  try {
    await dialog.getByRole("heading", { name: "Reset your password" }).waitFor({ timeout: 15000 });
  } catch (e) {
    throw new Error(`${e.message}\nbrowser console:\n${consoleLines.join("\n")}`);
  }
  assert.equal(await dialog.getByRole("heading", { level: 3 }).first().textContent(), "Reset your password");
  await dialog.getByText("Did this solve it?").waitFor();
  // Open an article too (DOMPurify's chunk), then look for anything new on window.
  await dialog.getByRole("button", { name: "Open the article: Reset your password" }).click();
  await dialog.locator(".article-body p").first().waitFor();
  const added = await page.evaluate(() => Object.getOwnPropertyNames(window)
    .filter((n) => !window.globalsBefore.includes(n) && !["Loopwise", "globalsBefore", "escalated"].includes(n)));
  assert.deepEqual(added, [], "the widget defines nothing global but window.Loopwise");
  await dialog.getByRole("button", { name: "Back to answers" }).click();
  fs.mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: path.join(artifacts, "widget.png") });

  await input.press("Escape");
  await dialog.waitFor({ state: "hidden" });
  assert.equal(await launcher.getAttribute("aria-expanded"), "false");
  assert.equal(await launcher.evaluate((el) => el.getRootNode().activeElement === el), true,
    "focus returns to the launcher");
});

test("a question nothing answers is declined honestly and offers a human", async () => {
  // Words the bundle has never seen: the engine declines (gap) rather than guess.
  await page.evaluate(() => {
    window.Loopwise.setContext({ email: "jane@example.com" });
    window.Loopwise.ask("xqzv blorptang wibblefrotz DE89 3704 0044 0532 0130 00");
  });
  const dialog = page.getByRole("dialog", { name: "Help" });
  await dialog.locator(".answers").getByText("We don't have an answer to that yet", { exact: false }).waitFor();
  await dialog.getByRole("button", { name: "Talk to a human" }).click();
  // The page listens to escalate, so the question was handed over; nobody promises a reply.
  await dialog.locator(".answers").getByText("We've let the team know about your question.").waitFor();
  const escalated = await (await page.waitForFunction(() => window.escalated)).jsonValue();
  // The customer's words are scrubbed as in signals; the page's own values come back as it gave them.
  assert.equal(escalated.query, "xqzv blorptang wibblefrotz [iban]");
  assert.deepEqual(escalated.transcript.map((l) => l.query),
    ["I forgot my password and can't log in", "xqzv blorptang wibblefrotz [iban]"]);
  assert.deepEqual(escalated.transcript.map((l) => l.outcome), ["opened", "escalated"]);
  assert.deepEqual(escalated.context, { route: "/settings/security", title: "Acme settings", plan: "pro",
    email: "jane@example.com" });
});

test("a page that takes the handoff keeps a person one click away, also under a confident answer", async () => {
  await page.evaluate(() => {
    window.escalated = null;
    window.Loopwise.ask("I forgot my password and can't log in");
  });
  const dialog = page.getByRole("dialog", { name: "Help" });
  await dialog.getByText("Did this solve it?").waitFor();
  assert.equal(await dialog.getByRole("button", { name: "Talk to a human" }).count(), 0, "an answer, no offer");
  const contact = dialog.getByRole("button", { name: "Contact a person" });
  await contact.click();
  await dialog.locator(".answers").getByText("We've let the team know about your question.").waitFor();
  const escalated = await (await page.waitForFunction(() => window.escalated)).jsonValue();
  assert.equal(escalated.query, "I forgot my password and can't log in");
  assert.equal(escalated.transcript.at(-1).outcome, "escalated");
  assert.equal(await contact.count(), 0, "handed over: not offered again until the next question");
  await page.evaluate(() => window.Loopwise.ask("I forgot my password"));
  await dialog.getByText("Did this solve it?").waitFor();
  await contact.waitFor();
});

test("No reaches the page as a not_helpful event, with the article it was about", async () => {
  await page.evaluate(() => {
    window.Loopwise.on("not_helpful", (d) => (window.notHelpful = d));
    window.Loopwise.ask("I forgot my password and can't log in");
  });
  const dialog = page.getByRole("dialog", { name: "Help" });
  await dialog.getByText("Did this solve it?").waitFor();
  await dialog.getByRole("button", { name: "No", exact: true }).click();
  const heard = await (await page.waitForFunction(() => window.notHelpful)).jsonValue();
  assert.deepEqual(heard, { query: "I forgot my password and can't log in", article: "reset-password" });
});

test("the panel is a non-modal dialog: Escape closes it from the panel or the launcher, not from the page", async () => {
  const context = await browser.newContext();
  const p = await context.newPage();
  // Queued before the loader runs: open then close, and both are heard.
  await p.addInitScript(() => {
    window.heard = [];
    const note = (event) => ["on", event, () => window.heard.push(event)];
    window.Loopwise = { q: [note("open"), note("close"), ["open"], ["close"]] };
  });
  await p.goto(`${hostUrl}/settings/security`);
  await p.waitForFunction(() => window.Loopwise && window.Loopwise.loaded === true);
  assert.deepEqual(await p.evaluate(() => window.heard), ["open", "close"]);
  await p.evaluate(() => document.body.append(Object.assign(document.createElement("input"), { id: "host-search" })));
  const launcher = p.getByRole("button", { name: "Help", exact: true });
  const dialog = p.getByRole("dialog", { name: "Help" });
  const focused = (locator) => locator.evaluate((el) => el.getRootNode().activeElement === el);

  await launcher.click();
  await dialog.waitFor();
  assert.equal(await dialog.getAttribute("aria-modal"), null);
  assert.equal(await p.getByRole("banner").count(), 0, "no second banner landmark on the host page");
  assert.equal(await launcher.textContent(), "×", "the launcher shows that it closes the panel");
  // Focus on the launcher, the panel open: Escape closes it.
  await launcher.focus();
  await p.keyboard.press("Escape");
  await dialog.waitFor({ state: "hidden" });
  assert.ok(await focused(launcher));
  assert.equal(await launcher.textContent(), "?");

  // Escape in the host page's own input is the page's, and Loopwise.close() leaves focus there.
  await launcher.click();
  await dialog.waitFor();
  await p.locator("#host-search").focus();
  await p.keyboard.press("Escape");
  assert.ok(await dialog.isVisible(), "Escape in the page does not close the panel");
  await p.evaluate(() => window.Loopwise.close());
  await dialog.waitFor({ state: "hidden" });
  assert.equal(await p.evaluate(() => document.activeElement.id), "host-search", "focus stays where the host put it");
  assert.deepEqual(await p.evaluate(() => window.heard), ["open", "close", "open", "close", "open", "close"]);

  // A pasted question longer than the limit is cut, and the customer is told.
  await launcher.click();
  const input = dialog.getByRole("textbox", { name: "Your question" });
  await input.focus();
  await p.keyboard.insertText("how do I reset my password ".repeat(30));
  assert.equal((await input.inputValue()).length, 500);
  // The note itself (the live region announces the same words).
  const note = dialog.locator(".too-long");
  await note.filter({ hasText: "Only the first 500 characters of a question are kept." }).waitFor();
  await input.fill("short");
  assert.equal(await note.isVisible(), false);
  await context.close();
});

test("a bundle whose bytes do not match the manifest's sha256 is refused", async () => {
  const context = await browser.newContext();
  const tampered = await context.newPage();
  const warnings = [];
  tampered.on("console", (m) => warnings.push(m.text()));
  await tampered.route("**/v1/bundles/*", async (route) => {
    const original = await route.fetch();
    const body = Buffer.from(await original.body());
    body[body.length - 1] ^= 0xff;
    await route.fulfill({ status: 200, body, headers: { "access-control-allow-origin": "*" } });
  });
  await tampered.goto(`${hostUrl}/settings/security`);
  await tampered.getByRole("button", { name: "Help" }).click();
  const dialog = tampered.getByRole("dialog", { name: "Help" });
  const input = dialog.getByRole("textbox", { name: "Your question" });
  await input.fill("I forgot my password");
  await input.press("Enter");
  await dialog.locator("p.status").getByText("Help search is not available right now.").waitFor();
  assert.equal(await dialog.getByRole("heading", { name: "Reset your password" }).count(), 0);
  await dialog.getByRole("button", { name: "Talk to a human" }).waitFor();
  assert.ok(warnings.some((w) => /bundle refused: its sha256 is [0-9a-f]{64}/.test(w)), warnings.join("\n"));
  await context.close();
});

test("the loader stays within its budget (10 KB gzip)", () => {
  const gzipped = zlib.gzipSync(fs.readFileSync(path.join(repoRoot, "web/dist/loopwise.js")), { level: 9 });
  assert.ok(gzipped.length <= 10 * 1024, `loopwise.js is ${gzipped.length} bytes gzip`);
});

// Boxes and computed styles of everything in the widget's shadow root, the panel open with answers.
async function widgetLayout(page) {
  return page.evaluate(() => {
    const root = document.querySelector("[data-loopwise]").shadowRoot;
    const props = ["font-size", "font-family", "font-style", "line-height", "letter-spacing", "color",
      "background-color", "padding-top", "margin-top", "border-top-width", "display", "position", "width"];
    return Array.from(root.querySelectorAll("*")).filter((el) => el.tagName !== "STYLE").map((el) => {
      const r = el.getBoundingClientRect();
      const cs = getComputedStyle(el);
      return { tag: el.tagName, box: [r.x, r.y, r.width, r.height].map((v) => Math.round(v)),
        style: Object.fromEntries(props.map((p) => [p, cs.getPropertyValue(p)])) };
    });
  });
}

test("a host page with aggressive global CSS leaves the widget unchanged", async () => {
  const context = await browser.newContext();
  const shots = {};
  const layouts = {};
  const pages = {};
  const clips = {};
  for (const kind of ["plain", "aggressive"]) {
    const p = await context.newPage();
    pages[kind] = p;
    await p.goto(`${hostUrl}/${kind}`);
    await p.getByRole("button", { name: "Help" }).click();
    const dialog = p.getByRole("dialog", { name: "Help" });
    const input = dialog.getByRole("textbox", { name: "Your question" });
    await input.fill("I forgot my password and can't log in");
    await input.press("Enter");
    await dialog.getByText("Did this solve it?").waitFor({ timeout: 15000 });
    await input.blur();
    // The panel slides in for 0.16 s; an answer can arrive sooner, so measure after it has settled.
    await dialog.evaluate((el) => Promise.all(el.getAnimations({ subtree: true }).map((a) => a.finished)));
    layouts[kind] = await widgetLayout(p);
    // The panel, less a margin for its rounded corners (they show the page behind, which differs).
    const box = await dialog.boundingBox();
    clips[kind] = { x: box.x + 14, y: box.y + 14, width: box.width - 28, height: box.height - 28 };
  }
  const shoot = async () => {
    for (const kind of ["plain", "aggressive"]) {
      shots[kind] = await pages[kind].screenshot({ clip: clips[kind], animations: "disabled" });
      fs.mkdirSync(artifacts, { recursive: true });
      fs.writeFileSync(path.join(artifacts, `widget-${kind}-css.png`), shots[kind]);
    }
  };
  await shoot();
  // A page still settling (a late re-draw) is given one more look before the two are compared.
  if (!shots.plain.equals(shots.aggressive)) {
    await new Promise((r) => setTimeout(r, 1000));
    await shoot();
  }
  assert.ok(layouts.plain.length > 20, "the panel is drawn");
  assert.equal(layouts.aggressive.length, layouts.plain.length);
  for (let i = 0; i < layouts.plain.length; i++) {
    assert.deepEqual(layouts.aggressive[i], layouts.plain[i], `element ${i} (${layouts.plain[i].tag})`);
  }
  assert.ok(shots.plain.equals(shots.aggressive), "the panel looks the same, pixel for pixel");
  await context.close();
});

test("a bad new bundle is refused and the last good one, cached, keeps answering", async () => {
  const context = await browser.newContext();
  const p = await context.newPage();
  const warnings = [];
  p.on("console", (m) => warnings.push(m.text()));
  const manifests = [];
  p.on("response", (r) => {
    if (r.url().endsWith("/v1/sites/acme/manifest") && r.request().method() === "GET") {
      manifests.push({ status: r.status(), etag: r.request().headers()["if-none-match"] || null });
    }
  });
  const bundleFetches = [];
  p.on("request", (r) => {
    if (r.url().includes("/v1/bundles/")) bundleFetches.push(r.url());
  });
  const askAndWait = async () => {
    await p.getByRole("button", { name: "Help" }).click();
    const dialog = p.getByRole("dialog", { name: "Help" });
    const input = dialog.getByRole("textbox", { name: "Your question" });
    await input.fill("I forgot my password and can't log in");
    await input.press("Enter");
    await dialog.locator(".card h3, .status").first().waitFor({ timeout: 15000 });
    return dialog;
  };
  const answer = () => p.waitForFunction(() => window.lastAnswer).then((h) => h.jsonValue());
  const load = async () => {
    await p.goto(`${hostUrl}/settings/security`);
    await p.evaluate(() => window.Loopwise.on("answer", (d) => (window.lastAnswer = d)));
  };

  await load();
  let dialog = await askAndWait();
  assert.equal(await dialog.locator(".card h3").first().textContent(), "Reset your password");
  const good = await answer();
  assert.equal(bundleFetches.length, 1);

  // A reload revalidates the manifest with its ETag (304) and takes the bundle from Cache Storage.
  await load();
  dialog = await askAndWait();
  assert.equal(await dialog.locator(".card h3").first().textContent(), "Reset your password");
  assert.equal(bundleFetches.length, 1, "the bundle came from the cache");
  assert.equal(manifests.length >= 2, true);
  assert.match(manifests[manifests.length - 1].etag || "", /^"v\d+-[0-9a-f]{16}"$/);
  assert.equal(manifests[manifests.length - 1].status, 304);

  // A new version is published (one more article), and whatever serves it corrupts the bundle.
  let res = await fetch(`${server.url}/v1/sites/acme/articles`, {
    method: "POST", headers: { Authorization: `Bearer ${site.token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ id: "export-data", title: "Export your data", body: "Settings, then Export." }),
  });
  assert.equal(res.status, 200, await res.text());
  res = await fetch(`${server.url}/v1/sites/acme/publish`, {
    method: "POST", headers: { Authorization: `Bearer ${site.token}` },
  });
  assert.ok(res.status >= 200 && res.status < 300, `publish answered ${res.status}`);
  await p.route("**/v1/bundles/*", async (route) => {
    const original = await route.fetch();
    const body = Buffer.from(await original.body());
    body[body.length >> 1] ^= 0xff;
    await route.fulfill({ status: 200, body, headers: { "access-control-allow-origin": "*" } });
  });
  await load();
  dialog = await askAndWait();
  assert.equal(await dialog.locator(".card h3").first().textContent(), "Reset your password",
    `the old bundle still answers\n${warnings.join("\n")}`);
  assert.equal(manifests[manifests.length - 1].status, 200, "the new manifest arrived");
  assert.equal(bundleFetches.length, 2, "the new bundle was fetched once");
  assert.ok(warnings.some((w) => /bundle refused: its sha256 is [0-9a-f]{64}.*last good bundle \(version 1\) stays in service/
    .test(w)), warnings.join("\n"));
  const after = await answer();
  assert.deepEqual(after.articles, good.articles);

  // The server unreachable: the cached good bundle still answers.
  await p.route("**/v1/sites/acme/manifest", (route) => route.abort("connectionrefused"));
  await load();
  dialog = await askAndWait();
  assert.equal(await dialog.locator(".card h3").first().textContent(), "Reset your password",
    `the cached bundle answers offline\n${warnings.join("\n")}`);
  assert.ok(warnings.some((w) => /the manifest could not be fetched.*last good bundle \(version 1\)/.test(w)),
    warnings.join("\n"));
  await context.close();
});

test("the script tag themes the widget and replaces its texts; the session trail stays in the tab", async () => {
  const context = await browser.newContext();
  const p = await context.newPage();
  await p.goto(`${hostUrl}/settings/security`);
  await p.waitForFunction(() => window.Loopwise && window.Loopwise.loaded === true);
  await p.goto(`${hostUrl}/themed/billing`);
  await p.waitForFunction(() => window.Loopwise && window.Loopwise.loaded === true);
  const launcher = p.getByRole("button", { name: "Help" });
  const box = await launcher.boundingBox();
  assert.ok(box.x < 100, `the launcher sits bottom left (x = ${box.x})`);
  await launcher.click();
  const dialog = p.getByRole("dialog", { name: "Help" });
  await dialog.waitFor();
  assert.ok((await dialog.boundingBox()).x < 100, "the panel opens on the left");
  assert.equal(await dialog.getByRole("heading", { level: 2 }).textContent(), "Acme help");
  await dialog.getByText("Hi! Ask us anything.").waitFor();
  assert.equal(await dialog.getByRole("button", { name: "Fragen" }).count(), 1);
  const header = await dialog.locator(".head").evaluate((el) => {
    const cs = getComputedStyle(el);
    return [cs.backgroundColor, cs.color];
  });
  // A light colour gets dark text.
  assert.deepEqual(header, ["rgb(255, 212, 0)", "rgb(17, 20, 24)"]);

  await p.evaluate(() => window.Loopwise.setStrings({ launcher: "Hilfe", placeholder: "Was ist los?", ask: 7 }));
  assert.equal(await p.getByRole("button", { name: "Hilfe" }).count(), 1);
  const input = dialog.getByRole("textbox", { name: "Ihre Frage" });
  assert.equal(await input.getAttribute("placeholder"), "Was ist los?");
  assert.equal(await dialog.getByRole("button", { name: "Fragen" }).count(), 1, "non-string values are ignored");

  for (let i = 0; i < 2; i++) {
    await input.fill("I forgot my password");
    await input.press("Enter");
    await dialog.getByText("Did this solve it?").waitFor({ timeout: 15000 });
  }
  assert.equal(await dialog.getByRole("button", { name: "Contact a person" }).count(), 0,
    "this page takes no handoff (no escalate listener), so no standing offer of a person");
  const trail = await p.evaluate(() => JSON.parse(sessionStorage.getItem("loopwise.trail")));
  assert.deepEqual(trail.visits.map((v) => v.route), ["/settings/security", "/themed/billing"]);
  assert.ok(trail.errors >= 1, "the page's error was counted");
  assert.deepEqual(trail.questions, ["i forgot my password", "i forgot my password"]);
  await context.close();
});

test("routes a single-page app changes with pushState join the session trail before any question", async () => {
  const context = await browser.newContext();
  const p = await context.newPage();
  await p.goto(`${hostUrl}/projects`);
  await p.waitForFunction(() => window.Loopwise && window.Loopwise.loaded === true);
  const routes = () =>
    p.evaluate(() => JSON.parse(sessionStorage.getItem("loopwise.trail")).visits.map((v) => v.route));
  const until = (n) =>
    p.waitForFunction((n) => JSON.parse(sessionStorage.getItem("loopwise.trail")).visits.length === n, n);
  await p.evaluate(() => history.pushState({}, "", "/projects/42"));
  await until(2);
  await p.evaluate(() => history.replaceState({}, "", "/projects/42/settings"));
  await until(3);
  await p.goBack();
  await until(4);
  assert.deepEqual(await routes(), ["/projects", "/projects/42", "/projects/42/settings", "/projects"]);
  await context.close();
});

test("the panel's opening animation is dropped under prefers-reduced-motion", async () => {
  const names = {};
  for (const reducedMotion of ["no-preference", "reduce"]) {
    const context = await browser.newContext({ reducedMotion });
    const p = await context.newPage();
    await p.goto(`${hostUrl}/settings/security`);
    await p.getByRole("button", { name: "Help" }).click();
    const dialog = p.getByRole("dialog", { name: "Help" });
    await dialog.waitFor();
    names[reducedMotion] = await dialog.evaluate((el) => getComputedStyle(el).animationName);
    await context.close();
  }
  assert.deepEqual(names, { "no-preference": "loopwise-in", reduce: "none" });
});

test("a page left open picks up a newly published bundle when the panel opens again", async () => {
  const context = await browser.newContext();
  const p = await context.newPage();
  await p.clock.install();
  await p.goto(`${hostUrl}/settings/security`);
  await p.getByRole("button", { name: "Help" }).click();
  const dialog = p.getByRole("dialog", { name: "Help" });
  const input = dialog.getByRole("textbox", { name: "Your question" });
  const firstTitle = async (question) => {
    await input.fill(question);
    await input.press("Enter");
    await dialog.locator(".card h3, p.status").first().waitFor({ timeout: 15000 });
    await dialog.getByText("Looking…").waitFor({ state: "detached" });
    return dialog.locator(".card h3").first().textContent().catch(() => null);
  };
  const question = "how do I move my workspace to another region";
  assert.notEqual(await firstTitle(question), "Move your workspace to another region");

  let res = await fetch(`${server.url}/v1/sites/acme/articles`, {
    method: "POST", headers: { Authorization: `Bearer ${site.token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ id: "move-region", title: "Move your workspace to another region",
      body: "Move your workspace to another region (EU or US data residency) from Settings, then Region." }),
  });
  assert.equal(res.status, 200, await res.text());
  res = await fetch(`${server.url}/v1/sites/acme/publish`, { method: "POST", headers: { Authorization: `Bearer ${site.token}` } });
  assert.ok(res.status >= 200 && res.status < 300);

  // Opened again within minutes: still the bundle it has. Six minutes later: the new one.
  await input.press("Escape");
  await p.getByRole("button", { name: "Help" }).click();
  assert.notEqual(await firstTitle(question), "Move your workspace to another region");
  await input.press("Escape");
  await p.clock.fastForward("06:00");
  await p.getByRole("button", { name: "Help" }).click();
  let title = null;
  for (let i = 0; i < 30 && title !== "Move your workspace to another region"; i++) {
    await p.waitForTimeout(200);
    title = await firstTitle(question);
  }
  assert.equal(title, "Move your workspace to another region");
  await context.close();
});
