// The script tag: <script src="https://HOST/widget/loopwise.js" data-site="SITE" data-key="KEY" async>.
// It defines window.Loopwise and nothing else, draws a launcher inside a Shadow DOM (open, so
// assistive and test tools see into it; styles stay inside either way), and
// loads the panel chunk (which loads the engine and the bundle) when the browser is idle or on
// the first open, whichever comes first. Calls made before it loaded (Loopwise.q) are replayed.
// It also starts the session trail (trail.ts): the routes of this tab and the errors it throws.
//
// Theming: data-loopwise-color (a hex colour; the text on it is picked for contrast),
// data-loopwise-position ("left" or "right"), data-loopwise-title, data-loopwise-greeting and
// data-loopwise-strings (JSON) on the script tag; the page may also set the CSS custom properties
// --loopwise-accent, --loopwise-on-accent, --loopwise-font and --loopwise-radius on any ancestor
// of the widget (custom properties cross into the shadow root; nothing else of the page's CSS does).
// A signed-in customer: data-loopwise-customer and data-loopwise-customer-signature (README,
// "Verified customers").

import type { LoopwiseEvent, MountPanel, Panel, WidgetConfig } from "./contract";
import { DEFAULT_STRINGS, mergeStrings, type Strings } from "./strings";
import { recordError, watchRoutes } from "./trail";

type Handler = (detail: Record<string, unknown>) => void;
// A queued call: ["open"] or ["setContext", {...}], as an array or an `arguments` object.
type QueuedCall = ArrayLike<unknown>;

interface LoopwiseApi {
  open(): void;
  close(): void;
  ask(text: string): void;
  setContext(context: Record<string, unknown>): void;
  setStrings(strings: Partial<Strings>): void;
  on(event: LoopwiseEvent, handler: Handler): void;
}

interface LoopwiseStub {
  q?: QueuedCall[];
  loaded?: boolean;
}

declare global {
  interface Window {
    Loopwise?: LoopwiseStub & Partial<LoopwiseApi>;
  }
}

// !important inside a shadow root beats the page's !important (the inner context wins for
// important declarations), so even "* { all: unset !important }" on the page leaves us alone.
const LAUNCHER_CSS = `
:host { all: initial !important; }
.launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; width: 56px; height: 56px;
  margin: 0; padding: 0; border-radius: 50%; border: 0; background: var(--accent); color: var(--on-accent);
  cursor: pointer; box-shadow: 0 4px 14px rgba(0,0,0,.25); font: 600 24px/1 var(--font);
  transition: transform .15s ease; }
:host([data-loopwise="left"]) .launcher { right: auto; left: 20px; }
.launcher:hover { transform: scale(1.06); }
.launcher:focus-visible { outline: 3px solid var(--accent); outline-offset: 3px; box-shadow: 0 0 0 3px #fff; }
@media (prefers-reduced-motion: reduce) { .launcher { transition: none; } .launcher:hover { transform: none; } }
`;

// Black or white, whichever reads better on a #rgb / #rrggbb background (WCAG relative luminance).
function textOn(hex: string): string {
  const h = hex.length === 4 ? hex.replace(/([0-9a-f])/gi, "$1$1").slice(1) : hex.slice(1);
  const [r, g, b] = [0, 2, 4].map((i) => {
    const c = parseInt(h.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  const l = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return (l + 0.05) / 0.05 > 1.05 / (l + 0.05) ? "#111418" : "#ffffff";
}

// The theme's custom properties: the page's own --loopwise-* values first, then the script tag's.
function themeCss(script: HTMLScriptElement | null): string {
  const color = ((script && script.getAttribute("data-loopwise-color")) || "").trim();
  const accent = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(color) ? color : "#1f4fd6";
  return `:host { --accent: var(--loopwise-accent, ${accent}); --on-accent: var(--loopwise-on-accent, ${textOn(accent)});
  --font: var(--loopwise-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  --radius: var(--loopwise-radius, 12px); }`;
}

function scriptStrings(script: HTMLScriptElement | null): Strings {
  if (!script) return DEFAULT_STRINGS;
  let strings = DEFAULT_STRINGS;
  const json = script.getAttribute("data-loopwise-strings");
  if (json) {
    try {
      strings = mergeStrings(strings, JSON.parse(json));
    } catch {
      console.warn("Loopwise: data-loopwise-strings is not valid JSON; the default texts are used.");
    }
  }
  const title = script.getAttribute("data-loopwise-title");
  const greeting = script.getAttribute("data-loopwise-greeting");
  return mergeStrings(strings, { title: title || undefined, greeting: greeting || undefined });
}

function currentScript(): HTMLScriptElement | null {
  const s = document.currentScript;
  if (s instanceof HTMLScriptElement) return s;
  // `async` scripts may run after currentScript was cleared by another script; find ours.
  return document.querySelector<HTMLScriptElement>('script[data-site][src*="loopwise.js"]');
}

function readConfig(script: HTMLScriptElement | null): WidgetConfig | null {
  if (!script || !script.src) return null;
  const site = script.getAttribute("data-site") || "";
  const key = script.getAttribute("data-key") || "";
  if (!site || !key) return null;
  const src = new URL(script.src, location.href);
  const flushMs = Number(script.getAttribute("data-loopwise-flush-ms")) || undefined;
  const signalContext = (script.getAttribute("data-loopwise-signal-context") || "")
    .split(",")
    .map((k) => k.trim())
    .filter(Boolean);
  const position = script.getAttribute("data-loopwise-position") === "left" ? "left" : "right";
  const id = script.getAttribute("data-loopwise-customer");
  const signature = script.getAttribute("data-loopwise-customer-signature");
  const customer = id && signature ? { id, signature } : undefined;
  return { site, key, api: src.origin, assets: new URL("./", src).href, flushMs, signalContext, position, customer };
}

function start(): void {
  const existing = window.Loopwise;
  if (existing && existing.loaded) return; // the tag is on the page twice
  const script = currentScript();
  const config = readConfig(script);
  if (!config) {
    console.warn("Loopwise: the script tag needs data-site and data-key attributes.");
    return;
  }

  // The session trail starts with the page, before anyone opens the panel.
  watchRoutes();
  addEventListener("error", () => recordError());
  addEventListener("unhandledrejection", () => recordError());

  const handlers: { [event: string]: Handler[] } = {};
  let hostContext: Record<string, unknown> = {};
  let strings = scriptStrings(script);
  let panel: Panel | null = null;
  let loading: Promise<Panel | null> | null = null;
  let isOpen = false;

  const emit = (event: LoopwiseEvent, detail: Record<string, unknown>): boolean => {
    const heard = handlers[event] || [];
    for (const handler of heard) {
      try {
        handler(detail);
      } catch (e) {
        // A failing host handler must not break the widget.
        console.error(e);
      }
    }
    return heard.length > 0;
  };

  const host = document.createElement("div");
  host.setAttribute("data-loopwise", config.position);
  host.style.cssText = "all: initial";
  const root = host.attachShadow({ mode: "open" });
  const style = document.createElement("style");
  style.textContent = themeCss(script) + LAUNCHER_CSS;
  const launcher = document.createElement("button");
  launcher.type = "button";
  launcher.className = "launcher";
  launcher.textContent = "?";
  launcher.setAttribute("aria-label", strings.launcher);
  launcher.setAttribute("aria-haspopup", "dialog");
  launcher.setAttribute("aria-expanded", "false");
  root.append(style, launcher);

  const setOpen = (open: boolean): void => {
    isOpen = open;
    launcher.setAttribute("aria-expanded", String(open));
    launcher.textContent = open ? "×" : "?";
  };
  const closed = (): void => {
    setOpen(false);
    emit("close", {});
  };

  const loadPanel = (): Promise<Panel | null> => {
    if (!loading) {
      loading = import(/* @vite-ignore */ config.assets + "loopwise-panel.js")
        .then((chunk: { mount: MountPanel }) => {
          panel = chunk.mount({
            config,
            root,
            launcher,
            context: () => hostContext,
            strings: () => strings,
            emit,
            listening: (event) => (handlers[event] || []).length > 0,
            closed: (hadFocus) => {
              closed();
              if (hadFocus) launcher.focus();
            },
          });
          return panel;
        })
        .catch((e: unknown) => {
          // Degrade quietly: the launcher stays, the page is untouched.
          console.warn("Loopwise: the help panel could not load.", e);
          loading = null;
          return null;
        });
    }
    return loading;
  };

  const api: LoopwiseApi = {
    open() {
      if (isOpen) return;
      setOpen(true);
      emit("open", {});
      loadPanel().then((p) => {
        if (!isOpen) return;
        if (p) p.show();
        else closed(); // the panel chunk could not load (blocked, offline)
      });
    },
    close() {
      if (!isOpen) return;
      if (panel) panel.hide();
      else closed();
    },
    ask(text: string) {
      api.open();
      loadPanel().then((p) => p && p.ask(String(text)));
    },
    setContext(context: Record<string, unknown>) {
      if (context && typeof context === "object") hostContext = { ...hostContext, ...context };
    },
    setStrings(changes: Partial<Strings>) {
      strings = mergeStrings(strings, changes);
      launcher.setAttribute("aria-label", strings.launcher);
      if (panel) panel.relabel();
    },
    on(event: LoopwiseEvent, handler: Handler) {
      if (typeof handler === "function") (handlers[event] = handlers[event] || []).push(handler);
    },
  };

  launcher.addEventListener("click", () => (isOpen ? api.close() : api.open()));

  const queued = (existing && existing.q) || [];
  window.Loopwise = { ...api, loaded: true };
  for (const call of queued) {
    const [method, ...args] = Array.prototype.slice.call(call) as [keyof LoopwiseApi, ...unknown[]];
    const fn = api[method] as ((...a: unknown[]) => void) | undefined;
    if (typeof fn === "function") fn(...args);
  }

  const mount = (): void => {
    document.body.appendChild(host);
    // Warm up (panel chunk, engine, bundle) without competing with the host page.
    const idle = (window as { requestIdleCallback?: (cb: () => void, o?: object) => void })
      .requestIdleCallback;
    const warm = (): void => {
      loadPanel().then((p) => p && p.prepare().catch(() => undefined));
    };
    if (idle) idle(warm, { timeout: 5000 });
    else setTimeout(warm, 2000);
  };
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
}

start();
