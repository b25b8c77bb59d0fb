// Versions: every kept published bundle, the current one marked, and a rollback to any other
// after a confirmation; below, the learning runs that made them (or did not, and why), and
// "Learn now". GET .../versions, GET .../runs; POST .../rollback {"version": n}, POST .../train.
// A server without the versions list still shows the current version and can go back to the
// previous one.

import { ApiError } from "./api";
import type { Changes, LearningRun, SiteInfo, Version } from "./contract";
import { confirmAction } from "./confirm-dialog";
import { h } from "./dom";
import { formatBytes, formatCount, formatRate, formatTime, MISSING } from "./format";
import {
  actionError,
  busyWhile,
  emptyState,
  errorBox,
  loaded,
  loading,
  showError,
  type ConsoleContext,
} from "./view";

async function rollBack(
  ctx: ConsoleContext,
  panel: HTMLElement,
  slot: HTMLElement,
  button: HTMLButtonElement,
  version: number | null,
  newer = false, // a version newer than the current one: going forward again
): Promise<void> {
  const which = version === null ? "the previous version" : `version ${version}`;
  const ok = await confirmAction({
    title: newer ? `Make ${which} current again?` : `Roll back to ${which}?`,
    message:
      `${which[0].toUpperCase()}${which.slice(1)} becomes current; widgets switch to it the next ` +
      "time they check the manifest. The other versions are kept, so you can come back.",
    confirmLabel: newer ? "Make current" : "Roll back",
    danger: !newer,
  });
  if (!ok) return;
  const label = newer ? "Making it current\u2026" : "Rolling back\u2026";
  const body = version === null ? undefined : { version };
  try {
    const answer = await busyWhile(panel, button, label, () =>
      ctx.api.post<{ version?: number }>("/rollback", body),
    );
    const now = answer?.version ?? version ?? "";
    ctx.announce(`${newer ? "Restored" : "Rolled back"}: version ${now} is current.`);
    await Promise.all([renderVersions(panel, ctx), ctx.refreshSite()]);
    // The button that had focus went with the old table.
    panel.querySelector<HTMLElement>("h2")?.focus();
  } catch (e) {
    actionError(ctx, e, slot, "Rolling back");
    button.focus();
  }
}

function versionsTable(
  versions: Version[],
  rollback: (button: HTMLButtonElement, v: number, newer: boolean) => void,
): HTMLElement {
  const current = versions.find((v) => v.current)?.version ?? Infinity;
  const rows = versions.map((v) =>
    h(
      "tr",
      { class: v.current ? "current" : undefined },
      h("th", { scope: "row" }, `v${v.version}`),
      h("td", {}, formatTime(v.published_at)),
      h("td", { class: "num" }, formatBytes(v.bytes)),
      h("td", {}, v.sha256 ? h("code", { title: v.sha256 }, v.sha256.slice(0, 12)) : "\u2014"),
      h("td", {}, v.note || ""),
      h(
        "td",
        {},
        v.current
          ? h("span", { class: "badge badge-current" }, "current")
          : h(
              "button",
              {
                type: "button",
                class: "button small",
                onclick: (e: Event) =>
                  rollback(e.currentTarget as HTMLButtonElement, v.version, v.version > current),
              },
              v.version > current ? `Make v${v.version} current` : `Roll back to v${v.version}`,
            ),
      ),
    ),
  );
  return h(
    "div",
    { class: "table-scroll" },
    h(
      "table",
      { class: "versions" },
      h("caption", {}, "Published versions, newest first"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ...["Version", "Published", "Size", "SHA-256", "Note", "Status"].map((t) =>
            h("th", { scope: "col" }, t),
          ),
        ),
      ),
      h("tbody", {}, ...rows),
    ),
  );
}

function plural(n: number | undefined, one: string, many = `${one}s`): string {
  return `${formatCount(n ?? 0)} ${n === 1 ? one : many}`;
}

// What a run ended in: what it published, staged, refused or rolled back.
function runResult(r: LearningRun): string {
  const result: string[] = [];
  if (r.finished) result.push(`Finished publishing v${r.finished}.`);
  if (r.rolled_back_to) {
    result.push(`Rolled back to v${r.rolled_back_to}: ${r.rollback_note ?? ""}`.trim());
  }
  switch (r.outcome) {
    case "published":
      result.push(r.version ? `Published v${r.version}.` : "Published.");
      break;
    case "staged":
      result.push(`${plural(r.changes?.length, "change")} staged for review.`);
      break;
    case "refused":
      result.push(`Refused: ${r.replay?.note ?? "worse in replay"}`);
      break;
    default:
      if (!result.length) result.push("Nothing new to learn.");
  }
  return result.join(" ");
}

// One run's cells: when, what it read, what the guardrails made of it, the replay, the result.
function runCells(r: LearningRun): string[] {
  const read = [plural(r.signals, "signal")];
  if (r.resolutions) read.push(plural(r.resolutions, "helpdesk resolution"));
  const learned: string[] = [];
  if (r.accepted) learned.push(plural(r.accepted, "new exemplar"));
  if (r.merged) learned.push(`${formatCount(r.merged)} merged`);
  if (r.waiting) learned.push(`${formatCount(r.waiting)} waiting for agreement`);
  if (r.rejected) learned.push(`${formatCount(r.rejected)} refused`);
  if (r.ranker) {
    learned.push(
      `page weight ${r.ranker.page_weight?.toFixed(2) ?? MISSING}, prior weight ` +
        `${r.ranker.prior_weight?.toFixed(2) ?? MISSING}`,
    );
  }
  const replay = !r.replay?.questions
    ? MISSING
    : r.replay.compared === false
      ? (r.replay.note ?? MISSING)
      : `${formatRate(r.replay.current)} \u2192 ${formatRate(r.replay.candidate)} ` +
        `on ${plural(r.replay.questions, "question")}`;
  return [
    formatTime(r.at),
    read.join(", ") + (r.questions ? `; ${plural(r.questions, "question")}` : ""),
    learned.join("; ") || MISSING,
    replay,
    runResult(r),
  ];
}

// Runs the learning pipeline now (POST .../train), updates the review queue's count and says in
// words what the run did.
export async function learn(ctx: ConsoleContext): Promise<string> {
  const run = await ctx.api.post<LearningRun>("/train");
  const changes = (await ctx.api.get<Changes>("/changes")).changes ?? [];
  ctx.setPending(changes.filter((c) => c.status === "pending").length);
  return `Learning run finished. ${runResult(run)}`;
}

// "Learn now": learns, says what it did, and draws the page again.
async function learnNow(
  ctx: ConsoleContext,
  panel: HTMLElement,
  slot: HTMLElement,
  button: HTMLButtonElement,
): Promise<void> {
  try {
    ctx.announce(await busyWhile(panel, button, "Learning\u2026", () => learn(ctx)));
    await Promise.all([renderVersions(panel, ctx), ctx.refreshSite()]);
    // The button that had focus went with the old page.
    panel.querySelector<HTMLElement>("h2")?.focus();
  } catch (e) {
    actionError(ctx, e, slot, "Learning");
    button.focus();
  }
}

// The learning runs section, with "Learn now" once something is published; a server without the
// runs list shows none.
async function runsSection(
  ctx: ConsoleContext,
  panel: HTMLElement,
  published: boolean,
): Promise<HTMLElement | null> {
  const slot = h("div", { class: "slot" });
  const learn = h(
    "button",
    {
      type: "button",
      class: "button",
      onclick: (e: Event) =>
        void learnNow(ctx, panel, slot, e.currentTarget as HTMLButtonElement),
    },
    "Learn now",
  );
  const section = (...body: HTMLElement[]): HTMLElement =>
    h(
      "section",
      { class: "runs-section" },
      h(
        "div",
        { class: "section-head" },
        h("h3", {}, "Learning runs"),
        published ? h("div", { class: "actions" }, learn) : null,
      ),
      slot,
      ...body,
    );
  let runs: LearningRun[];
  try {
    runs = (await ctx.api.get<{ runs?: LearningRun[] }>("/runs")).runs ?? [];
  } catch (e) {
    if (e instanceof ApiError && e.status === 404 && e.code === "not_found") return null;
    return section(errorBox(e, "the learning runs"));
  }
  const intro = h(
    "p",
    { class: "muted" },
    "What each learning run read and did, newest first (the last 50 that read anything). " +
      "A candidate is replayed on recent questions no bundle learned from, against the version " +
      "then current, and is refused if it answers markedly fewer of them right. The server also " +
      "learns by itself on a schedule (hourly by default); Learn now runs it at once.",
  );
  if (runs.length === 0) {
    return section(
      intro,
      emptyState("No learning runs yet.", "Runs appear once the widget has sent signals."),
    );
  }
  const header = ["When", "Read", "Learned", "Replay (right first)", "Result"];
  return section(
    intro,
    h(
      "div",
      { class: "table-scroll" },
      h(
        "table",
        { class: "runs" },
        h("caption", {}, "Learning runs, newest first"),
        h("thead", {}, h("tr", {}, ...header.map((t) => h("th", { scope: "col" }, t)))),
        h(
          "tbody",
          {},
          ...runs.map((r) => {
            const [when, ...rest] = runCells(r);
            return h(
              "tr",
              { class: r.outcome === "refused" || r.rolled_back_to ? "refused" : undefined },
              h("th", { scope: "row" }, when),
              ...rest.map((c) => h("td", {}, c)),
            );
          }),
        ),
      ),
    ),
  );
}

export async function renderVersions(panel: HTMLElement, ctx: ConsoleContext): Promise<void> {
  loading(panel, "the versions");
  const slot = h("div", { class: "slot" });
  let versions: Version[];
  try {
    versions = (await ctx.api.get<{ versions?: Version[] }>("/versions")).versions ?? [];
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404 && e.code === "not_found")) {
      showError(panel, ctx, e, "the versions", () => void renderVersions(panel, ctx));
      return;
    }
    // The server has no versions list: show what the site says and offer the previous version.
    let site: SiteInfo;
    try {
      site = await ctx.api.get<SiteInfo>("");
    } catch (e2) {
      showError(panel, ctx, e2, "the versions", () => void renderVersions(panel, ctx));
      return;
    }
    loaded(panel);
    panel.appendChild(h("h2", { tabindex: "-1" }, "Versions"));
    panel.appendChild(errorBox(e, "the list of versions"));
    panel.appendChild(slot);
    panel.appendChild(
      h(
        "p",
        {},
        site.version ? `Version ${site.version} is current.` : "Nothing is published yet.",
      ),
    );
    if (site.version && site.version > 1) {
      panel.appendChild(
        h(
          "button",
          {
            type: "button",
            class: "button",
            onclick: (e: Event) =>
              void rollBack(ctx, panel, slot, e.currentTarget as HTMLButtonElement, null),
          },
          "Roll back to the previous version",
        ),
      );
    }
    return;
  }
  const runs = await runsSection(ctx, panel, versions.length > 0);
  loaded(panel);
  panel.appendChild(h("h2", { tabindex: "-1" }, "Versions"));
  panel.appendChild(
    h(
      "p",
      { class: "muted" },
      "Each publish makes an immutable bundle; the last ten are kept. Rolling back makes an older one current for every widget.",
    ),
  );
  panel.appendChild(slot);
  if (versions.length === 0) {
    panel.appendChild(
      emptyState("Nothing published yet.", "Publish the knowledge base to make the first version."),
    );
  } else {
    panel.appendChild(
      versionsTable(
        versions,
        (button, v, newer) => void rollBack(ctx, panel, slot, button, v, newer),
      ),
    );
  }
  if (runs) panel.appendChild(runs);
}
