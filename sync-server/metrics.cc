#include "metrics.h"

#include <algorithm>
#include <iterator>
#include <sstream>

namespace loopwise {
namespace {

// Label values come from our own route table and codes, but escape anyway.
std::string Label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

void Metrics::ObserveRequest(const std::string& route, const std::string& method, int status,
                             double seconds) {
  // Any client can make up a method: only the known ones get a label of their own.
  const char* const known[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"};
  const bool listed = std::find(std::begin(known), std::end(known), method) != std::end(known);
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{route, listed ? method : "other", status}];
  Latency& l = latency_[route];
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++l.buckets[i];
  }
  ++l.count;
  l.sum += seconds;
}

void Metrics::CountUnverifiedCustomers(size_t events) {
  std::lock_guard<std::mutex> lock(mu_);
  customers_unverified_ += events;
}

void Metrics::CountAcceptedEvents(size_t events, bool duplicate) {
  std::lock_guard<std::mutex> lock(mu_);
  if (duplicate) {
    ++batches_duplicate_;
  } else {
    ++batches_accepted_;
    events_accepted_ += events;
  }
}

void Metrics::CountRejectedBatch(const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  ++rejected_[reason];
}

std::string Metrics::Render(const std::vector<std::pair<std::string, int64_t>>& published_versions,
                            int64_t store_bytes) const {
  std::ostringstream out;
  std::lock_guard<std::mutex> lock(mu_);
  out << "# HELP loopwise_http_requests_total HTTP requests by route, method and status.\n"
         "# TYPE loopwise_http_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    const auto& [route, method, status] = key;
    out << "loopwise_http_requests_total{route=\"" << Label(route) << "\",method=\""
        << Label(method) << "\",status=\"" << status << "\"} " << n << "\n";
  }
  out << "# HELP loopwise_http_request_duration_seconds Time to answer, by route.\n"
         "# TYPE loopwise_http_request_duration_seconds histogram\n";
  for (const auto& [route, l] : latency_) {
    const std::string r = Label(route);
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      out << "loopwise_http_request_duration_seconds_bucket{route=\"" << r << "\",le=\""
          << kBuckets[i] << "\"} " << l.buckets[i] << "\n";
    }
    out << "loopwise_http_request_duration_seconds_bucket{route=\"" << r << "\",le=\"+Inf\"} "
        << l.count << "\n";
    out << "loopwise_http_request_duration_seconds_sum{route=\"" << r << "\"} " << l.sum << "\n";
    out << "loopwise_http_request_duration_seconds_count{route=\"" << r << "\"} " << l.count
        << "\n";
  }
  out << "# HELP loopwise_signal_events_accepted_total Signal events stored.\n"
         "# TYPE loopwise_signal_events_accepted_total counter\n"
      << "loopwise_signal_events_accepted_total " << events_accepted_ << "\n";
  out << "# HELP loopwise_signal_customers_unverified_total Signal events naming a customer "
         "whose signature did not verify.\n"
         "# TYPE loopwise_signal_customers_unverified_total counter\n"
      << "loopwise_signal_customers_unverified_total " << customers_unverified_ << "\n";
  out << "# HELP loopwise_signal_batches_total Signal batches by outcome.\n"
         "# TYPE loopwise_signal_batches_total counter\n"
      << "loopwise_signal_batches_total{outcome=\"accepted\"} " << batches_accepted_ << "\n"
      << "loopwise_signal_batches_total{outcome=\"duplicate\"} " << batches_duplicate_ << "\n";
  out << "# HELP loopwise_signal_batches_rejected_total Signal batches refused, by reason.\n"
         "# TYPE loopwise_signal_batches_rejected_total counter\n";
  for (const auto& [reason, n] : rejected_) {
    out << "loopwise_signal_batches_rejected_total{reason=\"" << Label(reason) << "\"} " << n
        << "\n";
  }
  out << "# HELP loopwise_published_version The bundle version each site's widgets are served.\n"
         "# TYPE loopwise_published_version gauge\n";
  for (const auto& [site, version] : published_versions) {
    out << "loopwise_published_version{site=\"" << Label(site) << "\"} " << version << "\n";
  }
  out << "# HELP loopwise_store_bytes Size of the store on disk.\n"
         "# TYPE loopwise_store_bytes gauge\n"
      << "loopwise_store_bytes " << store_bytes << "\n";
  return out.str();
}

}  // namespace loopwise
