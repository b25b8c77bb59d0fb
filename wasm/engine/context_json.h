#pragma once
// The customer's segments in a context object as the widget passes it, for the bindings (search)
// and the server (learning), so both name them alike.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/context.h"

namespace loopwise {

// SegmentKey of each string, whole number or boolean attribute of `context`, at most eight.
inline std::vector<std::string> ContextSegments(const nlohmann::json& context) {
  constexpr size_t kMaxSegments = 8;
  std::vector<std::string> out;
  if (!context.is_object()) return out;
  for (const auto& [key, value] : context.items()) {
    std::string text;
    if (value.is_string()) {
      text = value.get<std::string>();
    } else if (value.is_boolean()) {
      text = value.get<bool>() ? "true" : "false";
    } else if (value.is_number_unsigned()) {
      text = std::to_string(value.get<uint64_t>());
    } else if (value.is_number_integer()) {
      text = std::to_string(value.get<int64_t>());
    } else {
      continue;
    }
    std::string segment = SegmentKey(key, text);
    if (!segment.empty()) out.push_back(std::move(segment));
    if (out.size() == kMaxSegments) break;
  }
  return out;
}

}  // namespace loopwise
