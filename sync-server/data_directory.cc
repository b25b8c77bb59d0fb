#include "data_directory.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "postgres_store.h"
#include "sqlite_store.h"

namespace loopwise {

std::string DataPath(const cli::Args& args) {
  if (auto v = args.get("data"); v && !v->empty()) return *v;
  if (const char* env = std::getenv("LOOPWISE_DATA_DIR"); env && *env) return env;
  return "loopwise-data";
}

std::string DatabaseUrl(const cli::Args& args) {
  if (auto v = args.get("db")) return *v;
  if (const char* env = std::getenv("LOOPWISE_DB"); env && *env) return env;
  return "";
}

namespace {

Result<std::unique_ptr<Store>> OpenStore(const std::string& path, const std::string& db) {
  if (db.empty()) {
    auto store = SqliteStore::Open(path + "/loopwise.db");
    if (!store.ok()) return store.status();
    return std::unique_ptr<Store>(store.take());
  }
  if (db.rfind("postgresql://", 0) != 0 && db.rfind("postgres://", 0) != 0) {
    return Status::Error(
        "--db " + RedactedUrl(db) +
        " is not a PostgreSQL URL (postgresql://user:password@host:port/database)");
  }
  auto store = PostgresStore::Open(db);
  if (!store.ok()) return store.status();
  return std::unique_ptr<Store>(store.take());
}

}  // namespace

Result<DataDirectory> OpenDataDirectory(const std::string& path, const std::string& db) {
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
  auto store = OpenStore(path, db);
  if (!store.ok()) return store.status();
  auto bundles = BundleFiles::Open(path + "/bundles");
  if (!bundles.ok()) return bundles.status();
  DataDirectory d;
  d.path = path;
  d.store = store.take();
  d.bundles = std::make_unique<BundleFiles>(bundles.take());
  return d;
}

Result<DataDirectory> OpenSiteData(const std::string& path, const std::string& site,
                                   const std::string& db) {
  auto dir = OpenDataDirectory(path, db);
  if (!dir.ok()) return dir.status();
  auto found = dir.value().store->FindSite(site);
  if (!found.ok()) return found.status();
  if (!found.value()) {
    return Status::Error("there is no site \"" + site + "\" (create it with loopwise site create)");
  }
  return dir;
}

}  // namespace loopwise
