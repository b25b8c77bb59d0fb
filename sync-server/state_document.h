#pragma once
// The state a background pass keeps per site (gaps, incidents) as one JSON document in the store.

#include <exception>
#include <nlohmann/json.hpp>
#include <string>

#include "store.h"

namespace loopwise {

// Reads document `name` of `site` into a fresh State through `read(json, State*)`, which may throw
// on a missing or mistyped field. No document yet gives a default State; a document in another
// format or one that does not read gives an error that names `what` ("gaps") and the site.
template <typename State, typename Read>
Result<State> LoadStateDocument(Store* store, const std::string& site, const char* name,
                                const char* what, Read read) {
  auto doc = store->Document(site, name);
  if (!doc.ok()) return doc.status();
  State state;
  if (!doc.value()) return state;
  const std::string whose = std::string("the stored ") + what + " of site \"" + site + "\"";
  try {
    const nlohmann::json j = nlohmann::json::parse(*doc.value());
    if (j.at("format").get<int>() != 1) {
      return Status::Error(whose +
                           " are in a format this loopwise does not read; upgrade loopwise");
    }
    if (Status s = read(j, &state); !s.ok()) return s;
  } catch (const std::exception& e) {
    return Status::Error(whose + " are unreadable (" + e.what() + ")");
  }
  return state;
}

}  // namespace loopwise
