#pragma once
// Replay evaluation: a candidate bundle is asked the held-out recent questions whose right
// article is known, side by side with the current bundle, before it may be published.

#include <cstddef>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace loopwise {

// A held-out question and the article that resolved it.
struct ReplayQuestion {
  std::string text;
  std::string route;
  std::string article;
};

struct ReplayVerdict {
  size_t questions = 0;
  double current = 0;     // top-1 accuracy of the current bundle
  double candidate = 0;   // top-1 accuracy of the candidate
  bool pass = true;       // not worse beyond the tolerance and chance, or too few questions to tell
  bool compared = false;  // false when there were too few questions: current and candidate are 0
  std::string note;       // one sentence for the review queue
};

// Top-1 accuracy of `engine` on `questions` (articles it does not know count as wrong).
double ReplayAccuracy(const Engine& engine, const std::vector<ReplayQuestion>& questions);

// Compares the two on the same questions. The candidate fails only when it is worse by more than
// `tolerance` and significantly so (a one-sided sign test over the questions only one of them gets
// right); with fewer than `min_questions` it passes and the note says why.
ReplayVerdict Replay(const Engine& current, const Engine& candidate,
                     const std::vector<ReplayQuestion>& questions, double tolerance,
                     size_t min_questions);

}  // namespace loopwise
