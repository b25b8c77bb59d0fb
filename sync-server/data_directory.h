#pragma once
// A server's data directory: the SQLite database (loopwise.db) and the published bundles
// (bundles/). `serve` and the subcommands that work offline (site, import, publish, train) open it
// the same way. With --db postgresql://... the store is that PostgreSQL database instead of
// loopwise.db; bundles stay in the directory (replicas share it, e.g. on a network volume).

#include <memory>
#include <string>

#include "bundle_files.h"
#include "cli.h"
#include "store.h"

namespace loopwise {

struct DataDirectory {
  std::string path;
  std::unique_ptr<Store> store;
  std::unique_ptr<BundleFiles> bundles;
};

// --data, else $LOOPWISE_DATA_DIR, else ./loopwise-data.
std::string DataPath(const cli::Args& args);
// --db, else $LOOPWISE_DB, else empty (the SQLite store in the data directory).
std::string DatabaseUrl(const cli::Args& args);

// Creates the directory if needed, checks it is writable, opens the store (`db`: a postgresql://
// URL, or empty for SQLite) and runs its migrations. Fails with one sentence naming the directory
// or database and what to do.
Result<DataDirectory> OpenDataDirectory(const std::string& path, const std::string& db = "");

// Opens the directory as above for work on `site`, failing with a sentence when there is no such
// site.
Result<DataDirectory> OpenSiteData(const std::string& path, const std::string& site,
                                   const std::string& db = "");

}  // namespace loopwise
