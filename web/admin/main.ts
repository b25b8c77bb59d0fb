// The operators' console, served by the sync server at /admin/: sign in with a site name and its
// admin token (kept in sessionStorage), then seven pages as tabs: overview, review queue, gaps,
// articles, incidents, versions and settings. Every server string is drawn as text (see dom.ts).

import { AdminApi, ApiError } from "./api";
import { renderArticles } from "./articles";
import type { SiteInfo } from "./contract";
import {
  clearCredentials,
  loadCredentials,
  saveCredentials,
  type Credentials,
} from "./credentials";
import { clear, h } from "./dom";
import { renderGaps } from "./gaps";
import { renderIncidents } from "./incidents";
import { renderOverview } from "./overview";
import { renderReviewQueue } from "./review-queue";
import { renderSettings } from "./settings";
import { renderVersions } from "./versions";
import type { ConsoleContext, View } from "./view";

interface Tab {
  id: string;
  label: string;
  view: View;
}

const TABS: Tab[] = [
  { id: "overview", label: "Overview", view: renderOverview },
  { id: "review", label: "Review queue", view: renderReviewQueue },
  { id: "gaps", label: "Gaps", view: renderGaps },
  { id: "articles", label: "Articles", view: renderArticles },
  { id: "incidents", label: "Incidents", view: renderIncidents },
  { id: "versions", label: "Versions", view: renderVersions },
  { id: "settings", label: "Settings", view: renderSettings },
];

const app = document.getElementById("app") as HTMLElement;

function signInMessage(error: unknown, site: string): string {
  if (error instanceof ApiError) {
    if (error.status === 401) return "Enter the site's admin token.";
    if (error.status === 403)
      return `The admin token is not valid for the site \u201c${site}\u201d.`;
    if (error.status === 404 && error.code === "site_not_found") {
      return `There is no site \u201c${site}\u201d on this server.`;
    }
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

function showSignIn(message = ""): void {
  clear(app);
  document.title = "Sign in \u2013 Loopwise admin";
  const requested = new URLSearchParams(location.search).get("site") ?? "";
  const site = h("input", {
    id: "signin-site",
    name: "site",
    autocomplete: "username",
    required: true,
    spellcheck: "false",
    value: loadCredentials()?.site ?? requested,
  });
  const token = h("input", {
    id: "signin-token",
    name: "token",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const error = h("p", { class: "form-error", role: "alert", id: "signin-error" }, message);
  const submit = h("button", { type: "submit", class: "button primary" }, "Sign in");
  const form = h(
    "form",
    { class: "signin-form", "aria-labelledby": "signin-title", novalidate: true },
    h("h1", { id: "signin-title" }, "Loopwise admin"),
    h(
      "p",
      { class: "muted" },
      "Sign in with the site's name and the admin token printed when it was created.",
    ),
    h("label", { for: "signin-site" }, "Site"),
    site,
    h("label", { for: "signin-token" }, "Admin token"),
    token,
    error,
    submit,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const c: Credentials = { site: site.value.trim(), token: token.value.trim() };
    if (!c.site || !c.token) {
      error.textContent = c.site ? "Enter the site's admin token." : "Enter the site's name.";
      (c.site ? token : site).focus();
      return;
    }
    submit.disabled = true;
    error.textContent = "";
    const api = new AdminApi(c.site, c.token);
    api
      .get<SiteInfo>("")
      .then((info) => {
        saveCredentials(c);
        showConsole(c, info);
      })
      .catch((e: unknown) => {
        submit.disabled = false;
        error.textContent = signInMessage(e, c.site);
        token.focus();
        token.select();
      });
  });
  app.appendChild(h("main", { class: "signin" }, form));
  (site.value ? token : site).focus();
}

function showConsole(c: Credentials, initial: SiteInfo): void {
  clear(app);
  document.title = `${c.site} \u2013 Loopwise admin`;
  const api = new AdminApi(c.site, c.token);
  const siteLine = h("p", { class: "site-line" });
  const announcer = h("p", { class: "announce", role: "status", "aria-live": "polite" });
  const pendingBadge = h("span", { class: "count", hidden: true });

  const describeSite = (info: SiteInfo): void => {
    clear(siteLine);
    siteLine.append(
      h("strong", {}, info.site || c.site),
      ` \u00b7 ${info.mode ? `${info.mode} mode` : "mode unknown"} \u00b7 `,
      info.version ? `version ${info.version} is current` : "nothing published yet",
    );
  };
  describeSite(initial);

  const signOut = (message: string): void => {
    clearCredentials();
    showSignIn(message);
  };
  const ctx: ConsoleContext = {
    api,
    announce(message) {
      announcer.textContent = message;
    },
    async refreshSite() {
      try {
        describeSite(await api.get<SiteInfo>(""));
      } catch (e) {
        if (e instanceof ApiError && e.unauthorized) signOut(e.message);
      }
    },
    show(id) {
      const index = TABS.findIndex((t) => t.id === id);
      if (index >= 0) select(index, true);
    },
    setPending(count) {
      pendingBadge.hidden = !count;
      pendingBadge.textContent = count ? String(count) : "";
    },
    signOut(message) {
      signOut(`The server refused the token: ${message} Sign in again.`);
    },
  };

  const tabs = TABS.map((t) =>
    h(
      "button",
      {
        type: "button",
        role: "tab",
        id: `tab-${t.id}`,
        "aria-controls": `panel-${t.id}`,
        "aria-selected": "false",
        tabindex: "-1",
      },
      t.label,
      t.id === "review" ? pendingBadge : null,
    ),
  );
  const panels = TABS.map((t) =>
    h("section", {
      role: "tabpanel",
      id: `panel-${t.id}`,
      "aria-labelledby": `tab-${t.id}`,
      tabindex: "0",
      hidden: true,
    }),
  );
  let selected = -1;
  const select = (index: number, focus: boolean): void => {
    if (index !== selected) {
      tabs.forEach((tab, i) => {
        tab.setAttribute("aria-selected", String(i === index));
        tab.tabIndex = i === index ? 0 : -1;
        panels[i].hidden = i !== index;
      });
      selected = index;
      history.replaceState(null, "", `#${TABS[index].id}`);
      announcer.textContent = ""; // what was said belongs to the page left
    }
    if (focus) tabs[index].focus();
    // Each page is read afresh, and so is the header: a publish or a rollback may have come
    // from elsewhere (the CLI, the learning loop, another operator).
    void TABS[index].view(panels[index], ctx);
    void ctx.refreshSite();
  };
  const tablist = h(
    "div",
    { role: "tablist", "aria-label": "Console pages", class: "tabs" },
    ...tabs,
  );
  tabs.forEach((tab, i) => tab.addEventListener("click", () => select(i, false)));
  tablist.addEventListener("keydown", (event) => {
    const keys: Record<string, number> = {
      ArrowRight: (selected + 1) % TABS.length,
      ArrowLeft: (selected - 1 + TABS.length) % TABS.length,
      Home: 0,
      End: TABS.length - 1,
    };
    if (!(event.key in keys)) return;
    event.preventDefault();
    select(keys[event.key], true);
  });

  const refresh = h(
    "button",
    {
      type: "button",
      class: "button",
      onclick: () => select(selected, false),
    },
    "Refresh",
  );
  const signOutButton = h(
    "button",
    {
      type: "button",
      class: "button",
      onclick: () => {
        clearCredentials();
        showSignIn("Signed out.");
      },
    },
    "Sign out",
  );
  app.append(
    h(
      "header",
      { class: "topbar" },
      h("div", { class: "brand" }, h("h1", {}, "Loopwise admin"), siteLine),
      h("div", { class: "actions" }, refresh, signOutButton),
    ),
    h("nav", { "aria-label": "Console" }, tablist),
    announcer,
    h("main", { class: "content" }, ...panels),
  );
  const fromHash = TABS.findIndex((t) => `#${t.id}` === location.hash);
  select(fromHash >= 0 ? fromHash : 0, false);
  // The pending count shows on its tab from the start.
  api
    .get<{ changes?: { status?: string }[] }>("/changes")
    .then((a) => ctx.setPending((a.changes ?? []).filter((x) => x.status === "pending").length))
    .catch(() => ctx.setPending(null));
}

function start(): void {
  const c = loadCredentials();
  if (!c) {
    showSignIn();
    return;
  }
  new AdminApi(c.site, c.token)
    .get<SiteInfo>("")
    .then((info) => showConsole(c, info))
    .catch((e: unknown) => {
      if (e instanceof ApiError && e.unauthorized) clearCredentials();
      showSignIn(signInMessage(e, c.site));
    });
}

start();
