#pragma once
// Resolution priors: on which pages which articles resolve the questions they answer, as Beta
// posteriors learned from the widget's outcomes (the learning pipeline counts them; the bundle
// carries them in its optional "PRIO" section).
//
// For a question asked on a page with priors, each candidate gets the kPrior signal: a Thompson
// sample from its article's posterior resolution rate there, minus the page's mean rate. The
// sample is drawn from a generator seeded by the question and the article, so the same question
// always gets the same answer, while across questions an article with little evidence (a wide
// posterior, e.g. a new article) sometimes rises above close candidates and gets its chance. On a
// page without priors, or with no page, the signal is 0 and ranking is unchanged.

#include <cstdint>
#include <map>
#include <string>

#include "engine/byte_io.h"
#include "engine/status.h"

namespace loopwise {

class ResolutionPriors {
 public:
  // Adds outcomes of `article` on folded `route`: questions it resolved and ones it did not.
  void Add(const std::string& route, uint32_t article, float resolved, float unresolved);
  bool empty() const { return routes_.empty(); }
  size_t routes() const { return routes_.size(); }

  // The kPrior signal of `article` for a question on folded `route` (0 when the route has no
  // priors); deterministic in (`seed`, article).
  float Signal(const std::string& route, uint32_t article, uint32_t seed) const;
  // The posterior mean resolution rate of `article` on `route` (the page's mean when unseen).
  float Mean(const std::string& route, uint32_t article) const;

  void Serialize(ByteWriter* out) const;
  // Fails on truncated bytes, an unknown article or a negative count.
  static Result<ResolutionPriors> Deserialize(ByteReader* in, size_t num_articles);

 private:
  struct Counts {
    float resolved = 0;
    float unresolved = 0;
  };
  struct Route {
    std::map<uint32_t, Counts> articles;
    Counts total;
  };
  std::map<std::string, Route> routes_;
};

}  // namespace loopwise
