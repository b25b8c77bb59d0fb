#include "analytics.h"

#include <doctest/doctest.h>

#include "signal_log.h"

using namespace loopwise;
using namespace loopwise::testing;

TEST_CASE("outcome analytics from stored signals: rates by day, route, bundle, article, change") {
  SignalLog log;
  // Day 0: four questions on bundle 1. Day 1 (after version 2): four on bundle 2.
  auto question = [&](const std::string& id, int64_t ts, const std::string& route,
                      const std::string& bundle, const std::string& outcome) {
    log.bundle = bundle;
    log.Add("query", ts, id, "q " + id, route);
    log.Add("shown", ts, id, "q " + id, route,
            outcome == "declined" ? "[]" : "[\"refund\",\"reset-password\"]");
    if (outcome == "resolved") log.Add("resolved", ts + 1, id, "q", route, "[]", "refund");
    if (outcome == "not_helpful") log.Add("not_helpful", ts + 1, id, "q", route);
    if (outcome == "declined" || outcome == "not_helpful") {
      log.Add("escalated", ts + 2, id, "q", route);
    }
  };
  question("a", kDay0 + kHour, "/billing", "1", "resolved");
  question("b", kDay0 + 2 * kHour, "/billing", "1", "not_helpful");
  question("c", kDay0 + 3 * kHour, "/login", "1", "declined");
  question("d", kDay0 + 4 * kHour, "/login", "1", "declined");
  question("e", kDay0 + kDay + kHour, "/billing", "2", "resolved");
  question("f", kDay0 + kDay + 2 * kHour, "/billing", "2", "resolved");
  question("g", kDay0 + kDay + 3 * kHour, "/login", "2", "resolved");
  question("h", kDay0 + kDay + 4 * kHour, "/login", "2", "declined");
  log.Flush();
  auto outcomes = log.store()->QueryOutcomes("acme");
  REQUIRE(outcomes.ok());
  REQUIRE(outcomes.value().size() == 8);
  CHECK(outcomes.value()[0].query_id == "a");
  CHECK(outcomes.value()[2].declined);
  CHECK(outcomes.value()[2].escalated);
  CHECK(outcomes.value()[0].route == "/billing");

  std::vector<Version> versions = {{2, "bb", 1, kDay0 + kDay, true}, {1, "aa", 1, kDay0 - kDay}};
  const nlohmann::json a = OutcomeAnalytics(outcomes.value(), versions);
  CHECK(a["rates"]["queries"] == 8);
  CHECK(a["rates"]["resolved"] == 4);
  CHECK(a["rates"]["escalated"] == 4);
  CHECK(a["rates"]["declined"] == 3);
  CHECK(a["rates"]["resolution_rate"] == 0.5);
  CHECK(a["rates"]["gap_rate"] == 0.375);
  REQUIRE(a["by_day"].size() == 2);
  CHECK(a["by_day"][0]["day"] == "2026-01-05");
  CHECK(a["by_day"][0]["resolution_rate"] == 0.25);
  CHECK(a["by_day"][1]["resolution_rate"] == 0.75);
  REQUIRE(a["by_route"].size() == 2);
  CHECK(a["by_route"][0]["queries"] == 4);
  REQUIRE(a["by_bundle"].size() == 2);
  CHECK(a["by_bundle"][1]["resolution_rate"] == 0.75);
  // "refund" was shown with 5 questions (not the 3 declined) and resolved 4 of them.
  REQUIRE(!a["by_article"].empty());
  CHECK(a["by_article"][0]["article"] == "refund");
  CHECK(a["by_article"][0]["shown"] == 5);
  CHECK(a["by_article"][0]["resolved"] == 4);
  CHECK(a["by_article"][0]["resolution_rate"] == 0.8);
  // Version 2, published at the start of day 1: day 0 before it, day 1 after.
  REQUIRE(a["changes"].size() == 2);
  CHECK(a["changes"][0]["version"] == 2);
  CHECK(a["changes"][0]["before"]["resolution_rate"] == 0.25);
  CHECK(a["changes"][0]["after"]["resolution_rate"] == 0.75);
  CHECK(a["changes"][0]["after"]["gap_rate"] == 0.25);
  CHECK(a["changes"][1]["before"]["queries"] == 0);
  CHECK(a["changes"][1]["before"]["resolution_rate"].is_null());
}

TEST_CASE("a question counts as abandoned only while nothing else became of it") {
  SignalLog log;
  const std::string shown = "[\"refund\"]";
  for (const std::string id : {"left", "back", "rejected"}) {
    log.Add("query", kDay0, id, "q " + id, "/billing");
    log.Add("shown", kDay0, id, "q " + id, "/billing", shown);
    log.Add("abandoned", kDay0 + kMinute, id, "q " + id, "/billing", shown);
  }
  // The customer came back to the tab and said Yes; another said No after leaving.
  log.Add("resolved", kDay0 + 2 * kMinute, "back", "q back", "/billing", shown, "refund");
  log.Add("not_helpful", kDay0 + 2 * kMinute, "rejected", "q rejected", "/billing", shown,
          "refund");
  log.Add("query", kDay0, "unrated", "q unrated", "/billing");
  log.Add("shown", kDay0, "unrated", "q unrated", "/billing", shown);
  log.Flush();
  auto outcomes = log.store()->QueryOutcomes("acme");
  REQUIRE(outcomes.ok());
  REQUIRE(outcomes.value().size() == 4);
  int left = 0;
  for (const QueryOutcome& q : outcomes.value()) {
    CHECK(q.abandoned == (q.query_id != "unrated"));
    left += q.Left();
    if (q.Left()) CHECK(q.query_id == "left");
  }
  CHECK(left == 1);
  const nlohmann::json a = OutcomeAnalytics(outcomes.value(), {});
  CHECK(a["rates"]["abandoned"] == 1);
  CHECK(a["rates"]["abandonment_rate"] == 0.25);
  CHECK(a["by_day"][0]["abandoned"] == 1);
  CHECK(a["by_route"][0]["abandonment_rate"] == 0.25);
}
