#pragma once
// Resolution priors counted from the learning pipeline's observations, and put into a bundle.
//
// Only questions asked on a page (a folded route) count. The article the customer resolved with
// gains a resolution on that page; the article shown first gains a miss when the customer found
// it not helpful, escalated, or resolved with another one. Each session counts at most once per
// page and article, and questions the guardrails rejected count nothing, so a burst from a few
// sessions cannot move a page's priors much.

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
