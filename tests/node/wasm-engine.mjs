// Loads the WebAssembly engine in Node. Node's fetch cannot read file paths, so the module gets its
// wasmBinary handed over directly.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const buildDir = path.join(repoRoot, "build/wasm/wasm");

export async function loadEngineModule() {
  const require = createRequire(import.meta.url);
  const createLoopwiseEngine = require(path.join(buildDir, "loopwise-engine.js"));
  return createLoopwiseEngine({ wasmBinary: fs.readFileSync(path.join(buildDir, "loopwise-engine.wasm")) });
}
