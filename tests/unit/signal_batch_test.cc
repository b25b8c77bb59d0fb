#include "signal_batch.h"

#include <doctest/doctest.h>

#include <string>

#include "customer_identity.h"

using loopwise::JsonDepth;
using loopwise::ParseSignalBatch;
using loopwise::SignalBatch;
using loopwise::SignalLimits;
using loopwise::SignalRejection;

namespace {

SignalRejection Refuse(const std::string& body, SignalLimits limits = {}) {
  SignalBatch batch;
  SignalRejection r;
  CHECK_FALSE(ParseSignalBatch(body, "acme", limits, &batch, &r));
  return r;
}

}  // namespace

TEST_CASE("a valid batch is parsed, scrubbed and keeps its fields") {
  SignalBatch batch;
  SignalRejection r;
  const std::string body = R"({"batch_id": "5f0c-11", "extra": 1, "events": [
    {"type": "query", "ts": 1700000000000, "session": "s1", "query_id": "q1",
     "query": "mail me at jane@example.com", "bundle": "3",
     "context": {"route": "/billing", "ip": "10.0.0.1", "n": 2, "pro": true},
     "shown": ["a", "b"], "confidence": 0.5},
    {"type": "resolved", "ts": 1700000000001, "article": "a"}]})";
  REQUIRE(ParseSignalBatch(body, "acme", {}, &batch, &r));
  CHECK(batch.site == "acme");
  CHECK(batch.batch_id == "5f0c-11");
  REQUIRE(batch.events.size() == 2);
  CHECK(batch.events[0].query == "mail me at [email]");
  CHECK(batch.events[0].context_json == R"({"ip":"[ip]","n":2,"pro":true,"route":"/billing"})");
  CHECK(batch.events[0].shown_json == R"(["a","b"])");
  CHECK(*batch.events[0].confidence == doctest::Approx(0.5));
  CHECK(batch.events[1].article == "a");
  CHECK_FALSE(batch.events[1].confidence.has_value());
  CHECK(batch.events[1].context_json == "{}");
}

TEST_CASE("every limit and type rule refuses with its code and names the field") {
  CHECK(Refuse("{").code == "invalid_json");
  CHECK(Refuse("\"x\"").code == "invalid_batch");
  CHECK(Refuse(R"({"batch_id": "", "events": [{"type": "query", "ts": 1}]})").code ==
        "invalid_batch");
  CHECK(Refuse(R"({"batch_id": "a", "events": []})").code == "invalid_batch");
  auto r = Refuse(
      R"({"batch_id": "a", "events": [{"type": "query", "ts": 1}, {"type": "x", "ts": 1}]})");
  CHECK(r.code == "invalid_signal");
  CHECK(r.message.find("events[1].type") != std::string::npos);
  r = Refuse(R"({"batch_id": "a", "events": [{"type": "query", "ts": -5}]})");
  CHECK(r.message.find("events[0].ts") != std::string::npos);
  CHECK(Refuse(R"({"batch_id": "a", "events": [{"type": "query"}]})").code == "invalid_signal");
  CHECK(Refuse(R"({"batch_id": "a", "events": [{"type": "query", "ts": 1, "session": 3}]})").code ==
        "invalid_signal");
  CHECK(
      Refuse(R"({"batch_id": "a", "events": [{"type": "query", "ts": 1, "context": []}]})").code ==
      "invalid_signal");
  CHECK(Refuse(R"({"batch_id": "a", "events": [{"type": "query", "ts": 1, "confidence": "high"}]})")
            .code == "invalid_signal");
  // A NUL character, escaped in JSON, in a text field, a context value or key, or a shown id.
  for (const char* nul : {R"("query": "a\u0000b")", R"("context": {"route": "/x\u0000"})",
                          R"("context": {"a\u0000": 1})", R"("shown": ["x\u0000"])"}) {
    r = Refuse(std::string(R"({"batch_id": "a", "events": [{"type": "query", "ts": 1, )") + nul +
               "}]}");
    CHECK(r.code == "invalid_signal");
    CHECK(r.message.find("NUL character") != std::string::npos);
  }

  SignalLimits small;
  small.max_events = 2;
  small.max_string_bytes = 4;
  small.max_body_bytes = 200;
  CHECK(Refuse(R"({"batch_id": "a", "events": [{"type": "query", "ts": 1, "query": "hello"}]})",
               small)
            .code == "string_too_long");
  r = Refuse(
      R"({"batch_id": "a", "events": [{"type":"query","ts":1},{"type":"query","ts":1},{"type":"query","ts":1}]})",
      small);
  CHECK(r.code == "too_many_events");
  CHECK(r.http_status == 413);
  r = Refuse(std::string(201, ' '), small);
  CHECK(r.code == "body_too_large");
  CHECK(r.http_status == 413);
  CHECK(Refuse("[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]").code == "too_deep");
  CHECK(Refuse("{\"batch_id\": \"a\", \"events\": [{\"type\": \"query\", \"ts\": 1, \"query\": "
               "\"\xff\"}]}")
            .code == "invalid_json");
}

TEST_CASE("a verified customer is one session a day; the id is dropped, a bad signature ignored") {
  loopwise::Site site;
  site.name = "acme";
  site.identity = "optional";
  site.identity_secret = "id_secret";
  const std::string sig = loopwise::CustomerSignature(site.identity_secret, "cust-1");
  auto parse = [&](const std::string& events) {
    SignalBatch batch;
    SignalRejection r;
    REQUIRE(ParseSignalBatch(R"({"batch_id": "b", "events": [)" + events + "]}", "acme", {}, &batch,
                             &r));
    return batch;
  };
  const std::string two = R"({"type": "query", "ts": 1, "session": "tab-a", "customer": "cust-1",
     "customer_signature": ")" +
                          sig + R"("},
    {"type": "query", "ts": 2, "session": "tab-b", "customer": "cust-1",
     "customer_signature": ")" +
                          sig + R"("},
    {"type": "query", "ts": 3, "session": "tab-c", "customer": "cust-1",
     "customer_signature": "00"})";
  const int64_t day = 86'400'000;
  SignalBatch batch = parse(two);
  CHECK(loopwise::VerifyCustomers(site, 20 * day + 5, &batch) == 1);
  const std::string first = batch.events[0].session;
  CHECK(loopwise::IsCustomerSession(first));
  CHECK(first.find("cust-1") == std::string::npos);
  CHECK(batch.events[1].session == first);
  CHECK(batch.events[2].session == "tab-c");
  for (const auto& e : batch.events) CHECK(e.customer.empty());
  for (const auto& e : batch.events) CHECK(e.customer_signature.empty());
  // The next day, another session; with identity off, the claim is ignored.
  batch = parse(two);
  CHECK(loopwise::VerifyCustomers(site, 21 * day, &batch) == 1);
  CHECK(loopwise::IsCustomerSession(batch.events[0].session));
  CHECK(batch.events[0].session != first);
  site.identity = "off";
  batch = parse(two);
  CHECK(loopwise::VerifyCustomers(site, 20 * day, &batch) == 0);
  CHECK(batch.events[0].session == "tab-a");
  CHECK(batch.events[0].customer.empty());
  // Nobody may claim such a session outright.
  const SignalRejection r =
      Refuse(R"({"batch_id": "b", "events": [{"type": "query", "ts": 1, "session": ")" + first +
             R"("}]})");
  CHECK(r.code == "invalid_signal");
  CHECK(r.message.find("events[0].session may not start with \"customer:\"") == 0);
  CHECK(loopwise::CheckIdentityMode("required").ok());
  CHECK_FALSE(loopwise::CheckIdentityMode("on").ok());
}

TEST_CASE("JSON depth counts brackets outside strings only") {
  CHECK(JsonDepth("{}", 10) == 1);
  CHECK(JsonDepth(R"({"a": [1, {"b": []}]})", 10) == 4);
  CHECK(JsonDepth(R"({"a": "[[[[[[\"[["})", 10) == 1);
  CHECK(JsonDepth(std::string(100000, '['), 8) == 9);  // stops early
}
