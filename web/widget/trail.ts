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
  asked: number; // questions asked in this tab
  notHelpful: number; // answers marked not helpful in this tab
}

const KEY = "loopwise.trail";
const MAX_VISITS = 10;
const MAX_QUESTIONS = 10;

let memory: Trail = { visits: [], errors: 0, questions: [], asked: 0, notHelpful: 0 };

export function readTrail(): Trail {
  try {
    const saved = JSON.parse(sessionStorage.getItem(KEY) || "null") as Partial<Trail> | null;
    if (saved && Array.isArray(saved.visits) && Array.isArray(saved.questions)) {
      return {
        visits: saved.visits,
        errors: Number(saved.errors) || 0,
        questions: saved.questions,
        asked: Number(saved.asked) || 0,
        notHelpful: Number(saved.notHelpful) || 0,
      };
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

// Keeps the trail's routes up to date from page load on. Single-page apps change routes with
// history.pushState, which fires no event: the Navigation API reports every change where the
// browser has it; elsewhere the route is looked at every two seconds while the tab is visible
// (one string comparison), besides the back and forward buttons' popstate.
export function watchRoutes(): void {
  let seen = location.pathname;
  const check = (): void => {
    if (location.pathname === seen) return;
    seen = location.pathname;
    recordVisit(seen);
  };
  recordVisit(seen);
  const navigation = (window as { navigation?: EventTarget }).navigation;
  if (navigation && typeof navigation.addEventListener === "function") {
    navigation.addEventListener("currententrychange", check);
    return;
  }
  addEventListener("popstate", check);
  setInterval(() => {
    if (document.visibilityState === "visible") check();
  }, 2000);
}

export function recordError(): void {
  const trail = readTrail();
  trail.errors++;
  writeTrail(trail);
}

export function normalizeQuestion(text: string): string {
  return text.toLowerCase().replace(/\s+/g, " ").trim();
}

// Records a question; returns how many times this tab asked it before, and how many questions.
export function recordQuestion(text: string): { repeated: number; earlier: number } {
  const trail = readTrail();
  const q = normalizeQuestion(text);
  const repeated = trail.questions.filter((x) => x === q).length;
  const earlier = trail.asked;
  trail.questions = [...trail.questions, q].slice(-MAX_QUESTIONS);
  trail.asked++;
  writeTrail(trail);
  return { repeated, earlier };
}

export function recordNotHelpful(): void {
  const trail = readTrail();
  trail.notHelpful++;
  writeTrail(trail);
}
