#include "engine/tokenizer.h"

#include <algorithm>
#include <array>
#include <utility>

namespace loopwise {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

// Latin-1 Supplement and Latin Extended-A letters folded to ASCII, indexed from U+00C0.
// An empty entry means "not a letter" (×, ÷).
constexpr std::array<const char*, 0x180 - 0xC0> kLatinFold = {
    // U+00C0..U+00FF
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",  //
    "d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "ss",  //
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",  //
    "d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "y",   //
    // U+0100..U+017F
    "a", "a", "a", "a", "a", "a", "c", "c", "c", "c", "c", "c", "c", "c", "d", "d",    //
    "d", "d", "e", "e", "e", "e", "e", "e", "e", "e", "e", "e", "g", "g", "g", "g",    //
    "g", "g", "g", "g", "h", "h", "h", "h", "i", "i", "i", "i", "i", "i", "i", "i",    //
    "i", "i", "ij", "ij", "j", "j", "k", "k", "k", "l", "l", "l", "l", "l", "l", "l",  //
    "l", "l", "l", "n", "n", "n", "n", "n", "n", "n", "n", "n", "o", "o", "o", "o",    //
    "o", "o", "oe", "oe", "r", "r", "r", "r", "r", "r", "s", "s", "s", "s", "s", "s",  //
    "s", "s", "t", "t", "t", "t", "t", "t", "u", "u", "u", "u", "u", "u", "u", "u",    //
    "u", "u", "u", "u", "w", "w", "y", "y", "y", "z", "z", "z", "z", "z", "z", "s",    //
};

bool IsApostrophe(char32_t c) {
  return c == '\'' || c == 0x2019 || c == 0x2018 || c == 0x02BC;
}

// Appends the folded form of a word character to `word`; returns false for a separator.
bool FoldLetter(char32_t c, std::string* word) {
  if (c < 0x80) {
    if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      word->push_back(static_cast<char>(c));
      return true;
    }
    return false;
  }
  if (c >= 0xC0 && c < 0x180) {
    const char* folded = kLatinFold[c - 0xC0];
    if (!*folded) return false;
    word->append(folded);
    return true;
  }
  if (c >= 0x0300 && c <= 0x036F) return true;  // combining accents: dropped, the letter stays
  // Greek and Cyrillic capitals to lower case; other scripts' letters are kept as they are.
  if (c >= 0x0391 && c <= 0x03A9) c += 0x20;
  if (c >= 0x0410 && c <= 0x042F) c += 0x20;
  if (c >= 0x0400 && c <= 0x040F) c += 0x50;
  const bool letter = (c >= 0x0370 && c <= 0x052F) ||  // Greek, Cyrillic
                      (c >= 0x0590 && c <= 0x06FF) ||  // Hebrew, Arabic
                      (c >= 0x0900 && c <= 0x0DFF) ||  // Indic scripts
                      (c >= 0x0E00 && c <= 0x0E7F) ||  // Thai
                      (c >= 0x1100 && c <= 0x11FF) ||  // Hangul Jamo
                      (c >= 0x3040 && c <= 0x30FF) ||  // Hiragana, Katakana
                      (c >= 0x3400 && c <= 0x9FFF) ||  // CJK
                      (c >= 0xAC00 && c <= 0xD7AF);    // Hangul
  if (!letter) return false;
  AppendUtf8(c, word);
  return true;
}

// Expands an English contraction split at an apostrophe: `stem` is the part before it, `tail` the
// part after. Returns false when the pair is not a contraction (then the apostrophe separates).
bool ExpandContraction(std::string* stem, const std::string& tail, std::vector<std::string>* out) {
  if (tail == "t" && stem->size() > 1 && stem->back() == 'n') {
    if (*stem == "can") {
    } else if (*stem == "won") {
      *stem = "will";
    } else if (*stem == "shan") {
      *stem = "shall";
    } else if (*stem == "ain") {
      *stem = "is";
    } else {
      stem->pop_back();
    }
    out->push_back(std::move(*stem));
    out->push_back("not");
    return true;
  }
  static const std::pair<const char*, const char*> kTails[] = {
      {"re", "are"}, {"ve", "have"}, {"ll", "will"}, {"m", "am"}, {"d", "would"}, {"s", ""}};
  for (const auto& [t, word] : kTails) {
    if (tail != t) continue;
    out->push_back(std::move(*stem));
    if (*word) out->push_back(word);
    return true;
  }
  return false;
}

}  // namespace

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::u32string DecodeUtf8(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    unsigned char b = *p;
    int len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || end - p < len) {
      out.push_back(kReplacement);
      ++p;
      continue;
    }
    char32_t cp = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
    bool valid = true;
    for (int i = 1; i < len; ++i) {
      if ((p[i] & 0xC0) != 0x80) {
        valid = false;
        break;
      }
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    static constexpr char32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (!valid || cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      out.push_back(kReplacement);
      ++p;
      continue;
    }
    out.push_back(cp);
    p += len;
  }
  return out;
}

std::vector<std::string> Tokenize(std::string_view text) {
  const std::u32string cps = DecodeUtf8(text.substr(0, kMaxTextBytes));
  std::vector<std::string> tokens;
  std::string word;
  // Set when an apostrophe follows a word: the next run of letters may complete a contraction.
  std::string pending_stem;
  auto flush = [&]() {
    if (word.empty()) return;
    if (!pending_stem.empty()) {
      if (!ExpandContraction(&pending_stem, word, &tokens)) {
        tokens.push_back(std::move(pending_stem));
        tokens.push_back(std::move(word));
      }
      pending_stem.clear();
    } else {
      tokens.push_back(std::move(word));
    }
    word.clear();
  };
  for (size_t i = 0; i < cps.size() && tokens.size() < kMaxTokens; ++i) {
    char32_t c = cps[i];
    if (FoldLetter(c, &word)) continue;
    if (IsApostrophe(c) && !word.empty() && pending_stem.empty() && i + 1 < cps.size()) {
      std::string probe;
      if (FoldLetter(cps[i + 1], &probe)) {
        pending_stem = std::move(word);
        word.clear();
        continue;
      }
    }
    if (!pending_stem.empty() && word.empty()) {
      tokens.push_back(std::move(pending_stem));
      pending_stem.clear();
    }
    flush();
  }
  flush();
  if (!pending_stem.empty()) tokens.push_back(std::move(pending_stem));
  if (tokens.size() > kMaxTokens) tokens.resize(kMaxTokens);
  return tokens;
}

}  // namespace loopwise
