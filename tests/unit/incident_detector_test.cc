#include "incident_detector.h"

#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "signal_log.h"

using namespace loopwise;
using namespace loopwise::testing;

namespace {

struct Kind {
  std::string route;
  std::vector<std::string> questions;
};

const std::vector<Kind> kKinds = {
    {"/login", {"i forgot my password", "can not log in", "locked out of my account"}},
    {"/billing", {"refund my payment", "wrong charge on my card", "money back please"}},
    {"/settings/security", {"lost my authenticator phone", "2fa code not working"}},
    {"/reports", {"export my data as csv", "download a spreadsheet report", "export file"}},
    {"/projects", {"delete my project", "remove a team member", "cancel the project"}},
};

// Simulated traffic: each kind's questions arrive as a Poisson process whose rate follows the
// day (lowest at 03:00 UTC, highest at 15:00), multiplied by `boost(kind, ts)`.
class Traffic {
 public:
  explicit Traffic(double per_kind_hourly) : hourly_(per_kind_hourly) {}

  template <typename Boost>
  void Window(SignalLog* log, int64_t start, Boost boost) {
    const double hour = static_cast<double>(start % kDay) / kHour;
    const double season = 1 + 0.6 * std::sin(2 * M_PI * (hour - 9) / 24);
    for (size_t k = 0; k < kKinds.size(); ++k) {
      std::poisson_distribution<int> arrivals(hourly_ / 12 * season * boost(k, start));
      const int n = arrivals(rng_);
      for (int i = 0; i < n; ++i) {
        const std::string id = "q" + std::to_string(next_++);
        const auto& qs = kKinds[k].questions;
        const std::string& text = qs[rng_() % qs.size()];
        const int64_t ts = start + static_cast<int64_t>(rng_() % (5 * kMinute));
        log->Add("query", ts, id, text, kKinds[k].route);
        log->Add("shown", ts, id, text, kKinds[k].route, "[\"x\"]");
      }
    }
    log->Flush();
  }

 private:
  double hourly_;
  std::mt19937 rng_{7};
  int64_t next_ = 0;
};

}  // namespace

TEST_CASE("steady seasonal traffic raises nothing; a 6x burst of one kind raises one incident") {
  const Engine engine = ToyEngine();
  SignalLog log;
  Traffic traffic(12);  // each kind: 12 questions an hour on average, 5 to 19 over the day
  const int64_t burst_start = kDay0 + 3 * kDay + 14 * kHour;
  const int64_t burst_end = burst_start + kHour;
  auto boost = [&](size_t kind, int64_t ts) {
    return kind == 3 && ts >= burst_start && ts < burst_end ? 6.0 : 1.0;
  };
  std::vector<Incident> before, during;
  int64_t detected_at = 0;
  for (int64_t t = kDay0; t < kDay0 + 3 * kDay + 18 * kHour; t += 5 * kMinute) {
    traffic.Window(&log, t, boost);
    auto opened = UpdateIncidents(log.store(), "acme", engine, t + 5 * kMinute);
    REQUIRE(opened.ok());
    for (const Incident& i : opened.value()) {
      if (t + 5 * kMinute <= burst_start) {
        before.push_back(i);
      } else {
        during.push_back(i);
        if (!detected_at) detected_at = t + 5 * kMinute;
      }
    }
  }
  CHECK(before.empty());
  REQUIRE(during.size() == 1);
  CHECK(detected_at - burst_start <= 15 * kMinute);
  const Incident& i = during[0];
  CHECK(i.route == "/reports");
  CHECK((i.label.find("export") != std::string::npos ||
         i.label.find("download") != std::string::npos));
  CHECK(i.count >= 4 * i.baseline);
  CHECK(!i.examples.empty());
  REQUIRE(!i.pages.empty());
  CHECK(i.pages[0].route == "/reports");
  CHECK(i.first_seen_ms >= burst_start - 5 * kMinute);
  CHECK(i.first_seen_ms < detected_at);

  // Back to normal after the burst: resolved, with its time.
  auto listed = ListIncidents(log.store(), "acme");
  REQUIRE(listed.ok());
  REQUIRE(listed.value().size() == 1);
  CHECK(listed.value()[0].status == "resolved");
  CHECK(listed.value()[0].resolved_ms > burst_end);
  CHECK(listed.value()[0].resolved_ms <= burst_end + 2 * kHour);
  const nlohmann::json j = IncidentJson(listed.value()[0]);
  for (const char* field : {"id", "status", "label", "route", "count", "baseline", "first_seen",
                            "last_seen", "examples", "pages"}) {
    CHECK(j.contains(field));
  }
}

TEST_CASE("a new kind of question bursting raises an incident; a trickle does not") {
  const Engine engine = ToyEngine();
  SignalLog log;
  Traffic traffic(12);
  // Kind 3 (exports) does not exist for two days, then trickles (2 an hour), then bursts.
  auto boost = [&](size_t kind, int64_t ts) {
    if (kind != 3) return 1.0;
    if (ts < kDay0 + 2 * kDay) return 0.0;
    if (ts < kDay0 + 2 * kDay + 10 * kHour) return 2.0 / 12;
    return 5.0;  // 60 an hour
  };
  int64_t detected_at = 0;
  for (int64_t t = kDay0; t < kDay0 + 2 * kDay + 11 * kHour; t += 5 * kMinute) {
    traffic.Window(&log, t, boost);
    auto opened = UpdateIncidents(log.store(), "acme", engine, t + 5 * kMinute);
    REQUIRE(opened.ok());
    if (!opened.value().empty()) {
      CHECK(t + 5 * kMinute > kDay0 + 2 * kDay + 10 * kHour);
      if (!detected_at) detected_at = t + 5 * kMinute;
    }
  }
  CHECK(detected_at > 0);
  CHECK(detected_at - (kDay0 + 2 * kDay + 10 * kHour) <= 15 * kMinute);
}

TEST_CASE(
    "a new word bursting across every kind and page raises an incident; one session does not") {
  // "checkout" questions phrased like every existing kind, on every page: no cluster, article or
  // page sees much more than usual, only the word does.
  const Engine engine = ToyEngine();
  SignalLog log;
  Traffic traffic(12);
  const int64_t repeat_at = kDay0 + 2 * kDay + 8 * kHour;
  const int64_t burst_start = kDay0 + 2 * kDay + 10 * kHour;
  std::mt19937 rng(3);
  int64_t next = 0, detected_at = 0;
  std::vector<Incident> opened_all;
  for (int64_t t = kDay0; t < burst_start + kHour; t += 5 * kMinute) {
    traffic.Window(&log, t, [](size_t, int64_t) { return 1.0; });
    if (t == repeat_at) {  // one customer asking ten times
      for (int i = 0; i < 10; ++i) {
        log.Add("query", t + i * 20000, "r" + std::to_string(i), "checkout fails again", "/billing",
                "[]", "", "one-session");
      }
    }
    if (t >= burst_start) {  // 36 an hour
      for (int n = 0; n < 3; ++n) {
        const Kind& kind = kKinds[rng() % kKinds.size()];
        const std::string text =
            kind.questions[rng() % kind.questions.size()] + " since the checkout update";
        log.Add("query", t + static_cast<int64_t>(rng() % (5 * kMinute)),
                "c" + std::to_string(next++), text, kind.route);
      }
    }
    log.Flush();
    auto opened = UpdateIncidents(log.store(), "acme", engine, t + 5 * kMinute);
    REQUIRE(opened.ok());
    for (const Incident& i : opened.value()) {
      CHECK(t + 5 * kMinute > burst_start);
      opened_all.push_back(i);
      if (!detected_at) detected_at = t + 5 * kMinute;
    }
  }
  REQUIRE(!opened_all.empty());
  CHECK(detected_at - burst_start <= 15 * kMinute);
  const Incident& i = opened_all[0];
  CHECK(i.label.find("checkout") != std::string::npos);
  REQUIRE(!i.examples.empty());
  for (const std::string& e : i.examples) CHECK(e.find("checkout") != std::string::npos);
  CHECK(i.first_seen_ms >= burst_start);
}

TEST_CASE("a signal from a clock in the far future does not stop the detector") {
  const Engine engine = ToyEngine();
  SignalLog log;
  log.Add("query", 1000000000000000, "future", "export file", "/reports");  // the year 33658
  Traffic traffic(12);
  auto boost = [&](size_t kind, int64_t ts) {
    return kind == 3 && ts >= kDay0 + 2 * kDay + 10 * kHour ? 5.0 : 1.0;
  };
  int64_t detected_at = 0;
  for (int64_t t = kDay0; t < kDay0 + 2 * kDay + 11 * kHour && !detected_at; t += 5 * kMinute) {
    traffic.Window(&log, t, boost);
    auto opened = UpdateIncidents(log.store(), "acme", engine, t + 5 * kMinute);
    REQUIRE(opened.ok());
    if (!opened.value().empty()) detected_at = t + 5 * kMinute;
  }
  CHECK(detected_at > kDay0 + 2 * kDay + 10 * kHour);
}

TEST_CASE("the detector runs on signal time: late calls catch up, early ones wait") {
  const Engine engine = ToyEngine();
  SignalLog log;
  // Nothing is judged before a day of baseline, whenever the detector is called.
  for (int i = 0; i < 40; ++i)
    log.Add("query", kDay0 + i * 1000, "x" + std::to_string(i), "export file", "/reports");
  log.Flush();
  auto opened = UpdateIncidents(log.store(), "acme", engine, kDay0 + 5 * kMinute);
  REQUIRE(opened.ok());
  CHECK(opened.value().empty());
  auto listed = ListIncidents(log.store(), "acme");
  REQUIRE(listed.ok());
  CHECK(listed.value().empty());
}

TEST_CASE("stored state this code cannot read is an error naming the site") {
  const Engine engine = ToyEngine();
  SignalLog log;
  REQUIRE(log.store()->PutDocument("acme", "incidents", "{\"format\": 9}").ok());
  auto opened = UpdateIncidents(log.store(), "acme", engine, kDay0);
  REQUIRE(!opened.ok());
  CHECK(opened.status().message().find("\"acme\"") != std::string::npos);
}

TEST_CASE("the negative-binomial tail: geometric at shape 1, Poisson as the shape grows") {
  // Shape 1 is the geometric distribution: P(X >= k) = q^k with q = mean / (mean + 1).
  for (const double mean : {0.3, 2.0, 9.0}) {
    const double q = mean / (mean + 1);
    for (const int64_t k : {1, 3, 12}) {
      CHECK(NegativeBinomialUpperTail(k, mean, 1) == doctest::Approx(std::pow(q, k)).epsilon(1e-9));
    }
  }
  // A very large shape is a Poisson count: P(X >= 7 | mean 2) = 0.004533...
  double poisson = 0, term = std::exp(-2.0);
  for (int i = 0; i < 7; ++i, term *= 2.0 / i) poisson += term;
  CHECK(NegativeBinomialUpperTail(7, 2, 1e7) == doctest::Approx(1 - poisson).epsilon(1e-5));
  // An uncertain baseline (small shape) makes a high count less surprising.
  CHECK(NegativeBinomialUpperTail(10, 2, 5) > NegativeBinomialUpperTail(10, 2, 100));
  CHECK(NegativeBinomialUpperTail(0, 2, 5) == 1);
  CHECK(NegativeBinomialUpperTail(3, 0, 5) == 0);
}
