#pragma once
// A site's bundle: everything the engine needs to answer for one site, in one versioned binary.
//
// Layout (little-endian): magic "LWBUNDLE", u32 format version, u32 section count, then per
// section {u32 tag, u64 offset, u64 size, u32 crc32}, then the sections' bytes. Offsets are from
// the start of the bundle. Every section is checksummed, so a truncated, corrupt or foreign file is
// refused with a message before any of its contents are parsed.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "engine/article.h"
#include "engine/byte_io.h"
#include "engine/classifier.h"
#include "engine/encoder.h"
#include "engine/features.h"
#include "engine/status.h"
#include "engine/word_vectors.h"

namespace loopwise {

constexpr uint32_t kBundleFormatVersion = 2;

// Section tags, as four ASCII characters.
enum class Section : uint32_t {
  kArticles = 0x54524141,      // "AART"
  kEncoder = 0x434E4545,       // "EENC"
  kFeatures = 0x54414546,      // "FEAT"
  kClassifier = 0x534C4343,    // "CCLS"
  kExemplars = 0x4D455845,     // "EXEM"
  kVectorIndex = 0x58444956,   // "VIDX"
  kLexicalIndex = 0x5845584C,  // "LEXX"
  kRanker = 0x4B4E4152,        // "RANK"
  // The ranker as an ONNX model (raw ModelProto bytes) for the widget's ONNX Runtime Web worker;
  // added after Build by the server (protobuf stays out of the engine). Optional: bundles made
  // before it still load.
  kRankerModel = 0x584E4E4F,  // "ONNX"
  // Resolution priors (resolution_priors.h), learned from outcomes; optional like kRankerModel.
  kPriors = 0x4F495250,  // "PRIO"
  // When to offer a human early (escalation_model.h); optional like kRankerModel.
  kEscalation = 0x4C435345,  // "ESCL"
  // Its frustration and segment weights; optional, read only with kEscalation.
  kEscalationCues = 0x58435345,  // "ESCX"
  // Operators' pinned answers (pinned_answers.h); optional like kRankerModel.
  kPins = 0x534E4950,  // "PINS"
  // The vectors of questions no article answered (EngineParts::unanswered_index) and the weight of
  // their confidence feature; optional like kRankerModel.
  kUnanswered = 0x4E414E55,  // "UNAN"
};

struct BundleOptions {
  EncoderOptions encoder;
  FeatureOptions features;
  ClassifierOptions classifier;
  // Folds of the history used to calibrate confidence and the ranker's weights.
  int calibration_folds = 5;
  // Above this many history tickets, 2 folds: plenty of held-out questions, a third of the work.
  size_t large_history = 12000;
  uint32_t seed = 1;
  // Called as the build goes on with the share of it done (0 to 1], for a progress bar.
  std::function<void(double)> progress;
};

// The passages an article's body is learned from (tokenized): its lines joined until they hold at
// least 16 words; a long body gets longer passages, at most 24 of them.
std::vector<std::vector<std::string>> BodyPassages(const std::string& body);

class Bundle {
 public:
  // Trains every model of a site from its articles and history (Exemplar::article indexes
  // `articles`) and returns the bundle's bytes. Fails when there is nothing to build from.
  static Result<std::vector<uint8_t>> Build(const std::vector<Article>& articles,
                                            const std::vector<Exemplar>& history,
                                            const WordVectors& vectors,
                                            const BundleOptions& options);

  // Checks the header, the section table and every checksum. The bytes must outlive the Bundle.
  static Result<Bundle> Open(const uint8_t* data, size_t size);

  // A reader over one section's bytes; fails if the bundle has no such section.
  Result<ByteReader> Read(Section tag) const;
  bool Has(Section tag) const { return sections_.count(static_cast<uint32_t>(tag)) != 0; }

  // The bundle `data` with section `tag` set to `bytes` (added last, or replacing a section with
  // that tag in place); every other section is kept byte for byte. Fails as Open does on bytes
  // that are not a valid bundle.
  static Result<std::vector<uint8_t>> WithSection(const uint8_t* data, size_t size, Section tag,
                                                  std::vector<uint8_t> bytes);

 private:
  struct Entry {
    const uint8_t* data;
    size_t size;
  };
  std::map<uint32_t, Entry> sections_;
};

// Assembles sections into bundle bytes.
class BundleWriter {
 public:
  void Add(Section tag, std::vector<uint8_t> bytes) {
    sections_.emplace_back(tag, std::move(bytes));
  }
  std::vector<uint8_t> Finish() const;

 private:
  std::vector<std::pair<Section, std::vector<uint8_t>>> sections_;
};

uint32_t Crc32(const uint8_t* data, size_t size);

}  // namespace loopwise
