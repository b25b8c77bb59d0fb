#include "credentials.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>

#include "sha256.h"

namespace loopwise {
namespace {

Result<std::string> RandomHex(const char* prefix, size_t bytes) {
  unsigned char buf[64];
  size_t got = 0;
  while (got < bytes) {
    const ssize_t n = getrandom(buf + got, bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Error(std::string("cannot read random bytes (") + std::strerror(errno) + ")");
    }
    got += static_cast<size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = prefix;
  for (size_t i = 0; i < bytes; ++i) {
    out += kHex[buf[i] >> 4];
    out += kHex[buf[i] & 15];
  }
  return out;
}

}  // namespace

Result<std::string> NewSiteKey() {
  return RandomHex("pk_", 16);
}
Result<std::string> NewAdminToken() {
  return RandomHex("sk_", 32);
}
Result<std::string> NewIdentitySecret() {
  return RandomHex("id_", 32);
}

std::string HashToken(std::string_view token) {
  return Sha256Hex(token);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace loopwise
