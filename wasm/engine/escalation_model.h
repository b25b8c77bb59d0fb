#pragma once
// When to offer a human before the customer asks: a small logistic model of "this question ends
// in an escalation", fitted by the learning pipeline from logged outcomes and carried in the
// bundle's optional "ESCL" section for the widget.
//
// Its inputs are what the widget knows at answer time: the engine's confidence, whether it
// declined, how many questions the session asked before, and how many answers the session has
// already found not helpful. The widget offers a human early when Probability() reaches
// `threshold`, which the fit sets so that early offers go mostly to conversations that would have
// escalated anyway.

#include <array>
#include <cstddef>
#include <vector>

#include "engine/byte_io.h"
#include "engine/status.h"

namespace loopwise {

struct EscalationFeatures {
  float confidence = 1;       // the engine's confidence in its first answer, [0, 1]
  bool gap = false;           // the engine declined
  int earlier_questions = 0;  // questions the session asked before this one
  int not_helpful = 0;        // answers the session marked not helpful so far
};

// One logged question and whether it ended in an escalation.
struct EscalationExample {
  EscalationFeatures features;
  bool escalated = false;
};

class EscalationModel {
 public:
  static constexpr size_t kInputs = 5;  // bias, 1 - confidence, gap, repeats, not helpful run

  // Fits the model by regularized logistic regression; with fewer than `min_examples` examples or
  // a single outcome it returns an empty model (no early offers).
  static EscalationModel Fit(const std::vector<EscalationExample>& examples,
                             size_t min_examples = 50);

  bool empty() const { return !fitted_; }
  float Probability(const EscalationFeatures& f) const;
  // True when a human should be offered now; always false for an empty model.
  bool OfferHuman(const EscalationFeatures& f) const {
    return fitted_ && Probability(f) >= threshold_;
  }
  float threshold() const { return threshold_; }

  void Serialize(ByteWriter* out) const;
  static Result<EscalationModel> Deserialize(ByteReader* in);

 private:
  static std::array<float, kInputs> Inputs(const EscalationFeatures& f);
  bool fitted_ = false;
  std::array<float, kInputs> weights_{};
  float threshold_ = 1.0f;
};

}  // namespace loopwise
