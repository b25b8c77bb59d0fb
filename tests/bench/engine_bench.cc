// Engine benchmark on a synthetic site of 1,000 articles and 20,000 exemplars (DESIGN.md's
// budget case): bundle build time and size, query latency, and the vector index's recall@10
// against exact search. Writes the bundle and queries so scripts/bench can time the WebAssembly
// build on the very same input.
//
//   engine_bench OUT_DIR [--articles N] [--exemplars N] [--queries N]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>

#include "cli.h"
#include "engine/bundle.h"
#include "engine/engine.h"
#include "engine/tokenizer.h"

using namespace loopwise;
using Clock = std::chrono::steady_clock;

namespace {

struct SyntheticSite {
  std::vector<Article> articles;
  std::vector<Exemplar> exemplars;
  std::vector<std::pair<std::string, uint32_t>> queries;
};

// Each article has a topic of a few uncommon words; its texts mix topic words with common ones,
// as customers' questions do.
SyntheticSite MakeSite(const WordVectors& vectors, size_t articles, size_t exemplars,
                       size_t queries, uint32_t seed) {
  std::mt19937 rng(seed);
  auto word = [&](size_t lo, size_t hi) {
    return vectors.word(static_cast<int>(lo + rng() % (hi - lo)));
  };
  std::vector<std::vector<std::string>> topics(articles);
  for (auto& t : topics) {
    for (int i = 0; i < 8; ++i) t.push_back(word(300, 30000));
  }
  auto text = [&](size_t a, int min_words, int max_words) {
    std::string s;
    const int n = min_words + static_cast<int>(rng() % (max_words - min_words + 1));
    for (int i = 0; i < n; ++i) {
      s += (i ? " " : "") + (rng() % 10 < 6 ? topics[a][rng() % 8] : word(0, 3000));
    }
    return s;
  };
  SyntheticSite site;
  for (size_t a = 0; a < articles; ++a) {
    Article art;
    art.id = "article-" + std::to_string(a);
    art.title = topics[a][0] + " " + topics[a][1] + " " + topics[a][2];
    art.body = text(a, 30, 60);
    site.articles.push_back(std::move(art));
  }
  for (size_t i = 0; i < exemplars; ++i) {
    const uint32_t a = static_cast<uint32_t>(i % articles);
    site.exemplars.push_back({text(a, 4, 12), a, 1.0f});
  }
  for (size_t i = 0; i < queries; ++i) {
    const uint32_t a = static_cast<uint32_t>(rng() % articles);
    site.queries.emplace_back(text(a, 3, 10), a);
  }
  return site;
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5))];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: engine_bench OUT_DIR [--articles N] [--exemplars N] [--queries N]\n");
    return 2;
  }
  const std::string out_dir = argv[1];
  size_t articles = 1000, exemplars = 20000, queries = 2000;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const size_t v = std::strtoul(argv[i + 1], nullptr, 10);
    if (flag == "--articles")
      articles = v;
    else if (flag == "--exemplars")
      exemplars = v;
    else if (flag == "--queries")
      queries = v;
  }
  auto vectors = cli::LoadWordVectors();
  if (!vectors.ok()) return cli::Fail(vectors.status().message());
  const SyntheticSite site = MakeSite(vectors.value(), articles, exemplars, queries, 42);

  const auto build_start = Clock::now();
  auto bundle = Bundle::Build(site.articles, site.exemplars, vectors.value(), BundleOptions{});
  if (!bundle.ok()) return cli::Fail(bundle.status().message());
  const double build_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - build_start).count();
  auto engine = Engine::Load(bundle.value().data(), bundle.value().size());
  if (!engine.ok()) return cli::Fail(engine.status().message());

  // Warm up, then time each query around the engine's search call.
  for (size_t i = 0; i < std::min<size_t>(100, site.queries.size()); ++i) {
    engine.value().Search(site.queries[i].first, SearchContext{}, 10);
  }
  std::vector<double> latency;
  size_t top1 = 0;
  for (const auto& [q, a] : site.queries) {
    const auto t0 = Clock::now();
    const SearchResult r = engine.value().Search(q, SearchContext{}, 10);
    latency.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    if (!r.ranked.empty() && r.ranked[0].article == a) ++top1;
  }

  // Recall@10 of the vector index against exact search, on the queries' sentence vectors.
  const EngineParts& parts = engine.value().parts();
  double recall = 0;
  for (const auto& [q, a] : site.queries) {
    const auto v = parts.encoder.Encode(Tokenize(q));
    const auto approx = parts.exemplar_index.Search(v.data(), 10);
    const auto exact = parts.exemplar_index.SearchExact(v.data(), 10);
    size_t hit = 0;
    for (const auto& e : exact) {
      for (const auto& x : approx) hit += x.label == e.label;
    }
    recall += exact.empty() ? 1.0 : static_cast<double>(hit) / exact.size();
  }
  recall /= std::max<size_t>(1, site.queries.size());

  {
    std::ofstream b(out_dir + "/synthetic-bundle.bin", std::ios::binary);
    b.write(reinterpret_cast<const char*>(bundle.value().data()), bundle.value().size());
    std::ofstream q(out_dir + "/synthetic-queries.txt");
    for (const auto& [text, a] : site.queries) q << text << "\n";
  }
  std::printf(
      "{\"articles\": %zu, \"exemplars\": %zu, \"queries\": %zu, \"build_ms\": %.0f, "
      "\"bundle_bytes\": %zu, \"p50_us\": %.1f, \"p99_us\": %.1f, \"top1\": %.4f, "
      "\"index_recall_at_10\": %.4f}\n",
      articles, exemplars, site.queries.size(), build_ms, bundle.value().size(),
      Percentile(latency, 0.5), Percentile(latency, 0.99),
      static_cast<double>(top1) / site.queries.size(), recall);
  return 0;
}
