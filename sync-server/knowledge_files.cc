#include "knowledge_files.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "import_formats.h"

namespace loopwise {
namespace {

using nlohmann::json;

const char* TypeName(const json& j) {
  return j.type_name();
}

// Calls on_line(object, line number) for each non-blank line; stops at the first error. With
// `one_per_line` (a file whose lines are answered line for line) only trailing lines may be blank.
template <typename OnLine>
Status ForEachJsonLine(const std::string& path, bool one_per_line, OnLine on_line) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error(path + ": cannot open (" + std::strerror(errno) + ")");
  std::string line;
  size_t number = 0, blank = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) {
      if (!blank) blank = number;
      continue;
    }
    if (one_per_line && blank) {
      return Status::Error(path + ":" + std::to_string(blank) +
                           ": blank line (each line is a question, answered line for line)");
    }
    json j = json::parse(line, nullptr, false);
    const std::string where = path + ":" + std::to_string(number) + ": ";
    if (j.is_discarded()) return Status::Error(where + "not valid JSON");
    if (!j.is_object())
      return Status::Error(where + "expected a JSON object (got " + TypeName(j) + ")");
    Status s = on_line(j, where, number);
    if (!s.ok()) return s;
  }
  if (in.bad()) return Status::Error(path + ": read failed");
  return Status::Ok();
}

Status GetString(const json& j, const char* key, bool required, const std::string& where,
                 std::string* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return required ? Status::Error(where + "\"" + key + "\" is missing") : Status::Ok();
  }
  if (!it->is_string()) {
    return Status::Error(where + "\"" + key + "\" must be a string (got " + TypeName(*it) + ")");
  }
  *out = it->get<std::string>();
  return Status::Ok();
}

}  // namespace

std::unordered_map<std::string, uint32_t> ArticleIndex(const std::vector<Article>& articles) {
  std::unordered_map<std::string, uint32_t> index;
  for (uint32_t i = 0; i < articles.size(); ++i) index.emplace(articles[i].id, i);
  return index;
}

namespace {

// `index` is ArticleIndex of the knowledge base the queries must name articles of. A test file's
// lines are answered `one_per_line`: blank lines within it and an empty file are errors.
Result<std::vector<LabeledQuery>> ReadQueriesJsonl(
    const std::string& path, const std::unordered_map<std::string, uint32_t>& index,
    bool one_per_line) {
  std::vector<LabeledQuery> queries;
  Status s = ForEachJsonLine(
      path, one_per_line, [&](const json& j, const std::string& where, size_t line) {
        LabeledQuery q;
        q.line = line;
        Status st = GetString(j, "text", true, where, &q.text);
        if (!st.ok()) return st;
        auto it = j.find("article");
        if (it == j.end()) {
          return Status::Error(where +
                               "\"article\" is missing (null marks a question no article answers)");
        } else if (!it->is_null() && !it->is_string()) {
          return Status::Error(where + "\"article\" must be a string or null (got " +
                               TypeName(*it) + ")");
        } else if (it->is_string()) {
          q.article = it->get<std::string>();
          if (!index.count(*q.article)) {
            return Status::Error(where + "unknown article \"" + *q.article +
                                 "\" (not in the knowledge base)");
          }
        }
        queries.push_back(std::move(q));
        return Status::Ok();
      });
  if (!s.ok()) return s;
  if (one_per_line && queries.empty()) return Status::Error(path + ": no questions");
  return queries;
}

}  // namespace

Result<std::vector<Article>> ReadArticlesJsonl(const std::string& path) {
  auto bytes = cli::ReadFile(path);
  if (!bytes.ok()) return bytes.status();
  return ParseArticlesAs(path, bytes.value(), ArticleFormat::kJsonLines);
}

Result<std::vector<Exemplar>> ReadHistoryJsonl(const std::string& path,
                                               const std::vector<Article>& articles) {
  const auto index = ArticleIndex(articles);
  auto queries = ReadQueriesJsonl(path, index, false);
  if (!queries.ok()) return queries.status();
  std::vector<Exemplar> out;
  for (const LabeledQuery& q : queries.value()) {
    out.push_back({q.text, q.article ? index.at(*q.article) : kNoArticle, 1.0f});
  }
  return out;
}

Result<std::vector<LabeledQuery>> ReadQuestionsJsonl(const std::string& path,
                                                     const std::vector<Article>& articles) {
  return ReadQueriesJsonl(path, ArticleIndex(articles), true);
}

}  // namespace loopwise
