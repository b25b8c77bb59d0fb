// loopwise publish: builds a site's bundle from its store and makes it the current version.

#include <cstdio>
#include <string>

#include "cli.h"
#include "commands.h"
#include "data_directory.h"
#include "publisher.h"

namespace loopwise {
namespace {

constexpr const char* kUsage = R"(usage: loopwise publish --site S [--data DIR] [--db URL]

Builds site S's bundle from its articles and history with the engine, stores it under its sha256 and
makes it the version the manifest names (a running server serves it at once). The last 10 versions
are kept for rollback.

  --site S    the site
  --data DIR  data directory (default $LOOPWISE_DATA_DIR, else ./loopwise-data)
  --db URL    PostgreSQL store, as for serve (default $LOOPWISE_DB, else SQLite in --data)
)";

}  // namespace

int PublishCommand(int argc, char** argv) {
  cli::Args args;
  if (auto exit = cli::Start("publish", kUsage, argc, argv, {"site", "data", "db"}, {}, &args)) {
    return *exit;
  }
  auto site = args.require("site");
  if (!site.ok()) return cli::Fail(site.status().message());
  auto dir = OpenSiteData(DataPath(args), site.value(), DatabaseUrl(args));
  if (!dir.ok()) return cli::Fail(dir.status().message());
  Publisher publisher(dir.value().store.get(), dir.value().bundles.get());
  cli::Progress bar("building the bundle");
  auto p = publisher.Publish(site.value(), [&](double share) { bar.UpdateShare(share); });
  bar.Finish();
  if (!p.ok()) return cli::Fail(p.status().message());
  const Publication& pub = p.value();
  std::printf("published \"%s\" version %lld: %zu articles, %zu exemplars, %lld bytes, sha256 %s\n",
              site.value().c_str(), static_cast<long long>(pub.version.version), pub.articles,
              pub.exemplars, static_cast<long long>(pub.version.bytes), pub.version.sha256.c_str());
  if (pub.unanswered) {
    std::printf("  learned when to decline from %zu questions no article answers\n",
                pub.unanswered);
  }
  if (pub.skipped_history) {
    std::printf("  skipped %zu history tickets whose article was deleted\n", pub.skipped_history);
  }
  return 0;
}

}  // namespace loopwise
