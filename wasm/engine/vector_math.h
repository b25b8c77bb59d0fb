#pragma once
// The one dot product of the engine. It sums in eight interleaved accumulators combined in a fixed
// order: fast, since the additions pipeline and vectorize, and bit-identical in native and
// WebAssembly builds, since compilers may not reorder a float sum without fast-math.

#include <cstddef>

namespace loopwise {

inline float Dot(const float* a, const float* b, size_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (size_t j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  }
  for (; i < n; ++i) acc[i % 8] += a[i] * b[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

}  // namespace loopwise
