#include "gap_finder.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "logger.h"
#include "query_clusters.h"
#include "state_document.h"

namespace loopwise {
namespace {

using nlohmann::json;

constexpr const char* kDocument = "gaps";
constexpr double kHalfLifeMs = 7.0 * 24 * 3600 * 1000;  // recency decay of a gap's volume
constexpr size_t kMaxClusters = 300;
constexpr size_t kMaxExamples = 5;
constexpr size_t kMaxPages = 20;               // kept per gap; the API shows the top 10
constexpr size_t kSessionsKept = 64;           // recent sessions per gap, to count distinct ones
constexpr size_t kQuestionsRemembered = 5000;  // recent query_ids, so each counts once
constexpr size_t kReadBatch = 20000;
constexpr float kExampleDiversity = 0.92f;  // an example this close to a kept one adds nothing
// A gap closes once at least this many resolved questions match it and they outnumber (after
// decay) the gap's own; it opens again when its questions outnumber resolutions twice over.
constexpr double kCloseMinResolved = 3;
// A resolved question must be closer to the gap than a gap question needs to be to join it:
// answered cousins of a missing article must not close its gap.
constexpr float kResolvedMargin = 0.08f;

ClusterOptions GapClusterOptions() {
  ClusterOptions o;
  o.join = 0.72f;
  o.merge = 0.82f;
  return o;
}

double Decay(double weight, int64_t from_ms, int64_t to_ms) {
  return weight * std::exp2(-static_cast<double>(to_ms - from_ms) / kHalfLifeMs);
}

struct GapState {
  int64_t id = 0;
  bool open = true;
  int64_t queries = 0;
  int64_t sessions = 0;
  int64_t confirmed = 0;
  std::deque<std::string> recent_sessions;
  double gap_weight = 0;       // decayed count of gap questions at decay_ms
  double resolved_weight = 0;  // decayed count of resolved questions at decay_ms
  int64_t decay_ms = 0;
  std::vector<std::string> examples;
  std::map<std::string, int64_t> pages;
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
  std::string label;

  // Adds `amount` to a weight as of `ts`, decaying the weights forward to the newest time seen.
  void AddWeight(double* weight, int64_t ts) {
    if (ts > decay_ms) {
      gap_weight = Decay(gap_weight, decay_ms, ts);
      resolved_weight = Decay(resolved_weight, decay_ms, ts);
      decay_ms = ts;
    }
    *weight += Decay(1.0, ts, decay_ms);
  }
  double GapScore(int64_t now_ms) const {
    return now_ms > decay_ms ? Decay(gap_weight, decay_ms, now_ms) : gap_weight;
  }
  double ResolvedScore(int64_t now_ms) const {
    return now_ms > decay_ms ? Decay(resolved_weight, decay_ms, now_ms) : resolved_weight;
  }
};

struct FinderState {
  int64_t cursor = 0;
  int64_t resolution_cursor = 0;
  std::vector<float> fingerprint;
  QueryClusters clusters{GapClusterOptions()};
  std::map<int64_t, GapState> gaps;
  // query_id -> gap id, oldest first; the id negated once a helpdesk resolution has counted
  std::deque<std::pair<std::string, int64_t>> recent;
  std::unordered_map<std::string, int64_t> recent_index;
};

json PagesJson(const std::map<std::string, int64_t>& pages) {
  json out = json::object();
  for (const auto& [route, count] : pages) out[route] = count;
  return out;
}

json ToJson(const FinderState& s) {
  json gaps = json::array();
  for (const auto& [id, g] : s.gaps) {
    gaps.push_back({{"id", id},
                    {"open", g.open},
                    {"queries", g.queries},
                    {"sessions", g.sessions},
                    {"confirmed", g.confirmed},
                    {"recent_sessions", g.recent_sessions},
                    {"gap_weight", g.gap_weight},
                    {"resolved_weight", g.resolved_weight},
                    {"decay_ms", g.decay_ms},
                    {"examples", g.examples},
                    {"pages", PagesJson(g.pages)},
                    {"first_seen_ms", g.first_seen_ms},
                    {"last_seen_ms", g.last_seen_ms},
                    {"label", g.label}});
  }
  json recent = json::array();
  for (const auto& [query_id, gap] : s.recent) recent.push_back({query_id, gap});
  return {{"format", 1},
          {"cursor", s.cursor},
          {"resolution_cursor", s.resolution_cursor},
          {"fingerprint", s.fingerprint},
          {"clusters", s.clusters.ToJson()},
          {"gaps", gaps},
          {"recent", recent}};
}

Result<FinderState> Load(Store* store, const std::string& site) {
  return LoadStateDocument<FinderState>(
      store, site, kDocument, "gaps", [](const json& j, FinderState* out) {
        FinderState& s = *out;
        s.cursor = j.at("cursor").get<int64_t>();
        s.resolution_cursor = j.value("resolution_cursor", int64_t{0});
        s.fingerprint = j.at("fingerprint").get<std::vector<float>>();
        auto clusters = QueryClusters::FromJson(j.at("clusters"), GapClusterOptions());
        if (!clusters.ok()) return clusters.status();
        s.clusters = clusters.take();
        for (const json& g : j.at("gaps")) {
          GapState gap;
          gap.id = g.at("id").get<int64_t>();
          gap.open = g.at("open").get<bool>();
          gap.queries = g.at("queries").get<int64_t>();
          gap.sessions = g.at("sessions").get<int64_t>();
          gap.confirmed = g.value("confirmed", int64_t{0});
          for (const json& x : g.at("recent_sessions")) {
            gap.recent_sessions.push_back(x.get<std::string>());
          }
          gap.gap_weight = g.at("gap_weight").get<double>();
          gap.resolved_weight = g.at("resolved_weight").get<double>();
          gap.decay_ms = g.at("decay_ms").get<int64_t>();
          gap.examples = g.at("examples").get<std::vector<std::string>>();
          for (const auto& [route, count] : g.at("pages").items()) {
            gap.pages[route] = count.get<int64_t>();
          }
          gap.first_seen_ms = g.at("first_seen_ms").get<int64_t>();
          gap.last_seen_ms = g.at("last_seen_ms").get<int64_t>();
          gap.label = g.at("label").get<std::string>();
          s.gaps[gap.id] = std::move(gap);
        }
        for (const json& r : j.at("recent")) {
          s.recent.emplace_back(r.at(0).get<std::string>(), r.at(1).get<int64_t>());
          s.recent_index[s.recent.back().first] = s.recent.back().second;
        }
        return Status::Ok();
      });
}

std::string RouteOf(const SignalEvent& e) {
  const json context = json::parse(e.context_json, nullptr, false);
  if (context.is_object()) {
    auto it = context.find("route");
    if (it != context.end() && it->is_string()) return it->get<std::string>();
  }
  return "";
}

void Remember(FinderState* s, const std::string& query_id, int64_t gap) {
  if (query_id.empty()) return;
  s->recent.emplace_back(query_id, gap);
  s->recent_index[query_id] = gap;
  while (s->recent.size() > kQuestionsRemembered) {
    auto it = s->recent_index.find(s->recent.front().first);
    if (it != s->recent_index.end() && it->second == s->recent.front().second) {
      s->recent_index.erase(it);
    }
    s->recent.pop_front();
  }
}

void AddExample(GapState* g, const std::string& text, const std::vector<float>& v,
                const Encoder& encoder) {
  if (g->examples.size() >= kMaxExamples) return;
  for (const std::string& kept : g->examples) {
    if (kept == text) return;
    // The first few distinct questions are kept; past them, only ones that add a new angle.
    if (g->examples.size() < 3) continue;
    const std::vector<float> k = QueryClusters::Embed(encoder, kept);
    float dot = 0;
    for (size_t i = 0; i < k.size() && i < v.size(); ++i) dot += k[i] * v[i];
    if (dot >= kExampleDiversity) return;
  }
  g->examples.push_back(text);
}

void CountSession(GapState* g, const std::string& session) {
  if (session.empty()) return;
  if (std::find(g->recent_sessions.begin(), g->recent_sessions.end(), session) !=
      g->recent_sessions.end()) {
    return;
  }
  ++g->sessions;
  g->recent_sessions.push_back(session);
  if (g->recent_sessions.size() > kSessionsKept) g->recent_sessions.pop_front();
}

void TrimPages(GapState* g) {
  while (g->pages.size() > kMaxPages) {
    auto smallest = g->pages.begin();
    for (auto it = g->pages.begin(); it != g->pages.end(); ++it) {
      if (it->second < smallest->second) smallest = it;
    }
    g->pages.erase(smallest);
  }
}

// Makes room for a new cluster: drops the closed gap, else the open one, with the lowest score.
void Evict(FinderState* s, int64_t now_ms) {
  int64_t victim = 0;
  double worst = 0;
  bool victim_open = true;
  for (const auto& [id, g] : s->gaps) {
    const double score = g.GapScore(now_ms);
    if (!victim || (victim_open && !g.open) || (victim_open == g.open && score < worst)) {
      victim = id;
      worst = score;
      victim_open = g.open;
    }
  }
  if (!victim) return;
  s->clusters.Remove(victim);
  s->gaps.erase(victim);
}

void Merge(FinderState* s, int64_t from, int64_t into, const Encoder& encoder) {
  auto f = s->gaps.find(from);
  auto t = s->gaps.find(into);
  if (f == s->gaps.end() || t == s->gaps.end()) return;
  GapState& a = t->second;
  GapState& b = f->second;
  const int64_t at = std::max(a.decay_ms, b.decay_ms);
  a.gap_weight = Decay(a.gap_weight, a.decay_ms, at) + Decay(b.gap_weight, b.decay_ms, at);
  a.resolved_weight =
      Decay(a.resolved_weight, a.decay_ms, at) + Decay(b.resolved_weight, b.decay_ms, at);
  a.decay_ms = at;
  a.queries += b.queries;
  a.sessions += b.sessions;
  a.confirmed += b.confirmed;
  for (const std::string& session : b.recent_sessions) {
    a.recent_sessions.push_back(session);
    if (a.recent_sessions.size() > kSessionsKept) a.recent_sessions.pop_front();
  }
  for (const std::string& text : b.examples) {
    AddExample(&a, text, QueryClusters::Embed(encoder, text), encoder);
  }
  for (const auto& [route, count] : b.pages) a.pages[route] += count;
  TrimPages(&a);
  a.first_seen_ms = std::min(a.first_seen_ms, b.first_seen_ms);
  a.last_seen_ms = std::max(a.last_seen_ms, b.last_seen_ms);
  a.open = a.open || b.open;
  s->gaps.erase(f);
  for (auto& [query_id, gap] : s->recent) {
    if (gap == from) gap = into;
  }
  for (auto& [query_id, gap] : s->recent_index) {
    if (gap == from) gap = into;
  }
}

// The encoder changed (a new bundle): re-embed each centroid from the gap's examples.
void Reembed(FinderState* s, const Encoder& encoder) {
  for (const auto& [id, g] : s->gaps) {
    std::vector<float> mean;
    for (const std::string& text : g.examples) {
      const std::vector<float> v = QueryClusters::Embed(encoder, text);
      if (v.empty()) continue;
      if (mean.empty()) mean.assign(v.size(), 0.0f);
      for (size_t i = 0; i < v.size(); ++i) mean[i] += v[i];
    }
    double norm = 0;
    for (float x : mean) norm += static_cast<double>(x) * x;
    if (norm < 1e-12) continue;
    for (float& x : mean) x = static_cast<float>(x / std::sqrt(norm));
    s->clusters.Reset(id, mean);
  }
}

// The gap a resolved question belongs to: the one it was counted in, else (given its vector `v`,
// empty when it has no words) the one it is very close to; null when none.
GapState* ResolvedGap(FinderState* s, const std::string& query_id, const std::vector<float>& v) {
  auto known = query_id.empty() ? s->recent_index.end() : s->recent_index.find(query_id);
  int64_t id = known != s->recent_index.end() ? known->second : 0;
  if (!id && !v.empty()) {
    float similarity = 0;
    const int64_t nearest = s->clusters.Nearest(v, &similarity);
    if (nearest && similarity >= GapClusterOptions().join + kResolvedMargin) id = nearest;
  }
  auto g = s->gaps.find(id);
  return g == s->gaps.end() ? nullptr : &g->second;
}

// A helpdesk agent's resolution of an escalated question: with an article, the question was
// answerable after all, which counts towards closing its gap as a customer's "resolved" does;
// with no article, it confirms the gap. Either counts once a question: its remembered gap is
// negated, so it still counts as seen but no longer finds the gap.
void ObserveResolution(FinderState* s, const ResolvedQuery& r, const Encoder& encoder,
                       int64_t now_ms, GapUpdate* update) {
  std::vector<float> v;
  if (!r.text.empty()) v = QueryClusters::Embed(encoder, r.text);
  GapState* g = ResolvedGap(s, r.query_id, v);
  if (!g) return;
  if (auto known = s->recent_index.find(r.query_id); known != s->recent_index.end()) {
    for (auto& [query_id, gap] : s->recent) {
      if (query_id == r.query_id && gap == known->second) gap = -gap;
    }
    known->second = -known->second;
  }
  if (r.article) {
    g->AddWeight(&g->resolved_weight, now_ms);
    ++update->resolved;
  } else {
    ++g->confirmed;
    ++update->confirmed;
  }
}

bool IsGapQuestion(const SignalEvent& e) {
  if (e.type == "escalated" || e.type == "not_helpful") return true;
  if (e.type != "shown") return false;
  const json shown = json::parse(e.shown_json, nullptr, false);
  return shown.is_array() && shown.empty();
}

void Observe(FinderState* s, const SignalEvent& e, const Encoder& encoder, int64_t now_ms,
             GapUpdate* update) {
  const bool gap_question = IsGapQuestion(e);
  if (!gap_question && e.type != "resolved") return;
  const int64_t ts = std::min(e.ts, now_ms);
  auto known = e.query_id.empty() ? s->recent_index.end() : s->recent_index.find(e.query_id);
  if (gap_question && known != s->recent_index.end()) return;  // this question already counts
  if (e.query.empty()) return;
  const std::vector<float> v = QueryClusters::Embed(encoder, e.query);
  if (v.empty()) return;

  if (!gap_question) {
    if (GapState* g = ResolvedGap(s, e.query_id, v)) {
      g->AddWeight(&g->resolved_weight, ts);
      ++update->resolved;
    }
    return;
  }

  int64_t id = s->clusters.Nearest(v);
  if (!id && s->clusters.size() >= kMaxClusters) Evict(s, now_ms);
  id = s->clusters.Add(id, v);
  GapState& g = s->gaps[id];
  if (g.id == 0) {
    g.id = id;
    g.first_seen_ms = ts;
    g.decay_ms = ts;
    ++update->opened;
  }
  ++g.queries;
  CountSession(&g, e.session);
  g.AddWeight(&g.gap_weight, ts);
  AddExample(&g, e.query, v, encoder);
  if (const std::string route = RouteOf(e); !route.empty()) {
    ++g.pages[route];
    TrimPages(&g);
  }
  g.first_seen_ms = std::min(g.first_seen_ms, ts);
  g.last_seen_ms = std::max(g.last_seen_ms, ts);
  Remember(s, e.query_id, id);
  ++update->questions;
}

// Status (with hysteresis) and label of every gap as of now_ms.
void Settle(FinderState* s, const Encoder& encoder, int64_t now_ms, GapUpdate* update) {
  for (auto& [id, g] : s->gaps) {
    const double asked = g.GapScore(now_ms);
    const double resolved = g.ResolvedScore(now_ms);
    if (g.open && resolved >= kCloseMinResolved && resolved >= asked) {
      g.open = false;
      ++update->closed;
    } else if (!g.open && asked > 2 * resolved + kCloseMinResolved) {
      g.open = true;
      ++update->opened;
    }
    float best = -2;
    for (const std::string& text : g.examples) {
      const float similarity = s->clusters.Similarity(id, QueryClusters::Embed(encoder, text));
      if (similarity > best) {
        best = similarity;
        g.label = text;
      }
    }
    if (g.open) ++update->gaps_open;
  }
}

}  // namespace

Result<int64_t> GapsReadUpTo(Store* store, const std::string& site) {
  auto s = Load(store, site);
  if (!s.ok()) return s.status();
  return s.value().cursor;
}

Result<GapUpdate> UpdateGaps(Store* store, const std::string& site, const Engine& engine,
                             int64_t now_ms) {
  // The server's watch and its learning runs both call this; one at a time, so neither works
  // from state the other is about to replace.
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  auto loaded = Load(store, site);
  if (!loaded.ok()) return loaded.status();
  FinderState s = loaded.take();
  const Encoder& encoder = engine.parts().encoder;
  const std::vector<float> fingerprint = EncoderFingerprint(encoder);
  if (!SameFingerprint(fingerprint, s.fingerprint)) {
    Reembed(&s, encoder);
    s.fingerprint = fingerprint;
  }
  GapUpdate update;
  for (;;) {
    auto signals = store->SignalsAfter(site, s.cursor, kReadBatch);
    if (!signals.ok()) return signals.status();
    for (const StoredSignal& signal : signals.value()) {
      Observe(&s, signal.event, encoder, now_ms, &update);
      s.cursor = signal.id;
    }
    update.signals += signals.value().size();
    for (const auto& [from, into] : s.clusters.MergeClose()) Merge(&s, from, into, encoder);
    if (signals.value().size() < kReadBatch) break;
  }
  // Agents resolve escalated questions after they were asked, so after the signals.
  for (;;) {
    auto resolutions = store->ResolutionsAfter(site, s.resolution_cursor, kReadBatch);
    if (!resolutions.ok()) return resolutions.status();
    for (const StoredResolution& r : resolutions.value()) {
      ObserveResolution(&s, r.resolution, encoder, now_ms, &update);
      s.resolution_cursor = r.id;
    }
    if (resolutions.value().size() < kReadBatch) break;
  }
  Settle(&s, encoder, now_ms, &update);
  if (Status st = store->PutDocument(site, kDocument, ToJson(s).dump()); !st.ok()) return st;
  return update;
}

Result<std::vector<Gap>> ListGaps(Store* store, const std::string& site) {
  auto loaded = Load(store, site);
  if (!loaded.ok()) return loaded.status();
  const FinderState& s = loaded.value();
  // Scores are as of the newest question seen, so a quiet week lowers them all alike.
  int64_t now_ms = 0;
  for (const auto& [id, g] : s.gaps) now_ms = std::max(now_ms, g.decay_ms);
  std::vector<Gap> out;
  for (const auto& [id, g] : s.gaps) {
    Gap gap;
    gap.id = id;
    gap.label = g.label;
    gap.status = g.open ? "open" : "closed";
    gap.queries = g.queries;
    gap.sessions = g.sessions;
    gap.confirmed = g.confirmed;
    gap.score = std::round(g.GapScore(now_ms) * 100) / 100;
    gap.examples = g.examples;
    for (const auto& [route, count] : g.pages) gap.pages.push_back({route, count});
    std::stable_sort(gap.pages.begin(), gap.pages.end(),
                     [](const GapPage& a, const GapPage& b) { return a.count > b.count; });
    if (gap.pages.size() > 10) gap.pages.resize(10);
    gap.first_seen_ms = g.first_seen_ms;
    gap.last_seen_ms = g.last_seen_ms;
    out.push_back(std::move(gap));
  }
  std::stable_sort(out.begin(), out.end(), [](const Gap& a, const Gap& b) {
    if ((a.status == "open") != (b.status == "open")) return a.status == "open";
    return a.score > b.score;
  });
  return out;
}

Result<std::optional<std::vector<std::string>>> GapQuestionIds(Store* store,
                                                               const std::string& site,
                                                               int64_t id) {
  auto loaded = Load(store, site);
  if (!loaded.ok()) return loaded.status();
  const FinderState& s = loaded.value();
  if (!s.gaps.count(id)) return std::optional<std::vector<std::string>>();
  std::vector<std::string> ids;
  for (const auto& [query_id, gap] : s.recent) {
    if (gap == id) ids.push_back(query_id);
  }
  return std::optional(std::move(ids));
}

nlohmann::json GapJson(const Gap& gap) {
  json pages = json::array();
  for (const GapPage& p : gap.pages) pages.push_back({{"route", p.route}, {"count", p.count}});
  return {{"id", gap.id},
          {"label", gap.label},
          {"status", gap.status},
          {"queries", gap.queries},
          {"sessions", gap.sessions},
          {"confirmed", gap.confirmed},
          {"score", gap.score},
          {"examples", gap.examples},
          {"pages", pages},
          {"first_seen", IsoTime(gap.first_seen_ms)},
          {"last_seen", IsoTime(gap.last_seen_ms)}};
}

}  // namespace loopwise
