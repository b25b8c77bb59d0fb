#pragma once
// Knowledge gaps: the questions the knowledge base does not answer, found in the signal log.
//
// A question counts towards a gap when the widget declined it (a "shown" event with nothing
// shown), when the customer escalated it, or when they marked the answer "not helpful"; each
// query_id counts once. Such questions are clustered online in the site's embedding space (the
// current bundle's encoder): a question joins the nearest cluster whose centroid is close enough,
// else it starts a new one; close clusters merge and the number of clusters is bounded. A cluster
// is ranked by its volume with recency decay, keeps a few scrubbed, diverse examples, the pages
// (folded routes) it was asked on, first and last seen, and a label (its most central example).
// A gap closes when an article starts resolving its questions ("resolved" signals for questions
// near the cluster, or helpdesk agents resolving its questions with an article), and opens again
// if declines keep coming. Agents' resolutions with no article confirm a gap.
//
// The finder reads the log from its own cursor and keeps its state in the store, so each call
// handles only what arrived since the last one, and a restart resumes where it stopped. Time comes
// from signal timestamps and `now_ms`, never the wall clock, so it runs in simulated time.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/engine.h"
#include "engine/status.h"
#include "store.h"

namespace loopwise {

struct GapPage {
  std::string route;
  int64_t count = 0;
};

struct Gap {
  int64_t id = 0;      // stable per site
  std::string label;   // the most central example
  std::string status;  // "open" or "closed"
  int64_t queries = 0;
  int64_t sessions = 0;   // distinct sessions (approximate past a few dozen a cluster)
  int64_t confirmed = 0;  // of its questions, those helpdesk agents resolved with no article
  double score = 0;       // volume with recency decay at the last update; the ranking
  std::vector<std::string> examples;
  std::vector<GapPage> pages;  // most asked first
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
};

struct GapUpdate {
  size_t signals = 0;    // signals read from the log
  size_t questions = 0;  // questions added to clusters
  size_t resolved = 0;   // resolved questions matched to a cluster (agents' included)
  size_t confirmed = 0;  // agents' resolutions with no article matched to a cluster
  size_t opened = 0;     // gaps that became open
  size_t closed = 0;     // gaps that became closed
  size_t gaps_open = 0;  // open gaps after the update
};

// Reads the site's signals and helpdesk resolutions stored since the last call, clusters the gap
// questions with `engine`'s encoder and stores the result. Calls are serialized within a process.
// Fails (leaving the stored gaps as they were) when the store fails or holds state this code cannot
// read.
Result<GapUpdate> UpdateGaps(Store* store, const std::string& site, const Engine& engine,
                             int64_t now_ms);

// The position in the site's signal log up to which the gap finder has read (0 before it has).
Result<int64_t> GapsReadUpTo(Store* store, const std::string& site);

// The site's gaps, open ones first, each group by score (highest first); empty before the first
// update.
Result<std::vector<Gap>> ListGaps(Store* store, const std::string& site);

// The query_ids of gap `id`'s questions that the finder still remembers (the newest few thousand
// of all gaps'); nullopt when the site has no such gap.
Result<std::optional<std::vector<std::string>>> GapQuestionIds(Store* store,
                                                               const std::string& site, int64_t id);

// A gap as GET /v1/sites/{site}/gaps shows it: {"id", "label", "status", "queries", "sessions",
// "confirmed", "score", "examples", "pages": [{"route", "count"}], "first_seen", "last_seen"}
// (ISO 8601 times).
nlohmann::json GapJson(const Gap& gap);

}  // namespace loopwise
