#pragma once
// A site: one product using Loopwise, with its credentials, allowed origins and learning mode.

#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"

namespace loopwise {

struct Site {
  std::string name;                  // [a-z0-9][a-z0-9_-]*, at most 64 characters; appears in URLs
  std::string key;                   // public site key (credentials.h)
  std::string token_hash;            // SHA-256 of the admin token
  std::vector<std::string> origins;  // normalized, e.g. "https://app.example.com"
  std::string mode = "review";       // "review" or "autonomous"
  // Verified customers (customer_identity.h): "off", "optional" or "required", and the secret the
  // site's own backend signs its customers' ids with (empty until identity is first turned on).
  std::string identity = "off";
  std::string identity_secret = "";
};

// Fails with a sentence when `name` is not a usable site name.
Status CheckSiteName(std::string_view name);

// Checks and normalizes an allowed origin: http(s)://host[:port], no path, lowercase scheme and
// host, default ports dropped. "https://App.Example.com/" -> "https://app.example.com".
Result<std::string> NormalizeOrigin(std::string_view origin);

// Fails unless mode is "review" or "autonomous".
Status CheckSiteMode(std::string_view mode);

}  // namespace loopwise
