#include "data_directory.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "sqlite_store.h"

namespace loopwise {

std::string DataPath(const cli::Args& args) {
  if (auto v = args.get("data"); v && !v->empty()) return *v;
  if (const char* env = std::getenv("LOOPWISE_DATA_DIR"); env && *env) return env;
  return "loopwise-data";
}

Result<DataDirectory> OpenDataDirectory(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) {
    return Status::Error("data directory " + path + " cannot be created (" + ec.message() +
                         "); pass a writable --data DIR");
  }
  if (!fs::is_directory(path, ec)) {
    return Status::Error("data directory " + path + " is not a directory; pass --data DIR");
  }
  if (::access(path.c_str(), R_OK | W_OK | X_OK) != 0) {
    return Status::Error("data directory " + path + " is not writable (" + std::strerror(errno) +
                         "); pass a writable --data DIR");
  }
  auto store = SqliteStore::Open(path + "/loopwise.db");
  if (!store.ok()) return store.status();
  auto bundles = BundleFiles::Open(path + "/bundles");
  if (!bundles.ok()) return bundles.status();
  DataDirectory d;
  d.path = path;
  d.store = store.take();
  d.bundles = std::make_unique<BundleFiles>(bundles.take());
  return d;
}

Result<DataDirectory> OpenSiteData(const std::string& path, const std::string& site) {
  auto dir = OpenDataDirectory(path);
  if (!dir.ok()) return dir.status();
  auto found = dir.value().store->FindSite(site);
  if (!found.ok()) return found.status();
  if (!found.value()) {
    return Status::Error("there is no site \"" + site + "\" (create it with loopwise site create)");
  }
  return dir;
}

}  // namespace loopwise
