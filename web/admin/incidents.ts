// Incidents: sudden spikes of a kind of question or on a page (a bug or an outage showing up in
// the questions), with the count against its usual level. GET .../incidents.

import type { Incident } from "./contract";
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

function against(count: number | undefined, baseline: number | undefined): string {
  if (typeof count !== "number") return formatCount(count);
  if (typeof baseline !== "number" || !Number.isFinite(baseline)) return formatCount(count);
  const base = Math.round(baseline * 10) / 10;
  const times = baseline > 0 ? ` (${(count / baseline).toFixed(1)}\u00d7)` : "";
  return `${formatCount(count)} against a usual ${base}${times}`;
}

function incidentCard(incident: Incident): HTMLElement {
  const titleId = uniqueId("incident");
  return h(
    "article",
    {
      class: `card incident incident-${incident.status === "open" ? "open" : "resolved"}`,
      "aria-labelledby": titleId,
    },
    h("div", { class: "card-head" }, badge(incident.status)),
    h("h3", { id: titleId }, incident.label || `Incident #${incident.id}`),
    facts([
      ["Questions", against(incident.count, incident.baseline)],
      ["Page", incident.route ? h("code", {}, incident.route) : "all pages"],
      ["First seen", formatTime(incident.first_seen)],
      ["Last seen", formatTime(incident.last_seen)],
      ...(incident.resolved_at
        ? ([["Resolved", formatTime(incident.resolved_at)]] as [string, string][])
        : []),
    ]),
    examplesList(incident.examples, "Customers asked"),
    pagesList(incident.pages),
  );
}

export async function renderIncidents(panel: HTMLElement, ctx: ConsoleContext): Promise<void> {
  loading(panel, "the incidents");
  let incidents: Incident[];
  try {
    incidents = (await ctx.api.get<{ incidents?: Incident[] }>("/incidents")).incidents ?? [];
  } catch (e) {
    showError(panel, ctx, e, "the incidents", () => void renderIncidents(panel, ctx));
    return;
  }
  loaded(panel);
  panel.appendChild(h("h2", {}, "Incidents"));
  if (incidents.length === 0) {
    panel.appendChild(
      emptyState(
        "No incidents.",
        "When a kind of question or a page suddenly draws far more questions than usual, an incident opens here.",
      ),
    );
    return;
  }
  const open = incidents.filter((i) => i.status === "open");
  const resolved = incidents.filter((i) => i.status !== "open");
  panel.appendChild(h("h3", { class: "list-title" }, `Open (${open.length})`));
  if (open.length) {
    panel.appendChild(h("div", { class: "cards" }, ...open.map(incidentCard)));
  } else {
    panel.appendChild(h("p", { class: "muted" }, "No incident is open."));
  }
  if (resolved.length) {
    panel.appendChild(
      h(
        "details",
        { class: "decided" },
        h("summary", {}, `Resolved (${resolved.length})`),
        h("div", { class: "cards" }, ...resolved.map(incidentCard)),
      ),
    );
  }
}
