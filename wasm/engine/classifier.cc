#include "engine/classifier.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace loopwise {
namespace {

constexpr size_t kMaxClasses = 1u << 20;
constexpr float kLearningRate = 0.2f;
constexpr float kMinGradient = 1e-4f;

// Per-weight AdaGrad state over a dense table; training runs natively only, so memory is cheap.
struct Table {
  Table(size_t rows, size_t cols) : w(rows * cols, 0.0f), g2(rows * cols, 1e-6f) {}
  void Step(size_t i, float grad) {
    g2[i] += grad * grad;
    w[i] -= kLearningRate * grad / std::sqrt(g2[i]);
  }
  std::vector<float> w, g2;
};

}  // namespace

Classifier Classifier::Train(const std::vector<TrainingExample>& examples, size_t num_features,
                             size_t dense_dim, size_t num_classes,
                             const ClassifierOptions& options) {
  const size_t k = num_classes;
  Table sparse(num_features, k), dense(dense_dim, k), bias(1, k);
  // Pruned entries are masked to zero in the refit after pruning.
  std::vector<uint8_t> keep;
  const double total_weight =
      std::accumulate(examples.begin(), examples.end(), 0.0,
                      [](double s, const TrainingExample& e) { return s + e.weight; });
  // L2 per example so that the whole objective is  sum(w_i * loss_i) / W + |theta|^2 / (2 c W).
  const float l2 = static_cast<float>(1.0 / (options.c * std::max(1.0, total_weight)));

  std::vector<size_t> order(examples.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937 rng(options.seed);
  std::vector<float> z(k);
  std::vector<size_t> active;
  const float mean_weight = static_cast<float>(total_weight / std::max<size_t>(1, examples.size()));

  auto run_epochs = [&](int epochs) {
    for (int epoch = 0; epoch < epochs; ++epoch) {
      std::shuffle(order.begin(), order.end(), rng);
      for (size_t idx : order) {
        const TrainingExample& ex = examples[idx];
        for (size_t c = 0; c < k; ++c) z[c] = bias.w[c];
        for (size_t j = 0; j < ex.features.size(); ++j) {
          const float x = ex.features.value[j];
          const float* w = &sparse.w[size_t{ex.features.index[j]} * k];
          for (size_t c = 0; c < k; ++c) z[c] += x * w[c];
        }
        for (size_t d = 0; d < ex.dense.size(); ++d) {
          const float x = ex.dense[d];
          const float* w = &dense.w[d * k];
          for (size_t c = 0; c < k; ++c) z[c] += x * w[c];
        }
        Softmax(&z);
        const float scale = ex.weight / mean_weight;
        for (size_t c = 0; c < k; ++c) z[c] = scale * (z[c] - (c == ex.label ? 1.0f : 0.0f));
        // Classes the example barely moves are skipped (their L2 shrinkage waits for an example
        // that does move them): with many articles most probabilities are near zero, and this
        // keeps an update proportional to the classes that matter.
        active.clear();
        for (size_t c = 0; c < k; ++c) {
          if (std::fabs(z[c]) > kMinGradient) active.push_back(c);
        }
        for (size_t c : active) bias.Step(c, z[c]);
        for (size_t j = 0; j < ex.features.size(); ++j) {
          const float x = ex.features.value[j];
          const size_t row = size_t{ex.features.index[j]} * k;
          for (size_t c : active) {
            if (!keep.empty() && !keep[row + c]) continue;
            sparse.Step(row + c, z[c] * x + l2 * sparse.w[row + c]);
          }
        }
        for (size_t d = 0; d < ex.dense.size(); ++d) {
          const float x = ex.dense[d];
          for (size_t c : active) dense.Step(d * k + c, z[c] * x + l2 * dense.w[d * k + c]);
        }
      }
    }
  };
  run_epochs(options.epochs);

  const size_t per_feature = std::min<size_t>(k, options.max_classes_per_feature);
  if (per_feature < k) {
    keep.assign(num_features * k, 0);
    std::vector<uint32_t> cls(k);
    for (size_t f = 0; f < num_features; ++f) {
      const float* w = &sparse.w[f * k];
      std::iota(cls.begin(), cls.end(), 0);
      std::partial_sort(cls.begin(), cls.begin() + per_feature, cls.end(),
                        [&](uint32_t a, uint32_t b) { return std::fabs(w[a]) > std::fabs(w[b]); });
      for (size_t i = 0; i < per_feature; ++i) keep[f * k + cls[i]] = 1;
      for (size_t c = 0; c < k; ++c) {
        if (!keep[f * k + c]) sparse.w[f * k + c] = 0.0f;
      }
    }
    run_epochs(std::max(1, options.epochs / 4));
  }

  Classifier model;
  model.dense_dim_ = dense_dim;
  model.bias_ = bias.w;
  model.dense_.resize(k * dense_dim);
  for (size_t d = 0; d < dense_dim; ++d) {
    for (size_t c = 0; c < k; ++c) model.dense_[c * dense_dim + d] = dense.w[d * k + c];
  }
  model.offsets_.push_back(0);
  for (size_t f = 0; f < num_features; ++f) {
    for (size_t c = 0; c < k; ++c) {
      const float w = sparse.w[f * k + c];
      if (w != 0.0f && (keep.empty() || keep[f * k + c])) {
        model.classes_.push_back(static_cast<uint32_t>(c));
        model.weights_.push_back(w);
      }
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
    const float x = features.value[j];
    for (uint32_t e = offsets_[f]; e < offsets_[f + 1]; ++e) z[classes_[e]] += x * weights_[e];
  }
  for (size_t c = 0; c < k; ++c) {
    const float* w = dense_.data() + c * dense_dim_;
    float s = 0;
    for (size_t d = 0; d < dense_dim_; ++d) s += w[d] * dense[d];
    z[c] += s;
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
  out->array(classes_);
  out->array(weights_);
}

Result<Classifier> Classifier::Deserialize(ByteReader* in, size_t num_features, size_t dense_dim) {
  Classifier m;
  m.dense_dim_ = dense_dim;
  m.bias_ = in->array<float>(kMaxClasses);
  m.dense_ = in->array<float>();
  m.offsets_ = in->array<uint32_t>();
  m.classes_ = in->array<uint32_t>();
  m.weights_ = in->array<float>();
  if (!in->ok() || m.dense_.size() != m.bias_.size() * dense_dim ||
      m.offsets_.size() != num_features + 1 || m.classes_.size() != m.weights_.size() ||
      m.offsets_.front() != 0 || m.offsets_.back() != m.classes_.size()) {
    return Status::Error("classifier: section is truncated or inconsistent");
  }
  for (size_t f = 0; f + 1 < m.offsets_.size(); ++f) {
    if (m.offsets_[f] > m.offsets_[f + 1]) return Status::Error("classifier: bad feature offsets");
  }
  for (uint32_t c : m.classes_) {
    if (c >= m.bias_.size()) return Status::Error("classifier: weight for an unknown article");
  }
  return m;
}

}  // namespace loopwise
