#pragma once
// SHA-256 digests, as lowercase hex: bundle names, manifest checksums and stored token hashes;
// and HMAC-SHA-256, for verified customers' signatures.

#include <string>
#include <string_view>

namespace loopwise {

// The SHA-256 of `bytes` as 64 lowercase hex digits.
std::string Sha256Hex(std::string_view bytes);

// The HMAC-SHA-256 of `message` under `key` as 64 lowercase hex digits (RFC 2104).
std::string HmacSha256Hex(std::string_view key, std::string_view message);

}  // namespace loopwise
