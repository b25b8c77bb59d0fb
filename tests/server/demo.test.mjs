// The demo site at / (--demo-dir): pages by route, their types, nothing outside the folder, and no
// pages at all without the flag.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { cliFails, rawGet, startServer, tempDir } from "./server.mjs";

let data, site, server, plain;

before(async () => {
  data = tempDir();
  site = path.join(data, "site");
  fs.mkdirSync(path.join(site, "settings"), { recursive: true });
  fs.mkdirSync(path.join(site, "projects", "42"), { recursive: true });
  fs.writeFileSync(path.join(site, "dashboard.html"), "<h1>Dashboard</h1>");
  fs.writeFileSync(path.join(site, "settings", "security.html"), "<h1>Security</h1>");
  fs.writeFileSync(path.join(site, "projects", "42", "index.html"), "<h1>Project 42</h1>");
  fs.writeFileSync(path.join(site, "style.css"), "body{}");
  fs.writeFileSync(path.join(site, "app.js"), "void 0;");
  fs.writeFileSync(path.join(site, "logo.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>");
  fs.writeFileSync(path.join(site, "notes.txt"), "not a page type");
  fs.writeFileSync(path.join(site, ".secret.html"), "hidden");
  fs.mkdirSync(path.join(site, ".git"));
  fs.writeFileSync(path.join(site, ".git", "config.html"), "hidden");
  fs.writeFileSync(path.join(data, "outside.html"), "outside");
  server = await startServer(path.join(data, "store"), ["--demo-dir", site]);
  plain = await startServer(path.join(data, "store-plain"));
});

after(async () => {
  await server.stop();
  await plain.stop();
  fs.rmSync(data, { recursive: true, force: true });
});

test("pages are served by route, / is the dashboard", async () => {
  for (const [route, text] of [
    ["/", "Dashboard"], ["/dashboard", "Dashboard"], ["/settings/security", "Security"],
    ["/settings/security/", "Security"], ["/projects/42", "Project 42"],
  ]) {
    const res = await fetch(`${server.url}${route}`);
    assert.equal(res.status, 200, route);
    assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8", route);
    assert.equal(res.headers.get("cache-control"), "no-cache", route);
    assert.match(await res.text(), new RegExp(text), route);
  }
  let res = await fetch(`${server.url}/style.css`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /^text\/css/);
  res = await fetch(`${server.url}/logo.svg`);
  assert.equal(res.headers.get("content-type"), "image/svg+xml");
  res = await fetch(`${server.url}/app.js`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/javascript; charset=utf-8");
});

test("the API and the widget routes still win over pages", async () => {
  const res = await fetch(`${server.url}/healthz`);
  assert.equal(res.status, 200);
  const missing = await fetch(`${server.url}/v1/sites/nope/manifest`);
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).error.code, "site_not_found");
  // A page's other methods are refused as such; a wrong API path is no page.
  const post = await fetch(`${server.url}/dashboard`, { method: "POST" });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET, HEAD");
  for (const p of ["/v1/nope", "/v1/sites/acme/nothing", "/v1"]) {
    const typo = await fetch(`${server.url}${p}`, { method: "POST" });
    assert.equal(typo.status, 404, p);
    assert.equal((await typo.json()).error.code, "not_found", p);
  }
});

test("nothing outside the folder, no dotfiles, no other types", async () => {
  for (const p of [
    "/../outside", "/..%2Foutside", "/%2e%2e/outside", "/settings/../../outside", "/..",
    "/.secret", "/.secret.html", "/.git/config", "/settings//security", "/notes.txt",
    "/missing", "/settings", "/dashboard.html.bak", "/a%00b", "/dash%20board",
  ]) {
    const res = await rawGet(server.url, p);
    assert.equal(res.status, 404, p);
    assert.ok(!/outside|hidden/.test(res.body), p);
    assert.ok(["page_not_found", "not_found"].includes(JSON.parse(res.body).error.code), p);
  }
});

test("without --demo-dir there are no pages", async () => {
  for (const p of ["/", "/dashboard", "/settings/security"]) {
    const res = await rawGet(plain.url, p);
    assert.equal(res.status, 404, p);
  }
});

test("--demo-dir must be a directory", () => {
  const { status, stderr } = cliFails("serve", "--data", path.join(data, "store-x"), "--listen",
    "127.0.0.1:0", "--demo-dir", path.join(data, "no-such-dir"));
  assert.equal(status, 2);
  assert.match(stderr, /--demo-dir .* is not a directory/);
});
