#pragma once
// What every subcommand shares: flag parsing, usage errors, progress bars, reading files.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/status.h"
#include "engine/word_vectors.h"

namespace loopwise::cli {

// Flags of the form --name value or --name=value, plus positional arguments. Flags named in
// `switches` take no value.
class Args {
 public:
  static Result<Args> Parse(int argc, char** argv, const std::vector<std::string>& value_flags,
                            const std::vector<std::string>& switches);
  bool has(const std::string& flag) const { return values_.count(flag) > 0; }
  std::optional<std::string> get(const std::string& flag) const;
  // All values of a flag given more than once (--origin a --origin b).
  std::vector<std::string> all(const std::string& flag) const;
  Result<std::string> require(const std::string& flag) const;
  Result<int64_t> integer(const std::string& flag, int64_t fallback, int64_t min,
                          int64_t max) const;
  Result<double> number(const std::string& flag, double fallback, double min, double max) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::multimap<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

// The start of every subcommand: parses its flags (plus --help) into `args`, prints `usage` on
// --help, and refuses positional arguments unless `positional` allows them. Returns the exit code
// when the command stops here, nothing when it goes on.
std::optional<int> Start(const std::string& command, const char* usage, int argc, char** argv,
                         const std::vector<std::string>& value_flags,
                         std::vector<std::string> switches, Args* args, bool positional = false);

// A progress bar on stderr, drawn only when stderr is a terminal and the work has taken over a
// second. To a log or a pipe, long work writes a plain line a minute instead ("label: 40%
// (400/1000), 2 min so far"), so work under a minute leaves no trace there.
class Progress {
 public:
  // `total` items to do; 0 when the work reports only the share of it done (UpdateShare).
  explicit Progress(std::string label, size_t total = 0);
  ~Progress();
  void Update(size_t done);        // "label [####......]  40% (400/1000)"
  void UpdateShare(double share);  // "label [####......]  40%"
  void Finish();

 private:
  void Draw(double share, const std::string& counts);

  std::string label_;
  size_t total_;
  bool tty_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

Result<std::string> ReadFile(const std::string& path);
// Writes via a temporary file and rename, so readers never see half a file (a device or a pipe,
// such as /dev/null, is written in place; through a symbolic link, the file it points to is
// replaced and the link kept).
Status WriteFileAtomic(const std::string& path, const std::string& contents);
// Whether WriteFileAtomic could write `path`: not a folder, in a folder that exists. Checked
// before long work, so a wrong output path fails at once.
Status CheckOutputPath(const std::string& path);

// `relative` (e.g. "web/dist") under the nearest directory above the executable that has it;
// empty when none does. Finds the repository's generated files from build/<preset>/sync-server/.
std::string FindAboveExecutable(const std::string& relative);

// The word-vector store made by scripts/setup: $LOOPWISE_WORD_VECTORS, else
// model-assets/generated/glove-100d-q8.bin found above the executable.
Result<WordVectors> LoadWordVectors();

// Prints "loopwise: <message>" to stderr and returns the exit code for bad input.
int Fail(const std::string& message);

// Expected calibration error of (confidence, right) pairs: over ten equal bins of confidence,
// the share of the pairs in each times how far its mean confidence is from its share right.
// 0 for confidences that are the chance of being right; 0 for no pairs.
double CalibrationError(const std::vector<std::pair<double, bool>>& pairs);

}  // namespace loopwise::cli
