// The admin API's answers, as the console reads them (DESIGN.md "HTTP API v1"). Every field the
// console shows is optional here because the server may be older or newer than the console: a
// missing field is shown as missing, never guessed.

export interface SiteInfo {
  site: string;
  key?: string; // the public site key the script tag carries
  mode?: string; // "review" | "autonomous"
  origins?: string[];
  identity?: string; // "off" | "optional" | "required"
  identity_secret?: string; // what the site's backend signs customer ids with
  version?: number | null;
}

export type WebhookFormat = "json" | "slack" | "github";

export interface Webhook {
  url: string;
  format?: WebhookFormat | string;
}

// Outcomes of a set of questions: counts, and rates in [0, 1] (null when there were none).
export interface Rates {
  queries?: number;
  resolved?: number;
  escalated?: number;
  declined?: number;
  not_helpful?: number;
  abandoned?: number; // left with no Yes, No or handoff, as the widget saw it
  resolution_rate?: number | null;
  escalation_rate?: number | null;
  gap_rate?: number | null;
  not_helpful_rate?: number | null;
  abandonment_rate?: number | null;
}

export interface AnalyticsDay extends Rates {
  day: string; // "YYYY-MM-DD", UTC
  events?: Record<string, number>; // signal counts by type: query, shown, resolved, ...
}

export interface RouteRates extends Rates {
  route?: string;
}

export interface BundleRates extends Rates {
  bundle?: string; // the version that answered, as the widget reported it
}

export interface ArticleRates {
  article?: string;
  shown?: number;
  resolved?: number;
  not_helpful?: number;
  resolution_rate?: number | null; // resolved / shown
}

// The outcomes in the window before and after a version was published.
export interface PublishComparison {
  version?: number;
  published_at?: string | number | null;
  before?: Rates;
  after?: Rates;
}

export interface Analytics {
  site?: string;
  signals?: number;
  version?: number | null;
  days?: AnalyticsDay[]; // signal counts by day and type
  rates?: Rates; // all questions
  by_day?: AnalyticsDay[]; // oldest first
  by_route?: RouteRates[]; // most questions first
  by_bundle?: BundleRates[]; // most questions first
  by_article?: ArticleRates[];
  changes?: PublishComparison[]; // newest first
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
  note?: string | null; // what the guardrails or the replay said about it
  version?: number | null; // the version that published it
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
  confirmed?: number; // questions helpdesk agents resolved with no article
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
  resolved_at?: string | number | null;
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

// What a learning run read and did (GET .../runs, newest first), as POST .../train reports it.
export interface LearningRun {
  at?: string | number | null;
  outcome?: string; // "published" | "staged" | "refused" | "nothing_new"
  signals?: number;
  resolutions?: number; // helpdesk resolutions
  questions?: number;
  accepted?: number; // new exemplars
  merged?: number;
  rejected?: number;
  waiting?: number; // for more sessions to agree
  changes?: unknown[];
  replay?: {
    questions?: number;
    current?: number; // top-1 of the version then current on held-out recent questions
    candidate?: number;
    pass?: boolean;
    compared?: boolean; // false: too few questions to compare (the note says so)
    note?: string;
  };
  ranker?: { page_weight?: number; prior_weight?: number; questions?: number };
  version?: number | null; // published by this run
  finished?: number; // an interrupted publication this run completed
  rolled_back_to?: number | null;
  rollback_note?: string;
}

// An operator's rule, which always wins over learning: a pin sends questions containing
// `pattern` to `article` first; a block keeps learning away from `article`.
export interface Rule {
  id: number | string;
  kind: "pin" | "block" | string;
  pattern?: string;
  article?: string;
}

export interface ArticleSummary {
  id: string;
  title?: string;
}

// GET .../articles: each article, and whether customers see it as it is now.
export interface Article extends ArticleSummary {
  body?: string;
  tags?: string[];
  pages?: string[];
  state?: "published" | "edited" | "new";
}
