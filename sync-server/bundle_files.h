#pragma once
// Published bundles on disk: DIR/bundles/<sha256>, immutable, with a gzip copy <sha256>.gz for
// clients that accept it. A file appears only whole (written to a temporary name, fsynced, renamed,
// directory fsynced), so a crash leaves either the complete bundle or none.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/status.h"

namespace loopwise {

class BundleFiles {
 public:
  // `dir` is created if missing.
  static Result<BundleFiles> Open(const std::string& dir);

  // Stores the bundle (and its gzip copy) under its sha256 and returns the sha256. Storing the same
  // bytes again is a no-op.
  Result<std::string> Put(const std::vector<uint8_t>& bundle);

  // The stored bytes, gzip-compressed when `gzip` is true. Fails when there is no such bundle.
  // Recently read bundles are kept in memory.
  Result<std::shared_ptr<const std::string>> Get(const std::string& sha256, bool gzip);

  // Removes bundles not in `keep` whose files are older than `min_age_seconds` (so a bundle being
  // published right now is never removed before its version is recorded).
  void Prune(const std::vector<std::string>& keep, int64_t min_age_seconds);

  // True for 64 lowercase hex digits: the only names Get accepts.
  static bool IsSha256(const std::string& name);

 private:
  explicit BundleFiles(std::string dir) : dir_(std::move(dir)), cache_(new Cache) {}
  struct Cache {
    std::mutex mu;
    std::map<std::string, std::shared_ptr<const std::string>> entries;
  };
  std::string dir_;
  std::shared_ptr<Cache> cache_;
};

// Writes `bytes` to `path` durably: temporary file, fsync, rename, fsync of the directory.
Status WriteFileDurably(const std::string& path, const std::string& bytes);

// gzip (RFC 1952) of `bytes`.
Result<std::string> Gzip(const std::string& bytes);

}  // namespace loopwise
