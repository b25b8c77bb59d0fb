// loopwise train: runs a site's learning pipeline now, on its data directory.

#include <cstdio>
#include <string>

#include "cli.h"
#include "commands.h"
#include "data_directory.h"
#include "learning.h"
#include "publisher.h"

namespace loopwise {
namespace {

constexpr const char* kUsage = R"(usage: loopwise train --site S [--data DIR] [--db URL] [--json]

Runs site S's learning pipeline now, exactly as the server runs it periodically: reads the signals
and helpdesk resolutions stored since the last run, lets the guardrails decide what to learn,
rebuilds and replay-evaluates a candidate bundle, then publishes it (autonomous mode) or stages its
changes for review (review mode; approve them with POST /v1/sites/S/changes/{id}/approve).

  --site S    the site
  --data DIR  data directory (default $LOOPWISE_DATA_DIR, else ./loopwise-data)
  --db URL    PostgreSQL store, as for serve (default $LOOPWISE_DB, else SQLite in --data)
  --json      print the report as JSON
)";

}  // namespace

int TrainCommand(int argc, char** argv) {
  cli::Args args;
  if (auto exit =
          cli::Start("train", kUsage, argc, argv, {"site", "data", "db"}, {"json"}, &args)) {
    return *exit;
  }
  auto site = args.require("site");
  if (!site.ok()) return cli::Fail(site.status().message());
  auto dir = OpenSiteData(DataPath(args), site.value(), DatabaseUrl(args));
  if (!dir.ok()) return cli::Fail(dir.status().message());
  Publisher publisher(dir.value().store.get(), dir.value().bundles.get());
  Learner learner(dir.value().store.get(), dir.value().bundles.get(), &publisher);
  std::unique_ptr<cli::Progress> bar;
  std::string current_stage;
  auto report = learner.Run(site.value(), NowMs(), [&](const std::string& stage, double share) {
    if (stage != current_stage) {
      bar.reset();
      bar = std::make_unique<cli::Progress>(stage);
      current_stage = stage;
    }
    bar->UpdateShare(share);
  });
  bar.reset();
  if (!report.ok()) return cli::Fail(report.status().message());
  const LearningReport& r = report.value();
  if (args.has("json")) {
    std::printf("%s\n", r.ToJson().dump(2).c_str());
    return 0;
  }
  std::printf("trained \"%s\": %zu signals, %zu resolutions, %zu questions updated\n",
              site.value().c_str(), r.signals, r.resolutions, r.questions);
  std::printf("  exemplars: %zu accepted, %zu merged, %zu rejected, %zu waiting for agreement\n",
              r.accepted, r.merged, r.rejected, r.waiting);
  if (r.context_weights.fitted) {
    std::printf(
        "  ranker: page match weighs %.2f, context prior %.2f (from %zu resolved questions)\n",
        r.context_weights.page, r.context_weights.prior, r.context_weights.questions);
  }
  if (!r.replay.note.empty()) std::printf("  %s\n", r.replay.note.c_str());
  if (r.rolled_back_to) {
    std::printf("  rolled back to version %lld: %s\n",
                static_cast<long long>(r.rolled_back_to->version), r.rollback_note.c_str());
  }
  if (r.finished) {
    std::printf("  published version %lld with the changes an interrupted run left\n",
                static_cast<long long>(r.finished->version));
  }
  if (r.published) {
    std::printf("  published version %lld with %zu changes\n",
                static_cast<long long>(r.published->version), r.changes.size());
  } else if (r.outcome == "staged") {
    std::printf("  %zu changes staged for review\n", r.changes.size());
  } else if (r.outcome == "refused") {
    std::printf("  the candidate was refused; nothing published\n");
  } else if (!r.finished) {
    std::printf("  nothing new to learn\n");
  }
  return 0;
}

}  // namespace loopwise
