// The CLI's file writing: atomic for files, in place for devices and pipes, refused for folders.

#include "cli.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace loopwise;
namespace fs = std::filesystem;

TEST_CASE("WriteFileAtomic replaces files, writes pipes in place, and refuses folders") {
  const fs::path dir =
      fs::temp_directory_path() / ("loopwise-cli-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);

  const std::string file = (dir / "out.json").string();
  REQUIRE(cli::WriteFileAtomic(file, "one").ok());
  REQUIRE(cli::WriteFileAtomic(file, "two").ok());
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  CHECK(text.str() == "two");
  CHECK_FALSE(fs::exists(file + ".tmp"));

  // A pipe stands for /dev/null or /dev/stdout: written through, still a pipe afterwards.
  const std::string pipe = (dir / "pipe").string();
  REQUIRE(::mkfifo(pipe.c_str(), 0600) == 0);
  const int reader = ::open(pipe.c_str(), O_RDONLY | O_NONBLOCK);
  REQUIRE(reader >= 0);
  CHECK(cli::WriteFileAtomic(pipe, "through").ok());
  char got[16] = {};
  CHECK(::read(reader, got, sizeof got - 1) == 7);
  CHECK(std::string(got) == "through");
  ::close(reader);
  CHECK(fs::is_fifo(pipe));

  // A symbolic link (say, to the newest of dated reports) stays a link to a rewritten file.
  const std::string link = (dir / "latest.json").string();
  fs::create_symlink("out.json", link);
  CHECK(cli::WriteFileAtomic(link, "three").ok());
  CHECK(fs::is_symlink(link));
  std::ifstream again(file);
  std::stringstream text3;
  text3 << again.rdbuf();
  CHECK(text3.str() == "three");

  const Status folder = cli::WriteFileAtomic(dir.string(), "x");
  CHECK_FALSE(folder.ok());
  CHECK(folder.message() == dir.string() + ": is a folder, not a file");
  fs::remove_all(dir);
}

TEST_CASE("the calibration error weighs each bin's gap between confidence and share right") {
  CHECK(cli::CalibrationError({}) == 0);
  // Confidence 0.9, right 9 times in 10: calibrated.
  std::vector<std::pair<double, bool>> pairs;
  for (int i = 0; i < 10; ++i) pairs.push_back({0.9, i < 9});
  CHECK(cli::CalibrationError(pairs) == doctest::Approx(0.0));
  // Ten more at 0.25 (one bin lower), all wrong: that half is off by 0.25.
  for (int i = 0; i < 10; ++i) pairs.push_back({0.25, false});
  CHECK(cli::CalibrationError(pairs) == doctest::Approx(0.125));
  // Confidence 1 falls in the top bin, 0 in the bottom one.
  CHECK(cli::CalibrationError({{1.0, false}, {0.0, true}}) == doctest::Approx(1.0));
}
