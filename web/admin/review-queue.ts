// Review queue: what the learning loop wants to change, each with its plain explanation, the
// evidence behind it and example questions; approve or reject one change, or every pending one;
// revert a published one after a confirmation. GET .../changes; POST .../changes/{id}/approve|
// reject|revert and .../changes/all/approve|reject.

import type { Change, Changes } from "./contract";
import { confirmAction } from "./confirm-dialog";
import { h, uniqueId } from "./dom";
import { formatCount, formatTime } from "./format";
import {
  actionError,
  badge,
  busyWhile,
  emptyState,
  examplesList,
  facts,
  loaded,
  loading,
  showError,
  type ConsoleContext,
} from "./view";

type Decision = "approve" | "reject" | "revert";

function modeText(mode: string | undefined): string {
  if (mode === "review")
    return "Review mode: learned changes wait here until you approve them; approving publishes a new version.";
  if (mode === "autonomous")
    return "Autonomous mode: changes that pass the guardrails are published without waiting; this list is their record.";
  return mode ? `Mode: ${mode}.` : "";
}

function changeCard(
  change: Change,
  decide: (c: Change, d: Decision, button: HTMLButtonElement) => Promise<void>,
): HTMLElement {
  const titleId = uniqueId("change");
  const pending = change.status === "pending";
  const evidence = change.evidence ?? {};
  const meta: [string, string][] = [
    ["Kind", change.kind ? change.kind.replace(/_/g, " ") : "change"],
    ["Article", change.article ?? "none"],
    ["Sessions", formatCount(evidence.sessions)],
    ["Resolved", formatCount(evidence.resolved)],
    ["Not helpful", formatCount(evidence.not_helpful)],
    ["Proposed", formatTime(change.created_at)],
  ];
  if (!pending) meta.push(["Decided", formatTime(change.decided_at)]);
  if (change.version) meta.push(["Published in", `v${change.version}`]);
  const button = (d: Decision, label: string, primary = false): HTMLElement =>
    h(
      "button",
      {
        type: "button",
        class: primary ? "button primary" : "button",
        "aria-describedby": titleId,
        onclick: (e: Event) => void decide(change, d, e.currentTarget as HTMLButtonElement),
      },
      label,
    );
  const actions = pending
    ? [button("approve", "Approve", true), button("reject", "Reject")]
    : change.status === "published"
      ? [button("revert", "Revert")]
      : [];
  return h(
    "article",
    { class: "card change", "aria-labelledby": titleId },
    h(
      "div",
      { class: "card-head" },
      badge(change.status),
      h("span", { class: "muted" }, `#${change.id}`),
    ),
    h("h3", { id: titleId, class: "explanation" }, change.summary || "(no explanation given)"),
    facts(meta),
    change.note ? h("p", { class: "muted note" }, change.note) : null,
    examplesList(change.examples, "Questions like"),
    actions.length ? h("div", { class: "actions" }, ...actions) : null,
  );
}

export async function renderReviewQueue(panel: HTMLElement, ctx: ConsoleContext): Promise<void> {
  loading(panel, "the review queue");
  let answer: Changes;
  try {
    answer = await ctx.api.get<Changes>("/changes");
  } catch (e) {
    showError(panel, ctx, e, "the review queue", () => void renderReviewQueue(panel, ctx));
    return;
  }
  loaded(panel);
  const changes = answer.changes ?? [];
  const pending = changes.filter((c) => c.status === "pending");
  const decided = changes.filter((c) => c.status !== "pending");
  ctx.setPending(pending.length);

  const errorSlot = h("div", { class: "slot" });
  const rerender = (): Promise<void> => renderReviewQueue(panel, ctx);
  // `what` is what `button` says while the action runs ("Approving the change…"), and names it in
  // an error.
  const run = async (
    button: HTMLButtonElement,
    what: string,
    path: string,
    done: string,
  ): Promise<void> => {
    try {
      await busyWhile(panel, button, `${what}\u2026`, () => ctx.api.post(path));
      ctx.announce(done);
      await Promise.all([rerender(), ctx.refreshSite()]);
      // The button that had focus went with the old list.
      panel.querySelector<HTMLElement>(".list-title")?.focus();
    } catch (e) {
      actionError(ctx, e, errorSlot, what);
      button.focus();
    }
  };
  const decide = async (c: Change, d: Decision, button: HTMLButtonElement): Promise<void> => {
    const label = c.summary ? `\u201c${c.summary}\u201d` : `change #${c.id}`;
    if (d === "revert") {
      const ok = await confirmAction({
        title: `Revert change #${c.id}?`,
        message:
          "A new version without it is published for every widget. The questions behind it " +
          "count against its article from now on, so learning does not bring it back on the " +
          "same evidence. Rolling back to a version that holds it restores it.",
        confirmLabel: "Revert",
        danger: true,
      });
      if (!ok) return;
    }
    const verb = { approve: "Approving", reject: "Rejecting", revert: "Reverting" }[d];
    const done = { approve: "Approved", reject: "Rejected", revert: "Reverted" }[d];
    await run(
      button,
      `${verb} the change`,
      `/changes/${encodeURIComponent(String(c.id))}/${d}`,
      `${done} ${label}.`,
    );
  };
  const decideAll = async (d: Decision, button: HTMLButtonElement): Promise<void> => {
    const n = pending.length;
    const ok = await confirmAction({
      title:
        d === "approve" ? `Approve all ${n} pending changes?` : `Reject all ${n} pending changes?`,
      message:
        d === "approve"
          ? "Every pending change is applied and a new version is published for all widgets."
          : "Every pending change is dropped; the published version stays as it is.",
      confirmLabel: d === "approve" ? "Approve all" : "Reject all",
      danger: d === "reject",
    });
    if (!ok) return;
    await run(
      button,
      d === "approve" ? "Approving all changes" : "Rejecting all changes",
      `/changes/all/${d}`,
      d === "approve" ? `Approved ${n} changes.` : `Rejected ${n} changes.`,
    );
  };

  panel.appendChild(
    h(
      "div",
      { class: "section-head" },
      h("h2", {}, "Review queue"),
      pending.length > 1
        ? h(
            "div",
            { class: "actions" },
            h(
              "button",
              {
                type: "button",
                class: "button primary",
                onclick: (e: Event) =>
                  void decideAll("approve", e.currentTarget as HTMLButtonElement),
              },
              "Approve all",
            ),
            h(
              "button",
              {
                type: "button",
                class: "button",
                onclick: (e: Event) =>
                  void decideAll("reject", e.currentTarget as HTMLButtonElement),
              },
              "Reject all",
            ),
          )
        : null,
    ),
  );
  const mode = modeText(answer.mode);
  if (mode) panel.appendChild(h("p", { class: "muted" }, mode));
  panel.appendChild(errorSlot);

  panel.appendChild(
    h("h3", { class: "list-title", tabindex: "-1" }, `Pending (${pending.length})`),
  );
  if (pending.length === 0) {
    panel.appendChild(
      emptyState(
        "Nothing waits for review.",
        "When customers' outcomes teach the site something new (enough distinct sessions agree), the change appears here with its evidence.",
      ),
    );
  } else {
    panel.appendChild(h("div", { class: "cards" }, ...pending.map((c) => changeCard(c, decide))));
  }
  if (decided.length) {
    const list = h("div", { class: "cards" }, ...decided.map((c) => changeCard(c, decide)));
    panel.appendChild(
      h("details", { class: "decided" }, h("summary", {}, `Decided (${decided.length})`), list),
    );
  }
}
