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

// One line per ticket, {"text": ..., "article": id, or null when no article answered it (an
// exemplar with kNoArticle)}: the exemplars of `articles` that resolved tickets make. A missing or
// unknown article is an error naming the file and line.
Result<std::vector<Exemplar>> ReadHistoryJsonl(const std::string& path,
                                               const std::vector<Article>& articles);

// One line per question, {"text": ..., "article": id or null (no article answers it)}. An article
// id that `articles` lacks is an error naming the file and line.
Result<std::vector<LabeledQuery>> ReadQuestionsJsonl(const std::string& path,
                                                     const std::vector<Article>& articles);

std::unordered_map<std::string, uint32_t> ArticleIndex(const std::vector<Article>& articles);

}  // namespace loopwise
