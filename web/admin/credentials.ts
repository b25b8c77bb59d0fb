// The signed-in site and admin token, kept in sessionStorage: they last as long as the tab and
// are never written to localStorage, cookies or the URL.

export interface Credentials {
  site: string;
  token: string;
}

const KEY = "loopwise-admin";

export function loadCredentials(): Credentials | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const c = JSON.parse(raw) as Partial<Credentials>;
    return typeof c.site === "string" && typeof c.token === "string" && c.site && c.token
      ? { site: c.site, token: c.token }
      : null;
  } catch {
    return null;
  }
}

export function saveCredentials(c: Credentials): void {
  try {
    sessionStorage.setItem(KEY, JSON.stringify(c));
  } catch {
    // Storage refused (private mode, quota): the console still works until the tab reloads.
  }
}

export function clearCredentials(): void {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // Nothing stored.
  }
}
