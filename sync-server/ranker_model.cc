#include "ranker_model.h"

#include <onnx/onnx_pb.h>

#include <cmath>
#include <string>

#include "engine/bundle.h"

namespace loopwise {
namespace {

constexpr int64_t kIrVersion = 7;
constexpr int64_t kOpset = 13;
// The input columns' names, in Signal order; carried in the model's metadata for the reader.
constexpr const char* kSignalNames = "log_prob,nearest,lexical,page,prior";

void AddFloats(onnx::GraphProto* graph, const std::string& name, std::vector<int64_t> dims,
               const std::vector<float>& values) {
  onnx::TensorProto* t = graph->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  for (float v : values) t->add_float_data(v);
}

void SetTensorType(onnx::ValueInfoProto* value, const std::string& name, bool per_candidate_row) {
  value->set_name(name);
  onnx::TypeProto::Tensor* type = value->mutable_type()->mutable_tensor_type();
  type->set_elem_type(onnx::TensorProto::FLOAT);
  onnx::TensorShapeProto* shape = type->mutable_shape();
  shape->add_dim()->set_dim_param("N");
  if (per_candidate_row) shape->add_dim()->set_dim_value(static_cast<int64_t>(kNumSignals));
}

onnx::NodeProto* AddNode(onnx::GraphProto* graph, const char* op, const std::string& name,
                         std::vector<std::string> inputs, const std::string& output) {
  onnx::NodeProto* node = graph->add_node();
  node->set_op_type(op);
  node->set_name(name);
  for (const auto& in : inputs) node->add_input(in);
  node->add_output(output);
  return node;
}

}  // namespace

RankerModel RankerModel::Linear(const Ranker& ranker) {
  DenseLayer layer;
  layer.inputs = kNumSignals;
  layer.outputs = 1;
  layer.weights.assign(ranker.weights.begin(), ranker.weights.end());
  layer.bias = {0.0f};
  RankerModel model;
  model.layers.push_back(std::move(layer));
  return model;
}

Status RankerModel::Check() const {
  if (layers.empty()) return Status::Error("ranker model has no layers");
  size_t inputs = kNumSignals;
  for (size_t i = 0; i < layers.size(); ++i) {
    const DenseLayer& l = layers[i];
    const std::string name = "ranker model layer " + std::to_string(i + 1);
    if (l.inputs != inputs) {
      return Status::Error(name + " takes " + std::to_string(l.inputs) + " inputs, but " +
                           std::to_string(inputs) + " reach it");
    }
    if (l.outputs == 0) return Status::Error(name + " has no outputs");
    if (l.weights.size() != l.inputs * l.outputs || l.bias.size() != l.outputs) {
      return Status::Error(name + " has " + std::to_string(l.weights.size()) + " weights and " +
                           std::to_string(l.bias.size()) + " biases; " + std::to_string(l.inputs) +
                           "x" + std::to_string(l.outputs) + " needs " +
                           std::to_string(l.inputs * l.outputs) + " and " +
                           std::to_string(l.outputs));
    }
    for (float w : l.weights) {
      if (!std::isfinite(w)) return Status::Error(name + " has a weight that is not finite");
    }
    for (float b : l.bias) {
      if (!std::isfinite(b)) return Status::Error(name + " has a bias that is not finite");
    }
    if (l.relu && i + 1 == layers.size()) {
      return Status::Error(
          "ranker model's last layer must not end in Relu (scores may be negative)");
    }
    inputs = l.outputs;
  }
  if (inputs != 1) {
    return Status::Error("ranker model's last layer gives " + std::to_string(inputs) +
                         " outputs; a score needs 1");
  }
  return Status::Ok();
}

Result<std::vector<uint8_t>> RankerModel::ToOnnx() const {
  if (Status s = Check(); !s.ok()) return s;
  onnx::ModelProto model;
  model.set_ir_version(kIrVersion);
  model.set_producer_name("loopwise");
  model.set_doc_string("Scores a query's candidate articles from the engine's signals.");
  onnx::OperatorSetIdProto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOpset);
  onnx::StringStringEntryProto* signals = model.add_metadata_props();
  signals->set_key("loopwise.signals");
  signals->set_value(kSignalNames);

  onnx::GraphProto* graph = model.mutable_graph();
  graph->set_name("ranker");
  SetTensorType(graph->add_input(), "features", true);
  SetTensorType(graph->add_output(), "scores", false);
  std::string x = "features";
  for (size_t i = 0; i < layers.size(); ++i) {
    const DenseLayer& l = layers[i];
    const std::string n = std::to_string(i + 1);
    AddFloats(graph, "weights_" + n,
              {static_cast<int64_t>(l.inputs), static_cast<int64_t>(l.outputs)}, l.weights);
    AddFloats(graph, "bias_" + n, {static_cast<int64_t>(l.outputs)}, l.bias);
    AddNode(graph, "Gemm", "dense_" + n, {x, "weights_" + n, "bias_" + n}, "dense_" + n);
    x = "dense_" + n;
    if (l.relu) {
      AddNode(graph, "Relu", "relu_" + n, {x}, "relu_" + n);
      x = "relu_" + n;
    }
  }
  onnx::TensorProto* shape = graph->add_initializer();
  shape->set_name("scores_shape");
  shape->set_data_type(onnx::TensorProto::INT64);
  shape->add_dims(1);
  shape->add_int64_data(-1);
  AddNode(graph, "Reshape", "scores", {x, "scores_shape"}, "scores");

  std::string bytes;
  if (!model.SerializeToString(&bytes)) return Status::Error("the ranker model did not serialize");
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

Result<Ranker> BundleRanker(const std::vector<uint8_t>& bundle) {
  auto opened = Bundle::Open(bundle.data(), bundle.size());
  if (!opened.ok()) return opened.status();
  auto section = opened.value().Read(Section::kRanker);
  if (!section.ok()) return section.status();
  return Ranker::Deserialize(&section.value());
}

Result<std::vector<uint8_t>> WithDefaultRankerModel(const std::vector<uint8_t>& bundle) {
  auto ranker = BundleRanker(bundle);
  if (!ranker.ok()) return ranker.status();
  auto onnx = RankerModel::Linear(ranker.value()).ToOnnx();
  if (!onnx.ok()) return onnx.status();
  return Bundle::WithSection(bundle.data(), bundle.size(), Section::kRankerModel, onnx.take());
}

Result<std::vector<uint8_t>> WithRanker(const std::vector<uint8_t>& bundle, const Ranker& ranker) {
  ByteWriter w;
  ranker.Serialize(&w);
  auto with =
      Bundle::WithSection(bundle.data(), bundle.size(), Section::kRanker, std::move(w.bytes()));
  if (!with.ok()) return with;
  return WithDefaultRankerModel(with.value());
}

}  // namespace loopwise
