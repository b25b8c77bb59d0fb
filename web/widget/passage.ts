// The passage an answer card quotes: the paragraph (or list item) of the article that shares the
// most words with the question, cut to a readable length around the first match, with the
// question's words marked. Built from text nodes and <mark> elements only; nothing here parses HTML.

import { plainText } from "./markdown";

const STOPWORDS = new Set(
  ("a an and are as at be but by can cant do does dont for from how i if in into is it its me my no " +
    "not of on or our so that the their them then there this to up us was we what when where which " +
    "who why will with you your")
    .split(" "),
);

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)?/gu;

// A crude English stem, enough to match "invoices" with "invoice" and "paying" with "pay".
export function stem(word: string): string {
  let w = word.toLowerCase().replace(/['’]s$/, "");
  if (w.length > 5 && w.endsWith("ing")) w = w.slice(0, -3);
  else if (w.length > 4 && w.endsWith("ed")) w = w.slice(0, -2);
  else if (w.length > 4 && w.endsWith("ies")) w = w.slice(0, -3) + "y";
  else if (w.length > 3 && w.endsWith("es") && /(ch|sh|x|ss)es$/.test(w)) w = w.slice(0, -2);
  else if (w.length > 3 && w.endsWith("s") && !w.endsWith("ss")) w = w.slice(0, -1);
  return w;
}

// The question's words worth marking, as stems.
export function queryStems(query: string): Set<string> {
  const out = new Set<string>();
  for (const m of query.matchAll(WORD)) {
    const w = m[0].toLowerCase();
    if (w.length < 2 || STOPWORDS.has(w.replace(/['’]/g, ""))) continue;
    out.add(stem(w));
  }
  return out;
}

export interface Passage {
  text: string;
  matches: number; // distinct question words it contains
}

export function bestPassage(body: string, stems: Set<string>, max = 240): Passage {
  const paragraphs = plainText(body);
  let best: Passage = { text: paragraphs[0] || "", matches: 0 };
  let bestScore = -1;
  paragraphs.forEach((p, index) => {
    const seen = new Set<string>();
    let words = 0;
    for (const m of p.matchAll(WORD)) {
      words++;
      const s = stem(m[0]);
      if (stems.has(s)) seen.add(s);
    }
    // Distinct matches first; among equals, earlier and denser paragraphs. A line of a few words
    // (a heading, a bold label) says little on a card: it counts as one and a half matches less.
    const score = seen.size * 100 - (words < 6 ? 150 : 0) - index - words / 50;
    if (seen.size > 0 && score > bestScore) {
      bestScore = score;
      best = { text: p, matches: seen.size };
    }
  });
  return { text: clip(best.text, stems, max), matches: best.matches };
}

// Cuts `text` to about `max` characters, keeping the first marked word in view.
function clip(text: string, stems: Set<string>, max: number): string {
  if (text.length <= max) return text;
  let first = 0;
  for (const m of text.matchAll(WORD)) {
    if (stems.has(stem(m[0]))) {
      first = m.index || 0;
      break;
    }
  }
  let start = first < max / 2 ? 0 : text.lastIndexOf(" ", first - Math.floor(max / 3)) + 1;
  if (start < 0) start = 0;
  let end = start + max;
  if (end < text.length) end = text.lastIndexOf(" ", end) > start ? text.lastIndexOf(" ", end) : end;
  return (start > 0 ? "…" : "") + text.slice(start, end).trim() + (end < text.length ? "…" : "");
}

// The text with each of the question's words in a <mark>, as DOM nodes.
export function markedText(text: string, stems: Set<string>): DocumentFragment {
  const out = document.createDocumentFragment();
  let last = 0;
  for (const m of text.matchAll(WORD)) {
    if (!stems.has(stem(m[0]))) continue;
    const at = m.index || 0;
    if (at > last) out.append(document.createTextNode(text.slice(last, at)));
    const mark = document.createElement("mark");
    mark.textContent = m[0];
    out.append(mark);
    last = at + m[0].length;
  }
  if (last < text.length) out.append(document.createTextNode(text.slice(last)));
  return out;
}
