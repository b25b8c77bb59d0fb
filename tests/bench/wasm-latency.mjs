// Times the WebAssembly engine in Node on a bundle and a query file, per query around the search
// call, after a warm-up: node wasm-latency.mjs BUNDLE QUERIES(.txt: one per line | .jsonl: {"text"})
import fs from "node:fs";
import { loadEngineModule } from "../node/wasm-engine.mjs";

const [bundlePath, queriesPath] = process.argv.slice(2);
if (!bundlePath || !queriesPath) {
  console.error("usage: node wasm-latency.mjs BUNDLE QUERIES");
  process.exit(2);
}
const lines = fs.readFileSync(queriesPath, "utf8").split("\n").filter((l) => l.trim());
const queries = queriesPath.endsWith(".jsonl") ? lines.map((l) => JSON.parse(l).text) : lines;

const module = await loadEngineModule();
const engine = module.Engine.create(fs.readFileSync(bundlePath));
for (const q of queries.slice(0, 100)) engine.search(q, "{}", 10);
const micros = queries.map((q) => {
  const start = performance.now();
  engine.search(q, "{}", 10);
  return (performance.now() - start) * 1000;
});
engine.delete();
micros.sort((a, b) => a - b);
const at = (p) => micros[Math.min(micros.length - 1, Math.floor(p * micros.length))];
console.log(JSON.stringify({ queries: micros.length, p50_us: +at(0.5).toFixed(1), p99_us: +at(0.99).toFixed(1) }));
