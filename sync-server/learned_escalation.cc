#include "learned_escalation.h"

#include <algorithm>
#include <map>

#include "engine/bundle.h"

namespace loopwise {

EscalationModel FitEscalation(const std::vector<Observation>& observations) {
  std::map<std::string, std::vector<const Observation*>> sessions;
  for (const Observation& o : observations) {
    if (o.session.empty() || o.session == "helpdesk" || o.bundle.empty()) continue;
    sessions[o.session].push_back(&o);
  }
  std::vector<EscalationExample> examples;
  for (auto& [session, list] : sessions) {
    std::stable_sort(list.begin(), list.end(),
                     [](const Observation* a, const Observation* b) { return a->ts < b->ts; });
    int not_helpful = 0;
    for (size_t i = 0; i < list.size(); ++i) {
      const Observation& o = *list[i];
      EscalationExample e;
      e.features.gap = o.shown.empty();
      e.features.confidence =
          e.features.gap ? 0.0f : static_cast<float>(std::max(0.0, o.confidence));
      e.features.earlier_questions = static_cast<int>(i);
      e.features.not_helpful = not_helpful;
      e.features.frustration = FrustrationCues(o.text);
      e.features.segments = o.segments;
      e.escalated = o.escalated;
      examples.push_back(e);
      not_helpful += !o.not_helpful.empty();
    }
  }
  return EscalationModel::Fit(examples);
}

Result<std::vector<uint8_t>> WithEscalation(const std::vector<uint8_t>& bundle,
                                            const EscalationModel& model) {
  ByteWriter w;
  model.Serialize(&w);
  auto with =
      Bundle::WithSection(bundle.data(), bundle.size(), Section::kEscalation, std::move(w.bytes()));
  if (!with.ok()) return with;
  ByteWriter cues;
  model.SerializeCues(&cues);
  return Bundle::WithSection(with.value().data(), with.value().size(), Section::kEscalationCues,
                             std::move(cues.bytes()));
}

}  // namespace loopwise
