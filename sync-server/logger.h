#pragma once
// Structured logs: one JSON object a line on stderr, {"ts", "level", "msg", ...fields}. Callers
// pass only operational fields (route, status, ms, counts); never query text, keys or tokens.

#include <nlohmann/json.hpp>
#include <string>

namespace loopwise {

void LogInfo(const std::string& msg, nlohmann::json fields = nlohmann::json::object());
void LogWarning(const std::string& msg, nlohmann::json fields = nlohmann::json::object());
void LogError(const std::string& msg, nlohmann::json fields = nlohmann::json::object());

// UTC time as ISO 8601 with milliseconds: "2024-05-01T12:00:00.123Z".
std::string IsoTime(int64_t ms_since_epoch);

}  // namespace loopwise
