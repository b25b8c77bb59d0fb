#pragma once
// The learning pipeline: one code path for `loopwise train`, the server's periodic run and
// `loopwise simulate`.
//
// A run reads the site's signals and helpdesk resolutions stored since its cursor, joins them per
// question (query_id) into observations, and lets the guardrails (exemplar_learner.h) decide which
// questions become exemplars of which article. The accepted exemplars are grouped per article into
// changes with a plain explanation. A candidate bundle (articles + history + published learned
// exemplars + the new ones, rebuilt with the engine: that rebuild retrains the scoring head, the
// encoder's site vocabulary and the ranker) is replay-evaluated against the current bundle on
// held-out recent questions. In autonomous mode a candidate that is not worse beyond the tolerance
// is published; in review mode its changes wait for an operator (approve publishes). A live drop
// in the resolution rate of the traffic a learned version answered, against the version before,
// rolls it back. Operators' pins and blocks always win. Last, the gap finder and the spike
// detector read the same signals with the current bundle.

#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bundle_files.h"
#include "exemplar_learner.h"
#include "publisher.h"
#include "replay.h"
#include "store.h"

namespace loopwise {

struct LearningOptions {
  GuardrailOptions guardrails;
  // Held-out questions for replay: one in `replay_every` of the newest `replay_window` labelled
  // questions (chosen by a hash of the query_id). They are not learned from while they are that
  // recent, so no bundle has seen them; they are once newer questions push them out.
  size_t replay_window = 1000;
  int replay_every = 5;
  double replay_tolerance = 0.02;
  size_t replay_min_questions = 30;
  // Roll back a learned version whose resolution rate fell this far below the previous version's,
  // once each has answered at least `rollback_min_questions` questions.
  double rollback_drop = 0.10;
  size_t rollback_min_questions = 100;
  // Run the gap finder and the spike detector after learning.
  bool operations = true;
};

// How often the questions a version answered were resolved.
struct VersionRate {
  int64_t version = 0;
  size_t questions = 0;
  size_t resolved = 0;
  double rate() const { return questions ? static_cast<double>(resolved) / questions : 0; }
};

// True when `current` (a learned version) resolves markedly less than `previous`, with enough
// questions on both to tell.
bool LiveDrop(const VersionRate& current, const VersionRate& previous,
              const LearningOptions& options);

struct LearningReport {
  size_t signals = 0;      // signals read
  size_t resolutions = 0;  // helpdesk resolutions read
  size_t questions = 0;    // questions (query_ids) updated
  size_t accepted = 0, merged = 0, rejected = 0, waiting = 0;
  std::vector<int64_t> changes;  // ids of the changes this run created
  // "published", "staged" (review mode), "refused" (replay), "nothing_new"
  std::string outcome = "nothing_new";
  std::optional<Version> published;
  // The version that published what an interrupted run or approval had left (FinishPublication).
  std::optional<Version> finished;
  ReplayVerdict replay;
  std::optional<Version> rolled_back_to;
  std::string rollback_note;
  double build_ms = 0;
  double total_ms = 0;
  ContextWeights context_weights;  // the candidate's, when the outcomes taught them
  nlohmann::json operations = nlohmann::json::object();  // what the gap finder and detector did

  nlohmann::json ToJson() const;
  // True when the run read anything or changed what is published: the runs worth recording.
  bool Eventful() const {
    return signals || resolutions || published || finished || rolled_back_to;
  }
};

// The site's recorded learning runs, newest first: each eventful run's report (ToJson) with "at",
// the run's time, the newest kKeptRuns of them. Fails with a sentence naming the site when the
// record does not read (left as it is; runs are not recorded over it).
constexpr size_t kKeptRuns = 50;
Result<nlohmann::json> LearningRuns(Store* store, const std::string& site);

class Learner {
 public:
  Learner(Store* store, BundleFiles* files, Publisher* publisher, LearningOptions options = {})
      : store_(store), files_(files), publisher_(publisher), options_(options) {}

  // Called with a stage's name and the share of it done (0 to 1); for progress bars.
  using ProgressFn = std::function<void(const std::string& stage, double share)>;

  // Runs the pipeline for `site` now (`now_ms` stamps changes; simulated time in `simulate`).
  // Fails with a sentence when the site does not exist, has never been published, or the store
  // fails; a failed run leaves the cursor where it was, so the next run reads the same signals.
  // Runs, decisions and rollbacks of a site are serialized across every process sharing the
  // store (Store::Exclusively), so replicas never learn from the same signals twice.
  Result<LearningReport> Run(const std::string& site, int64_t now_ms,
                             const ProgressFn& progress = nullptr);

  // Approves (publishing them in one new version) or rejects the pending change `id`, or every
  // pending change when `id` is nullopt. Fails when `id` names no pending change.
  Result<std::vector<LearnedChange>> Decide(const std::string& site, std::optional<int64_t> id,
                                            bool approve, int64_t now_ms);

  // Makes an earlier version current (see Publisher::Rollback) and marks the changes published
  // after it rolled back, so later builds leave their exemplars out.
  Result<Version> Rollback(const std::string& site, std::optional<int64_t> version, int64_t now_ms);

  // Reverts the published change `id`: marks it rejected, publishes a version without it, which
  // it returns, and overrules the questions behind it (they speak against its article from now
  // on, see Observation::overruled; so do a rejected pending change's, in Decide). Fails when `id`
  // names no published change, or when publishing fails (the change is left published). A crash
  // midway is finished by the next run (FinishPublication, FinishOverruling).
  Result<Version> Revert(const std::string& site, int64_t id, int64_t now_ms);

 private:
  Result<LearningReport> RunLocked(const std::string& site, int64_t now_ms,
                                   const ProgressFn& progress);
  Result<std::vector<LearnedChange>> DecideLocked(const std::string& site,
                                                  std::optional<int64_t> id, bool approve,
                                                  int64_t now_ms);
  Result<Version> RollbackLocked(const std::string& site, std::optional<int64_t> version,
                                 int64_t now_ms);
  Result<Version> RevertLocked(const std::string& site, int64_t id, int64_t now_ms);
  // Marks the changes as `current` (just made current) holds them: those published that it does
  // not hold rolled back (with `note`), those rolled back that it holds restored. Returns the
  // changes rolled back.
  Result<std::vector<LearnedChange>> MarkChangesFor(const std::string& site, const Version& current,
                                                    int64_t now_ms, const std::string& note);
  // Finishes a publication a crash cut short. A run or an approval records its changes as
  // published before it publishes them, so a crash in between leaves published changes that no
  // version names: the current version holds them when it was published after they were
  // recorded, otherwise they are published now. Likewise a revert records its change rejected
  // first: a current version still holding it is replaced. Returns the version published, if
  // one was.
  Result<std::optional<Version>> FinishPublication(const std::string& site);
  // Overrules the questions behind `changes`, which an operator just rejected or reverted (see
  // Observation::overruled): the accepted questions their exemplars came from and those merged into
  // them (all but identical in the current bundle's encoder, with the same article).
  Status Overrule(const std::string& site, const std::vector<LearnedChange>& changes);
  // Finishes a rejection or revert a crash cut short before its questions were overruled: a
  // rejected change whose exemplars' questions still count as accepted in `outcomes` (the site's,
  // as stored). (The guardrails reject their candidates' questions together with the changes, in
  // one transaction.) True when it overruled any, so the stored outcomes changed.
  Result<bool> FinishOverruling(const std::string& site,
                                const std::vector<LearningOutcome>& outcomes);

  Store* store_;
  BundleFiles* files_;
  Publisher* publisher_;
  LearningOptions options_;
  std::mutex mu_;
};

// A change as the admin API shows it.
nlohmann::json ChangeJson(const LearnedChange& change);

}  // namespace loopwise
