#include "engine/word_vectors.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace loopwise {
namespace {
constexpr char kMagic[8] = {'L', 'W', 'V', 'E', 'C', '1', 0, 0};
constexpr size_t kMaxDim = 1024;
// A site's subset keeps its own words at 8 bits and the common words it carries besides at 4
// (codes in [-7, 7], two to a byte in the bundle). That halves the largest part of a bundle; on
// held-out queries it costs nothing measurable against 8 bits throughout, while 4 bits for the
// site's own words too costs a few points of out-of-scope recall.
constexpr int kSubsetLevels = 7;
}  // namespace

Result<WordVectors> WordVectors::Parse(const uint8_t* data, size_t size) {
  ByteReader in(data, size);
  const uint8_t* magic = in.raw(8);
  if (!magic || std::memcmp(magic, kMagic, 8) != 0) {
    return Status::Error("not a Loopwise word-vector store (bad magic); run scripts/setup");
  }
  const uint32_t count = in.u32();
  const uint32_t dim = in.u32();
  if (!in.ok() || dim == 0 || dim > kMaxDim || count > in.remaining() / (dim + 4)) {
    return Status::Error("word-vector store is truncated or has an impossible size");
  }
  WordVectors v;
  v.dim_ = dim;
  v.scales_.resize(count);
  v.codes_.resize(size_t{count} * dim);
  std::memcpy(v.scales_.data(), in.raw(count * 4), count * 4);
  std::memcpy(v.codes_.data(), in.raw(size_t{count} * dim), size_t{count} * dim);
  const uint32_t word_bytes = in.u32();
  const uint8_t* words = in.raw(word_bytes);
  if (!in.ok() || !in.at_end()) return Status::Error("word-vector store is truncated");
  std::string_view all(reinterpret_cast<const char*>(words), word_bytes);
  v.words_.reserve(count);
  size_t start = 0;
  while (v.words_.size() < count) {
    size_t end = all.find('\n', start);
    if (end == std::string_view::npos) end = all.size();
    v.words_.emplace_back(all.substr(start, end - start));
    if (end == all.size()) break;
    start = end + 1;
  }
  if (v.words_.size() != count) return Status::Error("word-vector store has fewer words than rows");
  v.ranks_.resize(count);
  for (uint32_t i = 0; i < count; ++i) v.ranks_[i] = i;
  v.Index();
  return v;
}

void WordVectors::Index() {
  rows_.clear();
  rows_.reserve(words_.size());
  // The first row of a word wins: the source may repeat a word, the more frequent comes first.
  for (size_t i = 0; i < words_.size(); ++i) rows_.emplace(words_[i], static_cast<int>(i));
}

WordVectors WordVectors::Subset(const std::vector<std::string>& words,
                                const std::set<std::string>& precise) const {
  std::vector<int> rows;
  rows.reserve(words.size());
  for (const auto& w : words) {
    int r = Find(w);
    if (r >= 0) rows.push_back(r);
  }
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  WordVectors s;
  s.dim_ = dim_;
  for (int r : rows) {
    s.words_.push_back(words_[r]);
    s.ranks_.push_back(ranks_[r]);
    const int8_t* c = codes_.data() + size_t(r) * dim_;
    s.precise_.push_back(precise.count(words_[r]) ? 1 : 0);
    if (s.precise_.back()) {
      s.scales_.push_back(scales_[r]);
      s.codes_.insert(s.codes_.end(), c, c + dim_);
      continue;
    }
    int top = 1;
    for (size_t i = 0; i < dim_; ++i) top = std::max(top, std::abs(int{c[i]}));
    const float step = static_cast<float>(top) / kSubsetLevels;
    s.scales_.push_back(scales_[r] * step);
    for (size_t i = 0; i < dim_; ++i) {
      s.codes_.push_back(static_cast<int8_t>(std::lround(static_cast<float>(c[i]) / step)));
    }
  }
  s.Index();
  return s;
}

void WordVectors::Serialize(ByteWriter* out) const {
  out->u32(static_cast<uint32_t>(dim_));
  out->u32(static_cast<uint32_t>(words_.size()));
  for (const auto& w : words_) out->str(w);
  out->array(ranks_);
  out->array(scales_);
  out->array(precise_);
  // Precise rows' codes as they are; the others' two a byte, low nibble first, each as code + 8.
  std::vector<int8_t> wide;
  std::vector<int8_t> narrow;
  for (size_t r = 0; r < precise_.size(); ++r) {
    auto& to = precise_[r] ? wide : narrow;
    to.insert(to.end(), codes_.begin() + r * dim_, codes_.begin() + (r + 1) * dim_);
  }
  std::vector<uint8_t> packed((narrow.size() + 1) / 2, 0);
  for (size_t i = 0; i < narrow.size(); ++i) {
    packed[i / 2] |= static_cast<uint8_t>((narrow[i] + 8) << (4 * (i % 2)));
  }
  out->array(wide);
  out->array(packed);
}

Result<WordVectors> WordVectors::Deserialize(ByteReader* in) {
  WordVectors v;
  v.dim_ = in->u32();
  const uint32_t count = in->u32();
  if (!in->ok() || v.dim_ == 0 || v.dim_ > kMaxDim || count > in->remaining() / 4) {
    return Status::Error("word vectors: impossible dimension or count");
  }
  v.words_.reserve(count);
  for (uint32_t i = 0; i < count && in->ok(); ++i) v.words_.push_back(in->str());
  v.ranks_ = in->array<uint32_t>(count);
  v.scales_ = in->array<float>(count);
  v.precise_ = in->array<uint8_t>(count);
  size_t precise_rows = 0;
  for (uint8_t p : v.precise_) precise_rows += p != 0;
  const size_t narrow = (count - std::min<size_t>(count, precise_rows)) * v.dim_;
  const std::vector<int8_t> wide = in->array<int8_t>(precise_rows * v.dim_);
  const std::vector<uint8_t> packed = in->array<uint8_t>((narrow + 1) / 2);
  if (!in->ok() || v.words_.size() != count || v.ranks_.size() != count ||
      v.scales_.size() != count || v.precise_.size() != count ||
      wide.size() != precise_rows * v.dim_ || packed.size() != (narrow + 1) / 2) {
    return Status::Error("word vectors: section is truncated or inconsistent");
  }
  v.codes_.reserve(size_t{count} * v.dim_);
  size_t w = 0, n = 0;
  for (uint32_t r = 0; r < count; ++r) {
    for (size_t i = 0; i < v.dim_; ++i) {
      if (v.precise_[r]) {
        v.codes_.push_back(wide[w++]);
        continue;
      }
      const int code = ((packed[n / 2] >> (4 * (n % 2))) & 0xF) - 8;
      ++n;
      if (code < -kSubsetLevels) return Status::Error("word vectors: a code is out of range");
      v.codes_.push_back(static_cast<int8_t>(code));
    }
  }
  for (float x : v.scales_) {
    if (!std::isfinite(x)) return Status::Error("word vectors: a scale is not finite");
  }
  v.Index();
  return v;
}

int WordVectors::Find(std::string_view word) const {
  auto it = rows_.find(std::string(word));
  return it == rows_.end() ? -1 : it->second;
}

void WordVectors::Get(int row, float* out) const {
  for (size_t i = 0; i < dim_; ++i) out[i] = 0.0f;
  AddTo(row, 1.0f, out);
}

void WordVectors::AddTo(int row, float weight, float* out) const {
  const int8_t* c = codes_.data() + size_t(row) * dim_;
  const float s = scales_[row] * weight;
  for (size_t i = 0; i < dim_; ++i) out[i] += s * static_cast<float>(c[i]);
}

}  // namespace loopwise
