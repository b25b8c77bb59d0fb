#pragma once
// The scoring head: a multinomial logistic regression from a text's sparse lexical features and its
// dense sentence vector to articles, trained on the site's history (titles count as examples too).
//
// Each lexical feature keeps weights for at most `max_classes_per_feature` articles (the largest in
// magnitude, refitted after pruning), so the head stays small for a knowledge base of thousands of
// articles while a small one keeps every weight.

#include <cstdint>
#include <functional>
#include <vector>

#include "engine/byte_io.h"
#include "engine/features.h"
#include "engine/status.h"

namespace loopwise {

struct ClassifierOptions {
  // Inverse L2 strength, as in the usual "C" of logistic regression: larger fits harder.
  float c = 30.0f;
  int epochs = 30;
  // Large sites get fewer epochs (at least 3) so that one training stays within about this many
  // multiply-adds; a site of 1,000 articles then trains in seconds, not hours.
  double work_budget = 1.5e10;
  uint32_t max_classes_per_feature = 64;
  uint32_t seed = 1;
  // Called after each pass over the examples with the share of the training done (0 to 1].
  std::function<void(double)> progress;
};

struct TrainingExample {
  SparseVector features;
  std::vector<float> dense;
  uint32_t label = 0;
  float weight = 1.0f;
};

class Classifier {
 public:
  static Classifier Train(const std::vector<TrainingExample>& examples, size_t num_features,
                          size_t dense_dim, size_t num_classes, const ClassifierOptions& options);

  size_t num_classes() const { return bias_.size(); }
  // Writes one logit per class to `logits` (resized).
  void Logits(const SparseVector& features, const float* dense, std::vector<float>* logits) const;
  // Softmax of the logits, in place.
  static void Softmax(std::vector<float>* logits);

  void Serialize(ByteWriter* out) const;
  static Result<Classifier> Deserialize(ByteReader* in, size_t num_features, size_t dense_dim);

 private:
  size_t dense_dim_ = 0;
  std::vector<float> bias_;
  std::vector<float> dense_;  // num_classes x dense_dim
  // Pruned sparse weights, CSR by feature, stored as int8 codes with one scale per feature.
  std::vector<uint32_t> offsets_;  // num_features + 1
  std::vector<float> scales_;      // num_features
  std::vector<uint16_t> classes_;
  std::vector<int8_t> codes_;
};

}  // namespace loopwise
