#include "incident_detector.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/tokenizer.h"
#include "logger.h"
#include "query_clusters.h"
#include "state_document.h"

namespace loopwise {
namespace {

using nlohmann::json;

constexpr const char* kDocument = "incidents";
constexpr int64_t kWindowMs = 5 * 60 * 1000;
constexpr int64_t kWindowsPerDay = 24 * 12;
constexpr int kSpan = 12;  // windows of counts kept: the longest test looks back an hour
constexpr int kTestSpans[] = {1, 2, 3, 6, 12};
constexpr size_t kMaxClusterKeys = 200;
constexpr size_t kMaxRouteKeys = 200;
constexpr size_t kMaxWordKeys = 1500;
constexpr size_t kRecentPerKey = 12;  // recent questions per key, for examples and pages
constexpr size_t kMaxRecent = 2000;   // the site's questions of the last hour, at most
constexpr size_t kClustersPerQuestion = 3;
constexpr size_t kMaxIncidents = 200;
constexpr size_t kReadBatch = 20000;
// Every question, whatever its kind: the site's daily rhythm. Never tested itself.
constexpr const char* kAllKey = "t:";

// The test. A key opens an incident when, over the last 1 to 12 windows, its count reaches
// kMinCount and kMinRatio times the baseline, and the chance of a count that high is below
// kMaxTail. That chance is a negative-binomial tail: a Poisson count whose rate is as uncertain as
// the baseline's Gamma posterior, so a baseline learnt from few questions needs more to alarm.
// The posterior weighs kPriorCount questions' worth of the key's all-day level, shaped by the
// whole site's daily rhythm, against the key's own hour-of-day mean over at most kSlotMemory
// windows (what an EWMA of kSlotAlpha remembers): a rare key borrows the site's rhythm, a busy one
// follows its own. Its shape is capped at kMaxShape, as real traffic varies from day to day more
// than any estimate's uncertainty says. The baseline never goes below kFloor a window, so a kind
// of question never seen before needs a real burst to alarm.
constexpr double kMinCount = 7;
constexpr double kMinRatio = 2.5;
constexpr double kMaxTail = 1e-5;
// Word keys are many more, so their test is stricter (kWordMaxTail), but a word never seen before
// has a far lower floor than a cluster (which 3 in 10 questions start): a new word a window is
// rare.
constexpr double kWordMinCount = 5;
constexpr double kWordMaxTail = 1e-6;
constexpr double kWordFloor = 0.02;
constexpr double kFloor = 0.1;
constexpr double kPriorCount = 10;
constexpr double kMaxShape = 100;
// It resolves when the last half hour is back under kResolveRatio x baseline + kResolveSlack.
constexpr double kResolveRatio = 1.5;
constexpr double kResolveSlack = 2;
// An incident resolved this recently is reopened, not raised again, when its page spikes again.
constexpr int64_t kReopenMs = 60 * 60 * 1000;
// Baseline learning: a plain mean for a slot's first observations, then an EWMA; an open incident
// teaches its key's baseline kOpenLearning times as slowly, so a new normal is learned eventually.
constexpr double kSlotAlpha = 0.05;
constexpr double kSlotMemory = 2 / kSlotAlpha - 1;  // 39 windows
constexpr double kLevelAlpha = 1.0 / kWindowsPerDay;
constexpr double kOpenLearning = 0.2;
constexpr int kSlotTrusted = 12;  // observations of the site's hour-of-day slot before it is used

ClusterOptions IncidentClusterOptions() {
  ClusterOptions o;
  o.join = 0.65f;
  o.merge = 0.82f;
  return o;
}

struct Recent {
  int64_t window = 0;
  std::string route;
  std::string text;
  std::string session;
};

struct KeyState {
  int64_t born = 0;                   // first window it was counted in
  std::map<int64_t, int64_t> counts;  // window -> questions, the last kSpan windows and any later
  double slot[24] = {};               // baseline questions a window, per hour of day (UTC)
  int64_t slot_n[24] = {};
  double level = 0;  // baseline questions a window, all hours
  int64_t level_n = 0;
  int64_t incident = 0;  // the open incident's id, 0 when none
  std::deque<Recent> recent;

  // The baseline of `window` and how sure it is: the mean and shape of the Gamma posterior of the
  // key's rate (see kPriorCount); `profile` is the site's rate in that hour of the day over its
  // all-day rate.
  struct Baseline {
    double mean;
    double shape;
  };
  Baseline Expected(int64_t window, double profile, double floor = kFloor) const {
    const int hour = static_cast<int>((window % kWindowsPerDay) / 12);
    const double prior = std::max(level * profile, floor);
    const double n = std::min<double>(static_cast<double>(slot_n[hour]), kSlotMemory);
    const double a = kPriorCount + slot[hour] * n;
    const double b = kPriorCount / prior + n;
    return {std::max(a / b, floor), std::min(a, kMaxShape)};
  }
  int64_t Count(int64_t window) const {
    auto it = counts.find(window);
    return it == counts.end() ? 0 : it->second;
  }
};

struct DetectorState {
  int64_t cursor = 0;
  std::vector<float> fingerprint;
  QueryClusters clusters{IncidentClusterOptions()};
  int64_t first_window = -1;             // the site's first window with a question
  int64_t next_window = -1;              // the next window to close
  std::map<std::string, KeyState> keys;  // "c:<cluster>", "a:<article>", "r:<route>", "t:"
  std::vector<Incident> incidents;       // oldest first
  int64_t next_incident = 1;
  // Every question of the last hour: word keys, being many, keep none of their own and find
  // their examples, pages and sessions here.
  std::deque<Recent> recent;

  // The site's rate of questions in `window`'s hour of day over its all-day rate (1 until known).
  double Profile(int64_t window) const {
    auto it = keys.find(kAllKey);
    if (it == keys.end()) return 1;
    const KeyState& all = it->second;
    const int hour = static_cast<int>((window % kWindowsPerDay) / 12);
    if (all.slot_n[hour] < kSlotTrusted || all.level <= 0) return 1;
    return all.slot[hour] / all.level;
  }
};

json StoredIncident(const Incident& i) {
  json pages = json::array();
  for (const GapPage& p : i.pages) pages.push_back({p.route, p.count});
  return {{"id", i.id},
          {"status", i.status},
          {"label", i.label},
          {"route", i.route},
          {"count", i.count},
          {"baseline", i.baseline},
          {"first_seen_ms", i.first_seen_ms},
          {"last_seen_ms", i.last_seen_ms},
          {"resolved_ms", i.resolved_ms},
          {"examples", i.examples},
          {"pages", pages}};
}

Incident IncidentFromJson(const json& j) {
  Incident i;
  i.id = j.at("id").get<int64_t>();
  i.status = j.at("status").get<std::string>();
  i.label = j.at("label").get<std::string>();
  i.route = j.at("route").get<std::string>();
  i.count = j.at("count").get<int64_t>();
  i.baseline = j.at("baseline").get<double>();
  i.first_seen_ms = j.at("first_seen_ms").get<int64_t>();
  i.last_seen_ms = j.at("last_seen_ms").get<int64_t>();
  i.resolved_ms = j.at("resolved_ms").get<int64_t>();
  i.examples = j.at("examples").get<std::vector<std::string>>();
  for (const json& p : j.at("pages")) i.pages.push_back({p.at(0), p.at(1)});
  return i;
}

bool IsWord(const std::string& key) {
  return key.compare(0, 2, "w:") == 0;
}

double FloorOf(const std::string& key) {
  return IsWord(key) ? kWordFloor : kFloor;
}

json RecentJson(const std::deque<Recent>& list) {
  json recent = json::array();
  for (const Recent& r : list) recent.push_back({r.window, r.route, r.text, r.session});
  return recent;
}

std::deque<Recent> RecentFromJson(const json& j) {
  std::deque<Recent> list;
  for (const json& r : j) {
    list.push_back({r.at(0).get<int64_t>(), r.at(1).get<std::string>(), r.at(2).get<std::string>(),
                    r.at(3).get<std::string>()});
  }
  return list;
}

json KeyJson(const KeyState& k) {
  json counts = json::array();
  for (const auto& [w, c] : k.counts) counts.push_back({w, c});
  const json recent = RecentJson(k.recent);
  json out = {{"born", k.born},       {"counts", counts},       {"level", k.level},
              {"level_n", k.level_n}, {"incident", k.incident}, {"recent", recent}};
  if (std::any_of(std::begin(k.slot_n), std::end(k.slot_n), [](int64_t n) { return n > 0; })) {
    json slot = json::array(), slot_n = json::array();
    for (int h = 0; h < 24; ++h) {
      slot.push_back(std::round(k.slot[h] * 1e4) / 1e4);
      slot_n.push_back(k.slot_n[h]);
    }
    out["slot"] = slot;
    out["slot_n"] = slot_n;
  }
  return out;
}

KeyState KeyFromJson(const json& j) {
  KeyState k;
  k.born = j.at("born").get<int64_t>();
  for (const json& c : j.at("counts")) k.counts[c.at(0).get<int64_t>()] = c.at(1).get<int64_t>();
  for (int h = 0; j.contains("slot") && h < 24; ++h) {  // none for a key without them
    k.slot[h] = j.at("slot").at(h).get<double>();
    k.slot_n[h] = j.at("slot_n").at(h).get<int64_t>();
  }
  k.level = j.at("level").get<double>();
  k.level_n = j.at("level_n").get<int64_t>();
  k.incident = j.at("incident").get<int64_t>();
  k.recent = RecentFromJson(j.at("recent"));
  return k;
}

json ToJson(const DetectorState& s) {
  json keys = json::object();
  for (const auto& [name, k] : s.keys) keys[name] = KeyJson(k);
  json incidents = json::array();
  for (const Incident& i : s.incidents) incidents.push_back(StoredIncident(i));
  return {{"format", 1},
          {"cursor", s.cursor},
          {"fingerprint", s.fingerprint},
          {"clusters", s.clusters.ToJson()},
          {"first_window", s.first_window},
          {"next_window", s.next_window},
          {"keys", keys},
          {"incidents", incidents},
          {"next_incident", s.next_incident},
          {"recent", RecentJson(s.recent)}};
}

Result<DetectorState> Load(Store* store, const std::string& site) {
  return LoadStateDocument<DetectorState>(
      store, site, kDocument, "incidents", [](const json& j, DetectorState* out) {
        DetectorState& s = *out;
        s.cursor = j.at("cursor").get<int64_t>();
        s.fingerprint = j.at("fingerprint").get<std::vector<float>>();
        auto clusters = QueryClusters::FromJson(j.at("clusters"), IncidentClusterOptions());
        if (!clusters.ok()) return clusters.status();
        s.clusters = clusters.take();
        s.first_window = j.at("first_window").get<int64_t>();
        s.next_window = j.at("next_window").get<int64_t>();
        for (const auto& [name, k] : j.at("keys").items()) s.keys[name] = KeyFromJson(k);
        for (const json& i : j.at("incidents")) s.incidents.push_back(IncidentFromJson(i));
        s.next_incident = j.at("next_incident").get<int64_t>();
        if (j.contains("recent")) s.recent = RecentFromJson(j.at("recent"));
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

Incident* FindIncident(DetectorState* s, int64_t id) {
  for (Incident& i : s->incidents) {
    if (i.id == id) return &i;
  }
  return nullptr;
}

// Drops the key with the smallest baseline and no open incident among keys starting with
// `prefix`, when there are `limit` of them already. Keys born within the last hour are kept: their
// baseline is still being learned, and a new kind of question is what the detector is for.
void MakeRoom(DetectorState* s, const std::string& prefix, size_t limit, int64_t window) {
  size_t n = 0;
  std::string victim;
  double lowest = 0;
  for (const auto& [name, k] : s->keys) {
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    ++n;
    if (k.incident || k.born > window - kSpan) continue;
    if (victim.empty() || k.level < lowest) {
      victim = name;
      lowest = k.level;
    }
  }
  if (n < limit || victim.empty()) return;
  if (prefix == "c:") s->clusters.Remove(std::stoll(victim.substr(2)));
  s->keys.erase(victim);
}

// Counts a question towards a key. One customer rephrasing the same question is one question: a
// session counts once per key and window.
void Count(DetectorState* s, const std::string& name, int64_t window, const SignalEvent& e,
           const std::string& route) {
  KeyState& k = s->keys[name];
  if (k.counts.empty() && k.level_n == 0 && k.born == 0) k.born = window;
  if (!e.session.empty()) {
    for (const Recent& r : k.recent) {
      if (r.window == window && r.session == e.session) return;
    }
  }
  ++k.counts[window];
  k.recent.push_back({window, route, e.query, e.session});
  if (k.recent.size() > kRecentPerKey) k.recent.pop_front();
}

// The words a question counts towards: distinct, at least 3 bytes, not numbers.
std::set<std::string> Words(const std::string& text) {
  std::set<std::string> words;
  for (std::string& w : Tokenize(text)) {
    if (w.size() >= 3 && w.find_first_not_of("0123456789") != std::string::npos) {
      words.insert(std::move(w));
    }
  }
  return words;
}

// `now_ms` bounds the signal's time: a browser's clock set in the future must not move the
// detector's windows past the present (where nothing would ever be judged again).
void Observe(DetectorState* s, const SignalEvent& e, const Engine& engine, int64_t now_ms) {
  const Encoder& encoder = engine.parts().encoder;
  if (e.type != "query") return;
  const int64_t window = std::min(e.ts, now_ms) / kWindowMs;
  if (s->first_window < 0) {
    s->first_window = window;
    s->next_window = window;
  }
  // Too late to matter for a spike: its windows have been judged.
  if (window < s->next_window - kSpan) return;
  const std::string route = RouteOf(e);
  if (!e.query.empty()) {
    const std::vector<float> v = QueryClusters::Embed(encoder, e.query);
    if (!v.empty()) {
      // A kind of question often spans a few neighbouring clusters; the question counts towards
      // each of the closest ones, so a burst is not diluted across them.
      std::vector<int64_t> near = s->clusters.Within(v, IncidentClusterOptions().join);
      if (near.empty()) MakeRoom(s, "c:", kMaxClusterKeys, window);
      const int64_t id = s->clusters.Add(near.empty() ? 0 : near[0], v);
      Count(s, "c:" + std::to_string(id), window, e, route);
      for (size_t i = 1; i < near.size() && i < kClustersPerQuestion; ++i) {
        Count(s, "c:" + std::to_string(near[i]), window, e, route);
      }
    }
  }
  if (!e.query.empty()) {
    // The article the site's own engine answers with is a cluster the knowledge base defines:
    // stable, and the same for every phrasing it recognises. Declined questions share one key.
    const SearchResult answer = engine.Search(e.query, SearchContext{route}, 1);
    const std::string article =
        answer.gap || answer.ranked.empty() ? "" : engine.articles()[answer.ranked[0].article].id;
    Count(s, "a:" + article, window, e, route);
  }
  // Its words: a new kind of question brings its own words ("ticket", "podcast", an error code)
  // before its phrasings settle into a cluster. A word first seen now is taken to have been
  // absent until now, so its baseline starts near zero rather than at its first window's count.
  // A session counts once per word and window, as for every key.
  std::set<std::string> counted;
  if (!e.session.empty()) {
    for (const Recent& r : s->recent) {
      if (r.window != window || r.session != e.session) continue;
      counted.merge(Words(r.text));
    }
  }
  for (const std::string& word : Words(e.query)) {
    if (counted.count(word)) continue;
    const std::string name = "w:" + word;
    auto it = s->keys.find(name);
    if (it == s->keys.end()) {
      MakeRoom(s, "w:", kMaxWordKeys, window);
      it = s->keys.emplace(name, KeyState{}).first;
      it->second.born = window;
      it->second.level_n = std::clamp<int64_t>(window - s->first_window, 0, kWindowsPerDay);
    }
    ++it->second.counts[window];
  }
  s->recent.push_back({window, route, e.query, e.session});
  while (!s->recent.empty() &&
         (s->recent.size() > kMaxRecent || s->recent.front().window <= window - kSpan)) {
    s->recent.pop_front();
  }
  Count(s, kAllKey, window, e, route);
  if (!route.empty()) {
    if (!s->keys.count("r:" + route)) MakeRoom(s, "r:", kMaxRouteKeys, window);
    Count(s, "r:" + route, window, e, route);
  }
}

void MergeKeys(DetectorState* s, int64_t from, int64_t into) {
  auto f = s->keys.find("c:" + std::to_string(from));
  if (f == s->keys.end()) return;
  KeyState& a = s->keys["c:" + std::to_string(into)];
  KeyState& b = f->second;
  a.born = a.born ? std::min(a.born, b.born) : b.born;
  for (const auto& [w, c] : b.counts) a.counts[w] += c;
  for (int h = 0; h < 24; ++h) {
    a.slot[h] += b.slot[h];
    a.slot_n[h] = std::max(a.slot_n[h], b.slot_n[h]);
  }
  a.level += b.level;
  a.level_n = std::max(a.level_n, b.level_n);
  if (!a.incident) a.incident = b.incident;
  for (const Recent& r : b.recent) a.recent.push_back(r);
  std::stable_sort(a.recent.begin(), a.recent.end(),
                   [](const Recent& x, const Recent& y) { return x.window < y.window; });
  while (a.recent.size() > kRecentPerKey) a.recent.pop_front();
  s->keys.erase(f);
}

// Examples (distinct texts, newest first) and pages of a key's questions since `from_window`.
void Describe(const std::deque<Recent>& recent, int64_t from_window, Incident* incident) {
  std::map<std::string, int64_t> pages;
  std::vector<std::string> examples;
  for (auto it = recent.rbegin(); it != recent.rend(); ++it) {
    if (it->window < from_window) break;
    if (!it->route.empty()) ++pages[it->route];
    if (!it->text.empty() && examples.size() < 5 &&
        std::find(examples.begin(), examples.end(), it->text) == examples.end()) {
      examples.push_back(it->text);
    }
  }
  incident->examples = examples;
  incident->pages.clear();
  for (const auto& [route, count] : pages) incident->pages.push_back({route, count});
  std::stable_sort(incident->pages.begin(), incident->pages.end(),
                   [](const GapPage& a, const GapPage& b) { return a.count > b.count; });
  if (incident->pages.size() > 10) incident->pages.resize(10);
}

// The most central recent question of a cluster key.
std::string ClusterLabel(const DetectorState& s, int64_t cluster, const Incident& incident,
                         const Encoder& encoder) {
  std::string best_text = incident.examples.empty() ? "" : incident.examples.front();
  float best = -2;
  for (const std::string& text : incident.examples) {
    const float sim = s.clusters.Similarity(cluster, QueryClusters::Embed(encoder, text));
    if (sim > best) {
      best = sim;
      best_text = text;
    }
  }
  return best_text;
}

// The example most similar to the others (the medoid): the label of an article or page spike.
std::string CentralExample(const std::vector<std::string>& examples, const Encoder& encoder) {
  std::vector<std::vector<float>> vectors;
  for (const std::string& e : examples) vectors.push_back(QueryClusters::Embed(encoder, e));
  std::string best_text = examples.empty() ? "" : examples.front();
  float best = -1e9f;
  for (size_t i = 0; i < vectors.size(); ++i) {
    float total = 0;
    for (size_t j = 0; j < vectors.size(); ++j) {
      for (size_t d = 0; d < vectors[i].size() && d < vectors[j].size(); ++d) {
        total += vectors[i][d] * vectors[j][d];
      }
    }
    if (total > best) {
      best = total;
      best_text = examples[i];
    }
  }
  return best_text;
}

// Tests a key at the close of `window`; opens an incident when it spikes.
void Test(DetectorState* s, const std::string& name, KeyState* k, int64_t window,
          const Encoder& encoder, std::vector<Incident>* opened) {
  // Keys the site had in its first day wait for a day of baseline.
  if (k->born < s->first_window + kWindowsPerDay && window < s->first_window + kWindowsPerDay) {
    return;
  }
  const bool word_key = IsWord(name);
  int64_t observed = 0;
  double expected = 0, shape = kMaxShape;
  for (int span = 1, t = 0; span <= kSpan; ++span) {
    const KeyState::Baseline b =
        k->Expected(window - span + 1, s->Profile(window - span + 1), FloorOf(name));
    observed += k->Count(window - span + 1);
    expected += b.mean;
    shape = std::min(shape, b.shape);
    if (span != kTestSpans[t]) continue;
    ++t;
    if (observed < (word_key ? kWordMinCount : kMinCount) || observed < kMinRatio * expected) {
      continue;
    }
    const double tail = NegativeBinomialUpperTail(observed, expected, shape);
    if (tail > (word_key ? kWordMaxTail : kMaxTail)) continue;
    const bool route_key = name.compare(0, 2, "r:") == 0;
    std::deque<Recent> with_word;
    if (word_key) {
      const std::string word = name.substr(2);
      for (const Recent& r : s->recent) {
        if (Words(r.text).count(word)) with_word.push_back(r);
      }
    }
    const std::deque<Recent>& recent = word_key ? with_word : k->recent;
    Incident incident;
    incident.status = "open";
    incident.count = observed;
    incident.baseline = std::round(expected * 100) / 100;
    const int64_t from = window - span + 1;
    incident.first_seen_ms = from * kWindowMs;
    for (const Recent& r : recent) {
      if (r.window >= from) {
        incident.first_seen_ms = std::max(incident.first_seen_ms, r.window * kWindowMs);
        break;
      }
    }
    incident.last_seen_ms = (window + 1) * kWindowMs;
    Describe(recent, from, &incident);
    if (route_key) {
      incident.route = name.substr(2);
    } else {
      incident.route = incident.pages.empty() ? "" : incident.pages.front().route;
    }
    incident.label = name.compare(0, 2, "c:") == 0
                         ? ClusterLabel(*s, std::stoll(name.substr(2)), incident, encoder)
                         : CentralExample(incident.examples, encoder);
    if (incident.label.empty()) incident.label = "Questions on " + incident.route;
    // One incident a page at a time: the same spike seen by its cluster, its article and its
    // route is one incident, named by the first. A spike often moves between the keys that see it
    // (neighbouring clusters): one that ended within the hour on the same page is taken up again by
    // this key, not raised twice.
    for (Incident& other : s->incidents) {
      if (other.route != incident.route) continue;
      if (other.status == "open") return;
      if (other.resolved_ms >= (window + 1) * kWindowMs - kReopenMs) {
        other.status = "open";
        other.resolved_ms = 0;
        other.count = std::max(other.count, incident.count);
        other.last_seen_ms = incident.last_seen_ms;
        k->incident = other.id;
        return;
      }
    }
    incident.id = s->next_incident++;
    k->incident = incident.id;
    s->incidents.push_back(incident);
    opened->push_back(incident);
    return;
  }
}

// While open: follow the incident's size; resolve once the last half hour is near baseline.
void Follow(DetectorState* s, const std::string& name, KeyState* k, int64_t window) {
  Incident* incident = FindIncident(s, k->incident);
  if (!incident || incident->status != "open") {
    k->incident = 0;
    return;
  }
  int64_t observed = 0;
  double expected = 0;
  for (int span = 1; span <= 6; ++span) {
    observed += k->Count(window - span + 1);
    expected += k->Expected(window - span + 1, s->Profile(window - span + 1), FloorOf(name)).mean;
  }
  if (k->Count(window) > 0) incident->last_seen_ms = (window + 1) * kWindowMs;
  int64_t hour = 0;
  for (int span = 1; span <= kSpan; ++span) hour += k->Count(window - span + 1);
  incident->count = std::max(incident->count, hour);
  if (observed <= kResolveRatio * expected + kResolveSlack) {
    incident->status = "resolved";
    incident->resolved_ms = (window + 1) * kWindowMs;
    k->incident = 0;
  }
}

// A word key learns its all-day level only: words are many and mostly rare, and the site's daily
// rhythm shapes that level well enough (see KeyState::Expected).
void Learn(KeyState* k, int64_t window, bool by_hour) {
  const double c = static_cast<double>(k->Count(window));
  const double rate = k->incident ? kOpenLearning : 1.0;
  if (by_hour) {
    const int hour = static_cast<int>((window % kWindowsPerDay) / 12);
    int64_t& n = k->slot_n[hour];
    const double slot_alpha = n < 1.0 / kSlotAlpha ? 1.0 / static_cast<double>(n + 1) : kSlotAlpha;
    k->slot[hour] += rate * slot_alpha * (c - k->slot[hour]);
    ++n;
  }
  const double level_alpha =
      k->level_n < kWindowsPerDay ? 1.0 / static_cast<double>(k->level_n + 1) : kLevelAlpha;
  k->level += rate * level_alpha * (c - k->level);
  ++k->level_n;
}

void CloseWindow(DetectorState* s, int64_t window, const Encoder& encoder,
                 std::vector<Incident>* opened) {
  // Cluster keys first, so a spike in one kind of question is named by its cluster, not its page.
  for (const char* prefix : {"c:", "w:", "a:", "r:"}) {
    for (auto& [name, k] : s->keys) {
      if (name.compare(0, 2, prefix) != 0 || k.born > window) continue;
      if (k.incident) {
        Follow(s, name, &k, window);
      } else {
        Test(s, name, &k, window, encoder, opened);
      }
    }
  }
  for (auto& [name, k] : s->keys) {
    if (k.born > window) continue;
    Learn(&k, window, !IsWord(name));
    k.counts.erase(k.counts.begin(), k.counts.lower_bound(window - kSpan + 1));
  }
}

}  // namespace

double NegativeBinomialUpperTail(int64_t k, double mean, double shape) {
  if (k <= 0) return 1;
  if (mean <= 0) return 0;
  const double q = mean / (mean + shape);  // P(X = i + 1) / P(X = i) tends to q
  const double kd = static_cast<double>(k);
  double log_term = std::lgamma(kd + shape) - std::lgamma(shape) - std::lgamma(kd + 1) +
                    shape * std::log1p(-q) + kd * std::log(q);
  double sum = 0;
  for (int64_t i = k; i < k + 10000; ++i) {
    const double term = std::exp(log_term);
    sum += term;
    if (term < sum * 1e-12) break;
    const double id = static_cast<double>(i);
    log_term += std::log((id + shape) / (id + 1) * q);
  }
  return std::min(1.0, sum);
}

Result<int64_t> IncidentsReadUpTo(Store* store, const std::string& site) {
  auto s = Load(store, site);
  if (!s.ok()) return s.status();
  return s.value().cursor;
}

Result<std::vector<Incident>> UpdateIncidents(Store* store, const std::string& site,
                                              const Engine& engine, int64_t now_ms) {
  // The server's watch and its learning runs both call this; one at a time, so neither works
  // from state the other is about to replace.
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  auto loaded = Load(store, site);
  if (!loaded.ok()) return loaded.status();
  DetectorState s = loaded.take();
  const Encoder& encoder = engine.parts().encoder;
  const std::vector<float> fingerprint = EncoderFingerprint(encoder);
  if (!SameFingerprint(fingerprint, s.fingerprint)) {
    // A new encoder moves every question: start the clusters afresh from their recent questions
    // rather than compare new vectors with old centroids.
    for (const int64_t id : s.clusters.ids()) {
      auto k = s.keys.find("c:" + std::to_string(id));
      std::vector<float> mean;
      if (k != s.keys.end()) {
        for (const Recent& r : k->second.recent) {
          const std::vector<float> v = QueryClusters::Embed(encoder, r.text);
          if (v.empty()) continue;
          if (mean.empty()) mean.assign(v.size(), 0.0f);
          for (size_t i = 0; i < v.size(); ++i) mean[i] += v[i];
        }
      }
      double norm = 0;
      for (float x : mean) norm += static_cast<double>(x) * x;
      if (norm < 1e-12) continue;
      for (float& x : mean) x = static_cast<float>(x / std::sqrt(norm));
      s.clusters.Reset(id, mean);
    }
    s.fingerprint = fingerprint;
  }
  std::vector<Incident> opened;
  for (;;) {
    auto signals = store->SignalsAfter(site, s.cursor, kReadBatch);
    if (!signals.ok()) return signals.status();
    for (const StoredSignal& signal : signals.value()) {
      // Close the windows this signal's time has passed, so they are judged before it counts.
      const int64_t until = std::min(signal.event.ts, now_ms) / kWindowMs;
      while (s.next_window >= 0 && s.next_window < until) {
        CloseWindow(&s, s.next_window++, encoder, &opened);
      }
      Observe(&s, signal.event, engine, now_ms);
      s.cursor = signal.id;
    }
    for (const auto& [from, into] : s.clusters.MergeClose()) MergeKeys(&s, from, into);
    if (signals.value().size() < kReadBatch) break;
  }
  while (s.next_window >= 0 && (s.next_window + 1) * kWindowMs <= now_ms) {
    CloseWindow(&s, s.next_window++, encoder, &opened);
  }
  // Keep the open incidents and the newest resolved ones.
  while (s.incidents.size() > kMaxIncidents) {
    auto oldest = std::find_if(s.incidents.begin(), s.incidents.end(),
                               [](const Incident& i) { return i.status != "open"; });
    if (oldest == s.incidents.end()) break;
    s.incidents.erase(oldest);
  }
  if (Status st = store->PutDocument(site, kDocument, ToJson(s).dump()); !st.ok()) return st;
  return opened;
}

Result<std::vector<Incident>> ListIncidents(Store* store, const std::string& site) {
  auto loaded = Load(store, site);
  if (!loaded.ok()) return loaded.status();
  std::vector<Incident> out = loaded.value().incidents;
  std::stable_sort(out.begin(), out.end(), [](const Incident& a, const Incident& b) {
    if ((a.status == "open") != (b.status == "open")) return a.status == "open";
    return a.id > b.id;
  });
  return out;
}

nlohmann::json IncidentJson(const Incident& incident) {
  json pages = json::array();
  for (const GapPage& p : incident.pages) pages.push_back({{"route", p.route}, {"count", p.count}});
  return {{"id", incident.id},
          {"status", incident.status},
          {"label", incident.label},
          {"route", incident.route},
          {"count", incident.count},
          {"baseline", incident.baseline},
          {"first_seen", IsoTime(incident.first_seen_ms)},
          {"last_seen", IsoTime(incident.last_seen_ms)},
          {"resolved_at", incident.resolved_ms ? json(IsoTime(incident.resolved_ms)) : json()},
          {"examples", incident.examples},
          {"pages", pages}};
}

}  // namespace loopwise
