#pragma once
// Normalization and tokenization of customer text: the one place that decides what a word is, so
// the bundle builder and the query path always agree.

#include <string>
#include <string_view>
#include <vector>

namespace loopwise {

// Longest input the engine looks at, in bytes; the rest of a longer text is ignored.
constexpr size_t kMaxTextBytes = 4096;
// Most tokens kept from one text.
constexpr size_t kMaxTokens = 256;

// Decodes UTF-8, replacing every invalid or overlong sequence with U+FFFD. Never fails.
std::u32string DecodeUtf8(std::string_view text);
void AppendUtf8(char32_t cp, std::string* out);

// Lower-cased, accent-folded words: "Can't  LOG-IN to Café!!" -> {"can", "not", "log", "in", "to",
// "cafe"}. Contractions are expanded, punctuation and emoji separate words, digits stay inside
// words ("2fa"), and every token is valid UTF-8 whatever the input was.
std::vector<std::string> Tokenize(std::string_view text);

}  // namespace loopwise
