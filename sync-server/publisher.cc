#include "publisher.h"

#include <chrono>
#include <unordered_map>

#include "cli.h"
#include "engine/bundle.h"
#include "ranker_model.h"

namespace loopwise {

Result<const WordVectors*> Publisher::Vectors() {
  if (!vectors_) {
    auto v = cli::LoadWordVectors();
    if (!v.ok()) return v.status();
    vectors_ = std::make_unique<WordVectors>(v.take());
  }
  return static_cast<const WordVectors*>(vectors_.get());
}

Result<Publication> Publisher::Publish(const std::string& site) {
  std::lock_guard<std::mutex> lock(mu_);
  auto articles = store_->Articles(site);
  if (!articles.ok()) return articles.status();
  if (articles.value().empty()) {
    return Status::Error("site \"" + site + "\" has no articles to publish; import some first");
  }
  auto history = store_->History(site);
  if (!history.ok()) return history.status();
  auto vectors = Vectors();
  if (!vectors.ok()) return vectors.status();

  Publication p;
  p.articles = articles.value().size();
  std::unordered_map<std::string, uint32_t> index;
  for (uint32_t i = 0; i < articles.value().size(); ++i) index.emplace(articles.value()[i].id, i);
  std::vector<Exemplar> exemplars;
  for (const ResolvedQuery& t : history.value()) {
    auto it = t.article ? index.find(*t.article) : index.end();
    if (it == index.end()) {
      ++p.skipped_history;
      continue;
    }
    exemplars.push_back({t.text, it->second, 1.0f});
  }
  p.exemplars = exemplars.size();

  const auto start = std::chrono::steady_clock::now();
  auto bundle = Bundle::Build(articles.value(), exemplars, *vectors.value(), BundleOptions{});
  if (!bundle.ok()) return Status::Error("cannot build the bundle: " + bundle.status().message());
  bundle = WithDefaultRankerModel(bundle.value());  // ranker.onnx, for the widget's re-ranking
  if (!bundle.ok()) return Status::Error("cannot build the bundle: " + bundle.status().message());
  p.build_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

  auto sha = files_->Put(bundle.value());
  if (!sha.ok()) return sha.status();
  auto version = store_->AddVersion(site, sha.value(), static_cast<int64_t>(bundle.value().size()),
                                    options_.keep_versions);
  if (!version.ok()) return version.status();
  p.version = version.value();

  // Forget bundles no kept version names; an hour's grace covers a publish by another process
  // between its Put and its AddVersion.
  if (auto kept = store_->ReferencedBundles(); kept.ok()) files_->Prune(kept.value(), 3600);
  return p;
}

Result<Version> Publisher::Rollback(const std::string& site, std::optional<int64_t> version) {
  std::lock_guard<std::mutex> lock(mu_);
  auto versions = store_->Versions(site);
  if (!versions.ok()) return versions.status();
  const auto& list = versions.value();  // newest first
  std::optional<Version> target;
  if (version) {
    for (const Version& v : list) {
      if (v.version == *version) target = v;
    }
    if (!target) {
      return Status::Error("version " + std::to_string(*version) + " is not kept (kept: the last " +
                           std::to_string(options_.keep_versions) + ")");
    }
  } else {
    for (size_t i = 0; i < list.size(); ++i) {
      if (list[i].current && i + 1 < list.size()) target = list[i + 1];
    }
    if (!target) return Status::Error("there is no earlier version to roll back to");
  }
  if (Status s = store_->SetCurrent(site, target->version); !s.ok()) return s;
  target->current = true;
  return *target;
}

}  // namespace loopwise
