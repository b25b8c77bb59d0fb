// ranker_model_tool: the C++ side of the ONNX parity and re-ranking browser tests
// (tests/browser/onnx-parity.test.mjs). It exports ranker models the way the server does and
// evaluates ONNX bytes with the server's own evaluator (sync-server/onnx_ranker.h).

#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "cli.h"
#include "engine/bundle.h"
#include "engine/ranker.h"
#include "onnx_ranker.h"
#include "ranker_model.h"

namespace {

using namespace loopwise;

constexpr const char* kUsage = R"(usage:
  ranker_model_tool export --bundle BUNDLE --out MODEL.onnx [--scale S] [--bundle-out FILE]
      the linear model of BUNDLE's fitted ranker, its weights times S (default 1; -1 reverses
      the engine's order); --bundle-out also writes BUNDLE carrying that model
  ranker_model_tool export --mlp HIDDEN [--seed N] --out MODEL.onnx
      a Gemm -> Relu -> Gemm model with HIDDEN units and random weights (seeded)
  ranker_model_tool score --model MODEL.onnx --rows ROWS.json
      evaluates MODEL on ROWS (a JSON array of rows of 5 numbers, in Signal order) and prints
      {"scores": [...]}
)";

int Export(const cli::Args& args) {
  auto out = args.require("out");
  if (!out.ok()) return cli::Fail(out.status().message());
  RankerModel model;
  std::string bundle_bytes;
  if (auto path = args.get("bundle")) {
    auto bytes = cli::ReadFile(*path);
    if (!bytes.ok()) return cli::Fail(bytes.status().message());
    bundle_bytes = bytes.value();
    const auto* data = reinterpret_cast<const uint8_t*>(bytes.value().data());
    auto bundle = Bundle::Open(data, bytes.value().size());
    if (!bundle.ok()) return cli::Fail(*path + ": " + bundle.status().message());
    auto section = bundle.value().Read(Section::kRanker);
    if (!section.ok()) return cli::Fail(*path + ": " + section.status().message());
    auto ranker = Ranker::Deserialize(&section.value());
    if (!ranker.ok()) return cli::Fail(*path + ": " + ranker.status().message());
    auto scale = args.number("scale", 1.0, -1e6, 1e6);
    if (!scale.ok()) return cli::Fail(scale.status().message());
    model = RankerModel::Linear(ranker.value());
    for (float& w : model.layers[0].weights) w *= static_cast<float>(scale.value());
  } else if (args.has("mlp")) {
    auto hidden = args.integer("mlp", 8, 1, 1024);
    auto seed = args.integer("seed", 1, 0, UINT32_MAX);
    if (!hidden.ok()) return cli::Fail(hidden.status().message());
    if (!seed.ok()) return cli::Fail(seed.status().message());
    std::mt19937 rng(static_cast<uint32_t>(seed.value()));
    std::normal_distribution<float> normal(0.0f, 0.5f);
    const size_t h = static_cast<size_t>(hidden.value());
    DenseLayer first{kNumSignals, h, std::vector<float>(kNumSignals * h), std::vector<float>(h),
                     true};
    DenseLayer last{h, 1, std::vector<float>(h), std::vector<float>(1), false};
    for (DenseLayer* l : {&first, &last}) {
      for (float& w : l->weights) w = normal(rng);
      for (float& b : l->bias) b = normal(rng);
    }
    model.layers = {first, last};
  } else {
    return cli::Fail("export needs --bundle or --mlp (see --help)");
  }
  auto onnx = model.ToOnnx();
  if (!onnx.ok()) return cli::Fail(onnx.status().message());
  const auto& b = onnx.value();
  if (Status s = cli::WriteFileAtomic(out.value(), std::string(b.begin(), b.end())); !s.ok()) {
    return cli::Fail(s.message());
  }
  if (auto path = args.get("bundle-out")) {
    if (bundle_bytes.empty()) return cli::Fail("--bundle-out needs --bundle");
    auto rewritten = Bundle::WithSection(reinterpret_cast<const uint8_t*>(bundle_bytes.data()),
                                         bundle_bytes.size(), Section::kRankerModel, b);
    if (!rewritten.ok()) return cli::Fail(rewritten.status().message());
    const auto& r = rewritten.value();
    if (Status s = cli::WriteFileAtomic(*path, std::string(r.begin(), r.end())); !s.ok()) {
      return cli::Fail(s.message());
    }
  }
  return 0;
}

int Score(const cli::Args& args) {
  auto model_path = args.require("model");
  auto rows_path = args.require("rows");
  if (!model_path.ok()) return cli::Fail(model_path.status().message());
  if (!rows_path.ok()) return cli::Fail(rows_path.status().message());
  auto model_bytes = cli::ReadFile(model_path.value());
  if (!model_bytes.ok()) return cli::Fail(model_bytes.status().message());
  auto ranker = OnnxRanker::Load(reinterpret_cast<const uint8_t*>(model_bytes.value().data()),
                                 model_bytes.value().size());
  if (!ranker.ok()) return cli::Fail(model_path.value() + ": " + ranker.status().message());
  auto rows_text = cli::ReadFile(rows_path.value());
  if (!rows_text.ok()) return cli::Fail(rows_text.status().message());
  const auto rows = nlohmann::json::parse(rows_text.value(), nullptr, false);
  if (rows.is_discarded() || !rows.is_array()) {
    return cli::Fail(rows_path.value() + ": must be a JSON array of rows");
  }
  std::vector<float> flat;
  for (size_t r = 0; r < rows.size(); ++r) {
    if (!rows[r].is_array() || rows[r].size() != kNumSignals) {
      return cli::Fail(rows_path.value() + ": row " + std::to_string(r) + " must hold " +
                       std::to_string(kNumSignals) + " numbers");
    }
    for (const auto& v : rows[r]) {
      if (!v.is_number()) {
        return cli::Fail(rows_path.value() + ": row " + std::to_string(r) + " holds a non-number");
      }
      flat.push_back(v.get<float>());
    }
  }
  auto scores = ranker.value().Score(flat.data(), rows.size());
  if (!scores.ok()) return cli::Fail(scores.status().message());
  std::string out = "{\"scores\": [";
  char buf[32];
  for (size_t i = 0; i < scores.value().size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s%.17g", i ? ", " : "",
                  static_cast<double>(scores.value()[i]));
    out += buf;
  }
  std::printf("%s]}\n", out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  auto args = cli::Args::Parse(
      argc - 2, argv + 2, {"bundle", "out", "scale", "mlp", "seed", "model", "rows", "bundle-out"},
      {});
  if (!args.ok()) return cli::Fail(args.status().message());
  if (!std::strcmp(argv[1], "export")) return Export(args.value());
  if (!std::strcmp(argv[1], "score")) return Score(args.value());
  return cli::Fail(std::string("unknown command \"") + argv[1] + "\" (see --help)");
}
