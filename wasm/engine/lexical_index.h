#pragma once
// BM25 over the site's texts (article titles, tags and bodies, and resolved past questions), each
// text belonging to one article. An article scores as its best-matching text.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/byte_io.h"
#include "engine/status.h"

namespace loopwise {

struct LexicalHit {
  uint32_t article;
  float score;
};

class LexicalIndex {
 public:
  // `docs[i]` is a tokenized text of article `article_of[i]`.
  static LexicalIndex Build(const std::vector<std::vector<std::string>>& docs,
                            const std::vector<uint32_t>& article_of);

  // Best score per article, for the articles matching at least one query word, best first.
  std::vector<LexicalHit> Search(const std::vector<std::string>& query, size_t k) const;

  void Serialize(ByteWriter* out) const;
  static Result<LexicalIndex> Deserialize(ByteReader* in, size_t num_articles);

 private:
  void Index();

  float k1_ = 1.2f;
  float b_ = 0.75f;
  std::vector<std::string> terms_;
  std::vector<uint32_t> offsets_;  // terms_.size() + 1, into docs_/tfs_
  std::vector<uint32_t> docs_;
  std::vector<uint16_t> tfs_;
  std::vector<uint16_t> doc_length_;
  std::vector<uint32_t> article_of_;
  size_t num_articles_ = 0;
  float mean_length_ = 1.0f;
  std::unordered_map<std::string, uint32_t> term_index_;
};

}  // namespace loopwise
