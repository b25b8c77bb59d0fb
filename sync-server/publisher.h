#pragma once
// Publishing a site: build its bundle from the stored articles and history with the engine, store
// the bundle immutably under its sha256, then make it the current version in one store
// transaction (the manifest swap). The last versions are kept for rollback.

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bundle_files.h"
#include "engine/word_vectors.h"
#include "learned_ranker.h"
#include "store.h"

namespace loopwise {

struct PublishOptions {
  int keep_versions = 10;  // versions a site can roll back to, the current one included
};

struct Publication {
  Version version;
  size_t articles = 0;
  size_t exemplars = 0;
  size_t skipped_history = 0;  // tickets whose article has since been deleted
  size_t unanswered = 0;       // questions no article answers, learned from to decline
  double build_ms = 0;
};

// A bundle built but not yet published: what the learning pipeline replay-evaluates.
struct BuiltBundle {
  std::vector<uint8_t> bytes;
  size_t articles = 0;
  size_t exemplars = 0;
  size_t skipped_history = 0;
  size_t unanswered = 0;
  double build_ms = 0;
  ContextWeights context_weights;  // the ranker's page and prior weights, when outcomes taught them
};

inline constexpr const char* kVersionContentsDocument = "version_contents";

class Publisher {
 public:
  Publisher(Store* store, BundleFiles* files, PublishOptions options = {})
      : store_(store), files_(files), options_(options) {}

  // Builds and publishes `site`'s bundle; returns the new current version. Fails with a sentence
  // (no articles, unreadable word vectors, a store or disk error) leaving the current version as
  // it was. Builds may run side by side; the version swaps run one at a time. `progress` gets the
  // share of the build done, as BundleOptions::progress does.
  Result<Publication> Publish(const std::string& site,
                              const std::function<void(double)>& progress = nullptr);

  // Builds `site`'s bundle from its articles, its history, the exemplars of its published learned
  // changes, the resolution priors, escalation model and ranker's page and prior weights of its
  // stored outcomes (learned_priors.h, learned_escalation.h, learned_ranker.h) and `extra` (text,
  // article id, weight; entries naming a deleted article are skipped), without publishing it.
  Result<BuiltBundle> Build(const std::string& site, const std::vector<ResolvedQuery>& extra,
                            const std::vector<float>& extra_weights,
                            const std::function<void(double)>& progress = nullptr);
  // Stores a built bundle and makes it the current version.
  Result<Publication> PublishBuilt(const std::string& site, const BuiltBundle& built);

  // Makes an earlier kept version current again: `version`, or the one before the current one.
  Result<Version> Rollback(const std::string& site, std::optional<int64_t> version);

  // The ids of the learned changes that were published when `version` was (recorded by
  // PublishBuilt); nullopt for a version published before this was recorded. A change that names
  // `version` as its own is in it too.
  Result<std::optional<std::set<int64_t>>> Contents(const std::string& site, int64_t version);

 private:
  Result<const WordVectors*> Vectors();
  Status RecordContents(const std::string& site, int64_t version);

  Store* store_;
  BundleFiles* files_;
  PublishOptions options_;
  std::mutex mu_;
  std::unique_ptr<WordVectors> vectors_;  // loaded on the first publish
};

}  // namespace loopwise
