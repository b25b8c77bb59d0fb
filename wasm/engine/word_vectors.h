#pragma once
// A store of word vectors quantized to int8 with one scale per row. Rows keep the order of the
// source vocabulary, which is frequency order, so a row's rank doubles as a word-frequency
// estimate.
//
// Two byte layouts carry it: the full store made by model-assets/make-word-vectors.mjs (Parse), and
// the compact subset a site's bundle carries (Subset, then Serialize / Deserialize): 8 bits a
// component for the site's own words, 4 for the rest, one scale per row, and each word's original
// rank.

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/byte_io.h"
#include "engine/status.h"

namespace loopwise {

class WordVectors {
 public:
  WordVectors() = default;

  // Parses the full store ("LWVEC1" layout). Fails with a message naming what is wrong.
  static Result<WordVectors> Parse(const uint8_t* data, size_t size);

  // A store holding only `words` (those present here), in this store's order, ranks kept; rows of
  // words not in `precise` are requantized to 4 bits, so that it is exactly what Deserialize gives
  // back.
  WordVectors Subset(const std::vector<std::string>& words,
                     const std::set<std::string>& precise = {}) const;

  void Serialize(ByteWriter* out) const;
  static Result<WordVectors> Deserialize(ByteReader* in);

  size_t dim() const { return dim_; }
  size_t size() const { return ranks_.size(); }
  // Row of `word`, or -1 when the store does not know it.
  int Find(std::string_view word) const;
  // Writes the dequantized vector of `row` to out[0..dim).
  void Get(int row, float* out) const;
  // Adds weight * vector of `row` to out[0..dim).
  void AddTo(int row, float weight, float* out) const;
  // Frequency rank of the word in the source vocabulary (0 = most frequent).
  uint32_t rank(int row) const { return ranks_[row]; }
  const std::string& word(int row) const { return words_[row]; }

 private:
  void Index();

  size_t dim_ = 0;
  std::vector<std::string> words_;
  std::vector<uint32_t> ranks_;
  std::vector<float> scales_;
  std::vector<int8_t> codes_;
  std::vector<uint8_t> precise_;  // per row: 1 when its codes keep 8 bits
  std::unordered_map<std::string, int> rows_;
};

}  // namespace loopwise
