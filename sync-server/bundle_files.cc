#include "bundle_files.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "sha256.h"

namespace loopwise {
namespace fs = std::filesystem;

namespace {

constexpr size_t kCachedBundles = 8;

Status Errno(const std::string& what) {
  return Status::Error(what + " (" + std::strerror(errno) + ")");
}

// The file's bytes; nullopt when it cannot be read.
std::optional<std::string> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return s.str();
}

}  // namespace

Status WriteFileDurably(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno(tmp + ": cannot create");
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = Errno(tmp + ": cannot write");
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status s = Errno(tmp + ": cannot sync");
    ::close(fd);
    return s;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Errno(path + ": cannot rename into place");
  const std::string dir = fs::path(path).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

Result<std::string> Gzip(const std::string& bytes) {
  z_stream z{};
  // 15 window bits + 16: a gzip header and trailer rather than a zlib one.
  if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Status::Error("gzip: cannot start the compressor");
  }
  std::string out(deflateBound(&z, bytes.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return Status::Error("gzip: compression failed");
  return out;
}

bool BundleFiles::IsSha256(const std::string& name) {
  if (name.size() != 64) return false;
  for (char c : name) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Result<BundleFiles> BundleFiles::Open(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Error(dir + ": cannot create the bundle directory (" + ec.message() + ")");
  return BundleFiles(dir);
}

Result<std::string> BundleFiles::Put(const std::vector<uint8_t>& bundle) {
  const std::string bytes(bundle.begin(), bundle.end());
  const std::string sha = Sha256Hex(bytes);
  const std::string path = dir_ + "/" + sha;
  auto gz = Gzip(bytes);
  if (!gz.ok()) return gz.status();
  // Files already there are kept when they hold these very bytes (touched, so that Prune's age
  // check counts from this publish) and rewritten when damaged: publishing again repairs them.
  // The plain file first: a bundle counts as stored once its .gz (written last) exists.
  for (const auto& [file, want] :
       {std::pair<std::string, const std::string*>{path, &bytes}, {path + ".gz", &gz.value()}}) {
    std::error_code ec;
    if (ReadAll(file) == *want) {
      fs::last_write_time(file, fs::file_time_type::clock::now(), ec);
      continue;
    }
    if (Status s = WriteFileDurably(file, *want); !s.ok()) return s;
    std::lock_guard<std::mutex> lock(cache_->mu);
    cache_->entries.erase(fs::path(file).filename().string());
  }
  return sha;
}

Result<std::shared_ptr<const std::string>> BundleFiles::Get(const std::string& sha256, bool gzip) {
  if (!IsSha256(sha256)) return Status::Error("not a bundle name");
  const std::string name = gzip ? sha256 + ".gz" : sha256;
  {
    std::lock_guard<std::mutex> lock(cache_->mu);
    auto it = cache_->entries.find(name);
    if (it != cache_->entries.end()) return it->second;
  }
  std::error_code ec;
  if (!fs::exists(dir_ + "/" + name, ec)) return Status::Error("no bundle " + sha256);
  std::optional<std::string> read = ReadAll(dir_ + "/" + name);
  if (!read) return Status::Error("cannot read bundle " + sha256);
  // A file damaged on disk must not be served under its name (cached for a year) or loaded: it
  // is checked once, when first read: the bundle against its name, the .gz copy against the
  // compressed bundle.
  bool intact = false;
  if (!gzip) {
    intact = Sha256Hex(*read) == sha256;
  } else if (auto plain = Get(sha256, false); plain.ok()) {
    auto packed = Gzip(*plain.value());
    intact = packed.ok() && packed.value() == *read;
  }
  if (!intact) {
    return Status::Error("bundle " + sha256 + (gzip ? ".gz" : "") +
                         " is damaged on disk (its bytes no longer match its name); publish "
                         "again to repair it, or roll back to another version");
  }
  auto bytes = std::make_shared<const std::string>(std::move(*read));
  std::lock_guard<std::mutex> lock(cache_->mu);
  if (cache_->entries.size() >= kCachedBundles) cache_->entries.erase(cache_->entries.begin());
  cache_->entries.emplace(name, bytes);
  return bytes;
}

void BundleFiles::Prune(const std::vector<std::string>& keep, int64_t min_age_seconds) {
  const std::set<std::string> kept(keep.begin(), keep.end());
  std::error_code ec;
  const auto now = fs::file_time_type::clock::now();
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    std::string name = entry.path().filename().string();
    std::string sha = name.substr(0, name.find('.'));
    if (!IsSha256(sha) || kept.count(sha)) continue;
    const auto written = fs::last_write_time(entry.path(), ec);
    if (ec || now - written < std::chrono::seconds(min_age_seconds)) continue;
    fs::remove(entry.path(), ec);
    std::lock_guard<std::mutex> lock(cache_->mu);
    cache_->entries.erase(name);
  }
}

}  // namespace loopwise
