// The help panel: a question box, answer cards (title, the best matching passage with the
// question's words marked, "Open" to read the article inline), "Did this solve it?", the next
// answers and a human on "No", and an honest "no answer yet" with a human offered when the engine
// declines (gap); when the host page takes the handoff to a person (it listens to "escalate"), a
// "Contact a person" at the foot of the panel keeps a human one click away. Mounted by the loader
// into its shadow root; everything it draws stays inside that root and is built from DOM nodes and
// textContent. The one exception, the article body, is Markdown rendered and sanitized by
// DOMPurify in the article chunk (article.ts), loaded on the first "Open".
//
// Accessibility: a labelled non-modal dialog (the page stays usable), focus moved into it on open,
// Tab and Shift+Tab cycling inside it, Escape closing it from the panel or the launcher, and focus
// given back to the launcher on close when it was inside;
// a polite live region announces each answer; every control has a visible focus ring; motion is
// dropped under prefers-reduced-motion; full screen below 480px wide.

import type { MountPanel, Panel, PanelHost } from "./contract";
import { handoffContext, searchContext, signalContext, type ContextValue, type SearchContext } from "./context";
import { loadAnswerer, refreshAnswerer, type Answerer, type RankedArticle, type SearchResult } from "./engine";
import { bestPassage, markedText, queryStems } from "./passage";
import { rerank } from "./reranker";
import { createSignals, uuid, type SignalType } from "./signals";
import { format, type StringKey } from "./strings";
import { readTrail, recordNotHelpful, recordQuestion, recordVisit } from "./trail";

const SHOWN = 3;
// A declined question (gap) whose best answers are at least this likely shows them anyway, under
// "not sure": about two declined questions in five have the right article first.
const UNSURE_FLOOR = 0.3;
// What a declined question shows: nothing, or its first answers under "not sure".
const unsure = (result: SearchResult): RankedArticle[] =>
  result.gap && result.confidence >= UNSURE_FLOOR ? result.ranked.slice(0, SHOWN) : [];
const MAX_QUESTION = 500;
const RECHECK_MS = 5 * 60 * 1000;

const PANEL_CSS = `
.panel { position: fixed; right: 20px; bottom: 88px; z-index: 2147483000; width: min(380px, calc(100vw - 40px));
  max-height: min(560px, calc(100vh - 120px)); display: flex; flex-direction: column; box-sizing: border-box;
  margin: 0; padding: 0; background: #fff; color: #1b1f24; border-radius: var(--radius);
  box-shadow: 0 10px 40px rgba(0,0,0,.28); font: 14px/1.45 var(--font); text-align: left;
  overflow: hidden; animation: loopwise-in .16s ease-out; }
:host([data-loopwise="left"]) .panel { right: auto; left: 20px; }
@keyframes loopwise-in { from { opacity: 0; transform: translateY(8px); } to { opacity: 1; transform: none; } }
.panel[hidden] { display: none; }
.panel *, .panel *::before, .panel *::after { box-sizing: border-box; }
.head { display: flex; align-items: center; justify-content: space-between; padding: 12px 16px;
  background: var(--accent); color: var(--on-accent); }
h2 { margin: 0; font-size: 16px; font-weight: 600; }
button { font: inherit; cursor: pointer; color: inherit; }
.close { background: none; border: 0; color: var(--on-accent); font-size: 20px; line-height: 1; padding: 4px 8px; border-radius: 6px; }
form { display: flex; gap: 8px; margin: 0; padding: 12px 16px; border-bottom: 1px solid #e3e6ea; }
input { flex: 1; font: inherit; color: #1b1f24; background: #fff; padding: 8px 10px; border: 1px solid #6b7480;
  border-radius: 8px; min-width: 0; }
input::placeholder { color: #5f6773; opacity: 1; }
input:focus-visible, button:focus-visible, a:focus-visible, [tabindex="-1"]:focus-visible {
  outline: 3px solid var(--accent); outline-offset: 2px; }
.close:focus-visible { outline-color: var(--on-accent); }
.answers { overflow-y: auto; padding: 8px 16px 16px; flex: 1; }
.status, .greeting { color: #4d5663; margin: 8px 0; }
.too-long { color: #4d5663; margin: 0; padding: 6px 16px; border-bottom: 1px solid #e3e6ea; }
.card { border: 1px solid #e3e6ea; border-radius: 8px; padding: 10px 12px; margin: 8px 0; }
.card h3 { margin: 0 0 4px; font-size: 15px; font-weight: 600; }
.card p { margin: 0 0 6px; color: #3b434d; }
mark { background: #fff0a0; color: inherit; padding: 0 1px; border-radius: 2px; }
.feedback { display: flex; align-items: center; gap: 8px; margin-top: 12px; flex-wrap: wrap; }
.feedback button, .human, .open, .back { border: 1px solid #6b7480; background: #f5f7fa; color: #1b1f24;
  border-radius: 6px; padding: 4px 12px; }
.human, .ask { background: var(--accent); border: 1px solid var(--accent); color: var(--on-accent);
  border-radius: 6px; padding: 4px 12px; margin-top: 8px; }
.ask { margin-top: 0; padding: 6px 14px; border-radius: 8px; }
/* The offer of a person stays in view however many answers come before it. */
.human-bar { position: sticky; bottom: -16px; margin: 8px -16px -16px; padding: 0 16px 12px;
  background: #fff; border-top: 1px solid #e3e6ea; }
.foot { margin: 0; padding: 8px 16px; border-top: 1px solid #e3e6ea; color: #4d5663; }
.foot[hidden] { display: none; }
.contact { background: none; border: 0; padding: 2px; color: #1a46c4; text-decoration: underline; }
.article h3 { font-size: 17px; margin: 12px 0 8px; outline: none; }
.article h4, .article h5, .article h6 { font-size: 15px; margin: 14px 0 6px; }
.article p, .article ul, .article ol, .article pre, .article blockquote { margin: 0 0 10px; }
.article ul, .article ol { padding-left: 22px; }
.article pre { background: #f5f7fa; padding: 8px; border-radius: 6px; overflow-x: auto; white-space: pre-wrap; }
.article code { font: 13px/1.4 ui-monospace, Menlo, Consolas, monospace; background: #f0f2f5; padding: 0 3px; border-radius: 3px; }
.article pre code { background: none; padding: 0; }
.article blockquote { border-left: 3px solid #c9ced6; padding-left: 10px; color: #3b434d; }
.article a { color: #1a46c4; }
.sr { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
@media (max-width: 480px) {
  .panel { inset: 0; right: 0; left: 0; bottom: 0; width: 100%; max-height: none; height: 100%; border-radius: 0; }
  :host([data-loopwise="left"]) .panel { left: 0; }
}
@media (prefers-reduced-motion: reduce) { .panel { animation: none; } }
`;

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
  context?: SearchContext;
  earlier?: number; // questions this tab asked before this one
  left?: boolean; // its "abandoned" signal was recorded
}

// One line of what the customer went through, handed to the host's helpdesk on escalation.
interface TranscriptLine {
  query: string; // scrubbed, as in signals ("" when the engine, and so its scrubber, did not load)
  answers: { article: string; title: string }[];
  gap: boolean;
  outcome?: "resolved" | "not_helpful" | "escalated" | "opened";
  article?: string;
}

// A question and its transcript line: the one on screen, or the one a "Talk to a human" is about.
interface Question {
  q: Asked;
  line: TranscriptLine;
}

type ArticleChunk = { renderArticle(body: string): DocumentFragment };

export const mount: MountPanel = (host: PanelHost): Panel => {
  const t = (key: StringKey, values?: Record<string, string | number>): string =>
    values ? format(host.strings()[key], values) : host.strings()[key];

  // Yes, No and Talk to a human each reach the server as signals (scrubbed, queued, batched), and
  // so does a question left without any of them: when the next one is asked or the page is hidden.
  const signals = createSignals(host.config, () => abandon(latest));
  const signal = (type: SignalType, q: Asked, article?: string): void => {
    try {
      let context: Record<string, ContextValue> | undefined;
      if (q.a && q.context) context = signalContext(q.context, host.config.signalContext, q.a.scrub);
      signals.record(type, q.a, {
        query_id: q.id,
        query: q.query,
        shown: type === "query" ? undefined : q.shown,
        article,
        confidence: q.confidence,
        context,
      });
    } catch (e) {
      console.warn("Loopwise: a help signal could not be recorded.", e);
    }
  };
  let answerer: Promise<Answerer> | null = null;
  let checkedAt = 0;
  const prepare = (): Promise<Answerer> => {
    if (!answerer) {
      checkedAt = Date.now();
      answerer = loadAnswerer(host.config);
      answerer.catch(() => {
        answerer = null; // try again on the next question
      });
    }
    return answerer;
  };
  // A page can stay open for days: when the panel opens and the manifest was last checked more
  // than RECHECK_MS ago, it is revalidated in the background and a newly published bundle, once
  // verified, answers from then on (the one in use answers meanwhile).
  let refreshing = false;
  const recheck = (): void => {
    const current = answerer;
    if (!current || refreshing || Date.now() - checkedAt < RECHECK_MS) return;
    refreshing = true;
    checkedAt = Date.now();
    current
      .then((old) =>
        refreshAnswerer(host.config, old).then((next) => {
          if (!next || answerer !== current) return;
          answerer = Promise.resolve(next);
          // The cards on screen only look articles up, which a disposed answerer still does.
          old.dispose();
        }),
      )
      .catch((e: unknown) => console.warn("Loopwise: the help bundle could not be rechecked.", e))
      .then(() => {
        refreshing = false;
      });
  };
  let articleChunk: Promise<ArticleChunk> | null = null;
  const loadArticleChunk = (): Promise<ArticleChunk> => {
    if (!articleChunk) {
      articleChunk = import(/* @vite-ignore */ host.config.assets + "loopwise-article.js") as Promise<ArticleChunk>;
      articleChunk.catch(() => {
        articleChunk = null;
      });
    }
    return articleChunk;
  };

  const transcript: TranscriptLine[] = [];

  const style = el("style");
  style.textContent = PANEL_CSS;
  const panel = el("div", { class: "panel", role: "dialog", id: "loopwise-panel" });
  panel.hidden = true;
  // A div, not a <header>: that would be a second banner landmark on the host page.
  const header = el("div", { class: "head" });
  const heading = el("h2", { id: "loopwise-title" });
  const closeButton = el("button", { type: "button", class: "close" }, "×");
  header.append(heading, closeButton);
  const form = el("form", { role: "search" });
  const input = el("input", { type: "text", name: "q", autocomplete: "off", maxlength: String(MAX_QUESTION),
    "aria-describedby": "loopwise-too-long" });
  const askButton = el("button", { type: "submit", class: "ask" });
  form.append(input, askButton);
  // Shown while the question is at its length limit, so that a long paste is not cut silently.
  const tooLong = el("p", { class: "too-long", id: "loopwise-too-long" });
  tooLong.hidden = true;
  const answers = el("div", { class: "answers" });
  const greeting = el("p", { class: "greeting" });
  answers.append(greeting);
  const contactLead = el("span");
  const contact = el("button", { type: "button", class: "contact" });
  const foot = el("p", { class: "foot" });
  foot.append(contactLead, " ", contact);
  contact.addEventListener("click", () => escalate(latest));
  // Shown while the page takes the handoff, no "Talk to a human" is on screen already and the
  // customer was not just handed over.
  const updateFoot = (): void => {
    foot.hidden = handedOver || !host.listening("escalate") || answers.querySelector(".human-bar") !== null;
  };
  new MutationObserver(updateFoot).observe(answers, { childList: true });
  // Announces each outcome once, politely; the cards themselves are not read out on arrival.
  const live = el("div", { class: "sr", role: "status", "aria-live": "polite", "aria-atomic": "true" });
  panel.append(header, form, tooLong, answers, foot, live);
  host.root.append(style, panel);
  host.launcher.setAttribute("aria-controls", "loopwise-panel");

  const relabel = (): void => {
    panel.setAttribute("aria-label", t("dialog"));
    heading.textContent = t("title");
    closeButton.setAttribute("aria-label", t("close"));
    input.setAttribute("aria-label", t("question"));
    input.setAttribute("placeholder", t("placeholder"));
    askButton.textContent = t("ask");
    greeting.textContent = t("greeting");
    tooLong.textContent = t("tooLong", { n: MAX_QUESTION });
    contactLead.textContent = t("contactLead");
    contact.textContent = t("contact");
  };
  relabel();

  const announce = (text: string): void => {
    live.textContent = "";
    // A fresh text node after a tick, so that a repeated message is announced again.
    setTimeout(() => (live.textContent = text), 50);
  };

  const status = (text: string): HTMLParagraphElement => el("p", { class: "status" }, text);

  // The question on screen, for "Contact a person" (null before the first one), and whether the
  // customer was just handed to a person (until the next question).
  let latest: Question | null = null;
  let handedOver = false;

  // A question answered and left without Yes, No or a handoff (an article opened, at most) counts
  // as abandoned, once; if the customer comes back to it, what they say next still counts.
  const abandon = (about: Question | null): void => {
    if (!about || !about.q.a || about.q.left) return;
    const { q, line } = about;
    if (line.outcome && line.outcome !== "opened") return;
    q.left = true;
    signal("abandoned", q, line.article);
  };

  // Hands the customer to a person, with the question `about` when there is one; it counts as
  // escalated unless it was already resolved or handed over.
  const escalate = (about: Question | null): void => {
    const { q, line } = about || { q: null, line: null };
    if (q && line && line.outcome !== "resolved" && line.outcome !== "escalated") {
      signal("escalated", q);
      line.outcome = "escalated";
    }
    // For the host page's own handoff to a person; it stays in the page. The customer's words
    // are scrubbed as in signals, the page's own values are as the page gave them.
    const heard = host.emit("escalate", {
      query: line ? line.query : "",
      transcript: transcript.map((l) => ({ ...l, answers: l.answers.slice() })),
      context: q && q.context ? handoffContext(q.context) : {},
    });
    latest = null;
    handedOver = true;
    // Without a listener nothing reaches a person: the question only counts in the team's reports.
    const text = t(heard ? "escalated" : "noted");
    answers.replaceChildren(status(text));
    announce(text);
    input.focus();
  };

  // The offer of a person, after `lead` when given.
  const offerHuman = (q: Asked, line: TranscriptLine, lead?: string): HTMLElement => {
    const button = el("button", { type: "button", class: "human" }, t("human"));
    const bar = el("div", { class: "human-bar" });
    if (lead) bar.append(status(lead));
    bar.append(button);
    button.addEventListener("click", () => escalate({ q, line }));
    return bar;
  };

  // Every "Did this solve it?" drawn and not yet answered, by question (the list's and the open
  // article's), and the articles the customer said did not solve it: a question is never asked
  // twice about one article, and once resolved, not at all (a later answer may still solve it
  // after a "No").
  const asking = new Map<string, { article?: string; box: HTMLElement }[]>();
  const rejected = new Map<string, Set<string | undefined>>();
  // What "Did this solve it?" about `article` says once its answer is recorded (null before).
  const answered = (q: Asked, line: TranscriptLine, article: string | undefined): HTMLParagraphElement | null => {
    const key = line.outcome === "resolved" ? "glad" : rejected.get(q.id)?.has(article) ? "notSolved" : null;
    if (!key) return null;
    const note = status(t(key));
    note.tabIndex = -1;
    return note;
  };
  // "Did this solve it?" about `article` (the top answer, or the one open).
  const feedback = (q: Asked, line: TranscriptLine, article: string | undefined, next: () => void): HTMLElement => {
    const box = el("div", { class: "feedback", role: "group", "aria-label": t("solved") });
    const note = answered(q, line, article);
    if (note) {
      box.append(note);
      return box;
    }
    const settle = (): void => {
      const open = (asking.get(q.id) || []).filter((entry) => {
        const done = answered(q, line, entry.article);
        if (done) entry.box.replaceChildren(done);
        return !done;
      });
      asking.set(q.id, open);
    };
    const yes = el("button", { type: "button" }, t("yes"));
    const no = el("button", { type: "button" }, t("no"));
    box.append(el("span", {}, t("solved")), yes, no);
    asking.set(q.id, [...(asking.get(q.id) || []), { article, box }]);
    yes.addEventListener("click", () => {
      signal("resolved", q, article);
      line.outcome = "resolved";
      line.article = article;
      host.emit("resolved", { query: line.query, article: article || null });
      settle();
      (box.firstElementChild as HTMLElement).focus();
      announce(t("glad"));
    });
    no.addEventListener("click", () => {
      signal("not_helpful", q, article);
      recordNotHelpful();
      line.outcome = "not_helpful";
      rejected.set(q.id, (rejected.get(q.id) || new Set()).add(article));
      host.emit("not_helpful", { query: line.query, article: article || null });
      settle();
      next();
    });
    return box;
  };

  const card = (q: Asked, a: Answerer, hit: RankedArticle, stems: Set<string>, result: SearchResult,
    line: TranscriptLine): HTMLElement => {
    const node = el("article", { class: "card" });
    node.append(el("h3", {}, hit.title));
    const record = a.article(hit.article);
    if (record && record.body) {
      const passage = bestPassage(record.body, stems);
      if (passage.text) {
        const p = el("p");
        p.append(markedText(passage.text, stems));
        node.append(p);
      }
    }
    const open = el("button", { type: "button", class: "open", "aria-label": t("openLabel", { title: hit.title }) },
      t("open"));
    open.addEventListener("click", () => openArticle(q, a, hit.article, result, line, open));
    node.append(open);
    return node;
  };

  // The list view of one answer: cards from `from`, then the feedback or, after "No", a human.
  let listView: HTMLElement[] = [];
  const showList = (q: Asked, a: Answerer, result: SearchResult, line: TranscriptLine, from: number): void => {
    const stems = queryStems(q.query);
    const hits = result.ranked.slice(from, from + SHOWN);
    const nodes: HTMLElement[] = [];
    if (from > 0) nodes.push(status(hits.length ? t("sorry") : t("noAnswer")));
    for (const hit of hits) nodes.push(card(q, a, hit, stems, result, line));
    if (from === 0) {
      nodes.push(feedback(q, line, hits[0] && hits[0].article, () => showList(q, a, result, line, SHOWN)));
      // The bundle's escalation model may judge that this conversation ends with a person anyway.
      if (a.offerHuman(q.query, q.context || {}, result, q.earlier || 0, readTrail().notHelpful)) {
        nodes.push(offerHuman(q, line, t("humanEarly")));
      }
    } else {
      for (const hit of hits) if (!q.shown.includes(hit.article)) q.shown.push(hit.article);
      nodes.push(offerHuman(q, line));
    }
    listView = nodes;
    answers.replaceChildren(...nodes);
    if (from > 0) {
      announce(nodes[0].textContent || "");
      const first = answers.querySelector<HTMLElement>("button");
      if (first) first.focus();
    }
  };

  // The article, inline: rendered Markdown (sanitized), a way back, and "Did this solve it?".
  const openArticle = (q: Asked, a: Answerer, id: string, result: SearchResult, line: TranscriptLine,
    opener: HTMLElement | null): void => {
    const record = a.article(id);
    const saved = listView.slice();
    line.outcome = line.outcome || "opened";
    line.article = id;
    const back = el("button", { type: "button", class: "back" }, `← ${t("back")}`);
    const title = el("h3", { tabindex: "-1" }, record ? record.title : id);
    const body = el("div", { class: "article-body" });
    const view = el("section", { class: "article", "aria-label": record ? record.title : id });
    view.append(back, title, body);
    back.addEventListener("click", () => {
      answers.replaceChildren(...saved);
      if (opener && opener.isConnected) opener.focus();
    });
    body.addEventListener("click", (e) => {
      const link = (e.target as Element).closest("a");
      const href = link ? link.getAttribute("href") || "" : "";
      if (!href.startsWith("#")) return;
      // "#article-id" links between articles open in the panel; other fragments stay in the panel.
      e.preventDefault();
      const target = decodeURIComponent(href.slice(1));
      if (a.article(target)) openArticle(q, a, target, result, line, opener);
    });
    answers.replaceChildren(view);
    loadArticleChunk().then(
      (chunk) => {
        body.replaceChildren(chunk.renderArticle(record ? record.body : ""));
        view.append(feedback(q, line, id, () => showList(q, a, result, line, SHOWN)));
        title.focus();
      },
      (e: unknown) => {
        console.warn("Loopwise: the article view could not load.", e);
        body.replaceChildren(status(t("articleMissing")));
        title.focus();
      },
    );
  };

  const render = (q: Asked, a: Answerer, result: SearchResult): void => {
    const maybe = unsure(result);
    const line: TranscriptLine = {
      query: a.scrub(q.query),
      answers: (result.gap ? maybe : result.ranked.slice(0, SHOWN)).map((r) => ({ article: r.article, title: r.title })),
      gap: result.gap,
    };
    transcript.push(line);
    latest = { q, line };
    if (result.gap || result.ranked.length === 0) {
      const stems = queryStems(q.query);
      const text = t(maybe.length ? "notSure" : "noAnswer");
      listView = [status(text), ...maybe.map((hit) => card(q, a, hit, stems, result, line)), offerHuman(q, line)];
      answers.replaceChildren(...listView);
      announce(text);
      return;
    }
    showList(q, a, result, line, 0);
    announce(t("answersFound", { n: Math.min(SHOWN, result.ranked.length), title: result.ranked[0].title }));
  };

  const ask = (text: string): void => {
    const query = text.trim();
    if (!query) return;
    abandon(latest);
    handedOver = false;
    input.value = query;
    answers.replaceChildren(status(t("looking")));
    // The route the question is asked on, even if the route watch has not looked yet.
    recordVisit(location.pathname);
    const asked = recordQuestion(query);
    prepare().then(
      (a) => {
        // The raw text is searched here, in the browser; only scrubbed text ever leaves it.
        const context = searchContext(a.foldRoute, host.context(), asked.repeated);
        const result = a.search(query, context, 10);
        const q: Asked = {
          id: uuid(),
          query,
          a,
          shown: (result.gap ? unsure(result) : result.ranked.slice(0, SHOWN)).map((r) => r.article),
          confidence: result.confidence,
          context,
          earlier: asked.earlier,
        };
        signal("query", q);
        signal("shown", q);
        render(q, a, result);
        host.emit("answer", {
          articles: result.ranked.slice(0, SHOWN).map((r) => r.article),
          confidence: result.confidence,
          gap: result.gap,
        });
        // The bundle's ranker.onnx re-scores the answer in a worker (reranker.ts); the answer above
        // never waits for it. The cards are re-drawn only if the model orders them differently
        // and the customer has not acted on them (nor moved focus into them) yet.
        const line = transcript[transcript.length - 1];
        const drawn = listView;
        if (!result.gap) {
          void rerank(host.config.assets, a.rankerModel(), result.ranked).then((ranked) => {
            const untouched = listView === drawn && drawn.length > 0 && drawn[0].isConnected && !line.outcome &&
              transcript[transcript.length - 1] === line && !answers.contains(host.root.activeElement);
            if (!ranked || !untouched) return;
            transcript.pop();
            q.shown = ranked.slice(0, SHOWN).map((r) => r.article);
            render(q, a, { ...result, ranked });
          });
        }
      },
      (e: unknown) => {
        console.warn("Loopwise: help search could not load.", e);
        const q: Asked = { id: uuid(), query, a: null, shown: [] };
        const line: TranscriptLine = { query: "", answers: [], gap: true };
        transcript.push(line);
        latest = { q, line };
        answers.replaceChildren(status(t("unavailable")), offerHuman(q, line));
        announce(t("unavailable"));
      },
    );
  };

  const show = (): void => {
    updateFoot();
    panel.hidden = false;
    input.focus();
    recheck();
    void prepare().catch(() => undefined);
  };
  // Only the loader calls hide() while the panel is not shown (Loopwise.close() as it loads).
  const hide = (): void => {
    const hadFocus = panel.contains(host.root.activeElement);
    panel.hidden = true;
    host.closed(hadFocus);
  };

  // Focus stays inside the open panel: Tab from the last control goes to the first, and back.
  const focusable = (): HTMLElement[] =>
    Array.from(panel.querySelectorAll<HTMLElement>("button, input, a[href], [tabindex]:not([tabindex='-1'])"))
      .filter((node) => !(node as HTMLButtonElement).disabled && node.getClientRects().length > 0);

  input.addEventListener("input", () => {
    const full = input.value.length >= MAX_QUESTION;
    if (full && tooLong.hidden) announce(tooLong.textContent || "");
    tooLong.hidden = !full;
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    ask(input.value);
  });
  closeButton.addEventListener("click", hide);
  // Escape closes from the panel or the launcher (both in this shadow root), never from the page.
  host.root.addEventListener("keydown", (e) => {
    if ((e as KeyboardEvent).key !== "Escape" || panel.hidden) return;
    e.stopPropagation();
    hide();
  });
  panel.addEventListener("keydown", (e) => {
    if (e.key === "Tab") {
      const nodes = focusable();
      if (nodes.length === 0) return;
      const active = host.root.activeElement;
      const first = nodes[0];
      const last = nodes[nodes.length - 1];
      if (e.shiftKey && (active === first || !panel.contains(active))) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && (active === last || !panel.contains(active))) {
        e.preventDefault();
        first.focus();
      }
    }
  });

  return {
    prepare: () => prepare().then(() => undefined),
    show,
    hide,
    ask,
    relabel,
  };
};
