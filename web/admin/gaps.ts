// Knowledge gaps: questions the site cannot answer yet (declined, escalated or marked not
// helpful), grouped by meaning and ranked by volume and recency; an open one leads to the article
// editor with its pages and questions. GET .../gaps.

import { draftArticle } from "./articles";
import type { Gap } from "./contract";
import { h, uniqueId } from "./dom";
import { formatCount, formatTime } from "./format";
import {
  badge,
  emptyState,
  examplesList,
  facts,
  loaded,
  loading,
  pagesList,
  showError,
  type ConsoleContext,
} from "./view";

function gapCard(gap: Gap, ctx: ConsoleContext): HTMLElement {
  const titleId = uniqueId("gap");
  const write = (): void => {
    const pages = (gap.pages ?? []).flatMap((p) => (p.route ? [p.route] : []));
    draftArticle({ pages: pages.slice(0, 5), asked: gap.examples });
    ctx.show("articles");
  };
  return h(
    "article",
    { class: "card", "aria-labelledby": titleId },
    h("div", { class: "card-head" }, badge(gap.status)),
    // A customer's question can be long: the title shows two lines of it, the whole on hover
    // and under "Customers asked".
    h("h3", { id: titleId, class: "gap-title", title: gap.label }, gap.label || `Gap #${gap.id}`),
    facts([
      ["Questions", formatCount(gap.queries)],
      ["Sessions", formatCount(gap.sessions)],
      // From a server that reports it: questions helpdesk agents resolved with no article.
      ...(gap.confirmed === undefined
        ? []
        : [["Confirmed by agents", formatCount(gap.confirmed)] as [string, string]]),
      ["Score", typeof gap.score === "number" ? gap.score.toFixed(2) : formatCount(gap.score)],
      ["First seen", formatTime(gap.first_seen)],
      ["Last seen", formatTime(gap.last_seen)],
    ]),
    examplesList(gap.examples, "Customers asked"),
    pagesList(gap.pages),
    gap.status === "closed"
      ? null
      : h(
          "div",
          { class: "actions" },
          h("button", { type: "button", class: "button", onclick: write }, "Write an article"),
        ),
  );
}

export async function renderGaps(panel: HTMLElement, ctx: ConsoleContext): Promise<void> {
  loading(panel, "the knowledge gaps");
  let gaps: Gap[];
  try {
    gaps = (await ctx.api.get<{ gaps?: Gap[] }>("/gaps")).gaps ?? [];
  } catch (e) {
    showError(panel, ctx, e, "the knowledge gaps", () => void renderGaps(panel, ctx));
    return;
  }
  loaded(panel);
  panel.appendChild(h("h2", {}, "Knowledge gaps"));
  panel.appendChild(
    h(
      "p",
      { class: "muted" },
      "Questions no article answers well, grouped by meaning. A gap closes once an article starts resolving its questions.",
    ),
  );
  if (gaps.length === 0) {
    panel.appendChild(
      emptyState(
        "No knowledge gaps found.",
        "Questions the widget declines, hands to a human or that customers mark not helpful are grouped here.",
      ),
    );
    return;
  }
  const open = gaps.filter((g) => g.status !== "closed");
  const closed = gaps.filter((g) => g.status === "closed");
  panel.appendChild(h("div", { class: "cards" }, ...open.map((g) => gapCard(g, ctx))));
  if (closed.length) {
    panel.appendChild(
      h(
        "details",
        { class: "decided" },
        h("summary", {}, `Closed (${closed.length})`),
        h("div", { class: "cards" }, ...closed.map((g) => gapCard(g, ctx))),
      ),
    );
  }
}
