#pragma once
// Rate limits: a token bucket refilled at a steady rate up to a burst, and a set of them keyed by
// who is asking (a site key, a client address).

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace loopwise {

class TokenBucket {
 public:
  // `rate` tokens a second, holding at most `burst`; starts full.
  TokenBucket(double rate, double burst, double now_seconds);

  // Takes `cost` tokens at time `now_seconds` if the bucket holds them; returns whether it did.
  bool Take(double cost, double now_seconds);
  // Seconds until `cost` tokens will be there (0 if they are now); what Retry-After reports.
  double WaitFor(double cost, double now_seconds);

 private:
  void Refill(double now_seconds);
  double rate_, burst_, tokens_, last_;
};

// One bucket per key, created full on first use. A rate of 0 means unlimited. Buckets idle long
// enough to have refilled are forgotten, so memory stays bounded by the active keys.
class RateLimiter {
 public:
  RateLimiter(double rate, double burst) : rate_(rate), burst_(burst) {}

  // Takes `cost` from `key`'s bucket; false (and the seconds to wait) when it is empty.
  bool Take(const std::string& key, double cost, double now_seconds, double* retry_after);

 private:
  const double rate_, burst_;
  std::mutex mu_;
  std::unordered_map<std::string, TokenBucket> buckets_;
  double last_sweep_ = 0;
};

}  // namespace loopwise
