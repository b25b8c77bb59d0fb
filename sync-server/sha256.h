#pragma once
// SHA-256 digests, as lowercase hex: bundle names, manifest checksums and stored token hashes.

#include <string>
#include <string_view>

namespace loopwise {

// The SHA-256 of `bytes` as 64 lowercase hex digits.
std::string Sha256Hex(std::string_view bytes);

}  // namespace loopwise
