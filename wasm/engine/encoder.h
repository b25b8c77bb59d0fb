#pragma once
// Dense sentence vectors: smooth-inverse-frequency (SIF) weighted GloVe word vectors with the
// site's common component removed, then a learned linear adapter (identity until the learning loop
// trains one), L2-normalized.
//
// Words GloVe lacks are handled two ways: a misspelling of a site word (one edit away) borrows that
// word's vector; a product word that occurs in the site's own texts gets the average vector of the
// texts it occurs in, so "loopwise" lands near what the site says around it.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/byte_io.h"
#include "engine/status.h"
#include "engine/word_vectors.h"

namespace loopwise {

struct EncoderOptions {
  // Most frequent English words carried besides the site's own, so a customer's word the site
  // never used still has a vector. More words help a little (HWU64 stream queries, 10-shot:
  // 0.772 with 10,000, 0.777 with 20,000) but cost about 51 bytes each in a gzipped bundle
  // (4 bits a component);
  // 12,000 keeps the demo site's bundle under 1.5 MB.
  size_t common_words = 12000;
  // SIF smoothing: a word of frequency p weighs a / (a + p).
  float sif_a = 1e-3f;
};

class Encoder {
 public:
  // Chooses the vectors a site needs from `full` and learns the common component and the vectors
  // of the site's own words from its tokenized texts.
  static Encoder Fit(const WordVectors& full,
                     const std::vector<std::vector<std::string>>& site_docs,
                     const EncoderOptions& options);

  size_t dim() const { return dim_; }
  // Writes the unit-length sentence vector of `tokens` to out[0..dim). A text with no known word
  // gives the zero vector.
  void Encode(const std::vector<std::string>& tokens, float* out) const;
  std::vector<float> Encode(const std::vector<std::string>& tokens) const;

  // The adapter is a dim x dim row-major matrix applied after common-component removal.
  void set_adapter(std::vector<float> matrix) { adapter_ = std::move(matrix); }
  const std::vector<float>& adapter() const { return adapter_; }

  // True when the site's own texts contain `word` (a misspelling of one does not count).
  bool IsSiteWord(const std::string& word) const {
    auto it = rows_.find(word);
    return it != rows_.end() && site_word_[it->second];
  }

  void Serialize(ByteWriter* out) const;
  static Result<Encoder> Deserialize(ByteReader* in);

 private:
  // Vector and weight of a word: a store row, a site word's own vector, or a one-edit correction.
  bool Lookup(const std::string& word, const float** vec, float* weight) const;
  void IndexVocabulary();

  size_t dim_ = 0;
  float sif_a_ = 1e-3f;
  std::vector<std::string> words_;  // the vocabulary, store words first then site-only words
  std::vector<float> vectors_;      // words_.size() x dim_, dequantized at load
  std::vector<float> weights_;      // SIF weight per word
  std::vector<uint8_t> site_word_;  // 1 when the word occurs in the site's texts
  std::vector<float> common_;       // unit common component, or empty
  std::vector<float> adapter_;      // empty = identity
  WordVectors store_;               // the bundle's subset, kept for serialization
  std::unordered_map<std::string, uint32_t> rows_;
  // Deletion variants of site words (one character removed) -> word, for typo correction.
  std::unordered_map<std::string, uint32_t> deletions_;
};

}  // namespace loopwise
