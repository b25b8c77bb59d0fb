// loopwise serve: runs the sync server on a data directory until SIGTERM or SIGINT.

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "cli.h"
#include "commands.h"
#include "credentials.h"
#include "data_directory.h"
#include "logger.h"
#include "postgres_store.h"
#include "publisher.h"
#include "server.h"
#include "sqlite_store.h"
#include "watcher.h"

namespace loopwise {
namespace {

constexpr const char* kUsage =
    R"(usage: loopwise serve [--data DIR] [--listen HOST:PORT] [--db postgresql://...]

Runs the sync server: widgets fetch their manifest and bundle and send signals; operators use the
admin API (see README.md, "Server"). Logs are JSON lines on stderr; the first says where it listens.
SIGTERM or SIGINT stops it after the requests in flight.

  --data DIR          data directory (default $LOOPWISE_DATA_DIR, else ./loopwise-data)
  --listen HOST:PORT  address to listen on (default 127.0.0.1:8080; port 0 picks a free one)
  --db URL            keep sites, knowledge and signals in this PostgreSQL database
                      (default $LOOPWISE_DB, else SQLite: loopwise.db in --data)
  --threads N         connection threads (default 64)
  --site-rate N       signal events a second per site key (default 20000; 0 = unlimited)
  --client-rate N     signal events a second per client address (default 2000; 0 = unlimited)
  --widget-dir DIR    the built widget, served at /widget/ (default: web/dist of the repository
                      the executable was built in; run scripts/build-web)
  --demo-dir DIR      a static site served at / (the demo product: /a/b is DIR/a/b.html or
                      DIR/a/b/index.html, / is /dashboard); off by default
  --learn-every S     run every published site's learning pipeline each S seconds (default 3600;
                      0: only on POST /v1/sites/{site}/train)
  --watch-every S     update every published site's gaps and incidents and send webhook alerts
                      each S seconds (default 60; fractions allowed; 0: never)
  --keep-signals-days N
                      forget signals dated more than N days ago once learning, the gap finder
                      and the spike detector have read them, on each watch (default 0: keep all)

Environment: LOOPWISE_OPERATOR_TOKEN, when set, is a token that may create sites over HTTP
(PUT /v1/sites/{site}) and administer every site.
)";

Status ParseListen(const std::string& listen, ServerOptions* options) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::Error("--listen must be HOST:PORT (got \"" + listen + "\")");
  }
  const std::string port = listen.substr(colon + 1);
  char* end = nullptr;
  const long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end || p < 0 || p > 65535) {
    return Status::Error("--listen port must be 0 to 65535 (got \"" + port + "\")");
  }
  options->host = listen.substr(0, colon);
  if (options->host.size() > 2 && options->host.front() == '[' && options->host.back() == ']') {
    options->host = options->host.substr(1, options->host.size() - 2);
  }
  options->port = static_cast<int>(p);
  return Status::Ok();
}

}  // namespace

int ServeCommand(int argc, char** argv) {
  cli::Args args;
  if (auto exit =
          cli::Start("serve", kUsage, argc, argv,
                     {"data", "listen", "db", "threads", "site-rate", "client-rate", "widget-dir",
                      "demo-dir", "learn-every", "watch-every", "keep-signals-days"},
                     {}, &args)) {
    return *exit;
  }
  ServerOptions options;
  if (Status s = ParseListen(args.get("listen").value_or("127.0.0.1:8080"), &options); !s.ok()) {
    return cli::Fail(s.message());
  }
  auto threads = args.integer("threads", 64, 4, 1024);
  auto site_rate = args.number("site-rate", options.site_rate, 0, 1e9);
  auto client_rate = args.number("client-rate", options.client_rate, 0, 1e9);
  if (!threads.ok()) return cli::Fail(threads.status().message());
  if (!site_rate.ok()) return cli::Fail(site_rate.status().message());
  if (!client_rate.ok()) return cli::Fail(client_rate.status().message());
  auto learn_every = args.integer("learn-every", options.learn_every_seconds, 0, 86400 * 30);
  if (!learn_every.ok()) return cli::Fail(learn_every.status().message());
  auto watch_every = args.number("watch-every", 60, 0, 86400);
  if (!watch_every.ok()) return cli::Fail(watch_every.status().message());
  auto keep_days = args.integer("keep-signals-days", 0, 0, 36500);
  if (!keep_days.ok()) return cli::Fail(keep_days.status().message());
  if (keep_days.value() > 0 && watch_every.value() == 0) {
    return cli::Fail(
        "--keep-signals-days forgets signals on each watch; --watch-every 0 turns it off");
  }
  options.learn_every_seconds = static_cast<int>(learn_every.value());
  options.threads = static_cast<size_t>(threads.value());
  options.site_rate = site_rate.value();
  options.site_burst = 2 * site_rate.value();
  options.client_rate = client_rate.value();
  options.client_burst = 2.5 * client_rate.value();
  if (auto dir = args.get("widget-dir")) {
    std::error_code ec;
    if (!std::filesystem::is_directory(*dir, ec)) {
      return cli::Fail("--widget-dir " + *dir +
                       " is not a directory (build it with scripts/build-web)");
    }
    options.widget_dir = *dir;
  } else {
    options.widget_dir = cli::FindAboveExecutable("web/dist");
  }
  if (auto dir = args.get("demo-dir")) {
    std::error_code ec;
    if (!std::filesystem::is_directory(*dir, ec)) {
      return cli::Fail("--demo-dir " + *dir + " is not a directory");
    }
    options.demo_dir = *dir;
  }
  if (const char* token = std::getenv("LOOPWISE_OPERATOR_TOKEN"); token && *token) {
    options.operator_token_hash = HashToken(token);
  }

  // Block the stop signals before any thread starts, so only the waiting thread below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  const std::string data = DataPath(args);
  const std::string db = DatabaseUrl(args);
  auto dir = OpenDataDirectory(data, db);
  if (!dir.ok()) return cli::Fail(dir.status().message());
  DataDirectory d = dir.take();
  Publisher publisher(d.store.get(), d.bundles.get());
  Server server(d.store.get(), d.bundles.get(), &publisher, options);
  if (Status s = server.Bind(); !s.ok()) return cli::Fail(s.message());

  std::atomic<bool> finished{false};
  std::thread waiter([&server, &finished, stop_signals] {
    const timespec tick{0, 200 * 1000 * 1000};
    while (!finished) {
      const int sig = sigtimedwait(&stop_signals, nullptr, &tick);
      if (sig == SIGTERM || sig == SIGINT) {
        LogInfo("stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
        server.Stop();
        return;
      }
    }
  });
  LogInfo("listening",
          {{"address", options.host + ":" + std::to_string(server.port())},
           {"port", server.port()},
           {"data", d.path},
           {"store", db.empty() ? "sqlite" : RedactedUrl(db)},
           {"widget", options.widget_dir},
           {"demo", options.demo_dir},
           {"schema", db.empty() ? SqliteStore::SchemaVersion() : PostgresStore::SchemaVersion()}});
  std::unique_ptr<Watcher> watcher;
  if (watch_every.value() > 0) {
    WatchOptions watch;
    watch.every_seconds = watch_every.value();
    watch.keep_signal_days = static_cast<int>(keep_days.value());
    watcher = std::make_unique<Watcher>(d.store.get(), d.bundles.get(), watch);
  }
  Status s = server.Run();
  watcher.reset();
  finished = true;
  waiter.join();
  LogInfo("stopped");
  if (!s.ok()) return cli::Fail(s.message());
  return 0;
}

}  // namespace loopwise
