#pragma once
// Verified customers. A session is whatever the widget says it is, so the learning loop's
// guardrails, which count sessions, can be outvoted by someone who makes a new session for every
// question. A site whose customers sign in can have its own backend vouch for each of them:
//
// - for a signed-in customer it picks an opaque id (a pseudonym, e.g. an HMAC of its user id under
//   a key of its own; never an e-mail address or a name) and signs it: the signature is
//   HMAC-SHA-256(the site's identity secret, id) as hex;
// - both go on the script tag (data-loopwise-customer, data-loopwise-customer-signature), and the
//   widget sends them with each event ("customer", "customer_signature");
// - on arrival the server checks the signature. A verified event is stored under the customer's
//   session for the day it arrived (kCustomerSessionPrefix + a hash of site, id and UTC day),
//   whatever session it claimed, and the id itself is never stored. So a customer is one session a
//   day however many a browser makes up, and, as with the widget's own sessions, cannot be followed
//   from one day to the next.
//
// The site's "identity" setting: "off" (the default: customer fields are ignored), "optional"
// (verified customers are counted as above, everyone else by session) or "required" (only verified
// customers' feedback teaches the learning loop; everyone is still answered, and counted in gaps,
// incidents and analytics).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/status.h"
#include "site.h"
#include "store.h"

namespace loopwise {

// Sessions that start so were made by the server for a verified customer; a widget may not claim
// one (ParseSignalBatch refuses it).
inline constexpr std::string_view kCustomerSessionPrefix = "customer:";

// Fails unless mode is "off", "optional" or "required".
Status CheckIdentityMode(std::string_view mode);

// Gives `site` a new identity secret when identity is on and it has none yet, or when `rotate`.
Status EnsureIdentitySecret(Site* site, bool rotate);

// What the site's backend computes for a customer id: HMAC-SHA-256(secret, id), lowercase hex.
std::string CustomerSignature(std::string_view secret, std::string_view customer);

// Applies the site's identity setting to a parsed batch arriving at `now_ms`: each event whose
// customer signature verifies takes that customer's session for the day. Clears the customer
// fields of every event. Returns how many events claimed a customer that did not verify.
size_t VerifyCustomers(const Site& site, int64_t now_ms, SignalBatch* batch);

bool IsCustomerSession(std::string_view session);

}  // namespace loopwise
