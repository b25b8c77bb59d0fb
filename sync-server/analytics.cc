#include "analytics.h"

#include <algorithm>
#include <limits>
#include <map>
#include <string>

#include "logger.h"

namespace loopwise {
namespace {

using nlohmann::json;

struct Tally {
  int64_t queries = 0, resolved = 0, escalated = 0, declined = 0, not_helpful = 0, abandoned = 0;

  void Add(const QueryOutcome& q) {
    ++queries;
    resolved += q.resolved;
    escalated += q.escalated;
    declined += q.declined;
    not_helpful += q.not_helpful;
    abandoned += q.Left();
  }
};

json Rate(int64_t part, int64_t whole) {
  if (whole == 0) return nullptr;
  return std::round(10000.0 * static_cast<double>(part) / static_cast<double>(whole)) / 10000.0;
}

json RatesJson(const Tally& t) {
  return {{"queries", t.queries},
          {"resolved", t.resolved},
          {"escalated", t.escalated},
          {"declined", t.declined},
          {"not_helpful", t.not_helpful},
          {"abandoned", t.abandoned},
          {"resolution_rate", Rate(t.resolved, t.queries)},
          {"escalation_rate", Rate(t.escalated, t.queries)},
          {"gap_rate", Rate(t.declined, t.queries)},
          {"not_helpful_rate", Rate(t.not_helpful, t.queries)},
          {"abandonment_rate", Rate(t.abandoned, t.queries)}};
}

// Groups by `name` (most questions first), each group's rates under `field`.
json Grouped(const std::map<std::string, Tally>& groups, const char* field) {
  std::vector<std::pair<std::string, Tally>> list(groups.begin(), groups.end());
  std::stable_sort(list.begin(), list.end(), [](const auto& a, const auto& b) {
    return a.second.queries > b.second.queries;
  });
  json out = json::array();
  for (const auto& [name, tally] : list) {
    json row = RatesJson(tally);
    row[field] = name;
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace

json OutcomeAnalytics(const std::vector<QueryOutcome>& outcomes,
                      const std::vector<Version>& versions, const AnalyticsOptions& options) {
  Tally overall;
  std::map<std::string, Tally> by_day, by_route, by_bundle;
  struct ArticleTally {
    int64_t shown = 0, resolved = 0, not_helpful = 0;
  };
  std::map<std::string, ArticleTally> by_article;
  for (const QueryOutcome& q : outcomes) {
    overall.Add(q);
    by_day[IsoTime(q.ts).substr(0, 10)].Add(q);
    by_route[q.route.empty() ? "(none)" : q.route].Add(q);
    by_bundle[q.bundle.empty() ? "(none)" : q.bundle].Add(q);
    const json shown = json::parse(q.shown_json, nullptr, false);
    if (shown.is_array()) {
      for (const json& id : shown) {
        if (!id.is_string()) continue;
        ArticleTally& a = by_article[id.get<std::string>()];
        ++a.shown;
        a.not_helpful += q.not_helpful;
      }
    }
    if (q.resolved && !q.resolved_article.empty()) ++by_article[q.resolved_article].resolved;
  }

  json days = json::array();
  for (const auto& [day, tally] : by_day) {
    json row = RatesJson(tally);
    row["day"] = day;
    days.push_back(std::move(row));
  }
  json articles = json::array();
  std::vector<std::pair<std::string, ArticleTally>> article_list(by_article.begin(),
                                                                 by_article.end());
  std::stable_sort(article_list.begin(), article_list.end(),
                   [](const auto& a, const auto& b) { return a.second.shown > b.second.shown; });
  for (const auto& [id, a] : article_list) {
    articles.push_back({{"article", id},
                        {"shown", a.shown},
                        {"resolved", a.resolved},
                        {"not_helpful", a.not_helpful},
                        {"resolution_rate", Rate(a.resolved, a.shown)}});
  }

  // Before and after each publish: the window around it, cut at the neighbouring publishes.
  json changes = json::array();
  for (size_t i = 0; i < versions.size(); ++i) {
    const int64_t at = versions[i].published_at_ms;
    const int64_t next =
        i > 0 ? versions[i - 1].published_at_ms : std::numeric_limits<int64_t>::max();
    const int64_t previous = i + 1 < versions.size() ? versions[i + 1].published_at_ms
                                                     : std::numeric_limits<int64_t>::min();
    const int64_t before_from = std::max(previous, at - options.change_window_ms);
    const int64_t after_to = std::min(next, at + options.change_window_ms);
    Tally before, after;
    for (const QueryOutcome& q : outcomes) {
      if (q.ts >= before_from && q.ts < at) before.Add(q);
      if (q.ts >= at && q.ts < after_to) after.Add(q);
    }
    changes.push_back({{"version", versions[i].version},
                       {"published_at", IsoTime(at)},
                       {"before", RatesJson(before)},
                       {"after", RatesJson(after)}});
  }

  return {{"rates", RatesJson(overall)},
          {"by_day", days},
          {"by_route", Grouped(by_route, "route")},
          {"by_bundle", Grouped(by_bundle, "bundle")},
          {"by_article", articles},
          {"changes", changes}};
}

}  // namespace loopwise
