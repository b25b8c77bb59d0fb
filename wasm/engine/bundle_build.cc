// Bundle::Build: trains every model of a site. Natively only; the browser just loads the result.

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>

#include "engine/bundle.h"
#include "engine/engine.h"
#include "engine/scrubber.h"
#include "engine/tokenizer.h"

namespace loopwise {
namespace {

// Share of articles whose history a calibration fold hides entirely, so their questions stand in
// for the questions no article answers.
constexpr double kUnseenArticleShare = 0.15;
// A question usually matches one part of an article, not its average: bodies are learned from as
// passages (BodyPassages), each an example of its article.
constexpr size_t kPassageWords = 16;
constexpr size_t kMaxPassages = 24;

struct Corpus {
  std::vector<std::vector<std::string>> titles;                 // title and tags, per article
  std::vector<std::vector<std::string>> bodies;                 // per article
  std::vector<std::vector<std::vector<std::string>>> passages;  // of each article's body
  std::vector<std::vector<std::string>> history;
};

// The models trained from the articles and the history tickets in `use`; articles in `hidden`
// contribute nothing (their titles and bodies are left out too). Tickets no article answered are
// indexed as questions to decline.
EngineParts TrainParts(const std::vector<Article>& articles, const std::vector<Exemplar>& history,
                       const Corpus& corpus, const Encoder& encoder, const FeatureSpace& features,
                       const std::vector<size_t>& use, const std::vector<uint8_t>& hidden,
                       const ClassifierOptions& classifier) {
  EngineParts p;
  p.articles = articles;
  p.encoder = encoder;
  p.features = features;
  const size_t dim = encoder.dim();

  std::vector<TrainingExample> examples;
  std::vector<float> vectors;
  std::vector<std::vector<std::string>> lexical_docs;
  std::vector<uint32_t> lexical_article;
  auto add = [&](const std::vector<std::string>& tokens, uint32_t article, float weight,
                 bool index_vector) {
    if (tokens.empty()) return;
    TrainingExample ex;
    ex.features = features.Vectorize(tokens);
    ex.dense = encoder.Encode(tokens);
    ex.label = article;
    ex.weight = weight;
    if (index_vector) {
      vectors.insert(vectors.end(), ex.dense.begin(), ex.dense.end());
      p.exemplar_article.push_back(article);
    }
    lexical_docs.push_back(tokens);
    lexical_article.push_back(article);
    examples.push_back(std::move(ex));
  };
  for (uint32_t a = 0; a < articles.size(); ++a) {
    if (hidden[a]) continue;
    add(corpus.titles[a], a, 1.0f, true);
    for (const auto& passage : corpus.passages[a]) add(passage, a, 1.0f, false);
  }
  std::vector<float> unanswered;
  for (size_t i : use) {
    if (history[i].article != kNoArticle) {
      add(corpus.history[i], history[i].article, history[i].weight, true);
    } else if (!corpus.history[i].empty()) {
      const std::vector<float> v = encoder.Encode(corpus.history[i]);
      unanswered.insert(unanswered.end(), v.begin(), v.end());
    }
  }
  if (!unanswered.empty()) {
    p.unanswered_index = VectorIndex::Build(unanswered, dim, VectorIndexOptions{});
  }

  p.classifier = Classifier::Train(examples, features.size(), dim, articles.size(), classifier);
  p.exemplar_index = VectorIndex::Build(vectors, dim, VectorIndexOptions{});
  p.lexical = LexicalIndex::Build(lexical_docs, lexical_article);
  return p;
}

// One held-out question of a calibration fold and what the engine made of it.
struct HeldOut {
  std::vector<Candidate> candidates;
  std::array<float, kNumConfidenceFeatures> confidence;
  int64_t truth;  // article, or -1 when the fold hid it (the question stands for one no article
                  // answers)
};

// Fits the weights of the signals the history can teach (head, nearest exemplar, lexical) by
// maximizing the softmax likelihood of the true article among each question's candidates.
void FitRankWeights(const std::vector<HeldOut>& data, Ranker* ranker) {
  const size_t kFitted[] = {kLogProb, kNearest, kLexical};
  std::array<float, kNumSignals>& w = ranker->weights;
  std::array<double, kNumSignals> g2{};
  for (int iter = 0; iter < 300; ++iter) {
    std::array<double, kNumSignals> grad{};
    size_t used = 0;
    for (const HeldOut& h : data) {
      if (h.truth < 0) continue;
      std::vector<double> z;
      double top = -1e30;
      int t = -1;
      for (size_t i = 0; i < h.candidates.size(); ++i) {
        double s = 0;
        for (size_t k : kFitted) s += w[k] * h.candidates[i].signal[k];
        z.push_back(s);
        top = std::max(top, s);
        if (h.candidates[i].article == h.truth) t = static_cast<int>(i);
      }
      if (t < 0) continue;
      double sum = 0;
      for (double& v : z) sum += (v = std::exp(v - top));
      for (size_t i = 0; i < z.size(); ++i) {
        const double d = z[i] / sum - (static_cast<int>(i) == t ? 1.0 : 0.0);
        for (size_t k : kFitted) grad[k] += d * h.candidates[i].signal[k];
      }
      ++used;
    }
    if (used == 0) return;
    for (size_t k : kFitted) {
      const double g = grad[k] / used + 1e-3 * w[k];
      g2[k] += g * g;
      w[k] -= static_cast<float>(0.1 * g / std::sqrt(g2[k] + 1e-12));
    }
  }
}

// Logistic regression of "the top answer is right" on the confidence features.
void FitCalibration(const std::vector<std::array<float, kNumConfidenceFeatures>>& x,
                    const std::vector<float>& y, Ranker* ranker) {
  auto& w = ranker->calibration;
  w.fill(0.0f);
  std::array<double, kNumConfidenceFeatures + 1> g2{};
  for (int iter = 0; iter < 2000; ++iter) {
    std::array<double, kNumConfidenceFeatures + 1> grad{};
    for (size_t i = 0; i < x.size(); ++i) {
      const double d = ranker->Confidence(x[i]) - y[i];
      for (size_t k = 0; k < kNumConfidenceFeatures; ++k) grad[k] += d * x[i][k];
      grad[kNumConfidenceFeatures] += d;
    }
    for (size_t k = 0; k <= kNumConfidenceFeatures; ++k) {
      const double g = grad[k] / std::max<size_t>(1, x.size()) + 1e-4 * w[k];
      g2[k] += g * g;
      w[k] -= static_cast<float>(0.2 * g / std::sqrt(g2[k] + 1e-12));
    }
  }
}

// The confidence below which the engine declines: the one that, on the held-out questions, best
// balances answering the answerable ones right against declining the ones of hidden articles
// (the sum of both rates), so no threshold is ever picked by hand or on test data.
void FitGapThreshold(const std::vector<std::array<float, kNumConfidenceFeatures>>& x,
                     const std::vector<float>& right, const std::vector<uint8_t>& oos,
                     Ranker* ranker) {
  const size_t num_oos = std::count(oos.begin(), oos.end(), 1);
  const size_t num_in = oos.size() - num_oos;
  if (num_oos == 0 || num_in == 0) return;
  std::vector<float> confidence(x.size());
  for (size_t i = 0; i < x.size(); ++i) confidence[i] = ranker->Confidence(x[i]);
  double best = -1;
  for (int step = 5; step <= 95; ++step) {
    const float t = step / 100.0f;
    size_t answered_right = 0, declined = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      if (oos[i])
        declined += confidence[i] < t;
      else
        answered_right += confidence[i] >= t && right[i] > 0;
    }
    const double value =
        static_cast<double>(answered_right) / num_in + static_cast<double>(declined) / num_oos;
    if (value > best + 1e-9) {
      best = value;
      ranker->gap_threshold = t;
    }
  }
}

}  // namespace

std::vector<std::vector<std::string>> BodyPassages(const std::string& body) {
  std::vector<std::vector<std::string>> lines;
  size_t words = 0;
  for (size_t start = 0; start < body.size();) {
    size_t end = body.find('\n', start);
    if (end == std::string::npos) end = body.size();
    lines.push_back(Tokenize(std::string_view(body).substr(start, end - start)));
    words += lines.back().size();
    start = end + 1;
  }
  const size_t least = std::max(kPassageWords, (words + kMaxPassages - 1) / kMaxPassages);
  std::vector<std::vector<std::string>> passages(1);
  for (auto& line : lines) {
    if (passages.back().size() >= least) passages.emplace_back();
    passages.back().insert(passages.back().end(), std::make_move_iterator(line.begin()),
                           std::make_move_iterator(line.end()));
  }
  if (passages.back().empty()) passages.pop_back();
  return passages;
}

Result<std::vector<uint8_t>> Bundle::Build(const std::vector<Article>& articles,
                                           const std::vector<Exemplar>& history,
                                           const WordVectors& vectors,
                                           const BundleOptions& options) {
  if (articles.empty()) return Status::Error("no articles: a bundle needs at least one article");
  if (vectors.size() == 0) return Status::Error("no word vectors: run scripts/setup");
  std::set<std::string> ids;
  for (const Article& a : articles) {
    if (a.id.empty()) return Status::Error("an article has an empty id");
    if (!ids.insert(a.id).second) return Status::Error("article id \"" + a.id + "\" appears twice");
  }
  for (const Exemplar& e : history) {
    if (e.article >= articles.size() && e.article != kNoArticle) {
      return Status::Error("a history ticket names an article that is not there");
    }
  }

  Corpus corpus;
  for (const Article& a : articles) {
    std::string title = a.title;
    for (const auto& t : a.tags) title += " " + t;
    corpus.titles.push_back(Tokenize(title));
    corpus.bodies.push_back(Tokenize(a.body));
    corpus.passages.push_back(BodyPassages(a.body));
  }
  for (const Exemplar& e : history) corpus.history.push_back(Tokenize(Scrub(e.text).text));

  // The site's texts. A question no article answers is not one: its words stay as unknown to the
  // site as those of the out-of-scope questions it stands for.
  std::vector<std::vector<std::string>> all_docs;
  all_docs.insert(all_docs.end(), corpus.titles.begin(), corpus.titles.end());
  all_docs.insert(all_docs.end(), corpus.bodies.begin(), corpus.bodies.end());
  for (size_t i = 0; i < history.size(); ++i) {
    if (history[i].article != kNoArticle) all_docs.push_back(corpus.history[i]);
  }
  const Encoder encoder = Encoder::Fit(vectors, all_docs, options.encoder);
  const FeatureSpace features = FeatureSpace::Fit(all_docs, options.features);

  // Calibration folds: every history ticket is held out once, answered by models trained without
  // it; a rotating share of articles is hidden entirely to stand for unanswerable questions, beside
  // the tickets no article answered, if the history has any.
  Ranker ranker;
  int folds = history.size() > options.large_history ? std::min(2, options.calibration_folds)
                                                     : options.calibration_folds;
  if (folds < 2 || history.size() < static_cast<size_t>(2 * folds)) folds = 0;
  // Training the models is most of the work: one training per fold, then the final one.
  auto training = [&](int t) {
    ClassifierOptions o = options.classifier;
    if (options.progress) {
      o.progress = [&options, t, folds](double done) {
        options.progress((t + done) / (folds + 1));
      };
    }
    return o;
  };
  if (folds > 0) {
    std::mt19937 rng(options.seed);
    std::vector<size_t> order(history.size());
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return history[a].article < history[b].article; });
    std::vector<int> fold_of(history.size());
    for (size_t i = 0; i < order.size(); ++i) fold_of[order[i]] = static_cast<int>(i % folds);
    std::vector<uint32_t> article_order(articles.size());
    std::iota(article_order.begin(), article_order.end(), 0);
    std::shuffle(article_order.begin(), article_order.end(), rng);
    const size_t hidden_per_fold =
        articles.size() >= 4 ? std::max<size_t>(1, articles.size() * kUnseenArticleShare) : 0;

    std::vector<HeldOut> held;
    for (int f = 0; f < folds; ++f) {
      std::vector<uint8_t> hidden(articles.size(), 0);
      for (size_t i = 0; i < hidden_per_fold; ++i) {
        hidden[article_order[(f * hidden_per_fold + i) % articles.size()]] = 1;
      }
      std::vector<size_t> use;
      for (size_t i = 0; i < history.size(); ++i) {
        if (fold_of[i] != f && (history[i].article == kNoArticle || !hidden[history[i].article])) {
          use.push_back(i);
        }
      }
      Engine engine(
          TrainParts(articles, history, corpus, encoder, features, use, hidden, training(f)));
      for (size_t i = 0; i < history.size(); ++i) {
        if (fold_of[i] != f) continue;
        HeldOut h;
        h.candidates = engine.Candidates(corpus.history[i], SearchContext{}, &h.confidence);
        const bool answered = history[i].article != kNoArticle && !hidden[history[i].article];
        h.truth = answered ? history[i].article : -1;
        held.push_back(std::move(h));
      }
    }
    FitRankWeights(held, &ranker);
    std::vector<std::array<float, kNumConfidenceFeatures>> x;
    std::vector<float> y;
    std::vector<uint8_t> oos;
    for (HeldOut& h : held) {
      ranker.Rank(&h.candidates);
      if (h.candidates.empty()) continue;
      oos.push_back(h.truth < 0);
      h.confidence[kTopMargin] = h.candidates.size() > 1
                                     ? h.candidates[0].score - h.candidates[1].score
                                     : h.candidates[0].score;
      h.confidence[kTopNearest] = h.candidates[0].signal[kNearest];
      x.push_back(h.confidence);
      y.push_back(h.candidates[0].article == h.truth ? 1.0f : 0.0f);
    }
    FitCalibration(x, y, &ranker);
    FitGapThreshold(x, y, oos, &ranker);
  }

  std::vector<size_t> all(history.size());
  std::iota(all.begin(), all.end(), 0);
  EngineParts parts = TrainParts(articles, history, corpus, encoder, features, all,
                                 std::vector<uint8_t>(articles.size(), 0), training(folds));
  parts.ranker = ranker;
  return Engine(std::move(parts)).ToBundle();
}

}  // namespace loopwise
