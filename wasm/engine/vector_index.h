#pragma once
// Approximate nearest neighbours by cosine similarity: an hnswlib graph over unit vectors.
//
// The graph is built natively and stored in the bundle in our own compact form (int8 vectors with a
// per-row scale, links as element ids), then rebuilt into hnswlib's memory layout on load, so the
// same bytes give the same answers in the browser and on the server. Distances are computed by a
// plain scalar loop, never SIMD, for the same reason: every platform sums in the same order.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/byte_io.h"
#include "engine/status.h"

namespace hnswlib {
template <typename T>
class HierarchicalNSW;
}

namespace loopwise {

struct VectorIndexOptions {
  uint32_t m = 12;                 // graph degree on upper layers; 2m on the bottom layer
  uint32_t ef_construction = 100;  // candidate list while building: higher, better graph
  uint32_t ef_search = 32;         // candidate list while searching: higher, better recall
  uint32_t seed = 7;               // level assignment; fixed so builds are reproducible
};

struct Neighbor {
  uint32_t label;    // position of the vector in the input to Build
  float similarity;  // cosine similarity, in [-1, 1]
};

class VectorIndex {
 public:
  VectorIndex();
  ~VectorIndex();
  VectorIndex(VectorIndex&&) noexcept;
  VectorIndex& operator=(VectorIndex&&) noexcept;

  // Indexes `vectors`, count x dim floats row by row. Rows are normalized and quantized to int8
  // first (what the bundle stores), so a built index and a loaded one answer identically.
  static VectorIndex Build(const std::vector<float>& vectors, size_t dim,
                           const VectorIndexOptions& options);

  // Up to k nearest vectors to `query` (dim floats, need not be unit length), most similar first,
  // ties broken by label.
  std::vector<Neighbor> Search(const float* query, size_t k) const;
  // The same by brute force: the reference for measuring recall.
  std::vector<Neighbor> SearchExact(const float* query, size_t k) const;

  size_t size() const { return count_; }
  size_t dim() const { return dim_; }

  void Serialize(ByteWriter* out) const;
  // Checks every count, level and link, so corrupt bytes fail here and never reach the graph.
  static Result<VectorIndex> Deserialize(ByteReader* in);

 private:
  struct Graph;
  // Rebuilds hnswlib's structure from quantized rows and per-element links.
  void Assemble(const std::vector<std::vector<std::vector<uint32_t>>>& links, int max_level,
                uint32_t entry);
  std::vector<Neighbor> Finish(std::vector<Neighbor> hits, size_t k) const;

  size_t dim_ = 0;
  size_t count_ = 0;
  VectorIndexOptions options_;
  std::vector<int8_t> codes_;  // count x dim
  std::vector<float> scales_;  // per row: value = code * scale
  std::unique_ptr<Graph> graph_;
};

}  // namespace loopwise
