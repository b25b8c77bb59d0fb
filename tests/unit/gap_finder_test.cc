#include "gap_finder.h"

#include <doctest/doctest.h>

#include "signal_log.h"

using namespace loopwise;
using namespace loopwise::testing;

namespace {

const std::vector<std::string> kExportQuestions = {
    "export my data as csv",  "download a csv report",     "get a spreadsheet file",
    "export the report file", "download my data",          "csv export of the report",
    "spreadsheet download",   "export data to a csv file", "download report as spreadsheet",
    "get my data as a file",
};
const std::vector<std::string> kRefundQuestions = {
    "refund my payment",
    "money back for the charge",
    "refund the card payment",
    "billing refund",
};

// A declined question: the widget showed nothing, and the customer asked for a human.
void Decline(SignalLog* log, int64_t ts, const std::string& id, const std::string& text,
             const std::string& route) {
  log->Add("query", ts, id, text, route);
  log->Add("shown", ts, id, text, route, "[]");
  log->Add("escalated", ts + 1000, id, text, route);
}

const Gap* Find(const std::vector<Gap>& gaps, const std::string& word) {
  for (const Gap& g : gaps) {
    if (g.label.find(word) != std::string::npos) return &g;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("declined and escalated questions cluster into gaps ranked by volume") {
  const Engine engine = ToyEngine();
  SignalLog log;
  int n = 0;
  for (int round = 0; round < 3; ++round) {
    for (const auto& q : kExportQuestions) {
      Decline(&log, kDay0 + n * kMinute, "e" + std::to_string(n), q,
              n % 3 ? "/projects/:id/reports" : "/projects");
      ++n;
    }
  }
  for (const auto& q : kRefundQuestions) {
    // Not helpful: an answer was shown, and it did not help.
    log.Add("shown", kDay0 + n * kMinute, "r" + std::to_string(n), q, "/billing", "[\"refund\"]");
    log.Add("not_helpful", kDay0 + n * kMinute + 1, "r" + std::to_string(n), q, "/billing",
            "[\"refund\"]", "refund");
    ++n;
  }
  // Answered and resolved questions are not gaps.
  log.Add("shown", kDay0, "ok", "reset my password", "/login", "[\"reset-password\"]");
  log.Add("resolved", kDay0 + 1, "ok", "reset my password", "/login", "[\"reset-password\"]",
          "reset-password");
  log.Flush();

  auto update = UpdateGaps(log.store(), "acme", engine, kDay0 + kDay);
  REQUIRE(update.ok());
  CHECK(update.value().questions == 34);  // 30 export + 4 refund, each once despite 2-3 events
  auto gaps = ListGaps(log.store(), "acme");
  REQUIRE(gaps.ok());
  REQUIRE(gaps.value().size() >= 2);
  const Gap& top = gaps.value()[0];
  CHECK(top.status == "open");
  // The top gap is the export questions, all of them.
  int export_words = 0;
  for (const char* w : {"export", "csv", "download", "spreadsheet", "data", "file"}) {
    export_words += top.label.find(w) != std::string::npos;
  }
  CHECK(export_words > 0);
  CHECK(top.queries == 30);
  CHECK(top.sessions == 30);
  CHECK(top.examples.size() >= 2);
  CHECK(top.examples.size() <= 5);
  REQUIRE(top.pages.size() == 2);
  CHECK(top.pages[0].route == "/projects/:id/reports");
  CHECK(top.pages[0].count == 20);
  CHECK(top.first_seen_ms == kDay0);
  CHECK(top.last_seen_ms == kDay0 + 29 * kMinute);
  const Gap* refund = Find(gaps.value(), "refund");
  REQUIRE(refund != nullptr);
  CHECK(refund->queries == 4);
  CHECK(refund->score < top.score);

  const nlohmann::json j = GapJson(top);
  for (const char* field : {"id", "label", "status", "queries", "sessions", "score", "examples",
                            "pages", "first_seen", "last_seen"}) {
    CHECK(j.contains(field));
  }
  CHECK(j["first_seen"] == "2026-01-05T00:00:00.000Z");
}

TEST_CASE("each update reads only new signals, and the state survives a restart") {
  const Engine engine = ToyEngine();
  SignalLog log;
  for (int i = 0; i < 5; ++i) {
    Decline(&log, kDay0 + i * kMinute, "a" + std::to_string(i), kExportQuestions[i], "/reports");
  }
  log.Flush();
  REQUIRE(UpdateGaps(log.store(), "acme", engine, kDay0 + kHour).ok());
  log.Open();
  auto again = UpdateGaps(log.store(), "acme", engine, kDay0 + kHour);
  REQUIRE(again.ok());
  CHECK(again.value().signals == 0);
  // The escalation of an already counted question adds nothing; a new question adds one.
  log.Add("escalated", kDay0 + 2 * kHour, "a0", kExportQuestions[0], "/reports");
  Decline(&log, kDay0 + 2 * kHour, "a9", kExportQuestions[9], "/reports");
  log.Flush();
  auto update = UpdateGaps(log.store(), "acme", engine, kDay0 + 3 * kHour);
  REQUIRE(update.ok());
  CHECK(update.value().questions == 1);
  auto gaps = ListGaps(log.store(), "acme");
  REQUIRE(gaps.ok());
  REQUIRE(!gaps.value().empty());
  CHECK(gaps.value()[0].queries == 6);
}

TEST_CASE("a gap closes when an article starts resolving its questions, and reopens") {
  const Engine engine = ToyEngine();
  SignalLog log;
  int n = 0;
  for (; n < 6; ++n) {
    Decline(&log, kDay0 + n * kMinute, "q" + std::to_string(n), kExportQuestions[n], "/reports");
  }
  log.Flush();
  REQUIRE(UpdateGaps(log.store(), "acme", engine, kDay0 + kHour).ok());
  auto gaps = ListGaps(log.store(), "acme");
  REQUIRE(gaps.ok());
  REQUIRE(gaps.value().size() == 1);
  CHECK(gaps.value()[0].status == "open");

  // A new article now resolves the same questions, more often than they were declined.
  for (int i = 0; i < 8; ++i, ++n) {
    const std::string id = "q" + std::to_string(n);
    const std::string& text = kExportQuestions[i % kExportQuestions.size()];
    log.Add("shown", kDay0 + kDay + i * kMinute, id, text, "/reports", "[\"export-data\"]");
    log.Add("resolved", kDay0 + kDay + i * kMinute + 1, id, text, "/reports", "[\"export-data\"]",
            "export-data");
  }
  log.Flush();
  auto update = UpdateGaps(log.store(), "acme", engine, kDay0 + kDay + kHour);
  REQUIRE(update.ok());
  CHECK(update.value().closed == 1);
  gaps = ListGaps(log.store(), "acme");
  REQUIRE(gaps.ok());
  CHECK(gaps.value()[0].status == "closed");

  // Weeks later the article is gone and declines return, far more than resolutions.
  for (int i = 0; i < 20; ++i, ++n) {
    Decline(&log, kDay0 + 30 * kDay + i * kMinute, "q" + std::to_string(n),
            kExportQuestions[i % kExportQuestions.size()], "/reports");
  }
  log.Flush();
  update = UpdateGaps(log.store(), "acme", engine, kDay0 + 30 * kDay + kHour);
  REQUIRE(update.ok());
  CHECK(update.value().opened == 1);
  gaps = ListGaps(log.store(), "acme");
  REQUIRE(gaps.ok());
  CHECK(gaps.value()[0].status == "open");
}

TEST_CASE("agents' resolutions: no article confirms a gap, an article counts towards closing it") {
  const Engine engine = ToyEngine();
  SignalLog log;
  REQUIRE(log.store()->InsertSite({"acme", "pk_acme", "hash", {}, "review"}).ok());
  for (int n = 0; n < 6; ++n) {
    Decline(&log, kDay0 + n * kMinute, "q" + std::to_string(n), kExportQuestions[n], "/reports");
  }
  log.Flush();
  REQUIRE(UpdateGaps(log.store(), "acme", engine, kDay0 + kHour).ok());
  auto listed = ListGaps(log.store(), "acme");
  REQUIRE(listed.ok());
  REQUIRE(listed.value().size() == 1);
  const int64_t id = listed.value()[0].id;
  auto ids = GapQuestionIds(log.store(), "acme", id);
  REQUIRE(ids.ok());
  REQUIRE(ids.value());
  CHECK(*ids.value() == std::vector<std::string>{"q0", "q1", "q2", "q3", "q4", "q5"});
  ids = GapQuestionIds(log.store(), "acme", id + 1);
  REQUIRE(ids.ok());
  CHECK(!ids.value());

  // By query_id, and by words alone when the question's id is not known.
  REQUIRE(log.store()
              ->AddResolutions("acme", {{"", std::nullopt, "q0"},
                                        {"", std::nullopt, "q1"},
                                        {kExportQuestions[7], std::nullopt, ""},
                                        {"", std::nullopt, "unknown-question"}})
              .ok());
  auto update = UpdateGaps(log.store(), "acme", engine, kDay0 + 2 * kHour);
  REQUIRE(update.ok());
  CHECK(update.value().confirmed == 3);
  CHECK(update.value().resolved == 0);
  auto gaps = ListGaps(log.store(), "acme");
  REQUIRE(gaps.ok());
  REQUIRE(gaps.value().size() == 1);
  CHECK(gaps.value()[0].confirmed == 3);
  CHECK(GapJson(gaps.value()[0])["confirmed"] == 3);
  CHECK(gaps.value()[0].status == "open");
  // Read once: a second update finds nothing new; a question counts once, after a restart too,
  // and is no longer one of the gap's to mark.
  log.Open();
  update = UpdateGaps(log.store(), "acme", engine, kDay0 + 3 * kHour);
  REQUIRE(update.ok());
  CHECK(update.value().confirmed == 0);
  REQUIRE(log.store()->AddResolutions("acme", {{"", std::nullopt, "q0"}}).ok());
  update = UpdateGaps(log.store(), "acme", engine, kDay0 + 3 * kHour);
  REQUIRE(update.ok());
  CHECK(update.value().confirmed == 0);
  ids = GapQuestionIds(log.store(), "acme", id);
  REQUIRE(ids.ok());
  REQUIRE(ids.value());
  CHECK(*ids.value() == std::vector<std::string>{"q2", "q3", "q4", "q5"});

  // Agents resolve the rest with an article after all: answerable questions, so the gap closes.
  std::vector<ResolvedQuery> answered;
  for (int n = 2; n < 6; ++n) answered.push_back({"", "export-data", "q" + std::to_string(n)});
  answered.push_back({kExportQuestions[8], "export-data", ""});
  answered.push_back({kExportQuestions[9], "export-data", ""});
  REQUIRE(log.store()->AddResolutions("acme", answered).ok());
  update = UpdateGaps(log.store(), "acme", engine, kDay0 + 4 * kHour);
  REQUIRE(update.ok());
  CHECK(update.value().resolved == 6);
  CHECK(update.value().closed == 1);
  gaps = ListGaps(log.store(), "acme");
  REQUIRE(gaps.ok());
  CHECK(gaps.value()[0].status == "closed");
  CHECK(gaps.value()[0].confirmed == 3);
}

TEST_CASE("recent gaps outrank old ones of the same volume") {
  const Engine engine = ToyEngine();
  SignalLog log;
  for (int i = 0; i < 4; ++i) {
    Decline(&log, kDay0 + i * kMinute, "old" + std::to_string(i), kRefundQuestions[i], "/billing");
    Decline(&log, kDay0 + 28 * kDay + i * kMinute, "new" + std::to_string(i), kExportQuestions[i],
            "/reports");
  }
  log.Flush();
  REQUIRE(UpdateGaps(log.store(), "acme", engine, kDay0 + 28 * kDay + kHour).ok());
  auto gaps = ListGaps(log.store(), "acme");
  REQUIRE(gaps.ok());
  REQUIRE(gaps.value().size() >= 2);
  CHECK(gaps.value()[0].first_seen_ms == kDay0 + 28 * kDay);
  CHECK(gaps.value()[0].score > 4 * gaps.value().back().score);
}

TEST_CASE("stored gaps that do not read give an error naming the site, and are kept as they are") {
  const Engine engine = ToyEngine();
  SignalLog log;
  const std::pair<std::string, std::string> cases[] = {
      {"{\"format\": 1, \"cursor\": \"x\"}", "are unreadable"},
      {"not json", "are unreadable"},
      {"{\"format\": 2}", "are in a format this loopwise does not read; upgrade loopwise"},
  };
  for (const auto& [doc, expected] : cases) {
    CAPTURE(doc);
    REQUIRE(log.store()->PutDocument("acme", "gaps", doc).ok());
    auto update = UpdateGaps(log.store(), "acme", engine, kDay0 + kHour);
    REQUIRE_FALSE(update.ok());
    CHECK(update.status().message().find("the stored gaps of site \"acme\" " + expected) !=
          std::string::npos);
    CHECK(log.store()->Document("acme", "gaps").value() == std::optional<std::string>(doc));
  }
}
