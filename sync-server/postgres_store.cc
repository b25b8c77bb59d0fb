#include "postgres_store.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

namespace loopwise {
namespace {

using nlohmann::json;

// Ordered schema migrations, as in the SQLite store: entry i takes the schema from version i to
// i + 1. Never edit a released entry; append a new one.
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE sites (
  name TEXT PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  token_hash TEXT NOT NULL,
  origins TEXT NOT NULL DEFAULT '[]',
  mode TEXT NOT NULL DEFAULT 'review' CHECK (mode IN ('review', 'autonomous')),
  created_at BIGINT NOT NULL
);
CREATE TABLE articles (
  site TEXT NOT NULL REFERENCES sites(name),
  id TEXT NOT NULL,
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  tags TEXT NOT NULL,
  pages TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (site, id)
);
CREATE TABLE history (
  id BIGSERIAL PRIMARY KEY,
  site TEXT NOT NULL REFERENCES sites(name),
  text TEXT NOT NULL,
  article TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX history_by_site ON history(site);
CREATE TABLE signal_batches (
  site TEXT NOT NULL,
  batch_id TEXT NOT NULL,
  received_at BIGINT NOT NULL,
  events BIGINT NOT NULL,
  PRIMARY KEY (site, batch_id)
);
CREATE TABLE signals (
  id BIGSERIAL PRIMARY KEY,
  site TEXT NOT NULL,
  batch_id TEXT NOT NULL,
  type TEXT NOT NULL,
  ts BIGINT NOT NULL,
  session TEXT NOT NULL,
  query_id TEXT NOT NULL,
  query TEXT NOT NULL,
  bundle TEXT NOT NULL,
  context TEXT NOT NULL,
  shown TEXT NOT NULL,
  article TEXT NOT NULL,
  confidence DOUBLE PRECISION
);
CREATE INDEX signals_by_site_id ON signals(site, id);
CREATE INDEX signals_by_site_ts ON signals(site, ts);
CREATE TABLE versions (
  site TEXT NOT NULL REFERENCES sites(name),
  version BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  bytes BIGINT NOT NULL,
  published_at BIGINT NOT NULL,
  current BOOLEAN NOT NULL DEFAULT FALSE,
  PRIMARY KEY (site, version)
);
CREATE TABLE resolutions (
  id BIGSERIAL PRIMARY KEY,
  site TEXT NOT NULL REFERENCES sites(name),
  query_id TEXT NOT NULL,
  text TEXT NOT NULL,
  article TEXT,
  created_at BIGINT NOT NULL
);
CREATE TABLE documents (
  site TEXT NOT NULL,
  name TEXT NOT NULL,
  body TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (site, name)
);
CREATE TABLE learning_cursors (
  site TEXT PRIMARY KEY,
  signals BIGINT NOT NULL,
  resolutions BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE learning_outcomes (
  site TEXT NOT NULL,
  query_id TEXT NOT NULL,
  session TEXT NOT NULL,
  ts BIGINT NOT NULL,
  status TEXT NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (site, query_id)
);
CREATE TABLE changes (
  id BIGSERIAL PRIMARY KEY,
  site TEXT NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  summary TEXT NOT NULL,
  article TEXT NOT NULL,
  examples TEXT NOT NULL,
  exemplars TEXT NOT NULL,
  sessions BIGINT NOT NULL,
  resolved BIGINT NOT NULL,
  not_helpful BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  decided_at BIGINT NOT NULL DEFAULT 0,
  version BIGINT NOT NULL DEFAULT 0,
  note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX changes_by_site ON changes(site, id);
CREATE TABLE learning_rules (
  id BIGSERIAL PRIMARY KEY,
  site TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('pin', 'block')),
  pattern TEXT NOT NULL,
  article TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
)sql",
    R"sql(
ALTER TABLE sites ADD COLUMN identity TEXT NOT NULL DEFAULT 'off'
  CHECK (identity IN ('off', 'optional', 'required'));
ALTER TABLE sites ADD COLUMN identity_secret TEXT NOT NULL DEFAULT '';
)sql",
};
constexpr int kSchemaVersion = sizeof(kMigrations) / sizeof(kMigrations[0]);
// Advisory lock keys: schema migrations, and the signal log's order.
constexpr int64_t kMigrationLock = 0x4c6f6f7077697365;  // "Loopwise"
constexpr int64_t kSignalLock = kMigrationLock + 1;

// PostgreSQL's messages span lines; ours are one.
std::string Trimmed(const std::string& message) {
  std::string out;
  for (char c : message) {
    const bool space = c == '\n' || c == '\t' || c == '\r' || c == ' ';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out.push_back(space ? ' ' : c);
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
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

// A nullable text parameter: libpqxx sends a null const char* as SQL NULL.
const char* Nullable(const std::optional<std::string>& s) {
  return s ? s->c_str() : nullptr;
}

// Inserts one change in `w`; its id.
int64_t InsertChange(pqxx::work& w, const std::string& site, const LearnedChange& ch) {
  const pqxx::row r = w.exec_params1(
      "INSERT INTO changes (site, kind, status, summary, article, examples, exemplars, "
      "sessions, resolved, not_helpful, created_at, decided_at, version, note) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
      site, ch.kind, ch.status, ch.summary, ch.article, ch.examples_json, ch.exemplars_json,
      ch.sessions, ch.resolved, ch.not_helpful, ch.created_at_ms, ch.decided_at_ms, ch.version,
      ch.note);
  return r[0].as<int64_t>();
}

std::string Text(const pqxx::field& f) {
  return f.is_null() ? std::string() : f.as<std::string>();
}

Site ReadSite(const pqxx::row& r) {
  return {Text(r[0]), Text(r[1]), Text(r[2]), FromJsonList(Text(r[3])),
          Text(r[4]), Text(r[5]), Text(r[6])};
}

Version ReadVersion(const pqxx::row& r) {
  return {r[0].as<int64_t>(), Text(r[1]), r[2].as<int64_t>(), r[3].as<int64_t>(), r[4].as<bool>()};
}

}  // namespace

std::string RedactedUrl(const std::string& url) {
  const size_t scheme = url.find("://");
  const size_t at = url.rfind('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) return url;
  const size_t colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

struct PostgresStore::Connection {
  explicit Connection(const std::string& url) : c(url) {}
  pqxx::connection c;
};

PostgresStore::PostgresStore(std::string url) : url_(std::move(url)) {
  signals_ = std::make_unique<GroupCommit>(
      [this](const std::vector<const SignalBatch*>& group) { return CommitGroup(group); });
}

PostgresStore::~PostgresStore() {
  signals_->Stop();
}

template <typename T, typename Body>
Result<T> PostgresStore::Run(const std::string& what, Body body) {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    if (!conn_ || !conn_->c.is_open()) conn_ = std::make_unique<Connection>(url_);
    return body(conn_->c);
  } catch (const pqxx::broken_connection& e) {
    conn_.reset();
    return Status::Error("store: " + what + " failed: PostgreSQL at " + RedactedUrl(url_) +
                         " is unreachable (" + Trimmed(e.what()) + ")");
  } catch (const std::exception& e) {
    return Status::Error("store: " + what + " failed (" + Trimmed(e.what()) + ")");
  }
}

namespace {
Status Check(const Result<bool>& r) {
  return r.ok() ? Status::Ok() : r.status();
}
}  // namespace

int PostgresStore::SchemaVersion() {
  return kSchemaVersion;
}

Result<std::unique_ptr<PostgresStore>> PostgresStore::Open(const std::string& url) {
  std::unique_ptr<PostgresStore> store(new PostgresStore(url));
  try {
    store->conn_ = std::make_unique<Connection>(url);
  } catch (const std::exception& e) {
    return Status::Error("cannot connect to PostgreSQL at " + RedactedUrl(url) + " (" +
                         Trimmed(e.what()) + "); check --db");
  }
  auto migrated =
      store->Run<bool>("migrating the schema", [&](pqxx::connection& c) -> Result<bool> {
        pqxx::work w(c);
        w.exec_params("SELECT pg_advisory_xact_lock($1)", kMigrationLock);
        w.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
        const pqxx::result got = w.exec("SELECT version FROM schema_version");
        const int version = got.empty() ? 0 : got[0][0].as<int>();
        if (version > kSchemaVersion) {
          return Status::Error("the database at " + RedactedUrl(url) + " has schema version " +
                               std::to_string(version) +
                               ", newer than this loopwise understands (" +
                               std::to_string(kSchemaVersion) + "); upgrade loopwise");
        }
        for (int v = version; v < kSchemaVersion; ++v) w.exec(kMigrations[v]);
        if (got.empty()) {
          w.exec_params("INSERT INTO schema_version (version) VALUES ($1)", kSchemaVersion);
        } else {
          w.exec_params("UPDATE schema_version SET version = $1", kSchemaVersion);
        }
        w.commit();
        return true;
      });
  if (!migrated.ok()) return migrated.status();
  return store;
}

namespace {

// Deletes every row that names `site` outside the sites table.
void DeleteSiteRows(pqxx::work& w, const std::string& site) {
  for (const char* table : kSiteTables) {
    w.exec_params(std::string("DELETE FROM ") + table + " WHERE site = $1", site);
  }
}

}  // namespace

Status PostgresStore::InsertSite(const Site& site) {
  return Check(Run<bool>("creating the site", [&](pqxx::connection& c) -> Result<bool> {
    pqxx::work w(c);
    const pqxx::result r = w.exec_params(
        "INSERT INTO sites (name, key, token_hash, origins, mode, identity, identity_secret, "
        "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (name) DO NOTHING",
        site.name, site.key, site.token_hash, ToJson(site.origins), site.mode, site.identity,
        site.identity_secret, NowMs());
    if (r.affected_rows() == 0) return Status::Error("site \"" + site.name + "\" already exists");
    // What a deleted site of the same name left behind (a batch that reached a running server
    // just after the deletion) is not the new site's.
    DeleteSiteRows(w, site.name);
    w.commit();
    return true;
  }));
}

Status PostgresStore::UpdateSite(const Site& site) {
  return Check(Run<bool>("updating the site", [&](pqxx::connection& c) -> Result<bool> {
    pqxx::work w(c);
    const pqxx::result r = w.exec_params(
        "UPDATE sites SET origins = $1, mode = $2, identity = $3, identity_secret = $4 "
        "WHERE name = $5",
        ToJson(site.origins), site.mode, site.identity, site.identity_secret, site.name);
    if (r.affected_rows() == 0) return Status::Error("site \"" + site.name + "\" does not exist");
    w.commit();
    return true;
  }));
}

Status PostgresStore::SetSiteToken(const std::string& site, const std::string& token_hash) {
  return Check(Run<bool>("replacing the admin token", [&](pqxx::connection& c) -> Result<bool> {
    pqxx::work w(c);
    const pqxx::result r =
        w.exec_params("UPDATE sites SET token_hash = $1 WHERE name = $2", token_hash, site);
    if (r.affected_rows() == 0) return Status::Error("site \"" + site + "\" does not exist");
    w.commit();
    return true;
  }));
}

Result<bool> PostgresStore::DeleteSite(const std::string& site) {
  return Run<bool>("deleting the site", [&](pqxx::connection& c) {
    pqxx::work w(c);
    DeleteSiteRows(w, site);
    const pqxx::result r = w.exec_params("DELETE FROM sites WHERE name = $1", site);
    w.commit();
    return r.affected_rows() > 0;
  });
}

Result<std::optional<Site>> PostgresStore::FindSite(const std::string& name) {
  return Run<std::optional<Site>>("reading the site", [&](pqxx::connection& c) {
    pqxx::read_transaction w(c);
    const pqxx::result r = w.exec_params(
        "SELECT name, key, token_hash, origins, mode, identity, identity_secret FROM sites WHERE "
        "name = $1",
        name);
    return r.empty() ? std::optional<Site>() : std::optional<Site>(ReadSite(r[0]));
  });
}

Result<std::vector<Site>> PostgresStore::ListSites() {
  return Run<std::vector<Site>>("listing sites", [&](pqxx::connection& c) {
    pqxx::read_transaction w(c);
    std::vector<Site> out;
    for (const pqxx::row& r : w.exec("SELECT name, key, token_hash, origins, mode, identity, "
                                     "identity_secret FROM sites ORDER BY name")) {
      out.push_back(ReadSite(r));
    }
    return out;
  });
}

Status PostgresStore::PutArticles(const std::string& site, const std::vector<Article>& articles) {
  return Check(Run<bool>("storing articles", [&](pqxx::connection& c) -> Result<bool> {
    pqxx::work w(c);
    const int64_t now = NowMs();
    for (const Article& a : articles) {
      w.exec_params(
          "INSERT INTO articles (site, id, title, body, tags, pages, updated_at) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (site, id) DO UPDATE SET "
          "title = EXCLUDED.title, body = EXCLUDED.body, tags = EXCLUDED.tags, "
          "pages = EXCLUDED.pages, updated_at = EXCLUDED.updated_at",
          site, a.id, a.title, a.body, ToJson(a.tags), ToJson(a.pages), now);
    }
    w.commit();
    return true;
  }));
}

Result<std::vector<Article>> PostgresStore::Articles(const std::string& site) {
  return Run<std::vector<Article>>("reading articles", [&](pqxx::connection& c) {
    pqxx::read_transaction w(c);
    std::vector<Article> out;
    for (const pqxx::row& r : w.exec_params(
             "SELECT id, title, body, tags, pages FROM articles WHERE site = $1 ORDER BY id",
             site)) {
      out.push_back(
          {Text(r[0]), Text(r[1]), Text(r[2]), FromJsonList(Text(r[3])), FromJsonList(Text(r[4]))});
    }
    return out;
  });
}

Result<bool> PostgresStore::DeleteArticle(const std::string& site, const std::string& id) {
  return Run<bool>("deleting the article", [&](pqxx::connection& c) {
    pqxx::work w(c);
    const pqxx::result r =
        w.exec_params("DELETE FROM articles WHERE site = $1 AND id = $2", site, id);
    w.commit();
    return r.affected_rows() > 0;
  });
}

Status PostgresStore::AddHistory(const std::string& site,
                                 const std::vector<ResolvedQuery>& tickets) {
  return Check(Run<bool>("storing history", [&](pqxx::connection& c) -> Result<bool> {
    pqxx::work w(c);
    const int64_t now = NowMs();
    for (const ResolvedQuery& t : tickets) {
      w.exec_params("INSERT INTO history (site, text, article, created_at) VALUES ($1, $2, $3, $4)",
                    site, t.text, t.article.value_or(""), now);
    }
    w.commit();
    return true;
  }));
}

Result<std::vector<ResolvedQuery>> PostgresStore::History(const std::string& site) {
  return Run<std::vector<ResolvedQuery>>("reading history", [&](pqxx::connection& c) {
    pqxx::read_transaction w(c);
    std::vector<ResolvedQuery> out;
    for (const pqxx::row& r :
         w.exec_params("SELECT text, article FROM history WHERE site = $1 ORDER BY id", site)) {
      out.push_back({Text(r[0]), HistoryArticle(Text(r[1])), ""});
    }
    return out;
  });
}

Status PostgresStore::AddResolutions(const std::string& site,
                                     const std::vector<ResolvedQuery>& resolutions) {
  return Check(Run<bool>("storing resolutions", [&](pqxx::connection& c) -> Result<bool> {
    pqxx::work w(c);
    const int64_t now = NowMs();
    for (const ResolvedQuery& r : resolutions) {
      w.exec_params(
          "INSERT INTO resolutions (site, query_id, text, article, created_at) "
          "VALUES ($1, $2, $3, $4, $5)",
          site, r.query_id, r.text, Nullable(r.article), now);
    }
    w.commit();
    return true;
  }));
}

Result<BatchReceipt> PostgresStore::AppendSignals(SignalBatch batch) {
  return signals_->Append(std::move(batch));
}

Result<std::vector<BatchReceipt>> PostgresStore::CommitGroup(
    const std::vector<const SignalBatch*>& group) {
  std::vector<BatchReceipt> receipts(group.size());
  try {
    if (!writer_ || !writer_->c.is_open()) writer_ = std::make_unique<Connection>(url_);
    pqxx::work w(writer_->c);
    w.exec_params("SELECT pg_advisory_xact_lock($1)", kSignalLock);
    // The events of every new batch of the group, inserted a few hundred rows a statement.
    std::string values;
    size_t rows = 0;
    auto flush = [&] {
      if (rows == 0) return;
      w.exec(
          "INSERT INTO signals (site, batch_id, type, ts, session, query_id, query, bundle, "
          "context, shown, article, confidence) VALUES " +
          values);
      values.clear();
      rows = 0;
    };
    const int64_t now = NowMs();
    for (size_t i = 0; i < group.size(); ++i) {
      const SignalBatch& b = *group[i];
      const pqxx::result claim = w.exec_params(
          "INSERT INTO signal_batches (site, batch_id, received_at, events) "
          "VALUES ($1, $2, $3, $4) ON CONFLICT (site, batch_id) DO NOTHING",
          b.site, b.batch_id, now, static_cast<int64_t>(b.events.size()));
      if (claim.affected_rows() == 0) {
        const pqxx::row stored =
            w.exec_params1("SELECT events FROM signal_batches WHERE site = $1 AND batch_id = $2",
                           b.site, b.batch_id);
        receipts[i] = {static_cast<size_t>(stored[0].as<int64_t>()), true};
        continue;
      }
      for (const SignalEvent& e : b.events) {
        std::string confidence = "NULL";
        if (e.confidence) {
          char buf[32];
          std::snprintf(buf, sizeof buf, "%.17g", *e.confidence);
          confidence = buf;
        }
        values += rows ? ",(" : "(";
        for (const std::string* text : {&b.site, &b.batch_id, &e.type})
          values += w.quote(*text) + ",";
        values += std::to_string(e.ts) + ",";
        for (const std::string* text : {&e.session, &e.query_id, &e.query, &e.bundle,
                                        &e.context_json, &e.shown_json, &e.article}) {
          values += w.quote(*text) + ",";
        }
        values += confidence + ")";
        if (++rows == 500) flush();
      }
      receipts[i] = {b.events.size(), false};
    }
    flush();
    w.commit();
  } catch (const pqxx::broken_connection& e) {
    writer_.reset();
    return Status::Error("store: storing signals failed: PostgreSQL at " + RedactedUrl(url_) +
                         " is unreachable (" + Trimmed(e.what()) + ")");
  } catch (const std::exception& e) {
    return Status::Error("store: storing signals failed (" + Trimmed(e.what()) + ")");
  }
  return receipts;
}

Result<int64_t> PostgresStore::CountSignals(const std::string& site) {
  return Run<int64_t>("counting signals", [&](pqxx::connection& c) {
    pqxx::read_transaction w(c);
    return w.exec_params1("SELECT COUNT(*) FROM signals WHERE site = $1", site)[0].as<int64_t>();
  });
}

Result<int64_t> PostgresStore::ForgetSignals(const std::string& site, int64_t up_to_id,
                                             int64_t before_ms, size_t limit) {
  return Run<int64_t>("forgetting old signals", [&](pqxx::connection& c) {
    pqxx::work w(c);
    const pqxx::result r = w.exec_params(
        "DELETE FROM signals WHERE id IN (SELECT id FROM signals WHERE site = $1 AND ts < $2 "
        "AND id <= $3 ORDER BY id LIMIT $4)",
        site, before_ms, up_to_id, static_cast<int64_t>(limit));
    w.commit();
    return static_cast<int64_t>(r.affected_rows());
  });
}

Result<std::vector<SignalCounts>> PostgresStore::SignalCountsByDay(const std::string& site) {
  return Run<std::vector<SignalCounts>>("counting signals", [&](pqxx::connection& c) {
    pqxx::read_transaction w(c);
    std::vector<SignalCounts> out;
    for (const pqxx::row& r : w.exec_params(
             "SELECT to_char(to_timestamp(ts / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, "
             "type, COUNT(*) FROM signals WHERE site = $1 GROUP BY day, type ORDER BY day, type",
             site)) {
      out.push_back({Text(r[0]), Text(r[1]), r[2].as<int64_t>()});
    }
    return out;
  });
}

Result<std::vector<StoredSignal>> PostgresStore::SignalsAfter(const std::string& site,
                                                              int64_t after_id, size_t limit) {
  return Run<std::vector<StoredSignal>>("reading signals", [&](pqxx::connection& c) {
    pqxx::read_transaction w(c);
    std::vector<StoredSignal> out;
    for (const pqxx::row& r : w.exec_params(
             "SELECT id, type, ts, session, query_id, query, bundle, context, shown, article, "
             "confidence FROM signals WHERE site = $1 AND id > $2 ORDER BY id LIMIT $3",
             site, after_id, static_cast<int64_t>(limit))) {
      StoredSignal s;
      s.id = r[0].as<int64_t>();
      SignalEvent& e = s.event;
      e.type = Text(r[1]);
      e.ts = r[2].as<int64_t>();
      e.session = Text(r[3]);
      e.query_id = Text(r[4]);
      e.query = Text(r[5]);
      e.bundle = Text(r[6]);
      e.context_json = Text(r[7]);
      e.shown_json = Text(r[8]);
      e.article = Text(r[9]);
      if (!r[10].is_null()) e.confidence = r[10].as<double>();
      out.push_back(std::move(s));
    }
    return out;
  });
}

Result<std::vector<QueryOutcome>> PostgresStore::QueryOutcomes(const std::string& site) {
  return Run<std::vector<QueryOutcome>>("reading question outcomes", [&](pqxx::connection& c) {
    pqxx::read_transaction w(c);
    // Events of one question in arrival order; the route and bundle of its first event that has
    // one. Contexts are stored as validated JSON objects.
    std::vector<QueryOutcome> out;
    for (const pqxx::row& r :
         w.exec_params("SELECT query_id, type, ts, bundle, context::json->>'route', shown, article "
                       "FROM signals WHERE site = $1 AND query_id != '' ORDER BY query_id, id",
                       site)) {
      const std::string id = Text(r[0]);
      if (out.empty() || out.back().query_id != id) {
        out.emplace_back();
        out.back().query_id = id;
        out.back().ts = r[2].as<int64_t>();
        out.back().shown_json = "[]";
      }
      QueryOutcome& q = out.back();
      const std::string type = Text(r[1]);
      q.ts = std::min(q.ts, r[2].as<int64_t>());
      if (q.bundle.empty()) q.bundle = Text(r[3]);
      if (q.route.empty() && !r[4].is_null()) q.route = Text(r[4]);
      q.Add(type, Text(r[5]), Text(r[6]));
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const QueryOutcome& a, const QueryOutcome& b) { return a.ts < b.ts; });
    return out;
  });
}

Result<std::optional<std::string>> PostgresStore::Document(const std::string& site,
                                                           const std::string& name) {
  return Run<std::optional<std::string>>(
      "reading the " + name + " document", [&](pqxx::connection& c) {
        pqxx::read_transaction w(c);
        const pqxx::result r = w.exec_params(
            "SELECT body FROM documents WHERE site = $1 AND "
            "name = $2",
            site, name);
        return r.empty() ? std::optional<std::string>() : std::optional<std::string>(Text(r[0][0]));
      });
}

Status PostgresStore::PutDocument(const std::string& site, const std::string& name,
                                  const std::string& body) {
  return Check(
      Run<bool>("storing the " + name + " document", [&](pqxx::connection& c) -> Result<bool> {
        pqxx::work w(c);
        w.exec_params(
            "INSERT INTO documents (site, name, body, updated_at) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (site, name) DO UPDATE SET body = EXCLUDED.body, "
            "updated_at = EXCLUDED.updated_at",
            site, name, body, NowMs());
        w.commit();
        return true;
      }));
}

Result<std::vector<StoredResolution>> PostgresStore::ResolutionsAfter(const std::string& site,
                                                                      int64_t after_id,
                                                                      size_t limit) {
  return Run<std::vector<StoredResolution>>("reading resolutions", [&](pqxx::connection& c) {
    pqxx::read_transaction w(c);
    std::vector<StoredResolution> out;
    for (const pqxx::row& r : w.exec_params(
             "SELECT id, query_id, text, article FROM resolutions WHERE site = $1 AND id > $2 "
             "ORDER BY id LIMIT $3",
             site, after_id, static_cast<int64_t>(limit))) {
      StoredResolution s;
      s.id = r[0].as<int64_t>();
      s.resolution.query_id = Text(r[1]);
      s.resolution.text = Text(r[2]);
      if (!r[3].is_null()) s.resolution.article = Text(r[3]);
      out.push_back(std::move(s));
    }
    return out;
  });
}

Result<LearningCursor> PostgresStore::GetLearningCursor(const std::string& site) {
  return Run<LearningCursor>("reading the learning cursor", [&](pqxx::connection& c) {
    pqxx::read_transaction w(c);
    const pqxx::result r =
        w.exec_params("SELECT signals, resolutions FROM learning_cursors WHERE site = $1", site);
    LearningCursor cursor;
    if (!r.empty()) {
      cursor.signals = r[0][0].as<int64_t>();
      cursor.resolutions = r[0][1].as<int64_t>();
    }
    return cursor;
  });
}

Status PostgresStore::SaveLearning(const std::string& site, const LearningCursor& cursor,
                                   const std::vector<LearningOutcome>& outcomes,
                                   const std::vector<LearnedChange>& changes,
                                   std::vector<int64_t>* change_ids) {
  std::vector<int64_t> ids;
  Status saved =
      Check(Run<bool>("storing learning outcomes", [&](pqxx::connection& c) -> Result<bool> {
        ids.clear();  // a retried attempt starts over
        pqxx::work w(c);
        for (const LearnedChange& ch : changes) ids.push_back(InsertChange(w, site, ch));
        for (const LearningOutcome& o : outcomes) {
          w.exec_params(
              "INSERT INTO learning_outcomes (site, query_id, session, ts, status, data) "
              "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (site, query_id) DO UPDATE SET "
              "session = EXCLUDED.session, ts = EXCLUDED.ts, status = EXCLUDED.status, "
              "data = EXCLUDED.data",
              site, o.query_id, o.session, o.ts, o.status, o.data_json);
        }
        w.exec_params(
            "INSERT INTO learning_cursors (site, signals, resolutions, updated_at) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (site) DO UPDATE SET signals = EXCLUDED.signals, "
            "resolutions = EXCLUDED.resolutions, updated_at = EXCLUDED.updated_at",
            site, cursor.signals, cursor.resolutions, NowMs());
        w.commit();
        return true;
      }));
  if (saved.ok() && change_ids) change_ids->insert(change_ids->end(), ids.begin(), ids.end());
  return saved;
}

Result<std::vector<LearningOutcome>> PostgresStore::LearningOutcomes(const std::string& site) {
  return Run<std::vector<LearningOutcome>>("reading learning outcomes", [&](pqxx::connection& c) {
    pqxx::read_transaction w(c);
    std::vector<LearningOutcome> out;
    for (const pqxx::row& r : w.exec_params(
             "SELECT query_id, session, ts, status, data FROM learning_outcomes WHERE site = $1 "
             "ORDER BY ts, query_id",
             site)) {
      out.push_back({Text(r[0]), Text(r[1]), r[2].as<int64_t>(), Text(r[3]), Text(r[4])});
    }
    return out;
  });
}

Result<int64_t> PostgresStore::AddChange(const std::string& site, const LearnedChange& ch) {
  return Run<int64_t>("storing a change", [&](pqxx::connection& c) {
    pqxx::work w(c);
    const int64_t id = InsertChange(w, site, ch);
    w.commit();
    return id;
  });
}

Result<std::vector<LearnedChange>> PostgresStore::Changes(const std::string& site) {
  return Run<std::vector<LearnedChange>>("reading changes", [&](pqxx::connection& c) {
    pqxx::read_transaction w(c);
    std::vector<LearnedChange> out;
    for (const pqxx::row& r :
         w.exec_params("SELECT id, kind, status, summary, article, examples, exemplars, sessions, "
                       "resolved, not_helpful, created_at, decided_at, version, note FROM changes "
                       "WHERE site = $1 ORDER BY id DESC",
                       site)) {
      LearnedChange ch;
      ch.id = r[0].as<int64_t>();
      ch.kind = Text(r[1]);
      ch.status = Text(r[2]);
      ch.summary = Text(r[3]);
      ch.article = Text(r[4]);
      ch.examples_json = Text(r[5]);
      ch.exemplars_json = Text(r[6]);
      ch.sessions = r[7].as<int64_t>();
      ch.resolved = r[8].as<int64_t>();
      ch.not_helpful = r[9].as<int64_t>();
      ch.created_at_ms = r[10].as<int64_t>();
      ch.decided_at_ms = r[11].as<int64_t>();
      ch.version = r[12].as<int64_t>();
      ch.note = Text(r[13]);
      out.push_back(std::move(ch));
    }
    return out;
  });
}

Status PostgresStore::UpdateChange(const std::string& site, const LearnedChange& ch) {
  return Check(Run<bool>("updating a change", [&](pqxx::connection& c) -> Result<bool> {
    pqxx::work w(c);
    const pqxx::result r = w.exec_params(
        "UPDATE changes SET status = $1, decided_at = $2, version = $3, note = $4 "
        "WHERE site = $5 AND id = $6",
        ch.status, ch.decided_at_ms, ch.version, ch.note, site, ch.id);
    if (r.affected_rows() == 0) {
      return Status::Error("change " + std::to_string(ch.id) + " of site \"" + site +
                           "\" does not exist");
    }
    w.commit();
    return true;
  }));
}

Result<std::vector<LearningRule>> PostgresStore::LearningRules(const std::string& site) {
  return Run<std::vector<LearningRule>>("reading learning rules", [&](pqxx::connection& c) {
    pqxx::read_transaction w(c);
    std::vector<LearningRule> out;
    for (const pqxx::row& r : w.exec_params(
             "SELECT id, kind, pattern, article FROM learning_rules WHERE site = $1 ORDER BY id",
             site)) {
      out.push_back({r[0].as<int64_t>(), Text(r[1]), Text(r[2]), Text(r[3])});
    }
    return out;
  });
}

Result<int64_t> PostgresStore::AddLearningRule(const std::string& site, const LearningRule& rule) {
  return Run<int64_t>("storing a learning rule", [&](pqxx::connection& c) {
    pqxx::work w(c);
    const pqxx::row r = w.exec_params1(
        "INSERT INTO learning_rules (site, kind, pattern, article, created_at) "
        "VALUES ($1, $2, $3, $4, $5) RETURNING id",
        site, rule.kind, rule.pattern, rule.article, NowMs());
    w.commit();
    return r[0].as<int64_t>();
  });
}

Result<bool> PostgresStore::DeleteLearningRule(const std::string& site, int64_t id) {
  return Run<bool>("deleting a learning rule", [&](pqxx::connection& c) {
    pqxx::work w(c);
    const pqxx::result r =
        w.exec_params("DELETE FROM learning_rules WHERE site = $1 AND id = $2", site, id);
    w.commit();
    return r.affected_rows() > 0;
  });
}

Result<Version> PostgresStore::AddVersion(const std::string& site, const std::string& sha256,
                                          int64_t bytes, int keep) {
  return Run<Version>("publishing", [&](pqxx::connection& c) {
    pqxx::work w(c);
    // The site's row is locked, so two replicas publishing at once number their versions apart.
    w.exec_params("SELECT 1 FROM sites WHERE name = $1 FOR UPDATE", site);
    const Version v{
        w.exec_params1("SELECT COALESCE(MAX(version), 0) + 1 FROM versions WHERE site = $1",
                       site)[0]
            .as<int64_t>(),
        sha256, bytes, NowMs(), true};
    w.exec_params("UPDATE versions SET current = FALSE WHERE site = $1", site);
    w.exec_params(
        "INSERT INTO versions (site, version, sha256, bytes, published_at, current) "
        "VALUES ($1, $2, $3, $4, $5, TRUE)",
        site, v.version, sha256, bytes, v.published_at_ms);
    w.exec_params("DELETE FROM versions WHERE site = $1 AND version <= $2", site, v.version - keep);
    w.commit();
    return v;
  });
}

Status PostgresStore::SetCurrent(const std::string& site, int64_t version) {
  return Check(Run<bool>("switching versions", [&](pqxx::connection& c) -> Result<bool> {
    pqxx::work w(c);
    if (w.exec_params("SELECT 1 FROM versions WHERE site = $1 AND version = $2", site, version)
            .empty()) {
      return Status::Error("version " + std::to_string(version) + " of site \"" + site +
                           "\" is not kept");
    }
    w.exec_params("UPDATE versions SET current = (version = $1) WHERE site = $2", version, site);
    w.commit();
    return true;
  }));
}

Result<std::optional<Version>> PostgresStore::CurrentVersion(const std::string& site) {
  return Run<std::optional<Version>>("reading the current version", [&](pqxx::connection& c) {
    pqxx::read_transaction w(c);
    const pqxx::result r = w.exec_params(
        "SELECT version, sha256, bytes, published_at, current FROM versions "
        "WHERE site = $1 AND current",
        site);
    return r.empty() ? std::optional<Version>() : std::optional<Version>(ReadVersion(r[0]));
  });
}

Result<std::vector<Version>> PostgresStore::Versions(const std::string& site) {
  return Run<std::vector<Version>>("listing versions", [&](pqxx::connection& c) {
    pqxx::read_transaction w(c);
    std::vector<Version> out;
    for (const pqxx::row& r :
         w.exec_params("SELECT version, sha256, bytes, published_at, current FROM versions "
                       "WHERE site = $1 ORDER BY version DESC",
                       site)) {
      out.push_back(ReadVersion(r));
    }
    return out;
  });
}

Result<std::vector<std::string>> PostgresStore::ReferencedBundles() {
  return Run<std::vector<std::string>>("listing bundles", [&](pqxx::connection& c) {
    pqxx::read_transaction w(c);
    std::vector<std::string> out;
    for (const pqxx::row& r : w.exec("SELECT DISTINCT sha256 FROM versions")) {
      out.push_back(Text(r[0]));
    }
    return out;
  });
}

Result<bool> PostgresStore::Exclusively(const std::string& site, const std::string& name, bool wait,
                                        const std::function<void()>& body) {
  std::unique_ptr<pqxx::connection> holder;
  const std::string key = "loopwise/" + site + "/" + name;
  try {
    holder = std::make_unique<pqxx::connection>(url_);
    pqxx::nontransaction w(*holder);
    if (wait) {
      w.exec_params("SELECT pg_advisory_lock(hashtext($1))", key);
    } else if (!w.exec_params1("SELECT pg_try_advisory_lock(hashtext($1))", key)[0].as<bool>()) {
      return false;
    }
  } catch (const std::exception& e) {
    return Status::Error("store: taking the " + name + " lock of site \"" + site + "\" failed (" +
                         Trimmed(e.what()) + ")");
  }
  // Released when body is done, whatever it did: unlocked here, so whoever asks next finds it
  // free (the server drops a closed connection's locks only once its backend has exited), and
  // else, as a last resort, by closing the connection.
  struct Release {
    pqxx::connection* c;
    const std::string& key;
    ~Release() {
      try {
        pqxx::nontransaction w(*c);
        w.exec_params("SELECT pg_advisory_unlock(hashtext($1))", key);
      } catch (const std::exception&) {
      }
    }
  } release{holder.get(), key};
  body();
  return true;
}

Result<int64_t> PostgresStore::SizeBytes() {
  return Run<int64_t>("measuring the database", [&](pqxx::connection& c) {
    pqxx::read_transaction w(c);
    return w.exec1("SELECT pg_database_size(current_database())")[0].as<int64_t>();
  });
}

}  // namespace loopwise
