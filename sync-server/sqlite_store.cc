#include "sqlite_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace loopwise {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

using nlohmann::json;

// Ordered schema migrations: entry i takes the schema from version i to i + 1. Never edit a
// released entry; append a new one.
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE sites (
  name TEXT PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  token_hash TEXT NOT NULL,
  origins TEXT NOT NULL DEFAULT '[]',
  mode TEXT NOT NULL DEFAULT 'review' CHECK (mode IN ('review', 'autonomous')),
  created_at INTEGER NOT NULL
);
CREATE TABLE articles (
  site TEXT NOT NULL REFERENCES sites(name),
  id TEXT NOT NULL,
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  tags TEXT NOT NULL,
  pages TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (site, id)
);
CREATE TABLE history (
  id INTEGER PRIMARY KEY,
  site TEXT NOT NULL REFERENCES sites(name),
  text TEXT NOT NULL,
  article TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX history_by_site ON history(site);
CREATE TABLE signal_batches (
  site TEXT NOT NULL,
  batch_id TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  events INTEGER NOT NULL,
  PRIMARY KEY (site, batch_id)
);
CREATE TABLE signals (
  id INTEGER PRIMARY KEY,
  site TEXT NOT NULL,
  batch_id TEXT NOT NULL,
  type TEXT NOT NULL,
  ts INTEGER NOT NULL,
  session TEXT NOT NULL,
  query_id TEXT NOT NULL,
  query TEXT NOT NULL,
  bundle TEXT NOT NULL,
  context TEXT NOT NULL,
  shown TEXT NOT NULL,
  article TEXT NOT NULL,
  confidence REAL
);
CREATE INDEX signals_by_site_ts ON signals(site, ts);
CREATE TABLE versions (
  site TEXT NOT NULL REFERENCES sites(name),
  version INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  published_at INTEGER NOT NULL,
  current INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (site, version)
);
CREATE TABLE resolutions (
  id INTEGER PRIMARY KEY,
  site TEXT NOT NULL REFERENCES sites(name),
  query_id TEXT NOT NULL,
  text TEXT NOT NULL,
  article TEXT,
  created_at INTEGER NOT NULL
);
)sql",
    R"sql(
CREATE TABLE documents (
  site TEXT NOT NULL,
  name TEXT NOT NULL,
  body TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (site, name)
);
)sql",
    R"sql(
CREATE TABLE learning_cursors (
  site TEXT PRIMARY KEY,
  signals INTEGER NOT NULL,
  resolutions INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE learning_outcomes (
  site TEXT NOT NULL,
  query_id TEXT NOT NULL,
  session TEXT NOT NULL,
  ts INTEGER NOT NULL,
  status TEXT NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (site, query_id)
);
CREATE TABLE changes (
  id INTEGER PRIMARY KEY,
  site TEXT NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  summary TEXT NOT NULL,
  article TEXT NOT NULL,
  examples TEXT NOT NULL,
  exemplars TEXT NOT NULL,
  sessions INTEGER NOT NULL,
  resolved INTEGER NOT NULL,
  not_helpful INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  decided_at INTEGER NOT NULL DEFAULT 0,
  version INTEGER NOT NULL DEFAULT 0,
  note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX changes_by_site ON changes(site, id);
CREATE TABLE learning_rules (
  id INTEGER PRIMARY KEY,
  site TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('pin', 'block')),
  pattern TEXT NOT NULL,
  article TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
)sql",
    R"sql(
ALTER TABLE sites ADD COLUMN identity TEXT NOT NULL DEFAULT 'off'
  CHECK (identity IN ('off', 'optional', 'required'));
ALTER TABLE sites ADD COLUMN identity_secret TEXT NOT NULL DEFAULT '';
)sql",
};
constexpr int kSchemaVersion = sizeof(kMigrations) / sizeof(kMigrations[0]);

// A prepared statement, finalized on scope exit. Bind indexes start at 1.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool prepared() const { return rc_ == SQLITE_OK; }
  Statement& Bind(int i, const std::string& s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& Bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Statement& BindDouble(int i, std::optional<double> v) {
    if (v) {
      sqlite3_bind_double(stmt_, i, *v);
    } else {
      sqlite3_bind_null(stmt_, i);
    }
    return *this;
  }
  Statement& BindOptional(int i, const std::optional<std::string>& s) {
    if (s) return Bind(i, *s);
    sqlite3_bind_null(stmt_, i);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return prepared() ? sqlite3_step(stmt_) : rc_; }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::string Text(int col) const {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Double(int col) const { return sqlite3_column_double(stmt_, col); }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

Status Error(sqlite3* db, const std::string& what) {
  return Status::Error("store: " + what + " failed (" + sqlite3_errmsg(db) + ")");
}

Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    Status s = Status::Error(std::string("store: ") + (err ? err : sqlite3_errmsg(db)));
    sqlite3_free(err);
    return s;
  }
  return Status::Ok();
}

// Runs body inside BEGIN IMMEDIATE ... COMMIT, rolling back when it or the commit fails.
template <typename Body>
Status Transaction(sqlite3* db, Body body) {
  if (Status s = Exec(db, "BEGIN IMMEDIATE"); !s.ok()) return s;
  Status s = body();
  if (s.ok()) s = Exec(db, "COMMIT");
  if (!s.ok()) Exec(db, "ROLLBACK");
  return s;
}

Status Done(Statement& st, sqlite3* db, const char* what) {
  const int rc = st.Step();
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return Error(db, what);
  return Status::Ok();
}

// Inserts one change; its id.
Result<int64_t> InsertChange(sqlite3* db, const std::string& site, const LearnedChange& c) {
  Statement st(db,
               "INSERT INTO changes (site, kind, status, summary, article, examples, exemplars, "
               "sessions, resolved, not_helpful, created_at, decided_at, version, note) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  st.Bind(1, site).Bind(2, c.kind).Bind(3, c.status).Bind(4, c.summary).Bind(5, c.article);
  st.Bind(6, c.examples_json).Bind(7, c.exemplars_json).Bind(8, c.sessions).Bind(9, c.resolved);
  st.Bind(10, c.not_helpful).Bind(11, c.created_at_ms).Bind(12, c.decided_at_ms);
  st.Bind(13, c.version).Bind(14, c.note);
  if (Status s = Done(st, db, "storing a change"); !s.ok()) return s;
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db));
}

std::string ToJson(const std::vector<std::string>& list) {
  return json(list).dump();
}

std::vector<std::string> FromJsonList(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  for (const auto& v : j) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

Status Configure(sqlite3* db, const std::string& path) {
  sqlite3_busy_timeout(db, 10000);
  // WAL lets readers run beside the writer; FULL fsyncs the WAL on every commit, so a commit
  // survives power loss, not only a crash of this process.
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
    if (Status s = Exec(db, pragma); !s.ok()) {
      return Status::Error(path + ": cannot use the database (" + s.message() + ")");
    }
  }
  return Status::Ok();
}

Status Migrate(sqlite3* db, const std::string& path) {
  return Transaction(db, [&]() -> Status {
    if (Status s = Exec(db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
        !s.ok()) {
      return s;
    }
    Statement get(db, "SELECT version FROM schema_version");
    int version = 0;
    bool has_row = false;
    if (get.Step() == SQLITE_ROW) {
      version = static_cast<int>(get.Int(0));
      has_row = true;
    }
    if (version > kSchemaVersion) {
      return Status::Error(path + ": schema version " + std::to_string(version) +
                           " is newer than this loopwise understands (" +
                           std::to_string(kSchemaVersion) + "); upgrade loopwise");
    }
    for (int v = version; v < kSchemaVersion; ++v) {
      if (Status s = Exec(db, kMigrations[v]); !s.ok()) {
        return Status::Error(path + ": migration to schema " + std::to_string(v + 1) +
                             " failed: " + s.message());
      }
    }
    Statement set(db, has_row ? "UPDATE schema_version SET version = ?"
                              : "INSERT INTO schema_version (version) VALUES (?)");
    set.Bind(1, static_cast<int64_t>(kSchemaVersion));
    return Done(set, db, "recording the schema version");
  });
}

Result<sqlite3*> OpenConnection(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Status::Error(path + ": cannot open the database (" + why + ")");
  }
  if (Status s = Configure(db, path); !s.ok()) {
    sqlite3_close(db);
    return s;
  }
  return db;
}

Version ReadVersion(const Statement& st) {
  Version v;
  v.version = st.Int(0);
  v.sha256 = st.Text(1);
  v.bytes = st.Int(2);
  v.published_at_ms = st.Int(3);
  v.current = st.Int(4) != 0;
  return v;
}

}  // namespace

int SqliteStore::SchemaVersion() {
  return kSchemaVersion;
}

Status SqliteStore::Snapshot(const std::string& from, const std::string& to) {
  sqlite3* source = nullptr;
  sqlite3* copy = nullptr;
  auto fail = [&](const std::string& why) {
    sqlite3_close(source);
    sqlite3_close(copy);
    return Status::Error(why);
  };
  if (sqlite3_open_v2(from.c_str(), &source, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    return fail(from + ": cannot open the database (" +
                (source ? sqlite3_errmsg(source) : "out of memory") + ")");
  }
  sqlite3_busy_timeout(source, 10000);
  if (sqlite3_open_v2(to.c_str(), &copy,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    return fail(to + ": cannot create the copy (" +
                (copy ? sqlite3_errmsg(copy) : "out of memory") + ")");
  }
  sqlite3_backup* backup = sqlite3_backup_init(copy, "main", source, "main");
  if (!backup) return fail(to + ": cannot start the copy (" + sqlite3_errmsg(copy) + ")");
  // All pages in one step: a single read transaction, so one consistent snapshot. Writers never
  // block it in WAL mode; a checkpoint or a writer's lock can briefly, so it waits and tries again
  // (for a minute at most).
  int rc;
  for (int tries = 0; (rc = sqlite3_backup_step(backup, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED;
       ++tries) {
    if (tries == 1200) break;
    sqlite3_sleep(50);
  }
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) {
    return fail(from + ": cannot copy the database (" + sqlite3_errmsg(copy) + ")");
  }
  if (sqlite3_close(copy) != SQLITE_OK) {
    copy = nullptr;
    return fail(to + ": cannot close the copy");
  }
  copy = nullptr;
  sqlite3_close(source);
  source = nullptr;
  const int fd = ::open(to.c_str(), O_RDONLY | O_CLOEXEC);
  const bool synced = fd >= 0 && ::fsync(fd) == 0;
  if (fd >= 0) ::close(fd);
  if (!synced) return Status::Error(to + ": cannot sync the copy to disk");
  return Status::Ok();
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path) {
  auto db = OpenConnection(path);
  if (!db.ok()) return db.status();
  if (Status s = Migrate(db.value(), path); !s.ok()) {
    sqlite3_close(db.value());
    return s;
  }
  auto writer = OpenConnection(path);
  if (!writer.ok()) {
    sqlite3_close(db.value());
    return writer.status();
  }
  auto checkpointer = OpenConnection(path);
  if (!checkpointer.ok()) {
    sqlite3_close(db.value());
    sqlite3_close(writer.value());
    return checkpointer.status();
  }
  // The signal writer leaves checkpoints to the checkpoint thread.
  sqlite3_wal_autocheckpoint(writer.value(), 0);
  return std::unique_ptr<SqliteStore>(
      new SqliteStore(path, db.value(), writer.value(), checkpointer.value()));
}

SqliteStore::SqliteStore(std::string path, sqlite3* db, sqlite3* writer, sqlite3* checkpointer)
    : path_(std::move(path)), db_(db), writer_db_(writer), checkpoint_db_(checkpointer) {
  signals_ = std::make_unique<GroupCommit>(
      [this](const std::vector<const SignalBatch*>& group) { return CommitGroup(group); });
  checkpointer_ = std::thread([this] { CheckpointLoop(); });
}

SqliteStore::~SqliteStore() {
  signals_->Stop();
  {
    std::lock_guard<std::mutex> lock(checkpoint_mu_);
    stopping_ = true;
  }
  checkpoint_cv_.notify_all();
  checkpointer_.join();
  sqlite3_close(checkpoint_db_);
  sqlite3_close(writer_db_);
  sqlite3_close(db_);
}

namespace {

// Deletes every row that names `site` outside the sites table (the caller holds the lock, inside
// a transaction).
Status DeleteSiteRows(sqlite3* db, const std::string& site) {
  for (const char* table : kSiteTables) {
    const std::string sql = std::string("DELETE FROM ") + table + " WHERE site = ?";
    Statement st(db, sql.c_str());
    st.Bind(1, site);
    if (Status s = Done(st, db, "deleting the site"); !s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace

Status SqliteStore::InsertSite(const Site& site) {
  std::lock_guard<std::mutex> lock(mu_);
  {
    Statement find(db_, "SELECT 1 FROM sites WHERE name = ?");
    find.Bind(1, site.name);
    if (find.Step() == SQLITE_ROW) {
      return Status::Error("site \"" + site.name + "\" already exists");
    }
  }
  return Transaction(db_, [&]() -> Status {
    Statement st(db_,
                 "INSERT INTO sites (name, key, token_hash, origins, mode, identity, "
                 "identity_secret, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    st.Bind(1, site.name).Bind(2, site.key).Bind(3, site.token_hash).Bind(4, ToJson(site.origins));
    st.Bind(5, site.mode).Bind(6, site.identity).Bind(7, site.identity_secret).Bind(8, NowMs());
    if (Status s = Done(st, db_, "creating the site"); !s.ok()) return s;
    // What a deleted site of the same name left behind (a batch that reached a running server
    // just after the deletion) is not the new site's.
    return DeleteSiteRows(db_, site.name);
  });
}

Status SqliteStore::UpdateSite(const Site& site) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st(db_,
               "UPDATE sites SET origins = ?, mode = ?, identity = ?, identity_secret = ? "
               "WHERE name = ?");
  st.Bind(1, ToJson(site.origins)).Bind(2, site.mode).Bind(3, site.identity);
  st.Bind(4, site.identity_secret).Bind(5, site.name);
  if (Status s = Done(st, db_, "updating the site"); !s.ok()) return s;
  if (sqlite3_changes(db_) == 0) return Status::Error("site \"" + site.name + "\" does not exist");
  return Status::Ok();
}

Status SqliteStore::SetSiteToken(const std::string& site, const std::string& token_hash) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st(db_, "UPDATE sites SET token_hash = ? WHERE name = ?");
  st.Bind(1, token_hash).Bind(2, site);
  if (Status s = Done(st, db_, "replacing the admin token"); !s.ok()) return s;
  if (sqlite3_changes(db_) == 0) return Status::Error("site \"" + site + "\" does not exist");
  return Status::Ok();
}

Result<bool> SqliteStore::DeleteSite(const std::string& site) {
  std::lock_guard<std::mutex> lock(mu_);
  bool found = false;
  Status done = Transaction(db_, [&]() -> Status {
    if (Status s = DeleteSiteRows(db_, site); !s.ok()) return s;
    Statement st(db_, "DELETE FROM sites WHERE name = ?");
    st.Bind(1, site);
    if (Status s = Done(st, db_, "deleting the site"); !s.ok()) return s;
    found = sqlite3_changes(db_) > 0;
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return found;
}

Result<std::optional<Site>> SqliteStore::FindSite(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st(db_,
               "SELECT name, key, token_hash, origins, mode, identity, identity_secret FROM sites "
               "WHERE name = ?");
  st.Bind(1, name);
  const int rc = st.Step();
  if (rc == SQLITE_DONE) return std::optional<Site>();
  if (rc != SQLITE_ROW) return Error(db_, "reading the site");
  Site s{st.Text(0), st.Text(1), st.Text(2), FromJsonList(st.Text(3)),
         st.Text(4), st.Text(5), st.Text(6)};
  return std::optional<Site>(std::move(s));
}

Result<std::vector<Site>> SqliteStore::ListSites() {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st(db_,
               "SELECT name, key, token_hash, origins, mode, identity, identity_secret FROM sites "
               "ORDER BY name");
  std::vector<Site> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    out.push_back({st.Text(0), st.Text(1), st.Text(2), FromJsonList(st.Text(3)), st.Text(4),
                   st.Text(5), st.Text(6)});
  }
  if (rc != SQLITE_DONE) return Error(db_, "listing sites");
  return out;
}

Status SqliteStore::PutArticles(const std::string& site, const std::vector<Article>& articles) {
  std::lock_guard<std::mutex> lock(mu_);
  return Transaction(db_, [&]() -> Status {
    Statement st(db_,
                 "INSERT OR REPLACE INTO articles (site, id, title, body, tags, pages, updated_at) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?)");
    const int64_t now = NowMs();
    for (const Article& a : articles) {
      st.Bind(1, site).Bind(2, a.id).Bind(3, a.title).Bind(4, a.body).Bind(5, ToJson(a.tags));
      st.Bind(6, ToJson(a.pages)).Bind(7, now);
      if (Status s = Done(st, db_, "storing articles"); !s.ok()) return s;
      st.Reset();
    }
    return Status::Ok();
  });
}

Result<std::vector<Article>> SqliteStore::Articles(const std::string& site) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st(db_, "SELECT id, title, body, tags, pages FROM articles WHERE site = ? ORDER BY id");
  st.Bind(1, site);
  std::vector<Article> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    out.push_back(
        {st.Text(0), st.Text(1), st.Text(2), FromJsonList(st.Text(3)), FromJsonList(st.Text(4))});
  }
  if (rc != SQLITE_DONE) return Error(db_, "reading articles");
  return out;
}

Result<bool> SqliteStore::DeleteArticle(const std::string& site, const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st(db_, "DELETE FROM articles WHERE site = ? AND id = ?");
  st.Bind(1, site).Bind(2, id);
  if (Status s = Done(st, db_, "deleting the article"); !s.ok()) return s;
  return sqlite3_changes(db_) > 0;
}

Status SqliteStore::AddHistory(const std::string& site, const std::vector<ResolvedQuery>& tickets) {
  std::lock_guard<std::mutex> lock(mu_);
  return Transaction(db_, [&]() -> Status {
    Statement st(db_, "INSERT INTO history (site, text, article, created_at) VALUES (?, ?, ?, ?)");
    const int64_t now = NowMs();
    for (const ResolvedQuery& t : tickets) {
      st.Bind(1, site).Bind(2, t.text).Bind(3, t.article.value_or("")).Bind(4, now);
      if (Status s = Done(st, db_, "storing history"); !s.ok()) return s;
      st.Reset();
    }
    return Status::Ok();
  });
}

Result<std::vector<ResolvedQuery>> SqliteStore::History(const std::string& site) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st(db_, "SELECT text, article FROM history WHERE site = ? ORDER BY id");
  st.Bind(1, site);
  std::vector<ResolvedQuery> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW)
    out.push_back({st.Text(0), HistoryArticle(st.Text(1)), ""});
  if (rc != SQLITE_DONE) return Error(db_, "reading history");
  return out;
}

Status SqliteStore::AddResolutions(const std::string& site,
                                   const std::vector<ResolvedQuery>& resolutions) {
  std::lock_guard<std::mutex> lock(mu_);
  return Transaction(db_, [&]() -> Status {
    Statement st(db_,
                 "INSERT INTO resolutions (site, query_id, text, article, created_at) "
                 "VALUES (?, ?, ?, ?, ?)");
    const int64_t now = NowMs();
    for (const ResolvedQuery& r : resolutions) {
      st.Bind(1, site).Bind(2, r.query_id).Bind(3, r.text).BindOptional(4, r.article);
      st.Bind(5, now);
      if (Status s = Done(st, db_, "storing resolutions"); !s.ok()) return s;
      st.Reset();
    }
    return Status::Ok();
  });
}

Result<BatchReceipt> SqliteStore::AppendSignals(SignalBatch batch) {
  return signals_->Append(std::move(batch));
}

void SqliteStore::CheckpointLoop() {
  std::unique_lock<std::mutex> lock(checkpoint_mu_);
  while (
      !checkpoint_cv_.wait_for(lock, std::chrono::milliseconds(500), [&] { return stopping_; })) {
    lock.unlock();
    // PASSIVE: copies what it can without waiting for, or blocking, readers and the writer.
    sqlite3_wal_checkpoint_v2(checkpoint_db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    lock.lock();
  }
}

Result<std::vector<BatchReceipt>> SqliteStore::CommitGroup(
    const std::vector<const SignalBatch*>& group) {
  std::vector<BatchReceipt> receipts(group.size());
  Status s = Transaction(writer_db_, [&]() -> Status {
    Statement claim(writer_db_,
                    "INSERT OR IGNORE INTO signal_batches (site, batch_id, received_at, events) "
                    "VALUES (?, ?, ?, ?)");
    Statement stored(writer_db_,
                     "SELECT events FROM signal_batches WHERE site = ? AND batch_id = ?");
    Statement insert(writer_db_,
                     "INSERT INTO signals (site, batch_id, type, ts, session, query_id, query, "
                     "bundle, context, shown, article, confidence) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    const int64_t now = NowMs();
    for (size_t i = 0; i < group.size(); ++i) {
      const SignalBatch& b = *group[i];
      claim.Bind(1, b.site).Bind(2, b.batch_id).Bind(3, now);
      claim.Bind(4, static_cast<int64_t>(b.events.size()));
      if (Status st = Done(claim, writer_db_, "storing a signal batch"); !st.ok()) return st;
      claim.Reset();
      if (sqlite3_changes(writer_db_) == 0) {
        stored.Bind(1, b.site).Bind(2, b.batch_id);
        if (stored.Step() != SQLITE_ROW) return Error(writer_db_, "reading a stored batch");
        receipts[i] = {static_cast<size_t>(stored.Int(0)), true};
        stored.Reset();
        continue;
      }
      for (const SignalEvent& e : b.events) {
        insert.Bind(1, b.site).Bind(2, b.batch_id).Bind(3, e.type).Bind(4, e.ts);
        insert.Bind(5, e.session).Bind(6, e.query_id).Bind(7, e.query).Bind(8, e.bundle);
        insert.Bind(9, e.context_json).Bind(10, e.shown_json).Bind(11, e.article);
        insert.BindDouble(12, e.confidence);
        if (Status st = Done(insert, writer_db_, "storing a signal"); !st.ok()) return st;
        insert.Reset();
      }
      receipts[i] = {b.events.size(), false};
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return receipts;
}

Result<int64_t> SqliteStore::CountSignals(const std::string& site) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st(db_, "SELECT COUNT(*) FROM signals WHERE site = ?");
  st.Bind(1, site);
  if (st.Step() != SQLITE_ROW) return Error(db_, "counting signals");
  return st.Int(0);
}

Result<int64_t> SqliteStore::ForgetSignals(const std::string& site, int64_t up_to_id,
                                           int64_t before_ms, size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st(db_,
               "DELETE FROM signals WHERE id IN (SELECT id FROM signals WHERE site = ? AND ts < ? "
               "AND id <= ? ORDER BY id LIMIT ?)");
  st.Bind(1, site).Bind(2, before_ms).Bind(3, up_to_id).Bind(4, static_cast<int64_t>(limit));
  if (Status s = Done(st, db_, "forgetting old signals"); !s.ok()) return s;
  return static_cast<int64_t>(sqlite3_changes(db_));
}

Result<std::vector<SignalCounts>> SqliteStore::SignalCountsByDay(const std::string& site) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st(db_,
               "SELECT date(ts / 1000, 'unixepoch') AS day, type, COUNT(*) FROM signals "
               "WHERE site = ? GROUP BY day, type ORDER BY day, type");
  st.Bind(1, site);
  std::vector<SignalCounts> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) out.push_back({st.Text(0), st.Text(1), st.Int(2)});
  if (rc != SQLITE_DONE) return Error(db_, "counting signals");
  return out;
}

Result<std::vector<StoredSignal>> SqliteStore::SignalsAfter(const std::string& site,
                                                            int64_t after_id, size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st(db_,
               "SELECT id, type, ts, session, query_id, query, bundle, context, shown, article, "
               "confidence FROM signals WHERE site = ? AND id > ? ORDER BY id LIMIT ?");
  st.Bind(1, site).Bind(2, after_id).Bind(3, static_cast<int64_t>(limit));
  std::vector<StoredSignal> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    StoredSignal s;
    s.id = st.Int(0);
    SignalEvent& e = s.event;
    e.type = st.Text(1);
    e.ts = st.Int(2);
    e.session = st.Text(3);
    e.query_id = st.Text(4);
    e.query = st.Text(5);
    e.bundle = st.Text(6);
    e.context_json = st.Text(7);
    e.shown_json = st.Text(8);
    e.article = st.Text(9);
    if (!st.IsNull(10)) e.confidence = st.Double(10);
    out.push_back(std::move(s));
  }
  if (rc != SQLITE_DONE) return Error(db_, "reading signals");
  return out;
}

Result<std::vector<QueryOutcome>> SqliteStore::QueryOutcomes(const std::string& site) {
  std::lock_guard<std::mutex> lock(mu_);
  // Events of one question in arrival order; the route and bundle of its first event that has one.
  Statement st(db_,
               "SELECT query_id, type, ts, bundle, json_extract(context, '$.route'), shown, "
               "article FROM signals WHERE site = ? AND query_id != '' ORDER BY query_id, id");
  st.Bind(1, site);
  std::vector<QueryOutcome> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    const std::string id = st.Text(0);
    if (out.empty() || out.back().query_id != id) {
      out.emplace_back();
      out.back().query_id = id;
      out.back().ts = st.Int(2);
      out.back().shown_json = "[]";
    }
    QueryOutcome& q = out.back();
    const std::string type = st.Text(1);
    q.ts = std::min(q.ts, st.Int(2));
    if (q.bundle.empty()) q.bundle = st.Text(3);
    if (q.route.empty() && !st.IsNull(4)) q.route = st.Text(4);
    q.Add(type, st.Text(5), st.Text(6));
  }
  if (rc != SQLITE_DONE) return Error(db_, "reading question outcomes");
  std::stable_sort(out.begin(), out.end(),
                   [](const QueryOutcome& a, const QueryOutcome& b) { return a.ts < b.ts; });
  return out;
}

Result<std::optional<std::string>> SqliteStore::Document(const std::string& site,
                                                         const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st(db_, "SELECT body FROM documents WHERE site = ? AND name = ?");
  st.Bind(1, site).Bind(2, name);
  const int rc = st.Step();
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  if (rc != SQLITE_ROW) return Error(db_, "reading the " + name + " document");
  return std::optional<std::string>(st.Text(0));
}

Status SqliteStore::PutDocument(const std::string& site, const std::string& name,
                                const std::string& body) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st(
      db_, "INSERT OR REPLACE INTO documents (site, name, body, updated_at) VALUES (?, ?, ?, ?)");
  st.Bind(1, site).Bind(2, name).Bind(3, body).Bind(4, NowMs());
  return Done(st, db_, ("storing the " + name + " document").c_str());
}

Result<std::vector<StoredResolution>> SqliteStore::ResolutionsAfter(const std::string& site,
                                                                    int64_t after_id,
                                                                    size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st(db_,
               "SELECT id, query_id, text, article FROM resolutions WHERE site = ? AND id > ? "
               "ORDER BY id LIMIT ?");
  st.Bind(1, site).Bind(2, after_id).Bind(3, static_cast<int64_t>(limit));
  std::vector<StoredResolution> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    StoredResolution r;
    r.id = st.Int(0);
    r.resolution.query_id = st.Text(1);
    r.resolution.text = st.Text(2);
    if (!st.IsNull(3)) r.resolution.article = st.Text(3);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return Error(db_, "reading resolutions");
  return out;
}

Result<LearningCursor> SqliteStore::GetLearningCursor(const std::string& site) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st(db_, "SELECT signals, resolutions FROM learning_cursors WHERE site = ?");
  st.Bind(1, site);
  const int rc = st.Step();
  LearningCursor c;
  if (rc == SQLITE_ROW) {
    c.signals = st.Int(0);
    c.resolutions = st.Int(1);
  } else if (rc != SQLITE_DONE) {
    return Error(db_, "reading the learning cursor");
  }
  return c;
}

Status SqliteStore::SaveLearning(const std::string& site, const LearningCursor& cursor,
                                 const std::vector<LearningOutcome>& outcomes,
                                 const std::vector<LearnedChange>& changes,
                                 std::vector<int64_t>* change_ids) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<int64_t> ids;
  Status saved = Transaction(db_, [&]() -> Status {
    for (const LearnedChange& c : changes) {
      auto id = InsertChange(db_, site, c);
      if (!id.ok()) return id.status();
      ids.push_back(id.value());
    }
    Statement put(db_,
                  "INSERT OR REPLACE INTO learning_outcomes (site, query_id, session, ts, status, "
                  "data) VALUES (?, ?, ?, ?, ?, ?)");
    for (const LearningOutcome& o : outcomes) {
      put.Bind(1, site).Bind(2, o.query_id).Bind(3, o.session).Bind(4, o.ts).Bind(5, o.status);
      put.Bind(6, o.data_json);
      if (Status s = Done(put, db_, "storing learning outcomes"); !s.ok()) return s;
      put.Reset();
    }
    Statement cur(
        db_,
        "INSERT OR REPLACE INTO learning_cursors (site, signals, resolutions, updated_at) "
        "VALUES (?, ?, ?, ?)");
    cur.Bind(1, site).Bind(2, cursor.signals).Bind(3, cursor.resolutions).Bind(4, NowMs());
    return Done(cur, db_, "storing the learning cursor");
  });
  if (saved.ok() && change_ids) change_ids->insert(change_ids->end(), ids.begin(), ids.end());
  return saved;
}

Result<std::vector<LearningOutcome>> SqliteStore::LearningOutcomes(const std::string& site) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st(db_,
               "SELECT query_id, session, ts, status, data FROM learning_outcomes WHERE site = ? "
               "ORDER BY ts, query_id");
  st.Bind(1, site);
  std::vector<LearningOutcome> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    out.push_back({st.Text(0), st.Text(1), st.Int(2), st.Text(3), st.Text(4)});
  }
  if (rc != SQLITE_DONE) return Error(db_, "reading learning outcomes");
  return out;
}

Result<int64_t> SqliteStore::AddChange(const std::string& site, const LearnedChange& c) {
  std::lock_guard<std::mutex> lock(mu_);
  return InsertChange(db_, site, c);
}

Result<std::vector<LearnedChange>> SqliteStore::Changes(const std::string& site) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st(db_,
               "SELECT id, kind, status, summary, article, examples, exemplars, sessions, "
               "resolved, not_helpful, created_at, decided_at, version, note FROM changes "
               "WHERE site = ? ORDER BY id DESC");
  st.Bind(1, site);
  std::vector<LearnedChange> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    LearnedChange c;
    c.id = st.Int(0);
    c.kind = st.Text(1);
    c.status = st.Text(2);
    c.summary = st.Text(3);
    c.article = st.Text(4);
    c.examples_json = st.Text(5);
    c.exemplars_json = st.Text(6);
    c.sessions = st.Int(7);
    c.resolved = st.Int(8);
    c.not_helpful = st.Int(9);
    c.created_at_ms = st.Int(10);
    c.decided_at_ms = st.Int(11);
    c.version = st.Int(12);
    c.note = st.Text(13);
    out.push_back(std::move(c));
  }
  if (rc != SQLITE_DONE) return Error(db_, "reading changes");
  return out;
}

Status SqliteStore::UpdateChange(const std::string& site, const LearnedChange& c) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st(db_,
               "UPDATE changes SET status = ?, decided_at = ?, version = ?, note = ? "
               "WHERE site = ? AND id = ?");
  st.Bind(1, c.status).Bind(2, c.decided_at_ms).Bind(3, c.version).Bind(4, c.note);
  st.Bind(5, site).Bind(6, c.id);
  if (Status s = Done(st, db_, "updating a change"); !s.ok()) return s;
  if (sqlite3_changes(db_) == 0) {
    return Status::Error("change " + std::to_string(c.id) + " of site \"" + site +
                         "\" does not exist");
  }
  return Status::Ok();
}

Result<std::vector<LearningRule>> SqliteStore::LearningRules(const std::string& site) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st(db_,
               "SELECT id, kind, pattern, article FROM learning_rules WHERE site = ? ORDER BY id");
  st.Bind(1, site);
  std::vector<LearningRule> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    out.push_back({st.Int(0), st.Text(1), st.Text(2), st.Text(3)});
  }
  if (rc != SQLITE_DONE) return Error(db_, "reading learning rules");
  return out;
}

Result<int64_t> SqliteStore::AddLearningRule(const std::string& site, const LearningRule& rule) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st(db_,
               "INSERT INTO learning_rules (site, kind, pattern, article, created_at) "
               "VALUES (?, ?, ?, ?, ?)");
  st.Bind(1, site).Bind(2, rule.kind).Bind(3, rule.pattern).Bind(4, rule.article).Bind(5, NowMs());
  if (Status s = Done(st, db_, "storing a learning rule"); !s.ok()) return s;
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
}

Result<bool> SqliteStore::DeleteLearningRule(const std::string& site, int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st(db_, "DELETE FROM learning_rules WHERE site = ? AND id = ?");
  st.Bind(1, site).Bind(2, id);
  if (Status s = Done(st, db_, "deleting a learning rule"); !s.ok()) return s;
  return sqlite3_changes(db_) > 0;
}

Result<Version> SqliteStore::AddVersion(const std::string& site, const std::string& sha256,
                                        int64_t bytes, int keep) {
  std::lock_guard<std::mutex> lock(mu_);
  Version v;
  Status s = Transaction(db_, [&]() -> Status {
    Statement next(db_, "SELECT COALESCE(MAX(version), 0) + 1 FROM versions WHERE site = ?");
    next.Bind(1, site);
    if (next.Step() != SQLITE_ROW) return Error(db_, "numbering the version");
    v = {next.Int(0), sha256, bytes, NowMs(), true};
    Statement clear(db_, "UPDATE versions SET current = 0 WHERE site = ?");
    clear.Bind(1, site);
    if (Status st = Done(clear, db_, "publishing"); !st.ok()) return st;
    Statement insert(db_,
                     "INSERT INTO versions (site, version, sha256, bytes, published_at, current) "
                     "VALUES (?, ?, ?, ?, ?, 1)");
    insert.Bind(1, site).Bind(2, v.version).Bind(3, sha256).Bind(4, bytes);
    insert.Bind(5, v.published_at_ms);
    if (Status st = Done(insert, db_, "publishing"); !st.ok()) return st;
    Statement prune(db_, "DELETE FROM versions WHERE site = ? AND version <= ?");
    prune.Bind(1, site).Bind(2, v.version - keep);
    return Done(prune, db_, "forgetting old versions");
  });
  if (!s.ok()) return s;
  return v;
}

Status SqliteStore::SetCurrent(const std::string& site, int64_t version) {
  std::lock_guard<std::mutex> lock(mu_);
  return Transaction(db_, [&]() -> Status {
    Statement find(db_, "SELECT 1 FROM versions WHERE site = ? AND version = ?");
    find.Bind(1, site).Bind(2, version);
    if (find.Step() != SQLITE_ROW) {
      return Status::Error("version " + std::to_string(version) + " of site \"" + site +
                           "\" is not kept");
    }
    Statement set(db_, "UPDATE versions SET current = (version = ?) WHERE site = ?");
    set.Bind(1, version).Bind(2, site);
    return Done(set, db_, "switching versions");
  });
}

Result<std::optional<Version>> SqliteStore::CurrentVersion(const std::string& site) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st(db_,
               "SELECT version, sha256, bytes, published_at, current FROM versions "
               "WHERE site = ? AND current = 1");
  st.Bind(1, site);
  const int rc = st.Step();
  if (rc == SQLITE_DONE) return std::optional<Version>();
  if (rc != SQLITE_ROW) return Error(db_, "reading the current version");
  return std::optional<Version>(ReadVersion(st));
}

Result<std::vector<Version>> SqliteStore::Versions(const std::string& site) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st(db_,
               "SELECT version, sha256, bytes, published_at, current FROM versions "
               "WHERE site = ? ORDER BY version DESC");
  st.Bind(1, site);
  std::vector<Version> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) out.push_back(ReadVersion(st));
  if (rc != SQLITE_DONE) return Error(db_, "listing versions");
  return out;
}

Result<std::vector<std::string>> SqliteStore::ReferencedBundles() {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st(db_, "SELECT DISTINCT sha256 FROM versions");
  std::vector<std::string> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) out.push_back(st.Text(0));
  if (rc != SQLITE_DONE) return Error(db_, "listing bundles");
  return out;
}

Result<bool> SqliteStore::Exclusively(const std::string& site, const std::string& name, bool wait,
                                      const std::function<void()>& body) {
  std::mutex* m;
  {
    std::lock_guard<std::mutex> lock(locks_mu_);
    auto& slot = locks_[site + "\n" + name];
    if (!slot) slot = std::make_unique<std::mutex>();
    m = slot.get();
  }
  std::unique_lock<std::mutex> lock(*m, std::defer_lock);
  if (wait) {
    lock.lock();
  } else if (!lock.try_lock()) {
    return false;
  }
  body();
  return true;
}

Result<int64_t> SqliteStore::SizeBytes() {
  std::error_code ec;
  int64_t total = 0;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const auto size = std::filesystem::file_size(path_ + suffix, ec);
    if (!ec) total += static_cast<int64_t>(size);
  }
  return total;
}

}  // namespace loopwise
