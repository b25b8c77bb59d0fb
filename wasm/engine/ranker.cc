#include "engine/ranker.h"

#include <algorithm>
#include <cmath>

namespace loopwise {

void Ranker::Rank(std::vector<Candidate>* candidates) const {
  for (Candidate& c : *candidates) {
    float s = 0;
    for (size_t i = 0; i < kNumSignals; ++i) s += weights[i] * c.signal[i];
    c.score = s;
  }
  std::sort(candidates->begin(), candidates->end(), [](const Candidate& a, const Candidate& b) {
    return a.score != b.score ? a.score > b.score : a.article < b.article;
  });
}

float Ranker::Confidence(const std::array<float, kNumConfidenceFeatures>& features) const {
  float z = calibration[kNumConfidenceFeatures];
  for (size_t i = 0; i < kNumConfidenceFeatures; ++i) z += calibration[i] * features[i];
  return 1.0f / (1.0f + std::exp(-z));
}

// The weights of the confidence features from kUnanswered on travel in the optional sections
// that carry what those features are computed from (engine.cc), which older engines skip.
void Ranker::Serialize(ByteWriter* out) const {
  for (float w : weights) out->f32(w);
  for (size_t i = 0; i < kUnanswered; ++i) out->f32(calibration[i]);
  out->f32(calibration[kNumConfidenceFeatures]);
  out->f32(gap_threshold);
}

Result<Ranker> Ranker::Deserialize(ByteReader* in) {
  Ranker r;
  for (float& w : r.weights) w = in->f32();
  for (size_t i = 0; i < kUnanswered; ++i) r.calibration[i] = in->f32();
  for (size_t i = kUnanswered; i < kNumConfidenceFeatures; ++i) r.calibration[i] = 0;
  r.calibration[kNumConfidenceFeatures] = in->f32();
  r.gap_threshold = in->f32();
  if (!in->ok()) return Status::Error("ranker: section is truncated");
  for (float w : r.weights) {
    if (!std::isfinite(w)) return Status::Error("ranker: a weight is not finite");
  }
  for (float w : r.calibration) {
    if (!std::isfinite(w)) return Status::Error("ranker: a calibration weight is not finite");
  }
  if (!(r.gap_threshold >= 0 && r.gap_threshold <= 1)) {
    return Status::Error("ranker: gap threshold outside [0, 1]");
  }
  return r;
}

}  // namespace loopwise
