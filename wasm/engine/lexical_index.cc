#include "engine/lexical_index.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

namespace loopwise {
namespace {
constexpr size_t kMaxEntries = 1u << 28;
}

LexicalIndex LexicalIndex::Build(const std::vector<std::vector<std::string>>& docs,
                                 const std::vector<uint32_t>& article_of) {
  LexicalIndex index;
  for (uint32_t a : article_of) index.num_articles_ = std::max<size_t>(index.num_articles_, a + 1);
  std::map<std::string, std::vector<std::pair<uint32_t, uint16_t>>> postings;
  double total = 0;
  for (size_t d = 0; d < docs.size(); ++d) {
    std::map<std::string, uint16_t> tf;
    for (const auto& t : docs[d]) {
      if (tf[t] < UINT16_MAX) ++tf[t];
    }
    for (const auto& [term, n] : tf) postings[term].emplace_back(static_cast<uint32_t>(d), n);
    index.doc_length_.push_back(
        static_cast<uint16_t>(std::min<size_t>(docs[d].size(), UINT16_MAX)));
    total += docs[d].size();
  }
  index.mean_length_ = docs.empty() ? 1.0f : static_cast<float>(std::max(1.0, total / docs.size()));
  index.article_of_ = article_of;
  index.offsets_.push_back(0);
  for (auto& [term, list] : postings) {
    index.terms_.push_back(term);
    for (const auto& [d, n] : list) {
      index.docs_.push_back(d);
      index.tfs_.push_back(n);
    }
    index.offsets_.push_back(static_cast<uint32_t>(index.docs_.size()));
  }
  index.Index();
  return index;
}

void LexicalIndex::Index() {
  term_index_.clear();
  term_index_.reserve(terms_.size());
  for (size_t i = 0; i < terms_.size(); ++i)
    term_index_.emplace(terms_[i], static_cast<uint32_t>(i));
}

std::vector<LexicalHit> LexicalIndex::Search(const std::vector<std::string>& query,
                                             size_t k) const {
  std::vector<std::string> terms(query);
  std::sort(terms.begin(), terms.end());
  terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
  // Dense accumulators with a list of what was touched: a query reaches few texts, and hash maps
  // would cost more than the scoring.
  std::vector<float> doc_score(doc_length_.size(), 0.0f);
  std::vector<uint32_t> touched;
  const float n = static_cast<float>(doc_length_.size());
  for (const auto& t : terms) {
    auto it = term_index_.find(t);
    if (it == term_index_.end()) continue;
    const uint32_t begin = offsets_[it->second], end = offsets_[it->second + 1];
    const float df = static_cast<float>(end - begin);
    const float idf = std::log(1.0f + (n - df + 0.5f) / (df + 0.5f));
    for (uint32_t e = begin; e < end; ++e) {
      const uint32_t d = docs_[e];
      const float tf = tfs_[e];
      const float norm = k1_ * (1.0f - b_ + b_ * doc_length_[d] / mean_length_);
      if (doc_score[d] == 0.0f) touched.push_back(d);
      doc_score[d] += idf * tf * (k1_ + 1.0f) / (tf + norm);
    }
  }
  std::vector<LexicalHit> hits;
  std::vector<int32_t> slot(num_articles_, -1);
  for (uint32_t d : touched) {
    const uint32_t a = article_of_[d];
    if (slot[a] < 0) {
      slot[a] = static_cast<int32_t>(hits.size());
      hits.push_back({a, doc_score[d]});
    } else {
      hits[slot[a]].score = std::max(hits[slot[a]].score, doc_score[d]);
    }
  }
  auto better = [](const LexicalHit& x, const LexicalHit& y) {
    return x.score != y.score ? x.score > y.score : x.article < y.article;
  };
  if (hits.size() > k) {
    std::partial_sort(hits.begin(), hits.begin() + k, hits.end(), better);
    hits.resize(k);
  } else {
    std::sort(hits.begin(), hits.end(), better);
  }
  return hits;
}

void LexicalIndex::Serialize(ByteWriter* out) const {
  out->f32(k1_);
  out->f32(b_);
  out->f32(mean_length_);
  out->u32(static_cast<uint32_t>(terms_.size()));
  for (const auto& t : terms_) out->str(t);
  out->array(offsets_);
  out->array(docs_);
  out->array(tfs_);
  out->array(doc_length_);
  out->array(article_of_);
}

Result<LexicalIndex> LexicalIndex::Deserialize(ByteReader* in, size_t num_articles) {
  LexicalIndex x;
  x.num_articles_ = num_articles;
  x.k1_ = in->f32();
  x.b_ = in->f32();
  x.mean_length_ = in->f32();
  const uint32_t terms = in->u32();
  if (!in->ok() || terms > in->remaining() / 4)
    return Status::Error("lexical index: bad term count");
  x.terms_.reserve(terms);
  for (uint32_t i = 0; i < terms && in->ok(); ++i) x.terms_.push_back(in->str());
  x.offsets_ = in->array<uint32_t>(kMaxEntries);
  x.docs_ = in->array<uint32_t>(kMaxEntries);
  x.tfs_ = in->array<uint16_t>(kMaxEntries);
  x.doc_length_ = in->array<uint16_t>(kMaxEntries);
  x.article_of_ = in->array<uint32_t>(kMaxEntries);
  if (!in->ok() || x.offsets_.size() != x.terms_.size() + 1 || x.docs_.size() != x.tfs_.size() ||
      x.offsets_.front() != 0 || x.offsets_.back() != x.docs_.size() ||
      x.article_of_.size() != x.doc_length_.size() || !(x.mean_length_ > 0) ||
      !std::isfinite(x.mean_length_) || !std::isfinite(x.k1_) || !std::isfinite(x.b_)) {
    return Status::Error("lexical index: section is truncated or inconsistent");
  }
  for (size_t i = 0; i + 1 < x.offsets_.size(); ++i) {
    if (x.offsets_[i] > x.offsets_[i + 1]) return Status::Error("lexical index: bad offsets");
  }
  for (uint32_t d : x.docs_) {
    if (d >= x.doc_length_.size()) return Status::Error("lexical index: posting of unknown text");
  }
  for (uint32_t a : x.article_of_) {
    if (a >= num_articles) return Status::Error("lexical index: text of unknown article");
  }
  x.Index();
  return x;
}

}  // namespace loopwise
