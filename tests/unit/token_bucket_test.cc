#include "token_bucket.h"

#include <doctest/doctest.h>

using loopwise::RateLimiter;
using loopwise::TokenBucket;

TEST_CASE("a token bucket allows its burst, then its rate") {
  TokenBucket b(10, 20, 0);
  CHECK(b.Take(20, 0));
  CHECK_FALSE(b.Take(1, 0));
  CHECK(b.WaitFor(5, 0) == doctest::Approx(0.5));
  CHECK_FALSE(b.Take(5, 0.4));
  CHECK(b.Take(5, 0.5));
  CHECK(b.Take(20, 100));  // refills up to the burst, not beyond
  CHECK_FALSE(b.Take(1, 100));
}

TEST_CASE("a clock going backwards takes nothing and gives nothing") {
  TokenBucket b(10, 10, 5);
  CHECK(b.Take(10, 5));
  CHECK_FALSE(b.Take(1, 1));
  CHECK(b.Take(10, 6));
}

TEST_CASE("a rate limiter keeps one bucket per key; rate 0 is unlimited") {
  RateLimiter limiter(1, 2);
  double wait = 0;
  CHECK(limiter.Take("a", 2, 0, &wait));
  CHECK_FALSE(limiter.Take("a", 1, 0, &wait));
  CHECK(wait == doctest::Approx(1));
  CHECK(limiter.Take("b", 2, 0, &wait));
  // A request larger than the burst is charged the whole bucket rather than refused forever.
  CHECK(limiter.Take("c", 50, 0, &wait));
  RateLimiter unlimited(0, 0);
  for (int i = 0; i < 1000; ++i) CHECK(unlimited.Take("x", 1e6, 0, &wait));
}

TEST_CASE("idle buckets are forgotten once there are many") {
  RateLimiter limiter(100, 100);
  double wait = 0;
  for (int i = 0; i < 5000; ++i) limiter.Take("client-" + std::to_string(i), 100, 0, &wait);
  // Long after, every bucket is full again: a new request passes and old ones are swept.
  CHECK(limiter.Take("client-1", 100, 10, &wait));
}
