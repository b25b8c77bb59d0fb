#pragma once
// The HTTP API v1 (DESIGN.md): widget endpoints (manifest, bundles, signals), the admin API and
// operations (/healthz, /metrics), served with cpp-httplib.
//
// Every error is {"error": {"code", "message"}} with a fitting 4xx/5xx; a handler never lets an
// exception escape. Requests are logged as JSON lines on stderr (route pattern, status, time; no
// query text, keys or tokens); successful widget traffic is counted in /metrics only.

#include <memory>
#include <string>

#include "bundle_files.h"
#include "publisher.h"
#include "signal_batch.h"
#include "store.h"

namespace loopwise {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port
  // cpp-httplib gives each open connection a thread for as long as it stays open (keep-alive), so
  // the pool is sized for concurrent connections, not cores; the threads mostly wait on I/O.
  size_t threads = 64;
  // Signal events a second (and the burst) per site key and per client address; 0 = unlimited.
  double site_rate = 20000, site_burst = 40000;
  double client_rate = 2000, client_burst = 5000;
  SignalLimits limits;
  size_t max_body_bytes = 32 * 1024 * 1024;  // imports; signals have their own, smaller limit
  // SHA-256 of an operator token that may create sites over HTTP and administer any site; empty:
  // sites are created only with `loopwise site create`.
  std::string operator_token_hash;
  // The built widget (web/dist), served at GET /widget/<file>; empty: /widget/ answers 404.
  std::string widget_dir;
  // A static demo site served at / (GET /a/b -> DIR/a/b.html or DIR/a/b/index.html, / -> the
  // dashboard); empty (the default): no demo pages.
  std::string demo_dir;
  // Seconds between the periodic learning runs over every published site; 0: only on request
  // (POST /v1/sites/{site}/train).
  int learn_every_seconds = 3600;
};

class Server {
 public:
  Server(Store* store, BundleFiles* bundles, Publisher* publisher, ServerOptions options);
  ~Server();

  // Binds the listening socket. Fails with a sentence naming the address (in use, not local...).
  Status Bind();
  // The bound port (after Bind), useful with port 0.
  int port() const;
  // Serves until Stop() is called; requests in flight are finished first.
  Status Run();
  // Safe to call from any thread, including a signal-handling one.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace loopwise
