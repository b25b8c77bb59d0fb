#include "import_formats.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

using loopwise::Article;
using loopwise::HistoryTicket;
using loopwise::ParseArticles;
using loopwise::ParseHistory;
using loopwise::ReadArticlesPath;
using loopwise::ReadHistoryPath;

namespace fs = std::filesystem;

namespace {

std::vector<Article> Articles(const std::string& name, std::string_view bytes) {
  auto r = ParseArticles(name, bytes);
  INFO(r.status().message());
  REQUIRE(r.ok());
  return r.take();
}

std::string ArticlesError(const std::string& name, std::string_view bytes) {
  auto r = ParseArticles(name, bytes);
  REQUIRE_FALSE(r.ok());
  return r.status().message();
}

std::vector<HistoryTicket> Tickets(const std::string& name, std::string_view bytes) {
  auto r = ParseHistory(name, bytes);
  INFO(r.status().message());
  REQUIRE(r.ok());
  return r.take();
}

std::string HistoryError(const std::string& name, std::string_view bytes) {
  auto r = ParseHistory(name, bytes);
  REQUIRE_FALSE(r.ok());
  return r.status().message();
}

using Strings = std::vector<std::string>;

// A folder under the system temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("loopwise-import-test-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string Write(const std::string& relative, std::string_view contents) const {
    const fs::path p = path_ / relative;
    fs::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    return p.string();
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Markdown

TEST_CASE("import_formats: Markdown front matter with inline lists and a quoted title") {
  const auto a = Articles("help/reset-2fa.md",
                          "---\n"
                          "id: reset-2fa\n"
                          "title: \"Security: reset two-factor authentication\"\n"
                          "tags: [security, \"two factor, 2fa\", 'login']\n"
                          "pages: [/settings/security]\n"
                          "author: Jane  # unknown keys are ignored\n"
                          "---\n"
                          "\n"
                          "# Reset 2FA\n"
                          "\n"
                          "Open **Settings**.\n");
  REQUIRE(a.size() == 1);
  CHECK(a[0].id == "reset-2fa");
  CHECK(a[0].title == "Security: reset two-factor authentication");
  CHECK(a[0].tags == Strings{"security", "two factor, 2fa", "login"});
  CHECK(a[0].pages == Strings{"/settings/security"});
  CHECK(a[0].body == "# Reset 2FA\n\nOpen **Settings**.");
}

TEST_CASE("import_formats: Markdown block lists, CRLF, id from the file name, title from heading") {
  const auto a = Articles("help/billing/refund-policy.markdown",
                          "---\r\n"
                          "tags:\r\n"
                          "  - billing\r\n"
                          "  - 'refunds'   # comment\r\n"
                          "pages:\r\n"
                          "- /billing\r\n"
                          "- \"/billing/:id\"\r\n"
                          "---\r\n"
                          "Intro line.\r\n"
                          "\r\n"
                          "# Refund policy #\r\n"
                          "Refunds take 5 days.\r\n");
  REQUIRE(a.size() == 1);
  CHECK(a[0].id == "refund-policy");
  CHECK(a[0].title == "Refund policy");
  CHECK(a[0].tags == Strings{"billing", "refunds"});
  CHECK(a[0].pages == Strings{"/billing", "/billing/:id"});
  CHECK(a[0].body == "Intro line.\n\n# Refund policy #\nRefunds take 5 days.");
}

TEST_CASE("import_formats: Markdown without front matter, headings in code fences skipped") {
  const auto a = Articles("export.md",
                          "\xEF\xBB\xBF"
                          "Some text first.\n"
                          "```bash\n"
                          "# not a title\n"
                          "```\n"
                          "#NoSpaceIsNotAHeading\n"
                          "# Export your data\n");
  REQUIRE(a.size() == 1);
  CHECK(a[0].id == "export");
  CHECK(a[0].title == "Export your data");
  CHECK(a[0].tags.empty());
}

TEST_CASE("import_formats: Markdown scalars: quoting, escapes, comments, folding") {
  const auto a = Articles("x.md",
                          "---\n"
                          "# a comment line\n"
                          "ID: 'it''s-an-id'\n"
                          "title: \"Caf\\u00e9 \\\"menu\\\": prices\"  # trailing comment\n"
                          "tags: [a,\n"
                          "   b, c,]\n"
                          "pages: []\n"
                          "meta:\n"
                          "  nested: {x: 1}\n"
                          "  - whatever\n"
                          "---\n"
                          "Body # with hash\n");
  REQUIRE(a.size() == 1);
  CHECK(a[0].id == "it's-an-id");
  CHECK(a[0].title == "Caf\xC3\xA9 \"menu\": prices");
  CHECK(a[0].tags == Strings{"a", "b", "c"});
  CHECK(a[0].pages.empty());
  CHECK(a[0].body == "Body # with hash");

  const auto b = Articles("y.md",
                          "---\n"
                          "title: A long title\n"
                          "  that continues\n"
                          "id: C#-basics\n"
                          "---\n");
  CHECK(b[0].title == "A long title that continues");
  CHECK(b[0].id == "C#-basics");
  CHECK(b[0].body.empty());

  const auto c = Articles("z.md", "---\ntitle: >\n  Folded\n  title\n---\nbody\n");
  CHECK(c[0].title == "Folded title");
}

TEST_CASE("import_formats: Markdown errors name the file and line") {
  CHECK(ArticlesError("help/reset.md", "---\nid: reset\n# Reset\nBody\n") ==
        "help/reset.md:3: front matter is not closed by a \"---\" line");
  CHECK(ArticlesError("help/reset.md", "---\nid: reset\ntitle: Reset\n") ==
        "help/reset.md:3: front matter is not closed by a \"---\" line");
  CHECK(ArticlesError("a.md", "Just text, no heading.\n") ==
        "a.md:1: the article has no title (add \"title: ...\" to the front matter or start the "
        "text with a \"# \" heading)");
  CHECK(ArticlesError("a.md", "---\ntitle: T\ntags: security\n---\n") ==
        "a.md:3: \"tags\" must be a list of strings, like [a, b] or \"- a\" lines below the key "
        "(got a string)");
  CHECK(ArticlesError("a.md", "---\ntitle: T\npages:\n  - /a\n  nested: 1\n---\n") ==
        "a.md:5: \"pages\" must be a list of strings, like [a, b] or \"- a\" lines below the key "
        "(got a mapping)");
  CHECK(ArticlesError("a.md", "---\ntitle:\n  - one\n---\n") ==
        "a.md:2: \"title\" must be a string (got a list)");
  CHECK(ArticlesError("a.md", "---\ntitle: [x]\n---\n") ==
        "a.md:2: \"title\" must be a string (got a list)");
  CHECK(ArticlesError("a.md", "---\n\ntitle: \"open\n---\n") ==
        "a.md:3: \"title\": quoted string is not closed");
  CHECK(ArticlesError("a.md", "---\ntitle: \"a\\qb\"\n---\n") ==
        "a.md:2: \"title\": unknown escape \"\\q\" in a quoted string");
  CHECK(ArticlesError("a.md", "---\ntitle: 'a' b\n---\n") ==
        "a.md:2: \"title\": unexpected text after the closing quote");
  CHECK(ArticlesError("a.md", "---\ntitle: A\ntags: [a, b\n---\n") ==
        "a.md:3: \"tags\": inline list is not closed by \"]\"");
  CHECK(ArticlesError("a.md", "---\ntitle: A\ntags: [a, [b]]\n---\n") ==
        "a.md:3: \"tags\": lists inside lists are not supported");
  CHECK(ArticlesError("a.md", "---\ntitle: A\ntags:\n  - [b]\n---\n") ==
        "a.md:4: \"tags\" must hold only strings (got a list)");
  CHECK(ArticlesError("a.md", "---\ntitle: A\nTitle: B\n---\n") ==
        "a.md:3: \"title\" appears twice in the front matter (first on line 2)");
  CHECK(ArticlesError("a.md", "---\ntitle: A\nthis is prose\n---\n") ==
        "a.md:3: expected \"key: value\" in the front matter (got \"this is prose\")");
  CHECK(ArticlesError("a.md", "---\n  - x\n---\n") ==
        "a.md:2: expected \"key: value\" in the front matter (got \"- x\" with no key above it)");
  CHECK(ArticlesError("a.md", "---\ntitle: A\nid: \"a\\tb\"\n---\n") ==
        "a.md:3: \"id\" contains a control character (U+0009)");
  CHECK(ArticlesError("a.md", "---\ntitle: A\nid: " + std::string(201, 'x') + "\n---\n") ==
        "a.md:3: \"id\" is 201 bytes long (at most 200)");
  CHECK(ArticlesError("a.md", "---\ntitle: A\nid: ok\n---\nfine\n\xC3\x28\n") ==
        "a.md:6: not valid UTF-8 (byte 0xC3); save the file as UTF-8");
}

// ---------------------------------------------------------------------------------------------
// JSON and JSON Lines

TEST_CASE("import_formats: JSON array and single object") {
  const auto a = Articles("kb.json",
                          "[\n"
                          "  {\"id\": \"reset-2fa\", \"title\": \"Reset 2FA\",\n"
                          "   \"body\": \"Steps\", \"tags\": [\"security\"],\n"
                          "   \"pages\": [\"/settings\"], \"extra\": {\"deep\": [1, 2]}},\n"
                          "  {\"id\": \"export\", \"title\": \"Export\", \"body\": null}\n"
                          "]\n");
  REQUIRE(a.size() == 2);
  CHECK(a[0].id == "reset-2fa");
  CHECK(a[0].body == "Steps");
  CHECK(a[0].tags == Strings{"security"});
  CHECK(a[0].pages == Strings{"/settings"});
  CHECK(a[1].id == "export");
  CHECK(a[1].body.empty());

  const auto b = Articles("one.JSON", "\xEF\xBB\xBF{\"id\": \"x\", \"title\": \"X\"}");
  REQUIRE(b.size() == 1);
  CHECK(b[0].title == "X");
}

TEST_CASE("import_formats: JSON errors point at the field's line") {
  const std::string kb =
      "[\n"
      "  {\"id\": \"a\", \"title\": \"A\"},\n"
      "  {\n"
      "    \"id\": \"b\",\n"
      "    \"title\": \"B\",\n"
      "    \"tags\": 7\n"
      "  }\n"
      "]\n";
  CHECK(ArticlesError("kb.json", kb) ==
        "kb.json:6: \"tags\" must be a list of strings (got number)");
  CHECK(
      ArticlesError("kb.json", "[\n{\"id\": \"a\",\n \"title\": \"A\", \"pages\": [\"/a\", 3]}]") ==
      "kb.json:3: \"pages\" must hold only strings (got number)");
  CHECK(ArticlesError("kb.json", "[\n{\"id\": \"a\", \"title\": \"A\"},\n\n{\"id\": \"b\"}\n]") ==
        "kb.json:4: \"title\" is missing");
  CHECK(ArticlesError("kb.json", "[{\"id\": 5, \"title\": \"A\"}]") ==
        "kb.json:1: \"id\" must be a string (got number)");
  CHECK(ArticlesError("kb.json", "[\n{\"id\": \"\", \"title\": \"A\"}]") ==
        "kb.json:2: \"id\" is empty");
  CHECK(ArticlesError("kb.json", "[\n{\"id\": \"a\",\n \"title\": \"  \"}]") ==
        "kb.json:3: \"title\" is empty");
  CHECK(ArticlesError("kb.json", "[\n  {\"id\": \"a\", \"title\": \"A\"},\n  \"oops\"\n]") ==
        "kb.json:3: expected an article object (got string)");
  CHECK(ArticlesError("kb.json", "\n42\n") ==
        "kb.json:2: expected an article object or a list of them (got number)");
  CHECK(ArticlesError("kb.json",
                      "[\n{\"id\": \"a\", \"title\": \"A\"},\n{\"id\": \"a\", "
                      "\"title\": \"B\"}\n]") ==
        "kb.json:3: article id \"a\" appears twice in this file (first on line 2)");
  CHECK(ArticlesError("kb.json", "[]") == "kb.json: no articles in this file");
  CHECK(ArticlesError("kb.json", "  \n") == "kb.json: no articles in this file");

  const std::string bad = ArticlesError("kb.json", "[\n{\"id\": \"a\",\n \"title\": tru}\n]");
  CHECK(bad.rfind("kb.json:3: not valid JSON (", 0) == 0);
  CHECK(ArticlesError("kb.json", "[\n{\"id\": \"a\", \"title\": \"A\"}\n\n")
            .rfind("kb.json:2: not valid JSON (", 0) == 0);
  CHECK(ArticlesError("kb.json", "[{\"id\": \"a\", \"title\": \"A\", \"x\": " +
                                     std::string(100, '[') + std::string(100, ']') + "}]") ==
        "kb.json:1: JSON nested deeper than 64 levels");
}

TEST_CASE("import_formats: JSON Lines articles") {
  const auto a = Articles("kb.jsonl",
                          "{\"id\": \"a\", \"title\": \"A\", \"tags\": [\"t\"], \"unknown\": 1}\r\n"
                          "\r\n"
                          "   \n"
                          "{\"id\": \"b\", \"title\": \"B\", \"body\": \"x\\ny\"}\r\n");
  REQUIRE(a.size() == 2);
  CHECK(a[0].tags == Strings{"t"});
  CHECK(a[1].body == "x\ny");

  CHECK(ArticlesError("kb.jsonl", "{\"id\": \"a\", \"title\": \"A\"}\n\n{\"id\": \"b\"\n")
            .rfind("kb.jsonl:3: not valid JSON (", 0) == 0);
  CHECK(ArticlesError("kb.jsonl", "{\"id\": \"a\", \"title\": \"A\"}\n[1]\n") ==
        "kb.jsonl:2: expected a JSON object (got array)");
  CHECK(ArticlesError("kb.jsonl", "\n\n{\"id\": \"a\", \"title\": \"A\", \"tags\": \"x\"}\n") ==
        "kb.jsonl:3: \"tags\" must be a list of strings (got string)");
  CHECK(ArticlesError("kb.jsonl", "{\"id\": \"a\", \"title\": \"A\"}\n{\"id\": \"\xE2\x82\"}\n") ==
        "kb.jsonl:2: not valid UTF-8 (byte 0xE2); save the file as UTF-8");
}

// ---------------------------------------------------------------------------------------------
// CSV

TEST_CASE("import_formats: CSV with quoted commas, newlines, escaped quotes and CRLF") {
  const auto a = Articles("kb.csv",
                          "\xEF\xBB\xBF"
                          "Title, id ,notes,body,tags,pages\r\n"
                          "\"Billing, refunds\",refunds,ignored,\"Line one\r\nLine \"\"two\"\"\","
                          "billing|money; refunds ,/billing;/billing/:id\r\n"
                          "\r\n"
                          "Export,export,,,,\r\n"
                          "Padded,padded,,,,,,\r\n");
  REQUIRE(a.size() == 3);
  CHECK(a[0].id == "refunds");
  CHECK(a[0].title == "Billing, refunds");
  CHECK(a[0].body == "Line one\nLine \"two\"");
  CHECK(a[0].tags == Strings{"billing", "money", "refunds"});
  CHECK(a[0].pages == Strings{"/billing", "/billing/:id"});
  CHECK(a[1].id == "export");
  CHECK(a[1].body.empty());
  CHECK(a[1].tags.empty());
  CHECK(a[2].id == "padded");

  const auto b = Articles("kb.csv", "id,title\nx,X");  // no final newline, minimal columns
  REQUIRE(b.size() == 1);
  CHECK(b[0].title == "X");
}

TEST_CASE("import_formats: CSV errors name the file and line") {
  // Quoted newlines make physical lines and records differ; messages use physical lines.
  std::string kb = "id,title,body\n";
  for (int i = 0; i < 5; ++i) kb += "a" + std::to_string(i) + ",A,\"two\nlines\"\n";  // lines 2-11
  kb += "b,B,plain\n";                                                                // line 12
  kb += "c,C,\"x\r\n\r\ny\"\n";                                                       // lines 13-15
  CHECK(ArticlesError("kb.csv", kb + "d, ,body\n") == "kb.csv:16: \"title\" is empty");
  CHECK(ArticlesError("kb.csv", kb + ",D,body\n") == "kb.csv:16: \"id\" is empty");
  CHECK(ArticlesError("kb.csv", kb + "b,Again,\n") ==
        "kb.csv:16: article id \"b\" appears twice in this file (first on line 12)");
  CHECK(ArticlesError("kb.csv", kb + "d,D,\"never closed\nmore\n") ==
        "kb.csv:16: quoted field is not closed (a closing '\"' is missing)");
  CHECK(ArticlesError("kb.csv", kb + "d,\"D\"x,body\n") ==
        "kb.csv:16: unexpected text after a closing quote (inside a quoted field, write a quote "
        "as \"\")");
  CHECK(ArticlesError("kb.csv", kb + "d,Reset, then log in,body\n") ==
        "kb.csv:16: the row has 4 fields but the header has 3 (quote fields that contain commas)");
  CHECK(ArticlesError("kb.csv", kb + "d,D\n") ==
        "kb.csv:16: the row has 2 fields but the header has 3");
  CHECK(ArticlesError("kb.csv", "reset,Reset password\n") ==
        "kb.csv:1: the header has no \"id\" column (the first row names the columns: "
        "id,title,body,tags,pages)");
  CHECK(ArticlesError("kb.csv", "id,body\nx,y\n") ==
        "kb.csv:1: the header has no \"title\" column (the first row names the columns: "
        "id,title,body,tags,pages)");
  CHECK(ArticlesError("kb.csv", "id,title,ID\n") ==
        "kb.csv:1: the header names the \"id\" column twice");
  CHECK(ArticlesError("kb.csv", "id,title\n") == "kb.csv: no articles in this file");
  CHECK(ArticlesError("kb.csv", "") == "kb.csv: no articles in this file");
  CHECK(ArticlesError("kb.csv", "id,title\nok,Fine\n\xFF,bad\n") ==
        "kb.csv:3: not valid UTF-8 (byte 0xFF); save the file as UTF-8");
  CHECK(ArticlesError("kb.csv", std::string("\xFF\xFEi\0d\0", 6)) ==
        "kb.csv:1: the file is UTF-16; save it as UTF-8");
}

TEST_CASE("import_formats: unsupported extensions are refused clearly") {
  CHECK(ArticlesError("notes.txt", "hello") ==
        "notes.txt: cannot read articles from a \".txt\" file (use .md, .markdown, .json, .jsonl "
        "or .csv)");
  CHECK(ArticlesError("dir.v2/README", "hello") ==
        "dir.v2/README: cannot read articles from a file without an extension (use .md, "
        ".markdown, .json, .jsonl or .csv)");
  CHECK(HistoryError("history.json", "[]") ==
        "history.json: cannot read history from a \".json\" file (use .jsonl or .csv)");
}

// ---------------------------------------------------------------------------------------------
// History

TEST_CASE("import_formats: history from JSON Lines and CSV") {
  const auto j = Tickets("history.jsonl",
                         "{\"text\": \"I lost my phone\", \"article\": \"reset-2fa\", \"at\": 1}\n"
                         "\n"
                         "{\"article\": \"export\", \"text\": \"download everything\"}\n"
                         "{\"text\": \"is the canteen open\", \"article\": null}\n");
  REQUIRE(j.size() == 3);
  CHECK(j[0].text == "I lost my phone");
  CHECK(j[0].article == "reset-2fa");
  CHECK(j[0].line == 1);
  CHECK(j[1].article == "export");
  CHECK(j[1].line == 3);
  CHECK(j[2].text == "is the canteen open");  // a ticket no article answered
  CHECK(!j[2].article);

  const auto c = Tickets("history.csv",
                         "agent,article,text\r\n"
                         "sam,reset-2fa,\"lost phone, need in\"\r\n"
                         "kim,export,\"multi\nline\"\r\n"
                         "kim,export,again\r\n");
  REQUIRE(c.size() == 3);
  CHECK(c[0].text == "lost phone, need in");
  CHECK(c[0].line == 2);
  CHECK(c[1].text == "multi\nline");
  CHECK(c[2].line == 5);
}

TEST_CASE("import_formats: history errors name the file and line") {
  CHECK(HistoryError("h.jsonl", "{\"text\": \"a\", \"article\": \"x\"}\n{\"text\": \"b\"}\n") ==
        "h.jsonl:2: \"article\" is missing (null marks a ticket no article answered)");
  CHECK(HistoryError("h.jsonl", "\n{\"text\": \"b\", \"article\": 3}\n") ==
        "h.jsonl:2: \"article\" must be a string (got number)");
  CHECK(HistoryError("h.jsonl", "{\"text\": \" \", \"article\": \"x\"}\n") ==
        "h.jsonl:1: \"text\" is empty");
  CHECK(HistoryError("h.jsonl", "{\"text\": [\"b\"], \"article\": \"x\"}\n") ==
        "h.jsonl:1: \"text\" must be a string (got array)");
  CHECK(HistoryError("h.jsonl", "{\"text\": \"b\", \"article\": \"\"}\n") ==
        "h.jsonl:1: \"article\" is empty");
  CHECK(HistoryError("h.jsonl", "\"just a string\"\n") ==
        "h.jsonl:1: expected a JSON object (got string)");
  CHECK(HistoryError("h.jsonl", "\n\n") == "h.jsonl: no history tickets in this file");
  CHECK(HistoryError("h.csv", "text,article\nhello,x\n\"multi\nline\",\n") ==
        "h.csv:3: \"article\" is empty");
  CHECK(HistoryError("h.csv", "text,article\n,x\n") == "h.csv:2: \"text\" is empty");
  CHECK(HistoryError("h.csv", "text,resolution\nhello,x\n") ==
        "h.csv:1: the header has no \"article\" column (the first row names the columns: "
        "text,article)");
  CHECK(HistoryError("h.csv", "text,article\nhello,\"x\x01y\"\n") ==
        "h.csv:2: \"article\" contains a control character (U+0001)");
  CHECK(HistoryError("h.csv", "text,article\nhello,\"x\xC2\x85y\"\n") ==
        "h.csv:2: \"article\" contains a control character (U+0085)");
}

// ---------------------------------------------------------------------------------------------
// Garbage in: never a crash, always a result or a message naming the file

namespace {

// Random inputs built from the characters that steer each parser, with some arbitrary bytes and
// multi-byte characters, plus mutations of valid files.
std::string RandomInput(std::mt19937& rng, const std::vector<std::string>& seeds) {
  static const char* kPieces[] = {"{",
                                  "}",
                                  "[",
                                  "]",
                                  "\"",
                                  "'",
                                  ",",
                                  ":",
                                  ": ",
                                  "\n",
                                  "\r\n",
                                  "\r",
                                  " ",
                                  "  ",
                                  "\t",
                                  "-",
                                  "- ",
                                  "---\n",
                                  "#",
                                  "# ",
                                  "|",
                                  ";",
                                  "\\",
                                  "\\u",
                                  "\\u00e9",
                                  "\\x",
                                  "id",
                                  "title",
                                  "tags",
                                  "pages",
                                  "body",
                                  "text",
                                  "article",
                                  "\"id\"",
                                  "\"title\"",
                                  "\"tags\"",
                                  "null",
                                  "true",
                                  "1",
                                  "-0.5e9",
                                  "a",
                                  "Z",
                                  "\xC3\xA9",
                                  "\xE2\x82\xAC",
                                  "\xF0\x9F\x98\x80",
                                  "\xEF\xBB\xBF",
                                  "\xC2\x85",
                                  "\x01",
                                  "\x7F",
                                  "\"\"",
                                  "id,title,body,tags,pages\n",
                                  "text,article\n",
                                  ">",
                                  "[a, b]",
                                  "{\"id\":\"x\",\"title\":\"T\"}"};
  const size_t piece_count = sizeof(kPieces) / sizeof(kPieces[0]);
  std::string s;
  const unsigned mode = rng() % 4;
  if (mode == 0) {  // a valid file, mutated
    s = seeds[rng() % seeds.size()];
    const unsigned edits = 1 + rng() % 6;
    for (unsigned e = 0; e < edits; ++e) {
      const size_t at = s.empty() ? 0 : rng() % (s.size() + 1);
      switch (rng() % 3) {
        case 0:
          s.insert(at, kPieces[rng() % piece_count]);
          break;
        case 1:
          if (at < s.size()) s.erase(at, 1 + rng() % 4);
          break;
        default:
          if (at < s.size()) s[at] = static_cast<char>(rng());
          break;
      }
    }
    return s;
  }
  const size_t length = rng() % 60;
  for (size_t i = 0; i < length; ++i) {
    if (mode == 1 && rng() % 8 == 0) {
      s.push_back(static_cast<char>(rng()));
    } else {
      s += kPieces[rng() % piece_count];
    }
  }
  if (mode == 3) {  // fully arbitrary bytes
    s.clear();
    for (size_t i = 0; i < length; ++i) s.push_back(static_cast<char>(rng()));
  }
  return s;
}

template <typename Parse, typename CheckValue>
void Fuzz(const std::string& name, const std::vector<std::string>& seeds, uint32_t seed,
          Parse parse, CheckValue check_value) {
  std::mt19937 rng(seed);
  size_t ok = 0;
  for (int i = 0; i < 10000; ++i) {
    const std::string input = RandomInput(rng, seeds);
    auto r = parse(name, input);
    if (r.ok()) {
      ++ok;
      check_value(r.value());
    } else {
      const std::string& m = r.status().message();
      if (m.rfind(name + ":", 0) != 0) FAIL_CHECK("message does not name the file: " << m);
    }
  }
  CHECK(ok > 0);  // the mutated valid files must reach the success path too
}

void CheckArticles(const std::vector<Article>& articles) {
  CHECK_FALSE(articles.empty());
  for (const Article& a : articles) {
    if (a.id.empty() || a.id.size() > 200 || a.title.empty()) FAIL_CHECK("bad article " << a.id);
  }
}

void CheckTickets(const std::vector<HistoryTicket>& tickets) {
  CHECK_FALSE(tickets.empty());
  for (const HistoryTicket& t : tickets) {
    if (t.text.empty() || (t.article && t.article->empty()) || t.line == 0) {
      FAIL_CHECK("bad ticket " << t.text);
    }
  }
}

}  // namespace

TEST_CASE("import_formats: random garbage never crashes any parser") {
  const std::vector<std::string> md = {
      "---\nid: a\ntitle: \"A: b\"\ntags: [x, 'y']\npages:\n  - /p\n---\n# H\nbody\n",
      "# Title\ntext\n```\n# code\n```\n"};
  const std::vector<std::string> json = {
      "[{\"id\": \"a\", \"title\": \"A\", \"tags\": [\"t\"]},\n {\"id\": \"b\", \"title\": \"B\"}]",
      "{\"id\": \"a\", \"title\": \"A\", \"body\": \"\\u00e9\"}"};
  const std::vector<std::string> jsonl = {
      "{\"id\": \"a\", \"title\": \"A\", \"pages\": [\"/p\"]}\n{\"id\": \"b\", \"title\": "
      "\"B\"}\n"};
  const std::vector<std::string> csv = {"id,title,body,tags\na,\"A, b\",\"x\ny\",t|u\r\nb,B,,\n"};
  const std::vector<std::string> history_jsonl = {
      "{\"text\": \"lost phone\", \"article\": \"a\"}\n{\"text\": \"t\", \"article\": \"b\"}\n"};
  const std::vector<std::string> history_csv = {"text,article\n\"lost, phone\",a\nt,b\n"};

  Fuzz("kb.md", md, 1, ParseArticles, CheckArticles);
  Fuzz("kb.json", json, 2, ParseArticles, CheckArticles);
  Fuzz("kb.jsonl", jsonl, 3, ParseArticles, CheckArticles);
  Fuzz("kb.csv", csv, 4, ParseArticles, CheckArticles);
  Fuzz("history.jsonl", history_jsonl, 5, ParseHistory, CheckTickets);
  Fuzz("history.csv", history_csv, 6, ParseHistory, CheckTickets);
}

// ---------------------------------------------------------------------------------------------
// Files and folders

TEST_CASE("import_formats: a folder is read recursively in sorted order, later files win") {
  TempDir dir;
  dir.Write("a-first.jsonl",
            "{\"id\": \"reset\", \"title\": \"Old reset\"}\n"
            "{\"id\": \"export\", \"title\": \"Export\"}\n");
  dir.Write("b/reset.md", "---\ntitle: New reset\ntags: [security]\n---\nUpdated steps.\n");
  dir.Write("b/sub/billing.csv", "id,title\nbilling,Billing\n");
  dir.Write("c.json", "[{\"id\": \"export\", \"title\": \"Export v2\"}]");
  dir.Write("notes.txt", "not an article");
  dir.Write(".hidden/secret.md", "# Should not be read\n");
  dir.Write(".draft.md", "# Should not be read either\n");

  auto r = ReadArticlesPath(dir.path());
  INFO(r.status().message());
  REQUIRE(r.ok());
  const auto& a = r.value();
  REQUIRE(a.size() == 3);
  CHECK(a[0].id == "reset");
  CHECK(a[0].title == "New reset");
  CHECK(a[0].tags == Strings{"security"});
  CHECK(a[0].body == "Updated steps.");
  CHECK(a[1].id == "export");
  CHECK(a[1].title == "Export v2");
  CHECK(a[2].id == "billing");

  // A single file works too; a problem names the file inside the folder.
  auto one = ReadArticlesPath(dir.path() + "/c.json");
  REQUIRE(one.ok());
  CHECK(one.value().size() == 1);
  const std::string broken = dir.Write("b/sub/zz-broken.md", "---\ntitle: x\n# Oops\n");
  auto bad = ReadArticlesPath(dir.path());
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == broken + ":3: front matter is not closed by a \"---\" line");
}

TEST_CASE("import_formats: folder and path errors") {
  TempDir dir;
  dir.Write("readme.txt", "nothing to import");
  auto empty = ReadArticlesPath(dir.path());
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.status().message() ==
        dir.path() + ": no .md, .markdown, .json, .jsonl or .csv files in this folder");
  auto missing = ReadArticlesPath(dir.path() + "/nope");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message() == dir.path() + "/nope: no such file or folder");
  auto txt = ReadArticlesPath(dir.path() + "/readme.txt");
  REQUIRE_FALSE(txt.ok());
  CHECK(txt.status().message().find("cannot read articles from a \".txt\" file") !=
        std::string::npos);
  auto history = ReadHistoryPath(dir.path());
  REQUIRE_FALSE(history.ok());
  CHECK(history.status().message() == dir.path() + ": no .jsonl or .csv files in this folder");
}

TEST_CASE("import_formats: history folder keeps every ticket in file order") {
  TempDir dir;
  dir.Write("2024/b.csv", "text,article\nsecond,y\n");
  dir.Write("2024/a.jsonl", "{\"text\": \"first\", \"article\": \"x\"}\n");
  dir.Write("2025.jsonl", "\n{\"text\": \"third\", \"article\": \"x\"}\n");
  dir.Write("kb.md", "# ignored for history\n");
  auto r = ReadHistoryPath(dir.path());
  INFO(r.status().message());
  REQUIRE(r.ok());
  REQUIRE(r.value().size() == 3);
  CHECK(r.value()[0].text == "first");
  CHECK(r.value()[1].text == "second");
  CHECK(r.value()[2].text == "third");
  CHECK(r.value()[2].line == 2);
}
