// The knowledge base: every article with whether customers see it as it is (published, edited
// since the current version, or new; and those deleted since) and how often it was shown,
// resolved and found not helpful; an editor with the widget's own preview to write, change or
// delete one; imports of article and ticket files; and "Publish" to make the changes what the
// widgets answer with. GET/POST .../articles, DELETE .../articles/{id}, POST .../history,
// POST .../publish, and GET .../analytics for the counts.

import { renderArticle } from "../widget/article";
import type { Analytics, Article, ArticleRates, Change } from "./contract";
import { confirmAction } from "./confirm-dialog";
import { clear, h, uniqueId } from "./dom";
import { exampleText, formatCount, formatRate } from "./format";
import {
  actionError,
  badge,
  busyWhile,
  emptyState,
  examplesList,
  loaded,
  loading,
  showError,
  type ConsoleContext,
} from "./view";

// What the editor opens with: an article to change, or a new one's pages and the questions that
// asked for it (a knowledge gap's).
export interface Draft {
  article?: Article;
  pages?: string[];
  asked?: unknown[];
}

let pendingDraft: Draft | null = null;

// Opens the editor with `draft` the next time the page is drawn (a gap's "Write an article").
export function draftArticle(draft: Draft): void {
  pendingDraft = draft;
}

// "Reset two-factor authentication" -> "reset-two-factor-authentication".
function slug(title: string): string {
  return title
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 60)
    .replace(/-+$/, "");
}

function splitList(text: string, separator: RegExp): string[] {
  return [...new Set(text.split(separator).map((s) => s.trim()))].filter(Boolean);
}

function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  const id = uniqueId("article-field");
  control.id = id;
  const hintEl = hint ? h("p", { class: "hint muted", id: `${id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: id }, label), hintEl, control);
}

function editor(
  ctx: ConsoleContext,
  panel: HTMLElement,
  draft: Draft,
  existing: Set<string>,
  close: () => void,
): HTMLFormElement {
  const a = draft.article;
  const titleId = uniqueId("editor");
  const title = h("input", { type: "text", required: true, maxlength: "300", value: a?.title });
  const id = h("input", {
    type: "text",
    required: true,
    maxlength: "200",
    spellcheck: "false",
    value: a?.id,
    readonly: a !== undefined,
  });
  // A new article's id follows its title until the operator types one.
  let idTyped = false;
  id.addEventListener("input", () => (idTyped = true));
  title.addEventListener("input", () => {
    if (!a && !idTyped) id.value = slug(title.value);
  });
  const body = h("textarea", { rows: 12, spellcheck: "true" });
  body.value = a?.body ?? "";
  // The article as the widget shows it (its own renderer and sanitizer), as it is typed.
  const preview = h("div", { class: "article-preview" });
  const showPreview = (): void => {
    clear(preview);
    preview.append(h("p", { class: "preview-title" }, title.value), renderArticle(body.value));
  };
  showPreview();
  let pending = 0;
  const previewSoon = (): void => {
    window.clearTimeout(pending);
    pending = window.setTimeout(showPreview, 150);
  };
  body.addEventListener("input", previewSoon);
  title.addEventListener("input", previewSoon);
  const tags = h("input", { type: "text", value: (a?.tags ?? []).join(", ") });
  const pages = h("textarea", { rows: 3, spellcheck: "false" });
  pages.value = (a?.pages ?? draft.pages ?? []).join("\n");
  const slot = h("div", { class: "slot" });
  const save = h("button", { type: "submit", class: "button primary" }, "Save");
  const cancel = h("button", { type: "button", class: "button", onclick: close }, "Cancel");
  const form = h(
    "form",
    { class: "card settings editor", "aria-labelledby": titleId, novalidate: true },
    h("h3", { id: titleId }, a ? `Edit \u201c${a.title || a.id}\u201d` : "New article"),
    examplesList(
      draft.asked?.map((e) => exampleText(e)),
      "Customers asked (write the article that answers them)",
    ),
    field("Title", title),
    field("Id", id, "Stays with the article: its tickets and what is learned for it point to it."),
    field("Body", body, "Markdown or plain text: the steps that solve the problem."),
    h(
      "section",
      { class: "preview", "aria-label": "Preview" },
      h("p", { class: "examples-label" }, "As customers see it in the widget"),
      preview,
    ),
    field("Tags", tags, "Separated by commas."),
    field("Pages", pages, "Routes where it helps most, one a line (e.g. /settings/security)."),
    slot,
    h("div", { class: "actions" }, save, cancel),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clear(slot);
    const article = {
      id: id.value.trim(),
      title: title.value.trim(),
      body: body.value,
      tags: splitList(tags.value, /,/),
      pages: splitList(pages.value, /\n/),
    };
    const problem = !article.title
      ? "Give the article a title."
      : !article.id
        ? "Give the article an id."
        : !a && existing.has(article.id)
          ? `An article with the id \u201c${article.id}\u201d exists: choose another id, ` +
            "or edit that one."
          : "";
    if (problem) {
      slot.appendChild(h("div", { class: "error", role: "alert" }, h("p", {}, problem)));
      (article.title ? id : title).focus();
      return;
    }
    void busyWhile(panel, save, "Saving\u2026", () => ctx.api.post("/articles", article))
      .then(async () => {
        await renderArticles(panel, ctx);
        ctx.announce(`Saved \u201c${article.title}\u201d. Publish to show it to customers.`);
        panel.querySelector<HTMLElement>(".publish")?.focus();
      })
      .catch((e: unknown) => {
        actionError(ctx, e, slot, "Saving the article");
        save.focus();
      });
  });
  return form;
}

async function publish(
  ctx: ConsoleContext,
  panel: HTMLElement,
  slot: HTMLElement,
  button: HTMLButtonElement,
): Promise<void> {
  try {
    const done = await busyWhile(panel, button, "Publishing\u2026", () =>
      ctx.api.post<{ version?: number; articles?: number }>("/publish"),
    );
    await Promise.all([renderArticles(panel, ctx), ctx.refreshSite()]);
    ctx.announce(
      `Published version ${done.version ?? "?"} with ${formatCount(done.articles)} articles; ` +
        "widgets pick it up the next time they check.",
    );
    panel.querySelector<HTMLElement>("h2")?.focus();
  } catch (e) {
    actionError(ctx, e, slot, "Publishing");
    button.focus();
  }
}

interface Imported {
  imported?: number;
  already_stored?: number;
}

// Imports the chosen files one after another as uploads (POST .../articles or .../history; the
// server reads each file's format from its name). The first file refused stops it, with the
// server's reason, which names the file and line.
async function importFiles(
  ctx: ConsoleContext,
  panel: HTMLElement,
  button: HTMLButtonElement,
  route: "/articles" | "/history",
  files: File[],
): Promise<void> {
  const done: string[] = [];
  let imported = 0;
  let again = 0;
  let failure: unknown = null;
  await busyWhile(panel, button, "Importing\u2026", async () => {
    try {
      for (const file of files) {
        const r = await ctx.api.upload<Imported>(route, file);
        imported += r.imported ?? 0;
        again += r.already_stored ?? 0;
        done.push(file.name);
      }
    } catch (e) {
      failure = e;
    }
  });
  const what = route === "/articles" ? "article" : "ticket";
  const count = `${formatCount(imported)} ${what}${imported === 1 ? "" : "s"}`;
  if (done.length || !failure) await renderArticles(panel, ctx);
  if (failure) {
    const slot = panel.querySelector<HTMLElement>(".actions-slot");
    const before = done.length ? ` (${count} from ${done.join(", ")} before it)` : "";
    if (slot) actionError(ctx, failure, slot, `Importing${before}`);
    panel.querySelector<HTMLElement>("h2")?.focus();
    return;
  }
  ctx.announce(
    route === "/articles"
      ? `Imported ${count}. Publish to show them to customers.`
      : `Imported ${count}` +
          (again ? ` (${formatCount(again)} stored before)` : "") +
          ". Publish to learn from them.",
  );
  panel.querySelector<HTMLElement>(".publish")?.focus();
}

const ARTICLE_FILES = ".md,.markdown,.json,.jsonl,.csv";

// A button that opens the file chooser and imports what is chosen.
function importButton(
  ctx: ConsoleContext,
  panel: HTMLElement,
  label: string,
  route: "/articles" | "/history",
  accept: string,
): HTMLElement {
  const input = h("input", { type: "file", multiple: true, accept, hidden: true });
  const button = h("button", { type: "button", class: "button" }, label);
  button.addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    const files = Array.from(input.files ?? []);
    input.value = "";
    if (files.length) void importFiles(ctx, panel, button, route, files);
  });
  return h("span", {}, button, input);
}

// Saves the articles as JSON Lines, which "Import articles" and `loopwise import articles` read
// back: the knowledge base as edited here, to keep or to move.
function download(site: string, articles: Article[]): void {
  const lines = articles.map((a) =>
    JSON.stringify({ id: a.id, title: a.title, body: a.body, tags: a.tags, pages: a.pages }),
  );
  const url = URL.createObjectURL(
    new Blob([lines.join("\n") + "\n"], { type: "application/x-ndjson" }),
  );
  const link = h("a", { href: url, download: `${site}-articles.jsonl`, hidden: true });
  document.body.appendChild(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
}

async function remove(
  ctx: ConsoleContext,
  panel: HTMLElement,
  slot: HTMLElement,
  a: Article,
): Promise<void> {
  const name = a.title || a.id;
  const ok = await confirmAction({
    title: `Delete \u201c${name}\u201d?`,
    message:
      "Customers see it until you publish. Its tickets stay stored and count again if you " +
      "import an article with the same id.",
    confirmLabel: "Delete",
    danger: true,
  });
  if (!ok) return;
  try {
    await ctx.api.delete(`/articles/${encodeURIComponent(a.id)}`);
    await renderArticles(panel, ctx);
    ctx.announce(`Deleted \u201c${name}\u201d. Publish to take it out of the widgets.`);
    panel.querySelector<HTMLElement>(".publish")?.focus();
  } catch (e) {
    actionError(ctx, e, slot, "Deleting the article");
  }
}

// GET .../articles/{id}: an article and what it answers.
interface ArticleDetail {
  article?: Article;
  tickets?: number;
  ticket_examples?: string[];
  changes?: Change[];
}

// What an article is learned from: the history tickets that point to it and the learned changes
// that name it.
function answersCard(a: Article, detail: ArticleDetail, actions: HTMLElement[]): HTMLElement {
  const titleId = uniqueId("answers");
  const count = detail.tickets ?? 0;
  const tickets = detail.ticket_examples ?? [];
  const changes = detail.changes ?? [];
  return h(
    "section",
    { class: "card answers", "aria-labelledby": titleId },
    h("h3", { id: titleId, tabindex: "-1" }, `What \u201c${a.title || a.id}\u201d answers`),
    h(
      "p",
      { class: "muted" },
      "An article is learned from the questions that point to it: the resolved tickets of the " +
        "history, and what customers taught (the review queue's changes, once published).",
    ),
    h(
      "p",
      { class: "examples-label" },
      `${formatCount(count)} ${count === 1 ? "ticket" : "tickets"} in the history` +
        (tickets.length < count ? `, the first ${formatCount(tickets.length)}:` : ""),
    ),
    tickets.length ? h("ul", { class: "tickets" }, ...tickets.map((t) => h("li", {}, t))) : null,
    h("p", { class: "examples-label" }, `Learned from customers (${formatCount(changes.length)})`),
    changes.length
      ? h(
          "ul",
          { class: "learned" },
          ...changes.map((c) =>
            h("li", {}, badge(c.status), " ", c.summary ?? "", c.version ? ` (v${c.version})` : ""),
          ),
        )
      : null,
    h("div", { class: "actions" }, ...actions),
  );
}

const COLUMNS = ["Article", "Pages", "Shown", "Resolved", "Not helpful", "Status", "Actions"];

interface RowActions {
  answers(a: Article): void;
  edit(a: Article): void;
  remove(a: Article): void;
}

function row(a: Article, rates: ArticleRates | undefined, on: RowActions): HTMLTableRowElement {
  const name = a.title || a.id;
  const button = (label: string, action: () => void): HTMLElement => {
    const b = h("button", { type: "button", class: "button small", onclick: action }, label);
    b.setAttribute("aria-label", `${label} \u201c${name}\u201d`);
    return b;
  };
  const tr = h(
    "tr",
    {},
    h("th", { scope: "row" }, a.title || "(no title)", h("br"), h("code", {}, a.id)),
    h("td", {}, ...(a.pages ?? []).slice(0, 3).flatMap((p) => [h("code", {}, p), " "])),
    h("td", { class: "num" }, formatCount(rates?.shown ?? 0)),
    h(
      "td",
      { class: "num" },
      rates?.shown ? `${formatCount(rates.resolved)} (${formatRate(rates.resolution_rate)})` : "",
    ),
    h("td", { class: "num" }, rates?.shown ? formatCount(rates.not_helpful ?? 0) : ""),
    h("td", {}, a.state ? badge(a.state) : ""),
    h(
      "td",
      { class: "row-actions" },
      button("Questions", () => on.answers(a)),
      button("Edit", () => on.edit(a)),
      button("Delete", () => on.remove(a)),
    ),
  );
  tr.dataset.search = [a.title, a.id, ...(a.tags ?? []), ...(a.pages ?? [])]
    .join(" ")
    .toLowerCase();
  return tr;
}

export async function renderArticles(panel: HTMLElement, ctx: ConsoleContext): Promise<void> {
  loading(panel, "the articles");
  let articles: Article[];
  let removed: string[];
  let unknown: string | undefined;
  let byArticle: ArticleRates[];
  try {
    const [list, analytics] = await Promise.all([
      ctx.api.get<{ articles?: Article[]; removed?: string[]; unknown?: string }>("/articles"),
      // The counts are a help, not a need: the list shows without them.
      ctx.api.get<Analytics>("/analytics").catch(() => null),
    ]);
    articles = list.articles ?? [];
    removed = list.removed ?? [];
    unknown = list.unknown;
    byArticle = analytics?.by_article ?? [];
  } catch (e) {
    showError(panel, ctx, e, "the articles", () => void renderArticles(panel, ctx));
    return;
  }
  loaded(panel);
  const rates = new Map(byArticle.map((r) => [r.article ?? "", r]));
  const existing = new Set(articles.map((a) => a.id));
  const slot = h("div", { class: "slot actions-slot" });
  const editorSlot = h("div", { class: "slot" });
  const closeEditor = (): void => {
    clear(editorSlot);
    newButton.focus();
  };
  const openEditor = (draft: Draft): void => {
    clear(editorSlot);
    const form = editor(ctx, panel, draft, existing, closeEditor);
    editorSlot.appendChild(form);
    form.querySelector<HTMLElement>("input:not([readonly]), textarea")?.focus();
  };
  const showAnswers = async (a: Article): Promise<void> => {
    clear(slot);
    try {
      const detail = await ctx.api.get<ArticleDetail>(`/articles/${encodeURIComponent(a.id)}`);
      clear(editorSlot);
      const edit = (): void => openEditor({ article: a });
      const card = answersCard(a, detail, [
        h("button", { type: "button", class: "button", onclick: edit }, "Edit"),
        h("button", { type: "button", class: "button", onclick: closeEditor }, "Close"),
      ]);
      editorSlot.appendChild(card);
      card.querySelector<HTMLElement>("h3")?.focus();
    } catch (e) {
      actionError(ctx, e, slot, "Loading the article's questions");
    }
  };
  const newButton = h(
    "button",
    { type: "button", class: "button", onclick: () => openEditor({}) },
    "New article",
  );
  const publishButton = h(
    "button",
    {
      type: "button",
      class: "button publish",
      onclick: (e: Event) => void publish(ctx, panel, slot, e.currentTarget as HTMLButtonElement),
    },
    "Publish",
  );
  const changed = articles.filter((a) => a.state === "new" || a.state === "edited").length;
  const unpublished = changed + removed.length;
  if (unpublished || unknown) publishButton.classList.add("primary");
  let state = "";
  if (unknown) {
    state = `${unknown} Publishing again mends it.`;
  } else if (unpublished) {
    const changes = unpublished === 1 ? "change" : "changes";
    state = `${formatCount(unpublished)} ${changes} not published yet.`;
  } else if (articles.length) {
    state = "Customers see every article as it is here.";
  }

  panel.append(
    h("h2", { tabindex: "-1" }, "Articles"),
    h(
      "p",
      { class: "muted" },
      "Your help centre as the widget answers with it. Changes reach customers when you publish " +
        "(a learning run that publishes takes them along too).",
    ),
    h(
      "p",
      { class: "muted" },
      "Import articles as Markdown files (one each; front matter may give id, title, tags and " +
        "pages, else the file name is the id), JSON Lines or CSV (id, title, body, tags, pages); " +
        "resolved tickets as JSON Lines or CSV with text and article.",
    ),
    h(
      "div",
      { class: "section-head" },
      h("p", { class: "publish-state" }, state),
      h(
        "div",
        { class: "actions" },
        newButton,
        importButton(ctx, panel, "Import articles\u2026", "/articles", ARTICLE_FILES),
        importButton(ctx, panel, "Import tickets\u2026", "/history", ".jsonl,.csv"),
        articles.length
          ? h(
              "button",
              { type: "button", class: "button", onclick: () => download(ctx.api.site, articles) },
              "Download",
            )
          : null,
        publishButton,
      ),
    ),
    slot,
    editorSlot,
  );
  if (removed.length) {
    panel.appendChild(
      h(
        "p",
        { class: "muted" },
        "Deleted, still shown until you publish: ",
        ...removed.flatMap((id, i) => [i ? ", " : "", h("code", {}, id)]),
      ),
    );
  }
  if (articles.length === 0) {
    panel.appendChild(
      emptyState(
        "No articles yet.",
        "Write one here, or import files: Markdown (one article each), JSON Lines or CSV.",
      ),
    );
  } else {
    const find = h("input", { type: "search", placeholder: "Title, id, tag or page" });
    const byTitle = [...articles].sort((x, y) =>
      (x.title || x.id).localeCompare(y.title || y.id, "en", { sensitivity: "base" }),
    );
    const body = h(
      "tbody",
      {},
      ...byTitle.map((a) =>
        row(a, rates.get(a.id), {
          answers: (x) => void showAnswers(x),
          edit: (x) => openEditor({ article: x }),
          remove: (x) => void remove(ctx, panel, slot, x),
        }),
      ),
    );
    const none = h("p", { class: "muted", hidden: true }, "No article matches.");
    find.addEventListener("input", () => {
      const q = find.value.trim().toLowerCase();
      let shown = 0;
      for (const tr of Array.from(body.rows)) {
        tr.hidden = q !== "" && !(tr.dataset.search ?? "").includes(q);
        if (!tr.hidden) shown += 1;
      }
      none.hidden = shown > 0;
    });
    panel.append(
      h("div", { class: "settings find" }, field("Find an article", find)),
      h(
        "div",
        { class: "table-scroll" },
        h(
          "table",
          { class: "articles" },
          h(
            "caption",
            {},
            `${formatCount(articles.length)} articles by title; shown, resolved and not helpful ` +
              "count the answers customers saw",
          ),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ...COLUMNS.map((t) => h("th", { scope: "col" }, t)),
            ),
          ),
          body,
        ),
      ),
      none,
    );
  }
  if (pendingDraft) {
    const draft = pendingDraft;
    pendingDraft = null;
    openEditor(draft);
  }
}
