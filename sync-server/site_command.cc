// loopwise site create|list|token|delete: adds a site to a data directory (printing its key and
// admin token once), lists the sites, gives one a new admin token, or deletes one.

#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "credentials.h"
#include "customer_identity.h"
#include "data_directory.h"

namespace loopwise {
namespace {

constexpr const char* kUsage =
    R"(usage: loopwise site create NAME --origin URL... [--mode review|autonomous]
                           [--identity off|optional|required] [--json] [--data DIR] [--db URL]
       loopwise site list [--json] [--data DIR] [--db URL]
       loopwise site token NAME [--json] [--data DIR] [--db URL]
       loopwise site delete NAME --yes [--data DIR] [--db URL]

create  Creates a site and prints its public site key (for the script tag) and its admin token.
        The token is shown once and only its SHA-256 is stored: keep it somewhere safe.
list    Lists the sites: name, mode, current version, origins and site key (never tokens).
token   Gives site NAME a new admin token, printed once, for a token lost or leaked: the old one
        stops working at once (within two seconds on a running server).
delete  Deletes site NAME and everything stored for it (articles, history, signals, versions,
        learned changes, gaps, incidents), at once and for good: back it up first (loopwise
        backup). A running server refuses its widgets' manifest checks and signals within two
        seconds. Bundles no other site uses are removed once they are an hour old.

  --origin URL   an origin the widget runs on, e.g. https://app.example.com (repeat for several)
  --mode M       review (default: learned changes wait for approval) or autonomous
  --identity I   off (default), optional or required: whether signals may name a signed-in
                 customer your backend vouches for, and whether only those teach the learning
                 loop (README, "Verified customers"); when on, the identity secret is printed
  --json         create: print {"site", "key", "token"} (and "identity_secret" when identity is
                 on); list: [{"site", "key", "mode", "identity", "origins", "version"}];
                 token: {"site", "token"}
  --yes          delete: confirms it
  --data DIR     data directory (default $LOOPWISE_DATA_DIR, else ./loopwise-data)
  --db URL       PostgreSQL store, as for serve (default $LOOPWISE_DB, else SQLite in --data)
)";

int SiteList(int argc, char** argv) {
  cli::Args args;
  if (auto exit = cli::Start("site list", kUsage, argc, argv, {"data", "db"}, {"json"}, &args)) {
    return *exit;
  }
  auto dir = OpenDataDirectory(DataPath(args), DatabaseUrl(args));
  if (!dir.ok()) return cli::Fail(dir.status().message());
  auto sites = dir.value().store->ListSites();
  if (!sites.ok()) return cli::Fail(sites.status().message());
  nlohmann::json list = nlohmann::json::array();
  for (const Site& site : sites.value()) {
    auto current = dir.value().store->CurrentVersion(site.name);
    if (!current.ok()) return cli::Fail(current.status().message());
    list.push_back({{"site", site.name},
                    {"key", site.key},
                    {"mode", site.mode},
                    {"identity", site.identity},
                    {"origins", site.origins},
                    {"version", current.value() ? nlohmann::json(current.value()->version)
                                                : nlohmann::json()}});
  }
  if (args.has("json")) {
    std::printf("%s\n", list.dump().c_str());
    return 0;
  }
  if (list.empty()) std::printf("no sites yet (create one with loopwise site create)\n");
  for (const nlohmann::json& s : list) {
    std::string origins;
    for (const auto& o : s["origins"]) {
      origins += (origins.empty() ? "" : " ") + o.get<std::string>();
    }
    const std::string version =
        s["version"].is_null() ? "not published" : "version " + s["version"].dump();
    std::printf("%s  %s mode, %s  key %s  origins %s\n", s["site"].get<std::string>().c_str(),
                s["mode"].get<std::string>().c_str(), version.c_str(),
                s["key"].get<std::string>().c_str(), origins.c_str());
  }
  return 0;
}

// Reads `site <command> NAME [options]`: the exit code when that is all there is to do (--help, a
// bad option, not one NAME), else nothing, with the options in `args`.
std::optional<int> StartNamed(const std::string& command, int argc, char** argv,
                              std::vector<std::string> switches, cli::Args* args) {
  if (auto exit = cli::Start("site " + command, kUsage, argc, argv, {"data", "db"},
                             std::move(switches), args, /*positional=*/true)) {
    return exit;
  }
  if (args->positional().size() != 1) {
    return cli::Fail("site " + command + " takes one site NAME (see --help)");
  }
  return std::nullopt;
}

int SiteToken(int argc, char** argv) {
  cli::Args args;
  if (auto exit = StartNamed("token", argc, argv, {"json"}, &args)) return *exit;
  const std::string name = args.positional()[0];
  auto dir = OpenSiteData(DataPath(args), name, DatabaseUrl(args));
  if (!dir.ok()) return cli::Fail(dir.status().message());
  auto token = NewAdminToken();
  if (!token.ok()) return cli::Fail(token.status().message());
  if (Status s = dir.value().store->SetSiteToken(name, HashToken(token.value())); !s.ok()) {
    return cli::Fail(s.message());
  }
  if (args.has("json")) {
    std::printf("%s\n", nlohmann::json{{"site", name}, {"token", token.value()}}.dump().c_str());
  } else {
    std::printf("site \"%s\" has a new admin token; the old one no longer works\n", name.c_str());
    std::printf("  admin token  %s   secret, shown only now: store it safely\n",
                token.value().c_str());
  }
  return 0;
}

int SiteDelete(int argc, char** argv) {
  cli::Args args;
  if (auto exit = StartNamed("delete", argc, argv, {"yes"}, &args)) return *exit;
  const std::string name = args.positional()[0];
  if (!args.has("yes")) {
    return cli::Fail("site delete removes site \"" + name +
                     "\" and everything stored for it, for good; add --yes to confirm");
  }
  auto dir = OpenSiteData(DataPath(args), name, DatabaseUrl(args));
  if (!dir.ok()) return cli::Fail(dir.status().message());
  Store* store = dir.value().store.get();
  auto deleted = store->DeleteSite(name);
  if (!deleted.ok()) return cli::Fail(deleted.status().message());
  if (!deleted.value()) return cli::Fail("no site \"" + name + "\"");
  if (auto kept = store->ReferencedBundles(); kept.ok()) {
    dir.value().bundles->Prune(kept.value(), 3600);
  }
  std::printf("site \"%s\" deleted, with everything stored for it\n", name.c_str());
  return 0;
}

}  // namespace

int SiteCommand(int argc, char** argv) {
  if (argc < 1 || !std::strcmp(argv[0], "--help") || !std::strcmp(argv[0], "-h")) {
    std::fputs(kUsage, argc < 1 ? stderr : stdout);
    return argc < 1 ? 2 : 0;
  }
  if (!std::strcmp(argv[0], "list")) return SiteList(argc - 1, argv + 1);
  if (!std::strcmp(argv[0], "token")) return SiteToken(argc - 1, argv + 1);
  if (!std::strcmp(argv[0], "delete")) return SiteDelete(argc - 1, argv + 1);
  if (std::strcmp(argv[0], "create") != 0) {
    return cli::Fail("unknown site command \"" + std::string(argv[0]) +
                     "\" (try: site create, site list, site token, site delete)");
  }
  cli::Args args;
  if (auto exit = cli::Start("site create", kUsage, argc - 1, argv + 1,
                             {"origin", "mode", "identity", "data", "db"}, {"json"}, &args,
                             /*positional=*/true)) {
    return *exit;
  }
  if (args.positional().size() != 1) {
    return cli::Fail("site create takes one site NAME (see --help)");
  }
  Site site;
  site.name = args.positional()[0];
  if (Status s = CheckSiteName(site.name); !s.ok()) return cli::Fail(s.message());
  if (args.all("origin").empty()) {
    return cli::Fail("--origin is required: the origin the widget runs on (see --help)");
  }
  for (const std::string& o : args.all("origin")) {
    auto normalized = NormalizeOrigin(o);
    if (!normalized.ok()) return cli::Fail(normalized.status().message());
    site.origins.push_back(normalized.value());
  }
  site.mode = args.get("mode").value_or("review");
  if (Status s = CheckSiteMode(site.mode); !s.ok()) return cli::Fail(s.message());
  site.identity = args.get("identity").value_or("off");
  if (Status s = CheckIdentityMode(site.identity); !s.ok()) return cli::Fail(s.message());
  if (Status s = EnsureIdentitySecret(&site, false); !s.ok()) return cli::Fail(s.message());

  auto key = NewSiteKey();
  if (!key.ok()) return cli::Fail(key.status().message());
  auto token = NewAdminToken();
  if (!token.ok()) return cli::Fail(token.status().message());
  site.key = key.value();
  site.token_hash = HashToken(token.value());

  auto dir = OpenDataDirectory(DataPath(args), DatabaseUrl(args));
  if (!dir.ok()) return cli::Fail(dir.status().message());
  if (Status s = dir.value().store->InsertSite(site); !s.ok()) return cli::Fail(s.message());

  if (args.has("json")) {
    nlohmann::json out{{"site", site.name}, {"key", site.key}, {"token", token.value()}};
    if (!site.identity_secret.empty()) out["identity_secret"] = site.identity_secret;
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("site \"%s\" created (%s mode)\n", site.name.c_str(), site.mode.c_str());
    std::printf("  site key     %s   public: put it in the script tag\n", site.key.c_str());
    std::printf("  admin token  %s   secret, shown only now: store it safely\n",
                token.value().c_str());
    if (!site.identity_secret.empty()) {
      std::printf("  identity     %s   secret: your backend signs customer ids with it (%s)\n",
                  site.identity_secret.c_str(), site.identity.c_str());
    }
  }
  return 0;
}

}  // namespace loopwise
