#pragma once
// Reading help articles and resolved tickets from the files operators already have: Markdown with
// front matter, JSON, JSON Lines and CSV. Every problem is a message "name:line: sentence" naming
// the file and the line to fix; nothing throws.
//
// Rules shared by all formats: text is UTF-8 (a leading byte-order mark is skipped); an article
// needs an id (non-empty, at most 200 bytes, no control characters) and a non-empty title; an id
// used twice in one file is an error; unknown fields and columns are ignored.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/article.h"
#include "engine/status.h"

namespace loopwise {

// A historical ticket: the customer's words and the id of the article that resolved them, or none
// when no article answered it (JSON Lines' "article": null): a question out of the knowledge
// base's scope, which teaches the engine when to decline.
struct HistoryTicket {
  std::string text;
  std::optional<std::string> article;
  size_t line = 0;  // where the ticket starts in the file it came from
};

// The articles in one file's bytes; the format is chosen by the extension of `name`, which is also
// what messages call the file.
// - .md/.markdown: one article. Optional front matter between a first line "---" and the next
//   "---" line, with keys id, title, tags and pages (other keys ignored). Values are YAML scalars
//   (plain, 'single' or "double" quoted), inline lists [a, "b"] or "- a" lines below the key. The
//   body is the Markdown after the front matter; id defaults to the file name without extension,
//   title to the first "# " heading.
// - .json: an array of article objects, or one object. .jsonl: one object per line; blank lines
//   are skipped. Objects have "id", "title", optional "body", "tags", "pages" (DESIGN.md,
//   kb.jsonl).
// - .csv: RFC 4180 (quoted fields, "" for a quote, newlines inside quotes, CRLF or LF). The first
//   row names the columns: id and title, optionally body, tags, pages, in any order; tags and pages
//   hold several values separated by '|' or ';'. Fields are trimmed.
// Fails on an unsupported extension, a file with no articles, or any malformed content.
Result<std::vector<Article>> ParseArticles(const std::string& name, std::string_view bytes);

// The name an HTTP request body goes by (with the extension its Content-Type stands for): it is
// no file's name, so a Markdown article sent over HTTP must give its id in its front matter.
inline constexpr const char* kRequestBody = "request body";

enum class ArticleFormat { kMarkdown, kJson, kJsonLines, kCsv };
// The same with the format given, whatever `name` ends with (e.g. a kb.jsonl passed under any
// name).
Result<std::vector<Article>> ParseArticlesAs(const std::string& name, std::string_view bytes,
                                             ArticleFormat format);

// History tickets from one file's bytes: .jsonl with {"text", "article"} objects, or .csv with a
// header naming text and article columns. Both fields must be non-empty; `article` must be a valid
// id (whether it names a known article is for the caller to check against its knowledge base).
Result<std::vector<HistoryTicket>> ParseHistory(const std::string& name, std::string_view bytes);

// Articles from a file, or from every .md/.markdown/.json/.jsonl/.csv file below a folder, read in
// sorted path order; hidden files and folders (names starting with '.') are skipped. When files
// share an id the later file wins, so importing a folder again updates it. Fails on the first
// unreadable or malformed file, or on a folder with no article files.
Result<std::vector<Article>> ReadArticlesPath(const std::string& path);

// History tickets from a file, or from every .jsonl/.csv file below a folder in sorted path order,
// all of them in file order.
Result<std::vector<HistoryTicket>> ReadHistoryPath(const std::string& path);

}  // namespace loopwise
