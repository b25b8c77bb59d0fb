// The help panel: a question box, answer cards with "Did this solve it?", and an honest "no answer
// yet" with a human offered when the engine declines (gap). Mounted by the loader into its shadow
// root; everything it draws stays inside that root.

import type { MountPanel, Panel, PanelHost } from "./contract";
import { loadAnswerer, type Answerer, type SearchResult } from "./engine";
import { createSignals, uuid } from "./signals";

const SHOWN = 3;

const PANEL_CSS = `
.panel { position: fixed; right: 20px; bottom: 88px; z-index: 2147483000; width: min(380px, calc(100vw - 40px));
  max-height: min(560px, calc(100vh - 120px)); display: flex; flex-direction: column; box-sizing: border-box;
  background: #fff; color: #1b1f24; border-radius: 12px; box-shadow: 0 10px 40px rgba(0,0,0,.28);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; overflow: hidden; }
.panel[hidden] { display: none; }
header { display: flex; align-items: center; justify-content: space-between; padding: 12px 16px;
  background: #1f4fd6; color: #fff; }
h2 { margin: 0; font-size: 16px; font-weight: 600; }
button { font: inherit; cursor: pointer; }
.close { background: none; border: 0; color: #fff; font-size: 20px; line-height: 1; padding: 4px 8px; }
form { display: flex; gap: 8px; padding: 12px 16px; border-bottom: 1px solid #e3e6ea; }
input { flex: 1; font: inherit; padding: 8px 10px; border: 1px solid #b8c0cc; border-radius: 8px; min-width: 0; }
input:focus-visible, button:focus-visible { outline: 2px solid #1f4fd6; outline-offset: 2px; }
.answers { overflow-y: auto; padding: 8px 16px 16px; }
.status { color: #4d5663; margin: 8px 0; }
.card { border: 1px solid #e3e6ea; border-radius: 8px; padding: 10px 12px; margin: 8px 0; }
.card h3 { margin: 0 0 4px; font-size: 15px; }
.card p { margin: 0; color: #3b434d; white-space: pre-line; }
.feedback { display: flex; align-items: center; gap: 8px; margin-top: 12px; flex-wrap: wrap; }
.feedback button, .human { border: 1px solid #b8c0cc; background: #f5f7fa; border-radius: 6px; padding: 4px 12px; }
.human { background: #1f4fd6; border-color: #1f4fd6; color: #fff; margin-top: 8px; }
`;

// Markdown bodies are shown as plain text for now: front matter and markup characters dropped.
function excerpt(body: string, max = 280): string {
  const text = body
    .replace(/^---[\s\S]*?---\s*/, "")
    .replace(/[#*_`>]+/g, "")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
  return text.length > max ? text.slice(0, max).replace(/\s+\S*$/, "") + "…" : text;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const name of Object.keys(attrs)) node.setAttribute(name, attrs[name]);
  if (text !== undefined) node.textContent = text;
  return node;
}

// What the panel knows about one question: signals for it share a query_id.
interface Asked {
  id: string;
  query: string;
  a: Answerer | null;
  shown: string[];
  confidence?: number;
}

export const mount: MountPanel = (host: PanelHost): Panel => {
  // Yes, No and Talk to a human each reach the server as signals (scrubbed, queued, batched).
  const signals = createSignals(host.config);
  const signal = (type: "query" | "shown" | "resolved" | "not_helpful" | "escalated", q: Asked,
    article?: string): void => {
    try {
      signals.record(type, q.a, {
        query_id: q.id,
        query: q.query,
        shown: type === "query" ? undefined : q.shown,
        article,
        confidence: q.confidence,
      });
    } catch (e) {
      console.warn("Loopwise: a help signal could not be recorded.", e);
    }
  };
  let answerer: Promise<Answerer> | null = null;
  const prepare = (): Promise<Answerer> => {
    if (!answerer) {
      answerer = loadAnswerer(host.config);
      answerer.catch(() => {
        answerer = null; // try again on the next question
      });
    }
    return answerer;
  };

  const style = el("style");
  style.textContent = PANEL_CSS;
  const panel = el("div", {
    class: "panel",
    role: "dialog",
    "aria-label": "Help",
    "aria-modal": "false",
    id: "loopwise-panel",
  });
  panel.hidden = true;
  const header = el("header");
  const closeButton = el("button", { type: "button", class: "close", "aria-label": "Close help" }, "×");
  header.append(el("h2", {}, "How can we help?"), closeButton);
  const form = el("form", { role: "search" });
  const input = el("input", {
    type: "text",
    name: "q",
    autocomplete: "off",
    maxlength: "500",
    placeholder: "Ask a question",
    "aria-label": "Your question",
  });
  form.append(input, el("button", { type: "submit", class: "human" }, "Ask"));
  const answers = el("div", { class: "answers", "aria-live": "polite" });
  panel.append(header, form, answers);
  host.root.append(style, panel);
  host.launcher.setAttribute("aria-controls", "loopwise-panel");

  const status = (text: string): HTMLParagraphElement => el("p", { class: "status" }, text);

  const offerHuman = (q: Asked): HTMLButtonElement => {
    const query = q.query;
    const button = el("button", { type: "button", class: "human" }, "Talk to a human");
    button.addEventListener("click", () => {
      signal("escalated", q);
      host.emit("escalate", { query });
      answers.replaceChildren(status("We've let the team know; someone will get back to you."));
    });
    return button;
  };

  const feedback = (q: Asked, result: SearchResult): HTMLElement => {
    const query = q.query;
    const box = el("div", { class: "feedback" });
    const yes = el("button", { type: "button" }, "Yes");
    const no = el("button", { type: "button" }, "No");
    box.append(el("span", {}, "Did this solve it?"), yes, no);
    yes.addEventListener("click", () => {
      const top = result.ranked[0];
      signal("resolved", q, top ? top.article : undefined);
      host.emit("resolved", { query, article: top ? top.article : null });
      box.replaceChildren(status("Glad that helped."));
    });
    no.addEventListener("click", () => {
      signal("not_helpful", q);
      box.replaceChildren(status("Sorry about that."), offerHuman(q));
    });
    return box;
  };

  const render = (q: Asked, a: Answerer, result: SearchResult): void => {
    answers.replaceChildren();
    if (result.gap || result.ranked.length === 0) {
      answers.append(
        status("We don't have an answer to that yet. A person from the team can help."),
        offerHuman(q),
      );
      return;
    }
    for (const hit of result.ranked.slice(0, SHOWN)) {
      const card = el("article", { class: "card" });
      card.append(el("h3", {}, hit.title));
      const record = a.article(hit.article);
      if (record && record.body) card.append(el("p", {}, excerpt(record.body)));
      answers.append(card);
    }
    answers.append(feedback(q, result));
  };

  const ask = (text: string): void => {
    const query = text.trim();
    if (!query) return;
    input.value = query;
    answers.replaceChildren(status("Looking…"));
    prepare().then(
      (a) => {
        // The raw text is searched here, in the browser; only scrubbed text ever leaves it.
        const context = { ...host.context(), route: location.pathname };
        const result = a.search(query, context, 10);
        const q: Asked = {
          id: uuid(),
          query,
          a,
          shown: result.gap ? [] : result.ranked.slice(0, SHOWN).map((r) => r.article),
          confidence: result.confidence,
        };
        signal("query", q);
        signal("shown", q);
        render(q, a, result);
        host.emit("answer", {
          articles: result.ranked.slice(0, SHOWN).map((r) => r.article),
          confidence: result.confidence,
          gap: result.gap,
        });
      },
      (e: unknown) => {
        console.warn("Loopwise: help search could not load.", e);
        const q: Asked = { id: uuid(), query, a: null, shown: [] };
        answers.replaceChildren(status("Help search is not available right now."), offerHuman(q));
      },
    );
  };

  const show = (): void => {
    panel.hidden = false;
    input.focus();
    void prepare().catch(() => undefined);
  };
  const hide = (): void => {
    if (panel.hidden) return;
    panel.hidden = true;
    host.closed();
  };

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    ask(input.value);
  });
  closeButton.addEventListener("click", hide);
  panel.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.stopPropagation();
      hide();
    }
  });

  return {
    prepare: () => prepare().then(() => undefined),
    show,
    hide,
    ask,
  };
};
