#include "alerts.h"

#include <doctest/doctest.h>

#include "signal_log.h"

using namespace loopwise;
using namespace loopwise::testing;
using nlohmann::json;

namespace {

Incident SampleIncident() {
  Incident i;
  i.id = 7;
  i.status = "open";
  i.label = "checkout button does nothing";
  i.route = "/billing";
  i.count = 42;
  i.baseline = 3.5;
  i.first_seen_ms = kDay0 + 14 * kHour;
  i.last_seen_ms = kDay0 + 14 * kHour + 10 * kMinute;
  i.examples = {"checkout button does nothing", "cannot pay, the button is dead"};
  i.pages = {{"/billing", 40}, {"/projects/:id", 2}};
  return i;
}

// Opens an incident the way the detector stores it, so DeliverAlerts finds it.
void StoreIncident(Store* store, const Incident& i) {
  json incident = {{"id", i.id},
                   {"status", i.status},
                   {"label", i.label},
                   {"route", i.route},
                   {"count", i.count},
                   {"baseline", i.baseline},
                   {"first_seen_ms", i.first_seen_ms},
                   {"last_seen_ms", i.last_seen_ms},
                   {"resolved_ms", i.resolved_ms},
                   {"examples", i.examples},
                   {"pages", json::array()}};
  json doc = {{"format", 1},
              {"cursor", 0},
              {"fingerprint", json::array()},
              {"clusters", {{"next_id", 1}, {"clusters", json::array()}}},
              {"first_window", -1},
              {"next_window", -1},
              {"keys", json::object()},
              {"incidents", {incident}},
              {"next_incident", i.id + 1}};
  REQUIRE(store->PutDocument("acme", "incidents", doc.dump()).ok());
}

}  // namespace

TEST_CASE("webhooks are checked, entry by entry") {
  auto ok = ParseWebhooks(json::parse(R"([{"url": "https://hooks.slack.com/services/T/B/X",
      "format": "slack"}, {"url": "http://127.0.0.1:9000/hook"}])"));
  REQUIRE(ok.ok());
  CHECK(ok.value().size() == 2);
  CHECK(ok.value()[1].format == "json");
  CHECK(WebhooksJson(ok.value())[0]["format"] == "slack");

  auto bad_format = ParseWebhooks(json::parse(R"([{"url": "https://x.example"},
      {"url": "https://y.example", "format": "teams"}])"));
  REQUIRE(!bad_format.ok());
  CHECK(bad_format.status().message().find("webhooks[1].format") != std::string::npos);
  for (const char* url : {"ftp://x.example/a", "https://", "javascript:alert(1)", "x.example"}) {
    auto bad = ParseWebhooks(json::array({{{"url", url}}}));
    REQUIRE(!bad.ok());
    CHECK(bad.status().message().find("webhooks[0].url") != std::string::npos);
  }
  CHECK(!ParseWebhooks(json::object()).ok());
  CHECK(!ParseWebhooks(json::array({1})).ok());
  json eleven = json::array();
  for (int i = 0; i < 11; ++i) eleven.push_back({{"url", "https://x.example"}});
  CHECK(!ParseWebhooks(eleven).ok());
}

TEST_CASE("alert payloads: generic JSON, a Slack message, a GitHub issue") {
  const Incident i = SampleIncident();
  const json generic = AlertPayload("acme", i, "json");
  CHECK(generic["event"] == "incident.opened");
  CHECK(generic["site"] == "acme");
  CHECK(generic["incident"]["id"] == 7);
  CHECK(generic["incident"]["count"] == 42);
  CHECK(generic["incident"]["first_seen"] == "2026-01-05T14:00:00.000Z");
  CHECK(generic["incident"]["pages"][0]["route"] == "/billing");

  const json slack = AlertPayload("acme", i, "slack");
  REQUIRE(slack["text"].is_string());
  CHECK(slack["text"].get<std::string>().find("checkout button does nothing") != std::string::npos);
  CHECK(slack["text"].get<std::string>().find("42 questions against 3.5 expected") !=
        std::string::npos);
  REQUIRE(slack["blocks"].is_array());
  CHECK(slack["blocks"][0]["type"] == "header");
  CHECK(slack["blocks"][0]["text"]["text"].get<std::string>().size() <= 150);
  CHECK(slack["blocks"].dump().find("cannot pay, the button is dead") != std::string::npos);

  const json github = AlertPayload("acme", i, "github");
  CHECK(github["title"].get<std::string>().find("Spike on acme") == 0);
  CHECK(github["labels"] == json({"loopwise", "incident"}));
  const std::string body = github["body"];
  CHECK(body.find("| Questions | 42 |") != std::string::npos);
  CHECK(body.find("/billing (40)") != std::string::npos);
  CHECK(body.find("> cannot pay, the button is dead") != std::string::npos);
}

TEST_CASE("alert titles are cut between characters, so any language's questions send") {
  Incident i = SampleIncident();
  // Long enough that the Slack header (150 bytes) and the issue title (256) cut inside it.
  std::string cyrillic;
  for (int k = 0; k < 150; ++k) cyrillic += "\u043a";  // two bytes each
  for (const char* lead : {"x", "xx"}) {  // one of the two puts each limit inside a character
    i.label = lead + cyrillic;
    for (const char* format : {"slack", "github", "json"}) {
      CHECK_NOTHROW(AlertPayload("acme", i, format).dump());
    }
    const json slack = AlertPayload("acme", i, "slack");
    CHECK(slack["blocks"][0]["text"]["text"].get<std::string>().size() <= 150);
    CHECK(AlertPayload("acme", i, "github")["title"].get<std::string>().size() <= 256);
  }
}

TEST_CASE("an alert is sent once per open incident, retried with backoff, and survives a restart") {
  SignalLog log;
  REQUIRE(SaveWebhooks(log.store(), "acme",
                       {{"http://127.0.0.1:1/a", "json"}, {"http://127.0.0.1:1/b", "github"}})
              .ok());
  StoreIncident(log.store(), SampleIncident());
  std::vector<std::string> sent;
  bool b_fails = true;
  AlertSender send = [&](const std::string& url, const std::string& body) {
    sent.push_back(url);
    if (url.back() == 'b' && b_fails) return Status::Error("POST answered 500");
    CHECK(json::parse(body).is_object());
    return Status::Ok();
  };
  AlertOptions options;
  options.first_retry_ms = 1000;
  auto run = DeliverAlerts(log.store(), "acme", kDay0, send, options);
  REQUIRE(run.ok());
  CHECK(run.value().sent == 1);
  CHECK(run.value().failed == 1);
  CHECK(run.value().pending == 1);
  CHECK(sent.size() == 2);

  // Before the backoff has passed nothing is retried; after it, only the failed one is.
  run = DeliverAlerts(log.store(), "acme", kDay0 + 500, send, options);
  REQUIRE(run.ok());
  CHECK(sent.size() == 2);
  run = DeliverAlerts(log.store(), "acme", kDay0 + 1000, send, options);
  REQUIRE(run.ok());
  CHECK(sent.size() == 3);
  CHECK(sent.back() == "http://127.0.0.1:1/b");
  // The second failure waits twice as long.
  run = DeliverAlerts(log.store(), "acme", kDay0 + 2500, send, options);
  REQUIRE(run.ok());
  CHECK(sent.size() == 3);

  log.Open();  // a restart remembers what was delivered and what is pending
  b_fails = false;
  run = DeliverAlerts(log.store(), "acme", kDay0 + 3000, send, options);
  REQUIRE(run.ok());
  CHECK(run.value().sent == 1);
  CHECK(run.value().pending == 0);
  CHECK(sent.size() == 4);
  run = DeliverAlerts(log.store(), "acme", kDay0 + kDay, send, options);
  REQUIRE(run.ok());
  CHECK(run.value().sent == 0);
  CHECK(sent.size() == 4);
}

TEST_CASE("a resolved incident is not alerted, and attempts run out") {
  SignalLog log;
  REQUIRE(SaveWebhooks(log.store(), "acme", {{"http://127.0.0.1:1/a", "slack"}}).ok());
  Incident resolved = SampleIncident();
  resolved.status = "resolved";
  StoreIncident(log.store(), resolved);
  int calls = 0;
  AlertSender failing = [&](const std::string&, const std::string&) {
    ++calls;
    return Status::Error("connection refused");
  };
  REQUIRE(DeliverAlerts(log.store(), "acme", kDay0, failing).ok());
  CHECK(calls == 0);

  StoreIncident(log.store(), SampleIncident());
  AlertOptions options;
  options.max_attempts = 3;
  for (int i = 0; i < 10; ++i) {
    REQUIRE(DeliverAlerts(log.store(), "acme", kDay0 + i * kHour, failing, options).ok());
  }
  CHECK(calls == 3);
}
