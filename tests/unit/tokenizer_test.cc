#include "engine/tokenizer.h"

#include <doctest/doctest.h>

#include <random>

using loopwise::Tokenize;
using V = std::vector<std::string>;

TEST_CASE("tokenize folds case, accents and punctuation") {
  CHECK(Tokenize("Can't  LOG-IN to Café!!") == V{"can", "not", "log", "in", "to", "cafe"});
  CHECK(Tokenize("Straße, Ærø; naïve") == V{"strasse", "aero", "naive"});
  CHECK(Tokenize("") == V{});
  CHECK(Tokenize("   ...!!!  ") == V{});
}

TEST_CASE("tokenize expands contractions, curly apostrophes included") {
  CHECK(Tokenize("I won\xE2\x80\x99t, you're, it's, I'd, we've, they'll, I'm") ==
        V{"i", "will", "not", "you", "are", "it", "i", "would", "we", "have", "they", "will", "i",
          "am"});
  CHECK(Tokenize("don't doesn't can't") == V{"do", "not", "does", "not", "can", "not"});
  CHECK(Tokenize("rock 'n' roll") == V{"rock", "n", "roll"});
  CHECK(Tokenize("users' data") == V{"users", "data"});
}

TEST_CASE("tokenize keeps digits inside words and drops emoji") {
  CHECK(Tokenize("reset 2FA now \xF0\x9F\x98\xA1\xF0\x9F\x98\xA1") == V{"reset", "2fa", "now"});
  CHECK(Tokenize("order #12345") == V{"order", "12345"});
  CHECK(Tokenize("ПРИВЕТ мир") == V{"привет", "мир"});
}

TEST_CASE("tokenize repairs invalid UTF-8") {
  CHECK(Tokenize("ab\xFF"
                 "cd") == V{"ab", "cd"});
  CHECK(Tokenize("\xC0\xAF"
                 "x") == V{"x"});  // overlong
  CHECK(Tokenize("\xED\xA0\x80"
                 "y") == V{"y"});          // surrogate
  CHECK(Tokenize("caf\xC3") == V{"caf"});  // truncated sequence
}

TEST_CASE("tokenize survives random bytes and bounds its output") {
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string s(rng() % 300, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    auto tokens = Tokenize(s);
    CHECK(tokens.size() <= loopwise::kMaxTokens);
    for (const auto& t : tokens) {
      CHECK(!t.empty());
      CHECK(loopwise::DecodeUtf8(t).find(U'\xFFFD') == std::u32string::npos);
    }
  }
  std::string huge(100000, 'a');
  huge[50] = ' ';
  CHECK(Tokenize(huge).size() == 2);
}
