// The admin API's answers, as the console reads them (DESIGN.md "HTTP API v1"). Every field the
// console shows is optional here because the server may be older or newer than the console: a
// missing field is shown as missing, never guessed.

export interface SiteInfo {
  site: string;
  mode?: string; // "review" | "autonomous"
  origins?: string[];
  version?: number | null;
}

export interface AnalyticsDay {
  day: string; // "YYYY-MM-DD", UTC
  events?: Record<string, number>; // signal counts by type: query, shown, resolved, ...
  queries?: number;
  resolution_rate?: number | null; // in [0, 1]
  escalation_rate?: number | null;
  gap_rate?: number | null;
}

export interface Analytics {
  site?: string;
  signals?: number;
  version?: number | null;
  days?: AnalyticsDay[];
}

export type ChangeStatus = "pending" | "approved" | "rejected" | "published" | "rolled_back";

export interface Evidence {
  sessions?: number;
  resolved?: number;
  not_helpful?: number;
}

export interface Change {
  id: string | number;
  kind?: string;
  status?: ChangeStatus | string;
  summary?: string; // the plain explanation of what was learned and why
  article?: string | null;
  examples?: unknown[];
  evidence?: Evidence;
  created_at?: string | number | null;
  decided_at?: string | number | null;
}

export interface Changes {
  mode?: string;
  changes?: Change[];
}

export interface PageCount {
  route?: string;
  count?: number;
}

export interface Gap {
  id: string | number;
  label?: string;
  status?: string; // "open" | "closed"
  queries?: number;
  sessions?: number;
  score?: number;
  examples?: unknown[];
  pages?: PageCount[];
  first_seen?: string | number | null;
  last_seen?: string | number | null;
}

export interface Incident {
  id: string | number;
  status?: string; // "open" | "resolved"
  label?: string;
  route?: string | null;
  count?: number;
  baseline?: number;
  first_seen?: string | number | null;
  last_seen?: string | number | null;
  examples?: unknown[];
  pages?: PageCount[];
}

export interface Version {
  version: number;
  sha256?: string;
  bytes?: number;
  published_at?: string | number | null;
  current?: boolean;
  note?: string | null;
}
