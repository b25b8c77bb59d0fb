#pragma once
// Turns the engine's signals about each candidate article into one ranking, a calibrated
// confidence, and the decision to decline ("gap"). Its weights are fitted on held-out folds of the
// site's history when the bundle is built, so they never see the questions they are judged on.

#include <array>
#include <cstdint>
#include <vector>

#include "engine/byte_io.h"
#include "engine/status.h"

namespace loopwise {

// Per-candidate signals, each roughly in [−x, 1]: the scoring head's log-probability, the best
// cosine to one of the article's exemplars, the lexical score relative to the best, the page
// match, and the learned context prior.
enum Signal : size_t { kLogProb, kNearest, kLexical, kPage, kPrior, kNumSignals };

// What the confidence is computed from, for the top candidate of a query.
enum ConfidenceFeature : size_t {
  kTopProb,     // the scoring head's probability of the top article
  kTopMargin,   // final score of the top article minus the second's
  kTopNearest,  // best exemplar cosine of the top article
  kCoverage,    // share of the query's words the site's texts contain
  kAgreement,   // 1 when the head and the nearest exemplar agree on the top article
  // Added later; its weight is stored with the unanswered questions (Section::kUnanswered):
  kUnanswered,  // cosine to the nearest question no article answered (0 when the site has none)
  kNumConfidenceFeatures
};

struct Candidate {
  uint32_t article = 0;
  std::array<float, kNumSignals> signal{};
  float score = 0;
};

struct Ranker {
  std::array<float, kNumSignals> weights{1.0f, 0.0f, 0.0f, 0.5f, 1.0f};
  // Logistic model of "the top answer is right": weights then bias.
  std::array<float, kNumConfidenceFeatures + 1> calibration{4.0f, 2.0f, 0.0f, 0.0f,
                                                            0.0f, 0.0f, -2.0f};
  float gap_threshold = 0.5f;

  // Scores the candidates and sorts them best first (ties by article number).
  void Rank(std::vector<Candidate>* candidates) const;
  float Confidence(const std::array<float, kNumConfidenceFeatures>& features) const;

  void Serialize(ByteWriter* out) const;
  static Result<Ranker> Deserialize(ByteReader* in);
};

}  // namespace loopwise
