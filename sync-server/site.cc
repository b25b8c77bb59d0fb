#include "site.h"

#include <cctype>

namespace loopwise {

Status CheckSiteName(std::string_view name) {
  auto ok_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  };
  bool ok = !name.empty() && name.size() <= 64 && name[0] != '-' && name[0] != '_';
  for (char c : name) ok = ok && ok_char(c);
  if (!ok) {
    return Status::Error(
        "site name \"" + std::string(name.substr(0, 80)) +
        "\" must be 1 to 64 lowercase letters, digits, '-' or '_', starting with a "
        "letter or digit");
  }
  return Status::Ok();
}

Result<std::string> NormalizeOrigin(std::string_view origin) {
  const std::string shown = "origin \"" + std::string(origin.substr(0, 200)) + "\"";
  std::string lower;
  for (char c : origin) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string scheme;
  if (lower.rfind("https://", 0) == 0) {
    scheme = "https";
  } else if (lower.rfind("http://", 0) == 0) {
    scheme = "http";
  } else {
    return Status::Error(shown + " must start with https:// or http://");
  }
  std::string rest = lower.substr(scheme.size() + 3);
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty()) return Status::Error(shown + " has no host");
  for (char c : rest) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
                    c == ':' || c == '[' || c == ']';
    if (!ok) {
      return Status::Error(shown + " must be scheme://host[:port] with no path, query or user");
    }
  }
  const size_t colon = rest.rfind(':');
  if (colon != std::string::npos && rest.find(']') == std::string::npos) {
    const std::string port = rest.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) > 65535) {
      return Status::Error(shown + " has a bad port");
    }
    if ((scheme == "https" && port == "443") || (scheme == "http" && port == "80")) {
      rest = rest.substr(0, colon);
    }
  }
  return scheme + "://" + rest;
}

Status CheckSiteMode(std::string_view mode) {
  if (mode == "review" || mode == "autonomous") return Status::Ok();
  return Status::Error("mode must be \"review\" or \"autonomous\" (got \"" +
                       std::string(mode.substr(0, 40)) + "\")");
}

}  // namespace loopwise
