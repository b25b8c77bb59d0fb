// The widget's benchmark (DESIGN.md budgets), on the Tallyframe demo served by a real server:
//   sizes       gzip -9 of the loader, the panel and article chunks, the engine (.wasm and its
//               JavaScript), the ONNX Runtime Web files and the demo's published bundle
//   open        launcher click to interactive panel (the question box focused and enabled) with
//               everything cached, median of 20 reloads; also click to first answer
//   latency     the engine's search call in Chromium over the demo's 613 ticket questions, p50 / p99:
//               the widget's one search at load (where the browser compiles the engine's code), the
//               first pass right after it (V8's baseline tier still running much of it), then the
//               steady state after V8's optimizing tier has taken over; beside the native figure
//               from `loopwise eval` on the same articles, history and questions
// Prints a table and writes JSON: node tests/bench/widget-bench.mjs [OUT.json]
// Figures are measurements, never assertions.
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { admin, cli, repoRoot, request } from "../server/server.mjs";
import { knowledge, launchChromium, startDemo } from "../browser/demo-site.mjs";

const out = process.argv[2];
const RELOADS = 20;
// Passes over the questions before the steady-state one: V8 compiles WebAssembly lazily with its
// baseline tier and moves hot functions to its optimizing tier in the background, which takes
// a few thousand searches (millisecond pauses until then).
const WARM_PASSES = 5;

const gz = (file) => (fs.existsSync(file) ? zlib.gzipSync(fs.readFileSync(file), { level: 9 }).length : null);
const raw = (file) => (fs.existsSync(file) ? fs.statSync(file).size : null);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

function sizes(demoStore) {
  const dist = path.join(repoRoot, "web/dist");
  const ortDir = fs.existsSync(path.join(dist, "ort")) ? path.join(dist, "ort")
    : path.join(repoRoot, "node_modules/onnxruntime-web/dist");
  const bundles = path.join(demoStore, "bundles");
  const bundle = fs.readdirSync(bundles).find((f) => /^[0-9a-f]{64}$/.test(f));
  const files = {
    loader: path.join(dist, "loopwise.js"),
    panel: path.join(dist, "loopwise-panel.js"),
    article: path.join(dist, "loopwise-article.js"),
    engine_wasm: path.join(dist, "loopwise-engine.wasm"),
    engine_js: path.join(dist, "loopwise-engine.mjs"),
    ranker_worker: path.join(dist, "loopwise-ranker-worker.js"),
    ort_wasm: path.join(ortDir, "ort-wasm-simd-threaded.wasm"),
    ort_js: path.join(ortDir, "ort.wasm.min.js"),
    demo_bundle: path.join(bundles, bundle),
  };
  const result = {};
  for (const [name, file] of Object.entries(files)) {
    const shown = name === "demo_bundle" ? "the demo's published bundle" : path.relative(repoRoot, file);
    result[name] = { file: shown, bytes: raw(file), gzip_bytes: gz(file) };
  }
  return result;
}

// Launcher click to the question box focused and enabled, after a reload with every file in the
// HTTP cache and the bundle in Cache Storage; "answer" is the click to the first rendered answer.
// `warm`: the loader's idle warm-up has run before the click (what a visitor who reads the page for
// a moment gets). Otherwise the page has no requestIdleCallback (the loader then warms up after
// 2 s) and the click comes at once: the panel chunk, engine and bundle load from the caches inside
// the measured time.
async function openTimes(browser, url, warm) {
  const context = await browser.newContext();
  const page = await context.newPage();
  if (!warm) await page.addInitScript(() => { window.requestIdleCallback = undefined; });
  await page.goto(`${url}/settings/security`);
  await page.evaluate(() => new Promise((resolve) => {
    window.Loopwise.on("answer", resolve);
    window.Loopwise.ask("lost my phone, can't get the 2fa code");
  }));
  const open = [];
  const answer = [];
  for (let i = 0; i < RELOADS; i++) {
    await page.reload({ waitUntil: "load" });
    await page.waitForFunction(() => window.Loopwise && window.Loopwise.loaded === true);
    if (warm) await page.waitForTimeout(300);
    const t = await page.evaluate(() => new Promise((resolve) => {
      const root = document.querySelector("[data-loopwise]").shadowRoot;
      const launcher = root.querySelector(".launcher");
      const started = performance.now();
      let opened = 0;
      root.addEventListener("focusin", (e) => {
        const input = e.composedPath()[0];
        if (!opened && input instanceof HTMLInputElement && !input.disabled) {
          opened = performance.now() - started;
          input.value = "lost my phone, can't get the 2fa code";
          input.form.requestSubmit();
        }
      });
      window.Loopwise.on("answer", () => resolve({ open: opened, answer: performance.now() - started }));
      launcher.click();
    }));
    open.push(t.open);
    answer.push(t.answer);
  }
  await context.close();
  return {
    reloads: RELOADS,
    open_median_ms: round(median(open)), open_max_ms: round(Math.max(...open)),
    answer_median_ms: round(median(answer)), answer_max_ms: round(Math.max(...answer)),
  };
}

// The engine's search call timed in the page. The page is cross-origin isolated (COOP and COEP
// from this small host), so performance.now() is precise to 5 us rather than Chromium's 100 us.
async function browserLatency(browser, demo, queries) {
  const host = http.createServer((req, res) => {
    res.writeHead(200, {
      "Content-Type": "text/html; charset=utf-8",
      "Cross-Origin-Opener-Policy": "same-origin",
      "Cross-Origin-Embedder-Policy": "require-corp",
    });
    res.end("<!doctype html><title>engine latency</title><p>engine latency");
  });
  await new Promise((resolve) => host.listen(0, "127.0.0.1", resolve));
  const hostUrl = `http://127.0.0.1:${host.address().port}`;
  const put = await request(`${demo.url}/v1/sites/demo`, {
    method: "PUT", headers: admin(demo.token, { "Content-Type": "application/json" }),
    body: JSON.stringify({ origins: [demo.url, hostUrl] }),
  });
  if (put.status !== 200) throw new Error(`allowing the latency page's origin failed: ${JSON.stringify(put.body)}`);
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(hostUrl);
  const result = await page.evaluate(async ({ api, key, queries, warmPasses }) => {
    const assets = `${api}/widget/`;
    const create = (await import(assets + "loopwise-engine.mjs")).default;
    const wasm = await (await fetch(assets + "loopwise-engine.wasm")).arrayBuffer();
    const module = await create({ wasmBinary: wasm });
    const manifest = await (await fetch(`${api}/v1/sites/demo/manifest`, { headers: { "X-Loopwise-Key": key } })).json();
    const bytes = new Uint8Array(await (await fetch(`${api}/v1/bundles/${manifest.bundle.sha256}`)).arrayBuffer());
    const engine = module.Engine.create(bytes);
    // The search the widget runs once at load (web/widget/engine.ts), where the browser compiles
    // the engine's code.
    const loadStarted = performance.now();
    engine.search(engine.articles()[0].title, "{}", 1);
    const loadSearchMs = performance.now() - loadStarted;
    const context = JSON.stringify({ route: "/settings/security" });
    const pass = () => {
      const micros = [];
      const inside = [];
      for (const q of queries) {
        const started = performance.now();
        const r = engine.search(q, context, 10);
        micros.push((performance.now() - started) * 1000);
        inside.push(r.micros);
      }
      return { micros, inside };
    };
    const first = pass();
    for (let i = 1; i < warmPasses; i++) pass();
    return { loadSearchMs, first, steady: pass(), isolated: self.crossOriginIsolated, version: manifest.version };
  }, { api: demo.url, key: demo.key, queries, warmPasses: WARM_PASSES });
  await context.close();
  host.close();
  const { first, steady } = result;
  return {
    queries: steady.micros.length, cross_origin_isolated: result.isolated, warm_passes: WARM_PASSES,
    // Around the engine's Search inside the binding, as `loopwise eval` measures natively.
    p50_us: round(percentile(steady.inside, 0.5)), p99_us: round(percentile(steady.inside, 0.99)),
    // Around the JavaScript call: context JSON parsed, results turned into JavaScript objects.
    call_p50_us: round(percentile(steady.micros, 0.5)), call_p99_us: round(percentile(steady.micros, 0.99)),
    // The widget's search at load, then the first pass right after it.
    load_search_ms: round(result.loadSearchMs, 2),
    first_pass_p50_us: round(percentile(first.inside, 0.5)), first_pass_p99_us: round(percentile(first.inside, 0.99)),
    first_pass_max_us: round(Math.max(...first.inside)),
  };
}

// The same articles (as the store holds them), history and questions through `loopwise eval`.
async function nativeLatency(demo, lines, dir) {
  const res = await request(`${demo.url}/v1/sites/demo/articles`, { headers: admin(demo.token) });
  if (res.status !== 200) throw new Error(`reading the demo's articles failed: ${JSON.stringify(res.body)}`);
  const kb = path.join(dir, "demo-kb.jsonl");
  fs.writeFileSync(kb, res.body.articles.map((a) => JSON.stringify(a)).join("\n") + "\n");
  const test = path.join(dir, "demo-queries.jsonl");
  fs.writeFileSync(test, lines.join("\n") + "\n");
  const metrics = path.join(dir, "demo-native.json");
  cli("eval", "--kb", kb, "--history", path.join(knowledge, "history.jsonl"), "--test", test,
    "--predictions", path.join(dir, "demo-predictions.jsonl"), "--json", metrics);
  const m = JSON.parse(fs.readFileSync(metrics, "utf8"));
  return { queries: lines.length, p50_us: m.p50_us, p99_us: m.p99_us, top1: m.top1 };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "loopwise-widget-bench-"));
const demo = await startDemo();
const browser = await launchChromium();
try {
  const history = fs.readFileSync(path.join(knowledge, "history.jsonl"), "utf8").split("\n").filter((l) => l.trim());
  const lines = history;
  const queries = lines.map((l) => JSON.parse(l).text);
  const results = {
    machine: `${os.cpus().length} cores, ${os.cpus()[0].model}`,
    sizes: sizes(demo.store),
    open: await openTimes(browser, demo.url, true),
    open_cold: await openTimes(browser, demo.url, false),
    latency: {
      chromium: await browserLatency(browser, demo, queries),
      native: await nativeLatency(demo, lines, dir),
    },
  };
  const { sizes: s, open, open_cold: cold, latency } = results;
  const kb = (x) => (x == null ? "-" : `${round(x / 1024)} KB`);
  console.log(`machine: ${results.machine}`);
  console.log("| file | raw | gzip -9 |");
  console.log("| --- | --- | --- |");
  for (const [name, f] of Object.entries(s)) console.log(`| ${name} (${f.file}) | ${kb(f.bytes)} | ${kb(f.gzip_bytes)} |`);
  console.log(`launcher click to interactive panel, cached: median ${open.open_median_ms} ms, max ${open.open_max_ms} ms ` +
    `(${open.reloads} reloads); click to first answer: median ${open.answer_median_ms} ms, max ${open.answer_max_ms} ms`);
  console.log(`  clicked before the idle warm-up: interactive median ${cold.open_median_ms} ms, max ${cold.open_max_ms} ms; ` +
    `first answer median ${cold.answer_median_ms} ms, max ${cold.answer_max_ms} ms`);
  console.log(`engine search, demo bundle, ${latency.chromium.queries} questions: Chromium p50 ${latency.chromium.p50_us} us, ` +
    `p99 ${latency.chromium.p99_us} us after ${latency.chromium.warm_passes} passes; the widget's search at load ` +
    `${latency.chromium.load_search_ms} ms, then the first pass ` +
    `p50 ${latency.chromium.first_pass_p50_us} us, p99 ${latency.chromium.first_pass_p99_us} us, ` +
    `max ${latency.chromium.first_pass_max_us} us (the JavaScript call: p50 ${latency.chromium.call_p50_us} us, ` +
    `p99 ${latency.chromium.call_p99_us} us; cross-origin isolated: ${latency.chromium.cross_origin_isolated}); ` +
    `native p50 ${latency.native.p50_us} us, p99 ${latency.native.p99_us} us`);
  if (out) {
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify(results, null, 2) + "\n");
  }
} finally {
  await browser.close();
  await demo.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
