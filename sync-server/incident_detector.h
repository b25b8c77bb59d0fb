#pragma once
// Spikes and incidents: a sudden rise in one kind of question, or in questions on one page, is
// often a bug or an outage showing up in the help panel.
//
// Every question (the "query" event of a query_id) is counted, in 5-minute windows of its
// timestamp, under four kinds of key: its query clusters (clustered online in the site's embedding
// space, like gaps but over all questions; a question counts towards its few nearest clusters, as
// one kind of question often spans neighbours), its words (a new kind of question brings its own,
// "ticket" or an error code, before its phrasings settle into a cluster), the article the site's
// engine answers it with (a cluster the knowledge base defines; declined questions share one key)
// and its route. A session counts once per key and window, so one customer rephrasing a question is
// not a spike. Each key keeps a baseline per hour of the day (an EWMA of its 5-minute counts; a
// rare key leans on its all-day level shaped by the whole site's daily rhythm; a word, of which
// there are many, keeps its all-day level only), so the daily rhythm of traffic is expected, not
// alarming. When a window closes, the last 5 to 60 minutes are tested against their
// baseline with a negative-binomial upper tail (the baseline's own uncertainty allowed for), a
// minimum count and a minimum ratio; a key that passes opens an incident unless one is already
// open for the same page (one spike seen by its cluster, its article and its page is one
// incident), and the incident resolves once the key's last half hour is back near baseline
// (hysteresis). Baselines do not learn from a key's open incident, and keys seen during the
// site's first day are not tested until a day of baseline exists.
//
// Time comes from signal timestamps and `now_ms`, never the wall clock, so the detector runs in
// simulated time. State (cursor, clusters, baselines, incidents) lives in the store.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/status.h"
#include "gap_finder.h"
#include "store.h"

namespace loopwise {

struct Incident {
  int64_t id = 0;       // stable per site, increasing
  std::string status;   // "open" or "resolved"
  std::string label;    // its most central question ("Questions on <route>" when none has text)
  std::string route;    // the route it concerns (a route incident), else the cluster's top page
  int64_t count = 0;    // questions in the window that raised it (the largest while open)
  double baseline = 0;  // questions expected in that window
  int64_t first_seen_ms = 0;          // start of the window that raised it
  int64_t last_seen_ms = 0;           // last question counted towards it
  int64_t resolved_ms = 0;            // 0 while open
  std::vector<std::string> examples;  // scrubbed questions
  std::vector<GapPage> pages;         // routes of its questions, most first
};

// Reads the site's signals stored since the last call, advances the detector to `now_ms` (closing
// every 5-minute window that ended by then) and stores its state. Returns the incidents opened by
// this call. Calls are serialized within a process. Fails (leaving the stored state as it was) when
// the store fails or holds state this code cannot read.
Result<std::vector<Incident>> UpdateIncidents(Store* store, const std::string& site,
                                              const Engine& engine, int64_t now_ms);

// P(X >= k) for X negative binomial with this mean and shape: a Poisson count whose rate is
// Gamma-distributed with that shape (the larger the shape, the closer to Poisson).
double NegativeBinomialUpperTail(int64_t k, double mean, double shape);

// The position in the site's signal log up to which the detector has read (0 before it has).
Result<int64_t> IncidentsReadUpTo(Store* store, const std::string& site);

// The site's incidents (the most recent 200), open ones first, then newest first.
Result<std::vector<Incident>> ListIncidents(Store* store, const std::string& site);

// An incident as GET /v1/sites/{site}/incidents (and the generic webhook) shows it: {"id",
// "status", "label", "route", "count", "baseline", "first_seen", "last_seen", "resolved_at",
// "examples", "pages": [{"route", "count"}]} (ISO 8601 times; resolved_at null while open).
nlohmann::json IncidentJson(const Incident& incident);

}  // namespace loopwise
