#pragma once
// Resolution priors counted from the learning pipeline's observations, and put into a bundle.
//
// Each question counts under its page (a folded route) and under the customer's segments (the
// context keys the operator lets signals carry, e.g. "plan=pro"). The article the customer
// resolved with gains a resolution there; the article shown first gains a miss when the customer
// found it not helpful, escalated, or resolved with another one. Each session counts at most once
// per key and article, and questions the guardrails rejected count nothing (the publisher leaves
// out forged sessions and bursts altogether), so a few sessions cannot move the priors much.

#include <cstdint>
#include <vector>

#include "engine/article.h"
#include "engine/resolution_priors.h"
#include "engine/status.h"
#include "exemplar_learner.h"

namespace loopwise {

ResolutionPriors CountPriors(const std::vector<Observation>& observations,
                             const std::vector<Article>& articles);

// `bundle` with its priors section set to `priors` (see Bundle::WithSection).
Result<std::vector<uint8_t>> WithPriors(const std::vector<uint8_t>& bundle,
                                        const ResolutionPriors& priors);

}  // namespace loopwise
