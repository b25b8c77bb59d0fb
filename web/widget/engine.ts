// The engine (WebAssembly, built from wasm/) and the site's bundle, as the panel uses them.
// The bundle is used only after its bytes hash to the sha256 the manifest names.

import type { WidgetConfig } from "./contract";

export interface RankedArticle {
  article: string;
  title: string;
  score: number;
  // Its signals, in the ranker model's input order (see rankerModel()).
  features?: number[];
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
  rankerModel(): Uint8Array | null;
  // Absent from engines built before the escalation model.
  offerHuman?(confidence: number, gap: boolean, earlierQuestions: number, notHelpful: number, query: string,
    contextJson: string): boolean;
  // Embind: frees the engine's memory inside the module.
  delete(): void;
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
  // The bundle's ranker.onnx (null in bundles without one); each ranked article's `features` are
  // its input row.
  rankerModel(): Uint8Array | null;
  // Whether the bundle's escalation model says to offer a human with this answer already (false
  // when the bundle has none): the question and context searched, the answer, the questions the
  // tab asked before and the answers it found not helpful.
  offerHuman(query: string, context: Record<string, unknown>, result: SearchResult, earlierQuestions: number,
    notHelpful: number): boolean;
  // Frees the engine; the answerer must not search afterwards (article() still works).
  dispose(): void;
}

async function fetchOk(url: string, init?: RequestInit): Promise<Response> {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return res;
}

function hex(buffer: ArrayBuffer): string {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

// One module (one WebAssembly instance) per page, whatever number of bundles it loads in turn.
let moduleLoad: Promise<EngineModule> | null = null;
function engineModule(assets: string): Promise<EngineModule> {
  if (!moduleLoad) {
    moduleLoad = loadModule(assets);
    moduleLoad.catch(() => {
      moduleLoad = null;
    });
  }
  return moduleLoad;
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

// Cache Storage holds each verified bundle under its sha256 (the key is its /v1/bundles/<sha256>
// URL) and the manifest of the last bundle that verified, with its ETag. Unavailable (not a
// secure context, storage blocked): every load goes to the network, still verified.
async function openCache(site: string): Promise<Cache | null> {
  try {
    return typeof caches === "object" ? await caches.open(`loopwise-bundles:${site}`) : null;
  } catch {
    return null;
  }
}

async function sha256(buffer: ArrayBuffer): Promise<string> {
  if (!crypto || !crypto.subtle) throw new Error("the bundle cannot be verified here (no crypto.subtle)");
  return hex(await crypto.subtle.digest("SHA-256", buffer));
}

function bundleSha(manifest: Manifest): string {
  const expected = String(manifest && manifest.bundle && manifest.bundle.sha256).toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(expected)) throw new Error("the manifest names no bundle sha256");
  return expected;
}

// The manifest's bundle, from the cache or the network; refused unless it hashes to the sha256
// the manifest names. A cached copy that no longer verifies is deleted and fetched again.
async function bundleBytes(config: WidgetConfig, manifest: Manifest, cache: Cache | null): Promise<Uint8Array> {
  const expected = bundleSha(manifest);
  const key = `${config.api}/v1/bundles/${expected}`;
  if (cache) {
    const hit = await cache.match(key).catch(() => undefined);
    if (hit) {
      const buffer = await hit.arrayBuffer();
      if ((await sha256(buffer)) === expected) return new Uint8Array(buffer);
      await cache.delete(key).catch(() => false);
    }
  }
  const url = new URL(manifest.bundle.url || `/v1/bundles/${expected}`, config.api).href;
  const buffer = await (await fetchOk(url)).arrayBuffer();
  const actual = await sha256(buffer);
  if (actual !== expected) {
    throw new Error(`bundle refused: its sha256 is ${actual}, the manifest says ${expected}`);
  }
  if (cache) await cache.put(key, new Response(buffer)).catch(() => undefined);
  return new Uint8Array(buffer);
}

// The current manifest, revalidated with If-None-Match against the last good one's ETag, and its
// verified bundle. When the manifest is unreachable, or names a bundle that cannot be fetched or
// does not verify, the last good bundle stays in service (with a warning); without one, the error
// is the caller's. With `inUse` (the sha256 of the bundle the page already runs): null when that is
// still the one to use, without reading it again.
async function loadBundle(
  config: WidgetConfig,
  inUse?: string,
): Promise<{ manifest: Manifest; bytes: Uint8Array } | null> {
  const manifestUrl = `${config.api}/v1/sites/${encodeURIComponent(config.site)}/manifest`;
  const cache = await openCache(config.site);
  const saved = cache ? await cache.match(manifestUrl).catch(() => undefined) : undefined;
  const good = saved ? ((await saved.json().catch(() => null)) as Manifest | null) : null;
  const etag = good && saved ? saved.headers.get("ETag") : null;
  const use = async (manifest: Manifest): Promise<{ manifest: Manifest; bytes: Uint8Array } | null> =>
    inUse && bundleSha(manifest) === inUse ? null : { manifest, bytes: await bundleBytes(config, manifest, cache) };
  const keepGood = async (why: unknown): Promise<{ manifest: Manifest; bytes: Uint8Array } | null> => {
    if (!good) throw why;
    console.warn(`Loopwise: ${why instanceof Error ? why.message : String(why)}; ` +
      `the last good bundle (version ${good.version}) stays in service.`);
    return use(good);
  };

  let res: Response;
  try {
    const headers: Record<string, string> = { "X-Loopwise-Key": config.key };
    if (etag) headers["If-None-Match"] = etag;
    res = await fetch(manifestUrl, { headers, cache: "no-store" });
  } catch (e) {
    return keepGood(new Error(`the manifest could not be fetched (${e instanceof Error ? e.message : e})`));
  }
  if (res.status === 304 && good) return use(good);
  if (!res.ok) return keepGood(new Error(`${manifestUrl} answered ${res.status}`));
  try {
    const manifest = (await res.json()) as Manifest;
    const loaded = await use(manifest);
    if (cache) {
      const headers: Record<string, string> = { "Content-Type": "application/json" };
      const tag = res.headers.get("ETag");
      if (tag) headers.ETag = tag;
      await cache.put(manifestUrl, new Response(JSON.stringify(manifest), { headers })).catch(() => undefined);
      // Bundles older than the new good one are never used again.
      const current = `${config.api}/v1/bundles/${bundleSha(manifest)}`;
      for (const request of await cache.keys().catch(() => [] as readonly Request[])) {
        if (request.url.includes("/v1/bundles/") && request.url !== current) void cache.delete(request);
      }
    }
    return loaded;
  } catch (e) {
    return keepGood(e);
  }
}

export async function loadAnswerer(config: WidgetConfig): Promise<Answerer> {
  const [module, bundle] = await Promise.all([engineModule(config.assets), loadBundle(config)]);
  return answerer(module, bundle as { manifest: Manifest; bytes: Uint8Array });
}

// Revalidates the manifest for a page that has been answering for a while: a new answerer when
// the site published a bundle that verifies, null when `current` is still the one to use.
export async function refreshAnswerer(config: WidgetConfig, current: Answerer): Promise<Answerer | null> {
  const [module, bundle] = await Promise.all([
    engineModule(config.assets),
    loadBundle(config, bundleSha(current.manifest)),
  ]);
  return bundle ? answerer(module, bundle) : null;
}

function answerer(module: EngineModule, bundle: { manifest: Manifest; bytes: Uint8Array }): Answerer {
  const engine = module.Engine.create(bundle.bytes);
  let disposed = false;
  const byId = new Map<string, ArticleRecord>();
  const articles = engine.articles();
  for (const a of articles) byId.set(a.id, a);
  // The browser compiles the engine's code on its first use: one search now, while the page is
  // idle or the panel opens, keeps that pause off the customer's first question.
  if (articles.length > 0) engine.search(articles[0].title, "{}", 1);
  return {
    manifest: bundle.manifest,
    search: (query, context, k) => engine.search(query, JSON.stringify(context), k),
    article: (id) => byId.get(id),
    scrub: (text) => module.scrub(text),
    foldRoute: (route) => module.foldRoute(route),
    rankerModel: () => (disposed ? null : engine.rankerModel()),
    // Cards redrawn after a newer bundle took over may still ask; they get no early offer.
    offerHuman: (query, context, result, earlierQuestions, notHelpful) =>
      !disposed &&
      typeof engine.offerHuman === "function" &&
      engine.offerHuman(result.confidence, result.gap, earlierQuestions, notHelpful, query, JSON.stringify(context)),
    dispose: () => {
      if (!disposed) engine.delete();
      disposed = true;
    },
  };
}
