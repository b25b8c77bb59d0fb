// The PostgreSQL store against a real server: LOOPWISE_TEST_POSTGRES names it (scripts/test runs
// the tests under scripts/with-postgres, which starts one). Without it these cases are skipped.
#include "postgres_store.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "sqlite_store.h"

using namespace loopwise;
using nlohmann::json;

namespace {

const char* Server() {
  return std::getenv("LOOPWISE_TEST_POSTGRES");
}
const bool kNoServer = Server() == nullptr || *Server() == '\0';

// A database of its own for one test case, dropped afterwards.
struct TempDatabase {
  TempDatabase() {
    name = "loopwise_unit_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    Admin("DROP DATABASE IF EXISTS " + name);
    Admin("CREATE DATABASE " + name);
    const std::string server = Server();
    url = server.substr(0, server.rfind('/') + 1) + name;
  }
  ~TempDatabase() { Admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); }
  static void Admin(const std::string& sql) {
    pqxx::connection c(Server());
    pqxx::nontransaction w(c);
    w.exec(sql);
  }
  std::string name, url;
  static inline int counter = 0;
};

struct TempDir {
  TempDir() {
    dir = std::filesystem::temp_directory_path() /
          ("loopwise-pg-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(dir);
  }
  ~TempDir() { std::filesystem::remove_all(dir); }
  std::filesystem::path dir;
  static inline int counter = 0;
};

SignalEvent Event(const std::string& type, int64_t ts, const std::string& query_id) {
  SignalEvent e;
  e.type = type;
  e.ts = ts;
  e.session = "s-" + query_id;
  e.query_id = query_id;
  e.query = "lost my authenticator phone";
  e.bundle = "1";
  e.context_json = R"({"route":"/settings/security","plan":"pro"})";
  return e;
}

template <typename T>
json Read(const Result<T>& r, const std::function<json(const T&)>& show) {
  return r.ok() ? show(r.value()) : json{{"error", r.status().message()}};
}

json ShowStatus(const Status& s) {
  return s.ok() ? json("ok") : json{{"error", s.message()}};
}

// Everything a store says after the same calls, as JSON: what the two stores must agree on.
json Exercise(Store& s) {
  json out = json::array();
  out.push_back(
      ShowStatus(s.InsertSite({"acme", "pk_1", "hash", {"https://a.example"}, "review"})));
  out.push_back(ShowStatus(s.InsertSite({"acme", "pk_2", "hash", {}, "review"})));
  out.push_back(ShowStatus(s.UpdateSite({"acme", "", "", {"https://b.example"}, "autonomous"})));
  out.push_back(ShowStatus(s.UpdateSite({"nobody", "", "", {}, "review"})));
  out.push_back(ShowStatus(s.SetSiteToken("acme", "hash-2")));
  out.push_back(ShowStatus(s.SetSiteToken("nobody", "hash-3")));
  out.push_back(Read<std::optional<Site>>(s.FindSite("acme"), [](const std::optional<Site>& x) {
    return x ? json{x->name, x->key, x->token_hash, x->origins, x->mode} : json();
  }));
  out.push_back(Read<std::optional<Site>>(s.FindSite("nobody"),
                                          [](const auto& x) { return json(x.has_value()); }));

  out.push_back(ShowStatus(s.PutArticles(
      "acme", {{"reset-2fa", "Reset 2FA", "Use a recovery code.", {"security"}, {"/settings/*"}},
               {"refund", "Refunds", "Five days.", {}, {}}})));
  out.push_back(
      ShowStatus(s.PutArticles("acme", {{"refund", "Get a refund", "", {"billing"}, {}}})));
  out.push_back(Read<bool>(s.DeleteArticle("acme", "nothing"), [](bool x) { return json(x); }));
  out.push_back(Read<std::vector<Article>>(s.Articles("acme"), [](const auto& list) {
    json j = json::array();
    for (const Article& a : list) j.push_back({a.id, a.title, a.body, a.tags, a.pages});
    return j;
  }));
  out.push_back(
      ShowStatus(s.AddHistory("acme", {{"lost phone", "reset-2fa", ""}, {"canteen", {}, ""}})));
  out.push_back(Read<std::vector<ResolvedQuery>>(s.History("acme"), [](const auto& list) {
    json j = json::array();
    for (const ResolvedQuery& q : list) j.push_back({q.text, q.article.value_or("-")});
    return j;
  }));
  out.push_back(ShowStatus(s.AddResolutions(
      "acme", {{"card declined", "refund", "q-9"}, {"no idea", std::nullopt, "q-10"}})));
  out.push_back(Read<std::vector<
                    StoredResolution>>(s.ResolutionsAfter("acme", 0, 10), [](const auto& list) {
    json j = json::array();
    for (const StoredResolution& r : list) {
      j.push_back({r.resolution.query_id, r.resolution.text, r.resolution.article.value_or("-")});
    }
    return j;
  }));

  SignalBatch batch{"acme", "b-1", {}};
  batch.events.push_back(Event("query", 1767225600000, "q-1"));
  batch.events.push_back(Event("shown", 1767225600000, "q-1"));
  batch.events.back().shown_json = R"(["reset-2fa","refund"])";
  batch.events.push_back(Event("resolved", 1767225601000, "q-1"));
  batch.events.back().article = "reset-2fa";
  batch.events.back().confidence = 0.8125;
  batch.events.push_back(Event("query", 1767312000000, "q-2"));
  batch.events.push_back(Event("shown", 1767312000000, "q-2"));
  batch.events.push_back(Event("escalated", 1767312001000, "q-2"));
  for (const SignalBatch& b : {batch, batch}) {
    out.push_back(Read<BatchReceipt>(s.AppendSignals(b), [](const BatchReceipt& r) {
      return json{r.accepted, r.duplicate};
    }));
  }
  out.push_back(Read<int64_t>(s.CountSignals("acme"), [](int64_t n) { return json(n); }));
  out.push_back(Read<std::vector<SignalCounts>>(s.SignalCountsByDay("acme"), [](const auto& list) {
    json j = json::array();
    for (const SignalCounts& c : list) j.push_back({c.day, c.type, c.events});
    return j;
  }));
  out.push_back(Read<std::vector<StoredSignal>>(s.SignalsAfter("acme", 2, 3), [](const auto& list) {
    json j = json::array();
    for (const StoredSignal& x : list) {
      const SignalEvent& e = x.event;
      j.push_back({x.id, e.type, e.ts, e.session, e.query_id, e.query, e.bundle, e.context_json,
                   e.shown_json, e.article, e.confidence ? json(*e.confidence) : json()});
    }
    return j;
  }));
  out.push_back(Read<std::vector<QueryOutcome>>(s.QueryOutcomes("acme"), [](const auto& list) {
    json j = json::array();
    for (const QueryOutcome& q : list) {
      j.push_back({q.query_id, q.ts, q.route, q.bundle, q.shown_json, q.declined, q.resolved,
                   q.resolved_article, q.not_helpful, q.escalated});
    }
    return j;
  }));

  // Forgetting the first day's signals (ids 1 to 3), never past the position given.
  for (const auto& [up_to, limit] :
       std::vector<std::pair<int64_t, size_t>>{{2, 5}, {6, 5}, {6, 5}}) {
    out.push_back(Read<int64_t>(s.ForgetSignals("acme", up_to, 1767312000000, limit),
                                [](int64_t n) { return json(n); }));
  }
  out.push_back(
      Read<std::vector<StoredSignal>>(s.SignalsAfter("acme", 0, 10), [](const auto& list) {
        json j = json::array();
        for (const StoredSignal& x : list) j.push_back(x.id);
        return j;
      }));

  out.push_back(ShowStatus(s.PutDocument("acme", "gaps", R"({"a":1})")));
  out.push_back(ShowStatus(s.PutDocument("acme", "gaps", R"({"a":2})")));
  out.push_back(Read<std::optional<std::string>>(
      s.Document("acme", "gaps"), [](const auto& d) { return d ? json(*d) : json(); }));
  out.push_back(Read<std::optional<std::string>>(
      s.Document("acme", "none"), [](const auto& d) { return json(d.has_value()); }));

  out.push_back(
      ShowStatus(s.SaveLearning("acme", {4, 1}, {{"q-1", "s-1", 5, "open", "{}"}}, {}, nullptr)));
  LearnedChange learned;
  learned.kind = "exemplars";
  learned.status = "pending";
  learned.article = "reset-2fa";
  std::vector<int64_t> ids;
  out.push_back(ShowStatus(
      s.SaveLearning("acme", {6, 2},
                     {{"q-1", "s-1", 5, "accepted", R"({"x":1})"}, {"q-2", "s-2", 3, "open", "{}"}},
                     {learned, learned}, &ids)));
  out.push_back(json{ids.size(), ids.size() == 2 && ids[1] == ids[0] + 1});
  out.push_back(Read<LearningCursor>(s.GetLearningCursor("acme"), [](const LearningCursor& c) {
    return json{c.signals, c.resolutions};
  }));
  out.push_back(
      Read<std::vector<LearningOutcome>>(s.LearningOutcomes("acme"), [](const auto& list) {
        json j = json::array();
        for (const LearningOutcome& o : list)
          j.push_back({o.query_id, o.session, o.ts, o.status, o.data_json});
        return j;
      }));

  LearnedChange change;
  change.kind = "exemplars";
  change.status = "pending";
  change.summary = "'Reset 2FA' now answers questions like 'lost phone'";
  change.article = "reset-2fa";
  change.sessions = 3;
  change.resolved = 3;
  change.created_at_ms = 17;
  auto id = s.AddChange("acme", change);
  out.push_back(Read<int64_t>(id, [](int64_t n) { return json(n); }));
  change.id = id.ok() ? id.value() : 0;
  change.status = "approved";
  change.decided_at_ms = 18;
  change.version = 2;
  change.note = "approved";
  out.push_back(ShowStatus(s.UpdateChange("acme", change)));
  change.id = 999;
  out.push_back(ShowStatus(s.UpdateChange("acme", change)));
  out.push_back(Read<std::vector<LearnedChange>>(s.Changes("acme"), [](const auto& list) {
    json j = json::array();
    for (const LearnedChange& c : list) {
      j.push_back({c.id, c.kind, c.status, c.summary, c.article, c.examples_json, c.exemplars_json,
                   c.sessions, c.resolved, c.not_helpful, c.created_at_ms, c.decided_at_ms,
                   c.version, c.note});
    }
    return j;
  }));
  out.push_back(Read<int64_t>(s.AddLearningRule("acme", {0, "pin", "lost phone", "reset-2fa"}),
                              [](int64_t n) { return json(n); }));
  out.push_back(Read<int64_t>(s.AddLearningRule("acme", {0, "block", "", "refund"}),
                              [](int64_t n) { return json(n); }));
  out.push_back(Read<bool>(s.DeleteLearningRule("acme", 1), [](bool x) { return json(x); }));
  out.push_back(Read<bool>(s.DeleteLearningRule("acme", 1), [](bool x) { return json(x); }));
  out.push_back(Read<std::vector<LearningRule>>(s.LearningRules("acme"), [](const auto& list) {
    json j = json::array();
    for (const LearningRule& r : list) j.push_back({r.id, r.kind, r.pattern, r.article});
    return j;
  }));

  for (int v = 0; v < 4; ++v) {
    out.push_back(Read<Version>(s.AddVersion("acme", "sha-" + std::to_string(v), 100 + v, 3),
                                [](const Version& x) {
                                  return json{x.version, x.sha256, x.current};
                                }));
  }
  out.push_back(ShowStatus(s.SetCurrent("acme", 2)));
  out.push_back(ShowStatus(s.SetCurrent("acme", 1)));
  auto versions = [](const std::vector<Version>& list) {
    json j = json::array();
    for (const Version& x : list) j.push_back({x.version, x.sha256, x.bytes, x.current});
    return j;
  };
  out.push_back(Read<std::vector<Version>>(s.Versions("acme"), versions));
  out.push_back(Read<std::optional<Version>>(
      s.CurrentVersion("acme"), [](const auto& x) { return x ? json(x->version) : json(); }));
  out.push_back(Read<std::vector<std::string>>(s.ReferencedBundles(), [](const auto& list) {
    std::vector<std::string> sorted = list;
    std::sort(sorted.begin(), sorted.end());
    return json(sorted);
  }));
  out.push_back(
      Read<std::vector<Site>>(s.ListSites(), [](const auto& list) { return json(list.size()); }));

  // Deleting a site takes everything stored for it, and nothing of another site's.
  out.push_back(ShowStatus(s.InsertSite({"beta", "pk_b", "hash", {}, "review"})));
  out.push_back(ShowStatus(s.PutArticles("beta", {{"refund", "Refunds", "", {}, {}}})));
  out.push_back(ShowStatus(s.PutDocument("acme", "gaps", "{}")));
  out.push_back(Read<bool>(s.DeleteSite("acme"), [](bool x) { return json(x); }));
  out.push_back(Read<bool>(s.DeleteSite("acme"), [](bool x) { return json(x); }));
  const auto size = [](const auto& list) { return json(list.size()); };
  out.push_back(
      json{Read<std::optional<Site>>(s.FindSite("acme"),
                                     [](const auto& x) { return json(x.has_value()); }),
           Read<std::vector<Article>>(s.Articles("acme"), size),
           Read<std::vector<ResolvedQuery>>(s.History("acme"), size),
           Read<std::vector<StoredResolution>>(s.ResolutionsAfter("acme", 0, 10), size),
           Read<int64_t>(s.CountSignals("acme"), [](int64_t n) { return json(n); }),
           Read<std::vector<LearningOutcome>>(s.LearningOutcomes("acme"), size),
           Read<std::vector<LearnedChange>>(s.Changes("acme"), size),
           Read<std::vector<LearningRule>>(s.LearningRules("acme"), size),
           Read<std::vector<Version>>(s.Versions("acme"), size),
           Read<std::optional<std::string>>(s.Document("acme", "gaps"),
                                            [](const auto& x) { return json(x.has_value()); }),
           Read<std::vector<std::string>>(s.ReferencedBundles(), size),
           Read<std::vector<Article>>(s.Articles("beta"), size)});
  // What reached the store under the name after the deletion is not a new site's.
  out.push_back(Read<BatchReceipt>(s.AppendSignals(batch), [](const BatchReceipt& r) {
    return json{r.accepted, r.duplicate};
  }));
  out.push_back(ShowStatus(s.InsertSite({"acme", "pk_3", "hash", {}, "review"})));
  out.push_back(Read<int64_t>(s.CountSignals("acme"), [](int64_t n) { return json(n); }));
  return out;
}

}  // namespace

TEST_CASE("the PostgreSQL store answers exactly as the SQLite store does" *
          doctest::skip(kNoServer)) {
  TempDatabase pg;
  TempDir dir;
  auto postgres = PostgresStore::Open(pg.url);
  REQUIRE_MESSAGE(postgres.ok(), postgres.status().message());
  auto sqlite = SqliteStore::Open((dir.dir / "loopwise.db").string());
  REQUIRE(sqlite.ok());
  const json expected = Exercise(*sqlite.value());
  const json got = Exercise(*postgres.value());
  // The site deleted: true then false, and nothing of it left; the other site's article stays;
  // a batch stored under the name afterwards is not the new site's of that name.
  REQUIRE(expected.size() > 6);
  const auto at = [&](size_t from_end) { return expected[expected.size() - from_end].dump(); };
  CHECK(at(6) == "true");
  CHECK(at(5) == "false");
  CHECK(at(4) == "[false,0,0,0,0,0,0,0,0,false,0,1]");
  CHECK(at(3) == "[6,false]");
  CHECK(at(2) == "\"ok\"");
  CHECK(at(1) == "0");
  REQUIRE(expected.size() == got.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO("call " << i);
    CHECK(got[i].dump() == expected[i].dump());
  }
  auto size = postgres.value()->SizeBytes();
  REQUIRE(size.ok());
  CHECK(size.value() > 0);
}

TEST_CASE("replicas on one database store each batch once and number signals in commit order" *
          doctest::skip(kNoServer)) {
  TempDatabase pg;
  std::vector<std::unique_ptr<PostgresStore>> replicas;
  for (int r = 0; r < 4; ++r) {
    auto s = PostgresStore::Open(pg.url);
    REQUIRE(s.ok());
    replicas.push_back(s.take());
  }
  REQUIRE(replicas[0]->InsertSite({"acme", "pk", "hash", {}, "review"}).ok());
  std::atomic<int> fresh{0}, duplicates{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        // Every batch id is sent by two threads, each through another replica.
        SignalBatch b{"acme", "b" + std::to_string((t / 2) * 25 + i), {}};
        b.events.assign(3, Event("query", 1, "q"));
        auto r = replicas[static_cast<size_t>(t) % replicas.size()]->AppendSignals(b);
        REQUIRE(r.ok());
        (r.value().duplicate ? duplicates : fresh)++;
      }
    });
  }
  // A reader following the log by id while the writers run: an id below its cursor that shows up
  // later (committed after a higher one) would never be read by learning, gaps or spikes.
  std::set<int64_t> seen;
  int64_t cursor = 0;
  std::thread reader([&] {
    while (fresh + duplicates < 200) {
      auto got = replicas[3]->SignalsAfter("acme", cursor, 1000);
      REQUIRE(got.ok());
      for (const StoredSignal& s : got.value()) {
        seen.insert(s.id);
        cursor = s.id;
      }
    }
  });
  for (auto& th : threads) th.join();
  reader.join();
  CHECK(fresh == 100);
  CHECK(duplicates == 100);
  CHECK(replicas[0]->CountSignals("acme").value() == 300);
  auto all = replicas[0]->SignalsAfter("acme", 0, 10000);
  REQUIRE(all.ok());
  size_t missed = 0;
  for (const StoredSignal& x : all.value()) missed += x.id <= cursor && !seen.count(x.id);
  CHECK(missed == 0);
  CHECK(seen.size() > 0);
}

TEST_CASE("the PostgreSQL store migrates once and refuses a schema from the future" *
          doctest::skip(kNoServer)) {
  TempDatabase pg;
  {
    auto s = PostgresStore::Open(pg.url);
    REQUIRE(s.ok());
    REQUIRE(s.value()->InsertSite({"acme", "pk", "hash", {}, "review"}).ok());
  }
  {
    auto again = PostgresStore::Open(pg.url);
    REQUIRE(again.ok());
    CHECK(again.value()->FindSite("acme").value().has_value());
  }
  {
    pqxx::connection c(pg.url);
    pqxx::work w(c);
    w.exec("UPDATE schema_version SET version = 99");
    w.commit();
  }
  auto future = PostgresStore::Open(pg.url);
  REQUIRE_FALSE(future.ok());
  CHECK(future.status().message().find("newer") != std::string::npos);
  CHECK(future.status().message().find(pg.name) != std::string::npos);
}

TEST_CASE("a site's lock holds across replicas: a try fails at once, a waiter runs after" *
          doctest::skip(kNoServer)) {
  TempDatabase pg;
  auto a = PostgresStore::Open(pg.url);
  auto b = PostgresStore::Open(pg.url);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  std::atomic<bool> inside{false}, release{false}, waiter_ran{false}, overlapped{false};
  std::thread holder([&] {
    auto held = a.value()->Exclusively("acme", "learning", true, [&] {
      inside = true;
      while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      inside = false;
    });
    REQUIRE(held.ok());
  });
  while (!inside) std::this_thread::sleep_for(std::chrono::milliseconds(5));

  auto tried = b.value()->Exclusively("acme", "learning", false, [] {});
  REQUIRE(tried.ok());
  CHECK_FALSE(tried.value());
  bool other_ran = false;
  CHECK(b.value()->Exclusively("other", "learning", false, [&] { other_ran = true; }).value());
  CHECK(b.value()->Exclusively("acme", "watch", false, [] {}).value());
  CHECK(other_ran);

  std::thread waiter([&] {
    auto waited = b.value()->Exclusively("acme", "learning", true, [&] {
      overlapped = inside.load();
      waiter_ran = true;
    });
    REQUIRE(waited.ok());
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK_FALSE(waiter_ran);
  release = true;
  holder.join();
  waiter.join();
  CHECK(waiter_ran);
  CHECK_FALSE(overlapped);
  // Released with its connection: free again.
  CHECK(a.value()->Exclusively("acme", "learning", false, [] {}).value());
}
