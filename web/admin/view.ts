// What every page of the console gets (the API, the live region, the header to refresh) and the
// pieces they share: loading, empty and error states, status badges, example questions and pages.

import { AdminApi, ApiError } from "./api";
import type { PageCount } from "./contract";
import { clear, h } from "./dom";
import { exampleText, formatCount } from "./format";

export interface ConsoleContext {
  api: AdminApi;
  // Says `message` through the polite live region (and shows it under the header).
  announce(message: string): void;
  // Re-reads the site (mode, current version) for the header.
  refreshSite(): Promise<void>;
  // Opens another page of the console ("articles"...), its tab focused.
  show(tab: string): void;
  // The number shown on the review queue's tab; null hides it.
  setPending(count: number | null): void;
  // Back to the sign-in form with `message` (the token was refused).
  signOut(message: string): void;
}

// A page of the console: draws itself into `panel` (already emptied).
export type View = (panel: HTMLElement, ctx: ConsoleContext) => Promise<void>;

export function loading(panel: HTMLElement, what: string): void {
  clear(panel);
  panel.setAttribute("aria-busy", "true");
  panel.appendChild(h("p", { class: "muted" }, `Loading ${what}\u2026`));
}

export function loaded(panel: HTMLElement): void {
  clear(panel);
  panel.removeAttribute("aria-busy");
}

export function emptyState(title: string, text: string): HTMLElement {
  return h("div", { class: "empty" }, h("p", { class: "empty-title" }, title), h("p", {}, text));
}

// Shows a failed request in the panel with a way to try again; a refused token signs out instead.
export function showError(
  panel: HTMLElement,
  ctx: ConsoleContext,
  error: unknown,
  what: string,
  retry: () => void,
): void {
  if (error instanceof ApiError && error.unauthorized) {
    ctx.signOut(error.message);
    return;
  }
  loaded(panel);
  panel.appendChild(errorBox(error, what, retry));
}

export function errorBox(error: unknown, what: string, retry?: () => void): HTMLElement {
  const message = error instanceof Error ? error.message : String(error);
  const notThere = error instanceof ApiError && error.status === 404 && error.code === "not_found";
  return h(
    "div",
    { class: "error", role: "alert" },
    h("p", { class: "error-title" }, `Could not load ${what}.`),
    h(
      "p",
      {},
      notThere ? `This server does not offer ${what} yet (it answered 404: ${message})` : message,
    ),
    retry
      ? h("button", { type: "button", class: "button", onclick: () => retry() }, "Try again")
      : null,
  );
}

// A failed action (approve, roll back...) shown above the list it belongs to.
export function actionError(
  ctx: ConsoleContext,
  error: unknown,
  slot: HTMLElement,
  what: string,
): void {
  if (error instanceof ApiError && error.unauthorized) {
    ctx.signOut(error.message);
    return;
  }
  clear(slot);
  const message = error instanceof Error ? error.message : String(error);
  slot.appendChild(
    h("div", { class: "error", role: "alert" }, h("p", {}, `${what} failed: ${message}`)),
  );
}

// Runs `action`, started by `button` (approve, roll back...): meanwhile the panel's buttons are
// disabled and `button` says `label`, since aria-busy alone shows nothing on screen. Disabling the
// focused button drops focus to <body>, so each caller puts it somewhere sensible afterwards.
export async function busyWhile<T>(
  panel: HTMLElement,
  button: HTMLButtonElement,
  label: string,
  action: () => Promise<T>,
): Promise<T> {
  const buttons = Array.from(panel.querySelectorAll("button")).filter((b) => !b.disabled);
  const text = button.textContent;
  panel.setAttribute("aria-busy", "true");
  for (const b of buttons) b.disabled = true;
  button.textContent = label;
  try {
    return await action();
  } finally {
    panel.removeAttribute("aria-busy");
    for (const b of buttons) b.disabled = false;
    button.textContent = text;
  }
}

export function badge(status: string | undefined): HTMLElement {
  const s = status || "unknown";
  return h("span", { class: `badge badge-${s.replace(/[^a-z_]/g, "")}` }, s.replace(/_/g, " "));
}

export function examplesList(examples: unknown[] | undefined, label: string): HTMLElement | null {
  if (!examples || examples.length === 0) return null;
  return h(
    "div",
    { class: "examples" },
    h("p", { class: "examples-label" }, label),
    h("ul", {}, ...examples.slice(0, 8).map((e) => h("li", {}, h("q", {}, exampleText(e))))),
  );
}

export function pagesList(pages: PageCount[] | undefined): HTMLElement | null {
  if (!pages || pages.length === 0) return null;
  return h(
    "div",
    { class: "pages" },
    h("p", { class: "examples-label" }, "Pages"),
    h(
      "ul",
      {},
      ...pages
        .slice(0, 8)
        .map((p) =>
          h("li", {}, h("code", {}, p.route ?? "(no route)"), ` ${formatCount(p.count)}`),
        ),
    ),
  );
}

// A definition list of label/value pairs.
export function facts(pairs: [string, string | Node][]): HTMLElement {
  const dl = h("dl", { class: "facts" });
  for (const [term, value] of pairs) {
    dl.appendChild(h("div", {}, h("dt", {}, term), h("dd", {}, value)));
  }
  return dl;
}
