#pragma once
// The PostgreSQL store (`--db postgresql://...`), for several server replicas sharing one
// database. Same schema and behaviour as the SQLite store; a commit is durable when PostgreSQL
// reports it (synchronous_commit, its default).
//
// One connection per store for everything but signals, used by one caller at a time; a connection
// that broke is opened again on the next call. Signals are written with group commit, as in the
// SQLite store: request threads queue their batches and wait, one writer thread (with a connection
// of its own) stores everything queued in one transaction and wakes each caller once it has
// committed. That transaction takes an advisory lock, so signal ids are committed in the order
// they are numbered and a reader following the log by id (learning, gaps, spikes) never skips one
// that commits late on another replica.

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "group_commit.h"
#include "store.h"

namespace loopwise {

class PostgresStore : public Store {
 public:
  // Connects to `url` (postgresql://user:password@host:port/database) and runs the schema
  // migrations it lacks. Fails with a sentence naming the server (never its password).
  static Result<std::unique_ptr<PostgresStore>> Open(const std::string& url);
  ~PostgresStore() override;

  // The schema version this code migrates to.
  static int SchemaVersion();

  Status InsertSite(const Site& site) override;
  Status UpdateSite(const Site& site) override;
  Status SetSiteToken(const std::string& site, const std::string& token_hash) override;
  Result<bool> DeleteSite(const std::string& site) override;
  Result<std::optional<Site>> FindSite(const std::string& name) override;
  Result<std::vector<Site>> ListSites() override;

  Status PutArticles(const std::string& site, const std::vector<Article>& articles) override;
  Result<std::vector<Article>> Articles(const std::string& site) override;
  Result<bool> DeleteArticle(const std::string& site, const std::string& id) override;
  Status AddHistory(const std::string& site, const std::vector<ResolvedQuery>& tickets) override;
  Result<std::vector<ResolvedQuery>> History(const std::string& site) override;
  Status AddResolutions(const std::string& site,
                        const std::vector<ResolvedQuery>& resolutions) override;

  Result<BatchReceipt> AppendSignals(SignalBatch batch) override;
  Result<int64_t> CountSignals(const std::string& site) override;
  Result<int64_t> ForgetSignals(const std::string& site, int64_t up_to_id, int64_t before_ms,
                                size_t limit) override;
  Result<std::vector<SignalCounts>> SignalCountsByDay(const std::string& site) override;
  Result<std::vector<StoredSignal>> SignalsAfter(const std::string& site, int64_t after_id,
                                                 size_t limit) override;
  Result<std::vector<QueryOutcome>> QueryOutcomes(const std::string& site) override;
  Result<std::optional<std::string>> Document(const std::string& site,
                                              const std::string& name) override;
  Status PutDocument(const std::string& site, const std::string& name,
                     const std::string& body) override;

  Result<std::vector<StoredResolution>> ResolutionsAfter(const std::string& site, int64_t after_id,
                                                         size_t limit) override;
  Result<LearningCursor> GetLearningCursor(const std::string& site) override;
  Status SaveLearning(const std::string& site, const LearningCursor& cursor,
                      const std::vector<LearningOutcome>& outcomes,
                      const std::vector<LearnedChange>& changes,
                      std::vector<int64_t>* change_ids) override;
  Result<std::vector<LearningOutcome>> LearningOutcomes(const std::string& site) override;
  Result<int64_t> AddChange(const std::string& site, const LearnedChange& change) override;
  Result<std::vector<LearnedChange>> Changes(const std::string& site) override;
  Status UpdateChange(const std::string& site, const LearnedChange& change) override;
  Result<std::vector<LearningRule>> LearningRules(const std::string& site) override;
  Result<int64_t> AddLearningRule(const std::string& site, const LearningRule& rule) override;
  Result<bool> DeleteLearningRule(const std::string& site, int64_t id) override;

  Result<Version> AddVersion(const std::string& site, const std::string& sha256, int64_t bytes,
                             int keep) override;
  Status SetCurrent(const std::string& site, int64_t version) override;
  Result<std::optional<Version>> CurrentVersion(const std::string& site) override;
  Result<std::vector<Version>> Versions(const std::string& site) override;
  Result<std::vector<std::string>> ReferencedBundles() override;

  Result<int64_t> SizeBytes() override;
  // A PostgreSQL advisory lock, held by a connection of its own while body runs.
  Result<bool> Exclusively(const std::string& site, const std::string& name, bool wait,
                           const std::function<void()>& body) override;

 private:
  struct Connection;
  explicit PostgresStore(std::string url);
  Result<std::vector<BatchReceipt>> CommitGroup(const std::vector<const SignalBatch*>& group);
  // Runs body(connection) under the store's lock, reconnecting first when needed; a PostgreSQL
  // error becomes a Status naming `what`.
  template <typename T, typename Body>
  Result<T> Run(const std::string& what, Body body);

  const std::string url_;
  std::mutex mu_;
  std::unique_ptr<Connection> conn_;

  std::unique_ptr<Connection> writer_;  // used only by the group commit's writer
  std::unique_ptr<GroupCommit> signals_;
};

// The URL with its password, if any, replaced by "***": what messages and logs may show.
std::string RedactedUrl(const std::string& url);

}  // namespace loopwise
