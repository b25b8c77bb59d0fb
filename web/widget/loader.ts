// The script tag: <script src="https://HOST/widget/loopwise.js" data-site="SITE" data-key="KEY" async>.
// It defines window.Loopwise and nothing else, draws a launcher inside a Shadow DOM (open, so
// assistive and test tools see into it; styles stay inside either way), and
// loads the panel chunk (which loads the engine and the bundle) when the browser is idle or on
// the first open, whichever comes first. Calls made before it loaded (Loopwise.q) are replayed.

import type { LoopwiseEvent, MountPanel, Panel, WidgetConfig } from "./contract";

type Handler = (detail: Record<string, unknown>) => void;
// A queued call: ["open"] or ["setContext", {...}], as an array or an `arguments` object.
type QueuedCall = ArrayLike<unknown>;

interface LoopwiseApi {
  open(): void;
  close(): void;
  ask(text: string): void;
  setContext(context: Record<string, unknown>): void;
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

const LAUNCHER_CSS = `
:host { all: initial; }
.launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; width: 56px; height: 56px;
  border-radius: 50%; border: 0; background: #1f4fd6; color: #fff; cursor: pointer;
  box-shadow: 0 4px 14px rgba(0,0,0,.25); font: 600 24px/1 system-ui, sans-serif; }
.launcher:focus-visible { outline: 3px solid #9db6ff; outline-offset: 2px; }
.launcher[aria-expanded="true"] { background: #16389a; }
`;

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
  return { site, key, api: src.origin, assets: new URL("./", src).href, flushMs };
}

function start(): void {
  const existing = window.Loopwise;
  if (existing && existing.loaded) return; // the tag is on the page twice
  const config = readConfig(currentScript());
  if (!config) {
    console.warn("Loopwise: the script tag needs data-site and data-key attributes.");
    return;
  }

  const handlers: { [event: string]: Handler[] } = {};
  let hostContext: Record<string, unknown> = {};
  let panel: Panel | null = null;
  let loading: Promise<Panel | null> | null = null;
  let isOpen = false;

  const emit = (event: LoopwiseEvent, detail: Record<string, unknown>): void => {
    for (const handler of handlers[event] || []) {
      try {
        handler(detail);
      } catch (e) {
        // A failing host handler must not break the widget.
        console.error(e);
      }
    }
  };

  const host = document.createElement("div");
  host.setAttribute("data-loopwise", "");
  host.style.cssText = "all: initial";
  const root = host.attachShadow({ mode: "open" });
  const style = document.createElement("style");
  style.textContent = LAUNCHER_CSS;
  const launcher = document.createElement("button");
  launcher.type = "button";
  launcher.className = "launcher";
  launcher.textContent = "?";
  launcher.setAttribute("aria-label", "Help");
  launcher.setAttribute("aria-haspopup", "dialog");
  launcher.setAttribute("aria-expanded", "false");
  root.append(style, launcher);

  const setOpen = (open: boolean): void => {
    isOpen = open;
    launcher.setAttribute("aria-expanded", String(open));
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
            emit,
            closed: () => {
              setOpen(false);
              emit("close", {});
              launcher.focus();
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
        if (p && isOpen) p.show();
        else setOpen(false);
      });
    },
    close() {
      if (!isOpen) return;
      if (panel) panel.hide();
      else setOpen(false);
    },
    ask(text: string) {
      api.open();
      loadPanel().then((p) => p && p.ask(String(text)));
    },
    setContext(context: Record<string, unknown>) {
      if (context && typeof context === "object") hostContext = { ...hostContext, ...context };
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
