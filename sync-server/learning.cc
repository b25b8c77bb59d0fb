#include "learning.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "engine/context.h"
#include "engine/context_json.h"
#include "engine/tokenizer.h"
#include "engine/vector_math.h"
#include "gap_finder.h"
#include "incident_detector.h"
#include "logger.h"
#include "state_document.h"
#include "utf8.h"

namespace loopwise {
namespace {

using nlohmann::json;
constexpr size_t kSignalPage = 20000;
// The widget asks the engine for this many answers and shows the first three after re-ranking
// them (web/widget/panel.ts), so a shown article is always among them.
constexpr size_t kWidgetCandidates = 10;
constexpr size_t kExamplesPerChange = 3;
constexpr const char* kRunsDocument = "learning_runs";

// The engine of a kept bundle, or nothing when its file is gone or does not load.
std::optional<Engine> LoadKept(BundleFiles* files, const std::string& sha256) {
  auto bytes = files->Get(sha256, false);
  if (!bytes.ok()) return std::nullopt;
  auto e =
      Engine::Load(reinterpret_cast<const uint8_t*>(bytes.value()->data()), bytes.value()->size());
  if (!e.ok()) return std::nullopt;
  return e.take();
}

// Only a revert rejects a change that a version published.
bool Reverted(const LearnedChange& c) {
  return c.status == "rejected" && c.version != 0;
}

std::string IsoOrNull(int64_t ms) {
  return ms ? IsoTime(ms) : std::string();
}

// Folds one signal into its question's observation.
void Apply(const SignalEvent& e, Observation* o) {
  if (o->session.empty()) o->session = e.session;
  if (o->ts == 0) o->ts = e.ts;
  if (o->text.empty() && !e.query.empty()) o->text = e.query;
  if (o->bundle.empty() && !e.bundle.empty()) o->bundle = e.bundle;
  if (o->confidence < 0 && e.confidence) o->confidence = *e.confidence;
  if (o->route.empty() && o->segments.empty()) {
    const json context = json::parse(e.context_json, nullptr, false);
    if (context.is_object()) {
      auto it = context.find("route");
      if (it != context.end() && it->is_string()) o->route = FoldRoute(it->get<std::string>());
      o->segments = ContextSegments(context);
    }
  }
  // What the customer was shown, in the order first shown (later events may add more answers).
  if (!e.shown_json.empty()) {
    const json shown = json::parse(e.shown_json, nullptr, false);
    if (shown.is_array()) {
      for (const auto& s : shown) {
        if (!s.is_string()) continue;
        std::string id = s.get<std::string>();
        if (std::find(o->shown.begin(), o->shown.end(), id) == o->shown.end())
          o->shown.push_back(std::move(id));
      }
    }
  }
  if (e.type == "resolved" && !e.article.empty()) {
    o->resolved = e.article;
  } else if (e.type == "not_helpful" && !e.article.empty()) {
    if (std::find(o->not_helpful.begin(), o->not_helpful.end(), e.article) == o->not_helpful.end())
      o->not_helpful.push_back(e.article);
  } else if (e.type == "escalated") {
    o->escalated = true;
  }
}

uint64_t Fnv(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string Quote(const std::string& text, size_t max = 80) {
  std::string t = text.size() > max ? Utf8Prefix(text, max) + "..." : text;
  return "'" + t + "'";
}

}  // namespace

bool LiveDrop(const VersionRate& current, const VersionRate& previous,
              const LearningOptions& options) {
  if (current.questions < options.rollback_min_questions ||
      previous.questions < options.rollback_min_questions) {
    return false;
  }
  return current.rate() < previous.rate() - options.rollback_drop;
}

json LearningReport::ToJson() const {
  json j = {{"trained", true},
            {"outcome", outcome},
            {"signals", signals},
            {"resolutions", resolutions},
            {"questions", questions},
            {"accepted", accepted},
            {"merged", merged},
            {"rejected", rejected},
            {"waiting", waiting},
            {"changes", changes},
            {"build_ms", static_cast<int64_t>(build_ms)},
            {"total_ms", static_cast<int64_t>(total_ms)},
            {"operations", operations}};
  j["replay"] = {{"questions", replay.questions}, {"current", replay.current},
                 {"candidate", replay.candidate}, {"pass", replay.pass},
                 {"compared", replay.compared},   {"note", replay.note}};
  if (context_weights.fitted) {
    j["ranker"] = {{"page_weight", context_weights.page},
                   {"prior_weight", context_weights.prior},
                   {"questions", context_weights.questions}};
  }
  j["version"] = published ? json(published->version) : json(nullptr);
  j["rolled_back_to"] = rolled_back_to ? json(rolled_back_to->version) : json(nullptr);
  if (finished) j["finished"] = finished->version;
  if (!rollback_note.empty()) j["rollback_note"] = rollback_note;
  return j;
}

json ChangeJson(const LearnedChange& c) {
  json examples = json::parse(c.examples_json, nullptr, false);
  if (!examples.is_array()) examples = json::array();
  json j = {{"id", c.id},
            {"kind", c.kind},
            {"status", c.status},
            {"summary", c.summary},
            {"article", c.article},
            {"examples", examples},
            {"evidence",
             {{"sessions", c.sessions}, {"resolved", c.resolved}, {"not_helpful", c.not_helpful}}},
            {"created_at", IsoTime(c.created_at_ms)},
            {"note", c.note}};
  j["decided_at"] = c.decided_at_ms ? json(IsoOrNull(c.decided_at_ms)) : json(nullptr);
  j["version"] = c.version ? json(c.version) : json(nullptr);
  return j;
}

namespace {

// Runs fn holding the site's learning lock (see Store::Exclusively).
template <typename T, typename Fn>
Result<T> UnderLearningLock(Store* store, const std::string& site, Fn fn) {
  std::optional<Result<T>> out;
  auto held = store->Exclusively(site, "learning", true, [&] { out.emplace(fn()); });
  if (!held.ok()) return held.status();
  return std::move(*out);
}

}  // namespace

Result<json> LearningRuns(Store* store, const std::string& site) {
  auto runs = LoadStateDocument<json>(store, site, kRunsDocument, "learning runs",
                                      [](const json& j, json* out) {
                                        *out = j.at("runs");
                                        if (!out->is_array()) throw std::runtime_error("no list");
                                        return Status::Ok();
                                      });
  if (runs.ok() && runs.value().is_null()) return json::array();  // none recorded yet
  return runs;
}

Result<LearningReport> Learner::Run(const std::string& site, int64_t now_ms,
                                    const ProgressFn& progress) {
  return UnderLearningLock<LearningReport>(store_, site, [&]() -> Result<LearningReport> {
    auto report = RunLocked(site, now_ms, progress);
    if (!report.ok() || !report.value().Eventful()) return report;
    // Recorded after the run's own writes: a crash in between loses the record, never the run.
    auto runs = LearningRuns(store_, site);
    Status kept = runs.status();
    if (runs.ok()) {
      json entry = report.value().ToJson();
      entry.erase("trained");
      entry["at"] = IsoTime(now_ms);
      json list = json::array({entry});
      for (json& r : runs.value()) {
        if (list.size() == kKeptRuns) break;
        list.push_back(std::move(r));
      }
      kept = store_->PutDocument(site, kRunsDocument, json{{"format", 1}, {"runs", list}}.dump());
    }
    if (!kept.ok()) {
      LogWarning("learning run not recorded", {{"site", site}, {"error", kept.message()}});
    }
    return report;
  });
}

Result<std::vector<LearnedChange>> Learner::Decide(const std::string& site,
                                                   std::optional<int64_t> id, bool approve,
                                                   int64_t now_ms) {
  return UnderLearningLock<std::vector<LearnedChange>>(
      store_, site, [&] { return DecideLocked(site, id, approve, now_ms); });
}

Result<Version> Learner::Rollback(const std::string& site, std::optional<int64_t> version,
                                  int64_t now_ms) {
  return UnderLearningLock<Version>(store_, site,
                                    [&] { return RollbackLocked(site, version, now_ms); });
}

Result<Version> Learner::Revert(const std::string& site, int64_t id, int64_t now_ms) {
  return UnderLearningLock<Version>(store_, site, [&] { return RevertLocked(site, id, now_ms); });
}

Result<LearningReport> Learner::RunLocked(const std::string& site, int64_t now_ms,
                                          const ProgressFn& progress) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto start = std::chrono::steady_clock::now();
  auto stage = [&](const std::string& name, double share) {
    if (progress) progress(name, share);
  };
  LearningReport report;

  auto found = store_->FindSite(site);
  if (!found.ok()) return found.status();
  if (!found.value()) return Status::Error("there is no site \"" + site + "\"");
  const bool autonomous = found.value()->mode == "autonomous";
  GuardrailOptions guardrails = options_.guardrails;
  guardrails.verified_only = found.value()->identity == "required";
  auto finished = FinishPublication(site);
  if (!finished.ok()) return finished.status();
  report.finished = finished.value();
  auto current = store_->CurrentVersion(site);
  if (!current.ok()) return current.status();
  if (!current.value()) {
    return Status::Error("site \"" + site +
                         "\" has no published version to learn from; publish it first");
  }
  auto bytes = files_->Get(current.value()->sha256, false);
  if (!bytes.ok()) return bytes.status();
  auto loaded =
      Engine::Load(reinterpret_cast<const uint8_t*>(bytes.value()->data()), bytes.value()->size());
  if (!loaded.ok()) {
    return Status::Error("the current bundle does not load: " + loaded.status().message());
  }
  const Engine& engine = loaded.value();

  // 1. Join new signals and resolutions into observations.
  auto cursor = store_->GetLearningCursor(site);
  if (!cursor.ok()) return cursor.status();
  LearningCursor next = cursor.value();
  auto rows = store_->LearningOutcomes(site);
  if (!rows.ok()) return rows.status();
  auto overruled = FinishOverruling(site, rows.value());
  if (!overruled.ok()) return overruled.status();
  if (overruled.value()) {
    rows = store_->LearningOutcomes(site);  // as the overruling left them
    if (!rows.ok()) return rows.status();
  }
  std::vector<Observation> obs;
  std::unordered_map<std::string, size_t> by_query;
  for (const LearningOutcome& row : rows.value()) {
    by_query.emplace(row.query_id, obs.size());
    obs.push_back(ObservationOf(row));
  }
  std::set<size_t> dirty;
  auto observation = [&](const std::string& query_id) -> size_t {
    auto [it, added] = by_query.emplace(query_id, obs.size());
    if (added) {
      obs.emplace_back();
      obs.back().query_id = query_id;
    }
    dirty.insert(it->second);
    return it->second;
  };
  stage("reading signals", 0);
  for (;;) {
    auto page = store_->SignalsAfter(site, next.signals, kSignalPage);
    if (!page.ok()) return page.status();
    for (const StoredSignal& s : page.value()) {
      next.signals = s.id;
      ++report.signals;
      if (s.event.query_id.empty()) continue;
      Apply(s.event, &obs[observation(s.event.query_id)]);
    }
    if (page.value().size() < kSignalPage) break;
  }
  size_t no_article = 0;  // resolutions read that say no article answers their question
  for (;;) {
    auto page = store_->ResolutionsAfter(site, next.resolutions, kSignalPage);
    if (!page.ok()) return page.status();
    for (const StoredResolution& r : page.value()) {
      next.resolutions = r.id;
      ++report.resolutions;
      const ResolvedQuery& q = r.resolution;
      const std::string key =
          q.query_id.empty() ? "resolution:" + std::to_string(r.id) : q.query_id;
      Observation& o = obs[observation(key)];
      if (o.session.empty()) o.session = "helpdesk";
      if (o.ts == 0) o.ts = now_ms;
      if (!q.text.empty() && o.text.empty()) o.text = q.text;
      o.agent = true;
      o.agent_article = q.article;
      if (!q.article) ++no_article;
    }
    if (page.value().size() < kSignalPage) break;
  }
  report.questions = dirty.size();

  // A customer's "resolved" names an article the widget showed, and the widget shows only what
  // the bundle that answered ranks for the question. Check each new one against that bundle
  // (when it is still kept): an article it does not rank was never shown, whatever the signal says.
  {
    auto versions = store_->Versions(site);
    if (!versions.ok()) return versions.status();
    std::map<std::string, std::optional<Engine>> engines;  // by version
    auto engine_of = [&](const std::string& version) -> const Engine* {
      if (version == std::to_string(current.value()->version)) return &engine;
      auto [it, added] = engines.try_emplace(version);
      if (added) {
        for (const Version& v : versions.value()) {
          if (std::to_string(v.version) == version) it->second = LoadKept(files_, v.sha256);
        }
      }
      return it->second ? &*it->second : nullptr;
    };
    for (size_t i : dirty) {
      Observation& o = obs[i];
      if (o.status != "open" || o.agent || o.resolved.empty() || o.text.empty()) continue;
      const Engine* answered = engine_of(o.bundle);
      if (!answered) continue;
      SearchContext context(o.route);
      context.segments = o.segments;
      bool ranked = false;
      for (const auto& hit : answered->Search(o.text, context, kWidgetCandidates).ranked) {
        ranked = ranked || answered->articles()[hit.article].id == o.resolved;
      }
      o.unrankable = !ranked;
    }
  }

  // With nothing new since the last run, nothing can change: a waiting association needs new
  // evidence, and the live-drop check new traffic. Skip to the gaps and incidents.
  if (report.signals > 0 || report.resolutions > 0) {
    // A label naming no article of the site (a helpdesk's typo, a deleted article) teaches
    // nothing. (A question with no words yet, say a helpdesk resolution that came before the
    // widget's signals, waits for them: SelectExemplars passes over it.)
    auto rules = store_->LearningRules(site);
    if (!rules.ok()) return rules.status();
    size_t unusable = 0;
    {
      auto kb = store_->Articles(site);
      if (!kb.ok()) return kb.status();
      std::set<std::string> known;
      for (const Article& a : kb.value()) known.insert(a.id);
      for (size_t i : dirty) {
        Observation& o = obs[i];
        const std::string article = LabelOf(o, rules.value()).article;
        if (o.status != "open" || article.empty()) continue;
        if (!known.count(article)) {
          ++unusable;
          o.status = "rejected";
          o.note = "labelled with \"" + article + "\", which is not in the knowledge base";
        }
      }
    }

    // 2. Sentence vectors with the current bundle's encoder, and the held-out replay questions.
    stage("embedding questions", 0);
    std::vector<std::vector<float>> vectors(obs.size());
    for (size_t i = 0; i < obs.size(); ++i) {
      vectors[i] = engine.parts().encoder.Encode(Tokenize(obs[i].text));
      if (i % 1000 == 0) stage("embedding questions", double(i) / obs.size());
    }
    std::set<std::string> blocked;
    for (const LearningRule& r : rules.value()) {
      if (r.kind == "block") blocked.insert(r.article);
    }
    // The replay's questions: labelled ones, but none of a forged session's or a burst's (nor,
    // where verified customers are required, an unverified one's), nor one an operator overruled.
    std::vector<size_t> labelled;
    const std::set<std::string> forged = ForgedSessions(obs, rules.value());
    const std::set<std::string> bursts = BurstSessions(obs, rules.value());
    for (size_t i = 0; i < obs.size(); ++i) {
      const Label l = LabelOf(obs[i], rules.value());
      if (!l.article.empty() && !blocked.count(l.article) && !obs[i].text.empty() &&
          !obs[i].overruled &&
          (l.trusted || (!forged.count(obs[i].session) && !bursts.count(obs[i].session) &&
                         !(guardrails.verified_only && Unverified(obs[i])))))
        labelled.push_back(i);
    }
    std::stable_sort(labelled.begin(), labelled.end(), [&](size_t a, size_t b) {
      return obs[a].ts != obs[b].ts ? obs[a].ts < obs[b].ts : obs[a].query_id < obs[b].query_id;
    });
    std::vector<uint8_t> held_out(obs.size(), 0);
    std::vector<ReplayQuestion> replay_questions;
    const size_t window_start =
        labelled.size() > options_.replay_window ? labelled.size() - options_.replay_window : 0;
    for (size_t k = window_start; k < labelled.size(); ++k) {
      const size_t i = labelled[k];
      if (options_.replay_every <= 0 || Fnv(obs[i].query_id) % options_.replay_every != 0) continue;
      held_out[i] = 1;
      replay_questions.push_back(
          {obs[i].text, obs[i].route, LabelOf(obs[i], rules.value()).article});
    }

    // 3. Live drop after the last learned publish: compare with the version before it.
    {
      std::map<int64_t, VersionRate> rates;
      for (const Observation& o : obs) {
        if (o.bundle.empty() || o.shown.empty()) continue;
        char* end = nullptr;
        const long long v = std::strtoll(o.bundle.c_str(), &end, 10);
        if (*end || v <= 0) continue;
        VersionRate& r = rates[v];
        r.version = v;
        ++r.questions;
        r.resolved += !o.resolved.empty();
      }
      auto changes = store_->Changes(site);
      if (!changes.ok()) return changes.status();
      const int64_t cur = current.value()->version;
      bool learned = false;
      for (const LearnedChange& c : changes.value()) learned |= c.version == cur;
      auto before = rates.lower_bound(cur);
      if (learned && rates.count(cur) && before != rates.begin()) {
        const VersionRate& previous = std::prev(before)->second;
        if (LiveDrop(rates[cur], previous, options_)) {
          char note[200];
          std::snprintf(note, sizeof note,
                        "resolution rate fell from %.1f%% (version %lld) to %.1f%% (version %lld)",
                        100 * previous.rate(), static_cast<long long>(previous.version),
                        100 * rates[cur].rate(), static_cast<long long>(cur));
          auto back = publisher_->Rollback(site, previous.version);
          if (back.ok()) {
            report.rolled_back_to = back.value();
            report.rollback_note = note;
            auto marked =
                MarkChangesFor(site, back.value(), now_ms, std::string("rolled back: ") + note);
            if (!marked.ok()) return marked.status();
            LogWarning("learned version rolled back",
                       {{"site", site}, {"from", cur}, {"to", previous.version}});
          }
        }
      }
    }

    // 4. Guardrails. The site's history tickets take part as evidence only: resolved by the
    // operator's own staff, they agree or disagree with the customers' labels around them like
    // agents' do, and a question all but identical to one of them merges into it.
    stage("guardrails", 0);
    const size_t observed = obs.size();
    auto history = store_->History(site);
    if (!history.ok()) return history.status();
    for (size_t i = 0; i < history.value().size(); ++i) {
      const ResolvedQuery& t = history.value()[i];
      if (!t.article) continue;
      Observation h;
      h.query_id = "history:" + std::to_string(i);
      h.session = "history";
      h.text = t.text;
      h.agent = true;
      h.agent_article = t.article;
      h.status = "reference";
      h.article = *t.article;
      obs.push_back(std::move(h));
      vectors.push_back(engine.parts().encoder.Encode(Tokenize(t.text)));
    }
    held_out.resize(obs.size(), 0);
    const Selection selection = SelectExemplars(&obs, vectors, held_out, rules.value(), guardrails);
    obs.resize(observed);
    report.accepted = selection.accepted.size();
    report.merged = selection.merged.size();
    report.rejected = selection.rejected.size() + unusable;
    report.waiting = selection.waiting.size();
    for (const auto& d : selection.accepted) dirty.insert(d.observation);
    for (size_t i : selection.merged) dirty.insert(i);
    for (size_t i : selection.rejected) dirty.insert(i);
    for (size_t i : selection.waiting) dirty.insert(i);

    // 5. Candidate, replay, and changes to publish or stage, recorded with the outcomes below.
    std::vector<LearnedChange> changes;
    std::optional<BuiltBundle> to_publish;  // published once the changes are kept, in 7
    // New questions that no article answers change only when the engine declines: no change to
    // review, so in autonomous mode they are published even without new exemplars.
    if (!selection.accepted.empty() || (autonomous && no_article > 0)) {
      std::vector<ResolvedQuery> extra;
      std::vector<float> weights;
      for (const auto& d : selection.accepted) {
        extra.push_back({obs[d.observation].text, d.article, obs[d.observation].query_id});
        weights.push_back(d.weight);
      }
      stage("building the candidate bundle", 0);
      auto built = publisher_->Build(site, extra, weights, [&](double share) {
        stage("building the candidate bundle", share);
      });
      if (!built.ok()) return built.status();
      report.build_ms = built.value().build_ms;
      report.context_weights = built.value().context_weights;
      auto candidate = Engine::Load(built.value().bytes.data(), built.value().bytes.size());
      if (!candidate.ok()) {
        return Status::Error("the candidate bundle does not load: " + candidate.status().message());
      }
      stage("replaying held-out questions", 0);
      // After a rollback the current engine is the one rolled back to.
      std::optional<Engine> rolled;
      if (report.rolled_back_to) rolled = LoadKept(files_, report.rolled_back_to->sha256);
      report.replay = Replay(rolled ? *rolled : engine, candidate.value(), replay_questions,
                             options_.replay_tolerance, options_.replay_min_questions);
      if (report.replay.pass && autonomous) to_publish = built.take();
      report.outcome = !report.replay.pass ? "refused" : (autonomous ? "published" : "staged");

      // One change per article, explained.
      std::map<std::string, std::vector<size_t>> per_article;
      for (size_t k = 0; k < selection.accepted.size(); ++k) {
        per_article[selection.accepted[k].article].push_back(k);
      }
      std::unordered_map<std::string, std::string> titles;
      for (const Article& a : engine.articles()) titles[a.id] = a.title;
      std::map<std::string, int64_t> not_helpful;
      for (size_t i : dirty) {
        for (const auto& a : obs[i].not_helpful) ++not_helpful[a];
      }
      for (const auto& [article, picks] : per_article) {
        LearnedChange c;
        c.kind = "exemplars";
        c.article = article;
        c.created_at_ms = now_ms;
        json examples = json::array(), exemplars = json::array();
        std::set<std::string> sessions;
        int64_t by_agent = 0;
        for (size_t k : picks) {
          const ExemplarDecision& d = selection.accepted[k];
          const Observation& o = obs[d.observation];
          if (examples.size() < kExamplesPerChange) examples.push_back(o.text);
          exemplars.push_back({{"text", o.text},
                               {"article", article},
                               {"weight", d.weight},
                               {"query_id", o.query_id}});
          sessions.insert(d.trusted ? "agent:" + o.query_id : o.session);
          by_agent += d.trusted;
        }
        // Questions merged into these exemplars resolved the same way: they are evidence too.
        int64_t merged = 0;
        for (size_t m : selection.merged) {
          const Observation& o = obs[m];
          if (o.article != article) continue;
          sessions.insert(o.agent ? "agent:" + o.query_id : o.session);
          ++merged;
          by_agent += o.agent;
        }
        c.examples_json = examples.dump();
        c.exemplars_json = exemplars.dump();
        c.sessions = static_cast<int64_t>(sessions.size());
        c.resolved = static_cast<int64_t>(picks.size()) + merged;
        c.not_helpful = not_helpful[article];
        const std::string title = titles.count(article) ? titles[article] : article;
        c.summary = Quote(title) + " now answers questions like " +
                    Quote(examples.empty() ? "" : examples[0].get<std::string>()) + ": " +
                    std::to_string(c.sessions) + (c.sessions == 1 ? " session" : " sessions") +
                    " resolved" +
                    (by_agent ? " (" + std::to_string(by_agent) + " by an agent)" : "") + ", " +
                    std::to_string(c.not_helpful) + " not helpful";
        c.note = report.replay.note;
        if (!report.replay.pass) {
          c.status = "rejected";
          c.decided_at_ms = now_ms;
        } else if (to_publish) {
          c.status = "published";  // its version once published, in 7
          c.decided_at_ms = now_ms;
        } else {
          c.status = "pending";
        }
        changes.push_back(std::move(c));
      }
      if (!report.replay.pass) {
        for (const auto& d : selection.accepted) {
          obs[d.observation].status = "rejected";
          obs[d.observation].note = report.replay.note;
        }
      }
    }

    // 6. Keep the observations and move the cursor, in one transaction.
    std::vector<LearningOutcome> save;
    for (size_t i : dirty) {
      const Observation& o = obs[i];
      save.push_back(OutcomeOf(o));
    }
    if (Status s = store_->SaveLearning(site, next, save, changes, &report.changes); !s.ok())
      return s;

    // 7. Publish, then name the version in the changes (FinishPublication completes this after a
    // crash).
    if (to_publish) {
      auto p = publisher_->PublishBuilt(site, *to_publish);
      if (!p.ok()) return p.status();
      report.published = p.value().version;
      for (size_t k = 0; k < changes.size() && k < report.changes.size(); ++k) {
        changes[k].id = report.changes[k];
        changes[k].version = p.value().version.version;
        if (Status s = store_->UpdateChange(site, changes[k]); !s.ok()) return s;
      }
    }
  }

  // 8. Gaps and incidents, with the bundle now current.
  if (options_.operations) {
    stage("gaps and incidents", 0);
    std::optional<Engine> now_engine;
    auto now_version = store_->CurrentVersion(site);
    if (now_version.ok() && now_version.value() &&
        now_version.value()->sha256 != current.value()->sha256) {
      now_engine = LoadKept(files_, now_version.value()->sha256);
    }
    const Engine& live = now_engine ? *now_engine : engine;
    auto gaps = UpdateGaps(store_, site, live, now_ms);
    if (gaps.ok()) {
      report.operations["gaps"] = {{"questions", gaps.value().questions},
                                   {"opened", gaps.value().opened},
                                   {"closed", gaps.value().closed},
                                   {"open", gaps.value().gaps_open}};
    } else {
      report.operations["gaps"] = {{"error", gaps.status().message()}};
    }
    auto incidents = UpdateIncidents(store_, site, live, now_ms);
    if (incidents.ok()) {
      report.operations["incidents"] = {{"opened", incidents.value().size()}};
    } else {
      report.operations["incidents"] = {{"error", incidents.status().message()}};
    }
  }
  report.total_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return report;
}

Result<std::vector<LearnedChange>> Learner::DecideLocked(const std::string& site,
                                                         std::optional<int64_t> id, bool approve,
                                                         int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  auto changes = store_->Changes(site);
  if (!changes.ok()) return changes.status();
  std::vector<LearnedChange> picked;
  for (const LearnedChange& c : changes.value()) {
    if (c.status == "pending" && (!id || c.id == *id)) picked.push_back(c);
  }
  if (id && picked.empty()) {
    return Status::Error("there is no pending change " + std::to_string(*id));
  }
  if (picked.empty()) return picked;
  for (LearnedChange& c : picked) {
    c.status = approve ? "published" : "rejected";
    c.decided_at_ms = now_ms;
    if (Status s = store_->UpdateChange(site, c); !s.ok()) return s;
  }
  if (!approve) {
    if (Status s = Overrule(site, picked); !s.ok()) return s;
    return picked;
  }
  auto p = publisher_->Publish(site);
  if (!p.ok()) {
    // Back to the queue: nothing was published.
    for (LearnedChange& c : picked) {
      c.status = "pending";
      c.decided_at_ms = 0;
      store_->UpdateChange(site, c);
    }
    return p.status();
  }
  for (LearnedChange& c : picked) {
    c.version = p.value().version.version;
    if (Status s = store_->UpdateChange(site, c); !s.ok()) return s;
  }
  return picked;
}

Result<std::vector<LearnedChange>> Learner::MarkChangesFor(const std::string& site,
                                                           const Version& current, int64_t now_ms,
                                                           const std::string& note) {
  auto changes = store_->Changes(site);
  if (!changes.ok()) return changes.status();
  auto contents = publisher_->Contents(site, current.version);
  if (!contents.ok()) return contents.status();
  std::vector<LearnedChange> marked;
  for (LearnedChange c : changes.value()) {
    // Whether `current` holds the change: as recorded when it was published, or, for a version
    // published before that was recorded, published with it or before it and rolled back since.
    const bool held =
        contents.value()
            ? contents.value()->count(c.id) > 0 || c.version == current.version
            : c.version <= current.version &&
                  (c.status == "published" || c.decided_at_ms >= current.published_at_ms);
    if (c.status == "published" && !held) {
      c.status = "rolled_back";
      c.note = note;
      marked.push_back(c);
    } else if ((c.status == "rolled_back" || Reverted(c)) && held) {
      c.status = "published";
      c.note = "restored with version " + std::to_string(current.version);
    } else {
      continue;
    }
    c.decided_at_ms = now_ms;
    if (Status s = store_->UpdateChange(site, c); !s.ok()) return s;
  }
  return marked;
}

// The questions a change's exemplars came from: by id (`ids`) or, for changes made before
// exemplars named their question, by (article, text) (`texts`, when given).
void QuestionsBehind(const LearnedChange& c, std::set<std::string>* ids,
                     std::set<std::pair<std::string, std::string>>* texts) {
  const json exemplars = json::parse(c.exemplars_json, nullptr, false);
  for (const json& e : exemplars.is_array() ? exemplars : json::array()) {
    if (!e.is_object()) continue;
    if (e.value("query_id", json()).is_string()) {
      ids->insert(e["query_id"].get<std::string>());
    } else if (texts && e.value("text", json()).is_string()) {
      texts->emplace(c.article, e["text"].get<std::string>());
    }
  }
}

Status Learner::Overrule(const std::string& site, const std::vector<LearnedChange>& changes) {
  std::set<std::string> ids;
  std::set<std::pair<std::string, std::string>> texts;  // (article, text)
  for (const LearnedChange& c : changes) QuestionsBehind(c, &ids, &texts);
  auto rows = store_->LearningOutcomes(site);
  if (!rows.ok()) return rows.status();
  std::vector<Observation> obs;
  for (const LearningOutcome& row : rows.value()) obs.push_back(ObservationOf(row));
  std::vector<size_t> marked;
  for (size_t i = 0; i < obs.size(); ++i) {
    if (obs[i].status == "accepted" &&
        (ids.count(obs[i].query_id) || texts.count({obs[i].article, obs[i].text}))) {
      marked.push_back(i);
    }
  }
  // The questions merged into those: all but identical, with the same article.
  std::set<std::string> articles;
  for (size_t i : marked) articles.insert(obs[i].article);
  std::vector<size_t> merged;
  for (size_t i = 0; i < obs.size(); ++i) {
    if (obs[i].status == "merged" && articles.count(obs[i].article)) merged.push_back(i);
  }
  auto current = store_->CurrentVersion(site);
  if (!current.ok()) return current.status();
  std::optional<Engine> engine;
  if (!merged.empty() && current.value()) engine = LoadKept(files_, current.value()->sha256);
  if (engine) {
    auto encode = [&](size_t i) { return engine->parts().encoder.Encode(Tokenize(obs[i].text)); };
    std::vector<std::vector<float>> exemplars;
    for (size_t i : marked) exemplars.push_back(encode(i));
    const size_t exemplar_count = marked.size();
    for (size_t m : merged) {
      const std::vector<float> v = encode(m);
      for (size_t k = 0; k < exemplar_count; ++k) {
        // Merged at 0.99 with the encoder of their day; today's vocabulary may differ a little.
        if (obs[marked[k]].article == obs[m].article && v.size() == exemplars[k].size() &&
            Dot(v.data(), exemplars[k].data(), v.size()) >= 0.95f) {
          marked.push_back(m);
          break;
        }
      }
    }
  }
  if (marked.empty()) return Status::Ok();
  std::vector<LearningOutcome> save;
  for (size_t i : marked) {
    obs[i].status = "rejected";
    obs[i].overruled = true;
    obs[i].note = "an operator rejected the change it made";
    save.push_back(OutcomeOf(obs[i]));
  }
  auto cursor = store_->GetLearningCursor(site);
  if (!cursor.ok()) return cursor.status();
  return store_->SaveLearning(site, cursor.value(), save, {}, nullptr);
}

Result<bool> Learner::FinishOverruling(const std::string& site,
                                       const std::vector<LearningOutcome>& outcomes) {
  auto changes = store_->Changes(site);
  if (!changes.ok()) return changes.status();
  std::vector<LearnedChange> rejected;
  for (const LearnedChange& c : changes.value()) {
    if (c.status == "rejected") rejected.push_back(c);
  }
  if (rejected.empty()) return false;
  std::set<std::string> accepted;
  for (const LearningOutcome& row : outcomes) {
    if (row.status == "accepted") accepted.insert(row.query_id);
  }
  std::vector<LearnedChange> unfinished;
  for (const LearnedChange& c : rejected) {
    std::set<std::string> ids;
    QuestionsBehind(c, &ids, nullptr);
    if (std::any_of(ids.begin(), ids.end(), [&](const auto& id) { return accepted.count(id); })) {
      unfinished.push_back(c);
    }
  }
  if (unfinished.empty()) return false;
  LogWarning("finished an interrupted rejection", {{"site", site}, {"changes", unfinished.size()}});
  if (Status s = Overrule(site, unfinished); !s.ok()) return s;
  return true;
}

Result<std::optional<Version>> Learner::FinishPublication(const std::string& site) {
  auto changes = store_->Changes(site);
  if (!changes.ok()) return changes.status();
  std::vector<LearnedChange> unnamed, reverted;
  for (const LearnedChange& c : changes.value()) {
    if (c.status == "published" && c.version == 0) unnamed.push_back(c);
    if (Reverted(c)) reverted.push_back(c);
  }
  if (unnamed.empty() && reverted.empty()) return std::optional<Version>();
  auto current = store_->CurrentVersion(site);
  if (!current.ok()) return current.status();
  bool held = current.value().has_value();
  if (held) {
    auto contents = publisher_->Contents(site, current.value()->version);
    if (!contents.ok()) return contents.status();
    const auto holds = [&](const LearnedChange& c) {
      return contents.value() && contents.value()->count(c.id) > 0;
    };
    held = std::all_of(unnamed.begin(), unnamed.end(), holds) &&
           std::none_of(reverted.begin(), reverted.end(), holds);
  }
  if (held && unnamed.empty()) return std::optional<Version>();
  std::optional<Version> published;
  if (!held) {
    auto p = publisher_->Publish(site);
    if (!p.ok()) return p.status();
    published = p.value().version;
    LogWarning("finished an interrupted publication",
               {{"site", site}, {"version", published->version}, {"changes", unnamed.size()}});
  }
  const int64_t version = published ? published->version : current.value()->version;
  for (LearnedChange& c : unnamed) {
    c.version = version;
    if (Status s = store_->UpdateChange(site, c); !s.ok()) return s;
  }
  return published;
}

Result<Version> Learner::RevertLocked(const std::string& site, int64_t id, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  auto changes = store_->Changes(site);
  if (!changes.ok()) return changes.status();
  auto it = std::find_if(changes.value().begin(), changes.value().end(),
                         [&](const auto& c) { return c.id == id && c.status == "published"; });
  if (it == changes.value().end()) {
    return Status::Error("there is no published change " + std::to_string(id));
  }
  const LearnedChange before = *it;
  LearnedChange c = before;
  c.status = "rejected";
  c.decided_at_ms = now_ms;
  c.note = "reverted by an operator";
  if (Status s = store_->UpdateChange(site, c); !s.ok()) return s;
  auto p = publisher_->Publish(site);
  if (!p.ok()) {
    store_->UpdateChange(site, before);  // as it was: nothing was published
    return p.status();
  }
  c.note += "; version " + std::to_string(p.value().version.version) + " leaves it out";
  if (Status s = store_->UpdateChange(site, c); !s.ok()) return s;
  if (Status s = Overrule(site, {c}); !s.ok()) return s;
  return p.value().version;
}

Result<Version> Learner::RollbackLocked(const std::string& site, std::optional<int64_t> version,
                                        int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  auto v = publisher_->Rollback(site, version);
  if (!v.ok()) return v.status();
  auto marked =
      MarkChangesFor(site, v.value(), now_ms,
                     "rolled back by the operator to version " + std::to_string(v.value().version));
  if (!marked.ok()) return marked.status();
  return v;
}

}  // namespace loopwise
