// The widget in a real browser (Debian's Chromium, headless): a host page on its own origin embeds
// the script tag; the launcher opens the panel, which loads the engine and the site's verified
// bundle from a real sync server and answers a question.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import zlib from "node:zlib";
import { chromium } from "playwright-core";
import { cli, createSite, fixtures, repoRoot, startServer, tempDir } from "../server/server.mjs";

const artifacts = path.join(repoRoot, "build/test-artifacts");
let data, server, page, browser, site, hostUrl;
const consoleLines = [];

// The customer's product: one page with the script tag, on an origin of its own. The stub and its
// queued calls come before the tag, as a host page would write them.
function hostPage(serverUrl, key) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme settings</title>
<script>window.Loopwise = window.Loopwise || { q: [] };
Loopwise.q.push(["setContext", { plan: "pro" }]);
Loopwise.q.push(["on", "escalate", function (d) { window.escalated = d; }]);</script>
<script src="${serverUrl}/widget/loopwise.js" data-site="acme" data-key="${key}" async></script>
</head><body><h1>Account settings</h1><p>The host page's own content.</p></body></html>`;
}

let hostServer;

before(async () => {
  assert.ok(fs.existsSync(path.join(repoRoot, "web/dist/loopwise.js")), "run scripts/build-web first");
  data = tempDir("loopwise-browser-");
  // The host page's origin is the site's allowed origin, so its server starts first.
  hostServer = http.createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(hostPage(server.url, site.key));
  });
  await new Promise((resolve) => hostServer.listen(0, "127.0.0.1", resolve));
  hostUrl = `http://127.0.0.1:${hostServer.address().port}`;
  site = createSite(data, "acme", hostUrl);
  cli("import", "articles", "--site", "acme", "--data", data, path.join(fixtures, "articles"),
    path.join(fixtures, "kb.jsonl"), path.join(fixtures, "kb.csv"));
  cli("import", "history", "--site", "acme", "--data", data, path.join(fixtures, "history.jsonl"));
  cli("publish", "--site", "acme", "--data", data);
  server = await startServer(data);

  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
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
  await page.evaluate(() => window.Loopwise.ask("xqzv blorptang wibblefrotz"));
  const dialog = page.getByRole("dialog", { name: "Help" });
  await dialog.getByText("We don't have an answer to that yet", { exact: false }).waitFor();
  await dialog.getByRole("button", { name: "Talk to a human" }).click();
  const escalated = await page.waitForFunction(() => window.escalated);
  assert.equal((await escalated.jsonValue()).query, "xqzv blorptang wibblefrotz");
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
  await dialog.getByText("Help search is not available right now.").waitFor();
  assert.equal(await dialog.getByRole("heading", { name: "Reset your password" }).count(), 0);
  await dialog.getByRole("button", { name: "Talk to a human" }).waitFor();
  assert.ok(warnings.some((w) => /bundle refused: its sha256 is [0-9a-f]{64}/.test(w)), warnings.join("\n"));
  await context.close();
});

test("the loader stays within its budget (10 KB gzip)", () => {
  const gzipped = zlib.gzipSync(fs.readFileSync(path.join(repoRoot, "web/dist/loopwise.js")), { level: 9 });
  assert.ok(gzipped.length <= 10 * 1024, `loopwise.js is ${gzipped.length} bytes gzip`);
});
