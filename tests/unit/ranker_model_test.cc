#include "ranker_model.h"

#include <doctest/doctest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <random>

#include "engine/bundle.h"
#include "engine/engine.h"
#include "onnx_ranker.h"
#include "toy_site.h"

using namespace loopwise;

namespace {

std::vector<float> RandomRows(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-3.0f, 1.0f);
  std::vector<float> rows(n * kNumSignals);
  for (float& v : rows) v = u(rng);
  return rows;
}

OnnxRanker LoadModel(const RankerModel& model) {
  auto bytes = model.ToOnnx();
  REQUIRE(bytes.ok());
  auto ranker = OnnxRanker::Load(bytes.value().data(), bytes.value().size());
  REQUIRE_MESSAGE(ranker.ok(), ranker.status().message());
  return ranker.take();
}

// What a model of dense layers computes, written out plainly.
std::vector<float> Reference(const RankerModel& model, const std::vector<float>& rows, size_t n) {
  std::vector<float> scores;
  for (size_t r = 0; r < n; ++r) {
    std::vector<double> x(rows.begin() + r * kNumSignals, rows.begin() + (r + 1) * kNumSignals);
    for (const DenseLayer& l : model.layers) {
      std::vector<double> y(l.outputs);
      for (size_t o = 0; o < l.outputs; ++o) {
        y[o] = l.bias[o];
        for (size_t i = 0; i < l.inputs; ++i) y[o] += x[i] * l.weights[i * l.outputs + o];
        if (l.relu) y[o] = std::max(0.0, y[o]);
      }
      x = y;
    }
    scores.push_back(static_cast<float>(x[0]));
  }
  return scores;
}

RankerModel SmallMlp() {
  RankerModel model;
  DenseLayer hidden{
      kNumSignals, 4, std::vector<float>(kNumSignals * 4), {0.1f, -0.2f, 0.3f, 0.0f}, true};
  for (size_t i = 0; i < hidden.weights.size(); ++i) hidden.weights[i] = 0.25f * (int(i % 7) - 3);
  DenseLayer out{4, 1, {1.0f, -0.5f, 2.0f, 0.75f}, {0.2f}, false};
  model.layers = {hidden, out};
  return model;
}

std::string Serialize(const onnx::ModelProto& model) {
  std::string s;
  REQUIRE(model.SerializeToString(&s));
  return s;
}

Result<OnnxRanker> LoadBytes(const std::string& s) {
  return OnnxRanker::Load(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// A valid linear model as a ModelProto, for tests that break one part of it.
onnx::ModelProto LinearProto() {
  Ranker ranker;
  auto bytes = RankerModel::Linear(ranker).ToOnnx();
  REQUIRE(bytes.ok());
  onnx::ModelProto model;
  REQUIRE(model.ParseFromArray(bytes.value().data(), static_cast<int>(bytes.value().size())));
  return model;
}

std::vector<uint8_t> ToyBundle() {
  auto bundle = Bundle::Build(testing::ToyArticles(), testing::ToyHistory(), testing::ToyVectors(),
                              BundleOptions{});
  REQUIRE(bundle.ok());
  return bundle.take();
}

}  // namespace

TEST_CASE("the linear model scores exactly as the engine's ranker") {
  Ranker ranker;
  ranker.weights = {1.25f, 0.8f, 0.3f, 0.5f, 1.0f};
  const OnnxRanker model = LoadModel(RankerModel::Linear(ranker));
  const size_t n = 500;
  const auto rows = RandomRows(n, 7);
  auto scores = model.Score(rows.data(), n);
  REQUIRE(scores.ok());
  REQUIRE(scores.value().size() == n);
  std::vector<Candidate> candidates(n);
  for (size_t r = 0; r < n; ++r) {
    candidates[r].article = static_cast<uint32_t>(r);
    for (size_t s = 0; s < kNumSignals; ++s) candidates[r].signal[s] = rows[r * kNumSignals + s];
  }
  ranker.Rank(&candidates);
  for (const Candidate& c : candidates) {
    CHECK(std::fabs(scores.value()[c.article] - c.score) <= 1e-5f);
  }
}

TEST_CASE("a Gemm -> Relu -> Gemm model evaluates as written out") {
  const RankerModel mlp = SmallMlp();
  REQUIRE(mlp.Check().ok());
  const OnnxRanker model = LoadModel(mlp);
  const size_t n = 300;
  const auto rows = RandomRows(n, 3);
  auto scores = model.Score(rows.data(), n);
  REQUIRE(scores.ok());
  const auto expected = Reference(mlp, rows, n);
  size_t clipped = 0;
  for (size_t r = 0; r < n; ++r) CHECK(std::fabs(scores.value()[r] - expected[r]) <= 1e-5f);
  // The Relu matters on these rows (some hidden units are cut), so it is really evaluated.
  RankerModel no_relu = mlp;
  no_relu.layers[0].relu = false;
  const auto linear = Reference(no_relu, rows, n);
  for (size_t r = 0; r < n; ++r) clipped += std::fabs(linear[r] - expected[r]) > 1e-4f ? 1 : 0;
  CHECK(clipped > n / 10);
}

TEST_CASE("no rows give no scores") {
  const OnnxRanker model = LoadModel(SmallMlp());
  auto scores = model.Score(nullptr, 0);
  REQUIRE(scores.ok());
  CHECK(scores.value().empty());
}

TEST_CASE("models whose layers do not chain are refused before export") {
  Ranker ranker;
  RankerModel model = RankerModel::Linear(ranker);
  CHECK(model.Check().ok());
  SUBCASE("wrong input width") {
    model.layers[0].inputs = 4;
    model.layers[0].weights.resize(4);
    CHECK(model.ToOnnx().status().message().find("takes 4 inputs, but 5 reach it") !=
          std::string::npos);
  }
  SUBCASE("two outputs") {
    model.layers[0].outputs = 2;
    model.layers[0].weights.resize(10);
    model.layers[0].bias.resize(2);
    CHECK(model.Check().message().find("a score needs 1") != std::string::npos);
  }
  SUBCASE("sizes off") {
    model.layers[0].weights.pop_back();
    CHECK(model.Check().message().find("needs 5 and 1") != std::string::npos);
  }
  SUBCASE("not finite") {
    model.layers[0].weights[2] = NAN;
    CHECK(model.Check().message().find("not finite") != std::string::npos);
  }
  SUBCASE("Relu last") {
    model.layers[0].relu = true;
    CHECK(model.Check().message().find("must not end in Relu") != std::string::npos);
  }
  SUBCASE("no layers") {
    model.layers.clear();
    CHECK(!model.Check().ok());
  }
}

TEST_CASE("bytes that are not a ranker model are refused with a sentence") {
  auto fails_with = [](const std::string& bytes, const char* words) {
    auto r = LoadBytes(bytes);
    REQUIRE(!r.ok());
    CHECK_MESSAGE(r.status().message().find(words) != std::string::npos, r.status().message());
  };
  SUBCASE("empty") {
    fails_with("", "not an ONNX model");
  }
  SUBCASE("garbage") {
    fails_with(std::string("\xff\xff\xff\xff garbage", 13), "not an ONNX model");
  }
  SUBCASE("truncated") {
    const std::string s = Serialize(LinearProto());
    fails_with(s.substr(0, s.size() - 7), "");
  }
  SUBCASE("an operator it does not run") {
    auto m = LinearProto();
    m.mutable_graph()->mutable_node(0)->set_op_type("Softmax");
    fails_with(Serialize(m), "(Softmax): is not an operator this evaluator runs");
  }
  SUBCASE("another domain") {
    auto m = LinearProto();
    m.mutable_graph()->mutable_node(0)->set_domain("com.microsoft");
    fails_with(Serialize(m), "operator domain \"com.microsoft\"");
  }
  SUBCASE("input not named features") {
    auto m = LinearProto();
    m.mutable_graph()->mutable_input(0)->set_name("x");
    fails_with(Serialize(m), "its only input must be \"features\"");
  }
  SUBCASE("features of the wrong width") {
    auto m = LinearProto();
    m.mutable_graph()
        ->mutable_input(0)
        ->mutable_type()
        ->mutable_tensor_type()
        ->mutable_shape()
        ->mutable_dim(1)
        ->set_dim_value(7);
    fails_with(Serialize(m), "must be [N, 5]");
  }
  SUBCASE("no scores output") {
    auto m = LinearProto();
    m.mutable_graph()->mutable_output(0)->set_name("logits");
    fails_with(Serialize(m), "no output \"scores\"");
  }
  SUBCASE("a value used before it is made") {
    auto m = LinearProto();
    m.mutable_graph()->mutable_node(0)->set_input(0, "later");
    fails_with(Serialize(m), "reads \"later\" before anything makes it");
  }
  SUBCASE("a weight matrix of the wrong shape") {
    auto m = LinearProto();
    auto* w = m.mutable_graph()->mutable_initializer(0);
    w->set_dims(0, 4);
    w->mutable_float_data()->RemoveLast();
    fails_with(Serialize(m), "inner dimensions differ");
  }
  SUBCASE("an initializer whose data does not fill its shape") {
    auto m = LinearProto();
    m.mutable_graph()->mutable_initializer(0)->mutable_float_data()->RemoveLast();
    fails_with(Serialize(m), "holds 4 values for shape [5, 1]");
  }
  SUBCASE("a data type it does not read") {
    auto m = LinearProto();
    m.mutable_graph()->mutable_initializer(0)->set_data_type(onnx::TensorProto::DOUBLE);
    fails_with(Serialize(m), "has data type 11");
  }
  SUBCASE("scores of the wrong shape") {
    auto m = LinearProto();
    // Reshape to [-1, 1] leaves [N, 1]: not one score per row.
    auto* shape = m.mutable_graph()->mutable_initializer(2);
    REQUIRE(shape->name() == "scores_shape");
    shape->set_dims(0, 2);
    shape->add_int64_data(1);
    fails_with(Serialize(m), "it must be [1]");
  }
  SUBCASE("an opset from the future") {
    auto m = LinearProto();
    m.mutable_opset_import(0)->set_version(99);
    fails_with(Serialize(m), "opset 99");
  }
}

TEST_CASE("other spellings of a linear ranker evaluate too (MatMul, Add, Squeeze, raw data)") {
  onnx::ModelProto m = LinearProto();
  onnx::GraphProto* g = m.mutable_graph();
  g->clear_node();
  g->clear_initializer();
  const std::vector<float> w = {1.0f, 2.0f, -1.0f, 0.5f, 0.0f};
  onnx::TensorProto* wt = g->add_initializer();
  wt->set_name("w");
  wt->set_data_type(onnx::TensorProto::FLOAT);
  wt->add_dims(5);
  wt->add_dims(1);
  wt->set_raw_data(std::string(reinterpret_cast<const char*>(w.data()), w.size() * 4));
  onnx::TensorProto* b = g->add_initializer();
  b->set_name("b");
  b->set_data_type(onnx::TensorProto::FLOAT);
  b->add_float_data(0.25f);  // a scalar, broadcast
  onnx::TensorProto* axes = g->add_initializer();
  axes->set_name("axes");
  axes->set_data_type(onnx::TensorProto::INT64);
  axes->add_dims(1);
  axes->add_int64_data(1);
  auto node = [&](const char* op, std::vector<std::string> in, const char* out) {
    onnx::NodeProto* n = g->add_node();
    n->set_op_type(op);
    for (const auto& i : in) n->add_input(i);
    n->add_output(out);
  };
  node("MatMul", {"features", "w"}, "xw");
  node("Add", {"xw", "b"}, "z");
  node("Sigmoid", {"z"}, "p");
  node("Squeeze", {"p", "axes"}, "scores");
  auto ranker = LoadBytes(Serialize(m));
  REQUIRE_MESSAGE(ranker.ok(), ranker.status().message());
  const std::vector<float> rows = {1, 0, 0, 0, 0, 0, 1, 1, 0, 0};
  auto scores = ranker.value().Score(rows.data(), 2);
  REQUIRE(scores.ok());
  CHECK(scores.value()[0] == doctest::Approx(1.0 / (1.0 + std::exp(-1.25))).epsilon(1e-6));
  CHECK(scores.value()[1] == doctest::Approx(1.0 / (1.0 + std::exp(-1.25))).epsilon(1e-6));
}

TEST_CASE("mutated model bytes never crash the evaluator") {
  const std::string bytes = Serialize(LinearProto()) + "";
  std::mt19937 rng(99);
  const auto rows = RandomRows(4, 1);
  int refused = 0, loaded = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string copy = bytes;
    if (i % 3 == 0) copy.resize(rng() % copy.size());
    for (int f = 0; f < 1 + static_cast<int>(rng() % 4); ++f) {
      if (!copy.empty()) copy[rng() % copy.size()] ^= static_cast<char>(1u << (rng() % 8));
    }
    auto r = LoadBytes(copy);
    if (!r.ok()) {
      CHECK(!r.status().message().empty());
      ++refused;
      continue;
    }
    ++loaded;
    auto scores = r.value().Score(rows.data(), 4);
    if (scores.ok()) CHECK(scores.value().size() == 4);
  }
  MESSAGE("model mutations refused: " << refused << ", loaded: " << loaded);
  CHECK(refused > 0);
}

TEST_CASE("published bundles carry the ranker model; older bundles still load") {
  const auto plain = ToyBundle();
  auto old_engine = Engine::Load(plain.data(), plain.size());
  REQUIRE(old_engine.ok());
  CHECK(old_engine.value().parts().ranker_model.empty());

  auto with_model = WithDefaultRankerModel(plain);
  REQUIRE(with_model.ok());
  auto engine = Engine::Load(with_model.value().data(), with_model.value().size());
  REQUIRE(engine.ok());
  const auto& onnx_bytes = engine.value().parts().ranker_model;
  REQUIRE(!onnx_bytes.empty());
  CHECK(engine.value().ToBundle() == with_model.value());

  // Setting the section again replaces it in place: the same bytes, not a second copy.
  auto again = WithDefaultRankerModel(with_model.value());
  REQUIRE(again.ok());
  CHECK(again.value() == with_model.value());

  // The model re-scores the engine's ranked articles from their signals in the engine's order.
  auto model = OnnxRanker::Load(onnx_bytes.data(), onnx_bytes.size());
  REQUIRE(model.ok());
  for (const char* query : {"I forgot my password", "refund for a double charge", "export csv"}) {
    const SearchResult r = engine.value().Search(query, SearchContext{}, 5);
    REQUIRE(r.ranked.size() >= 2);
    std::vector<float> rows;
    for (const auto& hit : r.ranked) rows.insert(rows.end(), hit.signal.begin(), hit.signal.end());
    auto scores = model.value().Score(rows.data(), r.ranked.size());
    REQUIRE(scores.ok());
    for (size_t i = 1; i < scores.value().size(); ++i) {
      CHECK(scores.value()[i - 1] >= scores.value()[i]);
    }
    // Shown scores are a softmax over the ranking scores: their log-ratios are score differences.
    CHECK(std::log(r.ranked[0].score / r.ranked[1].score) ==
          doctest::Approx(scores.value()[0] - scores.value()[1]).epsilon(1e-3));
  }
}

TEST_CASE("a section is only added to a valid bundle") {
  const std::vector<uint8_t> junk = {1, 2, 3};
  auto r = WithDefaultRankerModel(junk);
  REQUIRE(!r.ok());
  CHECK(r.status().message().find("not a Loopwise bundle") != std::string::npos);
}
