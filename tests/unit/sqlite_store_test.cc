#include "sqlite_store.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <thread>

namespace {

using loopwise::SignalBatch;
using loopwise::SqliteStore;
using loopwise::Status;
using loopwise::Store;

struct TempDb {
  TempDb() {
    dir = std::filesystem::temp_directory_path() /
          ("loopwise-store-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(dir);
  }
  ~TempDb() { std::filesystem::remove_all(dir); }
  std::string path() const { return (dir / "loopwise.db").string(); }
  std::filesystem::path dir;
  static inline int counter = 0;
};

SignalBatch Batch(const std::string& id, size_t events) {
  SignalBatch b{"acme", id, {}};
  loopwise::SignalEvent e;
  e.type = "query";
  e.ts = 1;
  e.query = "text";
  b.events.assign(events, e);
  return b;
}

}  // namespace

TEST_CASE("the store migrates once, keeps sites, and refuses a schema from the future") {
  TempDb db;
  {
    auto store = SqliteStore::Open(db.path());
    REQUIRE(store.ok());
    CHECK(
        store.value()->InsertSite({"acme", "pk_1", "hash", {"https://a.example"}, "review"}).ok());
    CHECK_FALSE(store.value()->InsertSite({"acme", "pk_2", "hash", {}, "review"}).ok());
  }
  {
    auto again = SqliteStore::Open(db.path());
    REQUIRE(again.ok());
    auto site = again.value()->FindSite("acme");
    REQUIRE(site.ok());
    REQUIRE(site.value().has_value());
    CHECK(site.value()->origins == std::vector<std::string>{"https://a.example"});
  }
  {
    sqlite3* raw = nullptr;
    sqlite3_open(db.path().c_str(), &raw);
    sqlite3_exec(raw, "UPDATE schema_version SET version = 999", nullptr, nullptr, nullptr);
    sqlite3_close(raw);
  }
  auto future = SqliteStore::Open(db.path());
  REQUIRE_FALSE(future.ok());
  CHECK(future.status().message().find("newer") != std::string::npos);
}

TEST_CASE("history keeps a ticket no article answered as one, next to resolved ones") {
  TempDb db;
  auto store = SqliteStore::Open(db.path());
  REQUIRE(store.ok());
  REQUIRE(store.value()->InsertSite({"acme", "pk_1", "hash", {}, "review"}).ok());
  REQUIRE(
      store.value()->AddHistory("acme", {{"money back", "refund", ""}, {"canteen", {}, ""}}).ok());
  auto history = store.value()->History("acme");
  REQUIRE(history.ok());
  REQUIRE(history.value().size() == 2);
  CHECK(history.value()[0].article == "refund");
  CHECK(history.value()[1].text == "canteen");
  CHECK(!history.value()[1].article.has_value());
}

TEST_CASE("a snapshot taken while the store writes holds what was committed before it") {
  TempDb db;
  auto store = SqliteStore::Open(db.path());
  REQUIRE(store.ok());
  REQUIRE(store.value()->InsertSite({"acme", "pk_1", "hash", {}, "review"}).ok());
  REQUIRE(store.value()->AppendSignals(Batch("b1", 3)).ok());
  const std::string copy = (db.dir / "copy.db").string();
  REQUIRE(SqliteStore::Snapshot(db.path(), copy).ok());  // the store still open, writing
  REQUIRE(store.value()->AppendSignals(Batch("b2", 2)).ok());
  auto restored = SqliteStore::Open(copy);
  REQUIRE(restored.ok());
  auto site = restored.value()->FindSite("acme");
  REQUIRE(site.ok());
  CHECK(site.value().has_value());
  auto count = restored.value()->CountSignals("acme");
  REQUIRE(count.ok());
  CHECK(count.value() == 3);

  const std::string missing = (db.dir / "missing.db").string();
  Status s = SqliteStore::Snapshot(missing, (db.dir / "other.db").string());
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find(missing + ": cannot open the database") == 0);
  CHECK_FALSE(std::filesystem::exists(missing));
  CHECK_FALSE(std::filesystem::exists(db.dir / "other.db"));
}

TEST_CASE("deleting a site empties every table that names it, and only for that site") {
  TempDb db;
  auto store = SqliteStore::Open(db.path());
  REQUIRE(store.ok());
  Store& s = *store.value();
  for (const char* name : {"acme", "beta"}) {
    REQUIRE(s.InsertSite({name, std::string("pk_") + name, "hash", {}, "review"}).ok());
    REQUIRE(s.PutArticles(name, {{"refund", "Refunds", "", {}, {}}}).ok());
    REQUIRE(s.AddHistory(name, {{"money back", "refund", ""}}).ok());
    REQUIRE(s.PutDocument(name, "gaps", "{}").ok());
    REQUIRE(s.AddVersion(name, std::string("sha-") + name, 10, 1).ok());
  }
  REQUIRE(s.AppendSignals(Batch("b1", 3)).ok());

  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(db.path().c_str(), &raw) == SQLITE_OK);
  const auto rows = [&](const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(raw, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
    std::vector<std::string> out;
    while (sqlite3_step(st) == SQLITE_ROW) {
      out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    }
    sqlite3_finalize(st);
    return out;
  };
  // Every table with a site column is one DeleteSite empties (a new table must join the list).
  auto with_site = rows(
      "SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) c "
      "WHERE m.type = 'table' AND c.name = 'site' ORDER BY m.name");
  std::vector<std::string> listed(std::begin(loopwise::kSiteTables),
                                  std::end(loopwise::kSiteTables));
  std::sort(listed.begin(), listed.end());
  CHECK(with_site == listed);

  auto deleted = s.DeleteSite("acme");
  REQUIRE(deleted.ok());
  CHECK(deleted.value());
  for (const std::string& table : listed) {
    INFO(table);
    CHECK(rows("SELECT site FROM " + table + " WHERE site = 'acme'").empty());
  }
  CHECK(rows("SELECT name FROM sites") == std::vector<std::string>{"beta"});
  CHECK(rows("SELECT site FROM articles") == std::vector<std::string>{"beta"});
  CHECK(rows("SELECT site FROM versions") == std::vector<std::string>{"beta"});
  sqlite3_close(raw);
  auto again = s.DeleteSite("acme");
  REQUIRE(again.ok());
  CHECK_FALSE(again.value());

  // A batch stored under the name after the deletion (a server answering from its memory of the
  // site) is not a new site's of the same name.
  REQUIRE(s.AppendSignals(Batch("late", 2)).ok());
  REQUIRE(s.InsertSite({"acme", "pk_new", "hash", {}, "review"}).ok());
  auto count = s.CountSignals("acme");
  REQUIRE(count.ok());
  CHECK(count.value() == 0);
  CHECK_FALSE(s.InsertSite({"acme", "pk_3", "hash", {}, "review"}).ok());
}

TEST_CASE("signal batches are stored once per batch id, from many threads at once") {
  TempDb db;
  auto store = SqliteStore::Open(db.path());
  REQUIRE(store.ok());
  auto& s = *store.value();
  REQUIRE(s.InsertSite({"acme", "pk", "hash", {}, "review"}).ok());
  std::vector<std::thread> threads;
  std::atomic<int> fresh{0}, duplicates{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        // Every batch id is sent by two threads.
        auto r = s.AppendSignals(Batch("b" + std::to_string((t / 2) * 50 + i), 3));
        REQUIRE(r.ok());
        CHECK(r.value().accepted == 3);
        (r.value().duplicate ? duplicates : fresh)++;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(fresh == 200);
  CHECK(duplicates == 200);
  CHECK(s.CountSignals("acme").value() == 600);
}

TEST_CASE("signals are read back in arrival order from a cursor, field for field") {
  TempDb db;
  auto store = SqliteStore::Open(db.path());
  REQUIRE(store.ok());
  auto& s = *store.value();
  REQUIRE(s.InsertSite({"acme", "pk", "hash", {}, "review"}).ok());
  SignalBatch b = Batch("first", 2);
  b.events[1].type = "resolved";
  b.events[1].article = "reset-2fa";
  b.events[1].confidence = 0.75;
  b.events[1].context_json = R"({"route":"/settings/security"})";
  REQUIRE(s.AppendSignals(b).ok());
  REQUIRE(s.AppendSignals(Batch("second", 3)).ok());

  auto all = s.SignalsAfter("acme", 0, 100);
  REQUIRE(all.ok());
  REQUIRE(all.value().size() == 5);
  const auto& resolved = all.value()[1];
  CHECK(resolved.event.type == "resolved");
  CHECK(resolved.event.article == "reset-2fa");
  CHECK(resolved.event.confidence == doctest::Approx(0.75));
  CHECK(resolved.event.context_json == R"({"route":"/settings/security"})");
  CHECK_FALSE(all.value()[0].event.confidence.has_value());

  auto rest = s.SignalsAfter("acme", resolved.id, 2);
  REQUIRE(rest.ok());
  REQUIRE(rest.value().size() == 2);
  CHECK(rest.value()[0].id > resolved.id);
  CHECK(rest.value()[1].id > rest.value()[0].id);
  CHECK(s.SignalsAfter("other", 0, 100).value().empty());
}

TEST_CASE(
    "old signals are forgotten oldest first, up to a position and a date, a slice at a time") {
  TempDb db;
  auto store = SqliteStore::Open(db.path());
  REQUIRE(store.ok());
  auto& s = *store.value();
  REQUIRE(s.InsertSite({"acme", "pk", "hash", {}, "review"}).ok());
  REQUIRE(s.InsertSite({"beta", "pk2", "hash2", {}, "review"}).ok());
  SignalBatch b = Batch("b", 6);
  for (size_t i = 0; i < 6; ++i) b.events[i].ts = i < 4 ? 1000 : 5000;  // ids 1-4 old, 5-6 new
  REQUIRE(s.AppendSignals(b).ok());
  SignalBatch other = Batch("b", 2);
  other.site = "beta";
  REQUIRE(s.AppendSignals(other).ok());  // ids 7-8, another site's

  auto ids = [&](const std::string& site) {
    auto stored = s.SignalsAfter(site, 0, 100);
    REQUIRE(stored.ok());
    std::vector<int64_t> out;
    for (const auto& x : stored.value()) out.push_back(x.id);
    return out;
  };
  CHECK(s.ForgetSignals("acme", 3, 2000, 2).value() == 2);  // a slice of 2: ids 1, 2
  CHECK(ids("acme") == std::vector<int64_t>{3, 4, 5, 6});
  CHECK(s.ForgetSignals("acme", 3, 2000, 10).value() == 1);    // not past position 3
  CHECK(s.ForgetSignals("acme", 100, 2000, 10).value() == 1);  // id 4; 5 and 6 are newer
  CHECK(s.ForgetSignals("acme", 100, 2000, 10).value() == 0);
  CHECK(ids("acme") == std::vector<int64_t>{5, 6});
  CHECK(ids("beta") == std::vector<int64_t>{7, 8});
  // The batch's idempotency record stays: sent again, it is still a duplicate.
  auto again = s.AppendSignals(Batch("b", 6));
  REQUIRE(again.ok());
  CHECK(again.value().duplicate);
}

TEST_CASE("versions: the newest is current, old ones are forgotten, any kept one can come back") {
  TempDb db;
  auto store = SqliteStore::Open(db.path());
  REQUIRE(store.ok());
  auto& s = *store.value();
  REQUIRE(s.InsertSite({"acme", "pk", "hash", {}, "review"}).ok());
  for (int i = 1; i <= 5; ++i) {
    auto v = s.AddVersion("acme", std::string(64, static_cast<char>('0' + i)), 10 * i, 3);
    REQUIRE(v.ok());
    CHECK(v.value().version == i);
  }
  auto versions = s.Versions("acme");
  REQUIRE(versions.ok());
  REQUIRE(versions.value().size() == 3);
  CHECK(versions.value()[0].version == 5);
  CHECK(versions.value()[0].current);
  CHECK(s.SetCurrent("acme", 4).ok());
  CHECK(s.CurrentVersion("acme").value()->version == 4);
  CHECK_FALSE(s.SetCurrent("acme", 1).ok());
  CHECK(s.CurrentVersion("acme").value()->version == 4);
  CHECK(s.AddVersion("acme", std::string(64, 'f'), 1, 3).value().version == 6);
}
