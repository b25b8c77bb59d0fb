#pragma once
// The escalation model fitted from the learning pipeline's observations, and put into a bundle.
//
// Each question the widget answered becomes an example: the engine's confidence (0 when the engine
// declined), how many questions its session asked before it and how many of those were marked not
// helpful, the frustration cues in its (scrubbed) words, its customer's segments, and whether it
// ended in an escalation. Questions with no session order (helpdesk-only
// resolutions) are left out, and so are forged sessions and bursts (by the publisher).

#include <cstdint>
#include <vector>

#include "engine/escalation_model.h"
#include "engine/status.h"
#include "exemplar_learner.h"

namespace loopwise {

EscalationModel FitEscalation(const std::vector<Observation>& observations);

// `bundle` with its escalation sections (ESCL and ESCX) set to `model` (see Bundle::WithSection).
Result<std::vector<uint8_t>> WithEscalation(const std::vector<uint8_t>& bundle,
                                            const EscalationModel& model);

}  // namespace loopwise
