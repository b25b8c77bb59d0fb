// loopwise backup: a consistent copy of a data directory, taken while its server runs.

#include <cstdio>
#include <filesystem>
#include <string>

#include "cli.h"
#include "commands.h"
#include "data_directory.h"
#include "sqlite_store.h"

namespace loopwise {
namespace {

namespace fs = std::filesystem;

constexpr const char* kUsage = R"(usage: loopwise backup --to OUT [--data DIR]

Copies the data directory DIR to OUT while servers and commands go on using it: the database
(loopwise.db) as one consistent snapshot, and the bundles its versions name, each checked against
its sha256 on the way. Signals acknowledged after the snapshot began are not in it. To restore,
stop the server and serve OUT (or put it in DIR's place).

With a PostgreSQL store (--db, $LOOPWISE_DB) there is nothing here to snapshot: back the database
up with pg_dump and copy DIR/bundles.

  --to OUT    where the copy goes: a new directory (or an empty one)
  --data DIR  data directory (default $LOOPWISE_DATA_DIR, else ./loopwise-data)
)";

std::string Megabytes(uintmax_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return text;
}

}  // namespace

int BackupCommand(int argc, char** argv) {
  cli::Args args;
  if (auto exit = cli::Start("backup", kUsage, argc, argv, {"to", "data", "db"}, {}, &args)) {
    return *exit;
  }
  auto out = args.require("to");
  if (!out.ok()) return cli::Fail(out.status().message());
  if (!DatabaseUrl(args).empty()) {
    return cli::Fail(
        "the store is a PostgreSQL database (--db or $LOOPWISE_DB): back it up with pg_dump and "
        "copy the data directory's bundles/");
  }
  const std::string dir = DataPath(args);
  const std::string db = dir + "/loopwise.db";
  std::error_code ec;
  if (!fs::is_regular_file(db, ec)) {
    return cli::Fail("there is no loopwise.db in " + dir + "; pass the server's --data DIR");
  }
  if (fs::exists(out.value(), ec) &&
      (!fs::is_directory(out.value(), ec) || !fs::is_empty(out.value(), ec))) {
    return cli::Fail(out.value() + " already exists and is not an empty directory; name a new one");
  }
  const bool made = !fs::exists(out.value(), ec);
  fs::create_directories(out.value(), ec);
  if (ec) return cli::Fail(out.value() + ": cannot create the directory (" + ec.message() + ")");

  // The database first, under a name no server would open, then in place.
  const std::string copy = out.value() + "/loopwise.db";
  if (Status s = SqliteStore::Snapshot(db, copy + ".partial"); !s.ok()) {
    fs::remove(copy + ".partial", ec);
    if (made) fs::remove(out.value(), ec);
    return cli::Fail(s.message());
  }
  fs::rename(copy + ".partial", copy, ec);
  if (ec) return cli::Fail(copy + ": cannot rename into place (" + ec.message() + ")");

  // Opening the copy checks it and names the bundles it needs.
  auto backup = OpenDataDirectory(out.value());
  if (!backup.ok()) return cli::Fail("the copy does not open: " + backup.status().message());
  auto sites = backup.value().store->ListSites();
  if (!sites.ok()) return cli::Fail(sites.status().message());
  auto names = backup.value().store->ReferencedBundles();
  if (!names.ok()) return cli::Fail(names.status().message());
  auto source = BundleFiles::Open(dir + "/bundles");
  if (!source.ok()) return cli::Fail(source.status().message());

  uintmax_t bundle_bytes = 0;
  size_t copied = 0;
  std::string missing;
  {
    cli::Progress bar("copying bundles", names.value().size());
    for (size_t i = 0; i < names.value().size(); ++i) {
      const std::string& name = names.value()[i];
      auto bytes = source.value().Get(name, false);
      if (!bytes.ok()) {
        missing += "\n  " + bytes.status().message();
      } else {
        const std::string& b = *bytes.value();
        auto put = backup.value().bundles->Put(std::vector<uint8_t>(b.begin(), b.end()));
        if (!put.ok()) return cli::Fail(put.status().message());
        bundle_bytes += b.size();
        ++copied;
      }
      bar.Update(i + 1);
    }
  }
  std::printf("backed up %s to %s: loopwise.db (%s, %zu %s, schema %d) and %zu %s (%s)\n",
              dir.c_str(), out.value().c_str(), Megabytes(fs::file_size(copy, ec)).c_str(),
              sites.value().size(), sites.value().size() == 1 ? "site" : "sites",
              SqliteStore::SchemaVersion(), copied, copied == 1 ? "bundle" : "bundles",
              Megabytes(bundle_bytes).c_str());
  if (!missing.empty()) {
    return cli::Fail(
        "some versions' bundles could not be copied, so they cannot be rolled back "
        "to from the copy:" +
        missing);
  }
  return 0;
}

}  // namespace loopwise
