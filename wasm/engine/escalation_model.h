#pragma once
// When to offer a human before the customer asks: a small logistic model of "this question ends
// in an escalation", fitted by the learning pipeline from logged outcomes and carried in the
// bundle's optional "ESCL" section for the widget.
//
// Its inputs are what the widget knows at answer time: the engine's confidence, whether it
// declined, how many questions the session asked before, how many answers the session has
// already found not helpful, how frustrated the question reads (FrustrationCues) and the
// customer's segments (SegmentKey: "plan=free"), each segment seen often enough in the log
// with a weight of its own. The widget offers a human early when Probability() reaches
// `threshold`, which the fit sets so that early offers go mostly to conversations that would have
// escalated anyway.
//
// The frustration and segment weights travel in a section of their own ("ESCX"), so an engine
// that predates them still loads a bundle that has them (and reads the rest of the model).

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/byte_io.h"
#include "engine/status.h"

namespace loopwise {

struct EscalationFeatures {
  float confidence = 1;               // the engine's confidence in its first answer, [0, 1]
  bool gap = false;                   // the engine declined
  int earlier_questions = 0;          // questions the session asked before this one
  int not_helpful = 0;                // answers the session marked not helpful so far
  int frustration = 0;                // FrustrationCues of the question
  std::vector<std::string> segments;  // the customer's segments (SegmentKey)
};

// Signs of a customer losing patience in a question, counted up to 3: a run of "!" or "?!", words
// shouted in capitals, and words such as "useless", "still", "again" or "human". A count, not a
// judgement: the fit learns from the site's own log how much it says about escalation.
int FrustrationCues(std::string_view text);

// One logged question and whether it ended in an escalation.
struct EscalationExample {
  EscalationFeatures features;
  bool escalated = false;
};

class EscalationModel {
 public:
  static constexpr size_t kInputs = 5;  // bias, 1 - confidence, gap, repeats, not helpful run

  // Fits the model by regularized logistic regression; with fewer than `min_examples` examples or
  // a single outcome it returns an empty model (no early offers). A segment gets a weight when at
  // least `min_segment_examples` examples carry it (at most kMaxSegments, the most common).
  static constexpr size_t kMaxSegments = 32;
  static EscalationModel Fit(const std::vector<EscalationExample>& examples,
                             size_t min_examples = 50, size_t min_segment_examples = 20);

  bool empty() const { return !fitted_; }
  float Probability(const EscalationFeatures& f) const;
  // True when a human should be offered now; always false for an empty model.
  bool OfferHuman(const EscalationFeatures& f) const {
    return fitted_ && Probability(f) >= threshold_;
  }
  float threshold() const { return threshold_; }

  // The "ESCL" section: the weights of the five inputs above and the threshold.
  void Serialize(ByteWriter* out) const;
  static Result<EscalationModel> Deserialize(ByteReader* in);
  // The "ESCX" section: the frustration and segment weights, read into a model ESCL loaded.
  void SerializeCues(ByteWriter* out) const;
  Status DeserializeCues(ByteReader* in);

  float frustration_weight() const { return frustration_weight_; }
  const std::vector<std::pair<std::string, float>>& segment_weights() const {
    return segment_weights_;
  }

 private:
  static std::array<float, kInputs> Inputs(const EscalationFeatures& f);
  float Logit(const EscalationFeatures& f) const;
  bool fitted_ = false;
  std::array<float, kInputs> weights_{};
  float frustration_weight_ = 0;
  std::vector<std::pair<std::string, float>> segment_weights_;  // sorted by segment
  float threshold_ = 1.0f;
};

}  // namespace loopwise
