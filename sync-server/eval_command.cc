// loopwise eval: builds a bundle exactly as publish does, answers a labelled test set through the
// engine the browser runs, and reports retrieval and gap-decision metrics.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "cli.h"
#include "commands.h"
#include "engine/bundle.h"
#include "engine/engine.h"
#include "knowledge_files.h"
#include "ranker_model.h"

namespace loopwise {
namespace {

constexpr const char* kUsage =
    R"(usage: loopwise eval --kb K --history H --test T --predictions OUT.jsonl [--json METRICS.json]

Builds a bundle from the articles in K and the resolved tickets in H exactly as `loopwise publish`
does, answers every query of T with the same engine code the browser runs, writes one prediction per
line of T to OUT.jsonl and prints the metrics.

  --kb K              articles, JSON Lines: {"id","title","body","tags","pages"}
  --history H         resolved tickets, JSON Lines: {"text","article"} (article null = a ticket
                      no article answered, learned from only to decline)
  --test T            queries to answer, JSON Lines: {"text","article"} (article null = none answers)
  --predictions OUT   where to write {"ranked":[{"article","score"}...],"confidence","gap"} per query
  --json METRICS      also write the metrics as JSON
  --k N               articles ranked per query (default 10)
  --save-bundle FILE  also write the bundle that answered (for the WebAssembly parity test)
  --common-words N    English's N most frequent words carried besides the site's own (default
                      12000, what publish uses): more words cover more of the customers' words
                      the site never used, at about 52 bytes each in a gzipped bundle
)";

using Clock = std::chrono::steady_clock;

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5));
  return v[i];
}

}  // namespace

int EvalCommand(int argc, char** argv) {
  cli::Args args;
  if (auto exit = cli::Start(
          "eval", kUsage, argc, argv,
          {"kb", "history", "test", "predictions", "json", "k", "save-bundle", "common-words"}, {},
          &args)) {
    return *exit;
  }
  for (const char* flag : {"kb", "history", "test", "predictions"}) {
    if (auto v = args.require(flag); !v.ok()) return cli::Fail(v.status().message());
  }
  for (const char* flag : {"predictions", "json", "save-bundle"}) {
    if (auto path = args.get(flag)) {
      if (Status s = cli::CheckOutputPath(*path); !s.ok()) return cli::Fail(s.message());
    }
  }
  auto k = args.integer("k", 10, 1, 100);
  if (!k.ok()) return cli::Fail(k.status().message());
  BundleOptions options;
  auto common_words = args.integer(
      "common-words", static_cast<int64_t>(options.encoder.common_words), 0, 1'000'000);
  if (!common_words.ok()) return cli::Fail(common_words.status().message());
  options.encoder.common_words = static_cast<size_t>(common_words.value());
  const std::string kb_path = *args.get("kb"), history_path = *args.get("history"),
                    test_path = *args.get("test");

  auto articles = ReadArticlesJsonl(kb_path);
  if (!articles.ok()) return cli::Fail(articles.status().message());
  auto history = ReadHistoryJsonl(history_path, articles.value());
  if (!history.ok()) return cli::Fail(history.status().message());
  auto test = ReadQuestionsJsonl(test_path, articles.value());
  if (!test.ok()) return cli::Fail(test.status().message());
  const auto index = ArticleIndex(articles.value());
  auto vectors = cli::LoadWordVectors();
  if (!vectors.ok()) return cli::Fail(vectors.status().message());

  const auto build_start = Clock::now();
  cli::Progress building("building the bundle");
  options.progress = [&](double share) { building.UpdateShare(share); };
  auto bundle = Bundle::Build(articles.value(), history.value(), vectors.value(), options);
  building.Finish();
  if (!bundle.ok()) return cli::Fail(bundle.status().message());
  bundle = WithDefaultRankerModel(bundle.value());  // as publish does
  if (!bundle.ok()) return cli::Fail(bundle.status().message());
  const double build_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - build_start).count();
  if (auto path = args.get("save-bundle")) {
    const auto& b = bundle.value();
    if (Status s = cli::WriteFileAtomic(*path, std::string(b.begin(), b.end())); !s.ok()) {
      return cli::Fail(s.message());
    }
  }
  auto engine = Engine::Load(bundle.value().data(), bundle.value().size());
  if (!engine.ok())
    return cli::Fail("the built bundle does not load: " + engine.status().message());

  std::string predictions;
  std::vector<double> latency_us;
  size_t in_scope = 0, top1 = 0, at3 = 0, answered_right = 0, oos = 0, oos_declined = 0;
  double mrr = 0;
  std::vector<std::pair<double, bool>> calibration;  // confidence, first answer right
  cli::Progress progress("answering", test.value().size());
  for (size_t i = 0; i < test.value().size(); ++i) {
    const LabeledQuery& q = test.value()[i];
    const auto t0 = Clock::now();
    const SearchResult r = engine.value().Search(q.text, SearchContext{}, k.value());
    latency_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());

    nlohmann::json line;
    line["ranked"] = nlohmann::json::array();
    for (const auto& h : r.ranked) {
      line["ranked"].push_back(
          {{"article", engine.value().articles()[h.article].id}, {"score", h.score}});
    }
    line["confidence"] = r.confidence;
    line["gap"] = r.gap;
    predictions += line.dump() + "\n";
    calibration.emplace_back(r.confidence, q.article && !r.ranked.empty() &&
                                               r.ranked[0].article == index.at(*q.article));

    if (q.article) {
      ++in_scope;
      const uint32_t truth = index.at(*q.article);
      for (size_t rank = 0; rank < r.ranked.size() && rank < 10; ++rank) {
        if (r.ranked[rank].article != truth) continue;
        if (rank == 0) ++top1;
        if (rank < 3) ++at3;
        mrr += 1.0 / (rank + 1);
        if (rank == 0 && !r.gap) ++answered_right;
        break;
      }
    } else {
      ++oos;
      if (r.gap) ++oos_declined;
    }
    progress.Update(i + 1);
  }
  progress.Finish();
  if (Status s = cli::WriteFileAtomic(*args.get("predictions"), predictions); !s.ok()) {
    return cli::Fail(s.message());
  }

  // A share over no queries is null: no in-scope (or no out-of-scope) queries, nothing measured.
  auto share = [](double a, size_t b) {
    return b ? nlohmann::json(a / static_cast<double>(b)) : nlohmann::json(nullptr);
  };
  nlohmann::json metrics = {
      {"top1", share(top1, in_scope)},
      {"recall_at_3", share(at3, in_scope)},
      {"mrr_at_10", share(mrr, in_scope)},
      {"in_scope_accuracy", share(answered_right, in_scope)},
      {"oos_recall", share(oos_declined, oos)},
      {"p50_us", Percentile(latency_us, 0.50)},
      {"p99_us", Percentile(latency_us, 0.99)},
      {"build_ms", build_ms},
      {"bundle_bytes", bundle.value().size()},
  };
  const size_t unanswered =
      std::count_if(history.value().begin(), history.value().end(),
                    [](const Exemplar& e) { return e.article == kNoArticle; });
  std::printf("%zu queries (%zu in scope, %zu out of scope), %zu articles, %zu history tickets",
              test.value().size(), in_scope, oos, articles.value().size(), history.value().size());
  if (unanswered) std::printf(" (%zu of them no article answered)", unanswered);
  std::printf("\n");
  if (in_scope) {
    std::printf(
        "  top-1               %.4f\n  recall@3            %.4f\n  MRR@10              %.4f\n"
        "  in-scope accuracy   %.4f  (answered and right)\n",
        metrics["top1"].get<double>(), metrics["recall_at_3"].get<double>(),
        metrics["mrr_at_10"].get<double>(), metrics["in_scope_accuracy"].get<double>());
  }
  if (oos) {
    std::printf("  out-of-scope recall %.4f  (declined)\n", metrics["oos_recall"].get<double>());
  }
  if (!calibration.empty()) {
    std::printf(
        "  calibration error   %.4f  (confidence against the share of first answers right)\n",
        cli::CalibrationError(calibration));
  }
  std::printf("  latency p50 %.1f us, p99 %.1f us; build %.0f ms; bundle %zu bytes\n",
              Percentile(latency_us, 0.5), Percentile(latency_us, 0.99), build_ms,
              bundle.value().size());
  if (auto json_path = args.get("json")) {
    if (Status s = cli::WriteFileAtomic(*json_path, metrics.dump(2) + "\n"); !s.ok()) {
      return cli::Fail(s.message());
    }
  }
  return 0;
}

}  // namespace loopwise
