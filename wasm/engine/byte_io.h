#pragma once
// Little-endian binary writing and bounds-checked reading. The reader never reads past its end: a
// short or corrupt input makes it fail, and every later read then fails too, so callers can read a
// whole record and check once.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace loopwise {

class ByteWriter {
 public:
  void u8(uint8_t v) { bytes_.push_back(v); }
  void u32(uint32_t v) { raw(&v, 4); }
  void u64(uint64_t v) { raw(&v, 8); }
  void f32(float v) { raw(&v, 4); }
  void str(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    raw(s.data(), s.size());
  }
  template <typename T>
  void array(const std::vector<T>& v) {
    u32(static_cast<uint32_t>(v.size()));
    raw(v.data(), v.size() * sizeof(T));
  }
  void raw(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    bytes_.insert(bytes_.end(), b, b + n);
  }
  std::vector<uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}

  bool ok() const { return ok_; }
  bool at_end() const { return p_ == end_; }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }

  uint8_t u8() { return scalar<uint8_t>(); }
  uint32_t u32() { return scalar<uint32_t>(); }
  uint64_t u64() { return scalar<uint64_t>(); }
  float f32() { return scalar<float>(); }
  std::string str() {
    uint32_t n = u32();
    if (!take(n)) return {};
    return std::string(reinterpret_cast<const char*>(p_ - n), n);
  }
  // Reads a length-prefixed array of trivially copyable T; max_count bounds the allocation.
  template <typename T>
  std::vector<T> array(size_t max_count = SIZE_MAX / sizeof(T)) {
    uint32_t n = u32();
    if (n > max_count || n > remaining() / sizeof(T)) {
      ok_ = false;
      return {};
    }
    std::vector<T> v(n);
    if (n) std::memcpy(v.data(), p_, n * sizeof(T));
    p_ += n * sizeof(T);
    return v;
  }
  const uint8_t* raw(size_t n) { return take(n) ? p_ - n : nullptr; }
  void fail() { ok_ = false; }

 private:
  template <typename T>
  T scalar() {
    T v{};
    if (take(sizeof(T))) std::memcpy(&v, p_ - sizeof(T), sizeof(T));
    return v;
  }
  bool take(size_t n) {
    if (!ok_ || n > remaining()) {
      ok_ = false;
      return false;
    }
    p_ += n;
    return true;
  }

  const uint8_t* p_;
  const uint8_t* end_;
  bool ok_ = true;
};

}  // namespace loopwise
