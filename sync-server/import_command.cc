// loopwise import: loads articles or resolved history tickets into a site, from files or folders.

#include <cstdio>
#include <cstring>
#include <set>
#include <string>

#include "cli.h"
#include "commands.h"
#include "data_directory.h"
#include "engine/scrubber.h"
#include "import_formats.h"

namespace loopwise {
namespace {

constexpr const char* kUsage =
    R"(usage: loopwise import articles|history --site S [--data DIR] [--db URL] FILE...

Loads into site S's store, working on the data directory directly (a running server sees the change).
Importing an article id again updates it.

  articles   Markdown files with front matter (id, title, tags, pages), .json (an article or a
             list), .jsonl, or .csv (id,title,body,tags,pages); a folder is read recursively
  history    resolved tickets, .jsonl {"text","article"} or .csv (text,article); the articles they
             name must be imported first; in .jsonl, "article": null is a ticket no article
             answered, learned from only to decline
  --site S   the site (see loopwise site create)
  --data DIR data directory (default $LOOPWISE_DATA_DIR, else ./loopwise-data)
  --db URL   PostgreSQL store, as for serve (default $LOOPWISE_DB, else SQLite in --data)
)";

}  // namespace

int ImportCommand(int argc, char** argv) {
  if (argc < 1 || !std::strcmp(argv[0], "--help") || !std::strcmp(argv[0], "-h")) {
    std::fputs(kUsage, argc < 1 ? stderr : stdout);
    return argc < 1 ? 2 : 0;
  }
  const std::string what = argv[0];
  if (what != "articles" && what != "history") {
    return cli::Fail("import what? \"" + what + "\" is neither articles nor history (see --help)");
  }
  cli::Args args;
  if (auto exit = cli::Start("import", kUsage, argc - 1, argv + 1, {"site", "data", "db"}, {},
                             &args, /*positional=*/true)) {
    return *exit;
  }
  auto site = args.require("site");
  if (!site.ok()) return cli::Fail(site.status().message());
  if (args.positional().empty()) return cli::Fail("name at least one FILE or folder to import");

  auto dir = OpenSiteData(DataPath(args), site.value(), DatabaseUrl(args));
  if (!dir.ok()) return cli::Fail(dir.status().message());
  Store& store = *dir.value().store;

  if (what == "articles") {
    std::vector<Article> all;
    for (const std::string& path : args.positional()) {
      auto articles = ReadArticlesPath(path);
      if (!articles.ok()) return cli::Fail(articles.status().message());
      for (auto& a : articles.value()) all.push_back(std::move(a));
    }
    if (Status s = store.PutArticles(site.value(), all); !s.ok()) return cli::Fail(s.message());
    auto total = store.Articles(site.value());
    std::printf("imported %zu articles into \"%s\" (%zu in all)\n", all.size(),
                site.value().c_str(), total.ok() ? total.value().size() : 0);
    return 0;
  }

  auto articles = store.Articles(site.value());
  if (!articles.ok()) return cli::Fail(articles.status().message());
  std::set<std::string> known;
  for (const Article& a : articles.value()) known.insert(a.id);
  std::vector<ResolvedQuery> rows;
  for (const std::string& path : args.positional()) {
    auto tickets = ReadHistoryPath(path);
    if (!tickets.ok()) return cli::Fail(tickets.status().message());
    for (const HistoryTicket& t : tickets.value()) {
      if (t.article && !known.count(*t.article)) {
        return cli::Fail(path + ":" + std::to_string(t.line) + ": unknown article \"" + *t.article +
                         "\" (import the articles first)");
      }
      rows.push_back({Scrub(t.text).text, t.article, ""});
    }
  }
  auto before = store.History(site.value());
  if (!before.ok()) return cli::Fail(before.status().message());
  const size_t again = AlreadyStored(before.value(), rows);
  if (Status s = store.AddHistory(site.value(), rows); !s.ok()) return cli::Fail(s.message());
  std::printf("imported %zu history tickets into \"%s\"\n", rows.size(), site.value().c_str());
  if (again) {
    std::printf(
        "note: %zu of them were already stored with the same text and article (imported "
        "before?); each import adds its tickets again\n",
        again);
  }
  return 0;
}

}  // namespace loopwise
