#pragma once
// A site's credentials: the public site key the widget sends (X-Loopwise-Key) and the secret admin
// token operators send as a bearer token. Only the token's SHA-256 is ever stored.

#include <string>
#include <string_view>

#include "engine/status.h"

namespace loopwise {

// "pk_" + 32 hex digits from the kernel's random source.
Result<std::string> NewSiteKey();
// "sk_" + 64 hex digits from the kernel's random source.
Result<std::string> NewAdminToken();
// "id_" + 64 hex digits from the kernel's random source: a site's identity secret, which its own
// backend signs customer ids with (customer_identity.h).
Result<std::string> NewIdentitySecret();

// What is stored for a token: its SHA-256, hex.
std::string HashToken(std::string_view token);

// Compares in time independent of where the strings first differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace loopwise
