#include "query_clusters.h"

#include <algorithm>
#include <cmath>

#include "engine/tokenizer.h"

namespace loopwise {
namespace {

float Dot(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return 0;
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(s);
}

// Centroids are stored with 5 decimals: plenty for cosine thresholds, a third of the JSON.
nlohmann::json Rounded(const std::vector<float>& v) {
  nlohmann::json out = nlohmann::json::array();
  for (float x : v) out.push_back(std::round(static_cast<double>(x) * 1e5) / 1e5);
  return out;
}

}  // namespace

std::vector<float> QueryClusters::Embed(const Encoder& encoder, const std::string& text) {
  std::vector<float> v = encoder.Encode(Tokenize(text));
  double norm = 0;
  for (float x : v) norm += static_cast<double>(x) * x;
  if (norm < 1e-12) return {};
  const float inv = static_cast<float>(1 / std::sqrt(norm));
  for (float& x : v) x *= inv;
  return v;
}

void QueryClusters::Normalize(Cluster* c) {
  double norm = 0;
  for (float x : c->sum) norm += static_cast<double>(x) * x;
  c->center = c->sum;
  if (norm < 1e-12) return;
  const float inv = static_cast<float>(1 / std::sqrt(norm));
  for (float& x : c->center) x *= inv;
}

QueryClusters::Cluster* QueryClusters::Find(int64_t id) {
  for (Cluster& c : clusters_) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

int64_t QueryClusters::Nearest(const std::vector<float>& v, float* similarity) const {
  int64_t best = 0;
  float best_sim = -1;
  for (const Cluster& c : clusters_) {
    const float s = Dot(c.center, v);
    if (s > best_sim) {
      best_sim = s;
      best = c.id;
    }
  }
  if (similarity) *similarity = best_sim;
  return best_sim >= options_.join ? best : 0;
}

std::vector<int64_t> QueryClusters::Within(const std::vector<float>& v, float threshold) const {
  std::vector<std::pair<float, int64_t>> hits;
  for (const Cluster& c : clusters_) {
    const float s = Dot(c.center, v);
    if (s >= threshold) hits.emplace_back(s, c.id);
  }
  std::sort(hits.begin(), hits.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<int64_t> out;
  for (const auto& h : hits) out.push_back(h.second);
  return out;
}

int64_t QueryClusters::Add(int64_t id, const std::vector<float>& v) {
  Cluster* c = id ? Find(id) : nullptr;
  if (!c) {
    clusters_.push_back({next_id_++, 0, std::vector<float>(v.size(), 0.0f), {}});
    c = &clusters_.back();
  }
  if (c->sum.size() != v.size()) c->sum.assign(v.size(), 0.0f);
  for (size_t i = 0; i < v.size(); ++i) c->sum[i] += v[i];
  c->weight += 1;
  Normalize(c);
  return c->id;
}

void QueryClusters::Reset(int64_t id, const std::vector<float>& centroid) {
  Cluster* c = Find(id);
  if (!c || centroid.empty()) return;
  // Keep the cluster's weight, so a re-embedded cluster moves as slowly as before.
  c->sum = centroid;
  const double w = std::max(1.0, c->weight);
  for (float& x : c->sum) x = static_cast<float>(x * w);
  Normalize(c);
}

void QueryClusters::Remove(int64_t id) {
  clusters_.erase(std::remove_if(clusters_.begin(), clusters_.end(),
                                 [id](const Cluster& c) { return c.id == id; }),
                  clusters_.end());
}

std::vector<std::pair<int64_t, int64_t>> QueryClusters::MergeClose() {
  std::vector<std::pair<int64_t, int64_t>> merges;
  for (bool merged = true; merged;) {
    merged = false;
    float best = options_.merge;
    size_t bi = 0, bj = 0;
    for (size_t i = 0; i < clusters_.size(); ++i) {
      for (size_t j = i + 1; j < clusters_.size(); ++j) {
        const float s = Dot(clusters_[i].center, clusters_[j].center);
        if (s >= best) {
          best = s;
          bi = i;
          bj = j;
          merged = true;
        }
      }
    }
    if (!merged) break;
    if (clusters_[bi].weight < clusters_[bj].weight) std::swap(bi, bj);
    Cluster& into = clusters_[bi];
    const Cluster& from = clusters_[bj];
    for (size_t k = 0; k < into.sum.size() && k < from.sum.size(); ++k) into.sum[k] += from.sum[k];
    into.weight += from.weight;
    Normalize(&into);
    merges.emplace_back(from.id, into.id);
    clusters_.erase(clusters_.begin() + static_cast<std::ptrdiff_t>(bj));
  }
  return merges;
}

std::vector<int64_t> QueryClusters::ids() const {
  std::vector<int64_t> out;
  for (const Cluster& c : clusters_) out.push_back(c.id);
  return out;
}

float QueryClusters::Similarity(int64_t id, const std::vector<float>& v) const {
  for (const Cluster& c : clusters_) {
    if (c.id == id) return Dot(c.center, v);
  }
  return 0;
}

nlohmann::json QueryClusters::ToJson() const {
  nlohmann::json list = nlohmann::json::array();
  for (const Cluster& c : clusters_) {
    list.push_back({{"id", c.id}, {"weight", c.weight}, {"center", Rounded(c.center)}});
  }
  return {{"next_id", next_id_}, {"clusters", list}};
}

Result<QueryClusters> QueryClusters::FromJson(const nlohmann::json& j, ClusterOptions options) {
  QueryClusters out(options);
  try {
    out.next_id_ = j.at("next_id").get<int64_t>();
    for (const auto& c : j.at("clusters")) {
      Cluster cluster;
      cluster.id = c.at("id").get<int64_t>();
      cluster.weight = c.at("weight").get<double>();
      cluster.center = c.at("center").get<std::vector<float>>();
      // The normalized center times the weight stands for the sum: it keeps the direction and
      // how slowly the cluster moves, which is all the clustering uses.
      cluster.sum = cluster.center;
      for (float& x : cluster.sum) x = static_cast<float>(x * cluster.weight);
      out.clusters_.push_back(std::move(cluster));
    }
  } catch (const std::exception& e) {
    return Status::Error(std::string("stored query clusters are unreadable (") + e.what() + ")");
  }
  return out;
}

std::vector<float> EncoderFingerprint(const Encoder& encoder) {
  std::vector<float> v = encoder.Encode(Tokenize("how do i change my account password"));
  v.resize(std::min<size_t>(v.size(), 8));
  return v;
}

bool SameFingerprint(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::fabs(a[i] - b[i]) > 1e-3f) return false;
  }
  return true;
}

}  // namespace loopwise
