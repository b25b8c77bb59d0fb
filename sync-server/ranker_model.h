#pragma once
// The ranker as a model the widget runs in ONNX Runtime Web: a small feed-forward network over the
// engine's per-candidate signals (ranker.h), exported as ONNX (ModelProto bytes).
//
// Its graph has one input, "features": float[N, kNumSignals] (one row per candidate, columns in
// Signal order), and one output, "scores": float[N], higher is better. Layers are dense (Gemm),
// each optionally followed by Relu; the last layer has one output, reshaped to [N]. One layer with
// no Relu is the engine's linear ranker; the learning loop can train and export deeper ones
// (Gemm -> Relu -> Gemm) through the same type.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/ranker.h"
#include "engine/status.h"

namespace loopwise {

struct DenseLayer {
  size_t inputs = 0;
  size_t outputs = 0;
  std::vector<float> weights;  // inputs x outputs, row-major: weights[i * outputs + o]
  std::vector<float> bias;     // outputs
  bool relu = false;           // Relu after the layer (never on the last one)
};

struct RankerModel {
  std::vector<DenseLayer> layers;

  // The engine's linear ranker: its weights (fitted at bundle build, hand-set where the history
  // cannot teach them) and no bias, so the model ranks exactly as the engine does.
  static RankerModel Linear(const Ranker& ranker);

  // Fails with a sentence when the layers do not chain (kNumSignals in, 1 out, each layer's inputs
  // the previous one's outputs), a size is off, or a weight is not finite.
  Status Check() const;

  // The ONNX ModelProto bytes (IR version 7, opset 13: what ONNX Runtime Web 1.x runs). Fails as
  // Check does.
  Result<std::vector<uint8_t>> ToOnnx() const;
};

// The finished bundle `bundle` with its ranker model section (Section::kRankerModel) set to the
// linear model of the bundle's own fitted ranker. What publishing and `loopwise eval` ship.
Result<std::vector<uint8_t>> WithDefaultRankerModel(const std::vector<uint8_t>& bundle);

// The ranker `bundle` carries (Section::kRanker).
Result<Ranker> BundleRanker(const std::vector<uint8_t>& bundle);

// `bundle` with its ranker set to `ranker`, and its ranker model to the linear model of it.
Result<std::vector<uint8_t>> WithRanker(const std::vector<uint8_t>& bundle, const Ranker& ranker);

}  // namespace loopwise
