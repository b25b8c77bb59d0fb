// Answer quality on a knowledge base whose articles have bodies (HWU64's are titles only): the
// Tallyframe demo's 53 Markdown articles and its 613 tickets, through `loopwise eval`. The tickets
// are split per article at random (seeds 1-3): no history at all (every ticket a question), 1 or 3
// tickets an article as history, or half of all tickets; the rest are the questions. Prints mean
// top-1 and in-scope accuracy per split and writes them as JSON. Figures are measurements, never
// assertions. The demo's tickets were written with its articles, so they are a check of how bodies
// are used, not a benchmark of the wider world.
//   node tests/bench/bodies-eval.mjs [OUT.json]
import fs from "node:fs";
import path from "node:path";
import { cli, repoRoot, tempDir } from "../server/server.mjs";

const knowledge = path.join(repoRoot, "web/demo/knowledge");
const dir = tempDir("loopwise-bodies-eval-");
const jsonl = (file, rows) => fs.writeFileSync(file, rows.map((r) => JSON.stringify(r) + "\n").join(""));

// The demo's articles are Markdown with a small front matter: `key: value` or `key: [a, b]`.
const articles = fs.readdirSync(path.join(knowledge, "articles")).sort().map((name) => {
  const text = fs.readFileSync(path.join(knowledge, "articles", name), "utf8");
  const [, front, body] = text.match(/^---\n([\s\S]*?)\n---\n([\s\S]*)$/);
  const article = { body: body.trim() };
  for (const line of front.split("\n")) {
    const [key, ...rest] = line.split(":");
    const value = rest.join(":").trim();
    article[key.trim()] = value.startsWith("[") ? value.slice(1, -1).split(",").map((v) => v.trim()).filter(Boolean) : value;
  }
  return article;
});
const kb = path.join(dir, "kb.jsonl");
jsonl(kb, articles);
const tickets = fs.readFileSync(path.join(knowledge, "history.jsonl"), "utf8").split("\n").filter((l) => l.trim())
  .map((l) => JSON.parse(l));

function shuffled(rows, seed) {
  let s = seed >>> 0;
  const random = () => { // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...rows];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function split(kind, seed) {
  const rows = shuffled(tickets, seed);
  if (kind === "half") return [rows.slice(0, rows.length >> 1), rows.slice(rows.length >> 1)];
  const seen = new Map();
  const history = [], questions = [];
  for (const t of rows) {
    const n = seen.get(t.article) ?? 0;
    seen.set(t.article, n + 1);
    (n < kind ? history : questions).push(t);
  }
  return [history, questions];
}

function evaluate(history, questions) {
  jsonl(path.join(dir, "h.jsonl"), history);
  jsonl(path.join(dir, "t.jsonl"), questions);
  cli("eval", "--kb", kb, "--history", path.join(dir, "h.jsonl"), "--test", path.join(dir, "t.jsonl"),
    "--predictions", path.join(dir, "p.jsonl"), "--json", path.join(dir, "m.json"));
  return JSON.parse(fs.readFileSync(path.join(dir, "m.json"), "utf8"));
}

const results = {};
for (const kind of [0, 1, 3, "half"]) {
  const runs = kind === 0 ? [evaluate([], tickets)] : [1, 2, 3].map((seed) => evaluate(...split(kind, seed)));
  const mean = (key) => Math.round((runs.reduce((sum, m) => sum + m[key], 0) / runs.length) * 1e4) / 1e4;
  const name = kind === 0 ? "no history" : kind === "half" ? "half the tickets" : `${kind} per article`;
  results[name] = { runs: runs.length, top1: mean("top1"), in_scope_accuracy: mean("in_scope_accuracy") };
  console.log(`${name}: top-1 ${results[name].top1}, in-scope accuracy ${results[name].in_scope_accuracy} (${runs.length} split${runs.length > 1 ? "s" : ""})`);
}
if (process.argv[2]) fs.writeFileSync(process.argv[2], JSON.stringify(results, null, 2) + "\n");
fs.rmSync(dir, { recursive: true, force: true });
