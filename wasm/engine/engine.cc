#include "engine/engine.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "engine/bundle.h"
#include "engine/scrubber.h"
#include "engine/tokenizer.h"

namespace loopwise {
namespace {

constexpr size_t kHeadCandidates = 20;
constexpr size_t kNeighbors = 30;
constexpr size_t kLexicalCandidates = 20;
constexpr float kMinLogProb = -20.0f;
constexpr size_t kMaxArticles = 1u << 20;

void WriteArticles(const std::vector<Article>& articles, ByteWriter* out) {
  out->u32(static_cast<uint32_t>(articles.size()));
  for (const Article& a : articles) {
    out->str(a.id);
    out->str(a.title);
    out->str(a.body);
    out->u32(static_cast<uint32_t>(a.tags.size()));
    for (const auto& t : a.tags) out->str(t);
    out->u32(static_cast<uint32_t>(a.pages.size()));
    for (const auto& p : a.pages) out->str(p);
  }
}

Result<std::vector<Article>> ReadArticles(ByteReader* in) {
  const uint32_t n = in->u32();
  if (!in->ok() || n == 0 || n > kMaxArticles || n > in->remaining() / 20) {
    return Status::Error("articles: impossible article count");
  }
  std::vector<Article> articles(n);
  for (Article& a : articles) {
    a.id = in->str();
    a.title = in->str();
    a.body = in->str();
    const uint32_t tags = in->u32();
    for (uint32_t i = 0; i < tags && in->ok() && i <= in->remaining() / 4; ++i)
      a.tags.push_back(in->str());
    const uint32_t pages = in->u32();
    for (uint32_t i = 0; i < pages && in->ok() && i <= in->remaining() / 4; ++i)
      a.pages.push_back(in->str());
    if (!in->ok() || a.tags.size() != tags || a.pages.size() != pages) break;
  }
  if (!in->ok()) return Status::Error("articles: section is truncated");
  return articles;
}

template <typename T>
Status ReadSection(const Bundle& bundle, Section tag, T* out, Result<T> (*parse)(ByteReader*)) {
  auto reader = bundle.Read(tag);
  if (!reader.ok()) return reader.status();
  auto value = parse(&reader.value());
  if (!value.ok()) return value.status();
  if (!reader.value().at_end()) return Status::Error("bundle section has trailing bytes");
  *out = value.take();
  return Status::Ok();
}

}  // namespace

Engine::Engine(EngineParts parts) : parts_(std::move(parts)) {}

std::vector<uint8_t> Engine::ToBundle() const {
  BundleWriter writer;
  auto section = [&](Section tag, auto&& fill) {
    ByteWriter w;
    fill(&w);
    writer.Add(tag, std::move(w.bytes()));
  };
  section(Section::kArticles, [&](ByteWriter* w) { WriteArticles(parts_.articles, w); });
  section(Section::kEncoder, [&](ByteWriter* w) { parts_.encoder.Serialize(w); });
  section(Section::kFeatures, [&](ByteWriter* w) { parts_.features.Serialize(w); });
  section(Section::kClassifier, [&](ByteWriter* w) { parts_.classifier.Serialize(w); });
  section(Section::kExemplars, [&](ByteWriter* w) { w->array(parts_.exemplar_article); });
  section(Section::kVectorIndex, [&](ByteWriter* w) { parts_.exemplar_index.Serialize(w); });
  section(Section::kLexicalIndex, [&](ByteWriter* w) { parts_.lexical.Serialize(w); });
  section(Section::kRanker, [&](ByteWriter* w) { parts_.ranker.Serialize(w); });
  if (!parts_.ranker_model.empty()) writer.Add(Section::kRankerModel, parts_.ranker_model);
  if (!parts_.priors.empty()) {
    section(Section::kPriors, [&](ByteWriter* w) { parts_.priors.Serialize(w); });
  }
  if (!parts_.escalation.empty()) {
    section(Section::kEscalation, [&](ByteWriter* w) { parts_.escalation.Serialize(w); });
    section(Section::kEscalationCues, [&](ByteWriter* w) { parts_.escalation.SerializeCues(w); });
  }
  if (!parts_.pins.empty()) {
    section(Section::kPins, [&](ByteWriter* w) { parts_.pins.Serialize(w); });
  }
  if (parts_.unanswered_index.size() > 0) {
    section(Section::kUnanswered, [&](ByteWriter* w) {
      w->f32(parts_.ranker.calibration[kUnanswered]);
      parts_.unanswered_index.Serialize(w);
    });
  }
  return writer.Finish();
}

Result<std::vector<Article>> Engine::LoadArticles(const uint8_t* data, size_t size) {
  auto opened = Bundle::Open(data, size);
  if (!opened.ok()) return opened.status();
  std::vector<Article> articles;
  Status s = ReadSection<std::vector<Article>>(opened.value(), Section::kArticles, &articles,
                                               ReadArticles);
  if (!s.ok()) return s;
  return articles;
}

Result<Engine> Engine::Load(const uint8_t* data, size_t size) {
  auto opened = Bundle::Open(data, size);
  if (!opened.ok()) return opened.status();
  const Bundle& bundle = opened.value();
  EngineParts p;
  Status s =
      ReadSection<std::vector<Article>>(bundle, Section::kArticles, &p.articles, ReadArticles);
  if (s.ok()) s = ReadSection<Encoder>(bundle, Section::kEncoder, &p.encoder, Encoder::Deserialize);
  if (s.ok()) {
    s = ReadSection<FeatureSpace>(bundle, Section::kFeatures, &p.features,
                                  FeatureSpace::Deserialize);
  }
  if (s.ok()) {
    auto reader = bundle.Read(Section::kClassifier);
    if (!reader.ok()) return reader.status();
    auto c = Classifier::Deserialize(&reader.value(), p.features.size(), p.encoder.dim());
    if (!c.ok()) return c.status();
    if (c.value().num_classes() != p.articles.size()) {
      return Status::Error("classifier: article count differs from the articles section");
    }
    p.classifier = c.take();
  }
  if (s.ok()) {
    auto reader = bundle.Read(Section::kExemplars);
    if (!reader.ok()) return reader.status();
    p.exemplar_article = reader.value().array<uint32_t>();
    if (!reader.value().ok()) return Status::Error("exemplars: section is truncated");
    for (uint32_t a : p.exemplar_article) {
      if (a >= p.articles.size()) return Status::Error("exemplars: exemplar of unknown article");
    }
  }
  if (s.ok()) {
    s = ReadSection<VectorIndex>(bundle, Section::kVectorIndex, &p.exemplar_index,
                                 VectorIndex::Deserialize);
  }
  if (s.ok() && (p.exemplar_index.size() != p.exemplar_article.size() ||
                 (p.exemplar_index.size() > 0 && p.exemplar_index.dim() != p.encoder.dim()))) {
    return Status::Error("vector index does not match the exemplars section");
  }
  if (s.ok()) {
    auto reader = bundle.Read(Section::kLexicalIndex);
    if (!reader.ok()) return reader.status();
    auto lex = LexicalIndex::Deserialize(&reader.value(), p.articles.size());
    if (!lex.ok()) return lex.status();
    p.lexical = lex.take();
  }
  if (s.ok()) s = ReadSection<Ranker>(bundle, Section::kRanker, &p.ranker, Ranker::Deserialize);
  if (s.ok() && bundle.Has(Section::kRankerModel)) {
    ByteReader model = bundle.Read(Section::kRankerModel).take();
    const size_t n = model.remaining();
    const uint8_t* bytes = model.raw(n);
    p.ranker_model.assign(bytes, bytes + n);
  }
  if (s.ok() && bundle.Has(Section::kPriors)) {
    auto reader = bundle.Read(Section::kPriors);
    auto priors = ResolutionPriors::Deserialize(&reader.value(), p.articles.size());
    if (!priors.ok()) return priors.status();
    if (!reader.value().at_end()) return Status::Error("priors: section has trailing bytes");
    p.priors = priors.take();
  }
  if (s.ok() && bundle.Has(Section::kEscalation)) {
    s = ReadSection<EscalationModel>(bundle, Section::kEscalation, &p.escalation,
                                     EscalationModel::Deserialize);
    if (s.ok() && bundle.Has(Section::kEscalationCues)) {
      auto reader = bundle.Read(Section::kEscalationCues);
      if (!reader.ok()) return reader.status();
      s = p.escalation.DeserializeCues(&reader.value());
      if (s.ok() && !reader.value().at_end()) {
        s = Status::Error("escalation cues: section has trailing bytes");
      }
    }
  }
  if (s.ok() && bundle.Has(Section::kPins)) {
    auto reader = bundle.Read(Section::kPins);
    auto pins = PinnedAnswers::Deserialize(&reader.value(), p.articles.size());
    if (!pins.ok()) return pins.status();
    if (!reader.value().at_end()) return Status::Error("pins: section has trailing bytes");
    p.pins = pins.take();
  }
  if (s.ok() && bundle.Has(Section::kUnanswered)) {
    auto reader = bundle.Read(Section::kUnanswered);
    if (!reader.ok()) return reader.status();
    const float weight = reader.value().f32();
    if (!std::isfinite(weight)) return Status::Error("unanswered questions: weight is not finite");
    auto index = VectorIndex::Deserialize(&reader.value());
    if (!index.ok()) return index.status();
    if (!reader.value().at_end()) {
      return Status::Error("unanswered questions: section has trailing bytes");
    }
    if (index.value().dim() != p.encoder.dim()) {
      return Status::Error("unanswered questions: vectors of another size than the encoder's");
    }
    p.ranker.calibration[kUnanswered] = weight;
    p.unanswered_index = index.take();
  }
  if (!s.ok()) return s;
  return Engine(std::move(p));
}

std::vector<Candidate> Engine::Candidates(
    const std::vector<std::string>& tokens, const SearchContext& context,
    std::array<float, kNumConfidenceFeatures>* confidence) const {
  const size_t n = parts_.articles.size();
  const std::vector<float> dense = parts_.encoder.Encode(tokens);
  const SparseVector sparse = parts_.features.Vectorize(tokens);
  std::vector<float> probs;
  parts_.classifier.Logits(sparse, dense.data(), &probs);
  Classifier::Softmax(&probs);

  std::unordered_map<uint32_t, size_t> slot;
  std::vector<Candidate> out;
  auto candidate = [&](uint32_t a) -> Candidate& {
    auto [it, added] = slot.emplace(a, out.size());
    if (added) {
      Candidate c;
      c.article = a;
      out.push_back(c);
    }
    return out[it->second];
  };

  std::vector<uint32_t> by_prob(n);
  for (uint32_t a = 0; a < n; ++a) by_prob[a] = a;
  const size_t head = std::min(kHeadCandidates, n);
  std::partial_sort(
      by_prob.begin(), by_prob.begin() + head, by_prob.end(),
      [&](uint32_t a, uint32_t b) { return probs[a] != probs[b] ? probs[a] > probs[b] : a < b; });
  for (size_t i = 0; i < head; ++i) candidate(by_prob[i]);

  uint32_t nearest_article = UINT32_MAX;
  for (const auto& hit : parts_.exemplar_index.Search(dense.data(), kNeighbors)) {
    const uint32_t a = parts_.exemplar_article[hit.label];
    if (nearest_article == UINT32_MAX) nearest_article = a;
    Candidate& c = candidate(a);
    c.signal[kNearest] = std::max(c.signal[kNearest], hit.similarity);
  }
  const auto lexical = parts_.lexical.Search(tokens, kLexicalCandidates);
  const float best_lexical = lexical.empty() ? 0.0f : lexical.front().score;
  for (const auto& hit : lexical)
    candidate(hit.article).signal[kLexical] = hit.score / best_lexical;

  const std::string route = context.route.empty() ? std::string() : FoldRoute(context.route);
  // The keys the priors may know this question by: its page and the customer's segments.
  std::vector<std::string> prior_keys;
  if (!parts_.priors.empty()) {
    if (!route.empty()) prior_keys.push_back(route);
    prior_keys.insert(prior_keys.end(), context.segments.begin(), context.segments.end());
  }
  // The priors' exploration is seeded by the question, so the same question gets the same answer.
  uint32_t question_seed = 0;
  if (!prior_keys.empty()) {
    for (const auto& t : tokens) question_seed = HashBytes(t.data(), t.size(), question_seed + 1);
  }
  for (Candidate& c : out) {
    c.signal[kLogProb] = std::max(kMinLogProb, std::log(std::max(probs[c.article], 1e-30f)));
    if (!route.empty()) {
      for (const auto& page : parts_.articles[c.article].pages) {
        c.signal[kPage] = std::max(c.signal[kPage], RouteMatch(page, route));
      }
    }
    if (!prior_keys.empty()) {
      c.signal[kPrior] = parts_.priors.Signal(prior_keys, c.article, question_seed);
    }
  }

  if (confidence) {
    confidence->fill(0.0f);
    (*confidence)[kTopProb] = probs.empty() ? 0.0f : probs[by_prob[0]];
    size_t known = 0;
    for (const auto& t : tokens) known += parts_.encoder.IsSiteWord(t) ? 1 : 0;
    (*confidence)[kCoverage] = tokens.empty() ? 0.0f : static_cast<float>(known) / tokens.size();
    (*confidence)[kAgreement] = (!probs.empty() && nearest_article == by_prob[0]) ? 1.0f : 0.0f;
    if (parts_.unanswered_index.size() > 0) {
      auto hits = parts_.unanswered_index.Search(dense.data(), 1);
      if (!hits.empty()) (*confidence)[kUnanswered] = hits[0].similarity;
    }
  }
  return out;
}

SearchResult Engine::Search(std::string_view query, const SearchContext& context, size_t k) const {
  const std::vector<std::string> tokens = Tokenize(Scrub(query).text);
  std::array<float, kNumConfidenceFeatures> features;
  std::vector<Candidate> candidates = Candidates(tokens, context, &features);
  parts_.ranker.Rank(&candidates);

  SearchResult result;
  if (candidates.empty()) return result;
  features[kTopMargin] =
      candidates.size() > 1 ? candidates[0].score - candidates[1].score : candidates[0].score;
  features[kTopNearest] = candidates[0].signal[kNearest];
  result.confidence = tokens.empty() ? 0.0f : parts_.ranker.Confidence(features);
  result.gap = result.confidence < parts_.ranker.gap_threshold;
  // An operator's pin wins: its article goes first, answered with full confidence.
  if (auto pinned = parts_.pins.Match(query)) {
    auto it = std::find_if(candidates.begin(), candidates.end(),
                           [&](const Candidate& c) { return c.article == *pinned; });
    Candidate pin;
    if (it != candidates.end()) {
      pin = *it;
      candidates.erase(it);
    } else {
      pin.article = *pinned;
    }
    pin.score = candidates.empty() ? 0.0f : candidates[0].score + 1.0f;
    candidates.insert(candidates.begin(), pin);
    result.confidence = 1.0f;
    result.gap = false;
  }
  // Scores shown to callers: a softmax over the candidates' ranking scores.
  const float top = candidates[0].score;
  float sum = 0;
  for (const Candidate& c : candidates) sum += std::exp(c.score - top);
  for (size_t i = 0; i < candidates.size() && i < k; ++i) {
    result.ranked.push_back(
        {candidates[i].article, std::exp(candidates[i].score - top) / sum, candidates[i].signal});
  }
  return result;
}

}  // namespace loopwise
