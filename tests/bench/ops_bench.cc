// Acceptance figures for knowledge gaps and spike incidents, in simulated time through the real
// SQLite store and the server's own UpdateGaps / UpdateIncidents (see README.md, "Gaps, incidents
// and alerts"). Prints JSON; figures are measurements, never assertions.
//
//   ops_bench --data HWU64_DIR [--json OUT] [--seed N] [--steady-days N] [--only gaps|incidents]
//             [--agent-label-rate Q]
//
// Gaps: HWU64's oos/ split (8 articles removed; their stream questions have "article": null).
// Every stream question is answered by the oos 10-shot bundle, top 3 shown; a customer whose
// article is shown resolves, every other one escalates (DESIGN.md, "Simulated traffic"); out of
// scope questions always escalate; with --agent-label-rate Q, a helpdesk agent resolves each
// escalated question with probability Q (seeded), with its article or, out of scope, with none.
// UpdateGaps runs at the end of each of 30 simulated days. The
// top 8 gaps are then compared with the removed articles (labels from the full stream, line by
// line): purity (share of a gap's questions that belong to removed articles, and to its single
// most common one) and coverage (removed articles that are the main label of a top-8 gap).
//
// Incidents: 14 simulated days of steady traffic with daily seasonality (in-scope stream
// questions; each article a kind of question, its scenario a route), UpdateIncidents every 5
// simulated minutes: incidents raised count as false alarms. Then bursts, one a day at different
// hours: (a) one kind of question at 5x its usual rate for an hour, at a few usual rates; (b) a
// kind never seen before (a removed article's questions) at 30 or 60 an hour. Reported: minutes
// from the burst's start until an incident naming it opens.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "cli.h"
#include "engine/bundle.h"
#include "engine/engine.h"
#include "gap_finder.h"
#include "incident_detector.h"
#include "query_clusters.h"
#include "sqlite_store.h"

using namespace loopwise;
using nlohmann::json;

namespace {

constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kDay0 = 1767571200000;  // 2026-01-05T00:00:00Z, a Monday

struct Line {
  std::string text;
  std::string article;  // empty: null
};

std::vector<Line> ReadJsonl(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "ops_bench: cannot read %s\n", path.c_str());
    std::exit(2);
  }
  std::vector<Line> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const json j = json::parse(line);
    out.push_back({j.value("text", ""),
                   j["article"].is_string() ? j["article"].get<std::string>() : std::string()});
  }
  return out;
}

std::string Scenario(const std::string& article) {
  return "/" + article.substr(0, article.find('_'));
}

struct TempStore {
  TempStore() {
    dir = std::filesystem::temp_directory_path() /
          ("loopwise-ops-bench-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(dir);
    auto s = SqliteStore::Open((dir / "loopwise.db").string());
    if (!s.ok()) {
      std::fprintf(stderr, "ops_bench: %s\n", s.status().message().c_str());
      std::exit(2);
    }
    store = s.take();
  }
  ~TempStore() {
    store.reset();
    std::filesystem::remove_all(dir);
  }
  std::filesystem::path dir;
  std::unique_ptr<SqliteStore> store;
  static inline int counter = 0;
};

class Batcher {
 public:
  explicit Batcher(Store* store) : store_(store) {}
  void Add(SignalEvent e) {
    batch_.events.push_back(std::move(e));
    if (batch_.events.size() >= 500) Flush();
  }
  void Flush() {
    if (batch_.events.empty()) return;
    batch_.site = "bench";
    batch_.batch_id = "b" + std::to_string(n_++);
    if (!store_->AppendSignals(std::move(batch_)).ok()) std::exit(3);
    batch_ = {};
  }

 private:
  Store* store_;
  SignalBatch batch_;
  int n_ = 0;
};

SignalEvent Event(const std::string& type, int64_t ts, const std::string& id,
                  const std::string& text, const std::string& route, const json& shown,
                  const std::string& article = "") {
  SignalEvent e;
  e.type = type;
  e.ts = ts;
  e.session = "s" + id;
  e.query_id = id;
  e.query = text;
  e.bundle = "1";
  e.context_json = json{{"route", route}}.dump();
  e.shown_json = shown.dump();
  e.article = article;
  e.confidence = 0.5;
  return e;
}

json GapBench(const Engine& engine, const std::vector<Line>& stream,
              const std::vector<Line>& labels, const std::set<std::string>& removed,
              double agent_label_rate, uint32_t seed) {
  TempStore t;
  Batcher out(t.store.get());
  Site site;
  site.name = "bench";
  site.key = "pk_bench";
  if (Status s = t.store->InsertSite(site); !s.ok()) {
    std::fprintf(stderr, "ops_bench: %s\n", s.message().c_str());
    std::exit(3);
  }
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> unit(0, 1);
  const size_t days = 30;
  const size_t per_day = (stream.size() + days - 1) / days;
  std::vector<std::pair<std::string, std::string>> gap_questions;  // text, original label
  size_t declined = 0, escalated = 0, resolved = 0, agent_resolved = 0;
  const auto start = std::chrono::steady_clock::now();
  double update_ms = 0;
  for (size_t day = 0; day < days; ++day) {
    std::vector<ResolvedQuery> resolutions;
    for (size_t i = day * per_day; i < std::min(stream.size(), (day + 1) * per_day); ++i) {
      const Line& q = stream[i];
      const int64_t ts = kDay0 + static_cast<int64_t>(day) * kDay +
                         static_cast<int64_t>(i - day * per_day) * (kDay / per_day);
      const std::string id = std::to_string(i);
      const std::string route = Scenario(labels[i].article);
      const SearchResult r = engine.Search(q.text, SearchContext{}, 3);
      json shown = json::array();
      bool hit = false;
      if (!r.gap) {
        for (const RankedArticle& a : r.ranked) {
          const std::string& aid = engine.articles()[a.article].id;
          shown.push_back(aid);
          hit = hit || aid == q.article;
        }
      }
      out.Add(Event("query", ts, id, q.text, route, json::array()));
      out.Add(Event("shown", ts, id, q.text, route, shown));
      if (hit) {
        out.Add(Event("resolved", ts + 5000, id, q.text, route, shown, q.article));
        ++resolved;
      } else {
        out.Add(Event("escalated", ts + 5000, id, q.text, route, shown));
        gap_questions.emplace_back(q.text, labels[i].article);
        declined += r.gap;
        ++escalated;
        if (unit(rng) < agent_label_rate) {
          resolutions.push_back(
              {"", q.article.empty() ? std::nullopt : std::optional(q.article), id});
        }
      }
    }
    out.Flush();
    agent_resolved += resolutions.size();
    if (Status s = t.store->AddResolutions("bench", resolutions); !s.ok()) {
      std::fprintf(stderr, "ops_bench: %s\n", s.message().c_str());
      std::exit(3);
    }
    const auto u0 = std::chrono::steady_clock::now();
    auto update = UpdateGaps(t.store.get(), "bench", engine, kDay0 + (day + 1) * kDay);
    update_ms +=
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - u0).count();
    if (!update.ok()) {
      std::fprintf(stderr, "ops_bench: %s\n", update.status().message().c_str());
      std::exit(3);
    }
  }
  auto gaps = ListGaps(t.store.get(), "bench");
  auto doc = t.store->Document("bench", "gaps");
  if (!gaps.ok() || !doc.ok() || !doc.value()) std::exit(3);
  auto clusters = QueryClusters::FromJson(json::parse(*doc.value())["clusters"], ClusterOptions{});
  if (!clusters.ok()) std::exit(3);

  // Membership: each gap question goes to the nearest of the top 8 gaps' centroids.
  const size_t top = std::min<size_t>(8, gaps.value().size());
  std::vector<std::map<std::string, size_t>> members(top);
  const Encoder& encoder = engine.parts().encoder;
  for (const auto& [text, label] : gap_questions) {
    const std::vector<float> v = QueryClusters::Embed(encoder, text);
    if (v.empty()) continue;
    size_t best = top;
    float best_sim = 0.0f;
    for (size_t g = 0; g < top; ++g) {
      const float s = clusters.value().Similarity(gaps.value()[g].id, v);
      if (s > best_sim) {
        best_sim = s;
        best = g;
      }
    }
    if (best < top && best_sim >= ClusterOptions{}.join) ++members[best][label];
  }
  json list = json::array();
  std::set<std::string> covered;
  double removed_share_sum = 0, main_share_sum = 0;
  for (size_t g = 0; g < top; ++g) {
    size_t total = 0, from_removed = 0, main = 0;
    std::string main_label;
    for (const auto& [label, count] : members[g]) {
      total += count;
      if (removed.count(label)) from_removed += count;
      if (count > main) {
        main = count;
        main_label = label;
      }
    }
    const double removed_share = total ? static_cast<double>(from_removed) / total : 0;
    const double main_share = total ? static_cast<double>(main) / total : 0;
    removed_share_sum += removed_share;
    main_share_sum += main_share;
    if (removed.count(main_label)) covered.insert(main_label);
    list.push_back({{"label", gaps.value()[g].label},
                    {"status", gaps.value()[g].status},
                    {"queries", gaps.value()[g].queries},
                    {"confirmed", gaps.value()[g].confirmed},
                    {"score", gaps.value()[g].score},
                    {"main_article", main_label},
                    {"main_is_removed", removed.count(main_label) > 0},
                    {"share_removed", std::round(removed_share * 1000) / 1000},
                    {"share_main", std::round(main_share * 1000) / 1000}});
  }
  size_t open = 0;
  for (const Gap& g : gaps.value()) open += g.status == "open";
  return {{"stream_questions", stream.size()},
          {"resolved", resolved},
          {"escalated", escalated},
          {"agent_resolved", agent_resolved},
          {"declined_by_engine", declined},
          {"gaps", gaps.value().size()},
          {"gaps_open", open},
          {"top8_mean_share_removed",
           std::round(removed_share_sum / std::max<size_t>(1, top) * 1000) / 1000},
          {"top8_mean_share_main_article",
           std::round(main_share_sum / std::max<size_t>(1, top) * 1000) / 1000},
          {"removed_articles_covered_by_top8", covered.size()},
          {"update_ms_total", std::round(update_ms)},
          {"wall_ms", std::round(std::chrono::duration<double, std::milli>(
                                     std::chrono::steady_clock::now() - start)
                                     .count())},
          {"top8", list}};
}

struct Burst {
  int64_t start = 0;
  std::string kind;  // an article id
  double hourly = 0;
  bool fresh = false;  // a kind never seen before
};

json IncidentBench(const Engine& engine, const std::vector<Line>& stream,
                   const std::vector<Line>& labels, const std::set<std::string>& removed,
                   uint32_t seed, int steady_days) {
  TempStore t;
  Batcher out(t.store.get());
  std::mt19937 rng(seed);
  std::map<std::string, std::vector<std::string>> by_kind;
  for (size_t i = 0; i < stream.size(); ++i) by_kind[labels[i].article].push_back(stream[i].text);
  std::vector<std::string> steady_kinds;
  for (const auto& [kind, texts] : by_kind) {
    if (!removed.count(kind)) steady_kinds.push_back(kind);
  }
  // Steady traffic: 150 questions an hour on average over the day (lowest at 03:00 UTC, 2.5x that
  // at 15:00), spread evenly over the in-scope kinds.
  const double hourly_total = 150;
  // Bursts of existing kinds, at their usual hourly rates; the kinds are given those rates from
  // day 0 on top of the even spread.
  const std::vector<std::pair<std::string, double>> bursty = {
      {"weather_query", 6}, {"music_query", 12}, {"lists_createoradd", 24}, {"qa_factoid", 48}};
  const std::vector<std::string> fresh_kinds = {"transport_ticket", "calendar_set", "alarm_set",
                                                "play_podcasts"};
  std::vector<Burst> bursts;
  const int hours[] = {14, 3, 9, 20, 11, 17, 6, 22, 15, 1, 12, 19};
  int day = steady_days;
  for (int round = 0; round < 2; ++round) {
    for (const auto& [kind, hourly] : bursty) {
      bursts.push_back(
          {kDay0 + day * kDay + hours[(day - steady_days) % 12] * kHour, kind, hourly, false});
      ++day;
    }
    for (size_t f = 2 * static_cast<size_t>(round); f < 2 * static_cast<size_t>(round) + 2; ++f) {
      bursts.push_back({kDay0 + day * kDay + hours[(day - steady_days) % 12] * kHour,
                        fresh_kinds[f], f % 2 ? 60.0 : 30.0, true});
      ++day;
    }
  }
  const int64_t end = kDay0 + day * kDay;
  auto season = [](int64_t ts) {
    const double hour = static_cast<double>(ts % kDay) / kHour;
    return 1 + 0.6 * std::sin(2 * M_PI * (hour - 9) / 24);
  };
  auto rate = [&](const std::string& kind, int64_t ts) {  // questions a 5-minute window
    double hourly = 0;
    for (const auto& [k, h] : bursty) {
      if (k == kind) hourly = h;
    }
    if (!hourly &&
        std::find(steady_kinds.begin(), steady_kinds.end(), kind) != steady_kinds.end()) {
      hourly = hourly_total / steady_kinds.size();
    }
    for (const Burst& b : bursts) {
      if (b.kind != kind || ts < b.start || ts >= b.start + kHour) continue;
      hourly = b.fresh ? b.hourly / season(ts) : 5 * hourly;
    }
    return hourly / 12 * season(ts);
  };
  std::vector<std::string> all_kinds = steady_kinds;
  for (const std::string& k : fresh_kinds) all_kinds.push_back(k);

  int64_t next_id = 0;
  std::vector<std::pair<int64_t, Incident>> raised;  // (when, incident)
  const auto start = std::chrono::steady_clock::now();
  for (int64_t w = kDay0; w < end; w += 5 * kMinute) {
    for (const std::string& kind : all_kinds) {
      const double lambda = rate(kind, w);
      if (lambda <= 0) continue;
      std::poisson_distribution<int> arrivals(lambda);
      const auto& texts = by_kind[kind];
      for (int n = arrivals(rng); n > 0; --n) {
        const std::string id = std::to_string(next_id++);
        const std::string& text = texts[rng() % texts.size()];
        const int64_t ts = w + static_cast<int64_t>(rng() % (5 * kMinute));
        out.Add(Event("query", ts, id, text, Scenario(kind), json::array()));
      }
    }
    out.Flush();
    auto opened = UpdateIncidents(t.store.get(), "bench", engine, w + 5 * kMinute);
    if (!opened.ok()) {
      std::fprintf(stderr, "ops_bench: %s\n", opened.status().message().c_str());
      std::exit(3);
    }
    for (const Incident& i : opened.value()) raised.emplace_back(w + 5 * kMinute, i);
  }
  const double wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

  // An incident names a burst when it opened during the burst's hour (or 15 minutes after) and
  // its examples are the burst kind's questions or its route is the kind's scenario.
  auto names = [&](const Incident& i, const Burst& b) {
    const auto& texts = by_kind[b.kind];
    size_t mine = 0;
    for (const std::string& e : i.examples) {
      mine += std::find(texts.begin(), texts.end(), e) != texts.end();
    }
    return (i.route == Scenario(b.kind) && i.label.rfind("Questions on ", 0) == 0) ||
           2 * mine > i.examples.size();
  };
  json trials = json::array();
  std::vector<double> latencies;
  size_t within_15 = 0, fresh_within_15 = 0, fresh_n = 0, bursty_within_15 = 0, bursty_n = 0;
  std::set<size_t> burst_incidents;
  for (const Burst& b : bursts) {
    json trial = {{"kind", b.kind},
                  {"fresh", b.fresh},
                  {"usual_per_hour", b.fresh ? 0.0 : b.hourly},
                  {"burst_per_hour", b.fresh ? b.hourly : 5 * b.hourly},
                  {"hour_utc", (b.start % kDay) / kHour},
                  {"detected_after_minutes", nullptr}};
    for (size_t k = 0; k < raised.size(); ++k) {
      const auto& [when, incident] = raised[k];
      if (when < b.start || when > b.start + kHour + 15 * kMinute || !names(incident, b)) continue;
      burst_incidents.insert(k);
      if (trial["detected_after_minutes"].is_null()) {
        const double minutes = static_cast<double>(when - b.start) / kMinute;
        trial["detected_after_minutes"] = minutes;
        trial["count"] = incident.count;
        trial["baseline"] = incident.baseline;
        latencies.push_back(minutes);
        if (minutes <= 15) {
          ++within_15;
          (b.fresh ? fresh_within_15 : bursty_within_15) += 1;
        }
      }
    }
    (b.fresh ? fresh_n : bursty_n) += 1;
    trials.push_back(trial);
  }
  size_t steady_alarms = 0, other_alarms = 0;
  json false_alarms = json::array();
  for (size_t k = 0; k < raised.size(); ++k) {
    if (burst_incidents.count(k)) continue;
    const int64_t when = raised[k].first;
    (when < kDay0 + steady_days * kDay ? steady_alarms : other_alarms) += 1;
    false_alarms.push_back({{"day", (when - kDay0) / kDay},
                            {"label", raised[k].second.label},
                            {"count", raised[k].second.count},
                            {"baseline", raised[k].second.baseline}});
  }
  return {{"steady_days", steady_days},
          {"questions", next_id},
          {"incidents_in_steady_days", steady_alarms},
          {"unrelated_incidents_during_burst_days", other_alarms},
          {"bursts", bursts.size()},
          {"bursts_detected_within_15_min", within_15},
          {"existing_kind_5x_detected_within_15_min",
           std::to_string(bursty_within_15) + "/" + std::to_string(bursty_n)},
          {"new_kind_detected_within_15_min",
           std::to_string(fresh_within_15) + "/" + std::to_string(fresh_n)},
          {"update_calls", (end - kDay0) / (5 * kMinute)},
          {"wall_ms", std::round(wall_ms)},
          {"trials", trials},
          {"false_alarms", false_alarms}};
}

}  // namespace

int main(int argc, char** argv) {
  std::string data, out_path;
  uint32_t seed = 1;
  int steady_days = 14;
  bool gaps_only = false, incidents_only = false;
  double agent_label_rate = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--data") data = argv[i + 1];
    if (flag == "--json") out_path = argv[i + 1];
    if (flag == "--seed") seed = static_cast<uint32_t>(std::stoul(argv[i + 1]));
    if (flag == "--steady-days") steady_days = std::stoi(argv[i + 1]);
    if (flag == "--agent-label-rate") agent_label_rate = std::stod(argv[i + 1]);
    if (flag == "--only") {
      gaps_only = std::string(argv[i + 1]) == "gaps";
      incidents_only = std::string(argv[i + 1]) == "incidents";
    }
  }
  if (data.empty()) {
    std::fprintf(stderr,
                 "usage: ops_bench --data HWU64_DIR [--json OUT] [--seed N] [--steady-days N] "
                 "[--only gaps|incidents] [--agent-label-rate Q]\n");
    return 2;
  }
  auto vectors = cli::LoadWordVectors();
  if (!vectors.ok()) return cli::Fail(vectors.status().message());
  std::vector<Article> articles;
  {
    std::ifstream in(data + "/oos/kb.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      const json j = json::parse(line);
      articles.push_back({j["id"], j.value("title", ""), j.value("body", ""), {}, {}});
    }
  }
  std::map<std::string, uint32_t> index;
  for (uint32_t i = 0; i < articles.size(); ++i) index[articles[i].id] = i;
  std::vector<Exemplar> exemplars;
  for (const Line& l : ReadJsonl(data + "/oos/history-10shot.jsonl")) {
    if (index.count(l.article)) exemplars.push_back({l.text, index[l.article], 1.0f});
  }
  auto bundle = Bundle::Build(articles, exemplars, vectors.value(), BundleOptions{});
  if (!bundle.ok()) return cli::Fail(bundle.status().message());
  auto engine = Engine::Load(bundle.value().data(), bundle.value().size());
  if (!engine.ok()) return cli::Fail(engine.status().message());

  const std::vector<Line> stream = ReadJsonl(data + "/oos/stream-10shot.jsonl");
  const std::vector<Line> labels = ReadJsonl(data + "/stream-10shot.jsonl");
  if (stream.size() != labels.size()) return cli::Fail("the oos and full streams differ in length");
  std::set<std::string> removed;
  for (size_t i = 0; i < stream.size(); ++i) {
    if (stream[i].text != labels[i].text) return cli::Fail("the oos and full streams differ");
    if (stream[i].article.empty()) removed.insert(labels[i].article);
  }
  json result = json::object();
  if (!incidents_only) {
    result["gaps"] = GapBench(engine.value(), stream, labels, removed, agent_label_rate, seed);
  }
  if (!gaps_only) {
    result["incidents"] = IncidentBench(engine.value(), stream, labels, removed, seed, steady_days);
  }
  const std::string text = result.dump(2);
  std::printf("%s\n", text.c_str());
  if (!out_path.empty()) std::ofstream(out_path) << text << "\n";
  return 0;
}
