#include "engine/scrubber.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <string>
#include <string_view>
#include <vector>

using loopwise::kScrubInputLimit;
using loopwise::Scrub;

namespace {

std::string S(std::string_view text) {
  return Scrub(text).text;
}

// Longest placeholder: the most a replacement can add beyond the bytes it replaced.
constexpr size_t kMaxPlaceholder = sizeof("[number]") - 1;

// Checks that `text` is scrubbed to exactly `expected`, and that this is a fixed point.
void CheckScrub(std::string_view text, std::string_view expected) {
  CAPTURE(text);
  const loopwise::ScrubResult once = Scrub(text);
  CHECK(once.text == expected);
  const loopwise::ScrubResult twice = Scrub(once.text);
  CHECK(twice.text == once.text);
  CHECK(twice.replaced == 0);
}

void CheckKept(std::string_view text) {
  CheckScrub(text, text);
}

}  // namespace

TEST_CASE("scrub replaces e-mail addresses") {
  CheckScrub("write to jane.doe@example.com please", "write to [email] please");
  CheckScrub("Jane.Doe+x@corp.example.co.uk", "[email]");
  CheckScrub("mail me at bob@example.com.", "mail me at [email].");
  CheckScrub("<first_last-1%tag@sub.domain.org>", "<[email]>");
  CheckScrub("mailto:BOB@EXAMPLE.IO", "mailto:[email]");
  CheckScrub("123456@qq.com", "[email]");
  CheckScrub("a@b.co,c@d.org", "[email],[email]");
  CHECK(Scrub("x y@example.com z@example.net").replaced == 2);
}

TEST_CASE("scrub keeps @ words that are not e-mail addresses") {
  CheckKept("use @mention to notify a teammate");
  CheckKept("ping @jane or @support-team");
  CheckKept("user@localhost");
  CheckKept("a@b");
  CheckKept("meet @ 5pm");
  CheckKept("price@3.50");
}

TEST_CASE("scrub replaces international phone numbers") {
  CheckScrub("call +1 (555) 123-4567 now", "call [phone] now");
  CheckScrub("+44 20 7946 0958", "[phone]");
  CheckScrub("+44 (0)20 7946 0958", "[phone]");
  CheckScrub("+33 1 23 45 67 89", "[phone]");
  CheckScrub("+49-30-1234567", "[phone]");
  CheckScrub("+4930123456", "[phone]");
  CheckScrub("tel:+1.555.123.4567", "tel:[phone]");
}

TEST_CASE("scrub replaces national phone numbers") {
  CheckScrub("555-123-4567", "[phone]");
  CheckScrub("123-456-7890", "[phone]");
  CheckScrub("(555) 123-4567", "[phone]");
  CheckScrub("(555)123-4567", "[phone]");
  CheckScrub("555.123.4567", "[phone]");
  CheckScrub("555 123 4567", "[phone]");
  CheckScrub("1-800-555-0199", "[phone]");
  CheckScrub("020 7946 0958", "[phone]");
  CheckScrub("06 12 34 56 78", "[phone]");
  CheckScrub("01.23.45.67.89", "[phone]");
  CheckScrub("030 1234567", "[phone]");
  CheckScrub("my number is 555-1234.", "my number is [phone].");
  CheckScrub("or 555 1234", "or [phone]");
  // A phone number followed by more numbers in the sentence ends where its shape ends.
  CheckScrub("call 555 123 4567 10 times", "call [phone] 10 times");
}

TEST_CASE("scrub keeps numbers that are not phone numbers") {
  CheckKept("between 2019-2024");
  CheckKept("plans for 500-1000 users");
  CheckKept("from 200 3000 rows");
  CheckKept("room 123 4567");
  CheckKept("years 2021 2022");
  CheckKept("pages 10-20 and 30-40");
  CheckKept("1 000 000 rows");
  CheckKept("0.1234567");
  CheckKept("order 12345 67 items");
}

TEST_CASE("scrub replaces card numbers that pass Luhn") {
  CheckScrub("4111 1111 1111 1111", "[card]");
  CheckScrub("4111-1111-1111-1111", "[card]");
  CheckScrub("4111111111111111", "[card]");
  CheckScrub("5555555555554444", "[card]");
  CheckScrub("378282246310005", "[card]");      // Amex, 15 digits
  CheckScrub("3782 822463 10005", "[card]");    // Amex grouping 4-6-5
  CheckScrub("6011 0009 9013 9424", "[card]");  // Discover
  CheckScrub("4222222222222", "[card]");        // 13 digits
  CheckScrub("card: 4111 1111 1111 1111, exp 12/27", "card: [card], exp 12/27");
  CheckScrub("4111 1111 1111 1111 2025", "[card] 2025");
}

TEST_CASE("scrub treats Luhn-failing card-length numbers as long numbers") {
  CheckScrub("4111111111111112", "[number]");
  CheckScrub("1234567812345678", "[number]");
  // Grouped like a card but mistyped: still not left readable.
  CheckScrub("1234 5678 9012 3456", "[number]");
  CHECK(S("4111111111111112").find("[card]") == std::string::npos);
}

TEST_CASE("scrub replaces IBANs that pass mod-97") {
  CheckScrub("DE89 3704 0044 0532 0130 00", "[iban]");
  CheckScrub("DE89370400440532013000", "[iban]");
  CheckScrub("GB82WEST12345698765432", "[iban]");
  CheckScrub("GB82 WEST 1234 5698 7654 32", "[iban]");
  CheckScrub("FR14 2004 1010 0505 0001 3M02 606", "[iban]");
  CheckScrub("NL91ABNA0417164300", "[iban]");
  CheckScrub("NO9386011117947", "[iban]");  // shortest, 15
  CheckScrub("iban: de89370400440532013000.", "iban: [iban].");
  CheckScrub("ES91 2100 0418 4502 0005 1332 and", "[iban] and");
  // A wrong check digit is not an IBAN.
  CHECK(S("DE88 3704 0044 0532 0130 00").find("[iban]") == std::string::npos);
  CHECK(S("GB82WEST12345698765433").find("[iban]") == std::string::npos);
}

TEST_CASE("scrub replaces government ids") {
  CheckScrub("ssn 123-45-6789", "ssn [id]");
  CheckScrub("SSN: 078-05-1120.", "SSN: [id].");
  CheckScrub("AB 12 34 56 C", "[id]");
  CheckScrub("JG103759A", "[id]");
  // Never issued: area 666 or 9xx; NINO prefixes with D, F, I, Q, U or V.
  CHECK(S("666-12-3456").find("[id]") == std::string::npos);
  CHECK(S("912-12-3456").find("[id]") == std::string::npos);
  CheckKept("QQ123456C");
  CheckKept("SKU AB123456");
}

TEST_CASE("scrub replaces IP addresses") {
  CheckScrub("from 192.168.1.10 today", "from [ip] today");
  CheckScrub("10.0.0.1:8080", "[ip]:8080");
  CheckScrub("8.8.8.8/24", "[ip]/24");
  CheckScrub("2001:0db8:85a3:0000:0000:8a2e:0370:7334", "[ip]");
  CheckScrub("2001:db8::ff00:42:8329", "[ip]");
  CheckScrub("fe80::1", "[ip]");
  CheckScrub("64:ff9b::192.0.2.33", "[ip]");
  CheckScrub("[2001:db8::1]:443", "[[ip]]:443");
  CheckKept("256.1.1.1");
  CheckKept("1.2.3");
  CheckKept("1.2.3.4.5");
  CheckKept("10:30:15");
  CheckKept("dead::beef");
  CheckKept("std::vector<int>");
}

TEST_CASE("scrub replaces URLs that carry secrets, whole") {
  CheckScrub("reset here: https://example.com/reset?token=abc123.", "reset here: [url].");
  CheckScrub("https://example.com/api/v1?key=XYZ", "[url]");
  CheckScrub("http://example.com/login?user=bob&password=hunter2", "[url]");
  CheckScrub("https://app.example.com/callback?code=4/0AX4XfWh&state=xyz", "[url]");
  CheckScrub("https://example.com/cb#access_token=ya29.a0AfH6SM", "[url]");
  CheckScrub("https://example.com/dl?X-Amz-Signature=abc", "[url]");
  CheckScrub("https://example.com/app;jsessionid=1A2B3C", "[url]");
  CheckScrub("https://example.com/?session=1", "[url]");
  CheckScrub("https://example.com/?sig=1&auth=2", "[url]");
  CheckScrub("https://app.example.com/invite/8f14e45fceea167a5a36dedd4bea2543", "[url]");
  CheckScrub("https://example.com/share/abc123def456ghi789jkl", "[url]");
  CheckScrub("https://example.com/orders/123e4567-e89b-12d3-a456-426614174000", "[url]");
  CheckScrub("https://user:pw@host.example.com/", "[url]");
  CheckScrub("https://example.com/users/jane@example.com", "[url]");
  CheckScrub("https://example.com/u?email=jane%40example.com", "[url]");
  CheckScrub("http://192.168.0.1/admin", "[url]");
  CheckScrub("www.example.com/verify?token=x", "[url]");
  CheckScrub("(see https://x.example/r?token=1)", "(see [url])");
}

TEST_CASE("scrub keeps plain URLs") {
  CheckKept("https://example.com/help/billing");
  CheckKept("see https://example.com/help/billing.");
  CheckKept("https://example.com/docs/getting-started?page=2#setup");
  CheckKept(
      "https://support.example.com/hc/en-us/articles/360001234567-How-to-reset-your-password");
  CheckKept("https://en.wikipedia.org/wiki/Mercury_(planet)");
  CheckKept("http://example.com/v2/api");
  CheckKept("www.example.com");
  CheckKept("https://example.com/search?q=reset+2fa&lang=en");
}

TEST_CASE("scrub replaces long digit runs") {
  CheckScrub("account 123456", "account [number]");
  CheckScrub("ref #98765432.", "ref #[number].");
  CheckScrub("ID:4567890", "ID:[number]");
  CheckScrub("ticket 2024-1234567", "ticket [number]");
  CheckScrub("12345678901234567890123", "[number]");
}

TEST_CASE("scrub keeps ordinary words and short numbers") {
  CheckKept("");
  CheckKept("How do I reset my password?");
  CheckKept("reset 2fa now");
  CheckKept("error 404");
  CheckKept("version 3.2");
  CheckKept("version 1.2.3 and v10.4.1234567");
  CheckKept("10 users");
  CheckKept("order 12345");
  CheckKept("order #12345");
  CheckKept("on 2024-05-01 at 10:30");
  CheckKept("01.05.2024 and 05/01/2024 and 2024.05.01");
  CheckKept("it costs $49.99 or 1,234,567.89 EUR");
  CheckKept("pi is 3.14159265");
  CheckKept("abc123456 user_1234567");  // digits inside words
  CheckKept("C++17, 1+1=2, x(1)");
  CheckKept("Caf\xC3\xA9 \xE2\x82\xAC 12 \xF0\x9F\x98\x80");
}

TEST_CASE("scrub handles mixed sentences") {
  const loopwise::ScrubResult r =
      Scrub("my email is Jane.Doe+x@corp.example.co.uk and card 4111 1111 1111 1111");
  CHECK(r.text == "my email is [email] and card [card]");
  CHECK(r.replaced == 2);
  CheckScrub(
      "Hi, I'm Jane (jane@example.com, +1 555-123-4567). My IBAN DE89 3704 0044 0532 0130 00 "
      "was charged $49.99 on 2024-05-01 for order 12345; error 404 at 10:30 from 10.1.2.3, "
      "account 98765432. Reset link: https://example.com/reset?token=abc. Docs: "
      "https://example.com/help/billing",
      "Hi, I'm Jane ([email], [phone]). My IBAN [iban] "
      "was charged $49.99 on 2024-05-01 for order 12345; error 404 at 10:30 from [ip], "
      "account [number]. Reset link: [url]. Docs: "
      "https://example.com/help/billing");
  CheckScrub("ssn 123-45-6789, nino AB123456C, ip ::1 fe80::1", "ssn [id], nino [id], ip ::1 [ip]");
}

TEST_CASE("scrub is idempotent") {
  // Fragments of everything the scrubber knows, placeholders included, glued at random.
  // clang-format off
  const std::vector<std::string> pieces = {
      "jane@example.com", "a.b+c@d.co.uk", "@mention", "@", ".", ",", "-", "(", ")", "+", ":",
      "/", "[", "]", "#", "$", "0", "00", "06", "1", "9", "12", "123", "555", "1234", "4567",
      "12345", "123456", "4111", "4111 1111 1111 1111", "4111111111111112", "+1 (555) 123-4567",
      "555-123-4567", "020 7946 0958", "(555)", "+44", "(0)", "DE89 3704 0044 0532 0130 00",
      "GB82WEST12345698765432", "123-45-6789", "AB 12 34 56 C", "AB123456C", "192.168.1.1",
      "2001:db8::1", "fe80::", "::", "10:30", "2024-05-01", "$49.99", "3.2",
      "https://example.com/help", "https://x.com/?token=1", "www.x.com", "http://", "word", "DE",
      "ab", "x", "e", "f", "com", "co", "[email]", "[number]", "[ip]", "%40", "_", "\xC3\xA9",
      "\xFF"};
  const std::vector<std::string> glue = {"", "", "", " ", " ", "-", ".", ",", ":", "\n", "(", ")",
                                         "@", "/"};
  // clang-format on
  std::mt19937 rng(7);
  for (int iteration = 0; iteration < 50000; ++iteration) {
    std::string text;
    const int parts = static_cast<int>(rng() % 10) + 1;
    for (int k = 0; k < parts; ++k) {
      text += pieces[rng() % pieces.size()];
      text += glue[rng() % glue.size()];
    }
    const loopwise::ScrubResult once = Scrub(text);
    const loopwise::ScrubResult twice = Scrub(once.text);
    if (twice.text != once.text) {
      CAPTURE(text);
      CAPTURE(once.text);
      CHECK(twice.text == once.text);
      break;
    }
    CHECK(twice.replaced == 0);
  }
}

TEST_CASE("scrub survives random bytes") {
  std::mt19937 rng(42);
  // Byte alphabets from raw noise to shapes that reach every matcher.
  const std::string shaped = "0123456789     +-.()@:/?=&#[]_abcdefDEGBxhtpsw%";
  for (int iteration = 0; iteration < 100000; ++iteration) {
    const size_t length = rng() % (iteration % 100 == 0 ? 4096 : 200);
    std::string text(length, '\0');
    const bool raw = iteration % 2 == 0;
    for (char& c : text) {
      c = raw ? static_cast<char>(rng() & 0xFF) : shaped[rng() % shaped.size()];
    }
    const loopwise::ScrubResult r = Scrub(text);
    const size_t bounded = std::min(text.size(), kScrubInputLimit);
    if (r.text.size() > bounded + r.replaced * kMaxPlaceholder) {
      CAPTURE(text);
      CHECK(r.text.size() <= bounded + r.replaced * kMaxPlaceholder);
      break;
    }
    if (!raw && Scrub(r.text).text != r.text) {
      CAPTURE(text);
      CHECK(Scrub(r.text).text == r.text);
      break;
    }
  }
}

TEST_CASE("scrub reads full-width forms as the ASCII they stand for") {
  // U+FF10.. digits, U+FF20 at sign, U+FF0E full stop, U+3000 ideographic space.
  CheckScrub(
      "\uFF14\uFF11\uFF11\uFF11\u3000\uFF11\uFF11\uFF11\uFF11\u3000\uFF11\uFF11\uFF11\uFF11"
      "\u3000\uFF11\uFF11\uFF11\uFF11",
      "[card]");
  CheckScrub(
      "\uFF4A\uFF4F\uFF48\uFF4E\uFF20\uFF45\uFF58\uFF41\uFF4D\uFF50\uFF4C\uFF45\uFF0E\uFF43\uFF4F"
      "\uFF4D \u306b\u9023\u7d61",
      "[email] \u306b\u9023\u7d61");
  CheckScrub("\uFF21\uFF22\uFF23 \u3053\u3093\u306b\u3061\u306f",
             "ABC \u3053\u3093\u306b\u3061\u306f");
  CheckKept("\uFFE5100 \uFF5F\u00e9");  // other forms as they are
  // Other scripts' digits, the dash an input method types between digits, grouping spaces.
  CheckScrub("\uFF10\uFF19\uFF10\u30FC\uFF11\uFF12\uFF13\uFF14\u30FC\uFF15\uFF16\uFF17\uFF18",
             "[phone]");
  CheckScrub("4111\u00A01111\u202F1111\u20071111", "[card]");
  CheckScrub(
      "\u0664\u0661\u0661\u0661 \u0661\u0661\u0661\u0661 \u0661\u0661\u0661\u0661 "
      "\u0661\u0661\u0661\u0661",
      "[card]");
  CheckScrub("\u06F1\u06F2\u06F3\u06F4\u06F5\u06F6\u06F7\u06F8", "[number]");
  // Outside digits, dashes and the prolonged-sound mark stay as written.
  CheckScrub("\u30B3\u30FC\u30D2\u30FC \u2014 caf\u00e9 2\u20143",
             "\u30B3\u30FC\u30D2\u30FC \u2014 caf\u00e9 2-3");
}

TEST_CASE("scrub passes invalid UTF-8 through") {
  const std::string invalid = "\xC3 jane@example.com \xFF\xFE\x80 4111111111111111 \xE2\x82";
  CHECK(S(invalid) == "\xC3 [email] \xFF\xFE\x80 [card] \xE2\x82");
  CheckKept(std::string("a\0b 123", 7));
}

TEST_CASE("scrub processes only the first 64 KB") {
  CHECK(kScrubInputLimit == 64 * 1024);
  CHECK(S(std::string(100000, 'a')).size() == kScrubInputLimit);
  CHECK(S(std::string(kScrubInputLimit, 'a')).size() == kScrubInputLimit);

  // Personal data past the limit is dropped, not returned.
  std::string text(kScrubInputLimit - 8, 'a');
  text += " 123456 jane@example.com";
  CHECK(S(text) == std::string(kScrubInputLimit - 8, 'a') + " [number] ");

  // A character straddling the limit is dropped whole, leaving valid UTF-8.
  std::string accents(kScrubInputLimit - 1, 'a');
  accents += "\xC3\xA9\xC3\xA9";
  CHECK(S(accents) == std::string(kScrubInputLimit - 1, 'a'));

  // Data everywhere inside the limit is all scrubbed.
  std::string many;
  while (many.size() < 2 * kScrubInputLimit) many += "jane@example.com 4111 1111 1111 1111 ";
  const std::string out = S(many);
  CHECK(out.size() <= kScrubInputLimit);
  CHECK(out.find("jane@example.com") == std::string::npos);
  CHECK(out.find("4111 1111 1111 1111") == std::string::npos);
  CHECK(out.find("[email] [card] [email] [card]") == 0);
}

TEST_CASE("scrub handles adversarial 64 KB inputs") {
  auto repeat = [](std::string_view unit) {
    std::string s;
    while (s.size() < kScrubInputLimit) s += unit;
    return s;
  };
  const std::vector<std::string> inputs = {
      repeat("a"),       repeat("1"),          repeat("1 "),
      repeat("1-"),      repeat("1."),         repeat("a."),
      repeat("a@"),      repeat("a@b."),       repeat("a.b@"),
      repeat("+1 "),     repeat("(1) "),       repeat("1:"),
      repeat("a:"),      repeat("1::"),        repeat("DE89 "),
      repeat("DE89"),    repeat("AB 12 "),     repeat("4111 "),
      repeat("http://"), repeat("https://a/"), repeat("https://a?token=1&"),
      repeat("www."),    repeat("0 1 2 3 "),   "x" + repeat("@a.b"),
      repeat("1,234"),   repeat("1.2.3.4."),   repeat("ff:"),
      repeat("-"),       repeat("\xFF"),       repeat("@mention "),
  };
  for (const std::string& input : inputs) {
    const loopwise::ScrubResult r = Scrub(input);
    CAPTURE(input.substr(0, 16));
    CHECK(r.text.size() <= kScrubInputLimit + r.replaced * kMaxPlaceholder);
  }
}
