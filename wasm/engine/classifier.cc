#include "engine/classifier.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <numeric>
#include <random>

#include "engine/vector_math.h"

namespace loopwise {
namespace {

constexpr size_t kMaxClasses = UINT16_MAX;  // class numbers are stored in 16 bits
// Classes whose gradient for an example is smaller than this are not updated by it: with many
// articles most probabilities are near zero, and this keeps a step proportional to the classes
// that matter.
constexpr float kMinGradient = 1e-4f;
// The bias learns more slowly than the weights, as it sees every example.
constexpr double kBiasRate = 0.01;
constexpr long kMinCode = 6;

// Multinomial logistic regression by plain SGD with the step size 1 / (alpha (t + t0)) of the
// L2-regularized objective, which converges where AdaGrad stalls. The L2 shrinkage of all weights
// is carried by one scale factor, so a step touches only the example's features.
class SgdTrainer {
 public:
  SgdTrainer(const std::vector<TrainingExample>& examples, size_t num_features, size_t dense_dim,
             size_t num_classes, const ClassifierOptions& options)
      : examples_(examples),
        k_(num_classes),
        sparse_(num_features * num_classes, 0.0f),
        dense_(dense_dim * num_classes, 0.0f),
        bias_(num_classes, 0.0f),
        z_(num_classes),
        order_(examples.size()),
        rng_(options.seed) {
    std::iota(order_.begin(), order_.end(), 0);
    double total = 0;
    for (const auto& e : examples) total += e.weight;
    mean_weight_ = total / std::max<size_t>(1, examples.size());
    alpha_ = 1.0 / (options.c * std::max<size_t>(1, examples.size()));
    // The usual starting step for this schedule: about the size of a typical weight.
    t0_ = 1.0 / (std::sqrt(1.0 / std::sqrt(alpha_)) * alpha_);
  }

  // Pruned weights stay zero from now on.
  void Mask(std::vector<uint8_t> keep) { keep_ = std::move(keep); }

  // Calls `after_epoch` after each pass.
  void Run(int epochs, const std::function<void()>& after_epoch) {
    for (int epoch = 0; epoch < epochs; ++epoch) {
      std::shuffle(order_.begin(), order_.end(), rng_);
      for (size_t idx : order_) Step(examples_[idx]);
      after_epoch();
    }
    Unscale();
  }

  std::vector<float>& sparse() { return sparse_; }
  const std::vector<float>& dense() const { return dense_; }
  const std::vector<float>& bias() const { return bias_; }

 private:
  void Step(const TrainingExample& ex) {
    const double eta = 1.0 / (alpha_ * (t_ + t0_));
    t_ += 1;
    std::fill(z_.begin(), z_.end(), 0.0f);
    for (size_t j = 0; j < ex.features.size(); ++j) {
      const float x = ex.features.value[j];
      const float* w = &sparse_[size_t{ex.features.index[j]} * k_];
      for (size_t c = 0; c < k_; ++c) z_[c] += x * w[c];
    }
    for (size_t d = 0; d < ex.dense.size(); ++d) {
      const float x = ex.dense[d];
      const float* w = &dense_[d * k_];
      for (size_t c = 0; c < k_; ++c) z_[c] += x * w[c];
    }
    for (size_t c = 0; c < k_; ++c) z_[c] = static_cast<float>(z_[c] * scale_) + bias_[c];
    Classifier::Softmax(&z_);
    const float weight = static_cast<float>(ex.weight / mean_weight_);
    active_.clear();
    for (size_t c = 0; c < k_; ++c) {
      z_[c] = weight * (z_[c] - (c == ex.label ? 1.0f : 0.0f));
      if (std::fabs(z_[c]) > kMinGradient) active_.push_back(c);
    }
    scale_ *= 1.0 - eta * alpha_;
    if (scale_ < 1e-6) Unscale();
    const float step = static_cast<float>(eta / scale_);
    for (size_t c : active_) bias_[c] -= static_cast<float>(kBiasRate * eta) * z_[c];
    for (size_t j = 0; j < ex.features.size(); ++j) {
      const float x = step * ex.features.value[j];
      const size_t row = size_t{ex.features.index[j]} * k_;
      for (size_t c : active_) {
        if (keep_.empty() || keep_[row + c]) sparse_[row + c] -= x * z_[c];
      }
    }
    for (size_t d = 0; d < ex.dense.size(); ++d) {
      const float x = step * ex.dense[d];
      for (size_t c : active_) dense_[d * k_ + c] -= x * z_[c];
    }
  }

  void Unscale() {
    for (float& v : sparse_) v = static_cast<float>(v * scale_);
    for (float& v : dense_) v = static_cast<float>(v * scale_);
    scale_ = 1.0;
  }

  const std::vector<TrainingExample>& examples_;
  const size_t k_;
  std::vector<float> sparse_, dense_, bias_;  // feature-major: [feature * k + class]
  std::vector<uint8_t> keep_;
  std::vector<float> z_;
  std::vector<size_t> active_;
  std::vector<size_t> order_;
  std::mt19937 rng_;
  double mean_weight_ = 1, alpha_ = 1, t0_ = 1, t_ = 0, scale_ = 1;
};

}  // namespace

Classifier Classifier::Train(const std::vector<TrainingExample>& examples, size_t num_features,
                             size_t dense_dim, size_t num_classes,
                             const ClassifierOptions& options) {
  const size_t k = num_classes;
  SgdTrainer trainer(examples, num_features, dense_dim, k, options);
  double work = 0;  // multiply-adds of one epoch's forward passes
  for (const auto& ex : examples) work += double(ex.features.size() + ex.dense.size()) * k;
  const int epochs = std::min(
      options.epochs, std::max(3, static_cast<int>(options.work_budget / std::max(1.0, work))));
  const size_t per_feature = std::min<size_t>(k, options.max_classes_per_feature);
  const int refit_epochs = per_feature < k ? std::max(1, epochs / 4) : 0;
  int done = 0;
  auto after_epoch = [&] {
    if (options.progress) options.progress(double(++done) / (epochs + refit_epochs));
  };
  trainer.Run(epochs, after_epoch);

  std::vector<float>& sparse = trainer.sparse();
  std::vector<uint8_t> keep;
  if (refit_epochs > 0) {
    keep.assign(num_features * k, 0);
    std::vector<uint32_t> cls(k);
    for (size_t f = 0; f < num_features; ++f) {
      const float* w = &sparse[f * k];
      std::iota(cls.begin(), cls.end(), 0);
      std::partial_sort(cls.begin(), cls.begin() + per_feature, cls.end(),
                        [&](uint32_t a, uint32_t b) { return std::fabs(w[a]) > std::fabs(w[b]); });
      for (size_t i = 0; i < per_feature; ++i) keep[f * k + cls[i]] = 1;
      for (size_t c = 0; c < k; ++c) {
        if (!keep[f * k + c]) sparse[f * k + c] = 0.0f;
      }
    }
    trainer.Mask(keep);
    trainer.Run(refit_epochs, after_epoch);
  }

  Classifier model;
  model.dense_dim_ = dense_dim;
  model.bias_ = trainer.bias();
  model.dense_.resize(k * dense_dim);
  for (size_t d = 0; d < dense_dim; ++d) {
    for (size_t c = 0; c < k; ++c) model.dense_[c * dense_dim + d] = trainer.dense()[d * k + c];
  }
  // Each feature's weights are kept as int8 codes of one scale (its largest weight / 127);
  // weights under kMinCode / 127 of the largest are dropped (no measurable effect on accuracy on
  // held-out history; more than a third off the bundle). The model answers from these codes, so
  // a built engine and a loaded one agree exactly.
  model.offsets_.push_back(0);
  for (size_t f = 0; f < num_features; ++f) {
    float max_abs = 0;
    for (size_t c = 0; c < k; ++c) {
      if (keep.empty() || keep[f * k + c])
        max_abs = std::max(max_abs, std::fabs(sparse[f * k + c]));
    }
    const float scale = max_abs > 0 ? max_abs / 127.0f : 1.0f;
    model.scales_.push_back(scale);
    for (size_t c = 0; c < k; ++c) {
      if (!keep.empty() && !keep[f * k + c]) continue;
      const long code = std::lround(sparse[f * k + c] / scale);
      if (std::labs(code) < kMinCode) continue;
      model.classes_.push_back(static_cast<uint16_t>(c));
      model.codes_.push_back(static_cast<int8_t>(code));
    }
    model.offsets_.push_back(static_cast<uint32_t>(model.classes_.size()));
  }
  return model;
}

void Classifier::Logits(const SparseVector& features, const float* dense,
                        std::vector<float>* logits) const {
  const size_t k = bias_.size();
  logits->assign(bias_.begin(), bias_.end());
  float* z = logits->data();
  for (size_t j = 0; j < features.size(); ++j) {
    const uint32_t f = features.index[j];
    if (f + 1 >= offsets_.size()) continue;
    // Reading the int8 codes themselves keeps a large head's weights in cache.
    const float x = features.value[j] * scales_[f];
    for (uint32_t e = offsets_[f]; e < offsets_[f + 1]; ++e) z[classes_[e]] += x * codes_[e];
  }
  for (size_t c = 0; c < k; ++c) {
    z[c] += Dot(dense_.data() + c * dense_dim_, dense, dense_dim_);
  }
}

void Classifier::Softmax(std::vector<float>* logits) {
  if (logits->empty()) return;
  const float top = *std::max_element(logits->begin(), logits->end());
  float sum = 0;
  for (float& z : *logits) sum += (z = std::exp(z - top));
  for (float& z : *logits) z /= sum;
}

void Classifier::Serialize(ByteWriter* out) const {
  out->array(bias_);
  out->array(dense_);
  out->array(offsets_);
  out->array(scales_);
  out->array(classes_);
  out->array(codes_);
}

Result<Classifier> Classifier::Deserialize(ByteReader* in, size_t num_features, size_t dense_dim) {
  Classifier m;
  m.dense_dim_ = dense_dim;
  m.bias_ = in->array<float>(kMaxClasses);
  m.dense_ = in->array<float>();
  m.offsets_ = in->array<uint32_t>();
  m.scales_ = in->array<float>();
  m.classes_ = in->array<uint16_t>();
  m.codes_ = in->array<int8_t>();
  if (!in->ok() || m.dense_.size() != m.bias_.size() * dense_dim ||
      m.offsets_.size() != num_features + 1 || m.scales_.size() != num_features ||
      m.classes_.size() != m.codes_.size() || m.offsets_.front() != 0 ||
      m.offsets_.back() != m.classes_.size()) {
    return Status::Error("classifier: section is truncated or inconsistent");
  }
  for (size_t f = 0; f + 1 < m.offsets_.size(); ++f) {
    if (m.offsets_[f] > m.offsets_[f + 1]) return Status::Error("classifier: bad feature offsets");
  }
  for (uint16_t c : m.classes_) {
    if (c >= m.bias_.size()) return Status::Error("classifier: weight for an unknown article");
  }
  return m;
}

}  // namespace loopwise
