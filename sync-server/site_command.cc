// loopwise site create: adds a site to a data directory and prints its key and admin token once.

#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

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

Creates a site and prints its public site key (for the script tag) and its admin token. The token is
shown once and only its SHA-256 is stored: keep it somewhere safe.

  --origin URL   an origin the widget runs on, e.g. https://app.example.com (repeat for several)
  --mode M       review (default: learned changes wait for approval) or autonomous
  --identity I   off (default), optional or required: whether signals may name a signed-in
                 customer your backend vouches for, and whether only those teach the learning
                 loop (README, "Verified customers"); when on, the identity secret is printed
  --json         print {"site", "key", "token"} (and "identity_secret" when identity is on)
  --data DIR     data directory (default $LOOPWISE_DATA_DIR, else ./loopwise-data)
  --db URL       PostgreSQL store, as for serve (default $LOOPWISE_DB, else SQLite in --data)
)";

}  // namespace

int SiteCommand(int argc, char** argv) {
  if (argc < 1 || !std::strcmp(argv[0], "--help") || !std::strcmp(argv[0], "-h")) {
    std::fputs(kUsage, argc < 1 ? stderr : stdout);
    return argc < 1 ? 2 : 0;
  }
  if (std::strcmp(argv[0], "create") != 0) {
    return cli::Fail("unknown site command \"" + std::string(argv[0]) + "\" (try: site create)");
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
