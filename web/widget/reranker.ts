// Re-ranking on the main thread's side: starts the ranker worker (ranker-worker.ts) on first use,
// hands it the bundle's ranker.onnx once per model, sends the ranked articles' signal vectors and
// returns the order the model gives them. Never in the way: the panel shows the engine's order
// first and re-draws only if this answers with a different one; when Web Workers, WebAssembly or
// ONNX Runtime are unavailable (or a host page's Content-Security-Policy blocks them), it answers
// null and the engine's order stands.

import type { ModelMessage, ScoreMessage, WorkerReply } from "./ranker-worker";

// The first request also loads ONNX Runtime (its WebAssembly is about 3 MB).
const TIMEOUT_MS = 20000;

export interface Reranker {
  // Indices of `rows` best first, as the model scores them (ties keep their order); null when
  // re-ranking is not available.
  order(model: Uint8Array, rows: ArrayLike<number>[]): Promise<number[] | null>;
}

function sameBytes(a: Uint8Array | null, b: Uint8Array): boolean {
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; ++i) if (a[i] !== b[i]) return false;
  return true;
}

// `assets` is where the widget's files are (…/widget/); the worker and ONNX Runtime come from
// there. The worker starts from a blob that imports the script, since a worker's script must be
// on the page's origin and the widget's usually is not.
export function createReranker(assets: string): Reranker {
  let worker: Worker | null = null;
  let broken = typeof Worker !== "function" || typeof WebAssembly !== "object" || typeof Blob !== "function";
  let nextId = 1;
  const pending = new Map<number, (reply: WorkerReply) => void>();
  let loaded: Uint8Array | null = null;
  let ready: Promise<boolean> = Promise.resolve(false);

  const giveUp = (why: unknown): void => {
    if (!broken) console.warn("Loopwise: answers keep the engine's order (re-ranking is unavailable here).", why);
    broken = true;
    if (worker) worker.terminate();
    worker = null;
    for (const resolve of pending.values()) resolve({ id: 0, ok: false, error: "the ranker worker stopped" });
    pending.clear();
  };

  const start = (): Worker | null => {
    if (worker || broken) return worker;
    try {
      const base = new URL(assets, location.href).href;
      const source = `importScripts(${JSON.stringify(base + "loopwise-ranker-worker.js")});`;
      const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
      worker = new Worker(url);
      URL.revokeObjectURL(url);
      worker.onmessage = (e: MessageEvent<WorkerReply>) => {
        const resolve = pending.get(e.data.id);
        pending.delete(e.data.id);
        if (resolve) resolve(e.data);
      };
      worker.onerror = (e) => {
        e.preventDefault();
        giveUp(e.message || "the ranker worker failed to start");
      };
    } catch (e) {
      giveUp(e);
    }
    return worker;
  };

  const send = (message: ModelMessage | ScoreMessage, transfer: Transferable[]): Promise<WorkerReply> => {
    const w = start();
    if (!w) return Promise.resolve({ id: message.id, ok: false, error: "no ranker worker" });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        pending.delete(message.id);
        resolve({ id: message.id, ok: false, error: `no answer in ${TIMEOUT_MS} ms` });
      }, TIMEOUT_MS);
      pending.set(message.id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      w.postMessage(message, transfer);
    });
  };

  const useModel = (model: Uint8Array): Promise<boolean> => {
    if (sameBytes(loaded, model)) return ready;
    loaded = model.slice();
    const copy = model.slice().buffer;
    const ort = new URL(assets, location.href).href + "ort/";
    ready = send({ type: "model", id: nextId++, ort, model: copy }, [copy]).then((reply) => {
      if (!reply.ok) giveUp(reply.error);
      return reply.ok;
    });
    return ready;
  };

  return {
    async order(model, rows) {
      if (broken || rows.length === 0) return null;
      const width = rows[0].length;
      if (!width || rows.some((r) => !r || r.length !== width)) return null;
      if (!(await useModel(model))) return null;
      const flat = new Float32Array(rows.length * width);
      rows.forEach((r, i) => flat.set(Array.from(r), i * width));
      const reply = await send({ type: "score", id: nextId++, rows: flat, n: rows.length, width }, [flat.buffer]);
      if (!reply.ok || !reply.scores || reply.scores.length !== rows.length) return null;
      const scores = reply.scores;
      if (!scores.every((s) => Number.isFinite(s))) return null;
      return rows.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
    },
  };
}

const rerankers = new Map<string, Reranker>();

// `ranked` re-ordered by the bundle's ranker model (each entry's `features` are its signals, in
// the model's input order), or null when the order stays as it is: no model, no features,
// re-ranking unavailable, or the model agrees with the engine.
export async function rerank<T extends { features?: ArrayLike<number> }>(
  assets: string,
  model: Uint8Array | null,
  ranked: T[],
): Promise<T[] | null> {
  if (!model || model.length === 0 || ranked.length < 2) return null;
  const rows = ranked.map((r) => r.features);
  if (rows.some((r) => !r)) return null;
  let reranker = rerankers.get(assets);
  if (!reranker) rerankers.set(assets, (reranker = createReranker(assets)));
  const order = await reranker.order(model, rows as ArrayLike<number>[]).catch(() => null);
  if (!order || order.every((i, k) => i === k)) return null;
  return order.map((i) => ranked[i]);
}
