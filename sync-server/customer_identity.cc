#include "customer_identity.h"

#include "credentials.h"
#include "sha256.h"

namespace loopwise {

Status CheckIdentityMode(std::string_view mode) {
  if (mode == "off" || mode == "optional" || mode == "required") return Status::Ok();
  return Status::Error("identity must be \"off\", \"optional\" or \"required\" (got \"" +
                       std::string(mode.substr(0, 40)) + "\")");
}

Status EnsureIdentitySecret(Site* site, bool rotate) {
  if (!rotate && (site->identity == "off" || !site->identity_secret.empty())) return Status::Ok();
  auto secret = NewIdentitySecret();
  if (!secret.ok()) return secret.status();
  site->identity_secret = secret.value();
  return Status::Ok();
}

std::string CustomerSignature(std::string_view secret, std::string_view customer) {
  return HmacSha256Hex(secret, customer);
}

size_t VerifyCustomers(const Site& site, int64_t now_ms, SignalBatch* batch) {
  const bool on = site.identity != "off" && !site.identity_secret.empty();
  const std::string day = std::to_string(now_ms / 86'400'000);
  size_t unverified = 0;
  for (SignalEvent& e : batch->events) {
    if (on && !e.customer.empty()) {
      if (ConstantTimeEquals(e.customer_signature,
                             CustomerSignature(site.identity_secret, e.customer))) {
        e.session = std::string(kCustomerSessionPrefix) +
                    Sha256Hex(site.name + '\n' + e.customer + '\n' + day).substr(0, 32);
      } else {
        ++unverified;
      }
    }
    e.customer.clear();
    e.customer_signature.clear();
  }
  return unverified;
}

bool IsCustomerSession(std::string_view session) {
  return session.substr(0, kCustomerSessionPrefix.size()) == kCustomerSessionPrefix;
}

}  // namespace loopwise
