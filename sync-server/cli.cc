#include "cli.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace loopwise::cli {

Result<Args> Args::Parse(int argc, char** argv, const std::vector<std::string>& value_flags,
                         const std::vector<std::string>& switches) {
  Args args;
  auto known = [](const std::vector<std::string>& list, const std::string& name) {
    return std::find(list.begin(), list.end(), name) != list.end();
  };
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0 || a == "--") {
      args.positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
    const size_t eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (known(switches, name)) {
      if (inline_value) return Status::Error("--" + name + " takes no value");
      args.values_.emplace(name, "");
    } else if (known(value_flags, name)) {
      if (!inline_value) {
        if (i + 1 >= argc) return Status::Error("--" + name + " needs a value");
        value = argv[++i];
      }
      args.values_.emplace(name, value);
    } else {
      return Status::Error("unknown option --" + name + " (see --help)");
    }
  }
  return args;
}

std::optional<std::string> Args::get(const std::string& flag) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Args::all(const std::string& flag) const {
  std::vector<std::string> out;
  auto [b, e] = values_.equal_range(flag);
  for (auto it = b; it != e; ++it) out.push_back(it->second);
  return out;
}

Result<std::string> Args::require(const std::string& flag) const {
  auto v = get(flag);
  if (!v || v->empty()) return Status::Error("--" + flag + " is required (see --help)");
  return *v;
}

Result<int64_t> Args::integer(const std::string& flag, int64_t fallback, int64_t min,
                              int64_t max) const {
  auto v = get(flag);
  if (!v) return fallback;
  char* end = nullptr;
  errno = 0;
  const long long x = std::strtoll(v->c_str(), &end, 10);
  if (v->empty() || *end || errno || x < min || x > max) {
    return Status::Error("--" + flag + " must be a whole number from " + std::to_string(min) +
                         " to " + std::to_string(max) + " (got \"" + *v + "\")");
  }
  return static_cast<int64_t>(x);
}

Result<double> Args::number(const std::string& flag, double fallback, double min,
                            double max) const {
  auto v = get(flag);
  if (!v) return fallback;
  char* end = nullptr;
  const double x = std::strtod(v->c_str(), &end);
  if (v->empty() || *end || !(x >= min && x <= max)) {
    std::ostringstream range;
    range << min << " to " << max;
    return Status::Error("--" + flag + " must be a number from " + range.str() + " (got \"" + *v +
                         "\")");
  }
  return x;
}

Progress::Progress(std::string label, size_t total)
    : label_(std::move(label)),
      total_(total),
      tty_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() {
  Finish();
}

void Progress::Update(size_t done) {
  if (total_ == 0) return;
  Draw(static_cast<double>(done) / total_,
       " (" + std::to_string(done) + "/" + std::to_string(total_) + ")");
}

void Progress::UpdateShare(double share) {
  Draw(share, "");
}

void Progress::Draw(double share, const std::string& counts) {
  const auto now = std::chrono::steady_clock::now();
  const double frac = std::clamp(share, 0.0, 1.0);
  if (!tty_) {
    if (now - last_draw_ < std::chrono::minutes(1)) return;
    last_draw_ = now;
    const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(now - start_).count();
    std::fprintf(stderr, "%s: %d%%%s, %lld min so far\n", label_.c_str(),
                 static_cast<int>(frac * 100), counts.c_str(), static_cast<long long>(minutes));
    std::fflush(stderr);
    return;
  }
  if (now - start_ < std::chrono::seconds(1) || now - last_draw_ < std::chrono::milliseconds(100)) {
    return;
  }
  last_draw_ = now;
  drawn_ = true;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(frac * kWidth);
  std::fprintf(stderr, "\r%s [%s%s] %3d%%%s", label_.c_str(), std::string(filled, '#').c_str(),
               std::string(kWidth - filled, '.').c_str(), static_cast<int>(frac * 100),
               counts.c_str());
  std::fflush(stderr);
}

void Progress::Finish() {
  if (drawn_) {
    std::fprintf(stderr, "\r%s done%s\n", label_.c_str(), std::string(40, ' ').c_str());
    drawn_ = false;
  }
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error(path + ": cannot open (" + std::strerror(errno) + ")");
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) return Status::Error(path + ": read failed");
  return s.str();
}

Status WriteFileAtomic(const std::string& path, const std::string& contents) {
  namespace fs = std::filesystem;
  auto write = [&](const std::string& file) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    if (!out) return Status::Error(path + ": cannot write (" + std::strerror(errno) + ")");
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.flush();
    return out ? Status::Ok()
               : Status::Error(path + ": write failed (" + std::strerror(errno) + ")");
  };
  if (Status s = CheckOutputPath(path); !s.ok()) return s;
  std::error_code ec;
  // A symbolic link stays one: the file it points to is replaced.
  fs::path target = path;
  for (int hops = 0; hops < 40 && fs::is_symlink(fs::symlink_status(target, ec)); ++hops) {
    const fs::path link = fs::read_symlink(target, ec);
    if (ec) break;
    target = link.is_absolute() ? link : target.parent_path() / link;
  }
  if (Status s = CheckOutputPath(target.string()); !s.ok()) return s;
  const fs::file_status status = fs::status(target, ec);
  // A device or a pipe (/dev/null, /dev/stdout) is written in place, never replaced by a file.
  if (fs::exists(status) && !fs::is_regular_file(status)) return write(target.string());
  const std::string tmp = target.string() + ".tmp";
  if (Status s = write(tmp); !s.ok()) return s;
  fs::rename(tmp, target, ec);
  if (ec) return Status::Error(path + ": cannot replace (" + ec.message() + ")");
  return Status::Ok();
}

Status CheckOutputPath(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) return Status::Error(path + ": is a folder, not a file");
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty() && !fs::is_directory(parent, ec)) {
    return Status::Error(path + ": no folder " + parent.string() + " to write it in");
  }
  return Status::Ok();
}

std::string FindAboveExecutable(const std::string& relative) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path dir = fs::read_symlink("/proc/self/exe", ec).parent_path();
  for (int up = 0; up < 6 && !dir.empty(); ++up, dir = dir.parent_path()) {
    fs::path candidate = dir / relative;
    if (fs::exists(candidate, ec)) return candidate.string();
    if (dir == dir.root_path()) break;
  }
  return "";
}

Result<WordVectors> LoadWordVectors() {
  std::string path;
  if (const char* env = std::getenv("LOOPWISE_WORD_VECTORS"); env && *env) {
    path = env;
  } else {
    path = FindAboveExecutable("model-assets/generated/glove-100d-q8.bin");
    if (path.empty()) {
      return Status::Error(
          "word vectors not found (model-assets/generated/glove-100d-q8.bin): run scripts/setup, "
          "or set LOOPWISE_WORD_VECTORS");
    }
  }
  auto bytes = ReadFile(path);
  if (!bytes.ok()) return bytes.status();
  auto v = WordVectors::Parse(reinterpret_cast<const uint8_t*>(bytes.value().data()),
                              bytes.value().size());
  if (!v.ok()) return Status::Error(path + ": " + v.status().message());
  return v;
}

std::optional<int> Start(const std::string& command, const char* usage, int argc, char** argv,
                         const std::vector<std::string>& value_flags,
                         std::vector<std::string> switches, Args* args, bool positional) {
  switches.push_back("help");
  auto parsed = Args::Parse(argc, argv, value_flags, switches);
  if (!parsed.ok()) return Fail(parsed.status().message());
  *args = parsed.take();
  if (args->has("help")) {
    std::fputs(usage, stdout);
    return 0;
  }
  if (!positional && !args->positional().empty()) {
    return Fail(command + " takes no arguments (got \"" + args->positional()[0] + "\")");
  }
  return std::nullopt;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "loopwise: %s\n", message.c_str());
  return 2;
}

double CalibrationError(const std::vector<std::pair<double, bool>>& pairs) {
  constexpr int kBins = 10;
  double confidence[kBins] = {}, right[kBins] = {};
  for (const auto& [c, ok] : pairs) {
    const int b = std::clamp(static_cast<int>(c * kBins), 0, kBins - 1);
    confidence[b] += c;
    right[b] += ok;
  }
  double error = 0;
  for (int b = 0; b < kBins; ++b) error += std::fabs(confidence[b] - right[b]);
  return pairs.empty() ? 0 : error / static_cast<double>(pairs.size());
}

}  // namespace loopwise::cli
