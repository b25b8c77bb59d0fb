#pragma once
// The knowledge a site answers from: help articles and past tickets resolved by one of them.

#include <cstdint>
#include <string>
#include <vector>

namespace loopwise {

struct Article {
  std::string id;  // stable, operator-chosen ("reset-2fa")
  std::string title;
  std::string body;  // Markdown or plain text; may be empty
  std::vector<std::string> tags;
  std::vector<std::string> pages;  // routes the article belongs to ("/settings/security")
};

// Marks a ticket no article answered: a question out of the knowledge base's scope, learned from
// only to tell when to decline.
constexpr uint32_t kNoArticle = UINT32_MAX;

// A customer's words and the article that resolved them: a historical ticket, or later a learned
// exemplar. `article` indexes the article list it was built with, or is kNoArticle.
struct Exemplar {
  std::string text;
  uint32_t article = 0;
  float weight = 1.0f;
};

}  // namespace loopwise
