#include "engine/context.h"

#include <cctype>

namespace loopwise {
namespace {

constexpr size_t kMaxRouteBytes = 512;

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

bool IsIdSegment(std::string_view s) {
  size_t digits = 0, hex = 0, alpha = 0;
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (std::isdigit(u)) ++digits;
    if (std::isxdigit(u)) ++hex;
    if (std::isalpha(u)) ++alpha;
  }
  if (s.size() >= 16) return digits > 0 || alpha == s.size();  // tokens and slugs with ids
  if (digits == s.size()) return true;
  if (digits > 0 && s.size() >= 6) return true;  // "a1b2c3", "inv_2024"
  if (hex == s.size() && s.size() >= 8) return true;
  return false;
}

}  // namespace

std::string FoldRoute(std::string_view route) {
  route = route.substr(0, kMaxRouteBytes);
  // Drop scheme and host when a full URL is given, then query and fragment.
  if (size_t scheme = route.find("://"); scheme != std::string_view::npos) {
    size_t path = route.find('/', scheme + 3);
    route = path == std::string_view::npos ? std::string_view("/") : route.substr(path);
  }
  route = route.substr(0, route.find_first_of("?#"));
  std::string out;
  for (std::string_view seg : Segments(route)) {
    out.push_back('/');
    if (IsIdSegment(seg)) {
      out += ":id";
      continue;
    }
    for (char c : seg) {
      const unsigned char u = static_cast<unsigned char>(c);
      out.push_back(u < 0x80 ? static_cast<char>(std::tolower(u)) : c);
    }
  }
  return out.empty() ? "/" : out;
}

std::string SegmentKey(std::string_view key, std::string_view value) {
  constexpr size_t kMaxKeyBytes = 40, kMaxValueBytes = 64;
  if (key.empty() || value.empty() || key.size() > kMaxKeyBytes || value.size() > kMaxValueBytes ||
      key == "route" || key == "title" || key == "headings" || key == "session" ||
      key.front() == '/' || key.find('=') != std::string_view::npos) {
    return std::string();
  }
  std::string out(key);
  out += '=';
  out += value;
  return out;
}

float RouteMatch(std::string_view pattern, std::string_view folded_route) {
  const std::string folded_pattern = FoldRoute(pattern);
  const auto p = Segments(folded_pattern);
  const auto r = Segments(folded_route);
  if (p.size() > r.size()) return 0.0f;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == ":id" || p[i] == "*" || (!p[i].empty() && p[i][0] == ':')) continue;
    if (p[i] != r[i]) return 0.0f;
  }
  if (p.empty() && !r.empty()) return 0.0f;  // "/" is the home page, not every page
  return p.size() == r.size() ? 1.0f : 0.5f;
}

}  // namespace loopwise
