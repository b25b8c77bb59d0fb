// The HTTP API end to end on a real server: import, publish, manifest, bundle, auth, CORS, admin.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import zlib from "node:zlib";
import {
  admin, cli, cliFails, createSite, fixtures, importFixtures, rawGet, repoRoot, request,
  startServer, tempDir,
} from "./server.mjs";

let data, server, acme;

before(async () => {
  data = tempDir();
  acme = createSite(data, "acme", "https://app.example.com", "http://localhost:3000");
  importFixtures(data, "acme", { publish: false });
  server = await startServer(data);
});

after(async () => {
  const { code } = await server.stop();
  assert.equal(code, 0, "SIGTERM stops the server cleanly");
  fs.rmSync(data, { recursive: true, force: true });
});

test("site create prints a key and a token once and stores only the token's hash", () => {
  assert.match(acme.key, /^pk_[0-9a-f]{32}$/);
  assert.match(acme.token, /^sk_[0-9a-f]{64}$/);
  const db = fs.readFileSync(path.join(data, "loopwise.db"));
  assert.equal(db.includes(acme.token), false, "the token itself is not in the database");
  const again = cliFails("site", "create", "acme", "--origin", "https://a.example", "--data", data);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /already exists/);
  assert.match(cliFails("site", "create", "x", "--origin", "ftp://a", "--data", data).stderr, /https:\/\//);
});

test("articles and history over HTTP: JSON, CSV and JSON Lines; re-import updates; errors name the line", async () => {
  const url = `${server.url}/v1/sites/acme`;
  let r = await request(`${url}/articles`, {
    method: "POST", headers: admin(acme.token, { "Content-Type": "text/csv" }),
    body: fs.readFileSync(path.join(fixtures, "kb.csv")),
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.imported, 2);
  assert.equal(r.body.articles, 7);

  r = await request(`${url}/articles`, {
    method: "POST", headers: admin(acme.token, { "Content-Type": "application/json" }),
    body: JSON.stringify({ id: "refund", title: "Get a refund", body: "Refunds take five days.", tags: ["billing"] }),
  });
  assert.equal(r.status, 200);
  r = await request(`${url}/articles`, { headers: admin(acme.token) });
  assert.equal(r.body.articles.length, 7);
  assert.equal(r.body.articles.find((a) => a.id === "refund").title, "Get a refund");

  r = await request(`${url}/articles`, {
    method: "POST", headers: admin(acme.token, { "Content-Type": "application/x-ndjson" }),
    body: '{"id": "a", "title": "A"}\n{"id": 5}\n',
  });
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /:2:/);

  r = await request(`${url}/history`, {
    method: "POST", headers: admin(acme.token, { "Content-Type": "application/x-ndjson" }),
    body: '{"text": "money back please", "article": "refund"}\n{"text": "x", "article": "no-such"}\n',
  });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, "unknown_article");
  assert.match(r.body.error.message, /:2: unknown article "no-such"/);
  r = await request(`${url}/history`, {
    method: "POST", headers: admin(acme.token, { "Content-Type": "application/x-ndjson" }),
    body: '{"text": "money back please, mail me at jane@example.com", "article": "refund"}\n',
  });
  assert.equal(r.status, 200);
  assert.equal(r.body.imported, 1);
  assert.equal(r.body.already_stored, 0);
  r = await request(`${url}/history`, {
    method: "POST", headers: admin(acme.token, { "Content-Type": "application/x-ndjson" }),
    body: '{"text": "money back please, mail me at jane@example.com", "article": "refund"}\n',
  });
  assert.deepEqual([r.body.imported, r.body.already_stored], [1, 1], "the same ticket again is counted");

  r = await request(`${url}/articles`, {
    method: "POST", headers: admin(acme.token, { "Content-Type": "application/json" }),
    body: JSON.stringify([{ id: "temporary", title: "Temporary" }, { id: "help/old faq", title: "Old" }]),
  });
  assert.equal(r.status, 200);
  r = await request(`${url}/articles/temporary`, { method: "DELETE", headers: admin(acme.token) });
  assert.deepEqual([r.status, r.body], [200, { deleted: "temporary" }]);
  r = await request(`${url}/articles/temporary`, { method: "DELETE", headers: admin(acme.token) });
  assert.equal(r.status, 404);
  assert.equal(r.body.error.code, "article_not_found");
  // A Markdown article sent over HTTP has no file name to take its id from.
  r = await request(`${url}/articles`, {
    method: "POST", headers: admin(acme.token, { "Content-Type": "text/markdown" }), body: "# No id here\n\nText.\n",
  });
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /needs "id: \.\.\." in its front matter/);
  r = await request(`${url}/articles`, {
    method: "POST", headers: admin(acme.token, { "Content-Type": "application/json" }), body: JSON.stringify({ id: "  ", title: "Blank" }),
  });
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /"id" is empty/);
  // Any id an import takes can be deleted again, "/" and all.
  r = await request(`${url}/articles/${encodeURIComponent("help/old faq")}`, { method: "DELETE", headers: admin(acme.token) });
  assert.deepEqual([r.status, r.body], [200, { deleted: "help/old faq" }]);

  // An uploaded file (the console's import) keeps its name: its extension picks the format, a
  // Markdown article without an id takes the name's, and errors name the file.
  const upload = (route, name, body, type = "application/octet-stream") => request(`${url}/${route}`, {
    method: "POST", headers: admin(acme.token, { "Content-Type": type, "Content-Disposition": `attachment; filename="${name}"` }), body,
  });
  r = await upload("articles", "C:\\help\\billing-help.md", "# Billing help\n\nInvoices are sent on the first of the month.\n");
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await request(`${url}/articles`, { headers: admin(acme.token) });
  assert.equal(r.body.articles.find((a) => a.id === "billing-help").title, "Billing help");
  r = await upload("articles", "more.csv", "id,title\nok,Fine\n,No id\n", "text/markdown");
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /^more\.csv:3:/);
  r = await upload("articles", "../../etc/kb.jsonl", '{"id": "x"}\n');
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /^kb\.jsonl:1: /, "only the name's last part is used");
  r = await upload("articles", "x\u00e9\"; other=\".md", "# T\n");
  assert.equal(r.status, 400, "a name that is not plain is not used");
  assert.match(r.body.error.message, /^request body/);
  r = await upload("articles", "notes.txt", "hello");
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /notes\.txt.*\.md, \.markdown, \.json, \.jsonl or \.csv/);
  r = await upload("history", "tickets.csv", "text,article\nbilled twice so money back please,refund\n");
  assert.deepEqual([r.status, r.body.imported], [200, 1]);
  r = await upload("history", "tickets.jsonl", '{"text": "x", "article": "no-such"}\n');
  assert.match(r.body.error.message, /^tickets\.jsonl:1: unknown article "no-such"/);
  r = await request(`${url}/articles/billing-help`, { method: "DELETE", headers: admin(acme.token) });
  assert.equal(r.status, 200);

  // One article with the tickets that point to it (scrubbed as stored) and its learned changes.
  r = await request(`${url}/articles/refund`, { headers: admin(acme.token) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.article.title, "Get a refund");
  const history = fs.readFileSync(path.join(fixtures, "history.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(r.body.tickets, history.filter((t) => t.article === "refund").length + 3);
  assert.equal(r.body.ticket_examples.filter((t) => t.startsWith("money back please")).length, 2);
  assert.ok(!JSON.stringify(r.body).includes("jane@example.com"), "tickets are stored scrubbed");
  assert.deepEqual(r.body.changes, []);
  r = await request(`${url}/articles/no-such`, { headers: admin(acme.token) });
  assert.deepEqual([r.status, r.body.error.code], [404, "article_not_found"]);
});

test("publish -> manifest -> bundle: sha256 matches, ETag/304, gzip, immutable caching, loads in the engine", async () => {
  const url = `${server.url}/v1/sites/acme`;
  let r = await request(`${url}/manifest`, { headers: { "X-Loopwise-Key": acme.key } });
  const before = r.status === 200 ? r.body.version : 0;

  r = await request(`${url}/publish`, { method: "POST", headers: admin(acme.token) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.version, before + 1);
  assert.equal(r.body.articles, 7);

  r = await request(`${url}/manifest`, { headers: { "X-Loopwise-Key": acme.key } });
  assert.equal(r.status, 200);
  const manifest = r.body;
  assert.deepEqual(Object.keys(manifest).sort(), ["bundle", "published_at", "site", "version"]);
  assert.equal(manifest.site, "acme");
  assert.match(manifest.bundle.sha256, /^[0-9a-f]{64}$/);
  assert.equal(r.headers.get("cache-control"), "no-cache");
  const etag = r.headers.get("etag");
  assert.ok(etag);
  r = await request(`${url}/manifest`, { headers: { "X-Loopwise-Key": acme.key, "If-None-Match": etag } });
  assert.equal(r.status, 304);

  const plain = await fetch(new URL(manifest.bundle.url, server.url), { headers: { "Accept-Encoding": "identity" } });
  assert.equal(plain.status, 200);
  assert.match(plain.headers.get("cache-control"), /max-age=31536000/);
  assert.match(plain.headers.get("cache-control"), /immutable/);
  const bytes = Buffer.from(await plain.arrayBuffer());
  assert.equal(bytes.length, manifest.bundle.bytes);
  assert.equal(crypto.createHash("sha256").update(bytes).digest("hex"), manifest.bundle.sha256);

  // Node's fetch would decode gzip itself; read the raw encoding with http.
  const http = await import("node:http");
  const gz = await new Promise((resolve, reject) => {
    http.get(new URL(manifest.bundle.url, server.url), { headers: { "Accept-Encoding": "gzip" } }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    }).on("error", reject);
  });
  assert.equal(gz.headers["content-encoding"], "gzip");
  assert.ok(gz.body.length < bytes.length);
  assert.ok(zlib.gunzipSync(gz.body).equals(bytes));

  const wasm = path.join(repoRoot, "build/wasm/wasm/loopwise-engine.wasm");
  if (fs.existsSync(wasm)) {
    const { loadEngineModule } = await import("../node/wasm-engine.mjs");
    const module = await loadEngineModule();
    const engine = module.Engine.create(bytes);
    try {
      const answer = engine.search("i forgot my password", "{}", 3);
      assert.ok(answer.ranked.length > 0);
    } finally {
      engine.delete();
    }
  } else {
    console.log("api: build/wasm missing; the bundle's engine load is checked by its sha256 only");
  }

  r = await request(`${server.url}/v1/bundles/${"0".repeat(64)}`);
  assert.equal(r.status, 404);
  assert.equal(r.body.error.code, "bundle_not_found");
});

test("rollback returns to the previous version and the manifest follows", async () => {
  const url = `${server.url}/v1/sites/acme`;
  let r = await request(`${url}/publish`, { method: "POST", headers: admin(acme.token) });
  assert.equal(r.status, 200);
  const latest = r.body.version;
  r = await request(`${url}/rollback`, { method: "POST", headers: admin(acme.token) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.version, latest - 1);
  r = await request(`${url}/manifest`, { headers: { "X-Loopwise-Key": acme.key } });
  assert.equal(r.body.version, latest - 1);
  r = await request(`${url}/rollback`, {
    method: "POST", headers: admin(acme.token), body: JSON.stringify({ version: latest }),
  });
  assert.equal(r.body.version, latest);
  r = await request(`${url}/rollback`, {
    method: "POST", headers: admin(acme.token), body: JSON.stringify({ version: 999 }),
  });
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, "cannot_roll_back");
});

test("history tickets no article answered are imported and learned from to decline, not to answer", async () => {
  const site = createSite(data, "unanswered");
  importFixtures(data, "unanswered", { publish: false });
  const url = `${server.url}/v1/sites/unanswered`;
  let r = await request(`${url}/publish`, { method: "POST", headers: admin(site.token) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const { exemplars } = r.body;
  assert.equal(r.body.unanswered, 0);

  const file = path.join(data, "unanswered.jsonl");
  fs.writeFileSync(file, '{"text": "is the office canteen open on sundays", "article": null}\n');
  assert.match(cli("import", "history", "--site", "unanswered", "--data", data, file), /imported 1 history ticket/);
  r = await request(`${url}/history`, {
    method: "POST", headers: admin(site.token, { "Content-Type": "application/x-ndjson" }),
    body: '{"text": "what is the wifi password in the lobby", "article": null}\n{"text": "lunch menu", "article": "no-such"}\n',
  });
  assert.deepEqual([r.status, r.body.error.code], [400, "unknown_article"], "a named article must still exist");
  r = await request(`${url}/history`, {
    method: "POST", headers: admin(site.token, { "Content-Type": "application/x-ndjson" }),
    body: '{"text": "what is the wifi password in the lobby", "article": null}\n{"text": "lunch menu"}\n',
  });
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /:2: "article" is missing \(null marks a ticket no article answered\)/);
  r = await request(`${url}/history`, {
    method: "POST", headers: admin(site.token, { "Content-Type": "application/x-ndjson" }),
    body: '{"text": "what is the wifi password in the lobby", "article": null}\n',
  });
  assert.deepEqual([r.status, r.body.imported], [200, 1]);

  r = await request(`${url}/publish`, { method: "POST", headers: admin(site.token) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual([r.body.unanswered, r.body.exemplars], [2, exemplars], "not exemplars of any article");
  assert.match(cli("publish", "--site", "unanswered", "--data", data), /learned when to decline from 2 questions/);
});

test("the article list says which articles customers see as they are: new, published, edited, removed", async () => {
  const site = createSite(data, "kb-state");
  importFixtures(data, "kb-state", { history: false, publish: false });
  const url = `${server.url}/v1/sites/kb-state`;
  const states = async () => {
    const r = await request(`${url}/articles`, { headers: admin(site.token) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return { ...Object.fromEntries(r.body.articles.map((a) => [a.id, a.state])), removed: r.body.removed };
  };
  let s = await states();
  assert.equal(Object.keys(s).length, 8);
  assert.ok(Object.entries(s).every(([id, state]) => id === "removed" || state === "new"), JSON.stringify(s));
  assert.deepEqual(s.removed, []);

  assert.equal((await request(`${url}/publish`, { method: "POST", headers: admin(site.token) })).status, 200);
  s = await states();
  assert.ok(Object.entries(s).every(([id, state]) => id === "removed" || state === "published"), JSON.stringify(s));

  const [first, second] = Object.keys(s).filter((id) => id !== "removed");
  const article = (await request(`${url}/articles`, { headers: admin(site.token) })).body.articles.find((a) => a.id === first);
  let r = await request(`${url}/articles`, {
    method: "POST", headers: admin(site.token, { "Content-Type": "application/json" }),
    body: JSON.stringify({ ...article, state: undefined, pages: [...article.pages, "/a/new/page"] }),
  });
  assert.equal(r.status, 200);
  r = await request(`${url}/articles/${encodeURIComponent(second)}`, { method: "DELETE", headers: admin(site.token) });
  assert.equal(r.status, 200);
  r = await request(`${url}/articles`, {
    method: "POST", headers: admin(site.token, { "Content-Type": "application/json" }),
    body: JSON.stringify({ id: "brand-new", title: "A brand new article" }),
  });
  assert.equal(r.status, 200);
  s = await states();
  assert.equal(s[first], "edited");
  assert.equal(s[second], undefined);
  assert.equal(s["brand-new"], "new");
  assert.deepEqual(s.removed, [second]);
  assert.equal(Object.values(s).filter((state) => state === "published").length, 5);

  assert.equal((await request(`${url}/publish`, { method: "POST", headers: admin(site.token) })).status, 200);
  s = await states();
  assert.deepEqual([s[first], s["brand-new"], s.removed], ["published", "published", []]);
});

test("a POST with no body and no Content-Length (curl -X POST) is taken as an empty body", async () => {
  // Without the length, the body is empty (RFC 9112, 6.3); a server waiting for one would answer
  // only when its read timeout gives up, with an error.
  const { port } = new URL(server.url);
  const reply = await new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), "127.0.0.1");
    let text = "";
    socket.on("data", (c) => (text += c));
    socket.on("end", () => resolve(text));
    socket.on("error", reject);
    socket.write(`POST /v1/sites/acme/publish HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
      `Authorization: Bearer ${acme.token}\r\nConnection: close\r\n\r\n`);
  });
  assert.match(reply, /^HTTP\/1\.1 200 /, reply.slice(0, 200));
  assert.match(reply, /"version":\s*\d+/);
});

test("widget endpoints need the site key and answer CORS only for allowed origins", async () => {
  const url = `${server.url}/v1/sites/acme/manifest`;
  let r = await request(url);
  assert.deepEqual([r.status, r.body.error.code], [401, "missing_key"]);
  r = await request(url, { headers: { "X-Loopwise-Key": "pk_" + "0".repeat(32) } });
  assert.deepEqual([r.status, r.body.error.code], [401, "invalid_key"]);
  r = await request(url, { headers: { "X-Loopwise-Key": acme.key, Origin: "https://evil.example" } });
  assert.deepEqual([r.status, r.body.error.code], [403, "origin_not_allowed"]);
  assert.equal(r.headers.get("access-control-allow-origin"), null);
  r = await request(url, { headers: { "X-Loopwise-Key": acme.key, Origin: "https://app.example.com" } });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("access-control-allow-origin"), "https://app.example.com");

  r = await request(`${server.url}/v1/sites/acme/signals`, {
    method: "OPTIONS",
    headers: { Origin: "http://localhost:3000", "Access-Control-Request-Method": "POST" },
  });
  assert.equal(r.status, 204);
  assert.equal(r.headers.get("access-control-allow-origin"), "http://localhost:3000");
  assert.match(r.headers.get("access-control-allow-headers"), /X-Loopwise-Key/);
  r = await request(`${server.url}/v1/sites/acme/signals`, {
    method: "OPTIONS", headers: { Origin: "https://evil.example" },
  });
  assert.equal(r.status, 403);
  assert.equal(r.headers.get("access-control-allow-origin"), null);

  r = await request(`${server.url}/v1/sites/nobody/manifest`, { headers: { "X-Loopwise-Key": acme.key } });
  assert.deepEqual([r.status, r.body.error.code], [404, "site_not_found"]);
});

test("admin endpoints need the site's bearer token", async () => {
  const other = createSite(data, "other");
  const url = `${server.url}/v1/sites/acme/articles`;
  let r = await request(url);
  assert.deepEqual([r.status, r.body.error.code], [401, "missing_token"]);
  r = await request(url, { headers: { Authorization: "Basic abc" } });
  assert.deepEqual([r.status, r.body.error.code], [401, "missing_token"]);
  r = await request(url, { headers: admin("sk_wrong") });
  assert.deepEqual([r.status, r.body.error.code], [403, "invalid_token"]);
  r = await request(url, { headers: admin(other.token) });
  assert.deepEqual([r.status, r.body.error.code], [403, "invalid_token"], "another site's token");
  r = await request(url, { headers: admin(acme.token) });
  assert.equal(r.status, 200);
  r = await request(url, { headers: { Authorization: `Bearer   ${acme.token}` } });
  assert.equal(r.status, 200, "more than one space after Bearer");
  for (const [method, route] of [["POST", "publish"], ["POST", "train"], ["GET", "changes"],
    ["GET", "gaps"], ["GET", "incidents"], ["GET", "analytics"], ["POST", "rollback"],
    ["POST", "history"], ["POST", "resolutions"], ["POST", "changes/1/approve"]]) {
    r = await request(`${server.url}/v1/sites/acme/${route}`, { method, headers: admin(other.token) });
    assert.equal(r.status, 403, `${method} ${route}`);
  }
});

test("admin routes answer in their documented shapes", async () => {
  const url = `${server.url}/v1/sites/acme`;
  const h = admin(acme.token);
  let r = await request(`${url}/changes`, { headers: h });
  assert.deepEqual([r.status, r.body], [200, { mode: "review", changes: [] }]);
  r = await request(`${url}/gaps`, { headers: h });
  assert.deepEqual([r.status, r.body], [200, { gaps: [] }]);
  r = await request(`${url}/incidents`, { headers: h });
  assert.deepEqual([r.status, r.body], [200, { incidents: [] }]);
  r = await request(`${url}/changes/7/approve`, { method: "POST", headers: h });
  assert.deepEqual([r.status, r.body.error.code], [404, "change_not_found"]);
  r = await request(`${url}/train`, { method: "POST", headers: h });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.trained, true);
  assert.equal(r.body.outcome, "nothing_new", "no outcome to learn from yet");
  r = await request(`${url}/analytics`, { headers: h });
  assert.equal(r.status, 200);
  assert.equal(typeof r.body.signals, "number");
  assert.ok(Array.isArray(r.body.days));
  r = await request(`${url}/resolutions`, {
    method: "POST", headers: h,
    body: JSON.stringify([{ query_id: "q1", text: "call me on +1 555 123 4567", article: "refund" },
      { query_id: "q2", article: null }]),
  });
  assert.deepEqual([r.status, r.body], [200, { accepted: 2 }]);
  r = await request(`${url}/resolutions`, { method: "POST", headers: h, body: '[{"text": "x"}]' });
  assert.equal(r.status, 400);
  for (const route of ["articles", "resolutions", "rollback"]) {
    r = await request(`${url}/${route}`, { method: "POST", headers: h, body: "[".repeat(200000) });
    assert.deepEqual([r.status, r.body.error.code], [400, "too_deep"], route);
  }
  r = await request(`${url}/articles`, { method: "POST", headers: h, body: "\u0000 not json" });
  assert.equal(r.status, 400);

  r = await request(url, { method: "PUT", headers: h, body: JSON.stringify({ origins: ["https://new.example.com/"], mode: "autonomous" }) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.origins, ["https://new.example.com"]);
  assert.equal(r.body.mode, "autonomous");
  r = await request(url, { method: "PUT", headers: h, body: JSON.stringify({ mode: "wild" }) });
  assert.equal(r.status, 400);
  r = await request(url, { method: "PUT", headers: h, body: JSON.stringify({ origins: ["https://app.example.com", "http://localhost:3000"], mode: "review" }) });
  assert.equal(r.status, 200);
  r = await request(`${server.url}/v1/sites/brand-new`, { method: "PUT", headers: h, body: "{}" });
  assert.equal(r.status, 403, "creating a site over HTTP needs the operator token");
});

test("health and metrics", async () => {
  let r = await request(`${server.url}/healthz`);
  assert.deepEqual([r.status, r.body], [200, { status: "ok" }]);
  r = await request(`${server.url}/healthz`, { method: "MADEUPMETHOD" });
  assert.equal(r.status, 400);
  r = await request(`${server.url}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type"), /^text\/plain/);
  // Made-up methods share one label, so /metrics stays bounded. (A request is counted just after
  // its answer is sent: look again until it shows.)
  for (let i = 0; i < 50 && !r.body.includes('method="other"'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    r = await request(`${server.url}/metrics`);
  }
  assert.ok(r.body.includes('method="other"') && !r.body.includes("MADEUPMETHOD"));
  for (const name of ["loopwise_http_requests_total", "loopwise_http_request_duration_seconds_bucket",
    "loopwise_signal_events_accepted_total", "loopwise_published_version{site=\"acme\"}", "loopwise_store_bytes"]) {
    assert.ok(r.body.includes(name), name);
  }
  assert.ok(!r.body.includes(acme.key) && !r.body.includes(acme.token));
  // Logs are JSON lines and never carry keys or tokens.
  for (const line of server.logs) {
    const entry = JSON.parse(line);
    assert.ok(entry.ts && entry.level && entry.msg);
    assert.ok(!line.includes(acme.token) && !line.includes(acme.key));
  }
});

test("an operator token creates sites over HTTP", async () => {
  const dir = tempDir();
  const s = await startServer(dir, [], { LOOPWISE_OPERATOR_TOKEN: "sk_operator_for_tests" });
  try {
    const r = await request(`${s.url}/v1/sites/made-by-api`, {
      method: "PUT", headers: admin("sk_operator_for_tests"),
      body: JSON.stringify({ origins: ["https://shop.example"] }),
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.match(r.body.key, /^pk_/);
    assert.match(r.body.token, /^sk_/);
    const again = await request(`${s.url}/v1/sites/made-by-api/articles`, { headers: admin(r.body.token) });
    assert.equal(again.status, 200);
  } finally {
    await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the CLI refuses a taken port and an unusable data directory with one line", async () => {
  const port = new URL(server.url).port;
  let r = cliFails("serve", "--data", tempDir(), "--listen", `127.0.0.1:${port}`);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /port is already in use/);
  assert.equal(r.stderr.trim().split("\n").length, 1);
  const file = path.join(tempDir(), "a-file");
  fs.writeFileSync(file, "");
  r = cliFails("serve", "--data", file, "--listen", "127.0.0.1:0");
  assert.match(r.stderr, /data directory .* (is not a directory|cannot be created)/);
  r = cliFails("publish", "--site", "nobody", "--data", data);
  assert.match(r.stderr, /no site "nobody"/);
  for (const cmd of [["serve"], ["site", "create"], ["site", "delete"], ["import", "articles"], ["publish"], ["train"],
    ["eval"], ["simulate"], ["backup"]]) {
    assert.match(cli(...cmd, "--help"), /usage: loopwise/);
  }
  for (const cmd of ["serve", "publish", "train", "eval", "simulate", "backup"]) {
    r = cliFails(cmd, "stray");
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim(), `loopwise: ${cmd} takes no arguments (got "stray")`);
  }
});

test("resolutions refuse what is not an article id, and NUL characters", async () => {
  const url = `${server.url}/v1/sites/acme/resolutions`;
  for (const [row, pattern] of [
    [{ text: "x", article: "a".repeat(100000) }, /resolutions\[0\]\.article is not an article id/],
    [{ text: "x", article: "" }, /resolutions\[0\]\.article is not an article id/],
    [{ text: "x\u0000y", article: "reset-2fa" }, /resolutions\[0\]\.text must be a string .* without NUL/],
  ]) {
    const r = await request(url, { method: "POST", headers: admin(acme.token), body: JSON.stringify([row]) });
    assert.deepEqual([r.status, r.body.error.code], [400, "invalid_resolutions"]);
    assert.match(r.body.error.message, pattern);
  }
});

test("a bundle damaged on disk is never served under its name", async () => {
  const own = tempDir();
  const site = createSite(own, "dmg");
  importFixtures(own, "dmg");  // imports and publishes
  const [sha] = fs.readdirSync(path.join(own, "bundles")).filter((f) => /^[0-9a-f]{64}$/.test(f));
  const file = path.join(own, "bundles", sha);
  const flip = (f) => {
    const bytes = fs.readFileSync(f);
    bytes[bytes.length >> 1] ^= 0xff;
    fs.writeFileSync(f, bytes);
  };
  flip(file);
  flip(`${file}.gz`);
  const s = await startServer(own);
  const get = (gzip) => new Promise((resolve, reject) => {
    const { port } = new URL(s.url);
    http.get({ host: "127.0.0.1", port, path: `/v1/bundles/${sha}`, headers: gzip ? { "Accept-Encoding": "gzip" } : {} },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      }).on("error", reject);
  });
  try {
    for (const gzip of [false, true]) {
      const r = await get(gzip);
      assert.equal(r.status, 500, `gzip ${gzip}`);
      const text = r.headers["content-encoding"] === "gzip" ? zlib.gunzipSync(r.body) : r.body;
      assert.equal(JSON.parse(text).error.code, "bundle_unusable");
      assert.ok(!r.headers["cache-control"]?.includes("immutable"));
    }
    const m = await request(`${s.url}/v1/sites/dmg/manifest`, { headers: { "X-Loopwise-Key": site.key } });
    assert.equal(m.body.bundle.sha256, sha);
    // The articles are still listed; whether customers see them as they are cannot be told.
    const listed = await request(`${s.url}/v1/sites/dmg/articles`, { headers: admin(site.token) });
    assert.equal(listed.status, 200);
    assert.equal(listed.body.articles.length, 7);
    assert.ok(listed.body.articles.every((a) => a.state === undefined));
    assert.match(listed.body.unknown, /^The current bundle cannot be read: .*damaged/);
    // Publishing the same bundle again repairs both files.
    cli("publish", "--site", "dmg", "--data", own);
    const plain = await get(false), packed = await get(true);
    assert.deepEqual([plain.status, packed.status], [200, 200]);
    assert.equal(crypto.createHash("sha256").update(plain.body).digest("hex"), sha);
    assert.ok(zlib.gunzipSync(packed.body).equals(plain.body));
  } finally {
    await s.stop();
    fs.rmSync(own, { recursive: true, force: true });
  }
});

test("site delete asks for --yes, then removes the site and all it stored; its name is free again", async () => {
  const gone = createSite(data, "gone", "https://gone.example.com");
  importFixtures(data, "gone");
  const manifest = () => request(`${server.url}/v1/sites/gone/manifest`, { headers: { "X-Loopwise-Key": gone.key } });
  assert.equal((await manifest()).status, 200);
  let r = cliFails("site", "delete", "gone", "--data", data);
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim(), 'loopwise: site delete removes site "gone" and everything stored for it, for good; add --yes to confirm');
  assert.equal((await manifest()).status, 200);

  assert.equal(cli("site", "delete", "gone", "--yes", "--data", data).trim(), 'site "gone" deleted, with everything stored for it');
  // The running server forgets the site within the two seconds it keeps a site in memory.
  const settings = () => request(`${server.url}/v1/sites/gone`, { headers: admin(gone.token) });
  const deadline = Date.now() + 5000;
  while ((await settings()).status !== 404 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal((await settings()).body.error.code, "site_not_found");
  assert.equal((await manifest()).body.error.code, "site_not_found");
  assert.ok(!JSON.parse(cli("site", "list", "--json", "--data", data)).some((x) => x.site === "gone"));
  assert.match(cliFails("site", "delete", "gone", "--yes", "--data", data).stderr, /there is no site "gone"/);

  const again = createSite(data, "gone", "https://gone.example.com");
  r = await request(`${server.url}/v1/sites/gone/articles`, { headers: admin(again.token) });
  assert.deepEqual([r.status, r.body.articles, r.body.removed], [200, [], []], "nothing of the old site is left");
});

test("site token replaces a lost or leaked admin token; site list shows every site, no tokens", async () => {
  const beta = createSite(data, "beta", "https://beta.example.com");
  const settings = (token) => request(`${server.url}/v1/sites/beta`, { headers: admin(token) });
  assert.equal((await settings(beta.token)).status, 200);
  const { site, token } = JSON.parse(cli("site", "token", "beta", "--json", "--data", data));
  assert.equal(site, "beta");
  assert.match(token, /^sk_[0-9a-f]{64}$/);
  // The server reads a site's settings again within two seconds.
  const deadline = Date.now() + 5000;
  while ((await settings(beta.token)).status !== 403) {
    assert.ok(Date.now() < deadline, "the old token still works after 5 s");
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal((await settings(token)).status, 200);
  assert.equal((await settings(acme.token)).status, 403, "another site's token is no key to this one");
  assert.match(cliFails("site", "token", "nobody", "--data", data).stderr, /no site "nobody"/);

  const list = JSON.parse(cli("site", "list", "--json", "--data", data));
  const current = (await request(`${server.url}/v1/sites/acme`, { headers: admin(acme.token) })).body.version;
  assert.deepEqual(list.find((s) => s.site === "acme"), {
    site: "acme", key: acme.key, mode: "review", identity: "off",
    origins: ["https://app.example.com", "http://localhost:3000"], version: current ?? null,
  });
  assert.equal(list.find((s) => s.site === "beta").version, null);
  const text = cli("site", "list", "--data", data);
  assert.match(text, /^beta {2}review mode, not published {2}key pk_[0-9a-f]{32} {2}origins https:\/\/beta\.example\.com$/m);
  for (const t of [acme.token, beta.token, token]) assert.equal(text.includes(t), false);
});
