#pragma once
// How a site is doing, from the outcomes of its customers' questions: resolution, escalation, gap
// (declined), not-helpful and abandonment rates overall, by day, by article, by route and by
// bundle version, and before and after each published version. Pure: outcomes and versions in,
// JSON out.

#include <nlohmann/json.hpp>
#include <vector>

#include "store.h"

namespace loopwise {

struct AnalyticsOptions {
  // How far before and after a publish its comparison looks (cut at the neighbouring publishes).
  int64_t change_window_ms = 7LL * 24 * 3600 * 1000;
};

// The fields GET /v1/sites/{site}/analytics adds to its signal counts:
//   "rates":      {"queries", "resolved", "escalated", "declined", "not_helpful", "abandoned",
//                  "resolution_rate", "escalation_rate", "gap_rate", "not_helpful_rate",
//                  "abandonment_rate"}; abandoned counts questions the widget saw left without
//                  a Yes, No or handoff (QueryOutcome::Left)
//   "by_day":     [{"day": "YYYY-MM-DD", ...the rates}], oldest first
//   "by_route":   [{"route", ...the rates}], most questions first
//   "by_bundle":  [{"bundle", ...the rates}], most questions first
//   "by_article": [{"article", "shown", "resolved", "not_helpful", "resolution_rate"}], where
//                 shown counts questions that showed it and the rate is resolved / shown
//   "changes":    [{"version", "published_at", "before": {...the rates}, "after": {...}}], newest
//                 first; a rate is null when there were no questions.
// `versions` newest first, as Store::Versions returns them.
nlohmann::json OutcomeAnalytics(const std::vector<QueryOutcome>& outcomes,
                                const std::vector<Version>& versions,
                                const AnalyticsOptions& options = {});

}  // namespace loopwise
