// The engine (WebAssembly, built from wasm/) and the site's bundle, as the panel uses them.
// The bundle is used only after its bytes hash to the sha256 the manifest names.

import type { WidgetConfig } from "./contract";

export interface RankedArticle {
  article: string;
  title: string;
  score: number;
}

export interface SearchResult {
  ranked: RankedArticle[];
  confidence: number;
  gap: boolean;
  micros: number;
}

export interface ArticleRecord {
  id: string;
  title: string;
  body: string;
  tags: string[];
  pages: string[];
}

interface EngineHandle {
  search(query: string, contextJson: string, k: number): SearchResult;
  articles(): ArticleRecord[];
}

interface EngineModule {
  Engine: { create(bytes: Uint8Array): EngineHandle };
  foldRoute(route: string): string;
  scrub(text: string): string;
}

type CreateEngineModule = (options: { wasmBinary: ArrayBuffer }) => Promise<EngineModule>;

export interface Manifest {
  site: string;
  version: number;
  bundle: { url: string; sha256: string; bytes: number };
  published_at: string;
}

// A loaded engine answering from one verified bundle.
export interface Answerer {
  manifest: Manifest;
  search(query: string, context: Record<string, unknown>, k: number): SearchResult;
  article(id: string): ArticleRecord | undefined;
  scrub(text: string): string;
  // The route with ids and tokens folded to :id.
  foldRoute(route: string): string;
}

async function fetchOk(url: string, init?: RequestInit): Promise<Response> {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return res;
}

function hex(buffer: ArrayBuffer): string {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function loadModule(assets: string): Promise<EngineModule> {
  if (typeof WebAssembly !== "object") throw new Error("this browser has no WebAssembly");
  const [chunk, wasm] = await Promise.all([
    import(/* @vite-ignore */ assets + "loopwise-engine.mjs") as Promise<{
      default: CreateEngineModule;
    }>,
    fetchOk(assets + "loopwise-engine.wasm").then((r) => r.arrayBuffer()),
  ]);
  return chunk.default({ wasmBinary: wasm });
}

async function loadBundle(config: WidgetConfig): Promise<{ manifest: Manifest; bytes: Uint8Array }> {
  const manifestUrl = `${config.api}/v1/sites/${encodeURIComponent(config.site)}/manifest`;
  const manifest = (await (
    await fetchOk(manifestUrl, { headers: { "X-Loopwise-Key": config.key } })
  ).json()) as Manifest;
  const expected = String(manifest.bundle && manifest.bundle.sha256).toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(expected)) throw new Error("the manifest names no bundle sha256");
  const bundleUrl = new URL(manifest.bundle.url || `/v1/bundles/${expected}`, config.api).href;
  if (!crypto || !crypto.subtle) throw new Error("the bundle cannot be verified here (no crypto.subtle)");
  const buffer = await (await fetchOk(bundleUrl)).arrayBuffer();
  const actual = hex(await crypto.subtle.digest("SHA-256", buffer));
  if (actual !== expected) {
    throw new Error(`bundle refused: its sha256 is ${actual}, the manifest says ${expected}`);
  }
  return { manifest, bytes: new Uint8Array(buffer) };
}

export async function loadAnswerer(config: WidgetConfig): Promise<Answerer> {
  const [module, bundle] = await Promise.all([loadModule(config.assets), loadBundle(config)]);
  const engine = module.Engine.create(bundle.bytes);
  const byId = new Map<string, ArticleRecord>();
  for (const a of engine.articles()) byId.set(a.id, a);
  return {
    manifest: bundle.manifest,
    search: (query, context, k) => engine.search(query, JSON.stringify(context), k),
    article: (id) => byId.get(id),
    scrub: (text) => module.scrub(text),
    foldRoute: (route) => module.foldRoute(route),
  };
}
