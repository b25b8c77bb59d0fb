#include "signal_batch.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "customer_identity.h"
#include "engine/scrubber.h"

namespace loopwise {
namespace {

using nlohmann::json;

constexpr const char* kTypes[] = {"query",       "shown",     "resolved",
                                  "not_helpful", "escalated", "abandoned"};

bool Reject(SignalRejection* r, int status, const char* code, std::string message) {
  *r = {status, code, std::move(message)};
  return false;
}

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// A NUL character is no customer's text; PostgreSQL cannot store one in text either.
bool HasNul(const std::string& s) {
  return s.find('\0') != std::string::npos;
}

// Reads an optional string field into *out, enforcing the length limit.
bool GetString(const json& event, const char* key, const std::string& where,
               const SignalLimits& limits, std::string* out, SignalRejection* r) {
  auto it = event.find(key);
  if (it == event.end() || it->is_null()) return true;
  if (!it->is_string()) {
    return Reject(r, 400, "invalid_signal",
                  where + "." + key + " must be a string (got " + it->type_name() + ")");
  }
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > limits.max_string_bytes) {
    return Reject(r, 400, "string_too_long",
                  where + "." + key + " is longer than " + std::to_string(limits.max_string_bytes) +
                      " bytes");
  }
  if (HasNul(s)) {
    return Reject(r, 400, "invalid_signal", where + "." + key + " contains a NUL character");
  }
  *out = s;
  return true;
}

bool ParseEvent(const json& e, const std::string& where, const SignalLimits& limits,
                SignalEvent* out, SignalRejection* r) {
  if (!e.is_object()) {
    return Reject(r, 400, "invalid_signal",
                  where + " must be an object (got " + e.type_name() + ")");
  }
  auto type = e.find("type");
  if (type == e.end() || !type->is_string()) {
    return Reject(r, 400, "invalid_signal",
                  where +
                      ".type must be one of query, shown, "
                      "resolved, not_helpful, escalated, abandoned");
  }
  bool known = false;
  for (const char* t : kTypes) known = known || *type == t;
  if (!known) {
    return Reject(r, 400, "invalid_signal",
                  where + ".type \"" + type->get<std::string>().substr(0, 40) +
                      "\" is not one of query, shown, resolved, not_helpful, escalated, abandoned");
  }
  out->type = type->get<std::string>();
  auto ts = e.find("ts");
  if (ts == e.end() || !ts->is_number() || !std::isfinite(ts->get<double>()) ||
      ts->get<double>() < 0 || ts->get<double>() > 1e15) {
    return Reject(r, 400, "invalid_signal",
                  where + ".ts must be a non-negative number of milliseconds since 1970");
  }
  out->ts = static_cast<int64_t>(ts->get<double>());
  if (!GetString(e, "session", where, limits, &out->session, r) ||
      !GetString(e, "query_id", where, limits, &out->query_id, r) ||
      !GetString(e, "query", where, limits, &out->query, r) ||
      !GetString(e, "bundle", where, limits, &out->bundle, r) ||
      !GetString(e, "article", where, limits, &out->article, r) ||
      !GetString(e, "customer", where, limits, &out->customer, r) ||
      !GetString(e, "customer_signature", where, limits, &out->customer_signature, r)) {
    return false;
  }
  if (IsCustomerSession(out->session)) {
    return Reject(r, 400, "invalid_signal",
                  where + ".session may not start with \"" + std::string(kCustomerSessionPrefix) +
                      "\": the server gives those to verified customers");
  }
  out->query = Scrub(out->query).text;

  if (auto it = e.find("context"); it != e.end() && !it->is_null()) {
    if (!it->is_object()) {
      return Reject(r, 400, "invalid_signal",
                    where + ".context must be an object (got " + it->type_name() + ")");
    }
    if (it->size() > limits.max_context_keys) {
      return Reject(
          r, 400, "invalid_signal",
          where + ".context has more than " + std::to_string(limits.max_context_keys) + " keys");
    }
    json context = json::object();
    for (const auto& [key, value] : it->items()) {
      if (key.size() > limits.max_string_bytes) {
        return Reject(r, 400, "string_too_long", where + ".context has a key that is too long");
      }
      if (HasNul(key) || (value.is_string() && HasNul(value.get_ref<const std::string&>()))) {
        return Reject(r, 400, "invalid_signal", where + ".context contains a NUL character");
      }
      const std::string field = where + ".context." + key.substr(0, 40);
      // Keys are scrubbed like values: they reach learned priors, and so the public bundle.
      const std::string clean_key = Scrub(key).text;
      if (value.is_string()) {
        if (value.get_ref<const std::string&>().size() > limits.max_string_bytes) {
          return Reject(
              r, 400, "string_too_long",
              field + " is longer than " + std::to_string(limits.max_string_bytes) + " bytes");
        }
        context[clean_key] = Scrub(value.get_ref<const std::string&>()).text;
      } else if (value.is_number()) {
        // A number may be a card or an account number too: scrubbed as its text.
        const std::string text = value.dump();
        const std::string scrubbed = Scrub(text).text;
        context[clean_key] = scrubbed == text ? value : json(scrubbed);
      } else if (value.is_boolean() || value.is_null()) {
        context[clean_key] = value;
      } else {
        return Reject(
            r, 400, "invalid_signal",
            field + " must be a string, number or boolean (got " + value.type_name() + ")");
      }
    }
    out->context_json = context.dump();
  }

  if (auto it = e.find("shown"); it != e.end() && !it->is_null()) {
    if (!it->is_array()) {
      return Reject(r, 400, "invalid_signal",
                    where + ".shown must be a list of article ids (got " + it->type_name() + ")");
    }
    if (it->size() > limits.max_shown) {
      return Reject(r, 400, "invalid_signal",
                    where + ".shown has more than " + std::to_string(limits.max_shown) + " ids");
    }
    for (const auto& id : *it) {
      if (!id.is_string()) {
        return Reject(r, 400, "invalid_signal",
                      where + ".shown must hold only strings (got " + id.type_name() + ")");
      }
      if (id.get_ref<const std::string&>().size() > limits.max_string_bytes) {
        return Reject(r, 400, "string_too_long", where + ".shown has an id that is too long");
      }
      if (HasNul(id.get_ref<const std::string&>())) {
        return Reject(r, 400, "invalid_signal", where + ".shown contains a NUL character");
      }
    }
    out->shown_json = it->dump();
  }

  if (auto it = e.find("confidence"); it != e.end() && !it->is_null()) {
    if (!it->is_number() || !(it->get<double>() >= 0 && it->get<double>() <= 1)) {
      return Reject(r, 400, "invalid_signal", where + ".confidence must be a number from 0 to 1");
    }
    out->confidence = it->get<double>();
  }
  return true;
}

}  // namespace

size_t JsonDepth(std::string_view text, size_t limit) {
  size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

bool ParseSignalBatch(std::string_view body, const std::string& site, const SignalLimits& limits,
                      SignalBatch* batch, SignalRejection* r) {
  if (body.size() > limits.max_body_bytes) {
    return Reject(r, 413, "body_too_large",
                  "the request body is larger than " + std::to_string(limits.max_body_bytes) +
                      " bytes; send fewer events per batch");
  }
  if (JsonDepth(body, limits.max_depth) > limits.max_depth) {
    return Reject(r, 400, "too_deep",
                  "the JSON nests deeper than " + std::to_string(limits.max_depth) + " levels");
  }
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) {
    return Reject(r, 400, "invalid_json",
                  "the request body is not valid JSON (or not valid UTF-8)");
  }
  if (!j.is_object()) {
    return Reject(r, 400, "invalid_batch",
                  std::string("the body must be an object {\"batch_id\", \"events\"} (got ") +
                      j.type_name() + ")");
  }
  auto id = j.find("batch_id");
  if (id == j.end() || !id->is_string() || id->get_ref<const std::string&>().empty() ||
      id->get_ref<const std::string&>().size() > 64) {
    return Reject(r, 400, "invalid_batch",
                  "batch_id must be a string of 1 to 64 characters (a uuid)");
  }
  for (char c : id->get_ref<const std::string&>()) {
    if (!IsIdChar(c)) {
      return Reject(r, 400, "invalid_batch",
                    "batch_id may hold only letters, digits, '-' and '_' (a uuid)");
    }
  }
  auto events = j.find("events");
  if (events == j.end() || !events->is_array()) {
    return Reject(r, 400, "invalid_batch", "events must be a list of signal events");
  }
  if (events->empty()) return Reject(r, 400, "invalid_batch", "events must not be empty");
  if (events->size() > limits.max_events) {
    return Reject(r, 413, "too_many_events",
                  "a batch holds at most " + std::to_string(limits.max_events) + " events (got " +
                      std::to_string(events->size()) + ")");
  }
  batch->site = site;
  batch->batch_id = id->get<std::string>();
  batch->events.clear();
  batch->events.reserve(events->size());
  for (size_t i = 0; i < events->size(); ++i) {
    SignalEvent e;
    if (!ParseEvent((*events)[i], "events[" + std::to_string(i) + "]", limits, &e, r)) {
      return false;
    }
    batch->events.push_back(std::move(e));
  }
  return true;
}

}  // namespace loopwise
