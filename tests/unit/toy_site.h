#pragma once
// A small site to build bundles from in tests: a handful of articles, tickets, and a word-vector
// store made on the spot (random but fixed vectors, related words placed near each other).

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/article.h"
#include "engine/byte_io.h"
#include "engine/word_vectors.h"

namespace loopwise::testing {

inline WordVectors ToyVectors() {
  const std::vector<std::vector<std::string>> groups = {
      {"the", "a", "to", "my", "i", "is", "how", "do", "can", "not", "what", "where"},
      {"password", "reset", "forgot", "login", "sign", "log", "locked", "account"},
      {"invoice", "billing", "charge", "refund", "payment", "card", "paid", "money"},
      {"two", "factor", "authentication", "2fa", "code", "authenticator", "phone", "security"},
      {"export", "csv", "download", "data", "report", "file", "spreadsheet"},
      {"delete", "remove", "close", "cancel", "project", "team", "member", "invite"},
  };
  const size_t dim = 16;
  std::mt19937 rng(11);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  std::vector<std::string> words;
  std::vector<float> rows;
  for (const auto& group : groups) {
    std::vector<float> center(dim);
    for (float& x : center) x = noise(rng);
    for (const auto& w : group) {
      words.push_back(w);
      for (size_t i = 0; i < dim; ++i) rows.push_back(center[i] + 0.3f * noise(rng));
    }
  }
  ByteWriter out;
  out.raw("LWVEC1\0\0", 8);
  out.u32(static_cast<uint32_t>(words.size()));
  out.u32(static_cast<uint32_t>(dim));
  std::vector<int8_t> codes;
  for (size_t r = 0; r < words.size(); ++r) {
    float max_abs = 0;
    for (size_t i = 0; i < dim; ++i) max_abs = std::max(max_abs, std::fabs(rows[r * dim + i]));
    out.f32(max_abs / 127);
    for (size_t i = 0; i < dim; ++i) {
      codes.push_back(static_cast<int8_t>(std::lround(rows[r * dim + i] / (max_abs / 127))));
    }
  }
  out.raw(codes.data(), codes.size());
  std::string joined;
  for (const auto& w : words) joined += (joined.empty() ? "" : "\n") + w;
  out.u32(static_cast<uint32_t>(joined.size()));
  out.raw(joined.data(), joined.size());
  return WordVectors::Parse(out.bytes().data(), out.bytes().size()).take();
}

inline std::vector<Article> ToyArticles() {
  return {
      {"reset-password",
       "Reset your password",
       "Use **Forgot password** on the sign-in page.",
       {"account"},
       {"/login"}},
      {"refund",
       "Ask for a refund",
       "Refunds go back to the card that paid.",
       {"billing"},
       {"/billing"}},
      {"reset-2fa",
       "Reset two-factor authentication",
       "Lost your authenticator phone? Use a code.",
       {"security"},
       {"/settings/security"}},
      {"export-data",
       "Export your data as CSV",
       "Reports download as a spreadsheet file.",
       {},
       {"/projects/:id/reports"}},
      {"delete-project",
       "Delete a project",
       "Only owners can remove a project.",
       {},
       {"/projects/:id/settings"}},
  };
}

inline std::vector<Exemplar> ToyHistory() {
  const std::vector<std::pair<const char*, uint32_t>> tickets = {
      {"i forgot my password", 0},
      {"can not log in to my account", 0},
      {"locked out of my account", 0},
      {"how do i reset my login", 0},
      {"i want my money back", 1},
      {"refund the charge on my card", 1},
      {"wrong charge on invoice", 1},
      {"billing refund please", 1},
      {"lost my authenticator phone", 2},
      {"2fa code not working", 2},
      {"reset two factor", 2},
      {"security code never arrives", 2},
      {"download a csv report", 3},
      {"export my data", 3},
      {"get a spreadsheet of my data", 3},
      {"export file", 3},
      {"remove a project", 4},
      {"delete my project", 4},
      {"how to close a project", 4},
      {"cancel the project", 4},
  };
  std::vector<Exemplar> out;
  for (const auto& [text, article] : tickets) out.push_back({text, article, 1.0f});
  return out;
}

}  // namespace loopwise::testing
