#include "replay.h"

#include <cmath>
#include <cstdio>
#include <unordered_map>

namespace loopwise {

double ReplayAccuracy(const Engine& engine, const std::vector<ReplayQuestion>& questions) {
  if (questions.empty()) return 0;
  std::unordered_map<std::string, uint32_t> index;
  for (uint32_t i = 0; i < engine.articles().size(); ++i) index.emplace(engine.articles()[i].id, i);
  size_t right = 0;
  for (const ReplayQuestion& q : questions) {
    auto it = index.find(q.article);
    if (it == index.end()) continue;
    SearchContext context;
    context.route = q.route;
    const SearchResult r = engine.Search(q.text, context, 1);
    right += !r.ranked.empty() && r.ranked[0].article == it->second;
  }
  return static_cast<double>(right) / questions.size();
}

ReplayVerdict Replay(const Engine& current, const Engine& candidate,
                     const std::vector<ReplayQuestion>& questions, double tolerance,
                     size_t min_questions) {
  ReplayVerdict v;
  v.questions = questions.size();
  char line[200];
  if (questions.size() < min_questions) {
    std::snprintf(line, sizeof line,
                  "replay: %zu held-out question%s, fewer than the %zu needed to compare bundles",
                  questions.size(), questions.size() == 1 ? "" : "s", min_questions);
    v.note = line;
    return v;
  }
  // Paired comparison: refuse only when the candidate is worse by more than the tolerance and
  // the questions it newly gets wrong outnumber those it newly gets right beyond chance (a
  // one-sided sign test at about 95%), so a few unlucky questions never block learning.
  size_t right_now = 0, right_then = 0, lost = 0, won = 0;
  for (const ReplayQuestion& q : questions) {
    const bool a = ReplayAccuracy(current, {q}) > 0, b = ReplayAccuracy(candidate, {q}) > 0;
    right_now += a;
    right_then += b;
    lost += a && !b;
    won += b && !a;
  }
  v.compared = true;
  v.current = static_cast<double>(right_now) / questions.size();
  v.candidate = static_cast<double>(right_then) / questions.size();
  const double margin = static_cast<double>(lost) - static_cast<double>(won);
  v.pass = v.candidate >= v.current - tolerance || margin <= 1.645 * std::sqrt(lost + won);
  std::snprintf(line, sizeof line,
                "replay on %zu held-out questions: candidate %.1f%% right, current %.1f%%%s",
                questions.size(), 100 * v.candidate, 100 * v.current,
                v.pass ? "" : " (worse beyond the tolerance: not published)");
  v.note = line;
  return v;
}

}  // namespace loopwise
