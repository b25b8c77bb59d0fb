#pragma once
// Webhook alerts for incidents: a site's operators configure up to 10 webhooks, each a URL and a
// format, and every newly opened incident is POSTed to each of them once:
//
//   "json"    {"event": "incident.opened", "site", "incident": {...as GET .../incidents}}
//   "slack"   a Slack-compatible message {"text", "blocks"} (incoming webhooks, Mattermost...)
//   "github"  a GitHub-issue-shaped payload {"title", "body", "labels"}, for a bug ticket
//
// A failed delivery (network error, timeout, non-2xx answer) is retried with exponential backoff
// until it succeeds, the incident resolves, or the attempts run out. Deliveries are remembered in
// the store, so a restart neither resends what was delivered nor forgets what is pending.

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/status.h"
#include "incident_detector.h"
#include "store.h"

namespace loopwise {

struct Webhook {
  std::string url;              // http:// or https://
  std::string format = "json";  // "json", "slack" or "github"
};

// Reads a webhook list ([{"url", "format"}, ...]); fails with a sentence naming the entry
// ("webhooks[1].format must be ...") on anything else.
Result<std::vector<Webhook>> ParseWebhooks(const nlohmann::json& list);
nlohmann::json WebhooksJson(const std::vector<Webhook>& webhooks);

// A site's webhooks (none until set).
Result<std::vector<Webhook>> LoadWebhooks(Store* store, const std::string& site);
Status SaveWebhooks(Store* store, const std::string& site, const std::vector<Webhook>& webhooks);

// The JSON body POSTed for `incident` of `site` in `format`.
nlohmann::json AlertPayload(const std::string& site, const Incident& incident,
                            const std::string& format);

// Sends one alert: POSTs `body` (JSON) to `url`; ok only on a 2xx answer, else a sentence.
using AlertSender = std::function<Status(const std::string& url, const std::string& body)>;
// The real sender: HTTP(S) with 5-second connect and read timeouts.
Status PostJson(const std::string& url, const std::string& body);

struct AlertOptions {
  int64_t first_retry_ms = 2000;          // wait after the first failure, doubled after each
  int64_t max_retry_ms = 10 * 60 * 1000;  // longest wait between attempts
  int max_attempts = 12;
};

struct AlertRun {
  size_t sent = 0;     // delivered by this run
  size_t failed = 0;   // attempts that failed in this run
  size_t pending = 0;  // still to be delivered (waiting for a retry)
};

// Delivers the site's open incidents to its webhooks: every (incident, webhook) not yet delivered
// whose next attempt is due by `now_ms` is sent with `send`, and the outcome stored. Fails only
// when the store does.
Result<AlertRun> DeliverAlerts(Store* store, const std::string& site, int64_t now_ms,
                               const AlertSender& send, const AlertOptions& options = {});

}  // namespace loopwise
