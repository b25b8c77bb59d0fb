// Knowledge gaps: questions the site cannot answer yet (declined, escalated or marked not
// helpful), grouped by meaning and ranked by volume and recency; an open one leads to the article
// editor with its pages and questions, or is marked out of scope. GET .../gaps,
// POST .../gaps/{id}/out-of-scope.

import { draftArticle } from "./articles";
import { confirmAction } from "./confirm-dialog";
import type { Gap } from "./contract";
import { h, uniqueId } from "./dom";
import { formatCount, formatTime } from "./format";
import { learn } from "./versions";
import {
  actionError,
  badge,
  busyWhile,
  emptyState,
  examplesList,
  facts,
  loaded,
  loading,
  pagesList,
  showError,
  type ConsoleContext,
} from "./view";

function gapCard(gap: Gap, panel: HTMLElement, ctx: ConsoleContext): HTMLElement {
  const titleId = uniqueId("gap");
  const errorSlot = h("div", { class: "slot" });
  const write = (): void => {
    const pages = (gap.pages ?? []).flatMap((p) => (p.route ? [p.route] : []));
    draftArticle({ pages: pages.slice(0, 5), asked: gap.examples });
    ctx.show("articles");
  };
  // The operator's word that no article will answer these: stored as helpdesk resolutions with
  // no article, from which learning (run at once) teaches the widget to decline questions like
  // them.
  const outOfScope = async (event: Event): Promise<void> => {
    const button = event.currentTarget as HTMLButtonElement;
    const ok = await confirmAction({
      title: "Mark these questions out of scope?",
      message:
        "No article will answer them. The widget learns to decline questions like these and " +
        "offer a person at once: in autonomous mode as soon as it is marked, in review mode " +
        "from the next version you publish. Writing an article for them later still works.",
      confirmLabel: "Mark out of scope",
    });
    if (!ok) return;
    try {
      const said = await busyWhile(panel, button, "Marking\u2026", async () => {
        const path = `/gaps/${encodeURIComponent(String(gap.id))}/out-of-scope`;
        const answer = await ctx.api.post<{ marked?: number }>(path);
        return `${formatCount(answer.marked)} questions marked out of scope. ${await learn(ctx)}`;
      });
      ctx.announce(said);
      await Promise.all([renderGaps(panel, ctx), ctx.refreshSite()]);
    } catch (e) {
      actionError(ctx, e, errorSlot, "Marking the gap out of scope");
      button.focus();
    }
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
          h("button", { type: "button", class: "button", onclick: outOfScope }, "Out of scope"),
        ),
    errorSlot,
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
  panel.appendChild(h("div", { class: "cards" }, ...open.map((g) => gapCard(g, panel, ctx))));
  if (closed.length) {
    panel.appendChild(
      h(
        "details",
        { class: "decided" },
        h("summary", {}, `Closed (${closed.length})`),
        h("div", { class: "cards" }, ...closed.map((g) => gapCard(g, panel, ctx))),
      ),
    );
  }
}
