#pragma once
// A ranker model read from ONNX bytes and evaluated natively, node by node, with the operators
// ranker models are made of: Gemm, MatMul, Add, Relu, Sigmoid, Reshape, Flatten, Squeeze and
// Identity on float tensors (int64 only for shapes and axes). What the widget runs in ONNX Runtime
// Web, run here too: for replaying a model over recorded candidates and for the parity test
// against the browser.
//
// The graph must have an input "features" (float, [N, kNumSignals]) and an output "scores"
// (float, [N]), as RankerModel::ToOnnx writes them. Load refuses anything else with a sentence
// saying what: bytes that are not an ONNX model, an operator or data type outside the list above,
// a graph that uses a value before making it, or one that does not give one score per row.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/status.h"

namespace loopwise {

class OnnxRanker {
 public:
  // Parses and checks the model (including a trial run on a few rows).
  static Result<OnnxRanker> Load(const uint8_t* data, size_t size);

  // Scores `n` candidates: `rows` holds n * kNumSignals floats, row-major, columns in Signal
  // order. Returns one score per row, higher is better.
  Result<std::vector<float>> Score(const float* rows, size_t n) const;

  struct Tensor {
    std::vector<int64_t> shape;
    bool is_int = false;
    std::vector<float> f;    // when !is_int
    std::vector<int64_t> i;  // when is_int
  };
  struct Node {
    std::string op, name;
    std::vector<std::string> inputs, outputs;
    std::map<std::string, float> floats;
    std::map<std::string, int64_t> ints;
    std::map<std::string, std::vector<int64_t>> int_lists;
  };

 private:
  std::map<std::string, Tensor> constants_;
  std::vector<Node> nodes_;
};

}  // namespace loopwise
