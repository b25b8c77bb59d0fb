#include "engine/escalation_model.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace loopwise {

namespace {

// A count of 0 to 3 (more counts as 3) as an input in [0, 1].
float UpToThree(int n) {
  return static_cast<float>(std::min(3, std::max(0, n))) / 3.0f;
}

bool IsAsciiLetter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Words that, in a support question, say the customer is running out of patience or wants a
// person (lower case, whole words).
constexpr std::string_view kFrustrationWords[] = {
    "again",      "agent",       "annoying", "anyone", "awful",     "broken",
    "frustrated", "frustrating", "human",    "person", "pointless", "representative",
    "ridiculous", "seriously",   "someone",  "still",  "stupid",    "terrible",
    "urgent",     "useless",     "worst",    "wtf"};

}  // namespace

int FrustrationCues(std::string_view text) {
  int cues = 0;
  if (text.find("!!") != std::string_view::npos || text.find("?!") != std::string_view::npos ||
      text.find("!?") != std::string_view::npos) {
    ++cues;
  }
  int shouted = 0;
  size_t i = 0;
  while (i < text.size() && cues < 3) {
    if (!IsAsciiLetter(text[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    bool upper = true;
    std::string word;
    while (j < text.size() && IsAsciiLetter(text[j])) {
      upper = upper && text[j] >= 'A' && text[j] <= 'Z';
      word.push_back(static_cast<char>(text[j] | 0x20));
      ++j;
    }
    if (upper && word.size() >= 3 && ++shouted == 2) ++cues;
    for (std::string_view w : kFrustrationWords) {
      if (word == w) {
        ++cues;
        break;
      }
    }
    i = j;
  }
  return std::min(cues, 3);
}

std::array<float, EscalationModel::kInputs> EscalationModel::Inputs(const EscalationFeatures& f) {
  return {1.0f, 1.0f - std::min(1.0f, std::max(0.0f, f.confidence)), f.gap ? 1.0f : 0.0f,
          UpToThree(f.earlier_questions), UpToThree(f.not_helpful)};
}

float EscalationModel::Logit(const EscalationFeatures& f) const {
  const auto x = Inputs(f);
  float z = 0;
  for (size_t i = 0; i < kInputs; ++i) z += weights_[i] * x[i];
  z += frustration_weight_ * UpToThree(f.frustration);
  for (const std::string& segment : f.segments) {
    auto it = std::lower_bound(segment_weights_.begin(), segment_weights_.end(), segment,
                               [](const auto& a, const std::string& b) { return a.first < b; });
    if (it != segment_weights_.end() && it->first == segment) z += it->second;
  }
  return z;
}

float EscalationModel::Probability(const EscalationFeatures& f) const {
  if (!fitted_) return 0.0f;
  return 1.0f / (1.0f + std::exp(-Logit(f)));
}

EscalationModel EscalationModel::Fit(const std::vector<EscalationExample>& examples,
                                     size_t min_examples, size_t min_segment_examples) {
  EscalationModel m;
  const size_t positives = std::count_if(examples.begin(), examples.end(),
                                         [](const EscalationExample& e) { return e.escalated; });
  if (examples.size() < min_examples || positives == 0 || positives == examples.size()) return m;

  // The segments common enough to learn from, the most common first (ties by name).
  std::map<std::string, size_t> seen;
  for (const EscalationExample& e : examples) {
    for (const std::string& s : e.features.segments) ++seen[s];
  }
  std::vector<std::pair<std::string, size_t>> common;
  for (const auto& [segment, n] : seen) {
    if (n >= min_segment_examples) common.emplace_back(segment, n);
  }
  std::stable_sort(common.begin(), common.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  if (common.size() > kMaxSegments) common.resize(kMaxSegments);
  std::sort(common.begin(), common.end());

  // Inputs: the five of Inputs(), frustration, then one indicator per common segment.
  const size_t n = kInputs + 1 + common.size();
  std::vector<std::vector<double>> xs;
  xs.reserve(examples.size());
  for (const EscalationExample& e : examples) {
    const auto base = Inputs(e.features);
    std::vector<double> x(base.begin(), base.end());
    x.push_back(UpToThree(e.features.frustration));
    for (const auto& [segment, count] : common) {
      const auto& s = e.features.segments;
      x.push_back(std::find(s.begin(), s.end(), segment) != s.end() ? 1.0 : 0.0);
    }
    xs.push_back(std::move(x));
  }
  std::vector<double> w(n, 0.0), g2(n, 0.0), grad(n);
  for (int iter = 0; iter < 500; ++iter) {
    std::fill(grad.begin(), grad.end(), 0.0);
    for (size_t k = 0; k < examples.size(); ++k) {
      const std::vector<double>& x = xs[k];
      double z = 0;
      for (size_t i = 0; i < n; ++i) z += w[i] * x[i];
      const double d = 1.0 / (1.0 + std::exp(-z)) - (examples[k].escalated ? 1.0 : 0.0);
      for (size_t i = 0; i < n; ++i) grad[i] += d * x[i];
    }
    for (size_t i = 0; i < n; ++i) {
      // Segments are shrunk harder: a segment's own weight should need its own evidence.
      const double l2 = i == 0 ? 0.0 : i <= kInputs ? 1e-3 : 1e-2;
      const double g = grad[i] / examples.size() + l2 * w[i];
      g2[i] += g * g;
      w[i] -= 0.3 * g / std::sqrt(g2[i] + 1e-12);
    }
  }
  for (size_t i = 0; i < kInputs; ++i) m.weights_[i] = static_cast<float>(w[i]);
  m.frustration_weight_ = static_cast<float>(w[kInputs]);
  for (size_t i = 0; i < common.size(); ++i) {
    m.segment_weights_.emplace_back(common[i].first, static_cast<float>(w[kInputs + 1 + i]));
  }
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

void EscalationModel::SerializeCues(ByteWriter* out) const {
  out->f32(frustration_weight_);
  out->u32(static_cast<uint32_t>(segment_weights_.size()));
  for (const auto& [segment, weight] : segment_weights_) {
    out->str(segment);
    out->f32(weight);
  }
}

Status EscalationModel::DeserializeCues(ByteReader* in) {
  const float frustration = in->f32();
  const uint32_t count = in->u32();
  if (!in->ok()) return Status::Error("escalation cues: section is truncated");
  if (count > kMaxSegments) return Status::Error("escalation cues: too many segments");
  std::vector<std::pair<std::string, float>> segments;
  for (uint32_t i = 0; i < count; ++i) {
    std::string segment = in->str();
    const float weight = in->f32();
    if (!in->ok()) return Status::Error("escalation cues: section is truncated");
    if (!std::isfinite(weight)) return Status::Error("escalation cues: a weight is not finite");
    if (!segments.empty() && !(segments.back().first < segment)) {
      return Status::Error("escalation cues: segments out of order");
    }
    segments.emplace_back(std::move(segment), weight);
  }
  if (!std::isfinite(frustration)) return Status::Error("escalation cues: a weight is not finite");
  frustration_weight_ = frustration;
  segment_weights_ = std::move(segments);
  return Status::Ok();
}

}  // namespace loopwise
