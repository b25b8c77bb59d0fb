#include "engine/vector_index.h"

#include "engine/vector_math.h"

// hnswlib's SSE path prefetches one entry past a full link list; the portable path reads only what
// it owns, and is the path the browser build takes anyway.
#define NO_MANUAL_VECTORIZATION
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace loopwise {
namespace {

constexpr uint32_t kMaxDim = 4096;
constexpr uint32_t kMaxDegree = 128;
constexpr int kMaxLevel = 32;

// 1 - dot product (see vector_math.h for why it is the same everywhere).
class DotSpace : public hnswlib::SpaceInterface<float> {
 public:
  explicit DotSpace(size_t dim) : dim_(dim) {}
  size_t get_data_size() override { return dim_ * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return &Distance; }
  void* get_dist_func_param() override { return &dim_; }

 private:
  static float Distance(const void* a, const void* b, const void* param) {
    return 1.0f - Dot(static_cast<const float*>(a), static_cast<const float*>(b),
                      *static_cast<const size_t*>(param));
  }
  size_t dim_;
};

std::vector<float> Unit(const float* v, size_t dim) {
  std::vector<float> out(v, v + dim);
  const float norm = std::sqrt(Dot(v, v, dim));
  if (norm > 0.0f) {
    for (float& x : out) x /= norm;
  }
  return out;
}

}  // namespace

struct VectorIndex::Graph {
  Graph(size_t dim, size_t count, const VectorIndexOptions& o)
      : space(dim), hnsw(&space, count, o.m, o.ef_construction, o.seed) {
    hnsw.setEf(o.ef_search);
  }
  DotSpace space;
  hnswlib::HierarchicalNSW<float> hnsw;
};

VectorIndex::VectorIndex() = default;
VectorIndex::~VectorIndex() = default;
VectorIndex::VectorIndex(VectorIndex&&) noexcept = default;
VectorIndex& VectorIndex::operator=(VectorIndex&&) noexcept = default;

VectorIndex VectorIndex::Build(const std::vector<float>& vectors, size_t dim,
                               const VectorIndexOptions& options) {
  VectorIndex index;
  index.dim_ = dim;
  index.options_ = options;
  index.count_ = dim == 0 ? 0 : vectors.size() / dim;
  if (index.count_ == 0) return index;

  index.codes_.resize(index.count_ * dim);
  index.scales_.resize(index.count_);
  for (size_t i = 0; i < index.count_; ++i) {
    const std::vector<float> unit = Unit(&vectors[i * dim], dim);
    float max_abs = 0.0f;
    for (float x : unit) max_abs = std::max(max_abs, std::fabs(x));
    const float scale = max_abs > 0.0f ? max_abs / 127.0f : 1.0f;
    index.scales_[i] = scale;
    for (size_t d = 0; d < dim; ++d) {
      index.codes_[i * dim + d] = static_cast<int8_t>(std::lround(unit[d] / scale));
    }
  }

  index.graph_ = std::make_unique<Graph>(dim, index.count_, options);
  std::vector<float> row(dim);
  for (size_t i = 0; i < index.count_; ++i) {
    for (size_t d = 0; d < dim; ++d) row[d] = index.codes_[i * dim + d] * index.scales_[i];
    index.graph_->hnsw.addPoint(row.data(), i);
  }
  return index;
}

std::vector<Neighbor> VectorIndex::Finish(std::vector<Neighbor> hits, size_t k) const {
  std::sort(hits.begin(), hits.end(), [](const Neighbor& a, const Neighbor& b) {
    return a.similarity != b.similarity ? a.similarity > b.similarity : a.label < b.label;
  });
  if (hits.size() > k) hits.resize(k);
  return hits;
}

std::vector<Neighbor> VectorIndex::Search(const float* query, size_t k) const {
  if (!graph_ || k == 0) return {};
  const std::vector<float> q = Unit(query, dim_);
  // hnswlib orders equally distant points by heap position, which differs between standard
  // libraries; taking the whole beam and cutting it after Finish's (similarity, label) sort keeps
  // native and WebAssembly answers identical when, say, two titles encode alike.
  auto queue = graph_->hnsw.searchKnn(q.data(), std::max<size_t>(k, options_.ef_search));
  std::vector<Neighbor> hits;
  hits.reserve(queue.size());
  for (; !queue.empty(); queue.pop()) {
    hits.push_back({static_cast<uint32_t>(queue.top().second), 1.0f - queue.top().first});
  }
  return Finish(std::move(hits), k);
}

std::vector<Neighbor> VectorIndex::SearchExact(const float* query, size_t k) const {
  if (!graph_ || k == 0) return {};
  const std::vector<float> q = Unit(query, dim_);
  const auto distance = graph_->space.get_dist_func();
  void* param = graph_->space.get_dist_func_param();
  std::vector<Neighbor> hits(count_);
  for (size_t i = 0; i < count_; ++i) {
    const void* row = graph_->hnsw.getDataByInternalId(static_cast<hnswlib::tableint>(i));
    hits[i] = {static_cast<uint32_t>(i), 1.0f - distance(q.data(), row, param)};
  }
  return Finish(std::move(hits), k);
}

// Layout: dim, count, m, ef_construction, ef_search, max level, entry point; int8 codes; scales;
// then per element its level and, for each layer up to it, its link count and links.
void VectorIndex::Serialize(ByteWriter* out) const {
  out->u32(static_cast<uint32_t>(dim_));
  out->u32(static_cast<uint32_t>(count_));
  out->u32(options_.m);
  out->u32(options_.ef_construction);
  out->u32(options_.ef_search);
  if (count_ == 0) return;
  const auto& h = graph_->hnsw;
  out->u32(static_cast<uint32_t>(h.maxlevel_));
  out->u32(h.enterpoint_node_);
  out->raw(codes_.data(), codes_.size());
  out->raw(scales_.data(), scales_.size() * sizeof(float));
  for (size_t i = 0; i < count_; ++i) {
    const auto id = static_cast<hnswlib::tableint>(i);
    const int level = h.element_levels_[i];
    out->u8(static_cast<uint8_t>(level));
    for (int l = 0; l <= level; ++l) {
      hnswlib::linklistsizeint* list = h.get_linklist_at_level(id, l);
      const size_t n = h.getListCount(list);
      const auto* links = reinterpret_cast<const hnswlib::tableint*>(list + 1);
      out->u8(static_cast<uint8_t>(n));
      for (size_t j = 0; j < n; ++j) out->u32(links[j]);
    }
  }
}

Result<VectorIndex> VectorIndex::Deserialize(ByteReader* in) {
  auto bad = [](const std::string& what) {
    return Status::Error("vector index is corrupt: " + what);
  };
  VectorIndex index;
  const uint32_t dim = in->u32();
  const uint32_t count = in->u32();
  index.options_.m = in->u32();
  index.options_.ef_construction = in->u32();
  index.options_.ef_search = in->u32();
  if (!in->ok()) return bad("header is truncated");
  if (dim == 0 || dim > kMaxDim) return bad("dimension " + std::to_string(dim));
  const uint32_t m = index.options_.m;
  if (m < 2 || m > kMaxDegree / 2) return bad("degree " + std::to_string(m));
  if (index.options_.ef_search == 0 || index.options_.ef_search > 100000) {
    return bad("search breadth " + std::to_string(index.options_.ef_search));
  }
  index.dim_ = dim;
  index.count_ = count;
  if (count == 0) return index;

  const uint32_t max_level = in->u32();
  const uint32_t entry = in->u32();
  if (!in->ok() || count > in->remaining() / (dim + 5)) return bad("fewer rows than it declares");
  if (max_level > kMaxLevel || entry >= count) return bad("entry point out of range");

  const uint8_t* codes = in->raw(static_cast<size_t>(count) * dim);
  const uint8_t* scales = in->raw(static_cast<size_t>(count) * sizeof(float));
  if (!codes || !scales) return bad("rows are truncated");
  index.codes_.resize(static_cast<size_t>(count) * dim);
  std::memcpy(index.codes_.data(), codes, index.codes_.size());
  index.scales_.resize(count);
  std::memcpy(index.scales_.data(), scales, count * sizeof(float));
  for (float s : index.scales_) {
    if (!std::isfinite(s)) return bad("a row scale is not a number");
  }

  // links[i][l]: element i's neighbours on layer l.
  std::vector<std::vector<std::vector<uint32_t>>> links(count);
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t level = in->u8();
    if (!in->ok()) return bad("links are truncated");
    if (level > max_level) return bad("element " + std::to_string(i) + " above the top layer");
    links[i].resize(level + 1);
    for (uint32_t l = 0; l <= level; ++l) {
      const uint32_t n = in->u8();
      if (n > (l == 0 ? 2 * m : m))
        return bad("element " + std::to_string(i) + " has too many links");
      links[i][l].resize(n);
      for (auto& id : links[i][l]) {
        id = in->u32();
        if (id >= count) return bad("a link points past the last element");
      }
    }
    if (!in->ok()) return bad("links are truncated");
  }
  // Search follows a layer-l link into the neighbour's layer-l list, which must exist.
  for (uint32_t i = 0; i < count; ++i) {
    for (size_t l = 1; l < links[i].size(); ++l) {
      for (uint32_t id : links[i][l]) {
        if (links[id].size() <= l) return bad("a link leads to a layer its target is not on");
      }
    }
  }
  if (links[entry].size() != max_level + 1) return bad("the entry point is not on the top layer");

  index.Assemble(links, static_cast<int>(max_level), entry);
  return index;
}

void VectorIndex::Assemble(const std::vector<std::vector<std::vector<uint32_t>>>& links,
                           int max_level, uint32_t entry) {
  graph_ = std::make_unique<Graph>(dim_, count_, options_);
  auto& h = graph_->hnsw;
  std::vector<float> row(dim_);
  for (size_t i = 0; i < count_; ++i) {
    const auto id = static_cast<hnswlib::tableint>(i);
    const int level = static_cast<int>(links[i].size()) - 1;
    for (size_t d = 0; d < dim_; ++d) row[d] = codes_[i * dim_ + d] * scales_[i];
    std::memcpy(h.getDataByInternalId(id), row.data(), dim_ * sizeof(float));
    h.setExternalLabel(id, i);
    h.label_lookup_[i] = id;
    h.element_levels_[i] = level;
    h.linkLists_[i] = nullptr;
    if (level > 0) {
      h.linkLists_[i] = static_cast<char*>(std::calloc(level, h.size_links_per_element_));
    }
    for (int l = 0; l <= level; ++l) {
      hnswlib::linklistsizeint* list = h.get_linklist_at_level(id, l);
      h.setListCount(list, static_cast<unsigned short>(links[i][l].size()));
      if (!links[i][l].empty()) {  // an empty vector's data() may be null, which memcpy forbids
        std::memcpy(list + 1, links[i][l].data(), links[i][l].size() * sizeof(uint32_t));
      }
    }
  }
  h.cur_element_count = count_;
  h.maxlevel_ = max_level;
  h.enterpoint_node_ = entry;
}

}  // namespace loopwise
