// Signal ingest benchmark: starts a real `loopwise serve` on a fresh data directory, sends signal
// batches from N concurrent keep-alive clients for a while, then kills the server with SIGKILL,
// restarts it and checks that the store holds exactly the events it acknowledged.
//
//   ingest_bench --loopwise bin/loopwise [--seconds 10] [--concurrency 32] [--events 25]
//                [--rate EVENTS_PER_S] [--json OUT.json]
//
// Prints events/s, batches/s and request latency (p50, p99) as seen by the clients. Without
// --rate each client sends its next batch as soon as the last is answered (the most the server
// takes); with it, the clients send that many events a second between them on a fixed schedule,
// and a request's latency counts from when it was due, so a server falling behind shows in it.

#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "ingest_bench: %s\n", message.c_str());
  std::exit(1);
}

std::string Flag(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 0; i + 1 < argc; ++i) {
    if (argv[i] == "--" + name) return argv[i + 1];
  }
  return fallback;
}

std::string Run(const std::string& command) {
  FILE* p = popen(command.c_str(), "r");
  if (!p) Die("cannot run " + command);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  if (pclose(p) != 0) Die("failed: " + command);
  return out;
}

struct ServerProcess {
  pid_t pid = -1;
  int port = 0;
};

// Starts `loopwise serve` with its log in DIR/server.log and waits for its "listening" line.
ServerProcess StartServer(const std::string& loopwise, const std::string& dir) {
  const std::string log = dir + "/server.log";
  std::remove(log.c_str());
  ServerProcess s;
  s.pid = fork();
  if (s.pid < 0) Die("fork failed");
  if (s.pid == 0) {
    if (!freopen(log.c_str(), "w", stderr)) _exit(127);
    execl(loopwise.c_str(), loopwise.c_str(), "serve", "--data", dir.c_str(), "--listen",
          "127.0.0.1:0", "--client-rate", "0", "--site-rate", "0", static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 200 && !s.port; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::ifstream in(log);
    std::string line;
    while (std::getline(in, line)) {
      json j = json::parse(line, nullptr, false);
      if (j.is_object() && j.value("msg", "") == "listening") s.port = j.value("port", 0);
    }
  }
  if (!s.port) Die("the server did not start; see " + log);
  return s;
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5))];
}

}  // namespace

int main(int argc, char** argv) {
  const std::string loopwise = Flag(argc, argv, "loopwise", "bin/loopwise");
  const double seconds = std::atof(Flag(argc, argv, "seconds", "10").c_str());
  const int concurrency = std::atoi(Flag(argc, argv, "concurrency", "32").c_str());
  const int events = std::atoi(Flag(argc, argv, "events", "25").c_str());
  const double rate = std::atof(Flag(argc, argv, "rate", "0").c_str());
  const std::string json_out = Flag(argc, argv, "json", "");
  if (access(loopwise.c_str(), X_OK) != 0) Die(loopwise + " is not executable (pass --loopwise)");
  if (seconds <= 0 || concurrency < 1 || events < 1 || events > 500 || rate < 0) {
    Die("bad arguments");
  }
  // With --rate, client t's batch n is due at start + (n * concurrency + t) * gap.
  const std::chrono::duration<double> gap(rate > 0 ? events / rate : 0);

  char dir_template[] = "/tmp/loopwise-ingest-XXXXXX";
  const char* dir_c = mkdtemp(dir_template);
  if (!dir_c) Die("cannot make a temporary directory");
  const std::string dir = dir_c;
  // A site of its own: a PostgreSQL store (LOOPWISE_DB) is shared by every run against it.
  const std::string name = "bench-" + std::to_string(getpid());
  json site = json::parse(Run("'" + loopwise + "' site create " + name +
                              " --origin https://bench.example --json --data '" + dir + "'"),
                          nullptr, false);
  if (!site.is_object()) Die("site create printed no JSON");
  const std::string key = site["key"], token = site["token"];
  ServerProcess server = StartServer(loopwise, dir);

  // One event shape, like the widget's: a query with its context and what was shown.
  json e = {{"type", "query"},
            {"ts", 1700000000000},
            {"session", "3f2a9c"},
            {"query_id", "6c1f0e0a-4a8b-4f43-9d8f-0d3f9b7f2c11"},
            {"query", "how do i reset two factor authentication on my phone"},
            {"bundle", "1"},
            {"context", {{"route", "/settings/:id/security"}, {"plan", "pro"}}},
            {"shown", {"reset-2fa", "reset-password", "security-keys"}},
            {"confidence", 0.82}};
  std::vector<json> event_list(events, e);

  std::atomic<long> acked_events{0}, acked_batches{0}, failed{0};
  std::vector<std::vector<double>> latencies(concurrency);
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&, t] {
      httplib::Client client("127.0.0.1", server.port);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);  // as browsers do; otherwise Nagle adds 40 ms
      client.set_read_timeout(10);
      const httplib::Headers headers = {{"X-Loopwise-Key", key}};
      for (long n = 0; Clock::now() < deadline; ++n) {
        const json batch = {{"batch_id", "w" + std::to_string(t) + "-" + std::to_string(n)},
                            {"events", event_list}};
        const std::string body = batch.dump();
        auto t0 = Clock::now();
        if (rate > 0) {
          const auto due = start + std::chrono::duration_cast<Clock::duration>(
                                       gap * static_cast<double>(n * concurrency + t));
          if (due >= deadline) break;
          std::this_thread::sleep_until(due);
          t0 = due;
        }
        auto res = client.Post("/v1/sites/" + name + "/signals", headers, body, "application/json");
        latencies[t].push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (res && res->status == 202) {
          acked_events += json::parse(res->body)["accepted"].get<long>();
          ++acked_batches;
        } else if (++failed == 1) {
          std::fprintf(stderr, "ingest_bench: first failed request, %.1f s in: %s (%.0f ms)\n",
                       std::chrono::duration<double>(Clock::now() - start).count(),
                       res ? (std::to_string(res->status) + " " + res->body).c_str()
                           : httplib::to_string(res.error()).c_str(),
                       latencies[t].back());
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  // Kill -9, restart, count what the store kept.
  kill(server.pid, SIGKILL);
  waitpid(server.pid, nullptr, 0);
  server = StartServer(loopwise, dir);
  httplib::Client admin("127.0.0.1", server.port);
  auto analytics =
      admin.Get("/v1/sites/" + name + "/analytics", {{"Authorization", "Bearer " + token}});
  if (!analytics || analytics->status != 200) Die("analytics failed after the restart");
  const long stored = json::parse(analytics->body)["signals"].get<long>();
  kill(server.pid, SIGTERM);
  waitpid(server.pid, nullptr, 0);

  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  json result = {{"concurrency", concurrency},
                 {"events_per_batch", events},
                 {"offered_events_per_s", rate > 0 ? json(rate) : json()},
                 {"seconds", elapsed},
                 {"events_per_s", acked_events / elapsed},
                 {"batches_per_s", acked_batches / elapsed},
                 {"p50_ms", Percentile(all, 0.50)},
                 {"p99_ms", Percentile(all, 0.99)},
                 {"failed_requests", failed.load()},
                 {"acknowledged_events", acked_events.load()},
                 {"stored_events_after_kill_9", stored},
                 {"lost_events", acked_events.load() - stored}};
  std::printf("signal ingest: %d clients, %d events a batch, %.1f s, %s\n", concurrency, events,
              elapsed,
              rate > 0 ? (std::to_string(static_cast<long>(rate)) + " events/s offered").c_str()
                       : "as fast as they are answered");
  std::printf("  %.0f events/s (%.0f batches/s), latency p50 %.2f ms, p99 %.2f ms, %ld failed\n",
              result["events_per_s"].get<double>(), result["batches_per_s"].get<double>(),
              result["p50_ms"].get<double>(), result["p99_ms"].get<double>(), failed.load());
  std::printf(
      "  acknowledged %ld events; after kill -9 and restart the store holds %ld (lost %ld)\n",
      acked_events.load(), stored, acked_events.load() - stored);
  if (!json_out.empty()) std::ofstream(json_out) << result.dump(2) << "\n";
  std::filesystem::remove_all(dir);
  return stored == acked_events.load() ? 0 : 1;
}
