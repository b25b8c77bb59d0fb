// The page- and session-aware context of a question (DESIGN.md, "Page-aware and session-aware
// context"), read locally when the question is asked and passed to the engine's search:
//   route      the path with ids and tokens folded to :id (the engine's foldRoute)
//   title      document.title; headings: the page's h1 and h2 texts
//   <key>      each data-loopwise-<key> attribute on the page, then each Loopwise.setContext() value
//              (the host's own values win)
//   session    the trail: recent folded routes, seconds on this page, errors caught, and how many
//              times this tab asked the same question before
// All of it stays in the browser. Signals carry only the folded route and the keys the site's
// operator allows on the script tag (data-loopwise-signal-context="plan,feature"): signalContext.
// The escalate event hands the host page its own values back: handoffContext.

import { readTrail } from "./trail";

export type ContextValue = string | number | boolean;

export interface SearchContext {
  route: string;
  title: string;
  headings: string[];
  session: { routes: string[]; seconds_on_page: number; errors: number; repeated: number };
  [key: string]: unknown;
}

const MAX_TEXT = 200;
const MAX_HEADINGS = 12;
const MAX_KEYS = 24;
const PREFIX = "data-loopwise-";
// The script tag's own settings are configuration, not context.
const CONFIG_ATTRIBUTES = /^data-loopwise-(flush-ms|signal-context|color|position|title|greeting|strings)$/;
const RESERVED = new Set(["route", "title", "headings", "session"]);

const text = (s: string | null | undefined): string => (s || "").replace(/\s+/g, " ").trim().slice(0, MAX_TEXT);

function keyName(attribute: string): string {
  return attribute.slice(PREFIX.length).replace(/[^a-z0-9]+/g, "_");
}

// data-loopwise-* attributes anywhere in the page, found with one XPath query rather than a walk.
export function pageAttributes(root: Document = document): Record<string, string> {
  const out: Record<string, string> = {};
  let count = 0;
  try {
    const found = root.evaluate(
      "//*[@*[starts-with(name(), 'data-loopwise-')]]",
      root,
      null,
      XPathResult.ORDERED_NODE_SNAPSHOT_TYPE,
      null,
    );
    for (let i = 0; i < found.snapshotLength && count < MAX_KEYS; i++) {
      const element = found.snapshotItem(i) as Element;
      if (element.tagName === "SCRIPT") continue;
      for (const attr of Array.from(element.attributes)) {
        if (!attr.name.startsWith(PREFIX) || CONFIG_ATTRIBUTES.test(attr.name)) continue;
        const key = keyName(attr.name);
        if (!key || RESERVED.has(key) || key in out) continue;
        out[key] = text(attr.value);
        if (++count >= MAX_KEYS) break;
      }
    }
  } catch {
    /* no XPath (very old engines): no page attributes */
  }
  return out;
}

function headings(root: Document): string[] {
  return Array.from(root.querySelectorAll("h1, h2"), (h) => text(h.textContent))
    .filter(Boolean)
    .slice(0, MAX_HEADINGS);
}

function hostValues(host: Record<string, unknown>): Record<string, ContextValue> {
  const out: Record<string, ContextValue> = {};
  let count = 0;
  for (const key of Object.keys(host)) {
    const v = host[key];
    if (RESERVED.has(key) || count >= MAX_KEYS) continue;
    if (typeof v === "string") out[key] = text(v);
    else if (typeof v === "number" && isFinite(v)) out[key] = v;
    else if (typeof v === "boolean") out[key] = v;
    else continue; // objects, arrays, functions: not context the engine or the operator can use
    count++;
  }
  return out;
}

export function searchContext(
  fold: (route: string) => string,
  host: Record<string, unknown>,
  repeated: number,
  now = Date.now(),
): SearchContext {
  const trail = readTrail();
  const here = location.pathname;
  const last = trail.visits[trail.visits.length - 1];
  const since = last && last.route === here ? last.at : now;
  return {
    ...pageAttributes(),
    ...hostValues(host),
    route: fold(here),
    title: text(document.title),
    headings: headings(document),
    session: {
      routes: trail.visits.map((v) => fold(v.route)),
      seconds_on_page: Math.max(0, Math.round((now - since) / 1000)),
      errors: trail.errors,
      repeated,
    },
  };
}

// What of the context may travel with a signal: the folded route and the operator's allowed keys
// (primitive values only, strings scrubbed of personal data).
export function signalContext(
  context: SearchContext,
  allowed: string[],
  scrub: (s: string) => string,
): Record<string, ContextValue> {
  const out: Record<string, ContextValue> = { route: context.route };
  for (const key of allowed) {
    if (RESERVED.has(key)) continue;
    const v = context[key];
    if (typeof v === "string") out[key] = scrub(v);
    else if (typeof v === "number" || typeof v === "boolean") out[key] = v;
  }
  return out;
}

// What of the context the escalate event gives the host page for its handoff to a person: the
// folded route, the title, the page's data-loopwise-* keys and the setContext values, as the page
// gave them (they are the page's own, so nothing is scrubbed); not the headings or the trail.
export function handoffContext(context: SearchContext): Record<string, unknown> {
  const out: Record<string, unknown> = { ...context };
  delete out.headings;
  delete out.session;
  return out;
}
