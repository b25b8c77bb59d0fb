// The learning pipeline's guardrails: agreement of distinct sessions, the per-session weight,
// bursts teaching nothing, operators' pins and blocks, replay refusing a worse candidate, and the
// automatic rollback after a live drop in resolution rate; resolution priors; the escalation model;
// pins.

#include "learning.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>

#include "bundle_files.h"
#include "engine/bundle.h"
#include "engine/context_json.h"
#include "exemplar_learner.h"
#include "learned_escalation.h"
#include "learned_priors.h"
#include "learned_ranker.h"
#include "logger.h"
#include "onnx_ranker.h"
#include "publisher.h"
#include "replay.h"
#include "sqlite_store.h"
#include "toy_site.h"

using namespace loopwise;

namespace {

// A question from `session`, shown `shown` first, marked resolved with `article`.
Observation Resolved(const std::string& id, const std::string& session, const std::string& article,
                     std::vector<std::string> shown) {
  Observation o;
  o.query_id = id;
  o.session = session;
  o.ts = static_cast<int64_t>(std::hash<std::string>()(id) % 1000);
  o.text = "question " + id;
  o.shown = std::move(shown);
  o.resolved = article;
  return o;
}

// `n` sessions of two questions on `route`: half get a confident first answer and resolve with
// "refund", half a doubtful one they find not helpful, then escalate on their second question.
std::vector<Observation> TwoQuestionSessions(int n, const std::vector<std::string>& shown,
                                             const std::string& route = "") {
  std::vector<Observation> obs;
  for (int s = 0; s < n; ++s) {
    const std::string session = "s" + std::to_string(s);
    Observation first = Resolved(session + "-a", session, "refund", shown);
    first.ts = 1;
    first.bundle = "1";
    first.route = route;
    first.confidence = s % 2 ? 0.9 : 0.2;
    if (s % 2 == 0) {
      first.resolved.clear();
      first.not_helpful = {"refund"};
    }
    Observation second = first;
    second.query_id = session + "-b";
    second.ts = 2;
    second.not_helpful.clear();
    second.escalated = s % 2 == 0;
    second.resolved = s % 2 ? "refund" : "";
    obs.push_back(first);
    obs.push_back(second);
  }
  return obs;
}

// The toy site's bundle, built from its articles and history.
Result<std::vector<uint8_t>> ToyBundle() {
  auto built = Bundle::Build(testing::ToyArticles(), testing::ToyHistory(), testing::ToyVectors(),
                             BundleOptions{});
  REQUIRE(built.ok());
  return built;
}

// What the widget knows at answer time, as the escalation model reads it.
EscalationFeatures Asked(float confidence, int earlier, int not_helpful, int frustration = 0,
                         std::vector<std::string> segments = {}) {
  EscalationFeatures f;
  f.confidence = confidence;
  f.earlier_questions = earlier;
  f.not_helpful = not_helpful;
  f.frustration = frustration;
  f.segments = std::move(segments);
  return f;
}

// Every question in the same spot of the embedding space: one neighbourhood.
std::vector<std::vector<float>> SameSpot(size_t n) {
  return std::vector<std::vector<float>>(n, std::vector<float>{1.0f, 0.0f, 0.0f});
}

size_t Accepted(const Selection& s) {
  return s.accepted.size();
}

// A real SQLite store and bundle directory in a fresh temporary directory, holding the site
// "acme" in autonomous mode with `articles` and the toy history; all removed at the end.
class AutonomousSite {
 public:
  explicit AutonomousSite(const std::vector<Article>& articles) {
    static int counter = 0;
    dir_ =
        std::filesystem::temp_directory_path() /
        ("loopwise-learning-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto store = SqliteStore::Open((dir_ / "loopwise.db").string());
    REQUIRE(store.ok());
    store_ = store.take();
    auto files = BundleFiles::Open((dir_ / "bundles").string());
    REQUIRE(files.ok());
    files_.emplace(files.take());
    Site site;
    site.name = "acme";
    site.key = "pk_acme";
    site.mode = "autonomous";
    REQUIRE(store_->InsertSite(site).ok());
    REQUIRE(store_->PutArticles("acme", articles).ok());
    std::vector<ResolvedQuery> tickets;
    for (const Exemplar& e : testing::ToyHistory()) {
      tickets.push_back({e.text, articles[e.article].id, ""});
    }
    REQUIRE(store_->AddHistory("acme", tickets).ok());
  }
  ~AutonomousSite() {
    files_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  Store* store() { return store_.get(); }
  BundleFiles* files() { return &*files_; }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<SqliteStore> store_;
  std::optional<BundleFiles> files_;
};

// The toy site (autonomous unless `mode` says otherwise) published once, as version 1, and a
// learner over it that leaves gaps and incidents alone unless `options` say otherwise.
struct PublishedSite {
  static LearningOptions Options() {
    LearningOptions o;
    o.operations = false;
    return o;
  }
  explicit PublishedSite(LearningOptions options = Options(),
                         const std::string& mode = "autonomous")
      : publisher(acme.store(), acme.files()),
        learner(acme.store(), acme.files(), &publisher, options) {
    auto site = acme.store()->FindSite("acme");
    REQUIRE(site.ok());
    site.value()->mode = mode;
    REQUIRE(acme.store()->UpdateSite(*site.value()).ok());
    REQUIRE(publisher.Publish("acme").ok());
  }
  Store* store() { return acme.store(); }
  LearnedChange Change(int64_t id) {
    auto changes = store()->Changes("acme");
    REQUIRE(changes.ok());
    for (const LearnedChange& c : changes.value()) {
      if (c.id == id) return c;
    }
    FAIL("no change " << id);
    return LearnedChange{};
  }
  // Whether `version` holds learned change `id`, as recorded when it was published.
  bool Holds(int64_t version, int64_t id) {
    auto contents = publisher.Contents("acme", version);
    REQUIRE(contents.ok());
    return contents.value() && contents.value()->count(id) > 0;
  }

  AutonomousSite acme{testing::ToyArticles()};
  Publisher publisher;
  Learner learner;
};

// The engine `site` publishes with `obs` stored as its learning outcomes.
Engine PublishedFrom(AutonomousSite* site, const std::vector<Observation>& obs) {
  std::vector<LearningOutcome> rows;
  for (const Observation& o : obs) rows.push_back(OutcomeOf(o));
  REQUIRE(site->store()->SaveLearning("acme", LearningCursor{}, rows, {}, nullptr).ok());
  Publisher publisher(site->store(), site->files());
  auto built = publisher.Build("acme", {}, {});
  REQUIRE(built.ok());
  auto engine = Engine::Load(built.value().bytes.data(), built.value().bytes.size());
  REQUIRE(engine.ok());
  return engine.take();
}

// The toy site's bundle.
std::vector<uint8_t> ToyBundle(const std::vector<Article>& articles) {
  auto built =
      Bundle::Build(articles, testing::ToyHistory(), testing::ToyVectors(), BundleOptions{});
  REQUIRE(built.ok());
  return built.take();
}

// An engine loaded from `bundle` with `priors` added.
Engine EngineWithPriors(const std::vector<uint8_t>& bundle, const ResolutionPriors& priors) {
  auto with = WithPriors(bundle, priors);
  REQUIRE(with.ok());
  auto engine = Engine::Load(with.value().data(), with.value().size());
  REQUIRE(engine.ok());
  return engine.take();
}

// A customer's question, shown "refund" first, resolved with it: the first answer confirmed.
void ConfirmRefund(SignalBatch* batch, const std::string& session, const std::string& id,
                   const std::string& question) {
  SignalEvent e;
  e.ts = 1000 * static_cast<int64_t>(batch->events.size());
  e.session = session;
  e.query_id = id;
  e.query = question;
  e.bundle = "1";
  e.type = "shown";
  e.shown_json = R"(["refund","reset-password"])";
  batch->events.push_back(e);
  e.type = "resolved";
  e.article = "refund";
  batch->events.push_back(e);
}

// The store of a process killed after its first `writes` writes: it forwards everything until
// then and fails everything after, so nothing more reaches the real store.
class KilledAfter : public Store {
 public:
  KilledAfter(Store* inner, int writes) : inner_(inner), writes_left_(writes) {}

  Status InsertSite(const Site& site) override {
    return Write([&] { return inner_->InsertSite(site); });
  }
  Status UpdateSite(const Site& site) override {
    return Write([&] { return inner_->UpdateSite(site); });
  }
  Status SetSiteToken(const std::string& site, const std::string& token_hash) override {
    return Write([&] { return inner_->SetSiteToken(site, token_hash); });
  }
  Result<bool> DeleteSite(const std::string& site) override {
    return Write([&] { return inner_->DeleteSite(site); });
  }
  Result<std::optional<Site>> FindSite(const std::string& name) override {
    return Read([&] { return inner_->FindSite(name); });
  }
  Result<std::vector<Site>> ListSites() override {
    return Read([&] { return inner_->ListSites(); });
  }
  Status PutArticles(const std::string& site, const std::vector<Article>& articles) override {
    return Write([&] { return inner_->PutArticles(site, articles); });
  }
  Result<std::vector<Article>> Articles(const std::string& site) override {
    return Read([&] { return inner_->Articles(site); });
  }
  Result<bool> DeleteArticle(const std::string& site, const std::string& id) override {
    return Write([&] { return inner_->DeleteArticle(site, id); });
  }
  Status AddHistory(const std::string& site, const std::vector<ResolvedQuery>& tickets) override {
    return Write([&] { return inner_->AddHistory(site, tickets); });
  }
  Result<std::vector<ResolvedQuery>> History(const std::string& site) override {
    return Read([&] { return inner_->History(site); });
  }
  Status AddResolutions(const std::string& site,
                        const std::vector<ResolvedQuery>& resolutions) override {
    return Write([&] { return inner_->AddResolutions(site, resolutions); });
  }
  Result<BatchReceipt> AppendSignals(SignalBatch batch) override {
    return Write([&] { return inner_->AppendSignals(std::move(batch)); });
  }
  Result<int64_t> CountSignals(const std::string& site) override {
    return Read([&] { return inner_->CountSignals(site); });
  }
  Result<int64_t> ForgetSignals(const std::string& site, int64_t up_to_id, int64_t before_ms,
                                size_t limit) override {
    return Write([&] { return inner_->ForgetSignals(site, up_to_id, before_ms, limit); });
  }
  Result<std::vector<SignalCounts>> SignalCountsByDay(const std::string& site) override {
    return Read([&] { return inner_->SignalCountsByDay(site); });
  }
  Result<std::vector<StoredSignal>> SignalsAfter(const std::string& site, int64_t after_id,
                                                 size_t limit) override {
    return Read([&] { return inner_->SignalsAfter(site, after_id, limit); });
  }
  Result<std::vector<QueryOutcome>> QueryOutcomes(const std::string& site) override {
    return Read([&] { return inner_->QueryOutcomes(site); });
  }
  Result<std::optional<std::string>> Document(const std::string& site,
                                              const std::string& name) override {
    return Read([&] { return inner_->Document(site, name); });
  }
  Status PutDocument(const std::string& site, const std::string& name,
                     const std::string& body) override {
    return Write([&] { return inner_->PutDocument(site, name, body); });
  }
  Result<std::vector<StoredResolution>> ResolutionsAfter(const std::string& site, int64_t after_id,
                                                         size_t limit) override {
    return Read([&] { return inner_->ResolutionsAfter(site, after_id, limit); });
  }
  Result<LearningCursor> GetLearningCursor(const std::string& site) override {
    return Read([&] { return inner_->GetLearningCursor(site); });
  }
  Status SaveLearning(const std::string& site, const LearningCursor& cursor,
                      const std::vector<LearningOutcome>& outcomes,
                      const std::vector<LearnedChange>& changes,
                      std::vector<int64_t>* change_ids) override {
    return Write([&] { return inner_->SaveLearning(site, cursor, outcomes, changes, change_ids); });
  }
  Result<std::vector<LearningOutcome>> LearningOutcomes(const std::string& site) override {
    return Read([&] { return inner_->LearningOutcomes(site); });
  }
  Result<int64_t> AddChange(const std::string& site, const LearnedChange& change) override {
    return Write([&] { return inner_->AddChange(site, change); });
  }
  Result<std::vector<LearnedChange>> Changes(const std::string& site) override {
    return Read([&] { return inner_->Changes(site); });
  }
  Status UpdateChange(const std::string& site, const LearnedChange& change) override {
    return Write([&] { return inner_->UpdateChange(site, change); });
  }
  Result<std::vector<LearningRule>> LearningRules(const std::string& site) override {
    return Read([&] { return inner_->LearningRules(site); });
  }
  Result<int64_t> AddLearningRule(const std::string& site, const LearningRule& rule) override {
    return Write([&] { return inner_->AddLearningRule(site, rule); });
  }
  Result<bool> DeleteLearningRule(const std::string& site, int64_t id) override {
    return Write([&] { return inner_->DeleteLearningRule(site, id); });
  }
  Result<Version> AddVersion(const std::string& site, const std::string& sha256, int64_t bytes,
                             int keep) override {
    return Write([&] { return inner_->AddVersion(site, sha256, bytes, keep); });
  }
  Status SetCurrent(const std::string& site, int64_t version) override {
    return Write([&] { return inner_->SetCurrent(site, version); });
  }
  Result<std::optional<Version>> CurrentVersion(const std::string& site) override {
    return Read([&] { return inner_->CurrentVersion(site); });
  }
  Result<std::vector<Version>> Versions(const std::string& site) override {
    return Read([&] { return inner_->Versions(site); });
  }
  Result<std::vector<std::string>> ReferencedBundles() override {
    return Read([&] { return inner_->ReferencedBundles(); });
  }
  Result<int64_t> SizeBytes() override {
    return Read([&] { return inner_->SizeBytes(); });
  }
  Result<bool> Exclusively(const std::string& site, const std::string& name, bool wait,
                           const std::function<void()>& body) override {
    return inner_->Exclusively(site, name, wait, body);
  }

  bool killed() const { return writes_left_ < 0; }

 private:
  template <typename F>
  auto Read(F f) -> decltype(f()) {
    if (killed()) return Status::Error("killed");
    return f();
  }
  template <typename F>
  auto Write(F f) -> decltype(f()) {
    if (--writes_left_ < 0) return Status::Error("killed");
    return f();
  }

  Store* inner_;
  int writes_left_;
};

// One learning run (no gaps or incidents) at a fixed time; the site's observations after it.
std::vector<Observation> LearnOnce(Store* store, BundleFiles* files, Publisher* publisher,
                                   LearningOptions options = {}) {
  options.operations = false;
  Learner learner(store, files, publisher, options);
  REQUIRE(learner.Run("acme", 5000000).ok());
  auto outcomes = store->LearningOutcomes("acme");
  REQUIRE(outcomes.ok());
  std::vector<Observation> out;
  for (const LearningOutcome& row : outcomes.value()) out.push_back(ObservationOf(row));
  return out;
}

}  // namespace

TEST_CASE("a new association applies only once three distinct sessions agree") {
  GuardrailOptions options;
  options.duplicate_cosine = 2.0f;  // no merging here
  std::vector<Observation> obs;
  // The engine showed "billing" first; customers resolved with "refund", shown second.
  obs.push_back(Resolved("a", "s1", "refund", {"billing", "refund"}));
  obs.push_back(Resolved("b", "s2", "refund", {"billing", "refund"}));
  Selection s = SelectExemplars(&obs, SameSpot(obs.size()), {}, {}, options);
  CHECK(Accepted(s) == 0);
  CHECK(s.waiting.size() == 2);
  CHECK(obs[0].status == "open");

  // The same session again does not count twice: its say is one in all, half for each question.
  obs.push_back(Resolved("c", "s2", "refund", {"billing", "refund"}));
  s = SelectExemplars(&obs, SameSpot(obs.size()), {}, {}, options);
  CHECK(Accepted(s) == 0);
  obs.push_back(Resolved("d", "s3", "refund", {"billing", "refund"}));
  s = SelectExemplars(&obs, SameSpot(obs.size()), {}, {}, options);
  CHECK(Accepted(s) == 0);
  CHECK(obs[0].note == "waiting for 3 sessions to agree (2.5 so far)");

  obs.push_back(Resolved("e", "s4", "refund", {"billing", "refund"}));
  s = SelectExemplars(&obs, SameSpot(obs.size()), {}, {}, options);
  CHECK(Accepted(s) == 5);
  for (const auto& d : s.accepted) CHECK(d.article == "refund");

  // A configurable threshold.
  std::vector<Observation> two = {Resolved("a", "s1", "refund", {"billing", "refund"}),
                                  Resolved("b", "s2", "refund", {"billing", "refund"})};
  options.min_sessions = 2;
  CHECK(Accepted(SelectExemplars(&two, SameSpot(2), {}, {}, options)) == 2);
}

TEST_CASE("a customer can only resolve with a shown article, and a contradicted label is refused") {
  GuardrailOptions options;
  std::vector<Observation> obs = {Resolved("a", "s1", "delete-project", {"refund", "billing"})};
  Selection s = SelectExemplars(&obs, SameSpot(1), {}, {}, options);
  CHECK(Accepted(s) == 0);
  CHECK(obs[0].status == "rejected");
  CHECK(obs[0].note.find("not shown") != std::string::npos);

  // Eight agents resolved these questions with "billing": one session's "refund" is outvoted.
  obs.clear();
  for (int i = 0; i < 8; ++i) {
    Observation o;
    o.query_id = "agent-" + std::to_string(i);
    o.session = "helpdesk";
    o.text = "question";
    o.agent = true;
    o.agent_article = "billing";
    o.status = "accepted";
    o.article = "billing";
    obs.push_back(o);
  }
  obs.push_back(Resolved("x", "s9", "refund", {"refund", "billing"}));
  s = SelectExemplars(&obs, SameSpot(obs.size()), {}, {}, options);
  CHECK(Accepted(s) == 0);
  CHECK(obs.back().status == "rejected");
  CHECK(obs.back().note.find("contradicted") != std::string::npos);
}

TEST_CASE("a session that sent a resolution no widget can send is no evidence at all") {
  GuardrailOptions options;
  options.duplicate_cosine = 2.0f;
  // Three customers confirmed "billing", shown first. Four forged sessions each marked one question
  // resolved with "refund", never shown, and another, where "refund" was shown, too.
  std::vector<Observation> obs;
  for (int i = 0; i < 3; ++i) {
    obs.push_back(Resolved("ok" + std::to_string(i), "s" + std::to_string(i), "billing",
                           {"billing", "refund"}));
  }
  for (int i = 0; i < 4; ++i) {
    const std::string session = "forger" + std::to_string(i);
    obs.push_back(Resolved(session + "-a", session, "refund", {"billing", "export-data"}));
    obs.push_back(Resolved(session + "-b", session, "refund", {"billing", "refund"}));
  }
  const Selection s = SelectExemplars(&obs, SameSpot(obs.size()), {}, {}, options);
  CHECK(Accepted(s) == 3);
  for (size_t i = 0; i < 3; ++i) CHECK(obs[i].status == "accepted");
  // Counted, the four forged sessions would have taught "refund" here (four agree, three not).
  for (size_t i = 3; i < obs.size(); ++i) {
    CHECK(obs[i].status == "rejected");
    CHECK(obs[i].note.find("not shown") != std::string::npos);
  }
}

TEST_CASE("each session's weight is capped: 1/n per question") {
  GuardrailOptions options;
  options.duplicate_cosine = 2.0f;
  std::vector<Observation> obs;
  std::vector<std::vector<float>> vectors;
  for (int i = 0; i < 3; ++i) {
    std::vector<float> v(3, 0.0f);
    v[i] = 1.0f;  // three unrelated questions, each resolved by one busy session and three others
    obs.push_back(Resolved("q" + std::to_string(i), "busy", "refund", {"refund", "billing"}));
    vectors.push_back(v);
    for (int k = 0; k < 3; ++k) {
      const std::string id = std::to_string(i) + "-" + std::to_string(k);
      obs.push_back(Resolved("o" + id, "s" + id, "refund", {"refund", "billing"}));
      vectors.push_back(v);
    }
  }
  const Selection s = SelectExemplars(&obs, vectors, {}, {}, options);
  size_t busy = 0;
  for (const auto& d : s.accepted) {
    if (obs[d.observation].session != "busy") continue;
    ++busy;
    CHECK(d.weight == doctest::Approx(1.0 / 3));
  }
  CHECK(busy == 3);
  CHECK(Accepted(s) == obs.size());
}

TEST_CASE("a burst's labels teach nothing, confirmations of the first answer included") {
  GuardrailOptions options;
  options.duplicate_cosine = 2.0f;
  // One session confirms the first answer for six questions; two customers who asked one of them
  // found the second article right.
  std::vector<Observation> obs;
  for (int i = 0; i < 6; ++i) {
    obs.push_back(Resolved("q" + std::to_string(i), "busy", "refund", {"refund", "billing"}));
  }
  obs.push_back(Resolved("c1", "customer1", "billing", {"refund", "billing"}));
  obs.push_back(Resolved("c2", "customer2", "billing", {"refund", "billing"}));
  Selection s = SelectExemplars(&obs, SameSpot(obs.size()), {}, {}, options);
  CHECK(Accepted(s) == 0);
  CHECK(s.rejected.size() == 6);
  CHECK(obs[0].note ==
        "its session labelled 6 questions, more than a customer with a problem does: a burst "
        "teaches nothing");
  // Nor does the burst contradict the customers (or agree with them): 2 of the 3 needed.
  CHECK(s.waiting.size() == 2);
  CHECK(obs.back().note == "waiting for 3 sessions to agree (2 so far)");

  // The same six questions from six customers are six confirmations, accepted as they come.
  obs.clear();
  for (int i = 0; i < 6; ++i) {
    obs.push_back(Resolved("q" + std::to_string(i), "s" + std::to_string(i), "refund",
                           {"refund", "billing"}));
  }
  s = SelectExemplars(&obs, SameSpot(obs.size()), {}, {}, options);
  CHECK(Accepted(s) == 6);
}

TEST_CASE("a session's say is one in all: confirming alone takes a session of one question") {
  GuardrailOptions options;
  options.duplicate_cosine = 2.0f;
  // One session confirms the first answer for two unrelated questions: half a say for each.
  std::vector<Observation> obs = {Resolved("a", "two", "refund", {"refund", "billing"}),
                                  Resolved("b", "two", "billing", {"billing", "refund"})};
  std::vector<std::vector<float>> vectors = {{1.0f, 0.0f}, {0.0f, 1.0f}};
  Selection s = SelectExemplars(&obs, vectors, {}, {}, options);
  CHECK(Accepted(s) == 0);
  CHECK(obs[0].note == "waiting for 1 session to agree (0.5 so far)");

  // A customer who asked the first question alone confirms it too: both are kept.
  obs.push_back(Resolved("c", "one", "refund", {"refund", "billing"}));
  vectors.push_back({1.0f, 0.0f});
  s = SelectExemplars(&obs, vectors, {}, {}, options);
  CHECK(Accepted(s) == 2);
  CHECK(obs[0].status == "accepted");
  CHECK(obs[1].status == "open");
  CHECK(obs[2].status == "accepted");
}

TEST_CASE("a session with several questions nearby fills one place among the nearest voters") {
  GuardrailOptions options;
  options.duplicate_cosine = 2.0f;
  options.neighbours = 3;
  // Closest to the question: three of one session's "refund"s; a little further, three
  // customers who resolved it with "billing", which the question's customer chose too.
  std::vector<Observation> obs;
  std::vector<std::vector<float>> vectors;
  for (int i = 0; i < 3; ++i) {
    obs.push_back(Resolved("b" + std::to_string(i), "busy", "refund", {"refund", "billing"}));
    vectors.push_back({1.0f, 0.0f});
  }
  for (int i = 0; i < 3; ++i) {
    obs.push_back(Resolved("o" + std::to_string(i), "s" + std::to_string(i), "billing",
                           {"refund", "billing"}));
    vectors.push_back({0.9f, 0.43589f});
  }
  obs.push_back(Resolved("x", "x", "billing", {"refund", "billing"}));
  vectors.push_back({1.0f, 0.0f});
  const Selection s = SelectExemplars(&obs, vectors, {}, {}, options);
  CHECK(obs.back().status == "accepted");
  CHECK(obs.back().note == "sessions agree");
  CHECK(Accepted(s) == 4);
}

TEST_CASE("bursts take no part in agreement, however many there are") {
  GuardrailOptions options;
  options.duplicate_cosine = 2.0f;
  // Thirty sessions, each with six labelled questions, and one customer making the same new
  // association: it still waits for 3 sessions.
  std::vector<Observation> burst;
  for (int s = 0; s < 30; ++s) {
    for (int i = 0; i < 6; ++i) {
      burst.push_back(Resolved("b" + std::to_string(s) + "-" + std::to_string(i),
                               "attacker" + std::to_string(s), "refund", {"billing", "refund"}));
    }
  }
  burst.push_back(Resolved("c", "customer", "refund", {"billing", "refund"}));
  Selection s = SelectExemplars(&burst, SameSpot(burst.size()), {}, {}, options);
  CHECK(Accepted(s) == 0);
  CHECK(s.rejected.size() == burst.size() - 1);
  CHECK(burst.back().note == "waiting for 3 sessions to agree (1 so far)");
  const std::set<std::string> bursts = BurstSessions(burst, {});
  CHECK(bursts.size() == 30);
  CHECK(!bursts.count("customer"));

  // Three ordinary sessions with one question each agree in full.
  std::vector<Observation> ordinary;
  for (int i = 0; i < 3; ++i) {
    ordinary.push_back(Resolved("o" + std::to_string(i), "s" + std::to_string(i), "refund",
                                {"billing", "refund"}));
  }
  s = SelectExemplars(&ordinary, SameSpot(3), {}, {}, options);
  CHECK(Accepted(s) == 3);
  CHECK(BurstSessions(ordinary, {}).empty());
}

TEST_CASE("where verified customers are required, only they teach: sessions are no evidence") {
  GuardrailOptions options;
  options.duplicate_cosine = 2.0f;  // no merging here
  options.verified_only = true;
  // Five made-up sessions, one question each, all for a wrong association.
  std::vector<Observation> obs;
  for (int i = 0; i < 5; ++i) {
    obs.push_back(Resolved("u" + std::to_string(i), "s" + std::to_string(i), "refund",
                           {"billing", "refund"}));
  }
  // Two verified customers the other way: they alone are short of three.
  for (int i = 0; i < 2; ++i) {
    obs.push_back(Resolved("v" + std::to_string(i), "customer:c" + std::to_string(i), "billing",
                           {"refund", "billing"}));
  }
  std::vector<Observation> plain = obs;
  Selection s = SelectExemplars(&obs, SameSpot(obs.size()), {}, {}, options);
  CHECK(Accepted(s) == 0);
  CHECK(s.rejected.size() == 5);
  CHECK(obs[0].note == "not a verified customer's: the site learns only from signed-in customers");
  CHECK(s.waiting.size() == 2);  // and not contradicted by the five
  CHECK(obs[5].note == "waiting for 3 sessions to agree (2 so far)");
  // A third verified customer, and an agent (trusted whatever its session): both apply.
  obs.push_back(Resolved("v2", "customer:c2", "billing", {"refund", "billing"}));
  Observation agent = Resolved("a", "helpdesk", "", {});
  agent.agent = true;
  agent.agent_article = "billing";
  obs.push_back(agent);
  s = SelectExemplars(&obs, SameSpot(obs.size()), {}, {}, options);
  CHECK(Accepted(s) == 4);
  for (const auto& d : s.accepted) CHECK(d.article == "billing");

  // Without the setting the five sessions outvote the two customers.
  options.verified_only = false;
  s = SelectExemplars(&plain, SameSpot(plain.size()), {}, {}, options);
  CHECK(Accepted(s) == 5);
  for (const auto& d : s.accepted) CHECK(d.article == "refund");
}

TEST_CASE("operators' pins and blocks win over customers and agents") {
  GuardrailOptions options;
  options.duplicate_cosine = 2.0f;
  std::vector<LearningRule> rules = {{1, "block", "", "refund"}, {2, "pin", "Invoice", "billing"}};
  std::vector<Observation> obs;
  obs.push_back(Resolved("a", "s1", "refund", {"refund"}));  // confirms a blocked article
  Observation agent;
  agent.query_id = "b";
  agent.session = "helpdesk";
  agent.text = "refund me";
  agent.agent = true;
  agent.agent_article = "refund";  // even an agent's label cannot point at a blocked article
  obs.push_back(agent);
  Observation pinned = Resolved("c", "s3", "delete-project", {"delete-project"});
  pinned.text = "where is my invoice";  // the pin's pattern, any case
  obs.push_back(pinned);
  std::vector<std::vector<float>> vectors = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
  const Selection s = SelectExemplars(&obs, vectors, {}, rules, options);
  CHECK(obs[0].status == "rejected");
  CHECK(obs[1].status == "rejected");
  REQUIRE(Accepted(s) == 1);
  CHECK(s.accepted[0].observation == 2);
  CHECK(s.accepted[0].article == "billing");
  CHECK(s.accepted[0].trusted);
}

TEST_CASE("near-identical questions merge into one exemplar") {
  GuardrailOptions options;
  std::vector<Observation> obs;
  for (int i = 0; i < 3; ++i) {
    Observation o;
    o.query_id = "a" + std::to_string(i);
    o.session = "helpdesk";
    o.ts = i;
    o.text = "refund please";
    o.agent = true;
    o.agent_article = "refund";
    obs.push_back(o);
  }
  const Selection s = SelectExemplars(&obs, SameSpot(3), {}, {}, options);
  REQUIRE(Accepted(s) == 1);
  CHECK(s.merged.size() == 2);
  CHECK(s.accepted[0].weight == doctest::Approx(3.0));
}

TEST_CASE("replay refuses a candidate that is worse on held-out questions") {
  const auto articles = testing::ToyArticles();
  const auto history = testing::ToyHistory();
  auto good = Bundle::Build(articles, history, testing::ToyVectors(), BundleOptions{});
  REQUIRE(good.ok());
  // A candidate learned from poisoned labels: every ticket moved to the next article.
  std::vector<Exemplar> poisoned = history;
  for (Exemplar& e : poisoned) e.article = (e.article + 1) % articles.size();
  for (Exemplar& e : poisoned) e.weight = 5.0f;
  auto bad = Bundle::Build(articles, poisoned, testing::ToyVectors(), BundleOptions{});
  REQUIRE(bad.ok());
  auto current = Engine::Load(good.value().data(), good.value().size());
  auto candidate = Engine::Load(bad.value().data(), bad.value().size());
  REQUIRE(current.ok());
  REQUIRE(candidate.ok());
  std::vector<ReplayQuestion> questions;
  for (const Exemplar& e : history) questions.push_back({e.text, "", articles[e.article].id});

  const ReplayVerdict worse = Replay(current.value(), candidate.value(), questions, 0.02, 10);
  CHECK_FALSE(worse.pass);
  CHECK(worse.compared);
  CHECK(worse.candidate < worse.current);
  CHECK(worse.note.find("not published") != std::string::npos);

  const ReplayVerdict same = Replay(current.value(), current.value(), questions, 0.02, 10);
  CHECK(same.pass);
  // Too few questions to tell: passes, and says so.
  const ReplayVerdict few = Replay(current.value(), candidate.value(), questions, 0.02, 100);
  CHECK(few.pass);
  CHECK_FALSE(few.compared);
  CHECK(few.note.find("fewer than") != std::string::npos);
}

TEST_CASE("a live drop in resolution rate rolls a learned version back") {
  LearningOptions options;
  CHECK(LiveDrop({2, 150, 60}, {1, 150, 110}, options));
  CHECK_FALSE(LiveDrop({2, 150, 100}, {1, 150, 110}, options));  // within the allowed drop
  CHECK_FALSE(LiveDrop({2, 20, 2}, {1, 150, 110}, options));     // too few questions to tell

  AutonomousSite acme(testing::ToyArticles());
  Store* store = acme.store();
  BundleFiles& files = *acme.files();
  Publisher publisher(store, &files);
  REQUIRE(publisher.Publish("acme").ok());  // version 1
  LearnedChange change;
  change.kind = "exemplars";
  change.status = "published";
  change.article = "refund";
  change.exemplars_json = R"([{"text":"charged twice","article":"refund","weight":1}])";
  change.version = 2;
  auto id = store->AddChange("acme", change);
  REQUIRE(id.ok());
  auto v2 = publisher.Publish("acme");
  REQUIRE(v2.ok());
  REQUIRE(v2.value().version.version == 2);

  // Version 1 resolved 110 of 150 questions; the learned version 2 only 40 of 150.
  SignalBatch batch{"acme", "b1", {}};
  for (int version = 1; version <= 2; ++version) {
    for (int i = 0; i < 150; ++i) {
      SignalEvent e;
      e.ts = 1000 * i + version;
      e.session = "s" + std::to_string(version) + "-" + std::to_string(i);
      e.query_id = "q" + std::to_string(version) + "-" + std::to_string(i);
      e.query = "refund the charge on my card";
      e.bundle = std::to_string(version);
      e.context_json = R"({"route": "/billing", "plan": "pro"})";
      e.type = "shown";
      e.shown_json = R"(["refund"])";
      batch.events.push_back(e);
      if (i < (version == 1 ? 110 : 40)) {
        e.type = "resolved";
        e.article = "refund";
        e.shown_json = "[]";
        batch.events.push_back(e);
      }
    }
  }
  REQUIRE(store->AppendSignals(batch).ok());
  LearningOptions run_options;
  run_options.operations = false;
  Learner learner(store, &files, &publisher, run_options);
  auto report = learner.Run("acme", 5000000);
  REQUIRE(report.ok());
  REQUIRE(report.value().rolled_back_to);
  CHECK(report.value().rolled_back_to->version == 1);
  CHECK(report.value().rollback_note.find("fell") != std::string::npos);
  auto changes = store->Changes("acme");
  REQUIRE(changes.ok());
  bool rolled_back = false;
  for (const LearnedChange& c : changes.value())
    rolled_back |= c.id == id.value() && c.status == "rolled_back";
  CHECK(rolled_back);
  // The questions' pages and segments are kept for the resolution priors.
  auto outcomes = store->LearningOutcomes("acme");
  REQUIRE(outcomes.ok());
  REQUIRE(!outcomes.value().empty());
  const Observation kept = ObservationOf(outcomes.value().front());
  CHECK(kept.route == "/billing");
  CHECK(kept.segments == std::vector<std::string>{"plan=pro"});
  // The run is on record with what it did.
  auto runs = LearningRuns(store, "acme");
  REQUIRE(runs.ok());
  REQUIRE(runs.value().size() == 1);
  CHECK(runs.value()[0]["rolled_back_to"] == 1);
  CHECK(runs.value()[0]["signals"] == 150 + 110 + 150 + 40);
}

TEST_CASE("learning runs that read or did anything are recorded, newest first, the last 50") {
  PublishedSite site;
  Store* store = site.store();
  Learner& learner = site.learner;
  auto runs = [&] {
    auto r = LearningRuns(store, "acme");
    REQUIRE(r.ok());
    return r.take();
  };
  // A question someone asked (the n-th), nothing more: the run reads it and learns nothing.
  auto ask = [&](int n) {
    SignalEvent e;
    e.ts = n;
    e.session = "s" + std::to_string(n);
    e.query_id = "q" + std::to_string(n);
    e.query = "refund the charge on my card";
    e.type = "query";
    REQUIRE(store->AppendSignals({"acme", "b" + std::to_string(n), {e}}).ok());
  };

  REQUIRE(learner.Run("acme", 1000).ok());  // nothing to read: not recorded
  CHECK(runs() == nlohmann::json::array());
  const int runs_made = static_cast<int>(kKeptRuns) + 5;
  for (int n = 1; n <= runs_made; ++n) {
    ask(n);
    REQUIRE(learner.Run("acme", 1000 + 60000 * n).ok());
  }
  const auto kept = runs();
  REQUIRE(kept.size() == kKeptRuns);
  CHECK(kept[0]["at"] == IsoTime(1000 + 60000 * runs_made));
  CHECK(kept[0]["signals"] == 1);
  CHECK(kept[0]["outcome"] == "nothing_new");
  CHECK(kept[0]["version"].is_null());
  CHECK(kept.back()["at"] == IsoTime(1000 + 60000 * 6));
  CHECK_FALSE(kept[0].contains("trained"));

  // A record this loopwise cannot read is left as it is, and says whose it is; runs go on.
  REQUIRE(store->PutDocument("acme", "learning_runs", "{\"format\": 2}").ok());
  auto unreadable = LearningRuns(store, "acme");
  REQUIRE_FALSE(unreadable.ok());
  CHECK(unreadable.status().message().find("learning runs of site \"acme\"") != std::string::npos);
  ask(100);
  CHECK(learner.Run("acme", 10000000).ok());
  auto doc = store->Document("acme", "learning_runs");
  REQUIRE(doc.ok());
  CHECK(doc.value() == std::optional<std::string>("{\"format\": 2}"));
}

TEST_CASE("a publication a crash cut short is finished by the next run") {
  PublishedSite site;
  Store* store = site.store();
  Publisher& publisher = site.publisher;
  Learner& learner = site.learner;
  // A run (or an approval) records its changes as published, then publishes them.
  LearnedChange change;
  change.kind = "exemplars";
  change.status = "published";
  change.article = "refund";
  change.exemplars_json = R"([{"text":"charged twice","article":"refund","weight":1}])";
  auto change_of = [&](int64_t id) { return site.Change(id); };
  auto holds = [&](int64_t version, int64_t id) { return site.Holds(version, id); };

  SUBCASE("killed before publishing: the next run publishes the change") {
    auto id = store->AddChange("acme", change);
    REQUIRE(id.ok());
    auto report = learner.Run("acme", 5000000);
    REQUIRE(report.ok());
    REQUIRE(report.value().finished);
    CHECK(report.value().finished->version == 2);
    CHECK(change_of(id.value()).version == 2);
    CHECK(holds(2, id.value()));
    auto current = store->CurrentVersion("acme");
    REQUIRE(current.ok());
    CHECK(current.value()->version == 2);
    // Finished once: the next run has nothing to do.
    auto again = learner.Run("acme", 5000001);
    REQUIRE(again.ok());
    CHECK_FALSE(again.value().finished);
  }
  SUBCASE("killed after publishing: the change is named with the version that holds it") {
    auto id = store->AddChange("acme", change);
    REQUIRE(id.ok());
    REQUIRE(publisher.Publish("acme").ok());  // version 2 holds it, but the change has no version
    auto report = learner.Run("acme", 5000000);
    REQUIRE(report.ok());
    CHECK_FALSE(report.value().finished);
    CHECK(change_of(id.value()).version == 2);
    auto current = store->CurrentVersion("acme");
    REQUIRE(current.ok());
    CHECK(current.value()->version == 2);
  }
}

namespace {

// Customers (four make a new association: one exemplar, three merged into it) find that
// "delete-project", shown second, answers `question`.
SignalBatch CloseAccountBatch(const std::string& batch_id, const std::vector<std::string>& sessions,
                              const std::string& question = "close my whole account please") {
  SignalBatch batch{"acme", batch_id, {}};
  for (const std::string& session : sessions) {
    SignalEvent e;
    e.ts = 1000 * static_cast<int64_t>(batch.events.size() + 1);
    e.session = session;
    e.query_id = "q-" + session;
    e.query = question;
    e.bundle = "1";
    e.type = "shown";
    e.shown_json = R"(["reset-password","delete-project"])";
    batch.events.push_back(e);
    e.type = "resolved";
    e.article = "delete-project";
    batch.events.push_back(e);
  }
  return batch;
}

// The stored outcome of question `query_id`.
Observation StoredObservation(Store* store, const std::string& query_id) {
  auto rows = store->LearningOutcomes("acme");
  REQUIRE(rows.ok());
  for (const LearningOutcome& row : rows.value()) {
    if (row.query_id == query_id) return ObservationOf(row);
  }
  FAIL("no outcome " << query_id);
  return {};
}

}  // namespace

TEST_CASE("an operator's rejection sticks: the questions behind it speak against the article") {
  LearningOptions options = PublishedSite::Options();
  options.replay_every = 0;  // no question held out for replay
  PublishedSite site(options, "review");
  Store* store = site.store();
  Learner& learner = site.learner;

  REQUIRE(store->AppendSignals(CloseAccountBatch("b1", {"c0", "c1", "c2", "c3"})).ok());
  auto first = learner.Run("acme", 5000000);
  REQUIRE(first.ok());
  REQUIRE(first.value().changes.size() == 1);
  CHECK(first.value().accepted == 1);
  CHECK(first.value().merged == 3);
  SUBCASE("rejected") {
    REQUIRE(learner.Decide("acme", first.value().changes[0], false, 5000001).ok());
  }
  SUBCASE("killed after marking it rejected, before overruling: the next run overrules") {
    LearnedChange c = site.Change(first.value().changes[0]);
    c.status = "rejected";
    REQUIRE(store->UpdateChange("acme", c).ok());
    CHECK(StoredObservation(store, "q-c0").status == "accepted");
  }

  // A fifth customer says much the same: the four the operator overruled now contradict it.
  REQUIRE(store->AppendSignals(CloseAccountBatch("b2", {"c4"}, "close my whole account now please"))
              .ok());
  auto second = learner.Run("acme", 5000002);
  REQUIRE(second.ok());
  CHECK(second.value().changes.empty());
  CHECK(second.value().accepted == 0);
  const Observation fifth = StoredObservation(store, "q-c4");
  CHECK(fifth.status == "rejected");
  CHECK(fifth.note.find("contradicted by 4 sessions") != std::string::npos);
  for (const char* id : {"q-c0", "q-c1", "q-c2", "q-c3"}) {
    const Observation o = StoredObservation(store, id);
    CHECK(o.status == "rejected");
    CHECK(o.overruled);
  }
}

TEST_CASE("a published change reverted: a version without it, and a crash midway is finished") {
  LearningOptions options = PublishedSite::Options();
  options.replay_every = 0;  // no question held out for replay: all four are the change's
  PublishedSite site(options);
  Store* store = site.store();
  Learner& learner = site.learner;
  REQUIRE(store->AppendSignals(CloseAccountBatch("b1", {"c0", "c1", "c2", "c3"})).ok());
  auto run = learner.Run("acme", 5000000);
  REQUIRE(run.ok());
  REQUIRE(run.value().published);
  REQUIRE(run.value().published->version == 2);
  const int64_t id = run.value().changes.at(0);
  auto change = [&] { return site.Change(id); };
  auto holds = [&](int64_t version) { return site.Holds(version, id); };
  REQUIRE(holds(2));

  SUBCASE("reverted") {
    auto v = learner.Revert("acme", id, 5000001);
    REQUIRE(v.ok());
    CHECK(v.value().version == 3);
    CHECK_FALSE(holds(3));
    CHECK(change().status == "rejected");
    CHECK(change().version == 2);  // the version that had published it
    CHECK(change().note == "reverted by an operator; version 3 leaves it out");
    auto again = learner.Revert("acme", id, 5000002);
    REQUIRE_FALSE(again.ok());
    CHECK(again.status().message() == "there is no published change " + std::to_string(id));
    // Nothing left to finish.
    auto next = learner.Run("acme", 5000003);
    REQUIRE(next.ok());
    CHECK_FALSE(next.value().finished);
  }
  SUBCASE("killed after marking it, before publishing: the next run publishes without it") {
    LearnedChange c = change();
    c.status = "rejected";
    REQUIRE(store->UpdateChange("acme", c).ok());
    auto next = learner.Run("acme", 5000001);
    REQUIRE(next.ok());
    REQUIRE(next.value().finished);
    CHECK(next.value().finished->version == 3);
    CHECK_FALSE(holds(3));
    auto current = store->CurrentVersion("acme");
    REQUIRE(current.ok());
    CHECK(current.value()->version == 3);
    for (const char* q : {"q-c0", "q-c1", "q-c2", "q-c3"}) {
      CHECK(StoredObservation(store, q).overruled);
    }
  }
  // Rolling back to the version that held it restores it, as for any rollback.
  SUBCASE("rolled back to") {
    REQUIRE(learner.Revert("acme", id, 5000001).ok());
    REQUIRE(learner.Rollback("acme", 2, 5000002).ok());
    CHECK(change().status == "published");
  }
}

TEST_CASE("a learning run killed at any write is finished by the next run") {
  // Three customers each confirm the first answer with a new phrasing: a change to publish.
  auto site_with_signals = [](AutonomousSite* acme) {
    SignalBatch batch{"acme", "b1", {}};
    const char* questions[] = {"money back for the order", "cancel and refund my plan",
                               "I was charged twice"};
    for (int i = 0; i < 3; ++i) {
      ConfirmRefund(&batch, "c" + std::to_string(i), "q" + std::to_string(i), questions[i]);
    }
    REQUIRE(acme->store()->AppendSignals(batch).ok());
  };
  LearningOptions options;
  options.operations = false;
  options.replay_every = 0;
  int writes = 0;  // of a run that is not killed
  for (int kill = 0;; ++kill) {
    CAPTURE(kill);
    AutonomousSite acme(testing::ToyArticles());
    Store* store = acme.store();
    {
      Publisher publisher(store, acme.files());
      REQUIRE(publisher.Publish("acme").ok());  // version 1
    }
    site_with_signals(&acme);
    KilledAfter dying(store, kill);
    {
      Publisher publisher(&dying, acme.files());
      Learner learner(&dying, acme.files(), &publisher, options);
      auto report = learner.Run("acme", 5000000);
      if (!dying.killed()) {
        REQUIRE(report.ok());
        REQUIRE(report.value().published);  // the run does publish
        writes = kill;
        break;
      }
    }
    // The next process: its run finishes what the killed one left.
    Publisher publisher(store, acme.files());
    Learner learner(store, acme.files(), &publisher, options);
    REQUIRE(learner.Run("acme", 6000000).ok());
    auto changes = store->Changes("acme");
    auto versions = store->Versions("acme");
    REQUIRE(changes.ok());
    REQUIRE(versions.ok());
    std::set<int64_t> published;
    for (const LearnedChange& c : changes.value()) {
      if (c.status != "published") continue;
      published.insert(c.id);
      CHECK(c.version > 0);  // named with the version that holds it
    }
    CHECK(!published.empty());
    for (const Version& v : versions.value()) {
      CAPTURE(v.version);
      auto contents = publisher.Contents("acme", v.version);
      REQUIRE(contents.ok());
      REQUIRE(contents.value());  // every kept version knows what it holds
      if (v.current) CHECK(*contents.value() == published);
    }
  }
  CHECK(writes > 3);
}

TEST_CASE("a resolution with an article the answering bundle does not rank is refused") {
  // The toy articles and a dozen more on other things: more than the widget's ten candidates.
  std::vector<Article> articles = testing::ToyArticles();
  const char* topics[] = {"calendar", "export", "invoice", "team",  "theme",  "api",
                          "webhook",  "backup", "domain",  "alert", "import", "language"};
  for (const char* t : topics) {
    articles.push_back({std::string(t) + "-help", std::string("Set up the ") + t, "", {}, {}});
  }
  AutonomousSite acme(articles);
  Store* store = acme.store();
  BundleFiles& files = *acme.files();
  Publisher publisher(store, &files);
  auto v1 = publisher.Publish("acme");
  REQUIRE(v1.ok());

  // What version 1 ranks for the question, all articles: the last one is not among the ten.
  auto bytes = files.Get(v1.value().version.sha256, false);
  REQUIRE(bytes.ok());
  auto engine =
      Engine::Load(reinterpret_cast<const uint8_t*>(bytes.value()->data()), bytes.value()->size());
  REQUIRE(engine.ok());
  const std::string question = "refund the charge on my card";
  const auto all = engine.value().Search(question, SearchContext{}, articles.size()).ranked;
  REQUIRE(all.size() > 10);
  const std::string ranked_second = engine.value().articles()[all[1].article].id;
  const std::string unranked = engine.value().articles()[all.back().article].id;

  // Three sessions claim the unranked article was shown and resolved the question; each also
  // resolves a second question, honestly shown, with the article ranked second.
  SignalBatch batch{"acme", "b1", {}};
  for (int i = 0; i < 6; ++i) {
    SignalEvent e;
    e.ts = 1000 * i;
    e.session = "s" + std::to_string(i % 3);
    e.query_id = "q" + std::to_string(i);
    e.query = question;
    e.bundle = "1";
    e.type = "shown";
    const std::string label = i < 3 ? unranked : ranked_second;
    e.shown_json =
        nlohmann::json::array({engine.value().articles()[all[0].article].id, label}).dump();
    batch.events.push_back(e);
    e.type = "resolved";
    e.article = label;
    batch.events.push_back(e);
  }
  REQUIRE(store->AppendSignals(batch).ok());
  size_t checked = 0;
  for (const Observation& o : LearnOnce(store, &files, &publisher)) {
    if (o.query_id.rfind("q", 0) != 0) continue;
    ++checked;
    const bool forged = o.query_id < "q3";
    CHECK(o.unrankable == forged);
    CHECK(o.status == "rejected");  // the honest-looking ones come from the same sessions
    CHECK(o.note.find(forged ? "could not have shown" : "was not shown") != std::string::npos);
  }
  CHECK(checked == 6);
}

TEST_CASE("a burst's questions are never replay questions") {
  const std::vector<Article> articles = testing::ToyArticles();
  AutonomousSite acme(articles);
  Store* store = acme.store();
  BundleFiles& files = *acme.files();
  Publisher publisher(store, &files);
  REQUIRE(publisher.Publish("acme").ok());

  // One session resolves five questions, three customers one each; all confirm the first answer.
  SignalBatch batch{"acme", "b1", {}};
  const char* questions[] = {"refund my order", "money back for the order", "charged twice",
                             "refund the subscription", "cancel and refund"};
  for (int i = 0; i < 5; ++i)
    ConfirmRefund(&batch, "busy", "burst" + std::to_string(i), questions[i]);
  for (int i = 0; i < 3; ++i)
    ConfirmRefund(&batch, "c" + std::to_string(i), "q" + std::to_string(i), questions[i]);
  REQUIRE(store->AppendSignals(batch).ok());

  LearningOptions run_options;
  run_options.replay_every = 1;  // every question a replay question, if it may be one
  size_t checked = 0;
  for (const Observation& o : LearnOnce(store, &files, &publisher, run_options)) {
    ++checked;
    if (o.session == "busy") {
      // Decided (a burst teaches nothing), not held out.
      CHECK(o.status == "rejected");
      CHECK(o.note.find("a burst teaches nothing") != std::string::npos);
    } else {
      CHECK(o.status == "open");  // held out for the replay, decided on a later run
      CHECK(o.note.empty());
    }
  }
  CHECK(checked == 8);
}

TEST_CASE("a helpdesk resolution with an unknown article or no words teaches nothing yet") {
  const std::vector<Article> articles = testing::ToyArticles();
  AutonomousSite acme(articles);
  Store* store = acme.store();
  Publisher publisher(store, acme.files());
  REQUIRE(publisher.Publish("acme").ok());
  std::vector<ResolvedQuery> resolutions;
  for (int i = 0; i < 4; ++i) {
    const std::string n = std::to_string(i);
    resolutions.push_back({"lost my authenticator phone " + n, std::string("no-such-article"), ""});
    resolutions.push_back({"", articles[0].id, "unknown-query-" + n});  // no question to read
    resolutions.push_back({" ?! ", articles[0].id, ""});
  }
  REQUIRE(store->AddResolutions("acme", resolutions).ok());
  LearningOptions run_options;
  run_options.operations = false;
  Learner learner(store, acme.files(), &publisher, run_options);
  auto report = learner.Run("acme", 5000000);
  REQUIRE(report.ok());
  CHECK(report.value().accepted == 0);
  CHECK(report.value().rejected == 4);
  auto changes = store->Changes("acme");
  REQUIRE(changes.ok());
  CHECK(changes.value().empty());
  auto outcomes = store->LearningOutcomes("acme");
  REQUIRE(outcomes.ok());
  size_t unknown = 0, wordless = 0;
  for (const LearningOutcome& row : outcomes.value()) {
    const Observation o = ObservationOf(row);
    if (o.note.find("not in the knowledge base") != std::string::npos) {
      CHECK(o.status == "rejected");
      ++unknown;
    } else {
      CHECK(o.status == "open");  // no words yet: the widget's signals may still bring them
      ++wordless;
    }
  }
  CHECK(unknown == 4);
  CHECK(wordless == 8);

  // The widget's signals bring the words of the questions resolved by query_id: now they teach.
  SignalBatch batch{"acme", "later", {}};
  for (int i = 0; i < 4; ++i) {
    SignalEvent e;
    e.type = "query";
    e.ts = 1000 + i;
    e.session = "s" + std::to_string(i);
    e.query_id = "unknown-query-" + std::to_string(i);
    e.query = "lost the phone with my authenticator app " + std::to_string(i);
    e.bundle = "1";
    batch.events.push_back(e);
  }
  REQUIRE(store->AppendSignals(batch).ok());
  auto again = learner.Run("acme", 6000000);
  REQUIRE(again.ok());
  CHECK(again.value().accepted + again.value().merged >= 3);
}

TEST_CASE("the questions agents found no article for teach the bundle when to decline") {
  const std::vector<Article> articles = testing::ToyArticles();
  AutonomousSite acme(articles);
  Store* store = acme.store();
  Publisher publisher(store, acme.files());
  REQUIRE(publisher.Publish("acme").ok());
  auto before = publisher.Build("acme", {}, {});
  REQUIRE(before.ok());
  CHECK(before.value().unanswered == 0);
  // Team invitations: close to the project articles' words, and no article is about them.
  std::vector<ResolvedQuery> resolutions;
  for (const char* text :
       {"invite a team member", "how do i invite my team", "can a team member invite",
        "invite someone to the team", "team member invite not working", "where is the invite",
        "invite a member", "my team invite"}) {
    resolutions.push_back({text, std::nullopt, ""});
  }
  REQUIRE(store->AddResolutions("acme", resolutions).ok());
  LearningOptions run_options;
  run_options.operations = false;
  auto run = Learner(store, acme.files(), &publisher, run_options).Run("acme", 5000000);
  REQUIRE_MESSAGE(run.ok(), run.status().message());
  // No exemplar, no change to review: in autonomous mode the run publishes them as they are.
  CHECK(run.value().accepted == 0);
  CHECK(run.value().changes.empty());
  CHECK(run.value().outcome == "published");
  REQUIRE(run.value().published);
  CHECK(run.value().published->version == 2);

  auto after = publisher.Build("acme", {}, {});
  REQUIRE(after.ok());
  CHECK(after.value().unanswered == 8);
  CHECK(after.value().exemplars == before.value().exemplars);  // no article learns them
  auto engine = Engine::Load(after.value().bytes.data(), after.value().bytes.size());
  auto old = Engine::Load(before.value().bytes.data(), before.value().bytes.size());
  REQUIRE(engine.ok());
  REQUIRE(old.ok());
  for (const char* asked : {"can i invite a member", "member invite"}) {
    CHECK(engine.value().Search(asked, SearchContext{}, 3).gap);
    CHECK(!old.value().Search(asked, SearchContext{}, 3).gap);
  }
  CHECK(!engine.value().Search("i forgot my password", SearchContext{}, 3).gap);

  // The last 30 days' marks (by the newest), at most the 1,000 newest.
  constexpr int64_t kDayMs = 24LL * 3600 * 1000;
  REQUIRE(store->AddResolutions("acme", {{"invite my client", std::nullopt, ""}}).ok());
  run = Learner(store, acme.files(), &publisher, run_options).Run("acme", 5000000 + 31 * kDayMs);
  REQUIRE_MESSAGE(run.ok(), run.status().message());
  auto month = publisher.Build("acme", {}, {});
  REQUIRE(month.ok());
  CHECK(month.value().unanswered == 1);
  resolutions.clear();
  for (int i = 0; i < 1000; ++i) {
    resolutions.push_back({"invite number " + std::to_string(i), std::nullopt, ""});
  }
  REQUIRE(store->AddResolutions("acme", resolutions).ok());
  run = Learner(store, acme.files(), &publisher, run_options).Run("acme", 5000000 + 32 * kDayMs);
  REQUIRE_MESSAGE(run.ok(), run.status().message());
  auto capped = publisher.Build("acme", {}, {});
  REQUIRE(capped.ok());
  CHECK(capped.value().unanswered == 1000);
}

TEST_CASE("a change's summary quotes a long question without cutting a character") {
  const std::vector<Article> articles = testing::ToyArticles();
  AutonomousSite acme(articles);
  Store* store = acme.store();
  Publisher publisher(store, acme.files());
  REQUIRE(publisher.Publish("acme").ok());
  std::string cyrillic;
  for (int k = 0; k < 60; ++k) cyrillic += "\u043f";  // two bytes each
  std::vector<ResolvedQuery> resolutions;
  // One change an article, each quoting its question: one of the two cuts inside a character.
  resolutions.push_back({"reset my password " + cyrillic, articles[0].id, ""});
  resolutions.push_back({"refund my card x " + cyrillic, articles[1].id, ""});
  REQUIRE(store->AddResolutions("acme", resolutions).ok());
  LearningOptions run_options;
  run_options.operations = false;
  Learner learner(store, acme.files(), &publisher, run_options);
  REQUIRE(learner.Run("acme", 5000000).ok());
  auto changes = store->Changes("acme");
  REQUIRE(changes.ok());
  REQUIRE_FALSE(changes.value().empty());
  for (const LearnedChange& c : changes.value()) {
    CAPTURE(c.summary);
    CHECK_NOTHROW(nlohmann::json(c.summary).dump());
  }
}

TEST_CASE("resolution priors: Beta posteriors per page, Thompson samples that explore, bytes") {
  ResolutionPriors priors;
  priors.Add("/billing", 1, 90, 10);  // "refund" resolves nine in ten questions on /billing
  priors.Add("/billing", 0, 5, 45);   // "reset-password" rarely does there
  CHECK(priors.Mean("/billing", 1) > 0.85f);
  CHECK(priors.Mean("/billing", 0) < 0.15f);
  CHECK(priors.Signal("/login", 1, 7) == 0.0f);  // no priors on that page
  int refund_up = 0, unseen_up = 0, unseen_down = 0;
  for (uint32_t seed = 0; seed < 200; ++seed) {
    CHECK(priors.Signal("/billing", 1, seed) == priors.Signal("/billing", 1, seed));
    refund_up += priors.Signal("/billing", 1, seed) > priors.Signal("/billing", 0, seed);
    const float unseen = priors.Signal("/billing", 3, seed);  // a new article: a wide posterior
    unseen_up += unseen > 0.05f;
    unseen_down += unseen < -0.05f;
  }
  CHECK(refund_up == 200);
  CHECK(unseen_up > 20);  // gets its chance ...
  CHECK(unseen_down > 20);

  ByteWriter w;
  priors.Serialize(&w);
  ByteReader r(w.bytes().data(), w.bytes().size());
  auto back = ResolutionPriors::Deserialize(&r, 5);
  REQUIRE(back.ok());
  CHECK(back.value().Signal("/billing", 1, 3) == priors.Signal("/billing", 1, 3));
  ByteReader r2(w.bytes().data(), w.bytes().size());
  CHECK_FALSE(ResolutionPriors::Deserialize(&r2, 1).ok());  // names an article past the list
  ByteReader r3(w.bytes().data(), w.bytes().size() - 3);
  CHECK_FALSE(ResolutionPriors::Deserialize(&r3, 5).ok());
}

TEST_CASE("priors are counted once per session and page, and a bundle carries them") {
  const auto articles = testing::ToyArticles();
  std::vector<Observation> obs;
  for (int i = 0; i < 4; ++i) {
    Observation o = Resolved("q" + std::to_string(i), i < 3 ? "busy" : "other", "refund",
                             {"refund", "reset-password"});
    o.route = "/billing";
    obs.push_back(o);
  }
  Observation missed = Resolved("m", "third", "", {"reset-password"});
  missed.route = "/billing";
  missed.escalated = true;
  obs.push_back(missed);
  Observation no_page = Resolved("n", "fourth", "refund", {"refund"});
  obs.push_back(no_page);
  const ResolutionPriors priors = CountPriors(obs, articles);
  CHECK(priors.keys() == 1);
  // refund: 2 sessions resolved (busy once, other once) -> (2 + 2 * page) / (2 + 2).
  CHECK(priors.Mean("/billing", 1) > priors.Mean("/billing", 0));

  const std::vector<uint8_t> built = ToyBundle(articles);
  const Engine engine = EngineWithPriors(built, priors);
  SearchContext billing;
  billing.route = "/billing/";
  const SearchResult r = engine.Search("refund the charge on my card", billing, 5);
  REQUIRE(!r.ranked.empty());
  bool prior_set = false;
  for (const auto& h : r.ranked) prior_set |= h.signal[kPrior] != 0.0f;
  CHECK(prior_set);
  // Without a page the priors change nothing.
  auto plain = Engine::Load(built.data(), built.size());
  REQUIRE(plain.ok());
  const SearchResult a = engine.Search("refund the charge on my card", SearchContext{}, 5);
  const SearchResult b = plain.value().Search("refund the charge on my card", SearchContext{}, 5);
  REQUIRE(a.ranked.size() == b.ranked.size());
  for (size_t i = 0; i < a.ranked.size(); ++i) CHECK(a.ranked[i].article == b.ranked[i].article);
}

TEST_CASE("segments: named alike by search and learning, counted like pages, ranked by") {
  nlohmann::json context = nlohmann::json::parse(
      R"({"route": "/billing", "title": "Billing", "plan": "pro", "seats": 12, "trial": false,
          "headings": ["Invoices"], "session": {"errors": 1}, "note": null, "x=y": "no"})");
  context["big"] = std::string(100, 'a');
  std::vector<std::string> segments = ContextSegments(context);
  std::sort(segments.begin(), segments.end());
  CHECK(segments == std::vector<std::string>{"plan=pro", "seats=12", "trial=false"});
  CHECK(SegmentKey("route", "/x").empty());
  CHECK(SegmentKey("plan", "").empty());

  // Enterprise customers resolve these questions with the other article shown, others with refund.
  const auto articles = testing::ToyArticles();
  std::vector<Observation> obs;
  for (int i = 0; i < 12; ++i) {
    const bool enterprise = i % 2 == 0;
    Observation o =
        Resolved("q" + std::to_string(i), "s" + std::to_string(i),
                 enterprise ? "reset-password" : "refund", {"refund", "reset-password"});
    o.segments = {enterprise ? "plan=enterprise" : "plan=free"};
    obs.push_back(o);
  }
  const ResolutionPriors priors = CountPriors(obs, articles);
  CHECK(priors.keys() == 2);
  uint32_t refund = 0, other = 0;
  for (uint32_t a = 0; a < articles.size(); ++a) {
    if (articles[a].id == "refund") refund = a;
    if (articles[a].id == "reset-password") other = a;
  }
  CHECK(priors.Mean("plan=enterprise", other) > priors.Mean("plan=enterprise", refund));
  CHECK(priors.Mean("plan=free", refund) > priors.Mean("plan=free", other));
  CHECK(priors.Signal(std::vector<std::string>{"plan=team", "/billing"}, refund, 1) == 0.0f);

  const Engine engine = EngineWithPriors(ToyBundle(articles), priors);
  auto prior_of = [&](const std::vector<std::string>& segs, uint32_t article) {
    SearchContext c;
    c.segments = segs;
    for (const auto& h : engine.Search("refund the charge on my card", c, 5).ranked) {
      if (h.article == article) return h.signal[kPrior];
    }
    return -9.0f;
  };
  CHECK(prior_of({"plan=enterprise"}, other) > prior_of({"plan=enterprise"}, refund));
  CHECK(prior_of({"plan=free"}, refund) > prior_of({"plan=free"}, other));
  CHECK(prior_of({"plan=team"}, refund) == 0.0f);  // a segment without priors changes nothing
}

TEST_CASE("bursts teach the priors and the escalation model nothing either") {
  const std::vector<Article> articles = testing::ToyArticles();
  const std::vector<Observation> customers =
      TwoQuestionSessions(40, {"refund", "reset-password"}, "/billing");
  // Five sessions of eight doubtful questions each, all "resolved" with the second article.
  std::vector<Observation> bursts = customers;
  for (int s = 0; s < 5; ++s) {
    for (int i = 0; i < 8; ++i) {
      const std::string session = "burst" + std::to_string(s);
      Observation o = Resolved(session + "-" + std::to_string(i), session, "reset-password",
                               {"refund", "reset-password"});
      o.ts = 3 + i;
      o.bundle = "1";
      o.route = "/billing";
      o.confidence = 0.2;
      bursts.push_back(o);
    }
  }
  AutonomousSite plain(articles), attacked(articles);
  const Engine a = PublishedFrom(&plain, customers);
  const Engine b = PublishedFrom(&attacked, bursts);
  REQUIRE_FALSE(a.parts().escalation.empty());
  for (const EscalationFeatures& f : {Asked(0.2f, 0, 0), Asked(0.2f, 3, 1), Asked(0.9f, 1, 0)}) {
    CHECK(b.parts().escalation.Probability(f) ==
          doctest::Approx(a.parts().escalation.Probability(f)));
  }
  SearchContext billing;
  billing.route = "/billing";
  const SearchResult ra = a.Search("refund the charge on my card", billing, 5);
  const SearchResult rb = b.Search("refund the charge on my card", billing, 5);
  REQUIRE(ra.ranked.size() == rb.ranked.size());
  for (size_t i = 0; i < ra.ranked.size(); ++i) {
    CHECK(rb.ranked[i].article == ra.ranked[i].article);
    CHECK(rb.ranked[i].signal[kPrior] == doctest::Approx(ra.ranked[i].signal[kPrior]));
  }
}

TEST_CASE(
    "where verified customers are required, sessions teach the priors and escalation nothing") {
  const std::vector<Article> articles = testing::ToyArticles();
  const std::vector<Observation> sessions =
      TwoQuestionSessions(40, {"refund", "reset-password"}, "/billing");
  std::vector<Observation> customers = sessions;
  for (Observation& o : customers) o.session = "customer:" + o.session;
  auto engine_of = [&](const std::vector<Observation>& obs) {
    AutonomousSite site(articles);
    auto found = site.store()->FindSite("acme");
    REQUIRE(found.ok());
    Site s = *found.value();
    s.identity = "required";
    REQUIRE(site.store()->UpdateSite(s).ok());
    return PublishedFrom(&site, obs);
  };
  const Engine from_sessions = engine_of(sessions);
  const Engine from_customers = engine_of(customers);
  CHECK(from_sessions.parts().escalation.empty());
  CHECK_FALSE(from_customers.parts().escalation.empty());
  SearchContext billing;
  billing.route = "/billing";
  const SearchResult a = from_sessions.Search("refund the charge on my card", billing, 5);
  const SearchResult b = from_customers.Search("refund the charge on my card", billing, 5);
  REQUIRE_FALSE(a.ranked.empty());
  REQUIRE_FALSE(b.ranked.empty());
  // Only the customers' outcomes moved the first answer's prior on the page.
  CHECK(a.ranked[0].signal[kPrior] != doctest::Approx(b.ranked[0].signal[kPrior]));
}

TEST_CASE(
    "the escalation model learns when conversations end with a human, and ships in a bundle") {
  // Sessions whose first answer was confident resolve; sessions that found it not helpful, after
  // a low-confidence answer, escalate on their next question.
  const std::vector<Observation> obs = TwoQuestionSessions(60, {"refund"});
  const EscalationModel model = FitEscalation(obs);
  REQUIRE_FALSE(model.empty());
  const EscalationFeatures calm = Asked(0.9f, 0, 0), struggling = Asked(0.2f, 1, 1);
  CHECK(model.Probability(struggling) > model.Probability(calm));
  CHECK(model.OfferHuman(struggling));
  CHECK_FALSE(model.OfferHuman(calm));
  CHECK(FitEscalation({}).empty());  // nothing logged: never offers early

  const auto built = ToyBundle();
  auto with = WithEscalation(built.value(), model);
  REQUIRE(with.ok());
  auto engine = Engine::Load(with.value().data(), with.value().size());
  REQUIRE(engine.ok());
  CHECK(engine.value().parts().escalation.Probability(struggling) ==
        doctest::Approx(model.Probability(struggling)));
  auto plain = Engine::Load(built.value().data(), built.value().size());
  REQUIRE(plain.ok());
  CHECK(plain.value().parts().escalation.empty());
}

TEST_CASE(
    "the site's history takes part as evidence: it contradicts, and duplicates merge into it") {
  GuardrailOptions options;
  std::vector<Observation> obs;
  for (int i = 0; i < 8; ++i) {
    Observation h;
    h.query_id = "history:" + std::to_string(i);
    h.session = "history";
    h.text = "ticket";
    h.agent = true;
    h.agent_article = "billing";
    h.status = "reference";
    h.article = "billing";
    obs.push_back(h);
  }
  obs.push_back(Resolved("x", "s1", "refund", {"refund", "billing"}));   // contradicted
  obs.push_back(Resolved("y", "s2", "billing", {"billing", "refund"}));  // a duplicate of history
  const Selection s = SelectExemplars(&obs, SameSpot(obs.size()), {}, {}, options);
  CHECK(Accepted(s) == 0);
  CHECK(obs[8].status == "rejected");
  CHECK(obs[9].status == "merged");
  CHECK(obs[0].status == "reference");  // history is never decided
}

TEST_CASE("an operator's pin wins over the ranking, and pins travel in the bundle") {
  const auto articles = testing::ToyArticles();
  auto built =
      Bundle::Build(articles, testing::ToyHistory(), testing::ToyVectors(), BundleOptions{});
  REQUIRE(built.ok());
  PinnedAnswers pins;
  pins.Add("Invoice", 4);  // "delete-project", which the engine would never rank first here
  ByteWriter w;
  pins.Serialize(&w);
  auto with = Bundle::WithSection(built.value().data(), built.value().size(), Section::kPins,
                                  std::move(w.bytes()));
  REQUIRE(with.ok());
  auto engine = Engine::Load(with.value().data(), with.value().size());
  REQUIRE(engine.ok());
  const SearchResult pinned = engine.value().Search("wrong charge on my invoice", {}, 3);
  REQUIRE(!pinned.ranked.empty());
  CHECK(pinned.ranked[0].article == 4);
  CHECK_FALSE(pinned.gap);
  CHECK(pinned.confidence == 1.0f);
  const SearchResult other = engine.value().Search("wrong charge on my card", {}, 3);
  REQUIRE(!other.ranked.empty());
  CHECK(other.ranked[0].article == 1);  // no pin matches: ranked as before

  ByteWriter bad;
  bad.u32(1);
  bad.str("x");
  bad.u32(99);
  ByteReader r(bad.bytes().data(), bad.bytes().size());
  CHECK_FALSE(PinnedAnswers::Deserialize(&r, articles.size()).ok());
}

TEST_CASE("frustration cues: runs of ! and ?!, shouting, words of lost patience; capped at 3") {
  CHECK(FrustrationCues("how do I reset my password") == 0);
  CHECK(FrustrationCues("Export the report as a PDF!") == 0);  // one capitalised word, one "!"
  CHECK(FrustrationCues("I still can't log in") == 1);
  CHECK(FrustrationCues("why?! the export fails") == 1);
  CHECK(FrustrationCues("let me talk to a human") == 1);
  CHECK(FrustrationCues("THIS DOES NOT WORK") == 1);
  CHECK(FrustrationCues("Useless. It is STILL BROKEN!!") == 3);
  CHECK(FrustrationCues("again again again again!!") == 3);
  CHECK(FrustrationCues("") == 0);
  CHECK(FrustrationCues(std::string("\xff\xfe!!\x00still", 10)) == 2);  // bytes, never a crash
}

TEST_CASE("the escalation model learns frustration and segments from the log, and ships them") {
  // 120 sessions of one confident question each. Frustrated questions and the free plan's
  // customers end with a person; calm questions on the pro plan are resolved. A segment seen in
  // fewer than 20 questions gets no weight of its own.
  std::vector<Observation> obs;
  for (int s = 0; s < 120; ++s) {
    const std::string session = "s" + std::to_string(s);
    const bool frustrated = s % 3 == 0, free = s % 4 == 0;
    Observation o = Resolved(session + "-a", session, "refund", {"refund"});
    o.ts = 1;
    o.bundle = "1";
    o.confidence = 0.8;
    o.text = frustrated ? "refund STILL NOT THERE, useless!!" : "how do I get a refund";
    o.segments = {free ? "plan=free" : "plan=pro"};
    if (s < 5) o.segments.push_back("team=rare");
    o.escalated = frustrated || free;
    if (o.escalated) o.resolved.clear();
    obs.push_back(o);
  }
  const EscalationModel model = FitEscalation(obs);
  REQUIRE_FALSE(model.empty());
  CHECK(model.frustration_weight() > 1.0f);
  REQUIRE(model.segment_weights().size() == 2);  // plan=free and plan=pro, not team=rare
  CHECK(model.segment_weights()[0].first == "plan=free");
  CHECK(model.segment_weights()[0].second > model.segment_weights()[1].second);

  const EscalationFeatures calm = Asked(0.8f, 0, 0, 0, {"plan=pro"});
  const EscalationFeatures angry =
      Asked(0.8f, 0, 0, FrustrationCues("still useless!!"), {"plan=pro"});
  const EscalationFeatures free = Asked(0.8f, 0, 0, 0, {"plan=free", "team=rare"});
  CHECK_FALSE(model.OfferHuman(calm));
  CHECK(model.OfferHuman(angry));
  CHECK(model.OfferHuman(free));
  CHECK(model.Probability(free) == model.Probability(Asked(0.8f, 0, 0, 0, {"plan=free"})));

  // In a bundle: the cues travel in their own section and come back; a bundle without it (from an
  // earlier server) loads with no frustration or segment weights; a damaged one is refused.
  const auto built = ToyBundle();
  auto with = WithEscalation(built.value(), model);
  REQUIRE(with.ok());
  auto engine = Engine::Load(with.value().data(), with.value().size());
  REQUIRE(engine.ok());
  for (const EscalationFeatures& f : {calm, angry, free}) {
    CHECK(engine.value().parts().escalation.Probability(f) ==
          doctest::Approx(model.Probability(f)));
  }
  const std::vector<uint8_t> again = engine.value().ToBundle();
  auto reloaded = Engine::Load(again.data(), again.size());
  REQUIRE(reloaded.ok());
  CHECK(reloaded.value().parts().escalation.Probability(free) ==
        doctest::Approx(model.Probability(free)));

  ByteWriter base;
  model.Serialize(&base);
  auto old = Bundle::WithSection(built.value().data(), built.value().size(), Section::kEscalation,
                                 std::move(base.bytes()));
  REQUIRE(old.ok());
  auto without = Engine::Load(old.value().data(), old.value().size());
  REQUIRE(without.ok());
  CHECK(without.value().parts().escalation.frustration_weight() == 0.0f);
  CHECK(without.value().parts().escalation.segment_weights().empty());

  ByteWriter bad;
  bad.f32(1.0f);
  bad.u32(1000);  // more segments than any model has
  auto damaged = Bundle::WithSection(old.value().data(), old.value().size(),
                                     Section::kEscalationCues, std::move(bad.bytes()));
  REQUIRE(damaged.ok());
  auto refused = Engine::Load(damaged.value().data(), damaged.value().size());
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("escalation cues") != std::string::npos);
}

TEST_CASE("the ranker's page and prior weights learn from what customers resolved on each page") {
  const auto built = ToyBundle();
  const std::vector<Article> articles = testing::ToyArticles();
  // 300 customers ask "my card and my code" (a refund or a two-factor question, the words alone
  // cannot tell) on the billing and the security page, and resolve as `answer` says.
  auto sessions = [](auto answer) {
    std::vector<Observation> obs;
    for (int i = 0; i < 300; ++i) {
      const std::string route = i % 2 ? "/billing" : "/settings/security";
      Observation o = Resolved("q" + std::to_string(i), "s" + std::to_string(i), answer(route),
                               {"refund", "reset-2fa", "reset-password"});
      o.ts = i;
      o.text = "my card and my code";
      o.route = route;
      obs.push_back(o);
    }
    return obs;
  };
  // Where each page's own article is the answer, the page match weighs more than its constant
  // (0.5); where customers always resolve with the other page's article, less.
  const ContextWeights telling = FitContextWeights(
      built.value(),
      sessions([](const std::string& r) { return r == "/billing" ? "refund" : "reset-2fa"; }),
      articles);
  const ContextWeights misleading = FitContextWeights(
      built.value(),
      sessions([](const std::string& r) { return r == "/billing" ? "reset-2fa" : "refund"; }),
      articles);
  REQUIRE(telling.fitted);
  REQUIRE(misleading.fitted);
  CHECK(telling.questions == 100);  // the newest third
  CHECK(telling.page > 0.5f);
  CHECK(misleading.page < 0.5f);

  // Too few such questions: the constants stay, and the bundle is unchanged.
  std::vector<Observation> few =
      sessions([](const std::string& r) { return r == "/billing" ? "refund" : "reset-2fa"; });
  few.resize(150);
  CHECK_FALSE(FitContextWeights(built.value(), few, articles).fitted);
  auto same = WithContextWeights(built.value(), ContextWeights{});
  REQUIRE(same.ok());
  CHECK(same.value() == built.value());

  // Into the bundle: the engine ranks with them and its ranker.onnx carries them.
  auto with = WithContextWeights(built.value(), telling);
  REQUIRE(with.ok());
  auto engine = Engine::Load(with.value().data(), with.value().size());
  REQUIRE(engine.ok());
  CHECK(engine.value().parts().ranker.weights[kPage] == telling.page);
  CHECK(engine.value().parts().ranker.weights[kPrior] == telling.prior);
  const std::vector<uint8_t>& onnx = engine.value().parts().ranker_model;
  auto model = OnnxRanker::Load(onnx.data(), onnx.size());
  REQUIRE(model.ok());
  const float rows[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 1};  // the page match alone, the prior alone
  auto scores = model.value().Score(rows, 2);
  REQUIRE(scores.ok());
  CHECK(scores.value()[0] == doctest::Approx(telling.page));
  CHECK(scores.value()[1] == doctest::Approx(telling.prior));
}
