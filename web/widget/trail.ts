// The session trail: what this tab did before the question, kept in sessionStorage (so it ends
// with the tab) and never sent anywhere. Recent routes with when they were entered, errors the page
// threw, and the questions asked (to notice a repeated one). The loader records visits and errors
// from page load on; the panel reads the trail into each search's context.
// Without sessionStorage (sandboxed frames, some private modes) the trail lives in memory.

export interface Visit {
  route: string; // location.pathname, unfolded: it stays in this tab
  at: number; // ms since epoch, when the route was entered
}

export interface Trail {
  visits: Visit[];
  errors: number;
  questions: string[]; // normalized (lower case, single spaces), most recent last
}

const KEY = "loopwise.trail";
const MAX_VISITS = 10;
const MAX_QUESTIONS = 10;

let memory: Trail = { visits: [], errors: 0, questions: [] };

export function readTrail(): Trail {
  try {
    const saved = JSON.parse(sessionStorage.getItem(KEY) || "null") as Partial<Trail> | null;
    if (saved && Array.isArray(saved.visits) && Array.isArray(saved.questions)) {
      return { visits: saved.visits, errors: Number(saved.errors) || 0, questions: saved.questions };
    }
  } catch {
    /* no sessionStorage, or someone else's value under our key: start over */
  }
  return memory;
}

function writeTrail(trail: Trail): void {
  memory = trail;
  try {
    sessionStorage.setItem(KEY, JSON.stringify(trail));
  } catch {
    /* full or unavailable: the in-memory copy carries on */
  }
}

// Notes the current route, unless it is the one already last on the trail.
export function recordVisit(route: string, now = Date.now()): void {
  const trail = readTrail();
  const last = trail.visits[trail.visits.length - 1];
  if (last && last.route === route) return;
  trail.visits = [...trail.visits, { route, at: now }].slice(-MAX_VISITS);
  writeTrail(trail);
}

export function recordError(): void {
  const trail = readTrail();
  trail.errors++;
  writeTrail(trail);
}

export function normalizeQuestion(text: string): string {
  return text.toLowerCase().replace(/\s+/g, " ").trim();
}

// Records a question; returns how many times this tab asked it before.
export function recordQuestion(text: string): number {
  const trail = readTrail();
  const q = normalizeQuestion(text);
  const before = trail.questions.filter((x) => x === q).length;
  trail.questions = [...trail.questions, q].slice(-MAX_QUESTIONS);
  writeTrail(trail);
  return before;
}
