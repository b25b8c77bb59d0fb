#pragma once
// The engine: answers a customer's question from a site's bundle. Bytes in, results out; no I/O,
// no threads, no clocks, so the same code runs in the browser, in the server and under a fuzzer.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/article.h"
#include "engine/classifier.h"
#include "engine/context.h"
#include "engine/encoder.h"
#include "engine/escalation_model.h"
#include "engine/features.h"
#include "engine/lexical_index.h"
#include "engine/pinned_answers.h"
#include "engine/ranker.h"
#include "engine/resolution_priors.h"
#include "engine/status.h"
#include "engine/vector_index.h"

namespace loopwise {

struct RankedArticle {
  uint32_t article;  // index into Engine::articles()
  float score;       // in [0, 1], higher is better; comparable within one answer
  // The candidate's signals (see ranker.h, in Signal order): the ranker model's input row, so the
  // widget can re-score the ranked articles.
  std::array<float, kNumSignals> signal;
};

struct SearchResult {
  std::vector<RankedArticle> ranked;  // best first
  float confidence = 0;               // calibrated probability that ranked[0] is right
  bool gap = true;                    // true: no article is likely right; say so and offer a human
};

// Everything a bundle holds, as live objects. The bundle builder assembles these directly.
struct EngineParts {
  std::vector<Article> articles;
  Encoder encoder;
  FeatureSpace features;
  Classifier classifier;
  VectorIndex exemplar_index;              // over exemplar and article-title vectors
  std::vector<uint32_t> exemplar_article;  // article of each vector in exemplar_index
  LexicalIndex lexical;
  Ranker ranker;
  // The ranker as ONNX bytes (Section::kRankerModel), for ONNX Runtime Web; empty when the bundle
  // has none. The engine itself ranks with `ranker`.
  std::vector<uint8_t> ranker_model;
  // Which articles resolve questions on which pages (the kPrior signal); empty when the bundle has
  // no priors section.
  ResolutionPriors priors;
  // When to offer a human early; empty when the bundle has no escalation section.
  EscalationModel escalation;
  // Operators' pins, which win over the ranking; empty when the bundle has no pins section.
  PinnedAnswers pins;
  // Questions no article answered (history tickets, agents' marks): the nearest one's cosine is a
  // confidence feature. Empty when the bundle has no unanswered section.
  VectorIndex unanswered_index;
};

class Engine {
 public:
  explicit Engine(EngineParts parts);

  // Opens a bundle (see bundle.h). Fails with a message on truncated, corrupt or foreign bytes;
  // the bytes are not needed afterwards.
  static Result<Engine> Load(const uint8_t* data, size_t size);
  // Only a bundle's articles (checked as Load checks them), without building the models.
  static Result<std::vector<Article>> LoadArticles(const uint8_t* data, size_t size);

  // Serializes the parts as bundle bytes that Load reads back.
  std::vector<uint8_t> ToBundle() const;

  // Answers `query` for a customer on `context`'s page with up to k articles.
  SearchResult Search(std::string_view query, const SearchContext& context, size_t k) const;

  // The candidates with their signals and the confidence features, before ranking: what the
  // bundle builder fits the ranker on.
  std::vector<Candidate> Candidates(const std::vector<std::string>& tokens,
                                    const SearchContext& context,
                                    std::array<float, kNumConfidenceFeatures>* confidence) const;

  const std::vector<Article>& articles() const { return parts_.articles; }
  const EngineParts& parts() const { return parts_; }
  Ranker& ranker() { return parts_.ranker; }

 private:
  EngineParts parts_;
};

}  // namespace loopwise
