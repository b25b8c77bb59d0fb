#include "engine/escalation_model.h"

#include <algorithm>
#include <cmath>

namespace loopwise {

std::array<float, EscalationModel::kInputs> EscalationModel::Inputs(const EscalationFeatures& f) {
  return {1.0f, 1.0f - std::min(1.0f, std::max(0.0f, f.confidence)), f.gap ? 1.0f : 0.0f,
          std::min(3, std::max(0, f.earlier_questions)) / 3.0f,
          std::min(3, std::max(0, f.not_helpful)) / 3.0f};
}

float EscalationModel::Probability(const EscalationFeatures& f) const {
  if (!fitted_) return 0.0f;
  const auto x = Inputs(f);
  float z = 0;
  for (size_t i = 0; i < kInputs; ++i) z += weights_[i] * x[i];
  return 1.0f / (1.0f + std::exp(-z));
}

EscalationModel EscalationModel::Fit(const std::vector<EscalationExample>& examples,
                                     size_t min_examples) {
  EscalationModel m;
  const size_t positives = std::count_if(examples.begin(), examples.end(),
                                         [](const EscalationExample& e) { return e.escalated; });
  if (examples.size() < min_examples || positives == 0 || positives == examples.size()) return m;
  std::array<double, kInputs> w{}, g2{};
  for (int iter = 0; iter < 500; ++iter) {
    std::array<double, kInputs> grad{};
    for (const EscalationExample& e : examples) {
      const auto x = Inputs(e.features);
      double z = 0;
      for (size_t i = 0; i < kInputs; ++i) z += w[i] * x[i];
      const double d = 1.0 / (1.0 + std::exp(-z)) - (e.escalated ? 1.0 : 0.0);
      for (size_t i = 0; i < kInputs; ++i) grad[i] += d * x[i];
    }
    for (size_t i = 0; i < kInputs; ++i) {
      const double g = grad[i] / examples.size() + (i ? 1e-3 * w[i] : 0.0);
      g2[i] += g * g;
      w[i] -= 0.3 * g / std::sqrt(g2[i] + 1e-12);
    }
  }
  for (size_t i = 0; i < kInputs; ++i) m.weights_[i] = static_cast<float>(w[i]);
  m.fitted_ = true;
  // Offer early where at least two in three such conversations escalated.
  m.threshold_ = 2.0f / 3.0f;
  return m;
}

void EscalationModel::Serialize(ByteWriter* out) const {
  for (float w : weights_) out->f32(w);
  out->f32(threshold_);
}

Result<EscalationModel> EscalationModel::Deserialize(ByteReader* in) {
  EscalationModel m;
  for (float& w : m.weights_) w = in->f32();
  m.threshold_ = in->f32();
  if (!in->ok()) return Status::Error("escalation model: section is truncated");
  for (float w : m.weights_) {
    if (!std::isfinite(w)) return Status::Error("escalation model: a weight is not finite");
  }
  if (!(m.threshold_ >= 0 && m.threshold_ <= 1)) {
    return Status::Error("escalation model: threshold outside [0, 1]");
  }
  m.fitted_ = true;
  return m;
}

}  // namespace loopwise
