#pragma once
// What the gap, incident and alert tests share: a real SQLite store in a temporary directory, the
// toy site's engine, and a way to append signals to the store at a simulated time.

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "engine/bundle.h"
#include "engine/engine.h"
#include "sqlite_store.h"
#include "toy_site.h"

namespace loopwise::testing {

// A fixed Monday 00:00 UTC, so hours of the day are easy to read in tests.
constexpr int64_t kDay0 = 1767571200000;  // 2026-01-05T00:00:00Z
constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

inline Engine ToyEngine() {
  auto bundle = Bundle::Build(ToyArticles(), ToyHistory(), ToyVectors(), BundleOptions{});
  REQUIRE(bundle.ok());
  auto engine = Engine::Load(bundle.value().data(), bundle.value().size());
  REQUIRE(engine.ok());
  return engine.take();
}

class SignalLog {
 public:
  SignalLog() {
    static int counter = 0;
    dir_ = std::filesystem::temp_directory_path() /
           ("loopwise-ops-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(dir_);
    Open();
  }
  ~SignalLog() {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Closes and reopens the database, as a restarted server would.
  void Open() {
    store_.reset();
    auto store = SqliteStore::Open((dir_ / "loopwise.db").string());
    REQUIRE(store.ok());
    store_ = store.take();
  }
  Store* store() { return store_.get(); }
  std::string bundle = "1";  // the version the next events say answered them

  // Appends one event of question `query_id` (its own batch).
  void Add(const std::string& type, int64_t ts, const std::string& query_id,
           const std::string& query, const std::string& route = "/",
           const std::string& shown_json = "[]", const std::string& article = "",
           const std::string& session = "") {
    SignalEvent e;
    e.type = type;
    e.ts = ts;
    e.session = session.empty() ? "s-" + query_id : session;
    e.query_id = query_id;
    e.query = query;
    e.bundle = bundle;
    e.context_json = "{\"route\":\"" + route + "\"}";
    e.shown_json = shown_json;
    e.article = article;
    e.confidence = 0.5;
    pending_.events.push_back(std::move(e));
  }
  // Stores what Add collected as one batch.
  void Flush() {
    if (pending_.events.empty()) return;
    pending_.site = "acme";
    pending_.batch_id = "b" + std::to_string(batches_++);
    REQUIRE(store_->AppendSignals(std::move(pending_)).ok());
    pending_ = {};
  }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<SqliteStore> store_;
  SignalBatch pending_;
  int batches_ = 0;
};

}  // namespace loopwise::testing
