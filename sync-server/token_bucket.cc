#include "token_bucket.h"

#include <algorithm>

namespace loopwise {

TokenBucket::TokenBucket(double rate, double burst, double now_seconds)
    : rate_(rate), burst_(burst), tokens_(burst), last_(now_seconds) {}

void TokenBucket::Refill(double now) {
  if (now > last_) {
    tokens_ = std::min(burst_, tokens_ + (now - last_) * rate_);
    last_ = now;
  }
}

bool TokenBucket::Take(double cost, double now) {
  Refill(now);
  if (tokens_ < cost) return false;
  tokens_ -= cost;
  return true;
}

double TokenBucket::WaitFor(double cost, double now) {
  Refill(now);
  if (tokens_ >= cost) return 0;
  return rate_ > 0 ? (std::min(cost, burst_) - tokens_) / rate_ : 0;
}

bool RateLimiter::Take(const std::string& key, double cost, double now, double* retry_after) {
  if (rate_ <= 0) return true;
  std::lock_guard<std::mutex> lock(mu_);
  const double full_after = burst_ / rate_;
  if (now - last_sweep_ > full_after && buckets_.size() > 1024) {
    // A bucket untouched for full_after seconds is full again: same as a new one.
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      it = it->second.WaitFor(burst_, now) == 0 ? buckets_.erase(it) : std::next(it);
    }
    last_sweep_ = now;
  }
  auto it = buckets_.try_emplace(key, rate_, burst_, now).first;
  // A single request larger than the burst could never pass; charge it the whole bucket instead.
  cost = std::min(cost, burst_);
  if (it->second.Take(cost, now)) return true;
  if (retry_after) *retry_after = it->second.WaitFor(cost, now);
  return false;
}

}  // namespace loopwise
