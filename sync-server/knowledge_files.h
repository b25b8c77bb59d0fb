#pragma once
// Reading a site's knowledge from files in the contract formats (DESIGN.md, "Data formats"):
// kb.jsonl, history.jsonl, test.jsonl. Every problem names the file and line.

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/article.h"
#include "engine/status.h"

namespace loopwise {

struct LabeledQuery {
  std::string text;
  std::optional<std::string> article;  // nullopt: no article answers it
  size_t line = 0;                     // in the file it came from
};

Result<std::vector<Article>> ReadArticlesJsonl(const std::string& path);

// One line per query, {"text": ..., "article": id or null}. With allow_null false, a null or
// missing article is an error (history must name the article that resolved it).
Result<std::vector<LabeledQuery>> ReadQueriesJsonl(const std::string& path, bool allow_null);

// Maps labelled queries to exemplars of `articles`; an unknown article id is an error naming the
// file and line.
Result<std::vector<Exemplar>> ToExemplars(const std::vector<LabeledQuery>& queries,
                                          const std::vector<Article>& articles,
                                          const std::string& path);

std::unordered_map<std::string, uint32_t> ArticleIndex(const std::vector<Article>& articles);

}  // namespace loopwise
