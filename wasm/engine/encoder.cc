#include "engine/encoder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "engine/vector_math.h"

namespace loopwise {
namespace {

constexpr size_t kMaxWords = 2'000'000;
constexpr size_t kMinCorrectableLength = 4;

// Zipf estimate of a word's probability from its frequency rank in the source vocabulary.
float ZipfProbability(uint32_t rank) {
  constexpr double kHarmonic = 13.3;  // ln(341479) + Euler's constant
  return static_cast<float>(1.0 / ((rank + 1.0) * kHarmonic));
}

void Normalize(float* v, size_t n) {
  const float norm = std::sqrt(Dot(v, v, n));
  if (norm > 0) {
    for (size_t i = 0; i < n; ++i) v[i] /= norm;
  }
}

// First principal direction (uncentered) of the rows of `m` by power iteration.
std::vector<float> PrincipalDirection(const std::vector<std::vector<float>>& rows, size_t dim) {
  std::vector<float> u(dim, 1.0f / std::sqrt(static_cast<float>(dim)));
  if (rows.empty()) return {};
  for (int iter = 0; iter < 50; ++iter) {
    std::vector<double> next(dim, 0.0);
    for (const auto& r : rows) {
      const double p = Dot(r.data(), u.data(), dim);
      for (size_t i = 0; i < dim; ++i) next[i] += p * r[i];
    }
    double norm = 0;
    for (double x : next) norm += x * x;
    norm = std::sqrt(norm);
    if (norm == 0) return {};
    for (size_t i = 0; i < dim; ++i) u[i] = static_cast<float>(next[i] / norm);
  }
  return u;
}

void Deletions(const std::string& w, std::vector<std::string>* out) {
  out->clear();
  for (size_t i = 0; i < w.size(); ++i) {
    if ((static_cast<unsigned char>(w[i]) & 0x80) != 0) return;  // ASCII words only
  }
  for (size_t i = 0; i < w.size(); ++i) out->push_back(w.substr(0, i) + w.substr(i + 1));
}

}  // namespace

Encoder Encoder::Fit(const WordVectors& full,
                     const std::vector<std::vector<std::string>>& site_docs,
                     const EncoderOptions& options) {
  std::map<std::string, uint32_t> site_counts;
  for (const auto& doc : site_docs) {
    for (const auto& w : doc) ++site_counts[w];
  }
  std::vector<std::string> wanted;
  for (size_t r = 0; r < std::min(options.common_words, full.size()); ++r) {
    wanted.push_back(full.word(static_cast<int>(r)));
  }
  std::set<std::string> site_words;
  for (const auto& [w, c] : site_counts) {
    wanted.push_back(w);
    site_words.insert(w);
  }

  Encoder e;
  e.dim_ = full.dim();
  e.sif_a_ = options.sif_a;
  e.store_ = full.Subset(wanted, site_words);
  for (size_t r = 0; r < e.store_.size(); ++r)
    e.words_.push_back(e.store_.word(static_cast<int>(r)));
  e.IndexVocabulary();  // store words only, so site-only words can be told apart below

  // Sentence vectors of the site's texts from the words the store knows.
  std::vector<std::vector<float>> doc_vectors;
  for (const auto& doc : site_docs) {
    std::vector<float> v(e.dim_, 0.0f);
    e.Encode(doc, v.data());
    doc_vectors.push_back(std::move(v));
  }
  // Site words GloVe lacks: the mean vector of the texts they occur in.
  std::map<std::string, std::vector<float>> own;
  for (size_t d = 0; d < site_docs.size(); ++d) {
    for (const auto& w : site_docs[d]) {
      if (e.rows_.count(w)) continue;
      auto& acc = own[w];
      if (acc.empty()) acc.assign(e.dim_, 0.0f);
      for (size_t i = 0; i < e.dim_; ++i) acc[i] += doc_vectors[d][i];
    }
  }
  for (auto& [w, acc] : own) {
    Normalize(acc.data(), e.dim_);
    e.words_.push_back(w);
    e.vectors_.insert(e.vectors_.end(), acc.begin(), acc.end());
    e.weights_.push_back(1.0f);
  }
  e.site_word_.assign(e.words_.size(), 0);
  for (size_t i = 0; i < e.words_.size(); ++i) e.site_word_[i] = site_counts.count(e.words_[i]) > 0;
  e.IndexVocabulary();

  // The common component is computed without removal, then applied to every later encoding.
  for (auto& v : doc_vectors) {
    v.assign(e.dim_, 0.0f);
  }
  for (size_t d = 0; d < site_docs.size(); ++d) e.Encode(site_docs[d], doc_vectors[d].data());
  e.common_ = PrincipalDirection(doc_vectors, e.dim_);
  return e;
}

void Encoder::IndexVocabulary() {
  const size_t stored = store_.size();
  vectors_.resize(std::max(vectors_.size(), stored * dim_));
  weights_.resize(std::max(weights_.size(), stored));
  for (size_t r = 0; r < stored; ++r) {
    store_.Get(static_cast<int>(r), vectors_.data() + r * dim_);
    weights_[r] = sif_a_ / (sif_a_ + ZipfProbability(store_.rank(static_cast<int>(r))));
  }
  rows_.clear();
  deletions_.clear();
  for (size_t i = 0; i < words_.size(); ++i) rows_.emplace(words_[i], static_cast<uint32_t>(i));
  std::vector<std::string> dels;
  for (size_t i = 0; i < site_word_.size(); ++i) {
    if (!site_word_[i] || words_[i].size() < kMinCorrectableLength) continue;
    deletions_.emplace(words_[i], static_cast<uint32_t>(i));
    Deletions(words_[i], &dels);
    for (auto& d : dels) deletions_.emplace(std::move(d), static_cast<uint32_t>(i));
  }
}

bool Encoder::Lookup(const std::string& word, const float** vec, float* weight) const {
  auto it = rows_.find(word);
  if (it == rows_.end() && word.size() >= kMinCorrectableLength && !deletions_.empty()) {
    it = deletions_.find(word);  // the customer left out a letter
    if (it == deletions_.end()) {
      std::vector<std::string> dels;
      Deletions(word, &dels);
      for (const auto& d : dels) {  // an extra, a wrong or a swapped letter
        it = deletions_.find(d);
        if (it != deletions_.end()) break;
      }
    }
    if (it == deletions_.end()) return false;
  } else if (it == rows_.end()) {
    return false;
  }
  *vec = vectors_.data() + size_t{it->second} * dim_;
  *weight = weights_[it->second];
  return true;
}

void Encoder::Encode(const std::vector<std::string>& tokens, float* out) const {
  std::fill(out, out + dim_, 0.0f);
  for (const auto& t : tokens) {
    const float* v;
    float w;
    if (!Lookup(t, &v, &w)) continue;
    for (size_t i = 0; i < dim_; ++i) out[i] += w * v[i];
  }
  if (!common_.empty()) {
    const float p = Dot(out, common_.data(), dim_);
    for (size_t i = 0; i < dim_; ++i) out[i] -= p * common_[i];
  }
  if (!adapter_.empty()) {
    std::vector<float> in(out, out + dim_);
    for (size_t r = 0; r < dim_; ++r) out[r] = Dot(adapter_.data() + r * dim_, in.data(), dim_);
  }
  Normalize(out, dim_);
}

std::vector<float> Encoder::Encode(const std::vector<std::string>& tokens) const {
  std::vector<float> v(dim_);
  Encode(tokens, v.data());
  return v;
}

void Encoder::Serialize(ByteWriter* out) const {
  store_.Serialize(out);
  out->f32(sif_a_);
  const size_t stored = store_.size();
  out->u32(static_cast<uint32_t>(words_.size() - stored));
  for (size_t i = stored; i < words_.size(); ++i) {
    out->str(words_[i]);
    out->raw(vectors_.data() + i * dim_, dim_ * sizeof(float));
  }
  out->array(site_word_);
  out->array(common_);
  out->array(adapter_);
}

Result<Encoder> Encoder::Deserialize(ByteReader* in) {
  auto store = WordVectors::Deserialize(in);
  if (!store.ok()) return store.status();
  Encoder e;
  e.store_ = store.take();
  e.dim_ = e.store_.dim();
  e.sif_a_ = in->f32();
  for (size_t r = 0; r < e.store_.size(); ++r)
    e.words_.push_back(e.store_.word(static_cast<int>(r)));
  const uint32_t own = in->u32();
  if (!in->ok() || own > kMaxWords || own > in->remaining() / (e.dim_ * sizeof(float))) {
    return Status::Error("encoder: impossible count of site words");
  }
  e.vectors_.resize(e.words_.size() * e.dim_);
  for (uint32_t i = 0; i < own && in->ok(); ++i) {
    e.words_.push_back(in->str());
    const uint8_t* raw = in->raw(e.dim_ * sizeof(float));
    if (!raw) break;
    const size_t at = e.vectors_.size();
    e.vectors_.resize(at + e.dim_);
    std::memcpy(e.vectors_.data() + at, raw, e.dim_ * sizeof(float));
    e.weights_.push_back(1.0f);
  }
  e.site_word_ = in->array<uint8_t>(kMaxWords);
  e.common_ = in->array<float>(e.dim_);
  e.adapter_ = in->array<float>(e.dim_ * e.dim_);
  if (!in->ok() || e.site_word_.size() != e.words_.size() ||
      (!e.common_.empty() && e.common_.size() != e.dim_) ||
      (!e.adapter_.empty() && e.adapter_.size() != e.dim_ * e.dim_)) {
    return Status::Error("encoder: section is truncated or inconsistent");
  }
  for (float x : e.vectors_) {
    if (!std::isfinite(x)) return Status::Error("encoder: a site word vector is not finite");
  }
  // Store weights come first in weights_; IndexVocabulary fills them and the store's vectors.
  std::vector<float> own_weights(e.weights_);
  e.weights_.assign(e.store_.size(), 0.0f);
  e.weights_.insert(e.weights_.end(), own_weights.begin(), own_weights.end());
  e.IndexVocabulary();
  return e;
}

}  // namespace loopwise
