#pragma once
// The SQLite store: one database file in the data directory, in WAL mode with synchronous=FULL,
// so a commit is on disk (WAL fsynced) before any method reports success.
//
// Signals are written by one writer thread with group commit: AppendSignals queues the batch and
// waits; the writer takes every batch queued so far, inserts them all in one transaction, commits
// (one fsync for the whole group) and only then wakes each caller with its receipt. Many clients
// thus share each fsync, and nothing is acknowledged before it is durable. Checkpoints (copying
// the WAL into the database file, with fsyncs of their own) run on a separate thread every half
// second instead of inside a commit, so they do not stall acknowledgements.

#include <sqlite3.h>

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "group_commit.h"
#include "store.h"

namespace loopwise {

class SqliteStore : public Store {
 public:
  // Opens (creating if needed) the database at `path` and runs the schema migrations it lacks.
  // Fails with a sentence naming the file when it cannot be opened, written, or is not ours.
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path);
  ~SqliteStore() override;

  // The schema version this code migrates to.
  static int SchemaVersion();

  // Copies the database at `from` (which must exist) to the new file `to` as one consistent
  // snapshot (SQLite's online backup), while other connections and processes go on reading and
  // writing it, and syncs `to` to disk. Fails with a sentence naming the file.
  static Status Snapshot(const std::string& from, const std::string& to);

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
  Result<bool> Exclusively(const std::string& site, const std::string& name, bool wait,
                           const std::function<void()>& body) override;

 private:
  SqliteStore(std::string path, sqlite3* db, sqlite3* writer, sqlite3* checkpointer);
  void CheckpointLoop();
  Result<std::vector<BatchReceipt>> CommitGroup(const std::vector<const SignalBatch*>& group);

  const std::string path_;
  std::mutex mu_;  // guards db_ (everything but signal appends)
  sqlite3* db_;
  sqlite3* writer_db_;      // used only by the writer thread
  sqlite3* checkpoint_db_;  // used only by the checkpoint thread

  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;  // wakes the checkpoint thread (to stop)
  bool stopping_ = false;
  std::thread checkpointer_;
  std::unique_ptr<GroupCommit> signals_;  // its writer uses writer_db_

  std::mutex locks_mu_;  // guards locks_
  std::map<std::string, std::unique_ptr<std::mutex>> locks_;
};

}  // namespace loopwise
