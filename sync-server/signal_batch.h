#pragma once
// The signal wire format (DESIGN.md, "HTTP API v1"): a body {"batch_id": id, "events": [...]}
// checked against every limit, with each free-text field scrubbed again on arrival.
//
// An event: {"type": "query|shown|resolved|not_helpful|escalated|abandoned", "ts": ms,
// "session": id, "query_id": id, "query": text, "bundle": version, "context": {...},
// "shown": [article ids], "article": id, "confidence": 0..1, "customer": id,
// "customer_signature": hex}. "type" and "ts" are required; unknown fields are ignored. The
// customer fields are checked by VerifyCustomers (customer_identity.h), never stored.

#include <cstddef>
#include <string>
#include <string_view>

#include "store.h"

namespace loopwise {

struct SignalLimits {
  size_t max_body_bytes = 256 * 1024;
  size_t max_events = 500;
  size_t max_string_bytes = 2048;
  size_t max_depth = 8;   // nesting of arrays and objects, the body itself being 1
  size_t max_shown = 50;  // ids in "shown"
  size_t max_context_keys = 32;
};

// Why a batch was refused: `code` is the API's snake_case error code and the /metrics reason,
// `message` a sentence naming the field ("events[3].ts must be a number of milliseconds").
struct SignalRejection {
  int http_status = 400;
  std::string code;
  std::string message;
};

// Parses and validates a request body into a batch for `site`, scrubbing "query" and the
// context's string values. On failure returns false and fills `rejection`.
bool ParseSignalBatch(std::string_view body, const std::string& site, const SignalLimits& limits,
                      SignalBatch* batch, SignalRejection* rejection);

// The deepest nesting of arrays and objects in JSON text (strings skipped), stopping early once
// past `limit`; used to refuse deep documents before they reach the parser.
size_t JsonDepth(std::string_view text, size_t limit);

}  // namespace loopwise
