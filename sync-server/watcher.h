#pragma once
// The server's watch over its sites: every interval, for each site with a published bundle, the
// gap finder and the spike detector read the new signals with the current bundle's encoder,
// newly opened incidents are sent to the site's webhooks (alerts.h), failed ones retried, and,
// when a number of days to keep is set, signals older than that which the learning pipeline, the
// gap finder and the detector have all read are forgotten.
//
// Runs on its own thread from construction until destruction; a pass that fails for one site is
// logged and the others go on.

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "alerts.h"
#include "bundle_files.h"
#include "engine/engine.h"
#include "store.h"

namespace loopwise {

struct WatchOptions {
  double every_seconds = 60;
  int keep_signal_days = 0;  // 0: keep every signal
  AlertSender send = PostJson;
  AlertOptions alerts;
};

class Watcher {
 public:
  Watcher(Store* store, BundleFiles* bundles, WatchOptions options);
  ~Watcher();  // stops after the pass in progress
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  // One pass over every site as of `now_ms` (the thread calls it with the wall clock).
  void RunOnce(int64_t now_ms);

 private:
  void Loop();
  void Watch(const Site& site, int64_t now_ms);
  void ForgetOldSignals(const std::string& site, int64_t now_ms);
  // The engine of the site's current bundle, loaded once per bundle; null when unpublished.
  std::shared_ptr<const Engine> CurrentEngine(const std::string& site);

  Store* store_;
  BundleFiles* bundles_;
  WatchOptions options_;
  std::map<std::string, std::pair<std::string, std::shared_ptr<const Engine>>> engines_;
  std::set<std::string> unusable_;  // bundles already reported as unreadable, logged once
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace loopwise
