#include "learned_priors.h"

#include <algorithm>
#include <set>
#include <tuple>
#include <unordered_map>

#include "engine/bundle.h"

namespace loopwise {

ResolutionPriors CountPriors(const std::vector<Observation>& observations,
                             const std::vector<Article>& articles) {
  std::unordered_map<std::string, uint32_t> index;
  for (uint32_t i = 0; i < articles.size(); ++i) index.emplace(articles[i].id, i);
  std::set<std::tuple<std::string, std::string, uint32_t>> counted;  // session, key, article
  ResolutionPriors priors;
  auto add = [&](const Observation& o, const std::string& article, bool resolved) {
    auto it = index.find(article);
    if (it == index.end()) return;
    auto count = [&](const std::string& key) {
      if (!counted.emplace(o.session, key, it->second).second) return;
      priors.Add(key, it->second, resolved ? 1.0f : 0.0f, resolved ? 0.0f : 1.0f);
    };
    if (!o.route.empty()) count(o.route);
    for (const std::string& segment : o.segments) count(segment);
  };
  for (const Observation& o : observations) {
    if ((o.route.empty() && o.segments.empty()) || o.shown.empty() || o.status == "rejected") {
      continue;
    }
    const bool resolved_shown = !o.resolved.empty() && std::find(o.shown.begin(), o.shown.end(),
                                                                 o.resolved) != o.shown.end();
    if (resolved_shown) add(o, o.resolved, true);
    const bool missed = !resolved_shown && (o.escalated || !o.not_helpful.empty());
    if (missed || (resolved_shown && o.resolved != o.shown[0])) add(o, o.shown[0], false);
  }
  return priors;
}

Result<std::vector<uint8_t>> WithPriors(const std::vector<uint8_t>& bundle,
                                        const ResolutionPriors& priors) {
  ByteWriter w;
  priors.Serialize(&w);
  return Bundle::WithSection(bundle.data(), bundle.size(), Section::kPriors, std::move(w.bytes()));
}

}  // namespace loopwise
