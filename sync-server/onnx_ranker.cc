#include "onnx_ranker.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <set>

#include "engine/ranker.h"

namespace loopwise {
namespace {

using Tensor = OnnxRanker::Tensor;
using Node = OnnxRanker::Node;

constexpr size_t kMaxNodes = 1024;
constexpr int64_t kMaxElements = int64_t{1} << 24;  // per tensor: 64 MB of floats
constexpr int kMinOpset = 7;
constexpr int kMaxOpset = 21;

const std::set<std::string>& SupportedOps() {
  static const std::set<std::string> ops = {"Gemm",    "MatMul",  "Add",     "Relu",    "Sigmoid",
                                            "Reshape", "Flatten", "Squeeze", "Identity"};
  return ops;
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// The element count of `shape`, or -1 when a dimension is negative or the count is too large.
int64_t Elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d > 0 && n > kMaxElements / d)) return -1;
    n *= d;
  }
  return n;
}

Result<Tensor> ReadTensor(const onnx::TensorProto& t) {
  const std::string name = "ranker model tensor \"" + t.name() + "\"";
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    return Status::Error(name + " keeps its data in an external file; embed it in the model");
  }
  Tensor out;
  out.shape.assign(t.dims().begin(), t.dims().end());
  const int64_t n = Elements(out.shape);
  if (n < 0) return Status::Error(name + " has an impossible shape " + ShapeText(out.shape));
  const std::string& raw = t.raw_data();
  if (t.data_type() == onnx::TensorProto::FLOAT) {
    if (!raw.empty()) {
      if (raw.size() != static_cast<size_t>(n) * 4) {
        return Status::Error(name + " holds " + std::to_string(raw.size()) + " bytes for " +
                             std::to_string(n) + " floats");
      }
      out.f.resize(n);
      std::memcpy(out.f.data(), raw.data(), raw.size());
    } else {
      out.f.assign(t.float_data().begin(), t.float_data().end());
    }
    if (static_cast<int64_t>(out.f.size()) != n) {
      return Status::Error(name + " holds " + std::to_string(out.f.size()) + " values for shape " +
                           ShapeText(out.shape));
    }
  } else if (t.data_type() == onnx::TensorProto::INT64) {
    out.is_int = true;
    if (!raw.empty()) {
      if (raw.size() != static_cast<size_t>(n) * 8) {
        return Status::Error(name + " holds " + std::to_string(raw.size()) + " bytes for " +
                             std::to_string(n) + " int64 values");
      }
      out.i.resize(n);
      std::memcpy(out.i.data(), raw.data(), raw.size());
    } else {
      out.i.assign(t.int64_data().begin(), t.int64_data().end());
    }
    if (static_cast<int64_t>(out.i.size()) != n) {
      return Status::Error(name + " holds " + std::to_string(out.i.size()) + " values for shape " +
                           ShapeText(out.shape));
    }
  } else {
    return Status::Error(name + " has data type " + std::to_string(t.data_type()) +
                         "; ranker models use float (and int64 for shapes)");
  }
  return out;
}

Status NodeError(const Node& node, const std::string& what) {
  return Status::Error("ranker model node \"" + node.name + "\" (" + node.op + "): " + what);
}

const Tensor* Input(const Node& node, const std::map<std::string, const Tensor*>& values,
                    size_t i) {
  if (i >= node.inputs.size() || node.inputs[i].empty()) return nullptr;
  auto it = values.find(node.inputs[i]);
  return it == values.end() ? nullptr : it->second;
}

int64_t IntAttr(const Node& node, const char* name, int64_t fallback) {
  auto it = node.ints.find(name);
  return it == node.ints.end() ? fallback : it->second;
}

float FloatAttr(const Node& node, const char* name, float fallback) {
  auto it = node.floats.find(name);
  return it == node.floats.end() ? fallback : it->second;
}

// Numpy-style broadcasting of `shape` to `out` (right-aligned): the strides to read an input of
// `shape` at each output index, 0 where the input repeats.
std::vector<int64_t> BroadcastStrides(const std::vector<int64_t>& shape,
                                      const std::vector<int64_t>& out) {
  std::vector<int64_t> strides(out.size(), 0);
  int64_t stride = 1;
  for (size_t k = 0; k < shape.size(); ++k) {
    const size_t in_axis = shape.size() - 1 - k, out_axis = out.size() - 1 - k;
    strides[out_axis] = shape[in_axis] == 1 ? 0 : stride;
    stride *= shape[in_axis];
  }
  return strides;
}

Result<std::vector<int64_t>> BroadcastShape(const Node& node, const std::vector<int64_t>& a,
                                            const std::vector<int64_t>& b) {
  std::vector<int64_t> out(std::max(a.size(), b.size()), 1);
  for (size_t k = 0; k < out.size(); ++k) {
    const int64_t da = k < a.size() ? a[a.size() - 1 - k] : 1;
    const int64_t db = k < b.size() ? b[b.size() - 1 - k] : 1;
    if (da != db && da != 1 && db != 1) {
      return NodeError(node,
                       "shapes " + ShapeText(a) + " and " + ShapeText(b) + " do not broadcast");
    }
    out[out.size() - 1 - k] = da == 1 ? db : da;
  }
  return out;
}

// out[index] = a[index] + b[index] under broadcasting.
Tensor Broadcast(const Tensor& a, const Tensor& b, const std::vector<int64_t>& shape) {
  Tensor out;
  out.shape = shape;
  const int64_t n = Elements(shape);
  out.f.resize(n);
  const auto sa = BroadcastStrides(a.shape, shape), sb = BroadcastStrides(b.shape, shape);
  std::vector<int64_t> index(shape.size(), 0);
  int64_t ia = 0, ib = 0;
  for (int64_t e = 0; e < n; ++e) {
    out.f[e] = a.f[ia] + b.f[ib];
    for (size_t k = shape.size(); k-- > 0;) {
      ++index[k];
      ia += sa[k];
      ib += sb[k];
      if (index[k] < shape[k]) break;
      ia -= sa[k] * shape[k];
      ib -= sb[k] * shape[k];
      index[k] = 0;
    }
  }
  return out;
}

// C = alpha * A * B for A [m, k] and B [k, n] (strided), in float32 and summed in order, as ONNX
// Runtime's kernels do, so both round alike.
void MultiplyInto(const float* a, const float* b, int64_t m, int64_t k, int64_t n, int64_t a_row,
                  int64_t a_col, int64_t b_row, int64_t b_col, float alpha, float* c) {
  for (int64_t r = 0; r < m; ++r) {
    for (int64_t col = 0; col < n; ++col) {
      float s = 0;
      for (int64_t j = 0; j < k; ++j) s += a[r * a_row + j * a_col] * b[j * b_row + col * b_col];
      c[r * n + col] = alpha == 1.0f ? s : alpha * s;
    }
  }
}

Result<Tensor> Gemm(const Node& node, const Tensor& a, const Tensor& b, const Tensor* c) {
  if (a.shape.size() != 2 || b.shape.size() != 2) {
    return NodeError(
        node, "needs two matrices, got " + ShapeText(a.shape) + " and " + ShapeText(b.shape));
  }
  const bool ta = IntAttr(node, "transA", 0) != 0, tb = IntAttr(node, "transB", 0) != 0;
  const int64_t m = ta ? a.shape[1] : a.shape[0], k = ta ? a.shape[0] : a.shape[1];
  const int64_t kb = tb ? b.shape[1] : b.shape[0], n = tb ? b.shape[0] : b.shape[1];
  if (k != kb) {
    return NodeError(
        node, "inner dimensions differ: " + ShapeText(a.shape) + " and " + ShapeText(b.shape));
  }
  Tensor out;
  out.shape = {m, n};
  out.f.resize(m * n);
  MultiplyInto(a.f.data(), b.f.data(), m, k, n, ta ? 1 : k, ta ? m : 1, tb ? 1 : n, tb ? k : 1,
               FloatAttr(node, "alpha", 1.0f), out.f.data());
  if (!c) return out;
  auto shape = BroadcastShape(node, c->shape, out.shape);
  if (!shape.ok()) return shape.status();
  if (shape.value() != out.shape) {
    return NodeError(node,
                     "C " + ShapeText(c->shape) + " does not broadcast to " + ShapeText(out.shape));
  }
  const float beta = FloatAttr(node, "beta", 1.0f);
  Tensor scaled = *c;
  for (float& v : scaled.f) v *= beta;
  return Broadcast(out, scaled, out.shape);
}

Result<Tensor> MatMul(const Node& node, const Tensor& a, const Tensor& b) {
  const size_t ra = a.shape.size(), rb = b.shape.size();
  if (ra < 1 || ra > 2 || rb < 1 || rb > 2) {
    return NodeError(node, "multiplies vectors and matrices only, got " + ShapeText(a.shape) +
                               " and " + ShapeText(b.shape));
  }
  const int64_t m = ra == 2 ? a.shape[0] : 1, k = a.shape[ra - 1];
  const int64_t kb = b.shape[0], n = rb == 2 ? b.shape[1] : 1;
  if (k != kb) {
    return NodeError(
        node, "inner dimensions differ: " + ShapeText(a.shape) + " and " + ShapeText(b.shape));
  }
  Tensor out;
  if (ra == 2) out.shape.push_back(m);
  if (rb == 2) out.shape.push_back(n);
  out.f.resize(m * n);
  MultiplyInto(a.f.data(), b.f.data(), m, k, n, k, 1, n, 1, 1.0f, out.f.data());
  return out;
}

Result<Tensor> Reshape(const Node& node, const Tensor& x, const Tensor& shape) {
  if (!shape.is_int || shape.shape.size() != 1) {
    return NodeError(node, "the new shape must be a 1-D int64 tensor");
  }
  const bool allow_zero = IntAttr(node, "allowzero", 0) != 0;
  std::vector<int64_t> out;
  int infer = -1;
  for (size_t k = 0; k < shape.i.size(); ++k) {
    int64_t d = shape.i[k];
    if (d == 0 && !allow_zero) {
      if (k >= x.shape.size()) return NodeError(node, "0 copies a dimension the input lacks");
      d = x.shape[k];
    }
    if (d == -1) {
      if (infer >= 0) return NodeError(node, "more than one dimension is -1");
      infer = static_cast<int>(k);
      d = 1;
    } else if (d < 0) {
      return NodeError(node, "dimension " + std::to_string(d) + " is negative");
    }
    out.push_back(d);
  }
  const int64_t have = Elements(x.shape);
  int64_t known = Elements(out);
  if (infer >= 0 && known > 0 && have % known == 0) {
    out[infer] = have / known;
    known = have;
  }
  if (known != have) {
    return NodeError(node, "cannot reshape " + ShapeText(x.shape) + " to " + ShapeText(shape.i));
  }
  Tensor r = x;
  r.shape = out;
  return r;
}

Result<Tensor> Squeeze(const Node& node, const Tensor& x, const Tensor* axes_input) {
  std::vector<int64_t> axes;
  if (axes_input) {
    if (!axes_input->is_int) return NodeError(node, "axes must be int64");
    axes = axes_input->i;
  } else if (auto it = node.int_lists.find("axes"); it != node.int_lists.end()) {
    axes = it->second;
  }
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  std::vector<bool> drop(x.shape.size(), false);
  for (int64_t a : axes) {
    if (a < -rank || a >= rank)
      return NodeError(node, "axis " + std::to_string(a) + " is out of range");
    const size_t axis = static_cast<size_t>(a < 0 ? a + rank : a);
    if (x.shape[axis] != 1) {
      return NodeError(node,
                       "axis " + std::to_string(a) + " of " + ShapeText(x.shape) + " is not 1");
    }
    drop[axis] = true;
  }
  Tensor r = x;
  r.shape.clear();
  for (size_t k = 0; k < x.shape.size(); ++k) {
    const bool squeeze = axes.empty() ? x.shape[k] == 1 : drop[k];
    if (!squeeze) r.shape.push_back(x.shape[k]);
  }
  return r;
}

Result<Tensor> Flatten(const Node& node, const Tensor& x) {
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  int64_t axis = IntAttr(node, "axis", 1);
  if (axis < -rank || axis > rank) return NodeError(node, "axis is out of range");
  if (axis < 0) axis += rank;
  int64_t outer = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= x.shape[k];
  Tensor r = x;
  r.shape = {outer, outer ? Elements(x.shape) / outer : 0};
  return r;
}

Result<Tensor> Run(const Node& node, const std::map<std::string, const Tensor*>& values) {
  const Tensor* x = Input(node, values, 0);
  if (!x) return NodeError(node, "has no first input");
  auto needs_floats = [&](const Tensor* t) { return t && !t->is_int; };
  const std::string& op = node.op;
  if (op == "Identity") return *x;
  if (op == "Reshape") {
    const Tensor* shape = Input(node, values, 1);
    if (!shape) return NodeError(node, "has no shape input");
    return Reshape(node, *x, *shape);
  }
  if (op == "Squeeze") return Squeeze(node, *x, Input(node, values, 1));
  if (op == "Flatten") return Flatten(node, *x);
  if (!needs_floats(x)) return NodeError(node, "needs float inputs");
  if (op == "Relu" || op == "Sigmoid") {
    Tensor r = *x;
    for (float& v : r.f) v = op == "Relu" ? std::max(v, 0.0f) : 1.0f / (1.0f + std::exp(-v));
    return r;
  }
  const Tensor* y = Input(node, values, 1);
  if (!needs_floats(y)) return NodeError(node, "needs a second float input");
  if (op == "Gemm") {
    const Tensor* c = Input(node, values, 2);
    if (c && c->is_int) return NodeError(node, "C must be float");
    return Gemm(node, *x, *y, c);
  }
  if (op == "MatMul") return MatMul(node, *x, *y);
  if (op == "Add") {
    auto shape = BroadcastShape(node, x->shape, y->shape);
    if (!shape.ok()) return shape.status();
    return Broadcast(*x, *y, shape.value());
  }
  return NodeError(node, "is not an operator ranker models use");
}

}  // namespace

Result<OnnxRanker> OnnxRanker::Load(const uint8_t* data, size_t size) {
  onnx::ModelProto model;
  if (size == 0 || size > INT_MAX || !model.ParseFromArray(data, static_cast<int>(size))) {
    return Status::Error("ranker model is not an ONNX model (" + std::to_string(size) +
                         " bytes that do not parse as a ModelProto)");
  }
  if (!model.has_graph()) return Status::Error("ranker model has no graph");
  bool has_opset = false;
  for (const auto& opset : model.opset_import()) {
    if (opset.domain().empty() || opset.domain() == "ai.onnx") {
      if (opset.version() < kMinOpset || opset.version() > kMaxOpset) {
        return Status::Error("ranker model uses ONNX opset " + std::to_string(opset.version()) +
                             "; this evaluator reads opsets " + std::to_string(kMinOpset) + " to " +
                             std::to_string(kMaxOpset));
      }
      has_opset = true;
    }
  }
  if (!has_opset) return Status::Error("ranker model imports no ONNX operator set");
  const onnx::GraphProto& graph = model.graph();

  OnnxRanker ranker;
  std::set<std::string> defined;
  for (const auto& t : graph.initializer()) {
    auto tensor = ReadTensor(t);
    if (!tensor.ok()) return tensor.status();
    ranker.constants_[t.name()] = tensor.take();
    defined.insert(t.name());
  }
  bool has_features = false;
  for (const auto& in : graph.input()) {
    if (defined.count(in.name())) continue;  // an initializer listed as an input (older exporters)
    if (in.name() != "features") {
      return Status::Error("ranker model has an input \"" + in.name() +
                           "\"; its only input must be \"features\"");
    }
    const auto& type = in.type().tensor_type();
    if (type.elem_type() != onnx::TensorProto::FLOAT) {
      return Status::Error("ranker model input \"features\" must be float");
    }
    if (type.has_shape()) {
      const auto& dims = type.shape().dim();
      if (dims.size() != 2 ||
          (dims[1].has_dim_value() && dims[1].dim_value() != static_cast<int64_t>(kNumSignals))) {
        return Status::Error("ranker model input \"features\" must be [N, " +
                             std::to_string(kNumSignals) + "]");
      }
    }
    has_features = true;
    defined.insert("features");
  }
  if (!has_features) return Status::Error("ranker model has no input \"features\"");
  if (graph.node_size() == 0 || static_cast<size_t>(graph.node_size()) > kMaxNodes) {
    return Status::Error("ranker model has " + std::to_string(graph.node_size()) +
                         " nodes; it needs 1 to " + std::to_string(kMaxNodes));
  }
  for (int k = 0; k < graph.node_size(); ++k) {
    const onnx::NodeProto& n = graph.node(k);
    Node node;
    node.op = n.op_type();
    node.name = n.name().empty() ? "#" + std::to_string(k + 1) : n.name();
    if (!n.domain().empty() && n.domain() != "ai.onnx") {
      return NodeError(node, "is in operator domain \"" + n.domain() + "\", not ONNX's");
    }
    if (!SupportedOps().count(node.op)) {
      return NodeError(node,
                       "is not an operator this evaluator runs (it runs Gemm, MatMul, Add, "
                       "Relu, Sigmoid, Reshape, Flatten, Squeeze and Identity)");
    }
    for (const auto& in : n.input()) {
      if (!in.empty() && !defined.count(in)) {
        return NodeError(node, "reads \"" + in + "\" before anything makes it");
      }
      node.inputs.push_back(in);
    }
    if (n.output_size() != 1) return NodeError(node, "must have exactly one output");
    for (const auto& out : n.output()) {
      if (!defined.insert(out).second) return NodeError(node, "remakes \"" + out + "\"");
      node.outputs.push_back(out);
    }
    for (const auto& a : n.attribute()) {
      if (a.type() == onnx::AttributeProto::FLOAT) node.floats[a.name()] = a.f();
      if (a.type() == onnx::AttributeProto::INT) node.ints[a.name()] = a.i();
      if (a.type() == onnx::AttributeProto::INTS) {
        node.int_lists[a.name()].assign(a.ints().begin(), a.ints().end());
      }
    }
    ranker.nodes_.push_back(std::move(node));
  }
  bool has_scores = false;
  for (const auto& out : graph.output()) has_scores = has_scores || out.name() == "scores";
  if (!has_scores || !defined.count("scores")) {
    return Status::Error("ranker model has no output \"scores\"");
  }
  // A trial run, so a model whose shapes do not work out is refused here and not mid-query.
  const std::vector<float> trial(3 * kNumSignals, 0.5f);
  for (size_t n : {size_t{1}, size_t{3}}) {
    auto scores = ranker.Score(trial.data(), n);
    if (!scores.ok()) return scores.status();
  }
  return ranker;
}

Result<std::vector<float>> OnnxRanker::Score(const float* rows, size_t n) const {
  Tensor features;
  features.shape = {static_cast<int64_t>(n), static_cast<int64_t>(kNumSignals)};
  features.f.assign(rows, rows + n * kNumSignals);
  std::map<std::string, Tensor> made;
  std::map<std::string, const Tensor*> values;
  for (const auto& [name, tensor] : constants_) values[name] = &tensor;
  values["features"] = &features;
  for (const Node& node : nodes_) {
    auto out = Run(node, values);
    if (!out.ok()) return out.status();
    if (Elements(out.value().shape) < 0) return NodeError(node, "makes a tensor too large");
    Tensor& stored = made[node.outputs[0]] = out.take();
    values[node.outputs[0]] = &stored;
  }
  const Tensor& scores = *values.at("scores");
  if (scores.is_int || scores.shape.size() != 1 || scores.shape[0] != static_cast<int64_t>(n)) {
    return Status::Error("ranker model gives \"scores\" of shape " + ShapeText(scores.shape) +
                         " for " + std::to_string(n) + " rows; it must be [" + std::to_string(n) +
                         "]");
  }
  return scores.f;
}

}  // namespace loopwise
