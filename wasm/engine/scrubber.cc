#include "engine/scrubber.h"

#include <algorithm>
#include <cstdint>

namespace loopwise {
namespace {

constexpr std::string_view kEmail = "[email]";
constexpr std::string_view kPhone = "[phone]";
constexpr std::string_view kCard = "[card]";
constexpr std::string_view kIban = "[iban]";
constexpr std::string_view kId = "[id]";
constexpr std::string_view kIp = "[ip]";
constexpr std::string_view kUrl = "[url]";
constexpr std::string_view kNumber = "[number]";

// E.164 caps a phone number, country code included, at 15 digits.
constexpr int kMaxPhoneDigits = 15;
constexpr int kMinPhoneDigits = 7;
// ISO/IEC 7812 card numbers are 13 to 19 digits long.
constexpr int kMinCardDigits = 13;
constexpr int kMaxCardDigits = 19;
// ISO 13616: the shortest IBAN (Norway) has 15 characters, the longest allowed 34.
constexpr int kMinIbanChars = 15;
constexpr int kMaxIbanChars = 34;
// A bare digit run this long is an account, order, member or ticket number: it points at a person.
constexpr size_t kMinLongNumber = 6;
// A URL path or query segment at least this long that mixes letters and digits may be a secret.
constexpr size_t kMinTokenSegment = 20;

// Character classes. Only ASCII is classified: bytes >= 0x80 (UTF-8 or garbage) are "other".
constexpr bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}
constexpr bool IsUpper(char c) {
  return c >= 'A' && c <= 'Z';
}
constexpr bool IsLower(char c) {
  return c >= 'a' && c <= 'z';
}
constexpr bool IsAlpha(char c) {
  return IsUpper(c) || IsLower(c);
}
constexpr bool IsAlnum(char c) {
  return IsDigit(c) || IsAlpha(c);
}
constexpr bool IsHex(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
// Bytes that glue characters into one word: nothing starts right after them.
constexpr bool IsWordByte(char c) {
  return IsAlnum(c) || c == '_';
}
constexpr char ToLower(char c) {
  return IsUpper(c) ? static_cast<char>(c - 'A' + 'a') : c;
}
constexpr char ToUpper(char c) {
  return IsLower(c) ? static_cast<char>(c - 'a' + 'A') : c;
}
// Characters of an e-mail address's local part, as people actually type them.
constexpr bool IsLocalPartChar(char c) {
  return IsAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

// s[i], or NUL past the end: every matcher can look ahead without bounds checks, and NUL is in no
// class, so the end of the text behaves like a separator.
char At(std::string_view s, size_t i) {
  return i < s.size() ? s[i] : '\0';
}

bool StartsWithNoCase(std::string_view s, size_t i, std::string_view prefix) {
  if (s.size() - i < prefix.size()) return false;
  for (size_t k = 0; k < prefix.size(); ++k) {
    if (ToLower(s[i + k]) != prefix[k]) return false;
  }
  return true;
}

bool ContainsNoCase(std::string_view s, std::string_view needle) {
  for (size_t i = 0; i + needle.size() <= s.size(); ++i) {
    if (StartsWithNoCase(s, i, needle)) return true;
  }
  return false;
}

// Value of the digits s[begin, end), which the caller knows to be at most 9 digits.
int DigitsValue(std::string_view s, size_t begin, size_t end) {
  int value = 0;
  for (size_t k = begin; k < end; ++k) value = value * 10 + (s[k] - '0');
  return value;
}

// Length of a dotted-quad IPv4 address at s[i] (each octet 0-255, no leading zeros, which version
// strings and zero-padded dates have), or 0.
size_t Ipv4Length(std::string_view s, size_t i) {
  size_t p = i;
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0) {
      if (At(s, p) != '.') return 0;
      ++p;
    }
    size_t n = 0;
    while (n < 4 && IsDigit(At(s, p + n))) ++n;
    if (n == 0 || n > 3 || (n > 1 && s[p] == '0') || DigitsValue(s, p, p + n) > 255) return 0;
    p += n;
  }
  return p - i;
}

// The Luhn checksum that every payment card number satisfies; a random digit string passes it one
// time in ten, which is what keeps other long numbers from being called cards.
bool LuhnOk(const char* digits, int count) {
  int sum = 0;
  for (int k = 0; k < count; ++k) {
    int d = digits[count - 1 - k] - '0';
    if (k % 2 == 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 == 0;
}

// IBAN lengths by country (SWIFT IBAN registry). A country in the table must have exactly its
// length; a code not in it is allowed any length from 15 to 34, still behind the mod-97 check.
struct IbanCountry {
  char code[3];
  uint8_t length;
};
constexpr IbanCountry kIbanCountries[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
    {"BH", 22}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22},
    {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FO", 18}, {"FR", 27},
    {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28},
    {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20},
    {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24},
    {"ME", 22}, {"MK", 19}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24},
    {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24}, {"SC", 31},
    {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24},
    {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20},
};

// The length an IBAN of this country must have, or 0 if the country is not in the table.
int IbanLengthFor(char a, char b) {
  for (const IbanCountry& country : kIbanCountries) {
    if (country.code[0] == a && country.code[1] == b) return country.length;
  }
  return 0;
}

// ISO 13616 check: move the first four characters to the end, read letters as 10..35, and the
// resulting number is 1 modulo 97. `chars` holds upper-cased letters and digits.
bool IbanChecksumOk(const char* chars, int count) {
  const int check = (chars[2] - '0') * 10 + (chars[3] - '0');
  if (check < 2 || check > 98) return false;  // 00, 01 and 99 are never issued
  int rem = 0;
  for (int k = 0; k < count; ++k) {
    const char c = chars[(k + 4) % count];
    rem = IsDigit(c) ? (rem * 10 + (c - '0')) % 97 : (rem * 100 + (c - 'A' + 10)) % 97;
  }
  return rem == 1;
}

// Query or fragment parameter names whose values are credentials or personal data.
bool IsSecretParamName(std::string_view raw) {
  char lowered[64];
  if (raw.empty() || raw.size() > sizeof(lowered)) return false;
  for (size_t k = 0; k < raw.size(); ++k) lowered[k] = raw[k] == '-' ? '_' : ToLower(raw[k]);
  const std::string_view name(lowered, raw.size());
  static constexpr std::string_view kExact[] = {
      "key",  "code",          "sig",   "sid",  "pwd",   "pass", "otp", "pin", "jwt",
      "auth", "authorization", "email", "mail", "phone", "tel",  "ssn", "hash"};
  for (std::string_view exact : kExact) {
    if (name == exact) return true;
  }
  // token, access_token, x_amz_security_token, client_secret, password, sessionid, jsessionid,
  // phpsessid, apikey, x_amz_signature, x_amz_credential...
  static constexpr std::string_view kParts[] = {"token",   "secret", "passw",     "sessid",
                                                "session", "apikey", "signature", "credential"};
  for (std::string_view part : kParts) {
    if (name.find(part) != std::string_view::npos) return true;
  }
  return name.size() > 4 && name.substr(name.size() - 4) == "_key";  // api_key, access_key
}

// A path or query segment that looks like a generated secret (reset link, invite, session id,
// signed download): long, mixing letters and digits, and either one long unbroken letter-digit
// run or many letter/digit alternations (UUIDs, hex digests, JWTs). Slugs such as
// "360001234567-how-to-reset-your-password" have a long number but few alternations, so stay.
bool IsTokenLike(std::string_view seg) {
  if (seg.size() < kMinTokenSegment) return false;
  bool any_letter = false, any_digit = false, long_mixed_run = false;
  int alternations = 0;
  size_t run = 0;
  bool run_letter = false, run_digit = false;
  char prev = '\0';
  for (const char c : seg) {
    if (!IsAlnum(c)) {
      run = 0;
      run_letter = run_digit = false;
      prev = '\0';
      continue;
    }
    ++run;
    run_letter |= IsAlpha(c);
    run_digit |= IsDigit(c);
    any_letter |= IsAlpha(c);
    any_digit |= IsDigit(c);
    if (run >= 16 && run_letter && run_digit) long_mixed_run = true;
    if (prev != '\0' && IsDigit(prev) != IsDigit(c)) ++alternations;
    prev = c;
  }
  return any_letter && any_digit && (long_mixed_run || alternations >= 5);
}

// Whether a URL (scheme included, `host` the offset of its host) carries something secret or
// personal, so that the whole URL must go.
bool UrlIsSensitive(std::string_view url, size_t host) {
  size_t authority_end = url.find_first_of("/?#", host);
  if (authority_end == std::string_view::npos) authority_end = url.size();
  const std::string_view authority = url.substr(host, authority_end - host);
  // user:password@host
  if (authority.find('@') != std::string_view::npos) return true;
  // An IP-literal host is an IP address like any other.
  if (!authority.empty() && authority[0] == '[') return true;
  const std::string_view hostname = authority.substr(0, authority.find(':'));
  if (!hostname.empty() && Ipv4Length(hostname, 0) == hostname.size()) return true;

  const std::string_view rest = url.substr(authority_end);
  // An e-mail address in the path or query, plain or percent-encoded.
  if (rest.find('@') != std::string_view::npos || ContainsNoCase(rest, "%40")) return true;
  bool in_params = false;  // after '?', '#' or ';': segments before '=' are parameter names
  size_t begin = 0;
  for (size_t k = 0; k <= rest.size(); ++k) {
    const char c = At(rest, k);
    const bool separator =
        k == rest.size() || c == '/' || c == '?' || c == '#' || c == '&' || c == ';' || c == '=';
    if (!separator) continue;
    const std::string_view segment = rest.substr(begin, k - begin);
    if (IsTokenLike(segment)) return true;
    if (in_params && c == '=' && IsSecretParamName(segment)) return true;
    if (c == '?' || c == '#' || c == ';') in_params = true;
    begin = k + 1;
  }
  return false;
}

// Bytes that end a URL in running text.
bool IsUrlStop(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u <= 0x20 || u >= 0x7F || c == '<' || c == '>' || c == '"' || c == '`';
}

// Digit groups of a phone number as typed: "+44 (0)20 7946-0958" is 44 | (0) | 20 | 7946 | 0958.
struct PhoneGroups {
  static constexpr int kMax = kMaxPhoneDigits;
  int count = 0;
  int digits[kMax] = {};
  size_t start[kMax] = {};  // first digit
  size_t end[kMax] = {};    // just past the group, closing ')' included
  char sep[kMax] = {};      // separator before the group; 0 for none
  bool paren[kMax] = {};
};

// What one matcher found at a position.
struct Match {
  size_t length = 0;             // bytes consumed; 0 means nothing matched here
  std::string_view placeholder;  // empty: the bytes are copied unchanged
};

// Card-number candidates at one position: the longest Luhn-valid one, and the longest that is
// grouped like a card (4-4-4-4, 4-6-5...) but fails Luhn (a mistyped card is still a card).
struct CardMatch {
  size_t luhn_length = 0;
  size_t shape_length = 0;
};

class Scanner {
 public:
  explicit Scanner(std::string_view text) : t_(text) {}

  ScrubResult Run() {
    ScrubResult result;
    result.text.reserve(t_.size() + 16);
    size_t i = 0;
    while (i < t_.size()) {
      const Match m = MatchAt(i);
      if (m.length == 0) {
        result.text.push_back(t_[i]);
        ++i;
        continue;
      }
      if (m.placeholder.empty()) {
        result.text.append(t_.substr(i, m.length));
      } else {
        result.text.append(m.placeholder);
        ++result.replaced;
      }
      i += m.length;
    }
    return result;
  }

 private:
  char At(size_t i) const { return loopwise::At(t_, i); }

  // Whether something may start at i: not inside a word. A ']' counts as part of a word so that
  // nothing starts right after a placeholder, which keeps scrubbing idempotent ("[ip]+1555...").
  bool WordStart(size_t i) const {
    if (i == 0) return true;
    const char prev = t_[i - 1];
    return !IsWordByte(prev) && prev != ']';
  }

  // Numbers also don't start after "7-" or "3.": that is the middle of a date, a range, a decimal
  // or a version, which was judged as a whole from its first digit.
  bool NumberStart(size_t i) const {
    if (!WordStart(i)) return false;
    return !(i >= 2 && (t_[i - 1] == '-' || t_[i - 1] == '.') && IsDigit(t_[i - 2]));
  }

  // Whether a match may end just before j: not inside a word, and, when it ends with a digit, not
  // before "-7" or ".5" (that would cut a date, a longer dash-joined number or a decimal in two).
  // The mirror image of NumberStart, which is what keeps scrubbing idempotent.
  bool RightBoundary(size_t j) const {
    const char c = At(j);
    if (IsWordByte(c)) return false;
    return !(j > 0 && IsDigit(t_[j - 1]) && (c == '-' || c == '.') && IsDigit(At(j + 1)));
  }

  // "[2001:db8::1]" in a URL's host: '[', hex digits, colons and dots, ']'. Placeholders such as
  // "[email]" are not.
  bool IsIpLiteralStart(size_t p) const {
    if (At(p) != '[') return false;
    bool colon = false;
    for (size_t q = p + 1; q < t_.size() && q - p <= 46; ++q) {
      const char c = t_[q];
      if (c == ']') return colon;
      if (!IsHex(c) && c != ':' && c != '.') return false;
      colon |= c == ':';
    }
    return false;
  }

  Match MatchAt(size_t i) {
    if (!WordStart(i)) return {};
    const char c = t_[i];
    if (c == '+' || c == '(') return {MatchPhone(i), kPhone};
    if (!IsAlnum(c)) return {};
    if (IsAlpha(c)) {
      const Match url = MatchUrl(i);
      if (url.length > 0) return url;
    }
    if (const size_t n = MatchEmail(i)) return {n, kEmail};
    if (IsAlpha(c)) {
      if (const size_t n = MatchIpv6(i)) return {n, kIp};
      if (const size_t n = MatchIban(i)) return {n, kIban};
      if (const size_t n = MatchNino(i)) return {n, kId};
      return {};
    }
    if (!NumberStart(i)) return {};
    if (const size_t n = MatchIpv6(i)) return {n, kIp};
    if (const size_t n = MatchIpv4(i)) return {n, kIp};
    if (const size_t n = MatchSsn(i)) return {n, kId};
    const CardMatch card = MatchCard(i);
    if (card.luhn_length > 0) return {card.luhn_length, kCard};
    if (const size_t n = MatchPhone(i)) return {n, kPhone};
    if (card.shape_length > 0) return {card.shape_length, kNumber};
    return MatchNumber(i);
  }

  // http(s):// or www. up to the next space (trailing punctuation excluded). Replaced whole when it
  // carries a secret, otherwise copied whole: its digits are ids of public pages, not people.
  Match MatchUrl(size_t i) const {
    size_t host = 0;
    if (StartsWithNoCase(t_, i, "https://")) {
      host = i + 8;
    } else if (StartsWithNoCase(t_, i, "http://")) {
      host = i + 7;
    } else if (StartsWithNoCase(t_, i, "www.")) {
      host = i;
      if (!IsAlnum(At(i + 4))) return {};
    } else {
      return {};
    }
    if (!IsAlnum(At(host)) && !IsIpLiteralStart(host)) return {};
    size_t end = host;
    while (end < t_.size() && !IsUrlStop(t_[end])) ++end;
    // Sentence punctuation after a URL is not part of it; a closing bracket is only when the URL
    // opened one ("https://en.wikipedia.org/wiki/Mercury_(planet)").
    int parens = 0, brackets = 0;
    for (size_t k = host; k < end; ++k) {
      parens += t_[k] == '(' ? 1 : t_[k] == ')' ? -1 : 0;
      brackets += t_[k] == '[' ? 1 : t_[k] == ']' ? -1 : 0;
    }
    while (end > host) {
      const char last = t_[end - 1];
      if (last == ')' && parens < 0) {
        ++parens;
      } else if (last == ']' && brackets < 0) {
        ++brackets;
      } else if (std::string_view(".,;:!?'\"*").find(last) == std::string_view::npos) {
        break;
      }
      --end;
    }
    if (end == host) return {};
    const std::string_view url = t_.substr(i, end - i);
    return {end - i, UrlIsSensitive(url, host - i) ? kUrl : std::string_view()};
  }

  // local-part@domain.tld. The local part is the run of local-part characters from i; the domain
  // needs two or more labels and a 2-24 letter top-level label, so "@mention", "user@localhost" and
  // "v1@2" stay. When the run from i is not followed by a valid domain, no later start inside the
  // same run can be either (it ends at the same '@'), so those starts are skipped: this keeps
  // "a.a.a.a..." linear.
  size_t MatchEmail(size_t i) {
    if (i < email_dead_until_) return 0;
    size_t at = i;
    while (IsLocalPartChar(At(at))) ++at;
    if (At(at) != '@') {
      email_dead_until_ = at;
      return 0;
    }
    size_t end = 0;  // past the last label that can end the address
    int labels = 0;
    size_t p = at + 1;
    while (IsAlnum(At(p))) {
      size_t q = p;
      bool letters_only = true;
      while (IsAlnum(At(q)) || At(q) == '-') {
        letters_only &= IsAlpha(At(q));
        ++q;
      }
      if (t_[q - 1] == '-') break;  // a label never ends with '-'
      ++labels;
      if (labels >= 2 && letters_only && q - p >= 2 && q - p <= 24 && RightBoundary(q)) end = q;
      if (At(q) != '.') break;
      p = q + 1;
    }
    if (end == 0) {
      email_dead_until_ = at;
      return 0;
    }
    return end - i;
  }

  size_t MatchIpv4(size_t i) const {
    const size_t n = Ipv4Length(t_, i);
    return n > 0 && RightBoundary(i + n) ? n : 0;
  }

  // Hex groups separated by ':', eight of them or fewer around one "::", optionally ending in a
  // dotted quad. At least one decimal digit is required, so that hex-looking words ("dead::beef",
  // "add:bad:...") stay, and times ("10:30:15") and MAC addresses have the wrong group count.
  size_t MatchIpv6(size_t i) const {
    if (!IsHex(t_[i])) return 0;
    size_t p = i;
    size_t end = i;
    int groups = 0;
    bool compressed = false;
    bool has_digit = false;
    while (groups < 8) {
      size_t q = p;
      while (q - p < 5 && IsHex(At(q))) ++q;
      const size_t n = q - p;
      if (n == 0) break;  // only after "::", as in "fe80::"
      if (n > 4) return 0;
      if (At(q) == '.') {  // IPv4 tail, worth two groups
        const size_t v4 = Ipv4Length(t_, p);
        if (v4 == 0 || groups > 6) return 0;
        groups += 2;
        has_digit = true;
        end = p + v4;
        break;
      }
      for (size_t k = p; k < q; ++k) has_digit |= IsDigit(t_[k]);
      ++groups;
      end = q;
      if (At(q) != ':') break;
      if (At(q + 1) == ':') {
        if (compressed) break;
        compressed = true;
        end = q + 2;
        p = q + 2;
      } else if (IsHex(At(q + 1))) {
        p = q + 1;
      } else {
        break;
      }
    }
    const bool shape_ok = compressed ? groups >= 2 && groups <= 7 : groups == 8;
    if (!shape_ok || !has_digit || At(end) == ':' || !RightBoundary(end)) return 0;
    // "2001:db8::" right before a placeholder was "2001:db8::<something scrubbed>", which was not
    // an address; refusing it keeps scrubbing idempotent.
    if (t_[end - 1] == ':' && At(end) == '[') return 0;
    return end - i;
  }

  // Country code, check digits, then up to 30 letters and digits, either unbroken or printed in
  // groups of four. Validated by length (when the country is known) and by the mod-97 checksum.
  size_t MatchIban(size_t i) const {
    if (!IsAlpha(At(i)) || !IsAlpha(At(i + 1)) || !IsDigit(At(i + 2)) || !IsDigit(At(i + 3))) {
      return 0;
    }
    char chars[kMaxIbanChars];
    size_t ends[kMaxIbanChars];
    int count = 0;
    size_t p = i;
    while (count < kMaxIbanChars) {
      const char c = At(p);
      if (IsAlnum(c)) {
        chars[count] = ToUpper(c);
        ends[count] = ++p;
        ++count;
      } else if (c == ' ' && count % 4 == 0 && IsAlnum(At(p + 1))) {
        ++p;
      } else {
        break;
      }
    }
    const int required = IbanLengthFor(chars[0], chars[1]);
    for (int k = count; k >= kMinIbanChars; --k) {
      if (required != 0 && k != required) continue;
      if (!RightBoundary(ends[k - 1])) continue;
      if (IbanChecksumOk(chars, k)) return ends[k - 1] - i;
    }
    return 0;
  }

  // UK National Insurance number: "AB123456C" or "AB 12 34 56 C". Precise enough to scrub because
  // HMRC never issues the first letters D F I Q U V, the second letters D F I O Q U V, nor the
  // prefixes BG GB KN NK NT TN ZZ, and the last letter is A-D.
  size_t MatchNino(size_t i) const {
    const char a = At(i), b = At(i + 1);
    if (!IsUpper(a) || !IsUpper(b)) return 0;
    if (std::string_view("DFIQUV").find(a) != std::string_view::npos) return 0;
    if (std::string_view("DFIOQUV").find(b) != std::string_view::npos) return 0;
    static constexpr std::string_view kBadPrefixes[] = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"};
    for (std::string_view bad : kBadPrefixes) {
      if (bad[0] == a && bad[1] == b) return 0;
    }
    size_t p = i + 2;
    const bool spaced = At(p) == ' ';
    for (int pair = 0; pair < 3; ++pair) {
      if (spaced) {
        if (At(p) != ' ') return 0;
        ++p;
      }
      if (!IsDigit(At(p)) || !IsDigit(At(p + 1))) return 0;
      p += 2;
    }
    if (spaced && At(p) == ' ') ++p;
    if (At(p) < 'A' || At(p) > 'D') return 0;
    ++p;
    return RightBoundary(p) ? p - i : 0;
  }

  // US Social Security number ddd-dd-dddd, in the ranges the SSA issues (area not 000, 666 or
  // 900-999; group not 00; serial not 0000).
  size_t MatchSsn(size_t i) const {
    static constexpr std::string_view kShape = "ddd-dd-dddd";
    for (size_t k = 0; k < kShape.size(); ++k) {
      const char c = At(i + k);
      if (kShape[k] == 'd' ? !IsDigit(c) : c != '-') return 0;
    }
    if (!RightBoundary(i + kShape.size())) return 0;
    const int area = DigitsValue(t_, i, i + 3);
    const int group = DigitsValue(t_, i + 4, i + 6);
    const int serial = DigitsValue(t_, i + 7, i + 11);
    if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0) return 0;
    return kShape.size();
  }

  // 13-19 digits, unbroken or in groups joined by one kind of separator (' ' or '-'), where every
  // group but the last has at least 4 digits and the last at least 3 (4-4-4-4, 4-6-5, 4-4-4-4-3).
  // Candidates end at group boundaries; the longest Luhn-valid one wins.
  CardMatch MatchCard(size_t i) const {
    char digits[kMaxCardDigits];
    int total[kMaxCardDigits];  // digits up to and including each group
    int length[kMaxCardDigits];
    size_t ends[kMaxCardDigits];
    int count = 0;
    int sum = 0;
    char sep = 0;
    size_t p = i;
    while (count < kMaxCardDigits) {
      size_t q = p;
      while (IsDigit(At(q)) && q - p <= static_cast<size_t>(kMaxCardDigits)) ++q;
      const int n = static_cast<int>(q - p);
      if (n == 0 || sum + n > kMaxCardDigits) break;
      for (int k = 0; k < n; ++k) digits[sum + k] = t_[p + k];
      sum += n;
      total[count] = sum;
      length[count] = n;
      ends[count] = q;
      ++count;
      p = q;
      const char c = At(p);
      if ((c == ' ' || c == '-') && (sep == 0 || sep == c) && IsDigit(At(p + 1))) {
        sep = c;
        ++p;
      } else {
        break;
      }
    }
    CardMatch match;
    for (int k = count; k >= 1 && total[k - 1] >= kMinCardDigits; --k) {
      if (!RightBoundary(ends[k - 1])) continue;
      bool grouped = length[k - 1] >= 3;
      for (int g = 0; g + 1 < k; ++g) grouped &= length[g] >= 4;
      if (k > 1 && !grouped) continue;
      if (LuhnOk(digits, total[k - 1])) {
        match.luhn_length = ends[k - 1] - i;
        return match;
      }
      if (k >= 3 && match.shape_length == 0) match.shape_length = ends[k - 1] - i;
    }
    return match;
  }

  // Phone numbers. International: '+', then 7-15 digits in any grouping ("+1 (555) 123-4567",
  // "+44 (0)20 7946 0958", "+4930123456"). National: 7-15 digits in two or more groups joined by
  // spaces, dashes or dots, in a shape that is a phone number and not a date, range or list:
  //   - an area code in parentheses: "(555) 123-4567", "(030) 1234567";
  //   - a trunk prefix 0: "020 7946 0958", "06 12 34 56 78", "01.23.45.67.89";
  //   - North American 3-3-4 or 1-3-3-4 ("555-123-4567", "1-800-555-0199"), and the local 3-4
  //     ("555-1234", "555 1234") unless both parts are round numbers like a range ("500-1000").
  // Dot-separated numbers need three groups ("0.1234567" is a decimal). An unbroken digit run is
  // left to the long-number rule.
  size_t MatchPhone(size_t i) const {
    size_t p = i;
    const bool plus = t_[i] == '+';
    if (plus) ++p;
    if (!IsDigit(At(p)) && !(!plus && At(p) == '(')) return 0;
    PhoneGroups g;
    char family = 0;  // '.' or ' ' (spaces and dashes mix: "(555) 123-4567")
    char sep = 0;
    bool used_paren = false;
    int sum = 0;
    while (g.count < PhoneGroups::kMax) {
      size_t q = p;
      const bool paren = At(q) == '(' && !used_paren && (plus ? g.count > 0 : g.count == 0);
      if (paren) ++q;
      const size_t digits_begin = q;
      while (IsDigit(At(q)) && q - digits_begin <= static_cast<size_t>(kMaxPhoneDigits)) ++q;
      const int n = static_cast<int>(q - digits_begin);
      if (n == 0 || sum + n > kMaxPhoneDigits) break;
      if (paren) {
        if (n > 5 || At(q) != ')') break;
        ++q;
        used_paren = true;
      }
      g.digits[g.count] = n;
      g.start[g.count] = digits_begin;
      g.end[g.count] = q;
      g.sep[g.count] = sep;
      g.paren[g.count] = paren;
      ++g.count;
      sum += n;
      p = q;
      const char c = At(p);
      const bool next_ok = IsDigit(At(p + 1)) || (At(p + 1) == '(' && plus && !used_paren);
      if ((c == ' ' || c == '-' || c == '.') && next_ok) {
        const char this_family = c == '.' ? '.' : ' ';
        if (family != 0 && family != this_family) break;
        family = this_family;
        sep = c;
        ++p;
      } else if ((paren && IsDigit(c)) || (plus && c == '(' && !used_paren)) {
        sep = 0;  // "(0)20", "+44(0)20"
      } else {
        break;
      }
    }
    // The longest prefix of whole groups that is a phone number. It never ends with a
    // parenthesized group: "+44 (0)" is not a number, and whatever follows the ')' would be
    // judged on its own, which could change once that is scrubbed.
    for (int k = g.count; k >= 1; --k) {
      if (g.paren[k - 1] || !RightBoundary(g.end[k - 1])) continue;
      if (PhoneShapeOk(g, k, plus)) return g.end[k - 1] - i;
    }
    return 0;
  }

  bool PhoneShapeOk(const PhoneGroups& g, int k, bool plus) const {
    int sum = 0;
    bool dots = false;
    for (int j = 0; j < k; ++j) {
      sum += g.digits[j];
      dots |= g.sep[j] == '.';
    }
    if (sum < kMinPhoneDigits || sum > kMaxPhoneDigits) return false;
    if (plus) return true;
    if (k < 2 || (dots && k < 3) || LooksLikeDate(g, k)) return false;
    if (g.paren[0]) return g.digits[0] >= 2;
    const char first = t_[g.start[0]];
    if (first == '0' && g.digits[0] >= 2) return true;
    const int* d = g.digits;
    if (k == 3 && d[0] == 3 && d[1] == 3 && d[2] == 4) return true;
    if (k == 4 && first == '1' && d[0] == 1 && d[1] == 3 && d[2] == 3 && d[3] == 4) return true;
    if (k == 2 && d[0] == 3 && d[1] == 4 && first >= '2') {  // dots were refused above
      const bool round = t_[g.end[0] - 1] == '0' && t_[g.end[1] - 1] == '0';
      return !round;
    }
    return false;
  }

  // dd.mm.yyyy, mm-dd-yyyy, yyyy-mm-dd and the like, with plausible values: a date, not a phone.
  bool LooksLikeDate(const PhoneGroups& g, int k) const {
    if (k != 3 || g.paren[0]) return false;
    const int* d = g.digits;
    const bool day_first = d[0] <= 2 && d[1] <= 2 && d[2] == 4;
    const bool year_first = d[0] == 4 && d[1] <= 2 && d[2] <= 2;
    if (!day_first && !year_first) return false;
    int v[3];  // at most 4 digits each
    for (int j = 0; j < 3; ++j) v[j] = DigitsValue(t_, g.start[j], g.start[j] + d[j]);
    auto day_month = [](int a, int b) {
      return a >= 1 && b >= 1 && a <= 31 && b <= 31 && (a <= 12 || b <= 12);
    };
    auto year = [](int y) { return y >= 1900 && y <= 2099; };
    return day_first ? day_month(v[0], v[1]) && year(v[2]) : year(v[0]) && day_month(v[2], v[1]);
  }

  // The number starting at i as a whole: digit runs joined by '-' (dates, ranges, references),
  // '.' (decimals, versions) or a thousands ',' ("1,234,567"). Copied unchanged when it has a
  // decimal point or thousands separator (an amount or a version, not an identifier) or when it has
  // no run of 6+ digits; otherwise replaced as a long number. Always consumed whole, so its parts
  // are never re-examined on their own.
  Match MatchNumber(size_t i) const {
    size_t p = i;
    size_t longest = 0;
    bool decimal = false;
    while (true) {
      const size_t run_begin = p;
      while (IsDigit(At(p))) ++p;
      longest = std::max(longest, p - run_begin);
      const char c = At(p);
      if ((c == '-' || c == '.') && IsDigit(At(p + 1))) {
        decimal |= c == '.';
        ++p;
      } else if (c == ',' && IsDigit(At(p + 1)) && IsDigit(At(p + 2)) && IsDigit(At(p + 3)) &&
                 !IsDigit(At(p + 4))) {
        decimal = true;
        ++p;
      } else {
        break;
      }
    }
    if (!decimal && longest >= kMinLongNumber && !IsWordByte(At(p))) return {p - i, kNumber};
    return {p - i, std::string_view()};
  }

  std::string_view t_;
  // No e-mail address starts before this offset (see MatchEmail).
  size_t email_dead_until_ = 0;
};

// The first kScrubInputLimit bytes, without a trailing partial UTF-8 character.
std::string_view Bound(std::string_view text) {
  if (text.size() <= kScrubInputLimit) return text;
  size_t cut = kScrubInputLimit;
  // If the first dropped byte continues a character, drop that character's lead byte and its
  // earlier continuation bytes too (at most 3). Garbage without a lead byte is cut as is.
  size_t lead = cut;
  while (lead > cut - 3 && (static_cast<unsigned char>(text[lead]) & 0xC0) == 0x80) --lead;
  if (lead != cut && (static_cast<unsigned char>(text[lead]) & 0xC0) == 0xC0) cut = lead;
  return text.substr(0, cut);
}

// The code point of the UTF-8 sequence at text[i] and its length; {0, 1} for ASCII or bytes that
// do not start a valid 2- or 3-byte sequence.
std::pair<unsigned, size_t> CodePointAt(std::string_view text, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(text[i + k]); };
  if (b(0) >= 0xC2 && b(0) <= 0xDF && i + 1 < text.size() && (b(1) & 0xC0) == 0x80) {
    return {((b(0) & 0x1Fu) << 6) | (b(1) & 0x3Fu), 2};
  }
  if (b(0) >= 0xE0 && b(0) <= 0xEF && i + 2 < text.size() && (b(1) & 0xC0) == 0x80 &&
      (b(2) & 0xC0) == 0x80) {
    const unsigned cp = ((b(0) & 0x0Fu) << 12) | ((b(1) & 0x3Fu) << 6) | (b(2) & 0x3Fu);
    if (cp >= 0x800) return {cp, 3};
  }
  return {0, 1};
}

// The ASCII a look-alike stands for, or 0: full-width forms (U+FF01..U+FF5E, typed by East Asian
// input methods), other scripts' digits (Arabic-Indic, Persian, Devanagari, Bengali) and the
// spaces that group digits.
char AsciiFor(unsigned cp) {
  if (cp >= 0xFF01 && cp <= 0xFF5E) return static_cast<char>(cp - 0xFF01 + 0x21);
  for (unsigned zero : {0x0660u, 0x06F0u, 0x0966u, 0x09E6u}) {
    if (cp >= zero && cp <= zero + 9) return static_cast<char>('0' + (cp - zero));
  }
  switch (cp) {
    case 0x3000:
    case 0x00A0:
    case 0x2007:
    case 0x2009:
    case 0x200A:
    case 0x202F:
      return ' ';
    default:
      return 0;
  }
}

// Dashes an input method or a word processor puts between digits ("090ー1234ー5678").
bool IsDash(unsigned cp) {
  return (cp >= 0x2010 && cp <= 0x2015) || cp == 0x2212 || cp == 0x30FC || cp == 0xFE63;
}

// `text` with look-alikes read as the ASCII they stand for (AsciiFor, and a dash between two
// digits as '-'), so that the scanner's ASCII shapes find "４１１１ １１１１ ..." or
// "ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ" too. Everything else is copied as is.
std::string FoldLookalikes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  auto digit_at = [&](size_t i) {
    if (i >= text.size()) return false;
    const auto [cp, n] = CodePointAt(text, i);
    return n == 1 ? IsDigit(text[i]) : IsDigit(AsciiFor(cp));
  };
  for (size_t i = 0; i < text.size();) {
    const auto [cp, n] = CodePointAt(text, i);
    char ascii = n == 1 ? 0 : AsciiFor(cp);
    if (n > 1 && !ascii && IsDash(cp) && !out.empty() && IsDigit(out.back()) && digit_at(i + n)) {
      ascii = '-';
    }
    if (ascii) {
      out += ascii;
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
  return out;
}

}  // namespace

ScrubResult Scrub(std::string_view text) {
  const std::string_view bounded = Bound(text);
  // Only a text beyond ASCII pays for the copy.
  if (std::all_of(bounded.begin(), bounded.end(), [](char c) { return (c & 0x80) == 0; })) {
    return Scanner(bounded).Run();
  }
  const std::string folded = FoldLookalikes(bounded);
  return Scanner(folded).Run();
}

}  // namespace loopwise
