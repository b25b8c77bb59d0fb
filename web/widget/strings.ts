// Every string the widget shows or announces, in English. A site replaces any of them with
// data-loopwise-strings='{"ask": "Fragen"}' on the script tag or Loopwise.setStrings({...});
// data-loopwise-title and data-loopwise-greeting set `title` and `greeting`. Unknown keys and
// non-string values are ignored.

export const DEFAULT_STRINGS = {
  launcher: "Help",
  title: "How can we help?",
  greeting: "Ask a question about the product. Answers come from our help centre.",
  dialog: "Help",
  close: "Close help",
  question: "Your question",
  placeholder: "Ask a question",
  tooLong: "Only the first {n} characters of a question are kept.",
  ask: "Ask",
  looking: "Looking…",
  answersFound: "{n} answers found. The best: {title}.",
  noAnswer: "We don't have an answer to that yet. A person from the team can help.",
  notSure: "We're not sure we have an answer to that. These might help, or a person from the team can.",
  unavailable: "Help search is not available right now.",
  open: "Open",
  openLabel: "Open the article: {title}",
  back: "Back to answers",
  solved: "Did this solve it?",
  yes: "Yes",
  no: "No",
  glad: "Glad that helped.",
  notSolved: "You told us this did not solve it.",
  sorry: "Sorry about that. Here are other answers.",
  human: "Talk to a human",
  humanEarly: "Would you rather ask a person?",
  // Always at the foot of the panel when the host page takes the handoff (listens to escalate).
  contactLead: "Rather talk to someone?",
  contact: "Contact a person",
  // "escalated" when the host page takes the handoff (it listens to the escalate event), "noted"
  // when nothing does: then the question only reaches the team's reports, and nobody can reply.
  escalated: "We've let the team know about your question.",
  noted: "We've noted this for the team, but no one can reply here. Please contact support through this site.",
  articleMissing: "This article could not be shown.",
};

export type Strings = typeof DEFAULT_STRINGS;
export type StringKey = keyof Strings;

// `base` with the string values of `changes` whose keys it knows.
export function mergeStrings(base: Strings, changes: unknown): Strings {
  const out: Strings = { ...base };
  if (!changes || typeof changes !== "object") return out;
  for (const key of Object.keys(changes as object)) {
    const v = (changes as Record<string, unknown>)[key];
    if (key in base && typeof v === "string") out[key as StringKey] = v;
  }
  return out;
}

// "{n} answers" with {name} filled from `values`.
export function format(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole));
}
