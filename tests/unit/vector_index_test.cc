#include "engine/vector_index.h"

#include <doctest/doctest.h>

#include <random>

using loopwise::ByteReader;
using loopwise::ByteWriter;
using loopwise::VectorIndex;
using loopwise::VectorIndexOptions;

namespace {

// Clustered random vectors, like sentence embeddings: many near neighbours, some ties in rank.
std::vector<float> RandomVectors(size_t count, size_t dim, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> centres(20 * dim);
  for (float& x : centres) x = normal(rng);
  std::vector<float> out(count * dim);
  for (size_t i = 0; i < count; ++i) {
    const size_t c = rng() % 20;
    for (size_t d = 0; d < dim; ++d) out[i * dim + d] = centres[c * dim + d] + 0.5f * normal(rng);
  }
  return out;
}

std::vector<uint8_t> Bytes(const VectorIndex& index) {
  ByteWriter w;
  index.Serialize(&w);
  return w.bytes();
}

}  // namespace

TEST_CASE("vector index finds the query's own row and agrees with exact search") {
  const size_t dim = 32, count = 2000;
  const auto vectors = RandomVectors(count, dim, 1);
  const VectorIndex index = VectorIndex::Build(vectors, dim, VectorIndexOptions{});
  REQUIRE(index.size() == count);
  REQUIRE(index.dim() == dim);

  size_t found = 0, total = 0;
  for (size_t i = 0; i < count; i += 10) {
    const auto approx = index.Search(&vectors[i * dim], 10);
    const auto exact = index.SearchExact(&vectors[i * dim], 10);
    REQUIRE(approx.size() == 10);
    REQUIRE(exact.size() == 10);
    CHECK(exact[0].label == i);
    CHECK(exact[0].similarity == doctest::Approx(1.0f).epsilon(0.01));
    for (size_t j = 1; j < approx.size(); ++j) {
      CHECK(approx[j - 1].similarity >= approx[j].similarity);
    }
    for (const auto& e : exact) {
      for (const auto& a : approx) found += a.label == e.label ? 1 : 0;
    }
    total += exact.size();
  }
  CHECK(static_cast<double>(found) / total >= 0.95);
}

TEST_CASE("vector index survives a round trip through bytes, answer for answer") {
  const size_t dim = 16;
  const auto vectors = RandomVectors(500, dim, 2);
  const VectorIndex built = VectorIndex::Build(vectors, dim, VectorIndexOptions{});
  const std::vector<uint8_t> bytes = Bytes(built);
  ByteReader reader(bytes.data(), bytes.size());
  auto loaded = VectorIndex::Deserialize(&reader);
  REQUIRE(loaded.ok());
  CHECK(reader.at_end());
  CHECK(Bytes(loaded.value()) == bytes);
  const auto queries = RandomVectors(50, dim, 3);
  for (size_t q = 0; q < 50; ++q) {
    const auto a = built.Search(&queries[q * dim], 7);
    const auto b = loaded.value().Search(&queries[q * dim], 7);
    REQUIRE(a.size() == b.size());
    for (size_t j = 0; j < a.size(); ++j) {
      CHECK(a[j].label == b[j].label);
      CHECK(a[j].similarity == b[j].similarity);
    }
  }
}

TEST_CASE("vector index builds the same bytes twice and handles empty input") {
  const auto vectors = RandomVectors(300, 8, 4);
  CHECK(Bytes(VectorIndex::Build(vectors, 8, {})) == Bytes(VectorIndex::Build(vectors, 8, {})));

  const VectorIndex empty = VectorIndex::Build({}, 8, {});
  CHECK(empty.size() == 0);
  const float q[8] = {1, 0, 0, 0, 0, 0, 0, 0};
  CHECK(empty.Search(q, 5).empty());
  const auto bytes = Bytes(empty);
  ByteReader reader(bytes.data(), bytes.size());
  auto loaded = VectorIndex::Deserialize(&reader);
  REQUIRE(loaded.ok());
  CHECK(loaded.value().Search(q, 5).empty());
}

TEST_CASE("vector index refuses corrupt bytes without crashing") {
  const auto vectors = RandomVectors(200, 8, 5);
  const std::vector<uint8_t> good = Bytes(VectorIndex::Build(vectors, 8, {}));
  std::mt19937 rng(6);
  const float q[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  size_t refused = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::vector<uint8_t> bytes = good;
    if (trial % 3 == 0) {
      bytes.resize(rng() % bytes.size());
    } else {
      for (int flips = 1 + rng() % 4; flips > 0; --flips) {
        bytes[rng() % bytes.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
      }
    }
    ByteReader reader(bytes.data(), bytes.size());
    auto loaded = VectorIndex::Deserialize(&reader);
    if (!loaded.ok()) {
      ++refused;
      CHECK(loaded.status().message().find("vector index") != std::string::npos);
      continue;
    }
    // Whatever loads must answer within bounds.
    for (const auto& hit : loaded.value().Search(q, 5)) CHECK(hit.label < loaded.value().size());
  }
  CHECK(refused > 1000);
}
