// The WebAssembly build answers exactly as the native build: same ranked articles, scores within
// 1e-5, on every HWU64 test query, from the same bundle; also from a bundle that learned from
// questions no article answers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadEngineModule, repoRoot } from "./wasm-engine.mjs";

const data = process.env.LOOPWISE_DATA ?? path.join(repoRoot, "../shared/data/hwu64");

// Builds a bundle natively from `kb` and `history` (eval, as publishing does), answers `testPath`
// with both engines and compares every answer.
async function checkParity(kb, history, testPath) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "loopwise-parity-"));
  const bundlePath = path.join(dir, "bundle.bin");
  const predictionsPath = path.join(dir, "native.jsonl");
  const historyPath = path.join(dir, "history.jsonl");
  fs.writeFileSync(historyPath, history);
  execFileSync(path.join(repoRoot, "bin/loopwise"), [
    "eval", "--kb", kb, "--history", historyPath, "--test", testPath, "--predictions", predictionsPath,
    "--save-bundle", bundlePath,
  ], { stdio: ["ignore", "ignore", "inherit"] });

  const queries = fs.readFileSync(testPath, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const native = fs.readFileSync(predictionsPath, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(native.length, queries.length);

  const module = await loadEngineModule();
  const engine = module.Engine.create(fs.readFileSync(bundlePath));
  let maxDiff = 0;
  try {
    queries.forEach((q, i) => {
      const wasm = engine.search(q.text, "{}", 10);
      const want = native[i];
      assert.deepEqual(wasm.ranked.map((r) => r.article), want.ranked.map((r) => r.article), `query ${i}: "${q.text}"`);
      wasm.ranked.forEach((r, j) => { maxDiff = Math.max(maxDiff, Math.abs(r.score - want.ranked[j].score)); });
      maxDiff = Math.max(maxDiff, Math.abs(wasm.confidence - want.confidence));
      assert.equal(wasm.gap, want.gap, `query ${i}: gap decision`);
    });
  } finally {
    engine.delete();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(maxDiff <= 1e-5, `largest score difference ${maxDiff}`);
  console.log(`parity: ${queries.length} queries, largest score difference ${maxDiff.toExponential(2)}`);
}

test("WebAssembly and native engines agree on the HWU64 test queries", async () => {
  await checkParity(path.join(data, "kb.jsonl"), fs.readFileSync(path.join(data, "history-10shot.jsonl"), "utf8"),
    path.join(data, "test.jsonl"));
});

test("they agree too with questions no article answered in the history", async () => {
  // The first 200 out-of-scope questions of the stream join the history as tickets no article answered.
  const oos = path.join(data, "oos");
  const unanswered = fs.readFileSync(path.join(oos, "stream-10shot.jsonl"), "utf8").trim().split("\n")
    .filter((l) => JSON.parse(l).article === null).slice(0, 200);
  assert.equal(unanswered.length, 200);
  await checkParity(path.join(oos, "kb.jsonl"),
    fs.readFileSync(path.join(oos, "history-10shot.jsonl"), "utf8") + unanswered.join("\n") + "\n",
    path.join(oos, "test.jsonl"));
});

test("a corrupt bundle is refused with the engine's message", async () => {
  const module = await loadEngineModule();
  assert.throws(() => module.Engine.create(new Uint8Array([1, 2, 3])), /not a Loopwise bundle/);
  assert.throws(() => module.Engine.create(new Uint8Array(0)), /loopwise engine:/);
});
