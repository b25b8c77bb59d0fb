// Times one learning run over 20,000 signals (DESIGN.md's budget: <= 60 s on 2 cores): a real
// server on a fresh data directory with HWU64's 10-shot history published, then questions from the
// stream sent as signal batches (query, shown, then resolved or escalated) and helpdesk
// resolutions for the escalated ones, then POST .../train in autonomous mode, timed around the
// request. node learning-bench.mjs DATA_DIR OUT.json [SIGNALS]
import fs from "node:fs";
import path from "node:path";
import {
  admin, batchId, cli, createSite, request, signalsRequest, startServer, tempDir,
} from "../server/server.mjs";

const [hwu, outPath, count = "20000"] = process.argv.slice(2);
if (!hwu || !outPath) {
  console.error("usage: node learning-bench.mjs HWU64_DIR OUT.json [SIGNALS]");
  process.exit(2);
}
const signals = Number(count);
const data = tempDir("loopwise-learning-bench-");
const site = createSite(data, "bench");
cli("import", "articles", "--site", "bench", "--data", data, path.join(hwu, "kb.jsonl"));
cli("import", "history", "--site", "bench", "--data", data, path.join(hwu, "history-10shot.jsonl"));
cli("publish", "--site", "bench", "--data", data);
const server = await startServer(data, ["--learn-every", "0", "--client-rate", "0", "--site-rate", "0"]);
const base = `${server.url}/v1/sites/bench`;
try {
  let r = await request(base, {
    method: "PUT", headers: admin(site.token, { "Content-Type": "application/json" }),
    body: JSON.stringify({ mode: "autonomous" }),
  });
  if (r.status !== 200) throw new Error(`PUT mode: ${r.status}`);
  const stream = fs.readFileSync(path.join(hwu, "stream-10shot.jsonl"), "utf8").trim().split("\n")
    .map((l) => JSON.parse(l));
  const articles = [...new Set(stream.map((q) => q.article))];
  // Three events a question: deterministic outcomes, a fifth escalated and labelled by an agent.
  const events = [], resolutions = [];
  for (let i = 0; events.length < signals; ++i) {
    const q = stream[i % stream.length];
    const other = articles[(articles.indexOf(q.article) + 1) % articles.length];
    const common = {
      ts: 1767225600000 + i * 1000, session: `s-${i}`, query_id: `q-${i}`, query: q.text,
      bundle: "1", context: {}, confidence: 0.6,
    };
    events.push({ ...common, type: "query" });
    if (i % 5 === 4) {
      events.push({ ...common, type: "shown", shown: [other] });
      events.push({ ...common, type: "escalated" });
      resolutions.push({ query_id: common.query_id, text: q.text, article: q.article });
    } else {
      events.push({ ...common, type: "shown", shown: [q.article, other] });
      events.push({ ...common, type: "resolved", article: q.article });
    }
  }
  events.length = signals;
  for (let b = 0; b < events.length; b += 500) {
    r = await request(`${base}/signals`, signalsRequest(site.key, { batch_id: batchId(), events: events.slice(b, b + 500) }));
    if (r.status !== 202) throw new Error(`signals: ${r.status} ${JSON.stringify(r.body)}`);
  }
  r = await request(`${base}/resolutions`, {
    method: "POST", headers: admin(site.token, { "Content-Type": "application/json" }), body: JSON.stringify(resolutions),
  });
  if (r.status !== 200) throw new Error(`resolutions: ${r.status}`);
  const start = performance.now();
  r = await request(`${base}/train`, { method: "POST", headers: admin(site.token) });
  const seconds = (performance.now() - start) / 1000;
  if (r.status !== 200) throw new Error(`train: ${r.status} ${JSON.stringify(r.body)}`);
  const result = {
    signals: r.body.signals, resolutions: r.body.resolutions, questions: r.body.questions,
    accepted: r.body.accepted, outcome: r.body.outcome, version: r.body.version,
    build_ms: r.body.build_ms, seconds: Math.round(seconds * 10) / 10,
  };
  fs.writeFileSync(outPath, JSON.stringify(result, null, 2) + "\n");
  console.log(JSON.stringify(result));
} finally {
  await server.stop();
  fs.rmSync(data, { recursive: true, force: true });
}
