#pragma once
// Personal-data scrubbing of free customer text, before it is stored, logged or sent anywhere.
//
// Scrub() replaces what identifies or exposes a person with a placeholder naming its kind:
//
//   [email]   e-mail addresses                         jane.doe+x@corp.example.co.uk
//   [phone]   phone numbers, 7 to 15 digits            +1 (555) 123-4567, 020 7946 0958
//   [card]    payment cards passing the Luhn check     4111 1111 1111 1111
//   [iban]    IBANs passing the mod-97 check           DE89 3704 0044 0532 0130 00
//   [id]      US SSNs and UK National Insurance nos.   123-45-6789, AB 12 34 56 C
//   [ip]      IPv4 and IPv6 addresses                  192.168.1.10, 2001:db8::1
//   [url]     http(s) URLs carrying a secret           https://x.com/reset?token=...
//   [number]  other runs of 6 or more digits           account 12345678
//
// What it deliberately keeps: words, short numbers ("error 404", "order 12345"), decimals,
// versions and amounts ("3.2", "$1,234.50"), dates ("2024-05-01"), times ("10:30"), "@mention"s and
// URLs without secrets (kept whole, so a help-centre link stays clickable).
//
// It works on bytes: only ASCII shapes are recognised (look-alikes are read as the ASCII they
// stand for, and returned as it: full-width forms U+FF01..U+FF5E, other scripts' digits, the
// spaces and dashes that group digits), every other byte (UTF-8 or not) is copied unchanged, so
// invalid UTF-8 is passed through, never rejected. The scan is a single left-to-right
// pass; each matcher looks at a bounded window, or consumes what it read, or (e-mail) remembers
// where it failed, so the time is linear in the input. No exceptions, no heap allocation beyond
// the result.

#include <cstddef>
#include <string>
#include <string_view>

namespace loopwise {

// Only this many leading bytes of a text are scrubbed and returned; the rest is dropped. A UTF-8
// character straddling the limit is dropped whole.
inline constexpr size_t kScrubInputLimit = 64 * 1024;

struct ScrubResult {
  std::string text;
  size_t replaced = 0;  // placeholders inserted
};

// Replaces personal data in `text` (bounded to kScrubInputLimit) with the placeholders above.
// Idempotent: scrubbing a scrubbed text changes nothing.
ScrubResult Scrub(std::string_view text);

}  // namespace loopwise
