#pragma once
// The ranker's page and prior weights, refit from the logged outcomes of shown candidates.
//
// The bundle build fits the weights the history can teach (scoring head, nearest exemplar,
// lexical) on held-out folds of the history, which carries no pages; the weights of the page
// match and of the learned context prior start as constants (ranker.h). Customers who resolved a
// question asked on a page or in a segment, with an article the widget showed them, teach those
// two: the newest third of such questions is answered by the bundle with priors counted from
// everything else (so no question votes for its own answer through the prior), and the two
// weights are fitted by the softmax likelihood of the resolved article among the ten candidates,
// held near their constants and within [0, 3]. With fewer than `min_questions` such questions in
// that third, the constants stay. The replay that follows judges the result like any candidate.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/article.h"
#include "engine/status.h"
#include "exemplar_learner.h"

namespace loopwise {

struct ContextWeights {
  bool fitted = false;
  float page = 0;
  float prior = 0;
  size_t questions = 0;  // the questions fitted on
};

// `bundle` is the candidate before its priors are added.
ContextWeights FitContextWeights(const std::vector<uint8_t>& bundle,
                                 const std::vector<Observation>& observations,
                                 const std::vector<Article>& articles, size_t min_questions = 60);

// `bundle` with its ranker's page and prior weights set (and its ranker.onnx made again from the
// ranker); unchanged when `weights` was not fitted.
Result<std::vector<uint8_t>> WithContextWeights(const std::vector<uint8_t>& bundle,
                                                const ContextWeights& weights);

}  // namespace loopwise
