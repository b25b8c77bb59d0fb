// loopwise: the command-line entry point; each subcommand lives in its own file.

#include <cstdio>
#include <cstring>
#include <string>

#include "commands.h"

namespace {

constexpr const char* kUsage = R"(usage: loopwise <command> [options]

Commands:
  eval       build a bundle from articles and history, answer a test set, report metrics
  serve      run the sync server (widget and admin HTTP API)
  site       create a site (its public key and admin token), list, replace a token, delete
  import     load articles or resolved history into a site
  publish    build a site's bundle and make it the current version
  train      run a site's learning pipeline now (learn, guard, replay, publish or stage)
  simulate   run the learning loop end to end in simulated days and report each day
  backup     copy a data directory, consistently, while its server runs

Run `loopwise <command> --help` for a command's options.
)";

struct Command {
  const char* name;
  int (*run)(int, char**);
};

constexpr Command kCommands[] = {
    {"eval", loopwise::EvalCommand},         {"serve", loopwise::ServeCommand},
    {"site", loopwise::SiteCommand},         {"import", loopwise::ImportCommand},
    {"publish", loopwise::PublishCommand},   {"train", loopwise::TrainCommand},
    {"simulate", loopwise::SimulateCommand}, {"backup", loopwise::BackupCommand},
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
      !std::strcmp(argv[1], "help")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (const Command& c : kCommands) {
    if (!std::strcmp(argv[1], c.name)) return c.run(argc - 2, argv + 2);
  }
  std::fprintf(stderr, "loopwise: unknown command \"%s\" (run loopwise --help)\n", argv[1]);
  return 2;
}
