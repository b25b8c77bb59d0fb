#include "engine/features.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace loopwise {
namespace {
constexpr uint32_t kBlockSeed[] = {0x811C9DC5u, 0x2545F491u, 0x9E3779B9u};
constexpr size_t kMaxFeatures = 4'000'000;

// Splits a UTF-8 word into code-point boundaries so n-grams never cut a character.
std::vector<size_t> CharStarts(const std::string& s) {
  std::vector<size_t> starts;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
  }
  starts.push_back(s.size());
  return starts;
}
}  // namespace

uint32_t HashBytes(const char* data, size_t size, uint32_t seed) {
  uint32_t h = seed;
  for (size_t i = 0; i < size; ++i) {
    h ^= static_cast<unsigned char>(data[i]);
    h *= 16777619u;
  }
  return h;
}

template <typename Emit>
void FeatureSpace::ForEachFeature(const std::vector<std::string>& tokens, Emit emit) const {
  std::string buf;
  for (size_t t = 0; t < tokens.size(); ++t) {
    const std::string& w = tokens[t];
    emit(kWord, HashBytes(w.data(), w.size(), kBlockSeed[kWord]));
    if (t + 1 < tokens.size()) {
      buf = w;
      buf.push_back(' ');
      buf += tokens[t + 1];
      emit(kBigram, HashBytes(buf.data(), buf.size(), kBlockSeed[kBigram]));
    }
    buf = "<" + w + ">";
    const std::vector<size_t> starts = CharStarts(buf);
    const size_t chars = starts.size() - 1;
    for (size_t i = 0; i < chars; ++i) {
      for (int n = options_.char_min; n <= options_.char_max && i + n <= chars; ++n) {
        emit(kChar,
             HashBytes(buf.data() + starts[i], starts[i + n] - starts[i], kBlockSeed[kChar]));
      }
    }
  }
}

FeatureSpace FeatureSpace::Fit(const std::vector<std::vector<std::string>>& docs,
                               const FeatureOptions& options) {
  FeatureSpace space;
  space.options_ = options;
  // Ordered so the feature numbering, and with it every bundle, is deterministic.
  std::map<std::pair<uint32_t, uint8_t>, uint32_t> df;
  std::vector<std::pair<uint32_t, uint8_t>> seen;
  for (const auto& doc : docs) {
    seen.clear();
    space.ForEachFeature(doc, [&](Block b, uint32_t h) { seen.emplace_back(h, b); });
    std::sort(seen.begin(), seen.end());
    seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
    for (const auto& f : seen) ++df[f];
  }
  const double n = static_cast<double>(docs.size());
  for (const auto& [key, count] : df) {
    if (space.hashes_.size() >= kMaxFeatures) break;
    space.hashes_.push_back(key.first);
    space.block_.push_back(key.second);
    space.idf_.push_back(static_cast<float>(std::log((1.0 + n) / (1.0 + count)) + 1.0));
  }
  space.Index();
  return space;
}

void FeatureSpace::Index() {
  index_.clear();
  index_.reserve(hashes_.size());
  // A hash shared by two blocks keeps one feature; seeds per block make that vanishingly rare.
  for (size_t i = 0; i < hashes_.size(); ++i) {
    index_.emplace(hashes_[i] ^ (uint32_t{block_[i]} << 30), static_cast<uint32_t>(i));
  }
}

SparseVector FeatureSpace::Vectorize(const std::vector<std::string>& tokens) const {
  std::vector<std::pair<uint32_t, float>> counts;
  ForEachFeature(tokens, [&](Block b, uint32_t h) {
    auto it = index_.find(h ^ (uint32_t{b} << 30));
    if (it != index_.end()) counts.emplace_back(it->second, 1.0f);
  });
  std::sort(counts.begin(), counts.end());
  SparseVector v;
  double norm2[kBlocks] = {0, 0, 0};
  for (size_t i = 0; i < counts.size();) {
    size_t j = i;
    while (j < counts.size() && counts[j].first == counts[i].first) ++j;
    const uint32_t f = counts[i].first;
    const float tf = 1.0f + std::log(static_cast<float>(j - i));
    const float x = tf * idf_[f];
    v.index.push_back(f);
    v.value.push_back(x);
    norm2[block_[f]] += double{x} * x;
    i = j;
  }
  const float weight[kBlocks] = {options_.word_weight, options_.bigram_weight,
                                 options_.char_weight};
  for (size_t i = 0; i < v.size(); ++i) {
    const uint8_t b = block_[v.index[i]];
    v.value[i] *= weight[b] / static_cast<float>(std::sqrt(norm2[b]));
  }
  return v;
}

void FeatureSpace::Serialize(ByteWriter* out) const {
  out->u32(static_cast<uint32_t>(options_.char_min));
  out->u32(static_cast<uint32_t>(options_.char_max));
  out->f32(options_.word_weight);
  out->f32(options_.bigram_weight);
  out->f32(options_.char_weight);
  out->array(hashes_);
  out->array(idf_);
  out->array(block_);
}

Result<FeatureSpace> FeatureSpace::Deserialize(ByteReader* in) {
  FeatureSpace s;
  s.options_.char_min = static_cast<int>(in->u32());
  s.options_.char_max = static_cast<int>(in->u32());
  s.options_.word_weight = in->f32();
  s.options_.bigram_weight = in->f32();
  s.options_.char_weight = in->f32();
  s.hashes_ = in->array<uint32_t>(kMaxFeatures);
  s.idf_ = in->array<float>(kMaxFeatures);
  s.block_ = in->array<uint8_t>(kMaxFeatures);
  if (!in->ok() || s.options_.char_min < 1 || s.options_.char_max > 8 ||
      s.options_.char_min > s.options_.char_max || s.idf_.size() != s.hashes_.size() ||
      s.block_.size() != s.hashes_.size()) {
    return Status::Error("feature space: section is truncated or inconsistent");
  }
  for (uint8_t b : s.block_) {
    if (b >= kBlocks) return Status::Error("feature space: unknown feature block");
  }
  s.Index();
  return s;
}

}  // namespace loopwise
