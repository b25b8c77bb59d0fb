// The ranker model in a real browser (Debian's Chromium, headless). A real sync server publishes a
// bundle carrying ranker.onnx and serves the widget with ONNX Runtime Web; the real ranker worker
// runs the model in Chromium, and the server's own C++ evaluator (build/native/tests/
// ranker_model_tool) runs the same model on the same rows: they must agree within 1e-5. Then the
// re-ranking itself: a model exported to reverse the engine's order does reverse it, both through
// the reranker and in the panel after the first answer, and a page without workers keeps the
// engine's order.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { createSite, importFixtures, repoRoot, startServer, tempDir } from "../server/server.mjs";
import { launchChromium } from "./demo-site.mjs";

const tool = path.join(repoRoot, "build/native/tests/ranker_model_tool");
const QUERY = "I forgot my password and can't log in";
const ROWS = 1000;
let data, server, browser, site, hostServer, hostUrl;
let bundleSha, bundleBytes, reversedBundle;
const files = {}; // what the host origin serves besides its pages

function runTool(...args) {
  return execFileSync(tool, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

// A seeded generator (mulberry32), so a failure can be replayed.
function random(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Rows shaped like the engine's signals: a log-probability in [-20, 0], the others in [-1, 1.5];
// float32 values, so both sides read exactly the same numbers.
function featureRows(n, seed) {
  const next = random(seed);
  const rows = [];
  for (let i = 0; i < n; ++i) {
    rows.push([-20 * next(), ...Array.from({ length: 4 }, () => -1 + 2.5 * next())].map(Math.fround));
  }
  return rows;
}

function hostPage(serverUrl, key) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme settings</title>
<script>window.Loopwise = window.Loopwise || { q: [] }; window.answers = [];
Loopwise.q.push(["on", "answer", function (d) { window.answers.push(d); window.answeredAt = performance.now(); }]);</script>
<script src="${serverUrl}/widget/loopwise.js" data-site="acme" data-key="${key}" async></script>
</head><body><h1>Account settings</h1></body></html>`;
}

before(async () => {
  assert.ok(fs.existsSync(path.join(repoRoot, "web/dist/loopwise-ranker-worker.js")), "run scripts/build-web first");
  assert.ok(fs.existsSync(path.join(repoRoot, "web/dist/ort/ort.wasm.min.js")), "run scripts/build-web first");
  assert.ok(fs.existsSync(tool), `${tool} is missing: run scripts/build native`);
  data = tempDir("loopwise-onnx-");
  hostServer = http.createServer((req, res) => {
    const file = files[req.url];
    if (file) {
      res.writeHead(200, { "Content-Type": file.type });
      res.end(file.body);
      return;
    }
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(req.url === "/blank" ? "<!doctype html><title>blank</title>" : hostPage(server.url, site.key));
  });
  await new Promise((resolve) => hostServer.listen(0, "127.0.0.1", resolve));
  hostUrl = `http://127.0.0.1:${hostServer.address().port}`;
  site = createSite(data, "acme", hostUrl);
  importFixtures(data, "acme");
  server = await startServer(data);

  // The published bundle, and the same bundle carrying a model that reverses the engine's order.
  const manifest = await (await fetch(`${server.url}/v1/sites/acme/manifest`, {
    headers: { "X-Loopwise-Key": site.key } })).json();
  bundleSha = manifest.bundle.sha256;
  bundleBytes = Buffer.from(await (await fetch(`${server.url}/v1/bundles/${bundleSha}`)).arrayBuffer());
  fs.writeFileSync(path.join(data, "bundle.bin"), bundleBytes);
  runTool("export", "--bundle", path.join(data, "bundle.bin"), "--scale", "-1",
    "--out", path.join(data, "reversed.onnx"), "--bundle-out", path.join(data, "reversed.bin"));
  reversedBundle = fs.readFileSync(path.join(data, "reversed.bin"));
  runTool("export", "--mlp", "16", "--seed", "7", "--out", path.join(data, "mlp.onnx"));

  const reranker = execFileSync(path.join(repoRoot, "node_modules/.bin/esbuild"),
    [path.join(repoRoot, "web/widget/reranker.ts"), "--bundle", "--format=esm", "--target=es2019"],
    { encoding: "utf8" });
  files["/reranker.mjs"] = { type: "text/javascript", body: reranker };
  files["/bundle.bin"] = { type: "application/octet-stream", body: bundleBytes };
  files["/reversed.onnx"] = { type: "application/octet-stream", body: fs.readFileSync(path.join(data, "reversed.onnx")) };
  files["/mlp.onnx"] = { type: "application/octet-stream", body: fs.readFileSync(path.join(data, "mlp.onnx")) };
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
  if (hostServer) hostServer.close();
  if (data) fs.rmSync(data, { recursive: true, force: true });
});

// Loads the engine (from the server's /widget/) on a blank page of the host origin, with the
// published bundle.
async function enginePage(context) {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") errors.push(m.text()); });
  await page.goto(`${hostUrl}/blank`);
  await page.evaluate(async (serverUrl) => {
    const { default: create } = await import(`${serverUrl}/widget/loopwise-engine.mjs`);
    const wasm = await (await fetch(`${serverUrl}/widget/loopwise-engine.wasm`)).arrayBuffer();
    const module = await create({ wasmBinary: wasm });
    const bytes = new Uint8Array(await (await fetch("/bundle.bin")).arrayBuffer());
    window.engine = module.Engine.create(bytes);
  }, server.url);
  return { page, errors };
}

// Scores rows with the real ranker worker (web/dist/loopwise-ranker-worker.js, served by the sync
// server) and ONNX Runtime Web, exactly as the widget starts it.
function workerScores(page, model, rows) {
  return page.evaluate(async ({ serverUrl, model, rows }) => {
    const source = `importScripts(${JSON.stringify(`${serverUrl}/widget/loopwise-ranker-worker.js`)});`;
    const worker = new Worker(URL.createObjectURL(new Blob([source], { type: "text/javascript" })));
    const call = (message, transfer) => new Promise((resolve, reject) => {
      worker.onmessage = (e) => (e.data.ok ? resolve(e.data) : reject(new Error(e.data.error)));
      worker.onerror = (e) => reject(new Error(`worker failed: ${e.message}`));
      worker.postMessage(message, transfer);
    });
    const bytes = model === "bundle" ? window.engine.rankerModel()
      : new Uint8Array(await (await fetch(`/${model}`)).arrayBuffer());
    const buffer = bytes.slice().buffer;
    const t0 = performance.now();
    await call({ type: "model", id: 1, ort: `${serverUrl}/widget/ort/`, model: buffer }, [buffer]);
    const t1 = performance.now();
    const flat = new Float32Array(rows.flat());
    const reply = await call({ type: "score", id: 2, rows: flat, n: rows.length, width: 5 }, [flat.buffer]);
    const t2 = performance.now();
    // What one answer costs: its (up to) 10 candidates, once the model is loaded.
    const ten = [];
    for (let i = 0; i < 20; ++i) {
      const few = new Float32Array(rows.slice(0, 10).flat());
      const s = performance.now();
      await call({ type: "score", id: 3 + i, rows: few, n: 10, width: 5 }, [few.buffer]);
      ten.push(performance.now() - s);
    }
    worker.terminate();
    ten.sort((a, b) => a - b);
    return { scores: Array.from(reply.scores), model: Array.from(bytes),
      ms: { load: t1 - t0, rows: t2 - t1, ten: ten[10] } };
  }, { serverUrl: server.url, model, rows });
}

function maxAbsDiff(a, b) {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; ++i) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

test("ONNX Runtime Web in the worker and the C++ evaluator agree on 1,000 random rows", async () => {
  const context = await browser.newContext();
  const { page, errors } = await enginePage(context);
  const rows = featureRows(ROWS, 20261126);
  fs.writeFileSync(path.join(data, "rows.json"), JSON.stringify(rows));
  for (const model of ["bundle", "mlp.onnx"]) {
    const browserSide = await workerScores(page, model, rows);
    const modelPath = path.join(data, `parity-${model}.onnx`);
    fs.writeFileSync(modelPath, Buffer.from(browserSide.model));
    const native = JSON.parse(runTool("score", "--model", modelPath, "--rows", path.join(data, "rows.json"))).scores;
    const diff = maxAbsDiff(browserSide.scores, native);
    const spread = Math.max(...native) - Math.min(...native);
    const ms = browserSide.ms;
    console.log(`# ${model === "bundle" ? "the bundle's ranker.onnx" : "a 16-unit MLP"}: ${ROWS} rows, ` +
      `max abs diff ${diff.toExponential(2)} (scores span ${spread.toFixed(2)}); worker: ONNX Runtime ` +
      `and model loaded in ${ms.load.toFixed(0)} ms, ${ROWS} rows scored in ${ms.rows.toFixed(1)} ms, ` +
      `10 rows in ${ms.ten.toFixed(2)} ms (median of 20)`);
    assert.ok(diff <= 1e-5, `max abs diff ${diff} over 1e-5 for ${model}`);
    assert.ok(spread > 1, "the rows give scores that differ, so agreement means something");
  }
  assert.deepEqual(errors, []);
  await context.close();
});

test("the bundle's model ranks as the engine; a model that says otherwise re-orders", async () => {
  const context = await browser.newContext();
  const { page, errors } = await enginePage(context);
  const outcome = await page.evaluate(async ({ serverUrl, query }) => {
    const { rerank } = await import("/reranker.mjs");
    const result = window.engine.search(query, JSON.stringify({ route: "/settings/security" }), 10);
    const reversed = new Uint8Array(await (await fetch("/reversed.onnx")).arrayBuffer());
    const assets = `${serverUrl}/widget/`;
    const same = await rerank(assets, window.engine.rankerModel(), result.ranked);
    const other = await rerank(assets, reversed, result.ranked);
    return {
      ids: result.ranked.map((r) => r.article),
      scores: result.ranked.map((r) => r.score),
      features: result.ranked.map((r) => r.features),
      same,
      other: other && other.map((r) => r.article),
    };
  }, { serverUrl: server.url, query: QUERY });
  assert.ok(outcome.ids.length >= 3, `the query ranks several articles: ${outcome.ids}`);
  assert.equal(outcome.ids[0], "reset-password");
  assert.equal(new Set(outcome.scores).size, outcome.scores.length, "distinct scores, so the order is strict");
  for (const f of outcome.features) assert.equal(f.length, 5);
  assert.equal(outcome.same, null, "the default model agrees with the engine, so nothing is re-drawn");
  assert.deepEqual(outcome.other, [...outcome.ids].reverse());
  assert.deepEqual(errors, []);
  await context.close();
});

// The widget on a host page, its bundle's model replaced in flight by the reversing one (with the
// manifest naming that bundle's sha256, so it verifies): the first answer is the engine's, then
// the panel re-draws the cards in the model's order.
async function widgetWithReversedModel(context) {
  const reversedSha = crypto.createHash("sha256").update(reversedBundle).digest("hex");
  await context.route(`${server.url}/v1/sites/acme/manifest`, async (route) => {
    const response = await route.fetch();
    const manifest = await response.json();
    manifest.bundle = { ...manifest.bundle, sha256: reversedSha, url: `/v1/bundles/${reversedSha}`,
      bytes: reversedBundle.length };
    await route.fulfill({ response, json: manifest });
  });
  await context.route(`${server.url}/v1/bundles/${reversedSha}`, (route) =>
    route.fulfill({ status: 200, body: reversedBundle,
      headers: { "access-control-allow-origin": "*", "content-type": "application/octet-stream" } }));
  const page = await context.newPage();
  const log = [];
  page.on("console", (m) => log.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => log.push(`pageerror: ${e.message}`));
  await page.goto(`${hostUrl}/settings/security`);
  await page.getByRole("button", { name: "Help" }).click();
  const dialog = page.getByRole("dialog", { name: "Help" });
  const input = dialog.getByRole("textbox", { name: "Your question" });
  await input.fill(QUERY);
  await input.press("Enter");
  await page.waitForFunction(() => window.answers.length === 1, null, { timeout: 15000 });
  return { page, dialog, log };
}

async function engineOrder() {
  const context = await browser.newContext();
  const { page } = await enginePage(context);
  const ranked = await page.evaluate((query) => window.engine.search(query,
    JSON.stringify({ route: "/settings/security" }), 10).ranked.map((r) => r.title), QUERY);
  await context.close();
  return ranked;
}

test("the panel answers first, then re-draws the cards in the model's order", async () => {
  const titles = await engineOrder();
  const context = await browser.newContext();
  const ortRequests = [];
  context.on("requestfinished", async (request) => {
    if (!request.url().includes("/widget/ort/")) return;
    const response = await request.response();
    ortRequests.push(`${path.basename(new URL(request.url()).pathname)} ${response.status()} ${response.headers()["content-type"]}`);
  });
  const { page, dialog, log } = await widgetWithReversedModel(context);
  // The first answer is the engine's order: it never waited for the model.
  const first = await page.evaluate(() => window.answers[0].articles);
  assert.equal(first[0], "reset-password");
  const heading = dialog.getByRole("heading", { level: 3 }).first();
  try {
    await page.waitForFunction((expected) => {
      const root = document.querySelector("[data-loopwise]").shadowRoot;
      const h = root.querySelector("h3");
      return h && h.textContent === expected;
    }, titles[titles.length - 1], { timeout: 20000 });
  } catch (e) {
    throw new Error(`${e.message}\nfirst heading: ${await heading.textContent()}\nbrowser console:\n${log.join("\n")}`);
  }
  const redrawMs = await page.evaluate(() => performance.now() - window.answeredAt);
  console.log(`# the cards were re-drawn in the model's order ${redrawMs.toFixed(0)} ms after the answer ` +
    "(ONNX Runtime loaded cold in that time)");
  const shown = await dialog.getByRole("heading", { level: 3 }).allTextContents();
  assert.deepEqual(shown, [...titles].reverse().slice(0, shown.length));
  console.log(`# ONNX Runtime files the worker fetched: ${ortRequests.join("; ") || "(not visible to the page's context)"}`);
  if (ortRequests.length) {
    assert.deepEqual(ortRequests.map((r) => r.split(" ")[0]).sort(),
      ["ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm", "ort.wasm.min.js"]);
    for (const r of ortRequests) assert.match(r, / 200 (text\/javascript|application\/wasm)/);
  }
  await context.close();
});

test("without Web Workers the panel keeps the engine's order, quietly", async () => {
  const titles = await engineOrder();
  const context = await browser.newContext();
  await context.addInitScript(() => { delete window.Worker; });
  const { page, dialog, log } = await widgetWithReversedModel(context);
  await dialog.getByText("Did this solve it?").waitFor({ timeout: 15000 });
  await page.waitForTimeout(1500);
  assert.deepEqual(await dialog.getByRole("heading", { level: 3 }).allTextContents(), titles.slice(0, 3));
  assert.ok(!log.some((l) => l.startsWith("pageerror")), log.join("\n"));
  await context.close();
});

test("when ONNX Runtime cannot load, the panel keeps the engine's order and says why in the console", async () => {
  const titles = await engineOrder();
  const context = await browser.newContext();
  await context.route(`${server.url}/widget/ort/ort-wasm-simd-threaded.wasm`,
    (route) => route.fulfill({ status: 404, body: "gone" }));
  const { page, dialog, log } = await widgetWithReversedModel(context);
  await dialog.getByText("Did this solve it?").waitFor({ timeout: 15000 });
  const deadline = Date.now() + 15000;
  while (!log.some((l) => l.includes("re-ranking is unavailable")) && Date.now() < deadline) {
    await page.waitForTimeout(200);
  }
  assert.ok(log.some((l) => l.startsWith("warning: Loopwise: answers keep the engine's order")), log.join("\n"));
  assert.deepEqual(await dialog.getByRole("heading", { level: 3 }).allTextContents(), titles.slice(0, 3));
  assert.ok(!log.some((l) => l.startsWith("pageerror")), log.join("\n"));
  await context.close();
});

test("the server serves ONNX Runtime from /widget/ort/ with WebAssembly precompressed, and nothing beside it", async () => {
  const get = (file, headers = {}) => fetch(`${server.url}/widget/${file}`, { headers });
  const wasmPath = path.join(repoRoot, "web/dist/ort/ort-wasm-simd-threaded.wasm");
  const gz = await get("ort/ort-wasm-simd-threaded.wasm", { "Accept-Encoding": "gzip" });
  assert.equal(gz.status, 200);
  assert.equal(gz.headers.get("content-type"), "application/wasm");
  assert.equal(gz.headers.get("content-encoding"), "gzip");
  // fetch decompresses: the bytes are ORT's own.
  assert.ok(Buffer.from(await gz.arrayBuffer()).equals(fs.readFileSync(wasmPath)));
  const plain = await get("ort/ort-wasm-simd-threaded.wasm", { "Accept-Encoding": "identity" });
  assert.equal(plain.headers.get("content-encoding"), null);
  assert.equal((await plain.arrayBuffer()).byteLength, fs.statSync(wasmPath).size);
  for (const [file, type] of [["ort/ort.wasm.min.js", "text/javascript"],
    ["ort/ort-wasm-simd-threaded.mjs", "text/javascript"], ["loopwise-ranker-worker.js", "text/javascript"]]) {
    const res = await get(file);
    assert.equal(res.status, 200, file);
    assert.match(res.headers.get("content-type"), new RegExp(`^${type}`), file);
    await res.arrayBuffer();
  }
  for (const file of ["ort/..%2Floopwise.js", "ort/.hidden", "ort/a/b", "ort/",
    "admin/index.html", "..%2F..%2Fpackage.json"]) {
    const res = await get(file);
    assert.equal(res.status, 404, file);
    await res.arrayBuffer();
  }
});
