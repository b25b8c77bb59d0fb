#pragma once
// Where a server keeps everything: sites, knowledge, signals and published versions. SQLite
// (sqlite_store.h) is the default; a PostgreSQL store for several replicas implements the same
// interface.
//
// Every method is safe to call from many threads at once. A method that returns success has made
// its change durable: a crash (even kill -9 or power loss) afterwards does not undo it.

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/article.h"
#include "engine/status.h"
#include "site.h"

namespace loopwise {

// A customer's words and the article that resolved them (null article: none did).
struct ResolvedQuery {
  std::string text;
  std::optional<std::string> article;
  std::string query_id;  // the signal's query_id when known (resolutions from a helpdesk)
};

// The history table keeps a ticket no article answered with an empty article.
inline std::optional<std::string> HistoryArticle(std::string stored) {
  if (stored.empty()) return std::nullopt;
  return stored;
}

// How many of `rows` `history` already holds with the same text and article: what importing a
// history file a second time would add again (tickets are kept as often as they are imported).
inline size_t AlreadyStored(const std::vector<ResolvedQuery>& history,
                            const std::vector<ResolvedQuery>& rows) {
  std::set<std::pair<std::string, std::optional<std::string>>> stored;
  for (const ResolvedQuery& q : history) stored.emplace(q.text, q.article);
  size_t n = 0;
  for (const ResolvedQuery& q : rows) n += stored.count({q.text, q.article});
  return n;
}

// One validated, scrubbed signal event (see signal_batch.h for the wire format).
struct SignalEvent {
  std::string type;  // query, shown, resolved, not_helpful, escalated, abandoned
  int64_t ts = 0;    // milliseconds since the epoch, as the widget saw it
  std::string session;
  std::string query_id;
  std::string query;
  std::string bundle;
  std::string context_json = "{}";  // object
  std::string shown_json = "[]";    // array of article ids
  std::string article;
  std::optional<double> confidence;
  // A signed-in customer's id and its signature, as sent; checked on arrival and never stored
  // (customer_identity.h).
  std::string customer;
  std::string customer_signature;
};

struct SignalBatch {
  std::string site;
  std::string batch_id;
  std::vector<SignalEvent> events;
};

struct BatchReceipt {
  size_t accepted = 0;     // events in the stored batch
  bool duplicate = false;  // the batch id was already stored; nothing was added
};

// A published bundle.
struct Version {
  int64_t version = 0;  // 1, 2, ... per site
  std::string sha256;
  int64_t bytes = 0;
  int64_t published_at_ms = 0;
  bool current = false;
};

// A stored signal with its position in the site's signal log (increasing in arrival order).
struct StoredSignal {
  int64_t id = 0;
  SignalEvent event;
};

struct SignalCounts {
  std::string day;  // YYYY-MM-DD, UTC, of the event's ts
  std::string type;
  int64_t events = 0;
};

// What became of one question (the signals sharing a query_id), for analytics.
struct QueryOutcome {
  std::string query_id;
  int64_t ts = 0;          // its first event
  std::string route;       // context.route of its first event that has one
  std::string bundle;      // the bundle version that answered it
  std::string shown_json;  // the articles its "shown" event listed ("[]" when none)
  bool declined = false;   // a "shown" event with nothing shown: the engine declined it
  bool resolved = false;
  std::string resolved_article;
  bool not_helpful = false;
  bool escalated = false;
  bool abandoned = false;  // the widget saw it left with no Yes, No or handoff

  // Folds in one of the question's events, in arrival order (both stores read them alike).
  void Add(const std::string& type, std::string shown, std::string article_id) {
    if (type == "shown") {
      shown_json = std::move(shown);
      declined = shown_json == "[]";
    } else if (type == "resolved") {
      resolved = true;
      resolved_article = std::move(article_id);
    } else if (type == "not_helpful") {
      not_helpful = true;
    } else if (type == "escalated") {
      escalated = true;
    } else if (type == "abandoned") {
      abandoned = true;
    }
  }
  // Left without an outcome: an "abandoned" question that nothing later resolved, marked not
  // helpful or handed over (a customer may come back to a tab and answer after all).
  bool Left() const { return abandoned && !resolved && !not_helpful && !escalated; }
};

// Learning (learning.h) keeps its state in the store: where it has read the signal log and the
// helpdesk resolutions up to, what became of each question it has seen, and the changes it
// proposed.
struct LearningCursor {
  int64_t signals = 0;      // last signal id read
  int64_t resolutions = 0;  // last resolution id read
};

// A resolution from a helpdesk, with its position in the site's resolutions table.
struct StoredResolution {
  int64_t id = 0;
  ResolvedQuery resolution;
};

// One question as the learning pipeline joined it; `data_json` is the learner's own record.
struct LearningOutcome {
  std::string query_id;
  std::string session;
  int64_t ts = 0;
  std::string status;  // "open", "accepted" or "rejected"
  std::string data_json = "{}";
};

// Every table with a `site` column, children before the `sites` row they reference.
inline constexpr const char* kSiteTables[] = {"learning_rules",   "changes",   "learning_outcomes",
                                              "learning_cursors", "documents", "resolutions",
                                              "versions",         "signals",   "signal_batches",
                                              "history",          "articles"};

// A learned change staged for review or published.
struct LearnedChange {
  int64_t id = 0;
  std::string kind;    // "exemplars"
  std::string status;  // pending, approved, rejected, published, rolled_back
  std::string summary;
  std::string article;
  std::string examples_json = "[]";   // a few of the customers' questions, scrubbed
  std::string exemplars_json = "[]";  // [{"text","article","weight"}]: what it adds to the bundle
  int64_t sessions = 0, resolved = 0, not_helpful = 0;
  int64_t created_at_ms = 0;
  int64_t decided_at_ms = 0;  // 0 while pending
  int64_t version = 0;        // the version that published it, 0 when none did
  std::string note;           // why the guardrails decided as they did, when they decided
};

// An operator's rule, which always wins over learning: "pin" sends questions containing
// `pattern` to `article`; "block" keeps learning from ever pointing at `article`.
struct LearningRule {
  int64_t id = 0;
  std::string kind;
  std::string pattern;
  std::string article;
};

class Store {
 public:
  virtual ~Store() = default;

  // Sites. InsertSite fails if the name is taken.
  virtual Status InsertSite(const Site& site) = 0;
  // UpdateSite sets origins, mode, identity and identity secret; SetSiteToken the hash of a new
  // admin token. Both fail when there is no such site.
  virtual Status UpdateSite(const Site& site) = 0;
  virtual Status SetSiteToken(const std::string& site, const std::string& token_hash) = 0;
  virtual Result<std::optional<Site>> FindSite(const std::string& name) = 0;
  virtual Result<std::vector<Site>> ListSites() = 0;
  // Deletes the site and everything stored for it, all or nothing; false when there was none.
  // Its bundle files are the caller's (BundleFiles::Prune keeps what other sites reference).
  virtual Result<bool> DeleteSite(const std::string& site) = 0;

  // Knowledge. PutArticles inserts or replaces by id, all or nothing.
  virtual Status PutArticles(const std::string& site, const std::vector<Article>& articles) = 0;
  virtual Result<std::vector<Article>> Articles(const std::string& site) = 0;
  // False when there was no such article.
  virtual Result<bool> DeleteArticle(const std::string& site, const std::string& id) = 0;
  virtual Status AddHistory(const std::string& site, const std::vector<ResolvedQuery>& tickets) = 0;
  virtual Result<std::vector<ResolvedQuery>> History(const std::string& site) = 0;
  virtual Status AddResolutions(const std::string& site,
                                const std::vector<ResolvedQuery>& resolutions) = 0;

  // Signals. Stores the batch once per (site, batch_id); returns after the commit is durable.
  virtual Result<BatchReceipt> AppendSignals(SignalBatch batch) = 0;
  virtual Result<int64_t> CountSignals(const std::string& site) = 0;
  virtual Result<std::vector<SignalCounts>> SignalCountsByDay(const std::string& site) = 0;
  // Up to `limit` of the site's signals stored after position `after_id`, oldest first: how the
  // learning pipeline, gap finder and spike detector each read the log from their own cursor.
  virtual Result<std::vector<StoredSignal>> SignalsAfter(const std::string& site, int64_t after_id,
                                                         size_t limit) = 0;
  // Deletes up to `limit` of the site's signals stored at or before position `up_to_id` and dated
  // (`ts`) before `before_ms`, oldest first; returns how many it deleted. The batches' idempotency
  // records stay.
  virtual Result<int64_t> ForgetSignals(const std::string& site, int64_t up_to_id,
                                        int64_t before_ms, size_t limit) = 0;
  // One outcome per question (query_id) of the site, oldest first.
  virtual Result<std::vector<QueryOutcome>> QueryOutcomes(const std::string& site) = 0;

  // Operations documents: the JSON state the gap finder, spike detector and alerts keep per site
  // (cursors, clusters, baselines, webhooks, deliveries), each replaced whole, atomically.
  // Document returns nullopt when there is none by that name.
  virtual Result<std::optional<std::string>> Document(const std::string& site,
                                                      const std::string& name) = 0;
  virtual Status PutDocument(const std::string& site, const std::string& name,
                             const std::string& body) = 0;

  // Learning. SaveLearning stores the outcomes (replacing by query_id), the run's new changes
  // (their ids appended to `change_ids`) and the cursor in one transaction, so a crash never
  // leaves the cursor past outcomes that were not kept, nor a run's changes half recorded.
  virtual Result<std::vector<StoredResolution>> ResolutionsAfter(const std::string& site,
                                                                 int64_t after_id,
                                                                 size_t limit) = 0;
  virtual Result<LearningCursor> GetLearningCursor(const std::string& site) = 0;
  virtual Status SaveLearning(const std::string& site, const LearningCursor& cursor,
                              const std::vector<LearningOutcome>& outcomes,
                              const std::vector<LearnedChange>& changes,
                              std::vector<int64_t>* change_ids) = 0;
  virtual Result<std::vector<LearningOutcome>> LearningOutcomes(const std::string& site) = 0;
  // Changes, newest first. AddChange returns the new change's id.
  virtual Result<int64_t> AddChange(const std::string& site, const LearnedChange& change) = 0;
  virtual Result<std::vector<LearnedChange>> Changes(const std::string& site) = 0;
  // Sets status, decided_at_ms, version and note of change `change.id`; fails when there is none.
  virtual Status UpdateChange(const std::string& site, const LearnedChange& change) = 0;
  virtual Result<std::vector<LearningRule>> LearningRules(const std::string& site) = 0;
  virtual Result<int64_t> AddLearningRule(const std::string& site, const LearningRule& rule) = 0;
  // False when there was no such rule.
  virtual Result<bool> DeleteLearningRule(const std::string& site, int64_t id) = 0;

  // Versions. AddVersion records a published bundle as the site's next, current version and
  // forgets all but the newest `keep` versions. SetCurrent makes an existing version current.
  virtual Result<Version> AddVersion(const std::string& site, const std::string& sha256,
                                     int64_t bytes, int keep) = 0;
  virtual Status SetCurrent(const std::string& site, int64_t version) = 0;
  virtual Result<std::optional<Version>> CurrentVersion(const std::string& site) = 0;
  virtual Result<std::vector<Version>> Versions(const std::string& site) = 0;  // newest first
  // Bundle sha256s still referenced by any site's versions.
  virtual Result<std::vector<std::string>> ReferencedBundles() = 0;

  // Bytes on disk, for /metrics.
  virtual Result<int64_t> SizeBytes() = 0;

  // Runs `body` holding the lock `name` of `site` for every process sharing the store (replicas
  // of the server on one PostgreSQL database; one process for SQLite), so a learning run, a review
  // decision or a watch pass over a site happens in one place at a time. Returns true once body
  // has run; with `wait` false, returns false at once when the lock is held elsewhere. Not
  // reentrant: body must not take the same lock again.
  virtual Result<bool> Exclusively(const std::string& site, const std::string& name, bool wait,
                                   const std::function<void()>& body) = 0;
};

// Milliseconds since the epoch, UTC.
int64_t NowMs();

}  // namespace loopwise
