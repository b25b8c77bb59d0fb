#include "alerts.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "logger.h"
#include "utf8.h"

namespace loopwise {
namespace {

using nlohmann::json;

constexpr const char* kWebhooksDocument = "webhooks";
constexpr const char* kDeliveriesDocument = "alert_deliveries";
constexpr size_t kMaxWebhooks = 10;
constexpr size_t kMaxUrlBytes = 2048;

// "https://hooks.example.com/a/b?c" -> {"https://hooks.example.com", "/a/b?c"}; false when the
// URL is not http(s) with a host.
bool SplitUrl(const std::string& url, std::string* origin, std::string* path) {
  std::string lower = url.substr(0, 8);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t host_start;
  if (lower.compare(0, 7, "http://") == 0) {
    host_start = 7;
  } else if (lower.compare(0, 8, "https://") == 0) {
    host_start = 8;
  } else {
    return false;
  }
  const size_t slash = url.find_first_of("/?#", host_start);
  const std::string host =
      url.substr(host_start, slash == std::string::npos ? std::string::npos : slash - host_start);
  if (host.empty() || host.find_first_of(" @\t\r\n") != std::string::npos) return false;
  *origin = url.substr(0, host_start) + host;
  *path = slash == std::string::npos ? "/" : url.substr(slash);
  if (path->empty() || (*path)[0] != '/') *path = "/" + *path;
  const size_t hash = path->find('#');
  if (hash != std::string::npos) path->resize(hash);
  return true;
}

std::string Key(int64_t incident, const Webhook& w) {
  return std::to_string(incident) + " " + w.format + " " + w.url;
}

std::string Quote(const std::string& text) {
  return "\u201c" + text + "\u201d";
}

// One line saying what happened, for titles and message texts.
std::string Summary(const std::string& site, const Incident& i) {
  std::string what =
      i.label.compare(0, 13, "Questions on ") == 0 ? i.label : "Questions like " + Quote(i.label);
  char ratio[64];
  std::snprintf(ratio, sizeof ratio, "%lld questions against %.1f expected",
                static_cast<long long>(i.count), i.baseline);
  return "Spike on " + site + ": " + what + " (" + ratio + ")";
}

std::string PagesText(const Incident& i) {
  std::string out;
  for (const GapPage& p : i.pages) {
    out += (out.empty() ? "" : ", ") + p.route + " (" + std::to_string(p.count) + ")";
  }
  return out.empty() ? "none recorded" : out;
}

}  // namespace

Result<std::vector<Webhook>> ParseWebhooks(const json& list) {
  if (!list.is_array()) {
    return Status::Error("\"webhooks\" must be a list of {\"url\", \"format\"} objects");
  }
  if (list.size() > kMaxWebhooks) {
    return Status::Error("a site may have at most " + std::to_string(kMaxWebhooks) +
                         " webhooks (got " + std::to_string(list.size()) + ")");
  }
  std::vector<Webhook> out;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string where = "webhooks[" + std::to_string(i) + "]";
    const json& w = list[i];
    if (!w.is_object()) return Status::Error(where + " must be an object {\"url\", \"format\"}");
    Webhook hook;
    auto url = w.find("url");
    if (url == w.end() || !url->is_string()) {
      return Status::Error(where + ".url must be a string (an http:// or https:// URL)");
    }
    hook.url = url->get<std::string>();
    std::string origin, path;
    if (hook.url.size() > kMaxUrlBytes || !SplitUrl(hook.url, &origin, &path)) {
      return Status::Error(where +
                           ".url must be an http:// or https:// URL with a host, of at most " +
                           std::to_string(kMaxUrlBytes) + " bytes");
    }
    if (auto format = w.find("format"); format != w.end()) {
      if (!format->is_string()) {
        return Status::Error(where + ".format must be \"json\", \"slack\" or \"github\"");
      }
      hook.format = format->get<std::string>();
    }
    if (hook.format != "json" && hook.format != "slack" && hook.format != "github") {
      return Status::Error(where + ".format must be \"json\", \"slack\" or \"github\" (got \"" +
                           hook.format.substr(0, 32) + "\")");
    }
    out.push_back(std::move(hook));
  }
  return out;
}

json WebhooksJson(const std::vector<Webhook>& webhooks) {
  json out = json::array();
  for (const Webhook& w : webhooks) out.push_back({{"url", w.url}, {"format", w.format}});
  return out;
}

Result<std::vector<Webhook>> LoadWebhooks(Store* store, const std::string& site) {
  auto doc = store->Document(site, kWebhooksDocument);
  if (!doc.ok()) return doc.status();
  if (!doc.value()) return std::vector<Webhook>();
  const json list = json::parse(*doc.value(), nullptr, false);
  auto parsed = ParseWebhooks(list);
  if (!parsed.ok()) {
    return Status::Error("the stored webhooks of site \"" + site +
                         "\" are unreadable: " + parsed.status().message());
  }
  return parsed;
}

Status SaveWebhooks(Store* store, const std::string& site, const std::vector<Webhook>& webhooks) {
  return store->PutDocument(site, kWebhooksDocument, WebhooksJson(webhooks).dump());
}

json AlertPayload(const std::string& site, const Incident& incident, const std::string& format) {
  const std::string summary = Summary(site, incident);
  if (format == "slack") {
    std::string examples;
    for (const std::string& e : incident.examples) examples += "\n\u2022 " + e;
    json blocks = json::array();
    blocks.push_back({{"type", "header"},
                      {"text", {{"type", "plain_text"}, {"text", Utf8Prefix(summary, 150)}}}});
    blocks.push_back(
        {{"type", "section"},
         {"fields",
          {{{"type", "mrkdwn"}, {"text", "*Questions*\n" + std::to_string(incident.count)}},
           {{"type", "mrkdwn"}, {"text", "*Expected*\n" + std::to_string(incident.baseline)}},
           {{"type", "mrkdwn"}, {"text", "*Pages*\n" + PagesText(incident)}},
           {{"type", "mrkdwn"}, {"text", "*First seen*\n" + IsoTime(incident.first_seen_ms)}}}}});
    if (!examples.empty()) {
      blocks.push_back(
          {{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", "*Examples*" + examples}}}});
    }
    blocks.push_back(
        {{"type", "context"},
         {"elements",
          {{{"type", "mrkdwn"},
            {"text", "Loopwise incident " + std::to_string(incident.id) + " on " + site}}}}});
    return {{"text", summary}, {"blocks", blocks}};
  }
  if (format == "github") {
    std::string body = "Loopwise saw a spike in customers' help questions on **" + site +
                       "**: a bug or an outage may be showing up in them.\n\n";
    body += "| | |\n| --- | --- |\n";
    body += "| Questions | " + std::to_string(incident.count) + " |\n";
    char expected[32];
    std::snprintf(expected, sizeof expected, "%.1f", incident.baseline);
    body += std::string("| Expected | ") + expected + " |\n";
    body += "| First seen | " + IsoTime(incident.first_seen_ms) + " |\n";
    body += "| Pages | " + PagesText(incident) + " |\n";
    if (!incident.examples.empty()) {
      body += "\nWhat customers asked (scrubbed of personal data):\n\n";
      for (const std::string& e : incident.examples) body += "> " + e + "\n>\n";
      body.resize(body.size() - 2);
    }
    body += "\nLoopwise incident " + std::to_string(incident.id) + ".\n";
    return {
        {"title", Utf8Prefix(summary, 256)}, {"body", body}, {"labels", {"loopwise", "incident"}}};
  }
  return {{"event", "incident.opened"}, {"site", site}, {"incident", IncidentJson(incident)}};
}

Status PostJson(const std::string& url, const std::string& body) {
  std::string origin, path;
  if (!SplitUrl(url, &origin, &path)) return Status::Error("not an http(s) URL: " + url);
  httplib::Client client(origin);
  client.set_connection_timeout(5);
  client.set_read_timeout(5);
  client.set_write_timeout(5);
  auto res = client.Post(path, body, "application/json");
  if (!res) {
    return Status::Error("POST " + origin + " failed (" + httplib::to_string(res.error()) + ")");
  }
  if (res->status < 200 || res->status >= 300) {
    return Status::Error("POST " + origin + " answered " + std::to_string(res->status));
  }
  return Status::Ok();
}

Result<AlertRun> DeliverAlerts(Store* store, const std::string& site, int64_t now_ms,
                               const AlertSender& send, const AlertOptions& options) {
  auto webhooks = LoadWebhooks(store, site);
  if (!webhooks.ok()) return webhooks.status();
  auto incidents = ListIncidents(store, site);
  if (!incidents.ok()) return incidents.status();
  auto doc = store->Document(site, kDeliveriesDocument);
  if (!doc.ok()) return doc.status();
  json deliveries = doc.value() ? json::parse(*doc.value(), nullptr, false) : json::object();
  if (!deliveries.is_object()) deliveries = json::object();

  AlertRun run;
  json kept = json::object();
  for (const Incident& incident : incidents.value()) {
    for (const Webhook& hook : webhooks.value()) {
      const std::string key = Key(incident.id, hook);
      json record = deliveries.contains(key) && deliveries[key].is_object()
                        ? deliveries[key]
                        : json{{"delivered", false}, {"attempts", 0}, {"next_ms", 0}};
      const bool delivered = record.value("delivered", false);
      const int attempts = record.value("attempts", 0);
      // Only an open incident is worth an alert; what was never delivered for a resolved one is
      // dropped, and records of incidents no longer kept are forgotten.
      if (incident.status == "open" && !delivered && attempts < options.max_attempts &&
          record.value("next_ms", int64_t{0}) <= now_ms) {
        Status s = send(hook.url, AlertPayload(site, incident, hook.format)
                                      .dump(-1, ' ', false, json::error_handler_t::replace));
        record["attempts"] = attempts + 1;
        if (s.ok()) {
          record["delivered"] = true;
          record["delivered_ms"] = now_ms;
          ++run.sent;
          LogInfo("alert sent",
                  {{"site", site}, {"incident", incident.id}, {"format", hook.format}});
        } else {
          int64_t wait = options.first_retry_ms;
          for (int i = 0; i < attempts && wait < options.max_retry_ms; ++i) wait *= 2;
          record["next_ms"] = now_ms + std::min(wait, options.max_retry_ms);
          record["error"] = s.message();
          ++run.failed;
          LogWarning("alert not delivered", {{"site", site},
                                             {"incident", incident.id},
                                             {"attempt", attempts + 1},
                                             {"error", s.message()}});
        }
        // Remembered at once: a crash right after a delivery must not send it again.
        deliveries[key] = record;
        if (Status st = store->PutDocument(site, kDeliveriesDocument, deliveries.dump());
            !st.ok()) {
          return st;
        }
      }
      if (incident.status == "open" && !record.value("delivered", false) &&
          record.value("attempts", 0) < options.max_attempts) {
        ++run.pending;
      }
      if (record.value("attempts", 0) > 0) kept[key] = record;
    }
  }
  if (kept != deliveries) {
    if (Status s = store->PutDocument(site, kDeliveriesDocument, kept.dump()); !s.ok()) return s;
  }
  return run;
}

}  // namespace loopwise
