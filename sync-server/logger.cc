#include "logger.h"

#include <cstdio>
#include <ctime>
#include <mutex>

#include "store.h"

namespace loopwise {
namespace {

std::mutex log_mu;

void Log(const char* level, const std::string& msg, nlohmann::json fields) {
  nlohmann::json line = {{"ts", IsoTime(NowMs())}, {"level", level}, {"msg", msg}};
  if (fields.is_object()) line.update(fields);
  // Replace rather than throw on bytes that are not UTF-8: a log line must never fail.
  const std::string text =
      line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::lock_guard<std::mutex> lock(log_mu);
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

}  // namespace

std::string IsoTime(int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

void LogInfo(const std::string& msg, nlohmann::json fields) {
  Log("info", msg, std::move(fields));
}
void LogWarning(const std::string& msg, nlohmann::json fields) {
  Log("warning", msg, std::move(fields));
}
void LogError(const std::string& msg, nlohmann::json fields) {
  Log("error", msg, std::move(fields));
}

}  // namespace loopwise
