// The ranker worker: runs the bundle's ranker.onnx in ONNX Runtime Web, off the host page's main
// thread. ONNX Runtime is loaded on the first model, from the sync server that served the widget
// (`<assets>ort/`: ort.wasm.min.js, the plain WebAssembly build, and its .mjs and .wasm), never
// from a CDN; single-threaded, since threads need cross-origin isolation that host pages rarely
// have.
//
// Messages in: {type: "model", id, ort: absolute URL of the ort/ folder, model: ArrayBuffer}
//              {type: "score", id, rows: Float32Array (n x width, row-major), n, width}
// Messages out: {id, ok: true, scores?: Float32Array} or {id, ok: false, error: string}

import type * as Ort from "onnxruntime-web";

export interface ModelMessage {
  type: "model";
  id: number;
  ort: string;
  model: ArrayBuffer;
}

export interface ScoreMessage {
  type: "score";
  id: number;
  rows: Float32Array;
  n: number;
  width: number;
}

export type WorkerReply = { id: number; ok: true; scores?: Float32Array } | { id: number; ok: false; error: string };

interface WorkerScope {
  ort?: typeof Ort;
  importScripts(...urls: string[]): void;
  postMessage(message: WorkerReply, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<ModelMessage | ScoreMessage>) => void) | null;
}

const scope = self as unknown as WorkerScope;
let session: Promise<Ort.InferenceSession> | null = null;

function loadRuntime(base: string): typeof Ort {
  if (!scope.ort) {
    if (!/^https?:\/\//.test(base)) throw new Error(`the ONNX Runtime folder must be an absolute URL (got ${base})`);
    scope.importScripts(base + "ort.wasm.min.js");
    const ort = scope.ort as typeof Ort | undefined;
    if (!ort) throw new Error(`${base}ort.wasm.min.js did not define ort`);
    ort.env.wasm.wasmPaths = base;
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    ort.env.logLevel = "error";
  }
  return scope.ort as typeof Ort;
}

async function score(message: ScoreMessage): Promise<Float32Array> {
  if (!session) throw new Error("no ranker model has been loaded");
  const ort = scope.ort as typeof Ort;
  const s = await session;
  const features = new ort.Tensor("float32", message.rows, [message.n, message.width]);
  const out = await s.run({ features });
  const scores = out.scores;
  if (!scores || scores.type !== "float32" || scores.data.length !== message.n) {
    throw new Error(`the ranker model gave no float scores for ${message.n} rows`);
  }
  // A copy of its own: the tensor's data may be a view into memory the runtime keeps.
  return new Float32Array(scores.data as Float32Array);
}

scope.onmessage = (event) => {
  const message = event.data;
  const fail = (e: unknown): void =>
    scope.postMessage({ id: message.id, ok: false, error: e instanceof Error ? e.message : String(e) });
  try {
    if (message.type === "model") {
      const ort = loadRuntime(message.ort);
      const previous = session;
      session = ort.InferenceSession.create(new Uint8Array(message.model), { executionProviders: ["wasm"] });
      session.then(() => scope.postMessage({ id: message.id, ok: true }), fail);
      // A model replaced by a newer bundle's is released once the new one is ready.
      if (previous) void Promise.all([previous, session]).then(([old]) => old.release(), () => undefined);
    } else if (message.type === "score") {
      score(message).then((scores) => scope.postMessage({ id: message.id, ok: true, scores }, [scores.buffer]), fail);
    } else {
      fail(new Error("unknown message"));
    }
  } catch (e) {
    fail(e);
  }
};
