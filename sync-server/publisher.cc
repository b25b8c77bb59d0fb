#include "publisher.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "cli.h"
#include "engine/bundle.h"
#include "engine/pinned_answers.h"
#include "learned_escalation.h"
#include "learned_priors.h"
#include "ranker_model.h"

namespace loopwise {
namespace {

// The questions agents found no article for are learned from only to tell when to decline. Those
// of the last 30 days (by the newest outcome), at most the 1,000 newest (about 120 KB of bundle,
// gzipped): an article written since for such a question should not go on counting it as
// unanswerable for long.
constexpr int64_t kUnansweredWindowMs = 30LL * 24 * 3600 * 1000;
constexpr size_t kMaxUnanswered = 1000;

size_t AddUnanswered(const std::vector<Observation>& observations, std::vector<Exemplar>* out) {
  int64_t newest = 0;
  for (const Observation& o : observations) newest = std::max(newest, o.ts);
  std::vector<const Observation*> marked;
  for (const Observation& o : observations) {
    if (o.agent && !o.agent_article && !o.text.empty() && o.ts >= newest - kUnansweredWindowMs) {
      marked.push_back(&o);
    }
  }
  std::sort(marked.begin(), marked.end(), [](const Observation* a, const Observation* b) {
    return a->ts != b->ts ? a->ts > b->ts : a->query_id < b->query_id;
  });
  if (marked.size() > kMaxUnanswered) marked.resize(kMaxUnanswered);
  for (const Observation* o : marked) out->push_back({o->text, kNoArticle, 1.0f});
  return marked.size();
}

}  // namespace

Result<const WordVectors*> Publisher::Vectors() {
  if (!vectors_) {
    auto v = cli::LoadWordVectors();
    if (!v.ok()) return v.status();
    vectors_ = std::make_unique<WordVectors>(v.take());
  }
  return static_cast<const WordVectors*>(vectors_.get());
}

Result<Publication> Publisher::Publish(const std::string& site,
                                       const std::function<void(double)>& progress) {
  auto built = Build(site, {}, {}, progress);
  if (!built.ok()) return built.status();
  return PublishBuilt(site, built.value());
}

Result<BuiltBundle> Publisher::Build(const std::string& site,
                                     const std::vector<ResolvedQuery>& extra,
                                     const std::vector<float>& extra_weights,
                                     const std::function<void(double)>& progress) {
  auto articles = store_->Articles(site);
  if (!articles.ok()) return articles.status();
  if (articles.value().empty()) {
    return Status::Error("site \"" + site + "\" has no articles to publish; import some first");
  }
  auto history = store_->History(site);
  if (!history.ok()) return history.status();
  auto changes = store_->Changes(site);
  if (!changes.ok()) return changes.status();
  const WordVectors* vectors = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto loaded = Vectors();
    if (!loaded.ok()) return loaded.status();
    vectors = loaded.value();
  }

  BuiltBundle b;
  b.articles = articles.value().size();
  std::unordered_map<std::string, uint32_t> index;
  for (uint32_t i = 0; i < articles.value().size(); ++i) index.emplace(articles.value()[i].id, i);
  std::vector<Exemplar> exemplars;
  auto add = [&](const std::string& text, const std::optional<std::string>& article, float weight,
                 bool count_skipped) {
    auto it = article ? index.find(*article) : index.end();
    if (it == index.end()) {
      if (count_skipped) ++b.skipped_history;
      return;
    }
    exemplars.push_back({text, it->second, weight});
  };
  for (const ResolvedQuery& t : history.value()) {
    if (t.article) {
      add(t.text, t.article, 1.0f, true);
    } else {
      exemplars.push_back({t.text, kNoArticle, 1.0f});
      ++b.unanswered;
    }
  }
  // Published learned changes, oldest first, so the bundle does not depend on listing order.
  for (auto it = changes.value().rbegin(); it != changes.value().rend(); ++it) {
    if (it->status != "published") continue;
    const auto list = nlohmann::json::parse(it->exemplars_json, nullptr, false);
    if (!list.is_array()) continue;
    for (const auto& e : list) {
      if (!e.is_object() || !e.value("text", nlohmann::json()).is_string() ||
          !e.value("article", nlohmann::json()).is_string()) {
        continue;
      }
      add(e["text"].get<std::string>(), e["article"].get<std::string>(), e.value("weight", 1.0f),
          false);
    }
  }
  for (size_t i = 0; i < extra.size(); ++i) {
    add(extra[i].text, extra[i].article, i < extra_weights.size() ? extra_weights[i] : 1.0f, false);
  }
  b.exemplars = exemplars.size() - b.unanswered;

  // The outcomes the learning pipeline has kept so far teach the resolution priors, the
  // escalation model and, through the questions agents found no article for, when to decline.
  auto outcomes = store_->LearningOutcomes(site);
  if (!outcomes.ok()) return outcomes.status();
  auto rules = store_->LearningRules(site);
  if (!rules.ok()) return rules.status();
  std::vector<Observation> observations;
  for (const LearningOutcome& row : outcomes.value()) observations.push_back(ObservationOf(row));
  // Sessions the guardrails learn nothing from (forged ones, bursts, and unverified customers
  // where verified ones are required) teach these nothing either.
  auto found = store_->FindSite(site);
  if (!found.ok()) return found.status();
  const bool verified_only = found.value() && found.value()->identity == "required";
  std::set<std::string> ignored = ForgedSessions(observations, rules.value());
  ignored.merge(BurstSessions(observations, rules.value()));
  observations.erase(std::remove_if(observations.begin(), observations.end(),
                                    [&](const Observation& o) {
                                      return ignored.count(o.session) ||
                                             (verified_only && Unverified(o));
                                    }),
                     observations.end());
  b.unanswered += AddUnanswered(observations, &exemplars);

  const auto start = std::chrono::steady_clock::now();
  BundleOptions options;
  options.progress = progress;
  auto bundle = Bundle::Build(articles.value(), exemplars, *vectors, options);
  if (!bundle.ok()) return Status::Error("cannot build the bundle: " + bundle.status().message());
  bundle = WithDefaultRankerModel(bundle.value());  // ranker.onnx, for the widget's re-ranking
  if (!bundle.ok()) return Status::Error("cannot build the bundle: " + bundle.status().message());
  // The ranker's page and prior weights, from the bundle before its priors (learned_ranker.h).
  b.context_weights = FitContextWeights(bundle.value(), observations, articles.value());
  const ResolutionPriors priors = CountPriors(observations, articles.value());
  if (!priors.empty()) {
    bundle = WithPriors(bundle.value(), priors);
    if (!bundle.ok()) return Status::Error("cannot add priors: " + bundle.status().message());
  }
  // Operators' pins, which win over the ranking in every widget.
  PinnedAnswers pins;
  for (const LearningRule& r : rules.value()) {
    auto it = r.kind == "pin" ? index.find(r.article) : index.end();
    if (it != index.end() && !r.pattern.empty()) pins.Add(r.pattern, it->second);
  }
  if (!pins.empty()) {
    ByteWriter w;
    pins.Serialize(&w);
    bundle = Bundle::WithSection(bundle.value().data(), bundle.value().size(), Section::kPins,
                                 std::move(w.bytes()));
    if (!bundle.ok()) return Status::Error("cannot add pins: " + bundle.status().message());
  }
  const EscalationModel escalation = FitEscalation(observations);
  if (!escalation.empty()) {
    bundle = WithEscalation(bundle.value(), escalation);
    if (!bundle.ok()) {
      return Status::Error("cannot add the escalation model: " + bundle.status().message());
    }
  }
  bundle = WithContextWeights(bundle.value(), b.context_weights);
  if (!bundle.ok()) {
    return Status::Error("cannot set the ranker's weights: " + bundle.status().message());
  }
  b.build_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  b.bytes = bundle.take();
  return b;
}

// Records the ids of the published learned changes as what `version` holds, for rollbacks to
// tell (Contents), keeping the entries of the kept versions only.
Status Publisher::RecordContents(const std::string& site, int64_t version) {
  auto changes = store_->Changes(site);
  auto versions = store_->Versions(site);
  auto doc = store_->Document(site, kVersionContentsDocument);
  if (!changes.ok()) return changes.status();
  if (!versions.ok()) return versions.status();
  if (!doc.ok()) return doc.status();
  const nlohmann::json old =
      doc.value() ? nlohmann::json::parse(*doc.value(), nullptr, false) : nlohmann::json::object();
  nlohmann::json contents = nlohmann::json::object();
  for (const Version& v : versions.value()) {
    const std::string key = std::to_string(v.version);
    if (old.is_object() && old.contains(key)) contents[key] = old[key];
  }
  nlohmann::json ids = nlohmann::json::array();
  for (const LearnedChange& c : changes.value()) {
    if (c.status == "published") ids.push_back(c.id);
  }
  contents[std::to_string(version)] = ids;
  return store_->PutDocument(site, kVersionContentsDocument, contents.dump());
}

Result<Publication> Publisher::PublishBuilt(const std::string& site, const BuiltBundle& built) {
  std::lock_guard<std::mutex> lock(mu_);
  Publication p;
  p.articles = built.articles;
  p.exemplars = built.exemplars;
  p.skipped_history = built.skipped_history;
  p.unanswered = built.unanswered;
  p.build_ms = built.build_ms;
  auto sha = files_->Put(built.bytes);
  if (!sha.ok()) return sha.status();
  // What the new version holds is recorded before the version, under the number it is about to
  // get, so a kill in between never leaves a version without it (an entry for a version that never
  // came is replaced by the next publication).
  auto versions = store_->Versions(site);
  if (!versions.ok()) return versions.status();
  const int64_t next = versions.value().empty() ? 1 : versions.value().front().version + 1;
  if (Status s = RecordContents(site, next); !s.ok()) return s;
  auto version = store_->AddVersion(site, sha.value(), static_cast<int64_t>(built.bytes.size()),
                                    options_.keep_versions);
  if (!version.ok()) return version.status();
  p.version = version.value();
  if (p.version.version != next) {  // another process published in between
    if (Status s = RecordContents(site, p.version.version); !s.ok()) return s;
  }

  // Forget bundles no kept version names; an hour's grace covers a publish by another process
  // between its Put and its AddVersion.
  if (auto kept = store_->ReferencedBundles(); kept.ok()) files_->Prune(kept.value(), 3600);
  return p;
}

Result<std::optional<std::set<int64_t>>> Publisher::Contents(const std::string& site,
                                                             int64_t version) {
  auto doc = store_->Document(site, kVersionContentsDocument);
  if (!doc.ok()) return doc.status();
  if (!doc.value()) return std::optional<std::set<int64_t>>();
  const nlohmann::json contents = nlohmann::json::parse(*doc.value(), nullptr, false);
  const std::string key = std::to_string(version);
  if (!contents.is_object() || !contents.contains(key) || !contents[key].is_array()) {
    return std::optional<std::set<int64_t>>();
  }
  std::set<int64_t> ids;
  for (const auto& id : contents[key]) {
    if (id.is_number_integer()) ids.insert(id.get<int64_t>());
  }
  return std::optional<std::set<int64_t>>(std::move(ids));
}

Result<Version> Publisher::Rollback(const std::string& site, std::optional<int64_t> version) {
  std::lock_guard<std::mutex> lock(mu_);
  auto versions = store_->Versions(site);
  if (!versions.ok()) return versions.status();
  const auto& list = versions.value();  // newest first
  std::optional<Version> target;
  if (version) {
    for (const Version& v : list) {
      if (v.version == *version) target = v;
    }
    if (!target) {
      return Status::Error("version " + std::to_string(*version) + " is not kept (kept: the last " +
                           std::to_string(options_.keep_versions) + ")");
    }
  } else {
    for (size_t i = 0; i < list.size(); ++i) {
      if (list[i].current && i + 1 < list.size()) target = list[i + 1];
    }
    if (!target) return Status::Error("there is no earlier version to roll back to");
  }
  if (Status s = store_->SetCurrent(site, target->version); !s.ok()) return s;
  target->current = true;
  return *target;
}

}  // namespace loopwise
