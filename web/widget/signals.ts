// Signals: what happened to each question (asked, answers shown, resolved, not helpful, escalated,
// abandoned), sent to the sync server so the site's bundle can learn. Durable: every event is
// written to IndexedDB together with the id of the batch it will travel in, before anything is
// sent, so a retry, a reload or an offline hour resends the same batch_id (the server stores a
// batch once) and nothing is lost. The query text is scrubbed by the engine before it is stored or sent;
// routes are folded (ids to :id). Without IndexedDB the queue lives in memory only.

import type { WidgetConfig } from "./contract";
import type { Answerer } from "./engine";

export type SignalType = "query" | "shown" | "resolved" | "not_helpful" | "escalated" | "abandoned";

export interface SignalEvent {
  type: SignalType;
  ts: number;
  session: string;
  query_id: string;
  query: string;
  bundle?: string;
  context?: { [key: string]: string | number | boolean; route: string };
  shown?: string[];
  article?: string;
  confidence?: number;
  customer?: string;
  customer_signature?: string;
}

// What the panel knows about a question when something happens to it.
export interface SignalFields {
  query_id: string;
  query: string;
  shown?: string[];
  article?: string | null;
  confidence?: number;
  // Context keys the operator allows, already scrubbed (context.ts signalContext); the route is
  // always the current one, folded.
  context?: Record<string, string | number | boolean>;
}

interface Row {
  id: string;
  batch: string;
  event: SignalEvent;
}

export interface Signals {
  // `a` is the loaded engine (scrubbing, route folding, bundle version); null when it failed to
  // load, in which case no query text is sent at all.
  record(type: SignalType, a: Answerer | null, fields: SignalFields): void;
  flush(keepalive?: boolean): void;
}

const BATCH_EVENTS = 20;
const BATCH_BYTES = 60 * 1024; // keepalive bodies must stay under 64 KB
const MAX_QUERY = 500;
const BACKOFF_BASE_MS = 1000;
const BACKOFF_CAP_MS = 60000;
const DB_NAME = "loopwise-signals";
const STORE = "events";

export function uuid(): string {
  const c = typeof crypto !== "undefined" ? crypto : undefined;
  if (c && typeof c.randomUUID === "function") return c.randomUUID();
  const b = new Uint8Array(16);
  if (c && c.getRandomValues) c.getRandomValues(b);
  else for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// A random session id, kept for the day (UTC) and then replaced: signals from one browser can be
// told apart for a day, never followed across days.
let memorySession: { id: string; day: string } | null = null;
function session(): string {
  const day = new Date().toISOString().slice(0, 10);
  const key = "loopwise.session";
  try {
    const saved = JSON.parse(localStorage.getItem(key) || "null") as { id?: string; day?: string } | null;
    if (saved && saved.day === day && typeof saved.id === "string") return saved.id;
    const fresh = { id: uuid(), day };
    localStorage.setItem(key, JSON.stringify(fresh));
    return fresh.id;
  } catch {
    if (!memorySession || memorySession.day !== day) memorySession = { id: uuid(), day };
    return memorySession.id;
  }
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

// The durable half of the queue; every method fails quietly (the in-memory half carries on).
class Store {
  private db: Promise<IDBDatabase | null>;
  constructor(site: string) {
    this.db = new Promise<IDBDatabase | null>((resolve) => {
      try {
        const open = indexedDB.open(`${DB_NAME}:${site}`, 1);
        open.onupgradeneeded = () => open.result.createObjectStore(STORE, { keyPath: "id" });
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => resolve(null);
        open.onblocked = () => resolve(null);
      } catch {
        resolve(null); // no IndexedDB (some private modes, sandboxed frames)
      }
    });
  }
  private async run(mode: IDBTransactionMode, fn: (s: IDBObjectStore) => void): Promise<void> {
    const db = await this.db;
    if (!db) return;
    try {
      const tx = db.transaction(STORE, mode);
      fn(tx.objectStore(STORE));
      await new Promise<void>((resolve, reject) => {
        tx.oncomplete = () => resolve();
        tx.onerror = tx.onabort = () => reject(tx.error);
      });
    } catch {
      /* the event stays in memory and is sent from there */
    }
  }
  put(row: Row): Promise<void> {
    return this.run("readwrite", (s) => s.put(row));
  }
  remove(ids: string[]): Promise<void> {
    return this.run("readwrite", (s) => ids.forEach((id) => s.delete(id)));
  }
  async all(): Promise<Row[]> {
    const db = await this.db;
    if (!db) return [];
    try {
      return (await request(db.transaction(STORE, "readonly").objectStore(STORE).getAll())) as Row[];
    } catch {
      return [];
    }
  }
}

// `leaving` runs as the page is hidden or goes away, before the queue is sent, so that what it
// records goes out with the rest.
export function createSignals(config: WidgetConfig, leaving: () => void): Signals {
  const url = `${config.api}/v1/sites/${encodeURIComponent(config.site)}/signals`;
  const store = new Store(config.site);
  const rows: Row[] = []; // everything not yet acknowledged, oldest first
  const known = new Set<string>();
  const sealed = new Set<string>(); // batches that have been sent once: they never grow
  let open = uuid();
  let openCount = 0;
  let openBytes = 0;
  let sending = false;
  let attempt = 0;
  let retryAt = 0;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;

  const add = (row: Row): void => {
    if (known.has(row.id)) return;
    known.add(row.id);
    rows.push(row);
  };

  const interval = config.flushMs && config.flushMs > 0 ? config.flushMs : 10000;

  // Events left by earlier pages (a reload, a crash, an offline hour) go out in their own batches.
  // A batch another open tab may still be filling (an event in the last two intervals) is left to
  // that tab for now: once sent, a batch_id must never grow.
  const adopt = async (): Promise<void> => {
    const saved = await store.all();
    const cutoff = Date.now() - 2 * interval - 1000;
    const newest = new Map<string, number>();
    for (const row of saved) {
      if (!known.has(row.id)) newest.set(row.batch, Math.max(newest.get(row.batch) || 0, row.event.ts));
    }
    saved.sort((a, b) => a.event.ts - b.event.ts);
    for (const row of saved) {
      if (known.has(row.id) || (newest.get(row.batch) || 0) > cutoff) continue;
      sealed.add(row.batch);
      add(row);
    }
  };
  const loaded = adopt();

  const batches = (): Map<string, Row[]> => {
    const out = new Map<string, Row[]>();
    for (const row of rows) {
      const list = out.get(row.batch);
      if (list) list.push(row);
      else out.set(row.batch, [row]);
    }
    return out;
  };

  const scheduleRetry = (): void => {
    attempt++;
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    retryAt = Date.now() + delay;
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = setTimeout(() => flush(false), delay);
  };

  const drop = (batch: string): void => {
    const ids: string[] = [];
    for (let i = rows.length - 1; i >= 0; i--) {
      if (rows[i].batch === batch) ids.push(rows.splice(i, 1)[0].id);
    }
    void store.remove(ids);
  };

  // Sends one batch; resolves true when the queue may go on to the next one.
  const send = async (batch: string, list: Row[], keepalive: boolean): Promise<boolean> => {
    const body = JSON.stringify({ batch_id: batch, events: list.map((r) => r.event) });
    let status = 0;
    try {
      const res = await fetch(url, {
        method: "POST",
        keepalive,
        headers: { "Content-Type": "application/json", "X-Loopwise-Key": config.key },
        body,
      });
      status = res.status;
    } catch {
      status = 0; // offline, DNS, CORS, a page going away
    }
    if (status >= 200 && status < 300) {
      drop(batch);
      attempt = 0;
      retryAt = 0;
      return true;
    }
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
      // The server will never take this batch as it is; keeping it would block the queue.
      console.warn(`Loopwise: ${list.length} help signals were refused (HTTP ${status}) and dropped.`);
      drop(batch);
      return true;
    }
    scheduleRetry();
    return false;
  };

  const flush = (keepalive = false): void => {
    if (openCount > 0) {
      sealed.add(open);
      open = uuid();
      openCount = 0;
      openBytes = 0;
    }
    if (rows.length === 0) return;
    if (keepalive) {
      // The page is going away: what fits in a keepalive request, at once, whatever the backoff.
      // Batch ids are already stored, so if a batch lands and its deletion does not, the next
      // page's resend is acknowledged as a duplicate.
      let budget = BATCH_BYTES;
      for (const [batch, list] of batches()) {
        const bytes = list.reduce((n, r) => n + JSON.stringify(r.event).length + 1, 64);
        if (bytes > budget) break;
        budget -= bytes;
        void send(batch, list, true);
      }
      return;
    }
    if (sending || Date.now() < retryAt) return;
    sending = true;
    void (async () => {
      try {
        for (const [batch, list] of batches()) {
          if (!sealed.has(batch)) continue;
          if (!(await send(batch, list, false))) break;
        }
      } finally {
        sending = false;
      }
    })();
  };

  const record = (type: SignalType, a: Answerer | null, fields: SignalFields): void => {
    const event: SignalEvent = {
      type,
      ts: Date.now(),
      session: session(),
      query_id: fields.query_id,
      // Personal data (e-mail addresses, phone and card numbers...) never leaves unscrubbed: without
      // the engine's scrubber there is no query text at all.
      query: a ? a.scrub(fields.query).slice(0, MAX_QUERY) : "",
    };
    if (a) {
      event.bundle = String(a.manifest.version);
      event.context = { ...fields.context, route: a.foldRoute(location.pathname) };
    }
    if (fields.shown) event.shown = fields.shown.slice(0, 20);
    if (fields.article) event.article = fields.article;
    if (typeof fields.confidence === "number" && isFinite(fields.confidence)) {
      event.confidence = Math.min(1, Math.max(0, fields.confidence));
    }
    if (config.customer) {
      event.customer = config.customer.id;
      event.customer_signature = config.customer.signature;
    }
    const bytes = JSON.stringify(event).length + 1;
    if (openCount >= BATCH_EVENTS || openBytes + bytes > BATCH_BYTES) flush(false);
    const row: Row = { id: uuid(), batch: open, event };
    openCount++;
    openBytes += bytes;
    add(row);
    void store.put(row);
    if (openCount >= BATCH_EVENTS) void loaded.then(() => flush(false));
  };

  setInterval(() => {
    flush(false); // seals the open batch at once
    void adopt().then(() => flush(false));
  }, interval);
  void loaded.then(() => flush(false));
  const leave = (): void => {
    try {
      leaving();
    } finally {
      flush(true);
    }
  };
  addEventListener("pagehide", leave);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") leave();
  });
  addEventListener("online", () => {
    retryAt = 0;
    attempt = 0;
    flush(false);
  });

  return { record, flush };
}
