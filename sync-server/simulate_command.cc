// loopwise simulate: the learning loop end to end in simulated days (DESIGN.md, "Simulated
// traffic"), with the server's own store, learning pipeline and publisher.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <unordered_map>

#include "bundle_files.h"
#include "cli.h"
#include "commands.h"
#include "customer_identity.h"
#include "engine/bundle.h"
#include "engine/engine.h"
#include "knowledge_files.h"
#include "learning.h"
#include "publisher.h"
#include "ranker_model.h"
#include "sqlite_store.h"

namespace loopwise {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kUsage =
    R"(usage: loopwise simulate --kb K --history H --stream S --test T --days N [--noise P]
                         [--agent-label-rate Q] [--poison F] [--poison-sessions N]
                         [--verified-customers] [--seed N] --json OUT.json [--predictions-dir DIR]

Runs the learning loop in simulated time with the server's own code: a fresh temporary store, day 0
the bundle built from K+H exactly as `loopwise eval` builds it, then each day the next len(S)/N
stream queries arrive (each its own session), are answered by the current bundle (top 3 shown),
their outcomes are drawn and stored as signal batches, and the learning pipeline runs as in
production (autonomous mode). T is answered after each day.

  --kb K, --history H, --test T   as for loopwise eval
  --stream S            live traffic, like T (article null = out of scope)
  --days N              simulated days (1 to 365)
  --noise P             chance that an answerable customer's outcome is noise: a random shown
                        article marked resolved, or "not helpful" (default 0)
  --agent-label-rate Q  chance a human agent labels an escalated question with its article
                        (default 1)
  --poison F            extra signals, a fraction F of each day's traffic, from attacker sessions
                        marking one wrong article (the one ranked next to it most often, claimed
                        shown) resolved for one article's questions (default 0); that article's
                        accuracy is reported too
  --poison-sessions N   the attacker sessions a day (default 3); as many as the attack's signals
                        makes each its own session, as every customer's question is
  --verified-customers  the site's identity setting is "required" and every customer is signed in
                        (README, "Verified customers"): each question's signals carry a customer
                        id signed by the site's backend, verified as the server does; the attack's
                        sessions are not signed in
  --seed N              random seed (default 1)
  --json OUT.json       per-day figures; a learning-curve chart is written next to it (.svg)
  --predictions-dir DIR day-<n>.jsonl predictions for T after each day (day-0: before learning)
  --data DIR            keep the simulation's store and bundles in DIR (a new, empty directory) to
                        inspect its changes and versions afterwards; default: a temporary directory
)";

constexpr int64_t kDayMs = 86400000;
constexpr int64_t kStartMs = 1767225600000;  // 2026-01-01T00:00:00Z, simulated time's origin
constexpr size_t kBatchEvents = 250;

struct DayFigures {
  json entry;
  std::string predictions;
};

// Answers T with `engine` as `loopwise eval` does; figures and prediction lines.
DayFigures Evaluate(const Engine& engine, const std::vector<LabeledQuery>& test,
                    const std::optional<std::string>& target) {
  std::unordered_map<std::string, uint32_t> index;
  for (uint32_t i = 0; i < engine.articles().size(); ++i) index[engine.articles()[i].id] = i;
  size_t in_scope = 0, top1 = 0, at3 = 0, answered_right = 0, oos = 0, declined = 0;
  size_t target_n = 0, target_right = 0;
  DayFigures out;
  for (const LabeledQuery& q : test) {
    const SearchResult r = engine.Search(q.text, SearchContext{}, 10);
    json line;
    line["ranked"] = json::array();
    for (const auto& h : r.ranked) {
      line["ranked"].push_back({{"article", engine.articles()[h.article].id}, {"score", h.score}});
    }
    line["confidence"] = r.confidence;
    line["gap"] = r.gap;
    out.predictions += line.dump() + "\n";
    if (!q.article) {
      ++oos;
      declined += r.gap;
      continue;
    }
    ++in_scope;
    auto it = index.find(*q.article);
    const bool right = it != index.end() && !r.ranked.empty() && r.ranked[0].article == it->second;
    top1 += right;
    answered_right += right && !r.gap;
    for (size_t k = 0; k < r.ranked.size() && k < 3 && it != index.end(); ++k) {
      at3 += r.ranked[k].article == it->second;
    }
    if (target && *q.article == *target) {
      ++target_n;
      target_right += right;
    }
  }
  auto ratio = [](size_t a, size_t b) { return b ? static_cast<double>(a) / b : 0.0; };
  out.entry = {{"top1", ratio(top1, in_scope)},
               {"recall_at_3", ratio(at3, in_scope)},
               {"in_scope_accuracy", ratio(answered_right, in_scope)},
               {"oos_recall", oos ? json(ratio(declined, oos)) : json(nullptr)}};
  if (target) out.entry["target_accuracy"] = ratio(target_right, target_n);
  return out;
}

double LargestDailyDrop(const json& days) {
  double worst = 0;
  for (size_t i = 1; i < days.size(); ++i) {
    worst = std::max(worst, days[i - 1]["top1"].get<double>() - days[i]["top1"].get<double>());
  }
  return worst;
}

// The learning curve of the days so far, on an axis of all `planned` days (day 0 included).
std::string Svg(const json& days, size_t planned, const std::string& title) {
  const double w = 720, h = 400, left = 56, right = 150, top = 36, bottom = 48;
  const double pw = w - left - right, ph = h - top - bottom;
  const size_t n = days.size(), axis = std::max(n, planned);
  auto x = [&](size_t i) { return left + (axis > 1 ? pw * i / (axis - 1) : 0); };
  auto y = [&](double v) { return top + ph * (1 - v); };
  char buf[256];
  std::string svg;
  std::snprintf(buf, sizeof buf,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n",
                w, h, w, h);
  svg += buf;
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  std::string t = title;
  for (const char* bad : {"&", "<", ">"}) {
    for (size_t p = t.find(bad); p != std::string::npos; p = t.find(bad)) t.erase(p, 1);
  }
  std::snprintf(buf, sizeof buf, "<text x=\"%.0f\" y=\"20\" font-size=\"14\">%s</text>\n", left,
                t.c_str());
  svg += buf;
  for (int k = 0; k <= 10; ++k) {
    const double v = k / 10.0;
    std::snprintf(buf, sizeof buf,
                  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                  "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.1f</text>\n",
                  left, y(v), left + pw, y(v), left - 6, y(v) + 4, v);
    svg += buf;
  }
  const size_t step = std::max<size_t>(1, axis / 10);
  for (size_t i = 0; i < axis; i += step) {
    std::snprintf(buf, sizeof buf,
                  "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%zu</text>\n", x(i),
                  top + ph + 16, i);
    svg += buf;
  }
  std::snprintf(buf, sizeof buf,
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">simulated day</text>\n",
                left + pw / 2, h - 10);
  svg += buf;
  const struct {
    const char* field;
    const char* label;
    const char* color;
  } series[] = {{"top1", "test top-1", "#1f77b4"},
                {"in_scope_accuracy", "in-scope accuracy", "#2ca02c"},
                {"self_service_rate", "self-service rate", "#ff7f0e"},
                {"escalation_rate", "escalation rate", "#d62728"},
                {"target_accuracy", "targeted article", "#9467bd"}};
  int legend = 0;
  for (const auto& s : series) {
    std::string points;
    for (size_t i = 0; i < n; ++i) {
      const json& v = days[i].value(s.field, json(nullptr));
      if (!v.is_number()) continue;
      std::snprintf(buf, sizeof buf, "%.1f,%.1f ", x(i), y(v.get<double>()));
      points += buf;
    }
    if (points.empty()) continue;
    svg += "<polyline fill=\"none\" stroke=\"" + std::string(s.color) +
           "\" stroke-width=\"2\" points=\"" + points + "\"/>\n";
    std::snprintf(buf, sizeof buf,
                  "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"3\" fill=\"%s\"/>"
                  "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n",
                  left + pw + 12, top + 10 + 18.0 * legend, s.color, left + pw + 30,
                  top + 14 + 18.0 * legend, s.label);
    svg += buf;
    ++legend;
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace

int SimulateCommand(int argc, char** argv) {
  cli::Args args;
  if (auto exit =
          cli::Start("simulate", kUsage, argc, argv,
                     {"kb", "history", "stream", "test", "days", "noise", "agent-label-rate",
                      "poison", "poison-sessions", "seed", "json", "predictions-dir", "data"},
                     {"verified-customers"}, &args)) {
    return *exit;
  }
  for (const char* flag : {"kb", "history", "stream", "test", "days", "json"}) {
    if (auto v = args.require(flag); !v.ok()) return cli::Fail(v.status().message());
  }
  // The learning-curve chart goes next to the JSON: OUT.json -> OUT.svg.
  std::string svg_path = *args.get("json");
  if (svg_path.size() > 5 && svg_path.compare(svg_path.size() - 5, 5, ".json") == 0) {
    svg_path.resize(svg_path.size() - 5);
  }
  svg_path += ".svg";
  for (const std::string& out : {*args.get("json"), svg_path}) {
    if (Status s = cli::CheckOutputPath(out); !s.ok()) return cli::Fail(s.message());
  }
  auto days = args.integer("days", 0, 1, 365);
  auto noise = args.number("noise", 0, 0, 1);
  auto label_rate = args.number("agent-label-rate", 1, 0, 1);
  auto poison = args.number("poison", 0, 0, 1);
  auto poison_sessions = args.integer("poison-sessions", 3, 1, 1'000'000);
  auto seed = args.integer("seed", 1, 0, 1LL << 40);
  if (!days.ok()) return cli::Fail(days.status().message());
  if (!noise.ok()) return cli::Fail(noise.status().message());
  if (!label_rate.ok()) return cli::Fail(label_rate.status().message());
  if (!poison.ok()) return cli::Fail(poison.status().message());
  if (!poison_sessions.ok()) return cli::Fail(poison_sessions.status().message());
  if (!seed.ok()) return cli::Fail(seed.status().message());
  const std::string kb_path = *args.get("kb"), history_path = *args.get("history"),
                    stream_path = *args.get("stream"), test_path = *args.get("test"),
                    json_path = *args.get("json");

  auto articles = ReadArticlesJsonl(kb_path);
  if (!articles.ok()) return cli::Fail(articles.status().message());
  auto history = ReadHistoryJsonl(history_path, articles.value());
  if (!history.ok()) return cli::Fail(history.status().message());
  auto stream = ReadQuestionsJsonl(stream_path, articles.value());
  if (!stream.ok()) return cli::Fail(stream.status().message());
  auto test = ReadQuestionsJsonl(test_path, articles.value());
  if (!test.ok()) return cli::Fail(test.status().message());
  if (stream.value().size() < static_cast<size_t>(days.value())) {
    return cli::Fail(stream_path + " has " + std::to_string(stream.value().size()) +
                     " queries, fewer than --days " + std::to_string(days.value()));
  }
  std::optional<std::string> pred_dir = args.get("predictions-dir");
  if (pred_dir) {
    std::error_code ec;
    std::filesystem::create_directories(*pred_dir, ec);
    if (ec) return cli::Fail("--predictions-dir " + *pred_dir + ": " + ec.message());
  }
  auto vectors = cli::LoadWordVectors();
  if (!vectors.ok()) return cli::Fail(vectors.status().message());

  // A fresh store in a temporary directory, removed at the end.
  std::filesystem::path tmp;
  if (auto keep = args.get("data")) {
    std::error_code ec;
    std::filesystem::create_directories(*keep, ec);
    if (ec || !std::filesystem::is_empty(*keep, ec)) {
      return cli::Fail("--data " + *keep + " must be a new or empty directory");
    }
    tmp = *keep;
  } else {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "loopwise-simulate-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) return cli::Fail("cannot create a temporary directory in /tmp");
    tmp = tmpl;
  }
  struct Cleanup {
    std::filesystem::path dir;
    ~Cleanup() {
      std::error_code ec;
      if (!dir.empty()) std::filesystem::remove_all(dir, ec);
    }
  } cleanup{args.has("data") ? std::filesystem::path() : tmp};
  auto store_or = SqliteStore::Open((tmp / "loopwise.db").string());
  if (!store_or.ok()) return cli::Fail(store_or.status().message());
  auto files_or = BundleFiles::Open((tmp / "bundles").string());
  if (!files_or.ok()) return cli::Fail(files_or.status().message());
  std::unique_ptr<SqliteStore> store = store_or.take();
  BundleFiles files = files_or.take();
  const std::string site = "simulation";
  Site s;
  s.name = site;
  s.key = "pk_simulation";
  s.mode = "autonomous";
  const bool verified = args.has("verified-customers");
  if (verified) {
    s.identity = "required";
    if (Status st = EnsureIdentitySecret(&s, false); !st.ok()) return cli::Fail(st.message());
  }
  if (Status st = store->InsertSite(s); !st.ok()) return cli::Fail(st.message());
  if (Status st = store->PutArticles(site, articles.value()); !st.ok())
    return cli::Fail(st.message());
  std::vector<ResolvedQuery> tickets;
  for (const Exemplar& e : history.value()) {
    tickets.push_back(
        {e.text,
         e.article == kNoArticle ? std::nullopt : std::optional(articles.value()[e.article].id),
         ""});
  }
  if (Status st = store->AddHistory(site, tickets); !st.ok()) return cli::Fail(st.message());
  Publisher publisher(store.get(), &files);
  Learner learner(store.get(), &files, &publisher);

  // Customers' draws and the attack's come from separate generators, and every question draws the
  // same numbers whatever happens to it, so runs with and without poison see the same customers.
  std::mt19937_64 rng(static_cast<uint64_t>(seed.value()));
  std::mt19937_64 attack_rng(static_cast<uint64_t>(seed.value()) ^ 0x9e3779b97f4a7c15ull);
  std::uniform_real_distribution<double> unit(0, 1);

  // Poison: one article's questions, one wrong article marked resolved for them.
  std::optional<std::string> target, wrong;
  std::vector<std::string> target_texts;
  if (poison.value() > 0) {
    std::map<std::string, std::vector<std::string>> by_article;
    for (const auto& q : stream.value()) {
      if (q.article) by_article[*q.article].push_back(q.text);
    }
    std::vector<std::string> candidates;
    for (const auto& [a, texts] : by_article) candidates.push_back(a);
    if (candidates.size() < 2) return cli::Fail("--poison needs a stream with two articles");
    target = candidates[attack_rng() % candidates.size()];
    target_texts = by_article[*target];
  }

  // Day 0: the bundle built exactly as `loopwise eval` builds it.
  cli::Progress progress("simulating", static_cast<size_t>(days.value()) + 1);
  const auto start = Clock::now();
  auto day0 = Bundle::Build(articles.value(), history.value(), vectors.value(), BundleOptions{});
  if (!day0.ok()) return cli::Fail(day0.status().message());
  day0 = WithDefaultRankerModel(day0.value());  // as eval and publish do
  if (!day0.ok()) return cli::Fail(day0.status().message());
  BuiltBundle built;
  built.bytes = day0.take();
  built.articles = articles.value().size();
  built.exemplars = history.value().size();
  auto published = publisher.PublishBuilt(site, built);
  if (!published.ok()) return cli::Fail(published.status().message());

  auto current_engine = [&]() -> Result<Engine> {
    auto v = store->CurrentVersion(site);
    if (!v.ok()) return v.status();
    if (!v.value()) return Status::Error("no current version");
    auto bytes = files.Get(v.value()->sha256, false);
    if (!bytes.ok()) return bytes.status();
    return Engine::Load(reinterpret_cast<const uint8_t*>(bytes.value()->data()),
                        bytes.value()->size());
  };
  // The wrong article is the most plausible lie: the one the day-0 bundle most often ranks next
  // to the target for the target's questions, so the engine itself lends it credibility.
  if (target) {
    auto engine = current_engine();
    if (!engine.ok()) return cli::Fail(engine.status().message());
    std::map<std::string, size_t> runner_up;
    for (const std::string& text : target_texts) {
      for (const auto& hit : engine.value().Search(text, SearchContext{}, 3).ranked) {
        const std::string& id = engine.value().articles()[hit.article].id;
        if (id != *target) runner_up[id] += 1;
      }
    }
    for (const auto& [id, n] : runner_up) {
      if (!wrong || n > runner_up[*wrong]) wrong = id;
    }
    if (!wrong) return cli::Fail("--poison: no article ranks next to " + *target);
  }
  auto version_now = [&]() -> int64_t {
    auto v = store->CurrentVersion(site);
    return v.ok() && v.value() ? v.value()->version : 0;
  };

  json config = {{"kb", kb_path},
                 {"history", history_path},
                 {"stream", stream_path},
                 {"test", test_path},
                 {"days", days.value()},
                 {"noise", noise.value()},
                 {"agent_label_rate", label_rate.value()},
                 {"poison", poison.value()},
                 {"poison_sessions", poison_sessions.value()},
                 {"verified_customers", verified},
                 {"seed", seed.value()}};
  if (target) {
    config["target_article"] = *target;
    config["poison_article"] = *wrong;
  }
  char title[200];
  std::snprintf(title, sizeof title, "Learning curve: noise %.2f, agent labels %.2f, poison %.2f",
                noise.value(), label_rate.value(), poison.value());
  json report_days = json::array();
  // The JSON and the chart are rewritten after every day, so a long run can be followed, and one
  // stopped early keeps the days it finished ("complete": false).
  auto write_outputs = [&]() -> Status {
    const bool complete = report_days.size() == static_cast<size_t>(days.value()) + 1;
    const json out = {{"config", config},
                      {"days", report_days},
                      {"summary",
                       {{"day0_top1", report_days.front()["top1"]},
                        {"final_top1", report_days.back()["top1"]},
                        {"largest_daily_drop", LargestDailyDrop(report_days)},
                        {"complete", complete},
                        {"seconds", std::chrono::duration<double>(Clock::now() - start).count()}}}};
    if (Status st = cli::WriteFileAtomic(json_path, out.dump(2) + "\n"); !st.ok()) return st;
    return cli::WriteFileAtomic(svg_path,
                                Svg(report_days, static_cast<size_t>(days.value()) + 1, title));
  };
  auto record = [&](int day, const Engine& engine, json extra) -> Status {
    DayFigures f = Evaluate(engine, test.value(), target);
    json entry = {{"day", day}};
    entry.update(f.entry);
    entry["version"] = version_now();
    entry.update(extra);
    report_days.push_back(entry);
    if (pred_dir) {
      const std::string path = *pred_dir + "/day-" + std::to_string(day) + ".jsonl";
      if (Status st = cli::WriteFileAtomic(path, f.predictions); !st.ok()) return st;
    }
    return write_outputs();
  };
  {
    auto engine = current_engine();
    if (!engine.ok()) return cli::Fail(engine.status().message());
    if (Status st = record(0, engine.value(),
                           {{"self_service_rate", nullptr}, {"escalation_rate", nullptr}});
        !st.ok()) {
      return cli::Fail(st.message());
    }
  }
  progress.Update(1);

  const size_t total = stream.value().size();
  for (int day = 1; day <= days.value(); ++day) {
    const size_t from = total * (day - 1) / days.value(), to = total * day / days.value();
    auto engine_or = current_engine();
    if (!engine_or.ok()) return cli::Fail(engine_or.status().message());
    const Engine& engine = engine_or.value();
    const std::string bundle = std::to_string(version_now());
    const int64_t day_start = kStartMs + day * kDayMs;
    std::vector<SignalEvent> events;
    std::vector<ResolvedQuery> resolutions;
    size_t resolved = 0, escalated = 0;

    // `forged`: an attacker's client claims it showed this article (third, if it was not shown).
    // A customer's events are signed in as the question's own customer when `verified`.
    auto ask = [&](const std::string& text, const std::string& session, const std::string& qid,
                   int64_t ts, const std::string* forged = nullptr) {
      const SearchResult r = engine.Search(text, SearchContext{}, 3);
      std::vector<std::string> shown;
      for (const auto& h : r.ranked) shown.push_back(engine.articles()[h.article].id);
      if (forged && std::find(shown.begin(), shown.end(), *forged) == shown.end()) {
        if (shown.size() == 3) shown.pop_back();
        shown.push_back(*forged);
      }
      SignalEvent e;
      e.ts = ts;
      e.session = session;
      e.query_id = qid;
      e.query = text;
      e.bundle = bundle;
      e.confidence = r.confidence;
      if (verified && !forged) {
        e.customer = "customer-" + qid;
        e.customer_signature = CustomerSignature(s.identity_secret, e.customer);
      }
      e.type = "query";
      events.push_back(e);
      e.type = "shown";
      e.shown_json = json(shown).dump();
      events.push_back(e);
      return shown;
    };
    auto outcome = [&](const std::string& type, const std::string& article, int64_t ts) {
      SignalEvent e = events.back();
      e.type = type;
      e.article = article;
      e.ts = ts + 1000;
      e.shown_json = "[]";
      events.push_back(e);
    };

    for (size_t i = from; i < to; ++i) {
      const LabeledQuery& q = stream.value()[i];
      const int64_t ts = day_start + static_cast<int64_t>((i - from) * kDayMs / (to - from));
      const std::string qid = "d" + std::to_string(day) + "-q" + std::to_string(i);
      const std::vector<std::string> shown =
          ask(q.text, "d" + std::to_string(day) + "-s" + std::to_string(i), qid, ts);
      const double draw[3] = {unit(rng), unit(rng), unit(rng)};
      const uint64_t pick = rng();
      const bool found =
          q.article && std::find(shown.begin(), shown.end(), *q.article) != shown.end();
      if (found) {
        if (draw[0] >= noise.value()) {
          outcome("resolved", *q.article, ts);
          ++resolved;
        } else if (draw[1] < 0.5) {
          outcome("resolved", shown[pick % shown.size()], ts);
          ++resolved;
        } else {
          outcome("not_helpful", shown[pick % shown.size()], ts);
        }
        continue;
      }
      outcome("escalated", "", ts);
      ++escalated;
      if (!q.article) {
        resolutions.push_back({q.text, std::nullopt, qid});
      } else if (draw[2] < label_rate.value()) {
        resolutions.push_back({q.text, *q.article, qid});
      }
    }
    if (target) {
      const size_t extra =
          static_cast<size_t>(std::llround(poison.value() * static_cast<double>(to - from)));
      for (size_t k = 0; k < extra; ++k) {
        const std::string& text = target_texts[attack_rng() % target_texts.size()];
        const int64_t ts =
            day_start + static_cast<int64_t>(k * kDayMs / std::max<size_t>(1, extra));
        const std::string session =
            "d" + std::to_string(day) + "-attacker-" +
            std::to_string(k % static_cast<size_t>(poison_sessions.value()));
        ask(text, session, "d" + std::to_string(day) + "-p" + std::to_string(k), ts, &*wrong);
        outcome("resolved", *wrong, ts);
      }
    }
    for (size_t b = 0; b < events.size(); b += kBatchEvents) {
      SignalBatch batch;
      batch.site = site;
      batch.batch_id = "day-" + std::to_string(day) + "-" + std::to_string(b / kBatchEvents);
      batch.events.assign(events.begin() + b,
                          events.begin() + std::min(events.size(), b + kBatchEvents));
      VerifyCustomers(s, day_start, &batch);  // as the server does on arrival
      auto receipt = store->AppendSignals(std::move(batch));
      if (!receipt.ok()) return cli::Fail(receipt.status().message());
    }
    if (!resolutions.empty()) {
      if (Status st = store->AddResolutions(site, resolutions); !st.ok())
        return cli::Fail(st.message());
    }

    const auto learn_start = Clock::now();
    auto report = learner.Run(site, day_start + kDayMs - 1);
    if (!report.ok())
      return cli::Fail("day " + std::to_string(day) + ": " + report.status().message());
    const double learn_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - learn_start).count();
    auto after = current_engine();
    if (!after.ok()) return cli::Fail(after.status().message());
    const double n = static_cast<double>(to - from);
    const LearningReport& r = report.value();
    json extra = {
        {"self_service_rate", resolved / n},
        {"escalation_rate", escalated / n},
        {"queries", to - from},
        {"outcome", r.outcome},
        {"learned",
         {{"accepted", r.accepted},
          {"merged", r.merged},
          {"rejected", r.rejected},
          {"waiting", r.waiting}}},
        {"replay", r.replay.note},
        {"rolled_back_to", r.rolled_back_to ? json(r.rolled_back_to->version) : json(nullptr)},
        {"learn_ms", std::llround(learn_ms)},
        {"build_ms", std::llround(r.build_ms)}};
    if (Status st = record(day, after.value(), extra); !st.ok()) return cli::Fail(st.message());
    progress.Update(static_cast<size_t>(day) + 1);
  }
  progress.Finish();
  std::printf("day 0 top-1 %.4f -> day %lld top-1 %.4f (largest daily drop %.4f); %s, %s\n",
              report_days.front()["top1"].get<double>(), static_cast<long long>(days.value()),
              report_days.back()["top1"].get<double>(), LargestDailyDrop(report_days),
              json_path.c_str(), svg_path.c_str());
  return 0;
}

}  // namespace loopwise
