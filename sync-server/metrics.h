#pragma once
// The server's counters, rendered in the Prometheus text format for GET /metrics. Labels are
// route patterns ("/v1/sites/{site}/signals") and fixed reason codes, never raw paths or input,
// so the number of series stays bounded.

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace loopwise {

class Metrics {
 public:
  void ObserveRequest(const std::string& route, const std::string& method, int status,
                      double seconds);
  void CountAcceptedEvents(size_t events, bool duplicate);
  void CountRejectedBatch(const std::string& reason);
  // Events that named a customer whose signature did not verify (stored as unverified).
  void CountUnverifiedCustomers(size_t events);

  // Everything so far, plus the gauges read at scrape time.
  std::string Render(const std::vector<std::pair<std::string, int64_t>>& published_versions,
                     int64_t store_bytes) const;

 private:
  static constexpr std::array<double, 13> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                      0.25,  0.5,    1,     2.5,  5,     10};
  struct Latency {
    std::array<uint64_t, kBuckets.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  std::map<std::string, Latency> latency_;
  uint64_t events_accepted_ = 0;
  uint64_t batches_accepted_ = 0;
  uint64_t batches_duplicate_ = 0;
  uint64_t customers_unverified_ = 0;
  std::map<std::string, uint64_t> rejected_;
};

}  // namespace loopwise
