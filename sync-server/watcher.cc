#include "watcher.h"

#include <algorithm>
#include <chrono>

#include "gap_finder.h"
#include "incident_detector.h"
#include "logger.h"

namespace loopwise {

Watcher::Watcher(Store* store, BundleFiles* bundles, WatchOptions options)
    : store_(store), bundles_(bundles), options_(std::move(options)) {
  thread_ = std::thread([this] { Loop(); });
}

Watcher::~Watcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Watcher::Loop() {
  const auto every = std::chrono::duration<double>(options_.every_seconds);
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, every, [&] { return stopping_; })) {
    lock.unlock();
    RunOnce(NowMs());
    lock.lock();
  }
}

std::shared_ptr<const Engine> Watcher::CurrentEngine(const std::string& site) {
  auto current = store_->CurrentVersion(site);
  if (!current.ok() || !current.value()) return nullptr;
  const std::string& sha = current.value()->sha256;
  auto cached = engines_.find(site);
  if (cached != engines_.end() && cached->second.first == sha) return cached->second.second;
  auto bytes = bundles_->Get(sha, false);
  if (!bytes.ok()) {
    if (unusable_.insert(sha).second) {
      LogError("watch: bundle unreadable", {{"site", site}, {"error", bytes.status().message()}});
    }
    return nullptr;
  }
  auto engine =
      Engine::Load(reinterpret_cast<const uint8_t*>(bytes.value()->data()), bytes.value()->size());
  if (!engine.ok()) {
    if (unusable_.insert(sha).second) {
      LogError("watch: bundle unusable", {{"site", site}, {"error", engine.status().message()}});
    }
    return nullptr;
  }
  auto shared = std::make_shared<const Engine>(engine.take());
  engines_[site] = {sha, shared};
  return shared;
}

void Watcher::RunOnce(int64_t now_ms) {
  auto sites = store_->ListSites();
  if (!sites.ok()) {
    LogError("watch: cannot list sites", {{"error", sites.status().message()}});
    return;
  }
  for (const Site& site : sites.value()) {
    // One replica at a time watches a site; the others leave it to that one.
    auto held = store_->Exclusively(site.name, "watch", false, [&] {
      // Whatever goes wrong with one site's pass is logged; it never takes the server down.
      try {
        Watch(site, now_ms);
      } catch (const std::exception& e) {
        LogError("watch: a pass failed", {{"site", site.name}, {"error", e.what()}});
      }
    });
    if (!held.ok()) {
      LogError("watch: cannot take the site's lock",
               {{"site", site.name}, {"error", held.status().message()}});
    }
  }
}

void Watcher::Watch(const Site& site, int64_t now_ms) {
  std::shared_ptr<const Engine> engine = CurrentEngine(site.name);
  if (!engine) return;
  auto gaps = UpdateGaps(store_, site.name, *engine, now_ms);
  if (!gaps.ok()) {
    LogError("gap update failed", {{"site", site.name}, {"error", gaps.status().message()}});
  } else if (gaps.value().opened || gaps.value().closed) {
    LogInfo("gaps", {{"site", site.name},
                     {"opened", gaps.value().opened},
                     {"closed", gaps.value().closed},
                     {"open", gaps.value().gaps_open}});
  }
  auto incidents = UpdateIncidents(store_, site.name, *engine, now_ms);
  if (!incidents.ok()) {
    LogError("incident update failed",
             {{"site", site.name}, {"error", incidents.status().message()}});
  }
  for (const Incident& i : incidents.ok() ? incidents.value() : std::vector<Incident>()) {
    // The label is a customer's (scrubbed) question: it stays out of the log.
    LogWarning(
        "incident opened",
        {{"site", site.name}, {"incident", i.id}, {"count", i.count}, {"baseline", i.baseline}});
  }
  auto alerts = DeliverAlerts(store_, site.name, now_ms, options_.send, options_.alerts);
  if (!alerts.ok()) {
    LogError("alert delivery failed", {{"site", site.name}, {"error", alerts.status().message()}});
  }
  if (options_.keep_signal_days > 0) ForgetOldSignals(site.name, now_ms);
}

void Watcher::ForgetOldSignals(const std::string& site, int64_t now_ms) {
  // Only what every reader of the log is done with: learning, the gap finder, the detector.
  auto learned = store_->GetLearningCursor(site);
  auto gaps = GapsReadUpTo(store_, site);
  auto incidents = IncidentsReadUpTo(store_, site);
  if (!learned.ok() || !gaps.ok() || !incidents.ok()) {
    const Status& failed =
        !learned.ok() ? learned.status() : (!gaps.ok() ? gaps.status() : incidents.status());
    LogError("forgetting old signals failed", {{"site", site}, {"error", failed.message()}});
    return;
  }
  const int64_t read = std::min({learned.value().signals, gaps.value(), incidents.value()});
  const int64_t before = now_ms - int64_t{options_.keep_signal_days} * 24 * 3600 * 1000;
  // In slices, so signals arriving meanwhile never wait long for the store.
  constexpr size_t kSlice = 10000;
  int64_t forgotten = 0;
  for (;;) {
    auto n = store_->ForgetSignals(site, read, before, kSlice);
    if (!n.ok()) {
      LogError("forgetting old signals failed", {{"site", site}, {"error", n.status().message()}});
      break;
    }
    forgotten += n.value();
    if (n.value() < static_cast<int64_t>(kSlice)) break;
  }
  if (forgotten) {
    LogInfo("old signals forgotten",
            {{"site", site}, {"signals", forgotten}, {"days", options_.keep_signal_days}});
  }
}

}  // namespace loopwise
