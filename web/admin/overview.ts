// Overview: how the site is doing, day by day, from GET .../analytics: resolution, escalation, gap
// and abandonment rates, and the number of questions. Rates the server reports are used as they are; older
// servers report only signal counts by type, from which resolution and escalation rates are
// worked out per question (the gap and abandonment rates then stay missing rather than guessed).

import type { Analytics, AnalyticsDay, Rates } from "./contract";
import { dailyChart } from "./chart";
import { h } from "./dom";
import { formatCount, formatRate, formatTime, MISSING } from "./format";
import { emptyState, facts, loaded, loading, showError, type ConsoleContext } from "./view";

interface DayFigures {
  day: string;
  queries: number | null;
  resolution: number | null; // fractions in [0, 1]
  escalation: number | null;
  gap: number | null;
  abandonment: number | null;
}

function finite(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

export function dayFigures(d: AnalyticsDay): DayFigures {
  const events = d.events ?? {};
  const queries = finite(d.queries) ?? finite(events.query);
  const perQuery = (given: unknown, type: string): number | null => {
    const rate = finite(given);
    if (rate !== null) return rate;
    if (!queries) return null;
    return (finite(events[type]) ?? 0) / queries;
  };
  return {
    day: d.day,
    queries,
    resolution: perQuery(d.resolution_rate, "resolved"),
    escalation: perQuery(d.escalation_rate, "escalated"),
    gap: finite(d.gap_rate),
    abandonment: finite(d.abandonment_rate),
  };
}

function percent(v: number | null): number | null {
  return v === null ? null : Math.round(v * 1000) / 10;
}

function total(days: DayFigures[], pick: (d: DayFigures) => number | null): number | null {
  let sum = 0;
  let any = false;
  for (const d of days) {
    const v = pick(d);
    if (v !== null) {
      sum += v;
      any = true;
    }
  }
  return any ? sum : null;
}

// A rate over all days, weighted by each day's questions.
function overallRate(days: DayFigures[], pick: (d: DayFigures) => number | null): number | null {
  let num = 0;
  let den = 0;
  for (const d of days) {
    const r = pick(d);
    if (r === null || !d.queries) continue;
    num += r * d.queries;
    den += d.queries;
  }
  return den ? num / den : null;
}

export async function renderOverview(panel: HTMLElement, ctx: ConsoleContext): Promise<void> {
  loading(panel, "the overview");
  let analytics: Analytics;
  try {
    analytics = await ctx.api.get<Analytics>("/analytics");
  } catch (e) {
    showError(panel, ctx, e, "the analytics", () => void renderOverview(panel, ctx));
    return;
  }
  loaded(panel);
  // Rates by day when the server reports them, else signal counts by day.
  const days = (analytics.by_day ?? analytics.days ?? [])
    .filter((d) => typeof d.day === "string" && /^\d{4}-\d{2}-\d{2}$/.test(d.day))
    .map(dayFigures)
    .sort((a, b) => (a.day < b.day ? -1 : 1));

  panel.appendChild(h("h2", {}, "Overview"));
  const last = days.length ? days[days.length - 1] : null;
  const all = analytics.rates ? dayFigures({ day: "", ...analytics.rates }) : null;
  panel.appendChild(
    facts([
      ["Signals received", formatCount(finite(analytics.signals))],
      ["Questions", formatCount(finite(all?.queries) ?? total(days, (d) => d.queries))],
      [
        "Resolution rate",
        formatRate(all ? all.resolution : overallRate(days, (d) => d.resolution)),
      ],
      [
        "Escalation rate",
        formatRate(all ? all.escalation : overallRate(days, (d) => d.escalation)),
      ],
      ["Gap rate", formatRate(all ? all.gap : overallRate(days, (d) => d.gap))],
      [
        "Abandonment rate",
        formatRate(all ? all.abandonment : overallRate(days, (d) => d.abandonment)),
      ],
      ["Published version", analytics.version ? `v${analytics.version}` : "none yet"],
    ]),
  );

  if (days.length === 0) {
    panel.appendChild(
      emptyState(
        "No signals yet.",
        "The charts fill in once the widget sends what customers asked and how it ended.",
      ),
    );
    return;
  }

  const dayNames = days.map((d) => d.day);
  const lastDay = last as DayFigures;
  const rates = dailyChart({
    title: "Resolution, escalation, gap and abandonment rates by day",
    days: dayNames,
    unit: "percent",
    series: [
      { label: "Resolved", color: "#1a7f37", values: days.map((d) => percent(d.resolution)) },
      {
        label: "Escalated",
        color: "#b35900",
        dash: [8, 4],
        values: days.map((d) => percent(d.escalation)),
      },
      {
        label: "Gap (declined)",
        color: "#6f42c1",
        dash: [2, 3],
        values: days.map((d) => percent(d.gap)),
      },
      {
        label: "Abandoned",
        color: "#bf3989",
        dash: [1, 4],
        values: days.map((d) => percent(d.abandonment)),
      },
    ],
    summary:
      `Rates per question over ${days.length} day${days.length === 1 ? "" : "s"}; on ${lastDay.day}: ` +
      `${formatRate(lastDay.resolution)} resolved, ${formatRate(lastDay.escalation)} escalated, ` +
      `gap rate ${formatRate(lastDay.gap)}, ${formatRate(lastDay.abandonment)} left without an ` +
      `answer to "Did this solve it?" or a handoff.`,
  });
  const queries = dailyChart({
    title: "Questions by day",
    days: dayNames,
    unit: "count",
    bars: true,
    series: [{ label: "Questions", color: "#1f4fd6", values: days.map((d) => d.queries) }],
    summary: `Questions asked per day over ${days.length} day${days.length === 1 ? "" : "s"}; ${
      lastDay.queries === null ? MISSING : formatCount(lastDay.queries)
    } on ${lastDay.day}.`,
  });
  panel.appendChild(h("div", { class: "charts" }, rates.figure, queries.figure));
  rates.mount();
  queries.mount();
  panel.append(...breakdowns(analytics));
}

function rateCells(r: Rates | undefined): HTMLElement[] {
  const f = dayFigures({ day: "", ...(r ?? {}) });
  return [
    h("td", { class: "num" }, formatCount(f.queries)),
    h("td", { class: "num" }, formatRate(f.resolution)),
    h("td", { class: "num" }, formatRate(f.escalation)),
    h("td", { class: "num" }, formatRate(f.gap)),
    h("td", { class: "num" }, formatRate(f.abandonment)),
  ];
}

function table(caption: string, columns: string[], rows: HTMLElement[]): HTMLElement {
  return h(
    "div",
    { class: "table-scroll" },
    h(
      "table",
      {},
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, ...columns.map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, ...rows),
    ),
  );
}

const RATE_COLUMNS = ["Questions", "Resolved", "Escalated", "Gap", "Abandoned"];

// Before and after each publish, by page, by version and by article, when the server reports them.
function breakdowns(a: Analytics): HTMLElement[] {
  const out: HTMLElement[] = [];
  const section = (title: string, body: HTMLElement): void => {
    out.push(h("section", { class: "breakdown" }, h("h3", {}, title), body));
  };
  const changes = (a.changes ?? []).slice(0, 10);
  if (changes.length) {
    section(
      "Before and after each publish",
      table(
        "Outcomes in the week before and after each version went live (cut at the next publish)",
        ["Version", "Published", "When", ...RATE_COLUMNS],
        changes.flatMap((c) => [
          h(
            "tr",
            {},
            h("th", { scope: "row", rowspan: "2" }, c.version ? `v${c.version}` : MISSING),
            h("td", { rowspan: "2" }, formatTime(c.published_at)),
            h("td", {}, "before"),
            ...rateCells(c.before),
          ),
          h("tr", {}, h("td", {}, "after"), ...rateCells(c.after)),
        ]),
      ),
    );
  }
  const routes = (a.by_route ?? []).slice(0, 10);
  if (routes.length) {
    section(
      "By page",
      table(
        "The pages with the most questions",
        ["Page", ...RATE_COLUMNS],
        routes.map((r) =>
          h(
            "tr",
            {},
            h("th", { scope: "row" }, h("code", {}, r.route ?? MISSING)),
            ...rateCells(r),
          ),
        ),
      ),
    );
  }
  const bundles = (a.by_bundle ?? []).slice(0, 10);
  if (bundles.length) {
    section(
      "By version",
      table(
        "The bundle versions that answered the questions",
        ["Version", ...RATE_COLUMNS],
        bundles.map((r) =>
          h(
            "tr",
            {},
            h(
              "th",
              { scope: "row" },
              /^\d+$/.test(r.bundle ?? "") ? `v${r.bundle}` : (r.bundle ?? MISSING),
            ),
            ...rateCells(r),
          ),
        ),
      ),
    );
  }
  const articles = (a.by_article ?? []).slice(0, 10);
  if (articles.length) {
    section(
      "By article",
      table(
        "The articles shown most often; resolved per time shown",
        ["Article", "Shown", "Resolved", "Not helpful", "Resolution rate"],
        articles.map((r) =>
          h(
            "tr",
            {},
            h("th", { scope: "row" }, h("code", {}, r.article ?? MISSING)),
            h("td", { class: "num" }, formatCount(r.shown)),
            h("td", { class: "num" }, formatCount(r.resolved)),
            h("td", { class: "num" }, formatCount(r.not_helpful)),
            h("td", { class: "num" }, formatRate(r.resolution_rate)),
          ),
        ),
      ),
    );
  }
  return out;
}
