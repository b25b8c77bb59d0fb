#pragma once
// Online clustering of customer questions in a site's embedding space (leader clustering with
// running centroids), shared by the gap finder and the spike detector.
//
// A question joins the nearest cluster when its cosine similarity to the centroid reaches
// `join`, else the caller starts a new cluster for it. Clusters whose centroids come within
// `merge` of each other are merged. Callers keep what they count about each cluster (volume,
// examples, pages) under the cluster's id, and follow the merges MergeClose reports.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "engine/encoder.h"
#include "engine/status.h"

namespace loopwise {

struct ClusterOptions {
  float join = 0.72f;   // cosine to a centroid to join that cluster
  float merge = 0.85f;  // cosine between centroids to merge two clusters
};

class QueryClusters {
 public:
  explicit QueryClusters(ClusterOptions options = {}) : options_(options) {}

  // The unit vector of `text` under `encoder`; empty when the text has no known word.
  static std::vector<float> Embed(const Encoder& encoder, const std::string& text);

  // The nearest cluster to unit vector `v` whose similarity reaches `join`: its id, or 0 (ids
  // start at 1) when none is close enough. `similarity` gets the best cosine found.
  int64_t Nearest(const std::vector<float>& v, float* similarity = nullptr) const;
  // Every cluster whose similarity to unit vector `v` reaches `threshold`, nearest first.
  std::vector<int64_t> Within(const std::vector<float>& v, float threshold) const;
  // Adds `v` to cluster `id` (moving its centroid) or, with id 0, starts a cluster; returns the id.
  int64_t Add(int64_t id, const std::vector<float>& v);
  // Replaces a cluster's centroid (after the encoder changed: re-embedded from its examples).
  void Reset(int64_t id, const std::vector<float>& centroid);
  void Remove(int64_t id);
  // Merges every pair of clusters closer than `merge`, the smaller into the larger; returns the
  // merges made as (from, into) ids, in order.
  std::vector<std::pair<int64_t, int64_t>> MergeClose();

  size_t size() const { return clusters_.size(); }
  std::vector<int64_t> ids() const;
  // Cosine similarity of unit vector `v` to cluster `id`'s centroid (0 when unknown).
  float Similarity(int64_t id, const std::vector<float>& v) const;

  nlohmann::json ToJson() const;
  // Fails with a sentence when `j` is not what ToJson wrote.
  static Result<QueryClusters> FromJson(const nlohmann::json& j, ClusterOptions options);

 private:
  struct Cluster {
    int64_t id = 0;
    double weight = 0;          // questions added
    std::vector<float> sum;     // sum of their unit vectors
    std::vector<float> center;  // sum, normalized
  };
  static void Normalize(Cluster* c);
  Cluster* Find(int64_t id);

  ClusterOptions options_;
  std::vector<Cluster> clusters_;
  int64_t next_id_ = 1;
};

// A few numbers that change when the encoder's geometry changes (a new bundle with another
// adapter or vocabulary): stored beside clusters so they are re-embedded when it differs.
std::vector<float> EncoderFingerprint(const Encoder& encoder);
// True when two fingerprints describe the same geometry.
bool SameFingerprint(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace loopwise
