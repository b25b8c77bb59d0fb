// Versions: every kept published bundle, the current one marked, and a rollback to any other
// after a confirmation. GET .../versions; POST .../rollback {"version": n}. A server without the
// versions list still shows the current version and can go back to the previous one.

import { ApiError } from "./api";
import type { SiteInfo, Version } from "./contract";
import { confirmAction } from "./confirm-dialog";
import { h } from "./dom";
import { formatBytes, formatTime } from "./format";
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
    return;
  }
  panel.appendChild(
    versionsTable(
      versions,
      (button, v, newer) => void rollBack(ctx, panel, slot, button, v, newer),
    ),
  );
}
