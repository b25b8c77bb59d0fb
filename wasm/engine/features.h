#pragma once
// Sparse lexical features of a text: word unigrams, word bigrams and character n-grams of each word
// (with boundary marks, so typos and inflections still share most features), hashed to 32 bits and
// weighted by sublinear TF-IDF. The vocabulary is fitted on the site's own texts; features it never
// saw carry no weight anywhere in the engine, so they are dropped.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/byte_io.h"
#include "engine/status.h"

namespace loopwise {

struct SparseVector {
  std::vector<uint32_t> index;  // feature numbers, ascending
  std::vector<float> value;
  size_t size() const { return index.size(); }
};

struct FeatureOptions {
  int char_min = 2;
  int char_max = 5;
  // Each block is L2-normalized on its own and then scaled by its weight.
  float word_weight = 1.0f;
  float bigram_weight = 0.6f;
  float char_weight = 1.0f;
};

class FeatureSpace {
 public:
  // Learns the vocabulary and inverse document frequencies from tokenized documents.
  static FeatureSpace Fit(const std::vector<std::vector<std::string>>& docs,
                          const FeatureOptions& options);

  SparseVector Vectorize(const std::vector<std::string>& tokens) const;
  size_t size() const { return hashes_.size(); }

  void Serialize(ByteWriter* out) const;
  static Result<FeatureSpace> Deserialize(ByteReader* in);

 private:
  enum Block : uint8_t { kWord = 0, kBigram = 1, kChar = 2, kBlocks = 3 };
  // Calls emit(block, hash) for every feature occurrence in `tokens`.
  template <typename Emit>
  void ForEachFeature(const std::vector<std::string>& tokens, Emit emit) const;
  void Index();

  FeatureOptions options_;
  std::vector<uint32_t> hashes_;
  std::vector<float> idf_;
  std::vector<uint8_t> block_;
  std::unordered_map<uint32_t, uint32_t> index_;
};

// FNV-1a, seeded: stable across platforms and builds, which the bundle format relies on.
uint32_t HashBytes(const char* data, size_t size, uint32_t seed);

}  // namespace loopwise
