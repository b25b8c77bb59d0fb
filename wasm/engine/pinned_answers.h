#pragma once
// Operators' pins: "questions containing this phrase are answered by that article", which always
// win over what the engine would rank. Carried in the bundle's optional "PINS" section.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/byte_io.h"
#include "engine/status.h"

namespace loopwise {

class PinnedAnswers {
 public:
  // `phrase` is matched case-insensitively (ASCII) anywhere in the question; the first pin added
  // wins when several match.
  void Add(std::string phrase, uint32_t article);
  bool empty() const { return pins_.empty(); }
  size_t size() const { return pins_.size(); }

  // The pinned article for `question`, if a pin matches.
  std::optional<uint32_t> Match(std::string_view question) const;

  void Serialize(ByteWriter* out) const;
  // Fails on truncated bytes, an empty phrase or an unknown article.
  static Result<PinnedAnswers> Deserialize(ByteReader* in, size_t num_articles);

 private:
  struct Pin {
    std::string phrase;  // lowercased
    uint32_t article;
  };
  std::vector<Pin> pins_;
};

}  // namespace loopwise
