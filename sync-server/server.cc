#include "server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <thread>
#include <vector>

#include "alerts.h"
#include "analytics.h"
#include "credentials.h"
#include "customer_identity.h"
#include "engine/engine.h"
#include "engine/scrubber.h"
#include "gap_finder.h"
#include "import_formats.h"
#include "incident_detector.h"
#include "learning.h"
#include "logger.h"
#include "metrics.h"
#include "token_bucket.h"

namespace loopwise {
namespace {

using httplib::Request;
using httplib::Response;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

// What the current request matched, for the request log and /metrics (set by the route wrapper,
// read by the logger, both on the connection's thread).
thread_local const char* current_route = nullptr;
thread_local Clock::time_point request_start;
thread_local bool request_started = false;

double Seconds() {
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

void SendJson(Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n",
                  "application/json");
}

void SendError(Response& res, int status, const std::string& code, const std::string& message) {
  SendJson(res, status, {{"error", {{"code", code}, {"message", message}}}});
}

// Refuses a request before its body is read, and closes the connection after the answer: the
// unread body must never be taken for the next request on it. (cpp-httplib 0.11 keeps a
// connection open unless the request asked to close it; a content provider that reports failure
// once it has written the whole answer makes it close.)
void RefuseUnread(Response& res, int status, const std::string& code, const std::string& message) {
  const std::string body = json{{"error", {{"code", code}, {"message", message}}}}.dump() + "\n";
  res.status = status;
  res.set_header("Connection", "close");
  res.set_content_provider(body.size(), "application/json",
                           [body](size_t offset, size_t length, httplib::DataSink& sink) {
                             sink.write(body.data() + offset, length);
                             return false;
                           });
}

const char* DefaultCode(int status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 413:
      return "body_too_large";
    case 414:
      return "uri_too_long";
    case 416:
      return "range_not_satisfiable";
    case 429:
      return "rate_limited";
    case 503:
      return "unavailable";
    default:
      return status >= 500 ? "internal_error" : "bad_request";
  }
}

const char* DefaultMessage(int status) {
  switch (status) {
    case 404:
      return "There is no such route; see the HTTP API in the README.";
    case 413:
      return "The request body is too large.";
    case 414:
      return "The request URI is too long.";
    default:
      return status >= 500 ? "The server failed to answer; try again." : "Bad request.";
  }
}

// "Bearer <token>" -> token; empty when absent or malformed.
std::string BearerToken(const Request& req) {
  const std::string h = req.get_header_value("Authorization");
  if (h.size() <= 7 || strncasecmp(h.c_str(), "Bearer ", 7) != 0) return "";
  const size_t start = h.find_first_not_of(' ', 7);  // RFC 6750 allows more than one space
  return start == std::string::npos ? "" : h.substr(start);
}

json ArticleJson(const Article& a) {
  return {{"id", a.id}, {"title", a.title}, {"body", a.body}, {"tags", a.tags}, {"pages", a.pages}};
}

json VersionJson(const std::string& site, const Version& v) {
  return {
      {"site", site},
      {"version", v.version},
      {"bundle", {{"url", "/v1/bundles/" + v.sha256}, {"sha256", v.sha256}, {"bytes", v.bytes}}},
      {"published_at", IsoTime(v.published_at_ms)}};
}

// The name of an uploaded file (`Content-Disposition: attachment; filename="kb.csv"`, as the
// console sends it): its last path part, when it is plain (letters, digits, ". _-()" and spaces,
// at most 120 characters); else empty.
std::string UploadName(const Request& req) {
  const std::string h = req.get_header_value("Content-Disposition");
  const size_t key = h.find("filename=\"");
  if (key == std::string::npos) return "";
  const size_t start = key + 10, end = h.find('"', start);
  if (end == std::string::npos) return "";
  std::string name = h.substr(start, end - start);
  if (size_t slash = name.find_last_of("/\\"); slash != std::string::npos) name.erase(0, slash + 1);
  const bool plain = std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("._-() ", c) != nullptr;
  });
  if (!plain || name.size() > 120 || name.find_first_not_of('.') == std::string::npos) return "";
  return name;
}

// The name ParseArticles/ParseHistory read the body under: its extension picks the format, and
// errors name it ("kb.csv:4: ..."). An uploaded file keeps its own name (a Markdown article's id
// is then its name, as with `loopwise import`); otherwise "request body" with the extension of
// its Content-Type.
std::string BodyName(const Request& req) {
  if (std::string file = UploadName(req); !file.empty()) return file;
  std::string type = req.get_header_value("Content-Type");
  type = type.substr(0, type.find(';'));
  for (auto& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  const std::string body = kRequestBody;
  if (type == "text/csv") return body + ".csv";
  if (type == "application/x-ndjson" || type == "application/jsonl" ||
      type == "application/x-jsonlines" || type == "application/json-lines") {
    return body + ".jsonl";
  }
  if (type == "text/markdown") return body + ".md";
  return body + ".json";
}

// Admin bodies may be large (imports), so bound their nesting before any parser sees them.
bool CheckDepth(const Request& req, Response& res) {
  constexpr size_t kMaxDepth = 32;
  if (JsonDepth(req.body, kMaxDepth) <= kMaxDepth) return true;
  SendError(res, 400, "too_deep",
            "The body nests deeper than " + std::to_string(kMaxDepth) + " levels.");
  return false;
}

}  // namespace

struct Server::Impl {
  Impl(Store* s, BundleFiles* b, Publisher* p, ServerOptions o)
      : store(s),
        bundles(b),
        publisher(p),
        options(std::move(o)),
        site_limiter(options.site_rate, options.site_burst),
        client_limiter(options.client_rate, options.client_burst),
        learner(s, b, p, ServerLearning()) {}

  // The server's watcher updates gaps and incidents on its own schedule, so learning runs leave
  // them to it.
  static LearningOptions ServerLearning() {
    LearningOptions o;
    o.operations = false;
    return o;
  }

  Store* store;
  BundleFiles* bundles;
  Publisher* publisher;
  ServerOptions options;
  httplib::Server http;
  Metrics metrics;
  RateLimiter site_limiter;
  RateLimiter client_limiter;
  int bound_port = -1;
  int listening = -1;  // the listening socket, once bound
  // The learning pipeline, for POST .../train, the review queue and the periodic runs.
  Learner learner;
  std::thread learning_thread;
  std::mutex learning_mu;
  std::condition_variable learning_cv;
  bool learning_stop = false;
  void LearnPeriodically();

  // Sites change rarely and are read on every widget request; a short cache keeps the store off
  // the hot path while a change made by another process shows within seconds.
  std::mutex site_mu;
  std::map<std::string, std::pair<Site, double>> site_cache;
  static constexpr double kSiteCacheSeconds = 2;

  // Every route's method and path pattern, to tell a wrong method (405) from a wrong path (404).
  std::vector<std::pair<std::string, std::regex>> routes;

  void Install();
  template <typename Handler>
  void Route(const char* method, const char* name, const std::string& regex, Handler handler);

  // Looks the site up; on failure fills `res` (404 or 503) and returns nullopt.
  std::optional<Site> LoadSite(const std::string& name, Response& res);
  void ForgetSite(const std::string& name);
  // Widget requests: the site key and, for browsers, an allowed Origin.
  bool CheckWidget(const Request& req, Response& res, const Site& site);
  bool CheckOrigin(const Request& req, Response& res, const Site& site);
  // Admin requests: the site's token (or the operator's).
  bool CheckAdmin(const Request& req, Response& res, const Site* site);

  void Manifest(const Request& req, Response& res);
  void BundleBytes(const Request& req, Response& res);
  void Signals(const Request& req, Response& res);
  void Preflight(const Request& req, Response& res);
  void PutSite(const Request& req, Response& res);
  void GetSite(const Request& req, Response& res);
  void PostArticles(const Request& req, Response& res);
  void GetArticles(const Request& req, Response& res);
  void GetArticle(const Request& req, Response& res);
  void DeleteArticle(const Request& req, Response& res);
  void PostHistory(const Request& req, Response& res);
  void PostResolutions(const Request& req, Response& res);
  void Publish(const Request& req, Response& res);
  void Train(const Request& req, Response& res);
  void Rollback(const Request& req, Response& res);
  void Analytics(const Request& req, Response& res);
  void Changes(const Request& req, Response& res);
  void Change(const Request& req, Response& res);
  void Versions(const Request& req, Response& res);
  void Runs(const Request& req, Response& res);
  void Rules(const Request& req, Response& res);
  void PostRule(const Request& req, Response& res);
  void DeleteRule(const Request& req, Response& res);
  void Gaps(const Request& req, Response& res);
  void GapOutOfScope(const Request& req, Response& res);
  void Incidents(const Request& req, Response& res);
  void GetWebhooks(const Request& req, Response& res);
  void PutWebhooks(const Request& req, Response& res);
  void WidgetFile(const Request& req, Response& res);
  // The admin console (web/dist/admin, beside the widget): /admin/ and its plain-named files,
  // under a strict Content-Security-Policy.
  void AdminFile(const Request& req, Response& res);
  void DemoPage(const Request& req, Response& res);
  void Healthz(const Request& req, Response& res);
  void Prometheus(const Request& req, Response& res);
};

template <typename Handler>
void Server::Impl::Route(const char* method, const char* name, const std::string& regex,
                         Handler handler) {
  auto wrapped = [this, name, handler](const Request& req, Response& res) {
    current_route = name;
    try {
      (this->*handler)(req, res);
    } catch (const std::exception& e) {
      LogError("handler failed", {{"route", name}, {"what", e.what()}});
      SendError(res, 500, "internal_error", "The server failed to answer; try again.");
    }
  };
  const std::string m = method;
  routes.emplace_back(m, std::regex(regex));
  if (m == "GET") http.Get(regex, wrapped);
  if (m == "POST") http.Post(regex, wrapped);
  if (m == "PUT") http.Put(regex, wrapped);
  if (m == "DELETE") http.Delete(regex, wrapped);
  if (m == "OPTIONS") http.Options(regex, wrapped);
}

void Server::Impl::Install() {
  const std::string site = "/v1/sites/([^/]+)";
  Route("GET", "/v1/sites/{site}/manifest", site + "/manifest", &Impl::Manifest);
  Route("OPTIONS", "/v1/sites/{site}/manifest", site + "/manifest", &Impl::Preflight);
  Route("GET", "/v1/bundles/{sha256}", "/v1/bundles/([^/]+)", &Impl::BundleBytes);
  Route("POST", "/v1/sites/{site}/signals", site + "/signals", &Impl::Signals);
  Route("OPTIONS", "/v1/sites/{site}/signals", site + "/signals", &Impl::Preflight);
  Route("PUT", "/v1/sites/{site}", site, &Impl::PutSite);
  Route("GET", "/v1/sites/{site}", site, &Impl::GetSite);
  Route("POST", "/v1/sites/{site}/articles", site + "/articles", &Impl::PostArticles);
  Route("GET", "/v1/sites/{site}/articles", site + "/articles", &Impl::GetArticles);
  Route("GET", "/v1/sites/{site}/articles/{id}", site + "/articles/(.+)", &Impl::GetArticle);
  Route("DELETE", "/v1/sites/{site}/articles/{id}", site + "/articles/(.+)", &Impl::DeleteArticle);
  Route("POST", "/v1/sites/{site}/history", site + "/history", &Impl::PostHistory);
  Route("POST", "/v1/sites/{site}/resolutions", site + "/resolutions", &Impl::PostResolutions);
  Route("POST", "/v1/sites/{site}/publish", site + "/publish", &Impl::Publish);
  Route("POST", "/v1/sites/{site}/train", site + "/train", &Impl::Train);
  Route("POST", "/v1/sites/{site}/rollback", site + "/rollback", &Impl::Rollback);
  Route("GET", "/v1/sites/{site}/changes", site + "/changes", &Impl::Changes);
  Route("POST", "/v1/sites/{site}/changes/{id}/{action}",
        site + "/changes/([^/]+)/(approve|reject|revert)", &Impl::Change);
  Route("GET", "/v1/sites/{site}/versions", site + "/versions", &Impl::Versions);
  Route("GET", "/v1/sites/{site}/runs", site + "/runs", &Impl::Runs);
  Route("GET", "/v1/sites/{site}/rules", site + "/rules", &Impl::Rules);
  Route("POST", "/v1/sites/{site}/rules", site + "/rules", &Impl::PostRule);
  Route("DELETE", "/v1/sites/{site}/rules/{id}", site + "/rules/([^/]+)", &Impl::DeleteRule);
  Route("GET", "/v1/sites/{site}/gaps", site + "/gaps", &Impl::Gaps);
  Route("POST", "/v1/sites/{site}/gaps/{id}/out-of-scope", site + "/gaps/([^/]+)/out-of-scope",
        &Impl::GapOutOfScope);
  Route("GET", "/v1/sites/{site}/incidents", site + "/incidents", &Impl::Incidents);
  Route("GET", "/v1/sites/{site}/webhooks", site + "/webhooks", &Impl::GetWebhooks);
  Route("PUT", "/v1/sites/{site}/webhooks", site + "/webhooks", &Impl::PutWebhooks);
  Route("GET", "/v1/sites/{site}/analytics", site + "/analytics", &Impl::Analytics);
  Route("GET", "/widget/{file}", "/widget/((?:ort/)?[^/]+)", &Impl::WidgetFile);
  Route("GET", "/admin/{file}", "/admin(/[^/]*)?", &Impl::AdminFile);
  Route("GET", "/healthz", "/healthz", &Impl::Healthz);
  Route("GET", "/metrics", "/metrics", &Impl::Prometheus);
  // Last, so every route above wins; only with --demo-dir.
  // Pages anywhere but under /v1/, so a wrong API path is a 404, never "use GET".
  if (!options.demo_dir.empty()) Route("GET", "/{page}", "/(?!v1(?:/|$))(.*)", &Impl::DemoPage);
}

std::optional<Site> Server::Impl::LoadSite(const std::string& name, Response& res) {
  const double now = Seconds();
  {
    std::lock_guard<std::mutex> lock(site_mu);
    auto it = site_cache.find(name);
    if (it != site_cache.end() && it->second.second > now) return it->second.first;
  }
  if (!CheckSiteName(name).ok()) {
    SendError(res, 404, "site_not_found", "There is no such site.");
    return std::nullopt;
  }
  auto site = store->FindSite(name);
  if (!site.ok()) {
    LogError("store read failed", {{"route", current_route}, {"error", site.status().message()}});
    SendError(res, 503, "store_unavailable", "The store is not available; try again.");
    return std::nullopt;
  }
  if (!site.value()) {
    SendError(res, 404, "site_not_found", "There is no site \"" + name + "\".");
    return std::nullopt;
  }
  std::lock_guard<std::mutex> lock(site_mu);
  if (site_cache.size() > 10000) site_cache.clear();
  site_cache[name] = {*site.value(), now + kSiteCacheSeconds};
  return site.value();
}

void Server::Impl::ForgetSite(const std::string& name) {
  std::lock_guard<std::mutex> lock(site_mu);
  site_cache.erase(name);
}

bool Server::Impl::CheckOrigin(const Request& req, Response& res, const Site& site) {
  if (!req.has_header("Origin")) return true;  // not a browser's cross-origin request
  auto origin = NormalizeOrigin(req.get_header_value("Origin"));
  bool allowed = false;
  if (origin.ok()) {
    for (const auto& o : site.origins) allowed = allowed || o == origin.value();
  }
  if (!allowed) {
    SendError(res, 403, "origin_not_allowed",
              "This origin is not allowed for the site; add it with PUT /v1/sites/" + site.name +
                  " (\"origins\").");
    return false;
  }
  res.set_header("Access-Control-Allow-Origin", origin.value());
  res.set_header("Vary", "Origin");
  res.set_header("Access-Control-Expose-Headers", "ETag");
  return true;
}

bool Server::Impl::CheckWidget(const Request& req, Response& res, const Site& site) {
  if (!CheckOrigin(req, res, site)) return false;
  const std::string key = req.get_header_value("X-Loopwise-Key");
  if (key.empty()) {
    SendError(res, 401, "missing_key", "Send the site's public key in the X-Loopwise-Key header.");
    return false;
  }
  if (!ConstantTimeEquals(key, site.key)) {
    SendError(res, 401, "invalid_key", "The X-Loopwise-Key header does not match the site's key.");
    return false;
  }
  return true;
}

bool Server::Impl::CheckAdmin(const Request& req, Response& res, const Site* site) {
  const std::string token = BearerToken(req);
  if (token.empty()) {
    res.set_header("WWW-Authenticate", "Bearer");
    SendError(res, 401, "missing_token",
              "Send the site's admin token as \"Authorization: Bearer <token>\".");
    return false;
  }
  const std::string hash = HashToken(token);
  const bool site_ok = site && ConstantTimeEquals(hash, site->token_hash);
  const bool operator_ok =
      !options.operator_token_hash.empty() && ConstantTimeEquals(hash, options.operator_token_hash);
  if (!site_ok && !operator_ok) {
    SendError(res, 403, "invalid_token", "The admin token is not valid for this site.");
    return false;
  }
  return true;
}

void Server::Impl::Preflight(const Request& req, Response& res) {
  auto site = LoadSite(req.matches[1], res);
  if (!site) return;
  if (!req.has_header("Origin")) {
    SendError(res, 400, "bad_request", "A preflight request needs an Origin header.");
    return;
  }
  if (!CheckOrigin(req, res, *site)) return;
  res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
  res.set_header("Access-Control-Allow-Headers", "Content-Type, X-Loopwise-Key, If-None-Match");
  res.set_header("Access-Control-Max-Age", "600");
  res.status = 204;
}

void Server::Impl::Manifest(const Request& req, Response& res) {
  auto site = LoadSite(req.matches[1], res);
  if (!site || !CheckWidget(req, res, *site)) return;
  auto current = store->CurrentVersion(site->name);
  if (!current.ok()) {
    SendError(res, 503, "store_unavailable", "The store is not available; try again.");
    return;
  }
  if (!current.value()) {
    SendError(res, 404, "not_published", "The site has not published a bundle yet.");
    return;
  }
  const Version& v = *current.value();
  const std::string etag = "\"v" + std::to_string(v.version) + "-" + v.sha256.substr(0, 16) + "\"";
  res.set_header("ETag", etag);
  res.set_header("Cache-Control", "no-cache");
  if (req.get_header_value("If-None-Match").find(etag) != std::string::npos) {
    res.status = 304;
    return;
  }
  SendJson(res, 200, VersionJson(site->name, v));
}

void Server::Impl::BundleBytes(const Request& req, Response& res) {
  const std::string sha = req.matches[1];
  if (!BundleFiles::IsSha256(sha)) {
    SendError(res, 404, "bundle_not_found", "A bundle is named by its sha256 (64 hex digits).");
    return;
  }
  // Public, immutable, named by content: any page may fetch it.
  res.set_header("Access-Control-Allow-Origin", "*");
  res.set_header("Vary", "Accept-Encoding");
  const std::string etag = "\"" + sha + "\"";
  if (req.get_header_value("If-None-Match").find(etag) != std::string::npos) {
    res.set_header("ETag", etag);
    res.set_header("Cache-Control", "public, max-age=31536000, immutable");
    res.status = 304;
    return;
  }
  const bool gzip = req.get_header_value("Accept-Encoding").find("gzip") != std::string::npos;
  auto bytes = bundles->Get(sha, gzip);
  if (!bytes.ok() && bytes.status().message().rfind("no bundle", 0) == 0) {
    SendError(res, 404, "bundle_not_found", "There is no bundle " + sha + ".");
    return;
  }
  if (!bytes.ok()) {  // unreadable or damaged: never served, never cached
    LogError("bundle unusable", {{"error", bytes.status().message()}});
    SendError(res, 500, "bundle_unusable", "The bundle cannot be served; try again later.");
    return;
  }
  res.set_header("ETag", etag);
  res.set_header("Cache-Control", "public, max-age=31536000, immutable");
  if (gzip) res.set_header("Content-Encoding", "gzip");
  res.status = 200;
  res.set_content(*bytes.value(), "application/octet-stream");
}

// The widget's static files. Only plain names ([A-Za-z0-9._-], not starting with a dot) are
// looked up, directly in the widget directory or in its "ort" folder (ONNX Runtime Web, which the
// ranker worker loads), so no request reaches outside them.
void Server::Impl::WidgetFile(const Request& req, Response& res) {
  const std::string name = req.matches[1];
  const size_t folder = name.compare(0, 4, "ort/") == 0 ? 4 : 0;
  bool plain = name.size() > folder && name.size() <= 128 && name[folder] != '.';
  for (char c : name.substr(folder)) {
    plain =
        plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-');
  }
  const std::string path = options.widget_dir + "/" + name;
  std::error_code ec;
  std::string body;
  bool found = plain && !options.widget_dir.empty() && std::filesystem::is_regular_file(path, ec);
  // WebAssembly is not compressed on the fly (ONNX Runtime's is 14 MB, 3.5 MB gzipped):
  // scripts/build-web stores a .gz beside each .wasm, sent to clients that take gzip.
  const bool gzip = found && name.size() > 5 && name.compare(name.size() - 5, 5, ".wasm") == 0 &&
                    req.get_header_value("Accept-Encoding").find("gzip") != std::string::npos &&
                    std::filesystem::is_regular_file(path + ".gz", ec);
  if (found) {
    std::ifstream in(gzip ? path + ".gz" : path, std::ios::binary);
    body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    found = !in.bad();
  }
  if (!found) {
    SendError(res, 404, "widget_file_not_found",
              "There is no widget file \"" + name.substr(0, 128) + "\".");
    return;
  }
  auto ends_with = [&name](const char* suffix) {
    const size_t n = std::strlen(suffix);
    return name.size() >= n && name.compare(name.size() - n, n, suffix) == 0;
  };
  const char* type = ends_with(".js") || ends_with(".mjs")     ? "text/javascript; charset=utf-8"
                     : ends_with(".wasm")                      ? "application/wasm"
                     : ends_with(".css")                       ? "text/css; charset=utf-8"
                     : ends_with(".map") || ends_with(".json") ? "application/json"
                                                               : "application/octet-stream";
  // Loaded from any page that embeds the widget; the panel and engine are ES modules, which a
  // browser fetches with CORS.
  res.set_header("Access-Control-Allow-Origin", "*");
  res.set_header("Cache-Control", "public, max-age=300");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Vary", "Accept-Encoding");
  if (gzip) res.set_header("Content-Encoding", "gzip");
  res.status = 200;
  res.set_content(std::move(body), type);
}

// The admin console's static files, from the "admin" folder of the widget directory. "/admin" is
// redirected to "/admin/", which is index.html; other names must be plain ([A-Za-z0-9._-], not
// starting with a dot), so no request reaches outside the folder. The policy lets the page load
// only its own scripts, styles and images and talk only to this server; no inline code, no frames.
void Server::Impl::AdminFile(const Request& req, Response& res) {
  const std::string tail = req.matches[1];
  if (tail.empty()) {
    res.set_redirect("/admin/", 301);
    return;
  }
  const std::string name = tail == "/" ? "index.html" : tail.substr(1);
  bool plain = !name.empty() && name.size() <= 128 && name[0] != '.';
  for (char c : name) {
    plain =
        plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-');
  }
  static const std::map<std::string, const char*> kTypes = {
      {"html", "text/html; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"map", "application/json"}};
  const size_t dot = name.rfind('.');
  auto type = kTypes.find(dot == std::string::npos ? "" : name.substr(dot + 1));
  const std::string path = options.widget_dir + "/admin/" + name;
  std::error_code ec;
  std::string body;
  bool found = plain && type != kTypes.end() && !options.widget_dir.empty() &&
               std::filesystem::is_regular_file(path, ec);
  if (found) {
    std::ifstream in(path, std::ios::binary);
    body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    found = !in.bad();
  }
  if (!found) {
    SendError(res, 404, "admin_file_not_found",
              "There is no admin console file \"" + name.substr(0, 128) +
                  "\"; build it with scripts/build-web.");
    return;
  }
  res.set_header("Content-Security-Policy",
                 "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                 "connect-src 'self'; base-uri 'none'; form-action 'self'; "
                 "frame-ancestors 'none'");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cross-Origin-Opener-Policy", "same-origin");
  res.set_header("Cache-Control", "no-cache");
  res.status = 200;
  res.set_content(std::move(body), type->second);
}

// The demo site's static pages. The path must be plain ([A-Za-z0-9._/-], no empty, "." or
// dot-starting segment, so no ".." either); "/" is the dashboard; a page /a/b is DIR/a/b.html or
// DIR/a/b/index.html; a file with a known extension is served as is.
void Server::Impl::DemoPage(const Request& req, Response& res) {
  std::string page = req.matches[1];
  while (!page.empty() && page.back() == '/') page.pop_back();
  if (page.empty()) page = "dashboard";
  bool plain =
      page.size() <= 256 && page.compare(0, 3, "v1/") != 0 && page.compare(0, 7, "widget/") != 0;
  for (size_t i = 0; plain && i < page.size(); ++i) {
    const char c = page[i];
    plain =
        std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '/';
    // A segment may not be empty or start with a dot: no "//", no ".." and no dotfiles.
    if (i == 0 || page[i - 1] == '/') plain = plain && c != '/' && c != '.';
  }
  const size_t slash = page.rfind('/');
  const size_t dot = page.rfind('.');
  const std::string ext = dot != std::string::npos && (slash == std::string::npos || dot > slash)
                              ? page.substr(dot + 1)
                              : "";
  static const std::map<std::string, const char*> kTypes = {
      {"html", "text/html; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"webp", "image/webp"},
      {"ico", "image/x-icon"}};
  std::vector<std::string> candidates;
  const char* type = nullptr;
  if (plain && ext.empty()) {
    candidates = {options.demo_dir + "/" + page + ".html",
                  options.demo_dir + "/" + page + "/index.html"};
    type = kTypes.at("html");
  } else if (plain && kTypes.count(ext)) {
    candidates = {options.demo_dir + "/" + page};
    type = kTypes.at(ext);
  }
  std::string body;
  bool found = false;
  for (const std::string& path : candidates) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) continue;
    std::ifstream in(path, std::ios::binary);
    body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    found = !in.bad();
    if (found) break;
  }
  if (!found) {
    SendError(res, 404, "page_not_found", "There is no such page.");
    return;
  }
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.status = 200;
  res.set_content(std::move(body), type);
}

void Server::Impl::Signals(const Request& req, Response& res) {
  auto site = LoadSite(req.matches[1], res);
  if (!site || !CheckWidget(req, res, *site)) {
    metrics.CountRejectedBatch(res.status == 404   ? "site_not_found"
                               : res.status == 403 ? "origin_not_allowed"
                               : res.status == 401 ? "invalid_key"
                                                   : "store_unavailable");
    return;
  }
  SignalBatch batch;
  SignalRejection rejection;
  if (!ParseSignalBatch(req.body, site->name, options.limits, &batch, &rejection)) {
    metrics.CountRejectedBatch(rejection.code);
    SendError(res, rejection.http_status, rejection.code, rejection.message);
    return;
  }
  // A browser's clock may be wrong; one in the far future would put its signals on days that
  // have not come (in analytics, gaps and spike baselines): at most a day ahead is believed.
  const int64_t arrived_ms = NowMs(), latest = arrived_ms + 24 * 3600 * 1000;
  for (SignalEvent& e : batch.events) e.ts = std::min(e.ts, latest);
  if (size_t unverified = VerifyCustomers(*site, arrived_ms, &batch)) {
    metrics.CountUnverifiedCustomers(unverified);
  }
  const double now = Seconds(), cost = static_cast<double>(batch.events.size());
  double wait = 0;
  if (!site_limiter.Take(site->key, cost, now, &wait) ||
      !client_limiter.Take(req.remote_addr, cost, now, &wait)) {
    metrics.CountRejectedBatch("rate_limited");
    res.set_header("Retry-After", std::to_string(static_cast<int>(std::ceil(wait)) + 1));
    SendError(res, 429, "rate_limited", "Too many signals; retry after the Retry-After seconds.");
    return;
  }
  auto receipt = store->AppendSignals(std::move(batch));
  if (!receipt.ok()) {
    metrics.CountRejectedBatch("store_unavailable");
    LogError("signal batch not stored",
             {{"route", current_route}, {"error", receipt.status().message()}});
    res.set_header("Retry-After", "1");
    SendError(res, 503, "store_unavailable", "The batch was not stored; send it again.");
    return;
  }
  metrics.CountAcceptedEvents(receipt.value().accepted, receipt.value().duplicate);
  SendJson(res, 202,
           {{"accepted", receipt.value().accepted}, {"duplicate", receipt.value().duplicate}});
}

void Server::Impl::PutSite(const Request& req, Response& res) {
  const std::string name = req.matches[1];
  if (Status s = CheckSiteName(name); !s.ok()) {
    SendError(res, 400, "invalid_site_name", s.message());
    return;
  }
  auto existing = store->FindSite(name);
  if (!existing.ok()) {
    SendError(res, 503, "store_unavailable", "The store is not available; try again.");
    return;
  }
  Site site;
  const bool create = !existing.value();
  if (create) {
    // Creating needs the operator's token: nobody holds a token of a site that does not exist.
    if (!CheckAdmin(req, res, nullptr)) {
      if (options.operator_token_hash.empty() && res.status == 403) {
        SendError(res, 403, "site_creation_disabled",
                  "Create sites with `loopwise site create`, or start the server with "
                  "LOOPWISE_OPERATOR_TOKEN set.");
      }
      return;
    }
    site.name = name;
  } else {
    site = *existing.value();
    if (!CheckAdmin(req, res, &site)) return;
  }
  if (!CheckDepth(req, res)) return;
  json body = req.body.empty() ? json::object() : json::parse(req.body, nullptr, false);
  if (!body.is_object()) {
    SendError(res, 400, "invalid_json",
              "The body must be a JSON object {\"origins\": [...], \"mode\": \"review\"}.");
    return;
  }
  if (auto it = body.find("origins"); it != body.end()) {
    if (!it->is_array()) {
      SendError(res, 400, "invalid_site", "\"origins\" must be a list of origins.");
      return;
    }
    site.origins.clear();
    for (const auto& o : *it) {
      if (!o.is_string()) {
        SendError(res, 400, "invalid_site", "\"origins\" must hold only strings.");
        return;
      }
      auto normalized = NormalizeOrigin(o.get<std::string>());
      if (!normalized.ok()) {
        SendError(res, 400, "invalid_site", normalized.status().message());
        return;
      }
      site.origins.push_back(normalized.value());
    }
  }
  if (auto it = body.find("mode"); it != body.end()) {
    Status s = it->is_string() ? CheckSiteMode(it->get<std::string>())
                               : Status::Error("\"mode\" must be \"review\" or \"autonomous\"");
    if (!s.ok()) {
      SendError(res, 400, "invalid_site", s.message());
      return;
    }
    site.mode = it->get<std::string>();
  }
  if (auto it = body.find("identity"); it != body.end()) {
    Status s = it->is_string()
                   ? CheckIdentityMode(it->get<std::string>())
                   : Status::Error("\"identity\" must be \"off\", \"optional\" or \"required\"");
    if (!s.ok()) {
      SendError(res, 400, "invalid_site", s.message());
      return;
    }
    site.identity = it->get<std::string>();
  }
  // The identity secret is made when identity is first turned on, and again on request.
  bool rotate = false;
  if (auto it = body.find("rotate_identity_secret"); it != body.end()) {
    if (!it->is_boolean()) {
      SendError(res, 400, "invalid_site", "\"rotate_identity_secret\" must be true or false.");
      return;
    }
    rotate = it->get<bool>();
  }
  if (!EnsureIdentitySecret(&site, rotate).ok()) {
    SendError(res, 500, "internal_error", "Cannot make an identity secret; try again.");
    return;
  }
  json out = {{"site", site.name},
              {"origins", site.origins},
              {"mode", site.mode},
              {"identity", site.identity},
              {"identity_secret", site.identity_secret}};
  if (create) {
    auto key = NewSiteKey();
    auto token = NewAdminToken();
    if (!key.ok() || !token.ok()) {
      SendError(res, 500, "internal_error", "Cannot make credentials; try again.");
      return;
    }
    site.key = key.value();
    site.token_hash = HashToken(token.value());
    if (Status s = store->InsertSite(site); !s.ok()) {
      SendError(res, 409, "site_exists", s.message());
      return;
    }
    out["key"] = key.value();
    out["token"] = token.value();  // shown once; only its hash is kept
    LogInfo("site created", {{"site", site.name}});
  } else if (Status s = store->UpdateSite(site); !s.ok()) {
    SendError(res, 503, "store_unavailable", s.message());
    return;
  } else {
    out["key"] = site.key;
  }
  ForgetSite(name);
  SendJson(res, create ? 201 : 200, out);
}

void Server::Impl::GetSite(const Request& req, Response& res) {
  auto site = LoadSite(req.matches[1], res);
  if (!site || !CheckAdmin(req, res, &*site)) return;
  auto current = store->CurrentVersion(site->name);
  json out = {{"site", site->name},         {"key", site->key},
              {"origins", site->origins},   {"mode", site->mode},
              {"identity", site->identity}, {"identity_secret", site->identity_secret},
              {"version", nullptr}};
  if (current.ok() && current.value()) out["version"] = current.value()->version;
  SendJson(res, 200, out);
}

void Server::Impl::PostArticles(const Request& req, Response& res) {
  auto site = LoadSite(req.matches[1], res);
  if (!site || !CheckAdmin(req, res, &*site)) return;
  if (!CheckDepth(req, res)) return;
  auto articles = ParseArticles(BodyName(req), req.body);
  if (!articles.ok()) {
    SendError(res, 400, "invalid_articles", articles.status().message());
    return;
  }
  if (Status s = store->PutArticles(site->name, articles.value()); !s.ok()) {
    SendError(res, 503, "store_unavailable", s.message());
    return;
  }
  auto all = store->Articles(site->name);
  SendJson(
      res, 200,
      {{"imported", articles.value().size()}, {"articles", all.ok() ? all.value().size() : 0}});
}

void Server::Impl::GetArticles(const Request& req, Response& res) {
  auto site = LoadSite(req.matches[1], res);
  if (!site || !CheckAdmin(req, res, &*site)) return;
  auto articles = store->Articles(site->name);
  if (!articles.ok()) {
    SendError(res, 503, "store_unavailable", articles.status().message());
    return;
  }
  // Whether customers see each article as it is now: `published` (as in the current bundle),
  // `edited` since, or `new`; `removed` names the current bundle's articles deleted since. When
  // the current bundle cannot be read (damaged on disk; publishing again mends it), `unknown`
  // says why instead.
  json out = {{"articles", json::array()}};
  std::optional<std::map<std::string, Article>> published(std::in_place);
  if (auto current = store->CurrentVersion(site->name); current.ok() && current.value()) {
    auto bytes = bundles->Get(current.value()->sha256, false);
    auto listed =
        bytes.ok() ? Engine::LoadArticles(reinterpret_cast<const uint8_t*>(bytes.value()->data()),
                                          bytes.value()->size())
                   : Result<std::vector<Article>>(bytes.status());
    if (listed.ok()) {
      for (Article& a : listed.value()) published->emplace(a.id, std::move(a));
    } else {
      published.reset();
      out["unknown"] = "The current bundle cannot be read: " + listed.status().message();
    }
  }
  for (const Article& a : articles.value()) {
    json item = ArticleJson(a);
    if (published) {
      const char* state = "new";
      if (auto it = published->find(a.id); it != published->end()) {
        state = ArticleJson(it->second) == item ? "published" : "edited";
        published->erase(it);
      }
      item["state"] = state;
    }
    out["articles"].push_back(std::move(item));
  }
  if (published) {
    out["removed"] = json::array();
    for (const auto& [id, a] : *published) out["removed"].push_back(id);
  }
  SendJson(res, 200, out);
}

// One article and what it answers: how many history tickets point to it (the first 50 of them)
// and the learned changes that name it, newest first.
void Server::Impl::GetArticle(const Request& req, Response& res) {
  auto site = LoadSite(req.matches[1], res);
  if (!site || !CheckAdmin(req, res, &*site)) return;
  const std::string id = req.matches[2];
  auto articles = store->Articles(site->name);
  auto history = store->History(site->name);
  auto changes = store->Changes(site->name);
  for (const Status* s : {&articles.status(), &history.status(), &changes.status()}) {
    if (!s->ok()) {
      SendError(res, 503, "store_unavailable", s->message());
      return;
    }
  }
  auto article = std::find_if(articles.value().begin(), articles.value().end(),
                              [&](const Article& a) { return a.id == id; });
  if (article == articles.value().end()) {
    SendError(res, 404, "article_not_found", "The site has no article with that id.");
    return;
  }
  constexpr size_t kTicketExamples = 50;
  json tickets = json::array();
  size_t count = 0;
  for (const ResolvedQuery& t : history.value()) {
    if (t.article != id) continue;
    if (++count <= kTicketExamples) tickets.push_back(t.text);
  }
  json learned = json::array();
  for (const LearnedChange& c : changes.value()) {
    if (c.article == id) learned.push_back(ChangeJson(c));
  }
  SendJson(res, 200,
           {{"article", ArticleJson(*article)},
            {"tickets", count},
            {"ticket_examples", tickets},
            {"changes", learned}});
}

void Server::Impl::DeleteArticle(const Request& req, Response& res) {
  auto site = LoadSite(req.matches[1], res);
  if (!site || !CheckAdmin(req, res, &*site)) return;
  auto deleted = store->DeleteArticle(site->name, req.matches[2]);
  if (!deleted.ok()) {
    SendError(res, 503, "store_unavailable", deleted.status().message());
    return;
  }
  if (!deleted.value()) {
    SendError(res, 404, "article_not_found", "The site has no article with that id.");
    return;
  }
  SendJson(res, 200, {{"deleted", std::string(req.matches[2])}});
}

void Server::Impl::PostHistory(const Request& req, Response& res) {
  auto site = LoadSite(req.matches[1], res);
  if (!site || !CheckAdmin(req, res, &*site)) return;
  // A body without a file name is JSON Lines unless it says it is CSV.
  std::string name = BodyName(req);
  if (UploadName(req).empty() && name != std::string(kRequestBody) + ".csv") {
    name = std::string(kRequestBody) + ".jsonl";
  }
  auto tickets = ParseHistory(name, req.body);
  if (!tickets.ok()) {
    SendError(res, 400, "invalid_history", tickets.status().message());
    return;
  }
  auto articles = store->Articles(site->name);
  if (!articles.ok()) {
    SendError(res, 503, "store_unavailable", articles.status().message());
    return;
  }
  std::set<std::string> known;
  for (const Article& a : articles.value()) known.insert(a.id);
  std::vector<ResolvedQuery> rows;
  for (const HistoryTicket& t : tickets.value()) {
    if (t.article && !known.count(*t.article)) {
      SendError(res, 400, "unknown_article",
                name + ":" + std::to_string(t.line) + ": unknown article \"" + *t.article +
                    "\" (import the articles first)");
      return;
    }
    rows.push_back({Scrub(t.text).text, t.article, ""});
  }
  auto before = store->History(site->name);
  if (!before.ok()) {
    SendError(res, 503, "store_unavailable", before.status().message());
    return;
  }
  const size_t again = AlreadyStored(before.value(), rows);
  if (Status s = store->AddHistory(site->name, rows); !s.ok()) {
    SendError(res, 503, "store_unavailable", s.message());
    return;
  }
  SendJson(res, 200, {{"imported", rows.size()}, {"already_stored", again}});
}

void Server::Impl::PostResolutions(const Request& req, Response& res) {
  auto site = LoadSite(req.matches[1], res);
  if (!site || !CheckAdmin(req, res, &*site)) return;
  if (!CheckDepth(req, res)) return;
  constexpr size_t kMaxResolutions = 10000;
  // JSON: a list, or {"resolutions": [...]}; or JSON Lines, one resolution a line.
  std::vector<json> items;
  json body = json::parse(req.body, nullptr, false);
  if (!body.is_discarded() && (body.is_array() || body.is_object())) {
    const json& list =
        body.is_object() && body.contains("resolutions") ? body["resolutions"] : body;
    if (list.is_array()) {
      items.assign(list.begin(), list.end());
    } else {
      items.push_back(list);
    }
  } else {
    size_t start = 0, line = 0;
    while (start < req.body.size()) {
      size_t end = req.body.find('\n', start);
      if (end == std::string::npos) end = req.body.size();
      ++line;
      const std::string text = req.body.substr(start, end - start);
      start = end + 1;
      if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
      json j = json::parse(text, nullptr, false);
      if (j.is_discarded()) {
        SendError(res, 400, "invalid_json",
                  "request:" + std::to_string(line) +
                      ": not valid JSON (send a JSON list or JSON "
                      "Lines of {\"query_id\", \"text\", \"article\"})");
        return;
      }
      items.push_back(std::move(j));
    }
  }
  if (items.empty() || items.size() > kMaxResolutions) {
    SendError(res, 400, "invalid_resolutions",
              "Send 1 to " + std::to_string(kMaxResolutions) + " resolutions.");
    return;
  }
  std::vector<ResolvedQuery> rows;
  for (size_t i = 0; i < items.size(); ++i) {
    const json& r = items[i];
    const std::string where = "resolutions[" + std::to_string(i) + "]";
    if (!r.is_object()) {
      SendError(res, 400, "invalid_resolutions", where + " must be an object");
      return;
    }
    ResolvedQuery q;
    for (const char* field : {"query_id", "text"}) {
      auto it = r.find(field);
      if (it == r.end() || it->is_null()) continue;
      if (!it->is_string() || it->get_ref<const std::string&>().size() > 4096 ||
          it->get_ref<const std::string&>().find('\0') != std::string::npos) {
        SendError(res, 400, "invalid_resolutions",
                  where + "." + field + " must be a string of at most 4096 bytes, without NUL");
        return;
      }
      (std::string(field) == "text" ? q.text : q.query_id) = it->get<std::string>();
    }
    auto article = r.find("article");
    if (article == r.end() || !(article->is_null() || article->is_string())) {
      SendError(res, 400, "invalid_resolutions",
                where + ".article must be an article id, or null when no article resolved it");
      return;
    }
    if (article->is_string()) {
      q.article = article->get<std::string>();
      if (q.article->empty() || q.article->size() > 256 ||
          q.article->find('\0') != std::string::npos) {
        SendError(res, 400, "invalid_resolutions", where + ".article is not an article id");
        return;
      }
    }
    if (q.text.empty() && q.query_id.empty()) {
      SendError(res, 400, "invalid_resolutions", where + " needs a query_id or a text");
      return;
    }
    q.text = Scrub(q.text).text;
    rows.push_back(std::move(q));
  }
  if (Status s = store->AddResolutions(site->name, rows); !s.ok()) {
    SendError(res, 503, "store_unavailable", s.message());
    return;
  }
  SendJson(res, 200, {{"accepted", rows.size()}});
}

void Server::Impl::Publish(const Request& req, Response& res) {
  auto site = LoadSite(req.matches[1], res);
  if (!site || !CheckAdmin(req, res, &*site)) return;
  auto articles = store->Articles(site->name);
  if (articles.ok() && articles.value().empty()) {
    SendError(res, 409, "nothing_to_publish",
              "The site has no articles; POST some to /v1/sites/" + site->name + "/articles.");
    return;
  }
  auto p = publisher->Publish(site->name);
  if (!p.ok()) {
    LogError("publish failed", {{"site", site->name}, {"error", p.status().message()}});
    SendError(res, 500, "publish_failed", p.status().message());
    return;
  }
  json out = VersionJson(site->name, p.value().version);
  out["articles"] = p.value().articles;
  out["exemplars"] = p.value().exemplars;
  out["skipped_history"] = p.value().skipped_history;
  out["unanswered"] = p.value().unanswered;
  out["build_ms"] = std::round(p.value().build_ms);
  LogInfo("published", {{"site", site->name},
                        {"version", p.value().version.version},
                        {"bytes", p.value().version.bytes},
                        {"build_ms", std::round(p.value().build_ms)}});
  SendJson(res, 200, out);
}

void Server::Impl::Train(const Request& req, Response& res) {
  auto site = LoadSite(req.matches[1], res);
  if (!site || !CheckAdmin(req, res, &*site)) return;
  auto current = store->CurrentVersion(site->name);
  if (!current.ok()) {
    SendError(res, 503, "store_unavailable", current.status().message());
    return;
  }
  if (!current.value()) {
    SendError(res, 409, "not_published",
              "The site has no published version to learn from; POST /v1/sites/" + site->name +
                  "/publish first.");
    return;
  }
  auto report = learner.Run(site->name, NowMs());
  if (!report.ok()) {
    LogError("training failed", {{"site", site->name}, {"error", report.status().message()}});
    SendError(res, 500, "train_failed", report.status().message());
    return;
  }
  const LearningReport& r = report.value();
  LogInfo("trained", {{"site", site->name},
                      {"outcome", r.outcome},
                      {"signals", r.signals},
                      {"accepted", r.accepted},
                      {"changes", r.changes.size()},
                      {"ms", std::round(r.total_ms)}});
  json out = r.ToJson();
  out["mode"] = site->mode;
  SendJson(res, 200, out);
}

void Server::Impl::Rollback(const Request& req, Response& res) {
  auto site = LoadSite(req.matches[1], res);
  if (!site || !CheckAdmin(req, res, &*site)) return;
  if (!CheckDepth(req, res)) return;
  std::optional<int64_t> version;
  if (!req.body.empty()) {
    json body = json::parse(req.body, nullptr, false);
    if (!body.is_object()) {
      SendError(res, 400, "invalid_json", "The body must be empty or {\"version\": n}.");
      return;
    }
    if (auto it = body.find("version"); it != body.end()) {
      if (!it->is_number_integer()) {
        SendError(res, 400, "invalid_rollback", "\"version\" must be a whole number.");
        return;
      }
      version = it->get<int64_t>();
    }
  }
  auto v = learner.Rollback(site->name, version, NowMs());
  if (!v.ok()) {
    SendError(res, 409, "cannot_roll_back", v.status().message());
    return;
  }
  LogInfo("rolled back", {{"site", site->name}, {"version", v.value().version}});
  SendJson(res, 200, VersionJson(site->name, v.value()));
}

void Server::Impl::Changes(const Request& req, Response& res) {
  auto site = LoadSite(req.matches[1], res);
  if (!site || !CheckAdmin(req, res, &*site)) return;
  auto changes = store->Changes(site->name);
  if (!changes.ok()) {
    SendError(res, 503, "store_unavailable", changes.status().message());
    return;
  }
  const std::string status = req.get_param_value("status");
  json list = json::array();
  for (const LearnedChange& c : changes.value()) {
    if (status.empty() || c.status == status) list.push_back(ChangeJson(c));
  }
  SendJson(res, 200, {{"mode", site->mode}, {"changes", list}});
}

void Server::Impl::Versions(const Request& req, Response& res) {
  auto site = LoadSite(req.matches[1], res);
  if (!site || !CheckAdmin(req, res, &*site)) return;
  auto versions = store->Versions(site->name);
  auto changes = store->Changes(site->name);
  if (!versions.ok() || !changes.ok()) {
    SendError(res, 503, "store_unavailable",
              (versions.ok() ? changes.status() : versions.status()).message());
    return;
  }
  json list = json::array();
  for (const Version& v : versions.value()) {
    size_t learned = 0, rolled_back = 0, reverted = 0;
    for (const LearnedChange& c : changes.value()) {
      if (c.version != v.version) continue;
      ++learned;
      rolled_back += c.status == "rolled_back";
      reverted += c.status == "rejected";
    }
    std::string note;
    if (learned) {
      note = "learned: " + std::to_string(learned) + (learned == 1 ? " change" : " changes");
      std::string undone;
      if (rolled_back) undone = std::to_string(rolled_back) + " rolled back";
      if (reverted) undone += (undone.empty() ? "" : ", ") + std::to_string(reverted) + " reverted";
      if (!undone.empty()) note += " (" + undone + ")";
    }
    list.push_back({{"version", v.version},
                    {"sha256", v.sha256},
                    {"bytes", v.bytes},
                    {"published_at", IsoTime(v.published_at_ms)},
                    {"current", v.current},
                    {"note", note}});
  }
  SendJson(res, 200, {{"versions", list}});
}

void Server::Impl::Runs(const Request& req, Response& res) {
  auto site = LoadSite(req.matches[1], res);
  if (!site || !CheckAdmin(req, res, &*site)) return;
  auto runs = LearningRuns(store, site->name);
  if (!runs.ok()) {
    SendError(res, 503, "store_unavailable", runs.status().message());
    return;
  }
  SendJson(res, 200, {{"runs", runs.value()}});
}

void Server::Impl::Gaps(const Request& req, Response& res) {
  auto site = LoadSite(req.matches[1], res);
  if (!site || !CheckAdmin(req, res, &*site)) return;
  auto gaps = ListGaps(store, site->name);
  if (!gaps.ok()) {
    SendError(res, 503, "store_unavailable", gaps.status().message());
    return;
  }
  json list = json::array();
  for (const Gap& g : gaps.value()) list.push_back(GapJson(g));
  SendJson(res, 200, {{"gaps", list}});
}

// An operator's word that no article will answer a gap's questions: each question the gap finder
// remembers in it is stored as a resolution with no article, as a helpdesk agent's would be, so
// learning teaches the widget to decline questions like them and the gap counts them confirmed.
void Server::Impl::GapOutOfScope(const Request& req, Response& res) {
  auto site = LoadSite(req.matches[1], res);
  if (!site || !CheckAdmin(req, res, &*site)) return;
  const std::string which = req.matches[2];
  char* end = nullptr;
  const int64_t id = std::strtoll(which.c_str(), &end, 10);
  auto ids = GapQuestionIds(store, site->name, id);
  if (!ids.ok()) {
    SendError(res, 503, "store_unavailable", ids.status().message());
    return;
  }
  if (*end || !ids.value()) {
    SendError(res, 404, "gap_not_found", "The site has no gap with that id.");
    return;
  }
  std::vector<ResolvedQuery> rows;
  for (const std::string& query_id : *ids.value()) rows.push_back({"", std::nullopt, query_id});
  if (Status s = store->AddResolutions(site->name, rows); !s.ok()) {
    SendError(res, 503, "store_unavailable", s.message());
    return;
  }
  LogInfo("gap marked out of scope",
          {{"site", site->name}, {"gap", id}, {"questions", rows.size()}});
  SendJson(res, 200, {{"gap", id}, {"marked", rows.size()}});
}

void Server::Impl::Incidents(const Request& req, Response& res) {
  auto site = LoadSite(req.matches[1], res);
  if (!site || !CheckAdmin(req, res, &*site)) return;
  auto incidents = ListIncidents(store, site->name);
  if (!incidents.ok()) {
    SendError(res, 503, "store_unavailable", incidents.status().message());
    return;
  }
  json list = json::array();
  for (const Incident& i : incidents.value()) list.push_back(IncidentJson(i));
  SendJson(res, 200, {{"incidents", list}});
}

void Server::Impl::GetWebhooks(const Request& req, Response& res) {
  auto site = LoadSite(req.matches[1], res);
  if (!site || !CheckAdmin(req, res, &*site)) return;
  auto webhooks = LoadWebhooks(store, site->name);
  if (!webhooks.ok()) {
    SendError(res, 503, "store_unavailable", webhooks.status().message());
    return;
  }
  SendJson(res, 200, {{"webhooks", WebhooksJson(webhooks.value())}});
}

// Replaces the site's webhooks: {"webhooks": [{"url", "format": "json|slack|github"}, ...]}.
void Server::Impl::PutWebhooks(const Request& req, Response& res) {
  auto site = LoadSite(req.matches[1], res);
  if (!site || !CheckAdmin(req, res, &*site)) return;
  if (!CheckDepth(req, res)) return;
  const json body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("webhooks")) {
    SendError(res, 400, "invalid_json",
              "The body must be {\"webhooks\": [{\"url\": \"https://...\", \"format\": "
              "\"json|slack|github\"}]}.");
    return;
  }
  auto webhooks = ParseWebhooks(body["webhooks"]);
  if (!webhooks.ok()) {
    SendError(res, 400, "invalid_webhooks", webhooks.status().message());
    return;
  }
  if (Status s = SaveWebhooks(store, site->name, webhooks.value()); !s.ok()) {
    SendError(res, 503, "store_unavailable", s.message());
    return;
  }
  LogInfo("webhooks set", {{"site", site->name}, {"webhooks", webhooks.value().size()}});
  SendJson(res, 200, {{"webhooks", WebhooksJson(webhooks.value())}});
}

void Server::Impl::Change(const Request& req, Response& res) {
  auto site = LoadSite(req.matches[1], res);
  if (!site || !CheckAdmin(req, res, &*site)) return;
  const std::string which = req.matches[2];
  const std::string action = req.matches[3];
  const bool approve = action == "approve";
  if (action == "revert" && which == "all") {
    SendError(res, 400, "invalid_change",
              "Published changes are reverted one at a time: POST .../changes/{id}/revert.");
    return;
  }
  std::optional<int64_t> id;
  if (which != "all") {
    char* end = nullptr;
    const long long n = std::strtoll(which.c_str(), &end, 10);
    auto changes = store->Changes(site->name);
    if (!changes.ok()) {
      SendError(res, 503, "store_unavailable", changes.status().message());
      return;
    }
    const LearnedChange* found = nullptr;
    for (const LearnedChange& c : changes.value()) {
      if (!*end && c.id == n) found = &c;
    }
    if (!found) {
      SendError(res, 404, "change_not_found", "There is no change \"" + which + "\".");
      return;
    }
    if (action == "revert" && found->status != "published") {
      SendError(res, 409, "change_not_published",
                "Change " + which + " is " + found->status + "; only a published change can be " +
                    "reverted" + (found->status == "pending" ? " (reject a pending one)." : "."));
      return;
    }
    if (action != "revert" && found->status != "pending") {
      SendError(res, 409, "change_decided",
                "Change " + which + " is already " + found->status + "; only pending changes can " +
                    "be approved or rejected.");
      return;
    }
    id = n;
  }
  if (action == "revert") {
    auto version = learner.Revert(site->name, *id, NowMs());
    auto changes = store->Changes(site->name);
    if (!version.ok() || !changes.ok()) {
      const std::string why = (version.ok() ? changes.status() : version.status()).message();
      LogError("revert failed", {{"site", site->name}, {"error", why}});
      SendError(res, 500, "publish_failed", why);
      return;
    }
    json list = json::array();
    for (const LearnedChange& c : changes.value()) {
      if (c.id == *id) list.push_back(ChangeJson(c));
    }
    LogInfo("change reverted",
            {{"site", site->name}, {"change", *id}, {"version", version.value().version}});
    SendJson(res, 200, {{"changes", list}, {"version", version.value().version}});
    return;
  }
  auto decided = learner.Decide(site->name, id, approve, NowMs());
  if (!decided.ok()) {
    LogError("review decision failed",
             {{"site", site->name}, {"error", decided.status().message()}});
    SendError(res, 500, approve ? "publish_failed" : "store_unavailable",
              decided.status().message());
    return;
  }
  json list = json::array();
  int64_t version = 0;
  for (const LearnedChange& c : decided.value()) {
    list.push_back(ChangeJson(c));
    version = std::max(version, c.version);
  }
  LogInfo(approve ? "changes approved" : "changes rejected",
          {{"site", site->name}, {"changes", list.size()}, {"version", version}});
  SendJson(res, 200, {{"changes", list}, {"version", version ? json(version) : json(nullptr)}});
}

// Operators' pins and blocks (learning_rules): they always win over what learning suggests, and
// pins also over the ranking; they take effect with the next publish or training run.
void Server::Impl::Rules(const Request& req, Response& res) {
  auto site = LoadSite(req.matches[1], res);
  if (!site || !CheckAdmin(req, res, &*site)) return;
  auto rules = store->LearningRules(site->name);
  if (!rules.ok()) {
    SendError(res, 503, "store_unavailable", rules.status().message());
    return;
  }
  json list = json::array();
  for (const LearningRule& r : rules.value()) {
    list.push_back(
        {{"id", r.id}, {"kind", r.kind}, {"pattern", r.pattern}, {"article", r.article}});
  }
  SendJson(res, 200, {{"rules", list}});
}

void Server::Impl::PostRule(const Request& req, Response& res) {
  auto site = LoadSite(req.matches[1], res);
  if (!site || !CheckAdmin(req, res, &*site)) return;
  if (!CheckDepth(req, res)) return;
  const json body = json::parse(req.body, nullptr, false);
  auto text = [&](const char* key) -> std::optional<std::string> {
    if (!body.is_object() || !body.contains(key) || !body[key].is_string()) return std::nullopt;
    return body[key].get<std::string>();
  };
  LearningRule rule;
  rule.kind = text("kind").value_or("");
  rule.article = text("article").value_or("");
  rule.pattern = text("pattern").value_or("");
  if (rule.kind != "pin" && rule.kind != "block") {
    SendError(res, 400, "invalid_rule",
              "Send {\"kind\": \"pin\", \"pattern\": \"phrase\", \"article\": \"id\"} or "
              "{\"kind\": \"block\", \"article\": \"id\"}.");
    return;
  }
  if (rule.kind == "pin" && (rule.pattern.empty() || rule.pattern.size() > 200)) {
    SendError(res, 400, "invalid_rule", "A pin's \"pattern\" must be 1 to 200 bytes of text.");
    return;
  }
  if (rule.kind == "block") rule.pattern.clear();
  auto articles = store->Articles(site->name);
  if (!articles.ok()) {
    SendError(res, 503, "store_unavailable", articles.status().message());
    return;
  }
  if (std::none_of(articles.value().begin(), articles.value().end(),
                   [&](const Article& a) { return a.id == rule.article; })) {
    SendError(res, 400, "unknown_article",
              "There is no article \"" + rule.article + "\" on site \"" + site->name + "\".");
    return;
  }
  auto id = store->AddLearningRule(site->name, rule);
  if (!id.ok()) {
    SendError(res, 503, "store_unavailable", id.status().message());
    return;
  }
  SendJson(res, 201,
           {{"id", id.value()},
            {"kind", rule.kind},
            {"pattern", rule.pattern},
            {"article", rule.article}});
}

void Server::Impl::DeleteRule(const Request& req, Response& res) {
  auto site = LoadSite(req.matches[1], res);
  if (!site || !CheckAdmin(req, res, &*site)) return;
  const std::string which = req.matches[2];
  char* end = nullptr;
  const long long id = std::strtoll(which.c_str(), &end, 10);
  auto deleted = *end ? Result<bool>(false) : store->DeleteLearningRule(site->name, id);
  if (!deleted.ok()) {
    SendError(res, 503, "store_unavailable", deleted.status().message());
    return;
  }
  if (!deleted.value()) {
    SendError(res, 404, "rule_not_found", "There is no rule \"" + which + "\".");
    return;
  }
  SendJson(res, 200, {{"deleted", id}});
}

void Server::Impl::LearnPeriodically() {
  std::unique_lock<std::mutex> lock(learning_mu);
  while (!learning_cv.wait_for(lock, std::chrono::seconds(options.learn_every_seconds),
                               [&] { return learning_stop; })) {
    lock.unlock();
    auto sites = store->ListSites();
    for (const Site& site : sites.ok() ? sites.value() : std::vector<Site>()) {
      auto current = store->CurrentVersion(site.name);
      if (!current.ok() || !current.value()) continue;
      auto r = learner.Run(site.name, NowMs());
      if (!r.ok()) {
        LogError("periodic training failed",
                 {{"site", site.name}, {"error", r.status().message()}});
      } else if (r.value().signals || r.value().resolutions) {
        LogInfo("trained", {{"site", site.name},
                            {"outcome", r.value().outcome},
                            {"signals", r.value().signals},
                            {"accepted", r.value().accepted},
                            {"changes", r.value().changes.size()},
                            {"ms", std::round(r.value().total_ms)}});
      }
    }
    lock.lock();
  }
}

void Server::Impl::Analytics(const Request& req, Response& res) {
  auto site = LoadSite(req.matches[1], res);
  if (!site || !CheckAdmin(req, res, &*site)) return;
  auto counts = store->SignalCountsByDay(site->name);
  if (!counts.ok()) {
    SendError(res, 503, "store_unavailable", counts.status().message());
    return;
  }
  json days = json::array();
  int64_t total = 0;
  for (const SignalCounts& c : counts.value()) {
    if (days.empty() || days.back()["day"] != c.day) {
      days.push_back({{"day", c.day}, {"events", json::object()}});
    }
    days.back()["events"][c.type] = c.events;
    total += c.events;
  }
  json out = {{"site", site->name}, {"signals", total}, {"days", days}, {"version", nullptr}};
  if (auto current = store->CurrentVersion(site->name); current.ok() && current.value()) {
    out["version"] = current.value()->version;
  }
  auto outcomes = store->QueryOutcomes(site->name);
  auto versions = store->Versions(site->name);
  if (!outcomes.ok() || !versions.ok()) {
    SendError(res, 503, "store_unavailable",
              (outcomes.ok() ? versions.status() : outcomes.status()).message());
    return;
  }
  out.update(OutcomeAnalytics(outcomes.value(), versions.value()));
  SendJson(res, 200, out);
}

void Server::Impl::Healthz(const Request&, Response& res) {
  SendJson(res, 200, {{"status", "ok"}});
}

void Server::Impl::Prometheus(const Request&, Response& res) {
  std::vector<std::pair<std::string, int64_t>> versions;
  if (auto sites = store->ListSites(); sites.ok()) {
    for (const Site& s : sites.value()) {
      auto v = store->CurrentVersion(s.name);
      if (v.ok() && v.value()) versions.emplace_back(s.name, v.value()->version);
    }
  }
  auto size = store->SizeBytes();
  res.status = 200;
  res.set_content(metrics.Render(versions, size.ok() ? size.value() : 0),
                  "text/plain; version=0.0.4");
}

Server::Server(Store* store, BundleFiles* bundles, Publisher* publisher, ServerOptions options)
    : impl_(std::make_unique<Impl>(store, bundles, publisher, std::move(options))) {
  Impl& s = *impl_;
  const size_t threads = s.options.threads;
  s.http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.http.set_payload_max_length(s.options.max_body_bytes);
  s.http.set_read_timeout(10);
  s.http.set_write_timeout(30);
  s.http.set_keep_alive_max_count(1000);
  s.http.set_keep_alive_timeout(5);
  s.http.set_tcp_nodelay(true);
  // cpp-httplib's default adds SO_REUSEPORT, which would let a second server share a port that
  // is in use; SO_REUSEADDR alone only allows rebinding past TIME_WAIT. The socket is kept, for
  // Bind to lengthen its queue.
  s.http.set_socket_options([&s](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    s.listening = static_cast<int>(sock);
  });
  // Runs once the headers are read, before any body is.
  s.http.set_pre_routing_handler([&s](const Request& req, Response& res) {
    current_route = nullptr;
    request_start = Clock::now();
    request_started = true;
    // cpp-httplib 0.11 reads a chunked body whole, past the payload limit: every client of this
    // API can send a Content-Length, so none is taken.
    if (req.has_header("Transfer-Encoding")) {
      RefuseUnread(res, 411, "length_required",
                   "Send the body with a Content-Length, without Transfer-Encoding.");
      return httplib::Server::HandlerResponse::Handled;
    }
    // A request with no Content-Length has an empty body (RFC 9112, 6.3), but cpp-httplib 0.11
    // waits for the connection to close to read one, so a bodiless POST would hang until the read
    // timeout. Say the length it has. (`req` is the server's own request, handed over as const.)
    if (!req.has_header("Content-Length")) {
      const_cast<Request&>(req).headers.emplace("Content-Length", "0");
    }
    // Signal batches are small: refuse a larger one before reading it, whoever sends it.
    const std::string& path = req.path;
    const std::string tail = "/signals";
    if (req.method == "POST" && path.size() > tail.size() &&
        path.compare(path.size() - tail.size(), tail.size(), tail) == 0 &&
        std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10) >
            s.options.limits.max_body_bytes) {
      current_route = "/v1/sites/{site}/signals";
      s.metrics.CountRejectedBatch("body_too_large");
      // A browser reads the refusal only with the site's CORS headers (unread, the widget would
      // take it for an outage and send the batch again and again).
      static const std::regex kSignalsPath("/v1/sites/([^/]+)/signals");
      std::smatch m;
      if (req.has_header("Origin") && std::regex_match(path, m, kSignalsPath)) {
        Response scratch;
        if (auto site = s.LoadSite(m[1].str(), scratch);
            site && s.CheckOrigin(req, scratch, *site)) {
          for (const char* name : {"Access-Control-Allow-Origin", "Vary"}) {
            res.set_header(name, scratch.get_header_value(name));
          }
        }
      }
      RefuseUnread(res, 413, "body_too_large",
                   "A signal batch is at most " +
                       std::to_string(s.options.limits.max_body_bytes / 1024) + " KB.");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.http.set_error_handler(httplib::Server::HandlerWithResponse([&s](const Request& req,
                                                                     Response& res) {
    if (res.status == 404 && !current_route) {
      std::string allow;
      for (const auto& [method, pattern] : s.routes) {
        if (std::regex_match(req.path, pattern) && allow.find(method) == std::string::npos) {
          allow += (allow.empty() ? "" : ", ") + method + (method == "GET" ? ", HEAD" : "");
        }
      }
      if (!allow.empty()) {
        res.set_header("Allow", allow);
        SendError(res, 405, "method_not_allowed",
                  req.method.substr(0, 16) + " is not allowed here; use " + allow + ".");
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    if (res.status == 413 &&
        req.get_header_value("Content-Type").rfind("application/x-www-form-urlencoded", 0) == 0) {
      // curl's --data-binary sends this type unless told otherwise; the HTTP library caps it.
      SendError(res, 413, "body_too_large",
                "A form-encoded body is at most 8 KB: send the file with its own Content-Type "
                "(application/json, application/x-ndjson or text/csv).");
      return httplib::Server::HandlerResponse::Handled;
    }
    // An answer of RefuseUnread's (its body comes from a content provider) is left as it is.
    if (res.body.empty() && res.status != 304 && !res.has_header("Connection")) {
      SendError(res, res.status, DefaultCode(res.status), DefaultMessage(res.status));
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  }));
  s.http.set_exception_handler([](const Request&, Response& res, std::exception_ptr) {
    SendError(res, 500, "internal_error", "The server failed to answer; try again.");
  });
  s.http.set_logger([this](const Request& req, const Response& res) {
    const char* route = current_route ? current_route : "unmatched";
    const double seconds =
        request_started ? std::chrono::duration<double>(Clock::now() - request_start).count() : 0;
    request_started = false;
    current_route = nullptr;
    impl_->metrics.ObserveRequest(route, req.method, res.status, seconds);
    // Successful widget traffic is counted above, not logged line by line.
    const std::string r = route;
    const bool widget = r == "/v1/sites/{site}/signals" || r == "/v1/sites/{site}/manifest" ||
                        r == "/v1/bundles/{sha256}" || r == "/widget/{file}" ||
                        r == "/admin/{file}" || r == "/{page}" || r == "/healthz" ||
                        r == "/metrics";
    if (widget && res.status < 400) return;
    json fields = {{"route", route},
                   {"method", req.method.substr(0, 16)},
                   {"status", res.status},
                   {"ms", std::round(seconds * 1e4) / 10}};
    if (res.status >= 500) {
      LogError("request", fields);
    } else if (res.status >= 400) {
      LogWarning("request", fields);
    } else {
      LogInfo("request", fields);
    }
  });
  s.Install();
}

Server::~Server() = default;

Status Server::Bind() {
  Impl& s = *impl_;
  errno = 0;
  if (s.options.port == 0) {
    s.bound_port = s.http.bind_to_any_port(s.options.host);
    if (s.bound_port < 0) s.bound_port = -1;
  } else if (s.http.bind_to_port(s.options.host, s.options.port)) {
    s.bound_port = s.options.port;
  }
  // cpp-httplib listens with a queue of 5 connections: a burst of new ones (many widgets at once)
  // overflows it, and TCP retries them a second later or drops them.
  if (s.bound_port > 0 && s.listening >= 0) ::listen(s.listening, SOMAXCONN);
  if (s.bound_port <= 0) {
    const int err = errno;
    const std::string where = s.options.host + ":" + std::to_string(s.options.port);
    if (err == EADDRINUSE) {
      return Status::Error("cannot listen on " + where +
                           ": the port is already in use (pick another with --listen)");
    }
    return Status::Error("cannot listen on " + where + " (" +
                         (err ? std::strerror(err) : "address not usable") + ")");
  }
  return Status::Ok();
}

int Server::port() const {
  return impl_->bound_port;
}

Status Server::Run() {
  Impl& s = *impl_;
  if (s.options.learn_every_seconds > 0) {
    s.learning_thread = std::thread([&s] { s.LearnPeriodically(); });
  }
  const bool listened = s.http.listen_after_bind();
  if (s.learning_thread.joinable()) {
    {
      std::lock_guard<std::mutex> lock(s.learning_mu);
      s.learning_stop = true;
    }
    s.learning_cv.notify_all();
    s.learning_thread.join();
  }
  if (!listened) return Status::Error("the listening socket failed");
  return Status::Ok();
}

void Server::Stop() {
  impl_->http.stop();
}

}  // namespace loopwise
