#pragma once
// Resolution priors: on which pages, and for which segments of customers, which articles resolve
// the questions they answer, as Beta posteriors learned from the widget's outcomes (the learning
// pipeline counts them; the bundle carries them in its optional "PRIO" section). A prior's key is
// a folded route ("/billing") or a segment (SegmentKey: "plan=pro").
//
// For a question asked on a page or in a segment with priors, each candidate gets the kPrior
// signal: a Thompson sample from its article's posterior resolution rate under that key, minus the
// key's mean rate (averaged over the question's keys that have priors). The sample is drawn from a
// generator seeded by the question and the article, so the same question always gets the same
// answer, while across questions an article with little evidence (a wide posterior, e.g. a new
// article) sometimes rises above close candidates and gets its chance. Without priors for any of
// the question's keys the signal is 0 and ranking is unchanged.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/byte_io.h"
#include "engine/status.h"

namespace loopwise {

class ResolutionPriors {
 public:
  // Adds outcomes of `article` under `key` (a folded route or a segment): questions it resolved
  // and ones it did not.
  void Add(const std::string& key, uint32_t article, float resolved, float unresolved);
  bool empty() const { return routes_.empty(); }
  bool Has(const std::string& key) const { return routes_.count(key) > 0; }
  size_t keys() const { return routes_.size(); }

  // The kPrior signal of `article` for a question under `key` (0 when the key has no priors);
  // deterministic in (`seed`, article).
  float Signal(const std::string& key, uint32_t article, uint32_t seed) const;
  // The mean of Signal over `keys` that have priors (0 when none has).
  float Signal(const std::vector<std::string>& keys, uint32_t article, uint32_t seed) const;
  // The posterior mean resolution rate of `article` under `key` (the key's mean when unseen).
  float Mean(const std::string& key, uint32_t article) const;

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
