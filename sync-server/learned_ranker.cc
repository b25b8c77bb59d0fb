#include "learned_ranker.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <set>
#include <string>

#include "engine/engine.h"
#include "learned_priors.h"
#include "ranker_model.h"

namespace loopwise {

namespace {

// One fitted question: its candidates' signals and which one the customer resolved with.
struct Choice {
  std::vector<std::array<float, kNumSignals>> signals;
  size_t resolved = 0;
};

bool Teaches(const Observation& o) {
  return !o.resolved.empty() && !o.text.empty() && !o.agent && !o.unrankable &&
         o.status != "rejected" && (!o.route.empty() || !o.segments.empty()) &&
         std::find(o.shown.begin(), o.shown.end(), o.resolved) != o.shown.end();
}

}  // namespace

ContextWeights FitContextWeights(const std::vector<uint8_t>& bundle,
                                 const std::vector<Observation>& observations,
                                 const std::vector<Article>& articles, size_t min_questions) {
  ContextWeights out;
  std::vector<const Observation*> teaching;
  for (const Observation& o : observations) {
    if (Teaches(o)) teaching.push_back(&o);
  }
  std::stable_sort(teaching.begin(), teaching.end(),
                   [](const Observation* a, const Observation* b) { return a->ts < b->ts; });
  const size_t newest = teaching.size() / 3;
  if (newest < min_questions) return out;
  const std::vector<const Observation*> fit(teaching.end() - newest, teaching.end());

  // Priors from everything but the questions fitted on.
  std::set<std::string> held;
  for (const Observation* o : fit) held.insert(o->query_id);
  std::vector<Observation> rest;
  for (const Observation& o : observations) {
    if (!held.count(o.query_id)) rest.push_back(o);
  }
  std::vector<uint8_t> bytes = bundle;
  const ResolutionPriors priors = CountPriors(rest, articles);
  if (!priors.empty()) {
    auto with = WithPriors(bundle, priors);
    if (!with.ok()) return out;
    bytes = with.take();
  }
  auto engine = Engine::Load(bytes.data(), bytes.size());
  if (!engine.ok()) return out;
  const Engine& e = engine.value();
  const std::array<float, kNumSignals> w = e.parts().ranker.weights;

  std::vector<Choice> choices;
  for (const Observation* o : fit) {
    SearchContext context(o->route);
    context.segments = o->segments;
    const SearchResult r = e.Search(o->text, context, 10);
    Choice c;
    bool found = false;
    for (const auto& hit : r.ranked) {
      if (e.articles()[hit.article].id == o->resolved) {
        c.resolved = c.signals.size();
        found = true;
      }
      c.signals.push_back(hit.signal);
    }
    if (found && c.signals.size() > 1) choices.push_back(std::move(c));
  }
  if (choices.size() < min_questions) return out;

  // Softmax likelihood of the resolved article, over the page and prior weights only; an L2 pull
  // toward the starting weights keeps a weak signal near them.
  const double start[2] = {w[kPage], w[kPrior]};
  double p[2] = {start[0], start[1]}, g2[2] = {0, 0};
  for (int iter = 0; iter < 300; ++iter) {
    double grad[2] = {0, 0};
    for (const Choice& c : choices) {
      std::vector<double> z;
      double top = -1e30;
      for (const auto& s : c.signals) {
        double v = 0;
        for (size_t k : {kLogProb, kNearest, kLexical}) v += w[k] * s[k];
        v += p[0] * s[kPage] + p[1] * s[kPrior];
        z.push_back(v);
        top = std::max(top, v);
      }
      double sum = 0;
      for (double& v : z) sum += (v = std::exp(v - top));
      for (size_t i = 0; i < z.size(); ++i) {
        const double d = z[i] / sum - (i == c.resolved ? 1.0 : 0.0);
        grad[0] += d * c.signals[i][kPage];
        grad[1] += d * c.signals[i][kPrior];
      }
    }
    for (int k = 0; k < 2; ++k) {
      const double g = grad[k] / choices.size() + 0.05 * (p[k] - start[k]);
      g2[k] += g * g;
      p[k] = std::clamp(p[k] - 0.1 * g / std::sqrt(g2[k] + 1e-12), 0.0, 3.0);
    }
  }
  out.fitted = true;
  out.page = static_cast<float>(p[0]);
  out.prior = static_cast<float>(p[1]);
  out.questions = choices.size();
  return out;
}

Result<std::vector<uint8_t>> WithContextWeights(const std::vector<uint8_t>& bundle,
                                                const ContextWeights& weights) {
  if (!weights.fitted) return bundle;
  auto ranker = BundleRanker(bundle);
  if (!ranker.ok()) return ranker.status();
  Ranker r = ranker.take();
  r.weights[kPage] = weights.page;
  r.weights[kPrior] = weights.prior;
  return WithRanker(bundle, r);
}

}  // namespace loopwise
