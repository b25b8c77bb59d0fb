#include "engine/pinned_answers.h"

#include <cctype>

namespace loopwise {
namespace {

constexpr uint32_t kMaxPins = 100000;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

void PinnedAnswers::Add(std::string phrase, uint32_t article) {
  pins_.push_back({Lower(phrase), article});
}

std::optional<uint32_t> PinnedAnswers::Match(std::string_view question) const {
  if (pins_.empty()) return std::nullopt;
  const std::string q = Lower(question);
  for (const Pin& p : pins_) {
    if (!p.phrase.empty() && q.find(p.phrase) != std::string::npos) return p.article;
  }
  return std::nullopt;
}

void PinnedAnswers::Serialize(ByteWriter* out) const {
  out->u32(static_cast<uint32_t>(pins_.size()));
  for (const Pin& p : pins_) {
    out->str(p.phrase);
    out->u32(p.article);
  }
}

Result<PinnedAnswers> PinnedAnswers::Deserialize(ByteReader* in, size_t num_articles) {
  PinnedAnswers pins;
  const uint32_t n = in->u32();
  if (!in->ok() || n > kMaxPins || n > in->remaining() / 8) {
    return Status::Error("pins: impossible pin count");
  }
  for (uint32_t i = 0; i < n; ++i) {
    std::string phrase = in->str();
    const uint32_t article = in->u32();
    if (!in->ok()) return Status::Error("pins: section is truncated");
    if (phrase.empty()) return Status::Error("pins: a pin has an empty phrase");
    if (article >= num_articles) return Status::Error("pins: a pin names an unknown article");
    pins.pins_.push_back({std::move(phrase), article});
  }
  return pins;
}

}  // namespace loopwise
