#pragma once
// Cutting text that may hold any language without cutting a character in two: a cut UTF-8
// character makes JSON serialisation throw and PostgreSQL refuse the text.

#include <string>
#include <string_view>

namespace loopwise {

// At most `max_bytes` of `s`, cut before a character rather than through one.
inline std::string Utf8Prefix(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  size_t n = max_bytes;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n));
}

}  // namespace loopwise
