#include "exemplar_learner.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "customer_identity.h"
#include "engine/tokenizer.h"

namespace loopwise {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

float Dot(const std::vector<float>& a, const std::vector<float>& b) {
  float s = 0;
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

bool WasShown(const Observation& o, const std::string& article) {
  return std::find(o.shown.begin(), o.shown.end(), article) != o.shown.end();
}

nlohmann::json ObservationJson(const Observation& o) {
  nlohmann::json j = {{"text", o.text},
                      {"route", o.route},
                      {"segments", o.segments},
                      {"bundle", o.bundle},
                      {"shown", o.shown},
                      {"resolved", o.resolved},
                      {"not_helpful", o.not_helpful},
                      {"escalated", o.escalated},
                      {"agent", o.agent},
                      {"confidence", o.confidence},
                      {"unrankable", o.unrankable},
                      {"overruled", o.overruled},
                      {"article", o.article},
                      {"note", o.note}};
  j["agent_article"] = o.agent_article ? nlohmann::json(*o.agent_article) : nlohmann::json(nullptr);
  return j;
}

}  // namespace

Observation ObservationOf(const LearningOutcome& row) {
  Observation o;
  o.query_id = row.query_id;
  o.session = row.session;
  o.ts = row.ts;
  o.status = row.status;
  const nlohmann::json j = nlohmann::json::parse(row.data_json, nullptr, false);
  if (!j.is_object()) return o;
  auto str = [&](const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto list = [&](const char* key) {
    std::vector<std::string> out;
    auto it = j.find(key);
    if (it != j.end() && it->is_array()) {
      for (const auto& v : *it) {
        if (v.is_string()) out.push_back(v.get<std::string>());
      }
    }
    return out;
  };
  o.text = str("text");
  o.route = str("route");
  o.segments = list("segments");
  o.bundle = str("bundle");
  o.shown = list("shown");
  o.resolved = str("resolved");
  o.not_helpful = list("not_helpful");
  o.escalated = j.value("escalated", false);
  o.confidence = j.value("confidence", -1.0);
  o.agent = j.value("agent", false);
  o.unrankable = j.value("unrankable", false);
  o.overruled = j.value("overruled", false);
  if (auto it = j.find("agent_article"); it != j.end() && it->is_string()) {
    o.agent_article = it->get<std::string>();
  }
  o.article = str("article");
  o.note = str("note");
  return o;
}

LearningOutcome OutcomeOf(const Observation& o) {
  return {o.query_id, o.session, o.ts, o.status, ObservationJson(o).dump()};
}

Label LabelOf(const Observation& o, const std::vector<LearningRule>& rules) {
  const std::string text = Lower(o.text);
  for (const LearningRule& r : rules) {
    if (r.kind == "pin" && !r.pattern.empty() && text.find(Lower(r.pattern)) != std::string::npos) {
      return {r.article, true};
    }
  }
  if (o.agent) return {o.agent_article.value_or(""), true};
  return {o.resolved, false};
}

std::set<std::string> ForgedSessions(const std::vector<Observation>& observations,
                                     const std::vector<LearningRule>& rules) {
  std::set<std::string> forged;
  for (const Observation& o : observations) {
    const Label label = LabelOf(o, rules);
    if (!label.article.empty() && !label.trusted && (!WasShown(o, label.article) || o.unrankable)) {
      forged.insert(o.session);
    }
  }
  return forged;
}

bool Unverified(const Observation& o) {
  return !o.agent && !IsCustomerSession(o.session);
}

std::set<std::string> BurstSessions(const std::vector<Observation>& observations,
                                    const std::vector<LearningRule>& rules) {
  std::unordered_map<std::string, int> labelled;
  std::set<std::string> bursts;
  for (const Observation& o : observations) {
    const Label label = LabelOf(o, rules);
    if (!label.article.empty() && !label.trusted && ++labelled[o.session] > kBurstQuestions) {
      bursts.insert(o.session);
    }
  }
  return bursts;
}

Selection SelectExemplars(std::vector<Observation>* observations,
                          const std::vector<std::vector<float>>& vectors,
                          const std::vector<uint8_t>& held_out,
                          const std::vector<LearningRule>& rules, const GuardrailOptions& options) {
  std::vector<Observation>& obs = *observations;
  const size_t n = obs.size();
  std::set<std::string> blocked;
  for (const LearningRule& r : rules) {
    if (r.kind == "block") blocked.insert(r.article);
  }

  std::vector<Label> labels(n);
  std::unordered_map<std::string, int> labelled_per_session;  // customers' labels only
  std::unordered_map<std::string, size_t> accepted_per_article;
  const std::set<std::string> forged = ForgedSessions(obs, rules);
  for (size_t i = 0; i < n; ++i) {
    labels[i] = LabelOf(obs[i], rules);
    if (!labels[i].article.empty() && !labels[i].trusted) ++labelled_per_session[obs[i].session];
    if (obs[i].status == "accepted") ++accepted_per_article[obs[i].article];
  }
  // A burst: a session that labelled more questions than a customer with a problem does.
  auto bursty = [&](size_t i) {
    return !labels[i].trusted && labelled_per_session[obs[i].session] > kBurstQuestions;
  };
  // A customer's label or "not helpful" the site does not take, not being a verified customer's.
  auto unverified = [&](size_t i) {
    return options.verified_only && !labels[i].trusted && Unverified(obs[i]);
  };
  // A session's say: one in all, shared among the questions it labelled (an agent's label: one).
  auto say = [&](size_t i) {
    const int labelled = labels[i].trusted ? 0 : labelled_per_session[obs[i].session];
    return 1.0 / std::max(1, labelled);
  };
  // Who a label speaks for: its session, or the agent's resolution of one question.
  auto voter = [&](size_t i) {
    return labels[i].trusted ? "agent:" + obs[i].query_id : obs[i].session;
  };

  Selection out;
  std::vector<size_t> order;
  for (size_t i = 0; i < n; ++i) {
    if (obs[i].status == "open" && !(i < held_out.size() && held_out[i])) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return obs[a].ts != obs[b].ts ? obs[a].ts < obs[b].ts : obs[a].query_id < obs[b].query_id;
  });

  // Accepted exemplars per article (earlier runs' and this run's), for merging near-duplicates.
  std::map<std::string, std::vector<size_t>> exemplars_of;
  for (size_t i = 0; i < n; ++i) {
    if (obs[i].status == "accepted" || obs[i].status == "reference") {
      exemplars_of[obs[i].article].push_back(i);
    }
  }
  std::unordered_map<size_t, size_t> decision_of;  // observation -> index in out.accepted

  auto reject = [&](size_t i, std::string note) {
    obs[i].status = "rejected";
    obs[i].note = std::move(note);
    out.rejected.push_back(i);
  };

  for (size_t c : order) {
    const Label& label = labels[c];
    if (label.article.empty()) {
      // Nothing to learn from yet; an escalated question with no agent label may still get one.
      continue;
    }
    if (Tokenize(obs[c].text).empty()) {
      // No words yet (a helpdesk's resolution before the widget's question): it may get them.
      obs[c].note = "waiting for the question's words";
      continue;
    }
    if (blocked.count(label.article)) {
      reject(c, "the operator blocked article \"" + label.article + "\"");
      continue;
    }
    const bool confirms = !obs[c].shown.empty() && obs[c].shown[0] == label.article;
    if (!label.trusted && !WasShown(obs[c], label.article)) {
      // The widget only lets a customer resolve with an article it showed.
      reject(c, "marked resolved with an article that was not shown");
      continue;
    }
    if (!label.trusted && obs[c].unrankable) {
      reject(c, "marked resolved with an article the answering bundle could not have shown");
      continue;
    }
    if (!label.trusted && forged.count(obs[c].session)) {
      reject(c, "its session resolved another question with an article it was not shown");
      continue;
    }
    if (unverified(c)) {
      reject(c, "not a verified customer's: the site learns only from signed-in customers");
      continue;
    }
    if (bursty(c)) {
      reject(c,
             "its session labelled " + std::to_string(labelled_per_session[obs[c].session]) +
                 " questions, more than a customer with a problem does: a burst teaches nothing");
      continue;
    }
    if (!label.trusted) {
      // Distinct sessions among the question's nearest labelled neighbours that agree, and
      // that disagree (another article, or this one found not helpful).
      std::vector<std::pair<float, size_t>> near;
      for (size_t j = 0; j < n; ++j) {
        if (j == c) continue;
        const bool informative = !labels[j].article.empty() || !obs[j].not_helpful.empty();
        if (!informative || bursty(j) || unverified(j) ||
            (!labels[j].trusted && forged.count(obs[j].session))) {
          continue;
        }
        const float sim = Dot(vectors[c], vectors[j]);
        if (sim >= options.near_cosine) near.emplace_back(sim, j);
      }
      // The nearest `neighbours` voters: a session with many questions around this one fills
      // one place, not many.
      std::sort(near.begin(), near.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
      });
      std::map<std::string, double> agree{{obs[c].session, say(c)}}, disagree;
      std::set<std::string> voters;
      for (const auto& [sim, j] : near) {
        const std::string who = voter(j);
        if (who == obs[c].session) continue;  // its own say is counted once, above
        if (!voters.count(who) && voters.size() == options.neighbours) break;
        voters.insert(who);
        const std::string& other = labels[j].article;
        if (obs[j].overruled) {
          // The operator said its article does not answer it: a voice against that article only.
          if (other == label.article) disagree[who] = std::max(disagree[who], say(j));
        } else if (other == label.article) {
          agree[who] = std::max(agree[who], say(j));
        } else if (!other.empty() || std::find(obs[j].not_helpful.begin(), obs[j].not_helpful.end(),
                                               label.article) != obs[j].not_helpful.end()) {
          disagree[who] = std::max(disagree[who], say(j));
        }
      }
      double yes = 0, no = 0;
      for (const auto& [who, v] : agree) yes += v;
      for (const auto& [who, v] : disagree) no += v;
      if (no >= std::max<double>(options.min_sessions, 2 * yes)) {
        reject(c, "contradicted by " + std::to_string(std::lround(no)) + " sessions around it");
        continue;
      }
      // A confirmation takes one session's full say, a new association `min_sessions`' and
      // more than disagree.
      const double needed = confirms ? 1.0 : options.min_sessions;
      if (yes < needed - 1e-9 || (!confirms && yes <= no)) {
        char so_far[32];
        std::snprintf(so_far, sizeof so_far, "%.*f", yes == std::floor(yes) ? 0 : 1, yes);
        obs[c].note = "waiting for " + std::to_string(static_cast<int>(needed)) +
                      (needed == 1 ? " session" : " sessions") + " to agree (" + so_far +
                      " so far)";
        out.waiting.push_back(c);
        continue;
      }
    }

    // Merge into an almost identical exemplar of the same article.
    std::vector<size_t>& same = exemplars_of[label.article];
    size_t twin = n;
    float best = options.duplicate_cosine;
    for (size_t j : same) {
      const float s = Dot(vectors[c], vectors[j]);
      if (s >= best) {
        best = s;
        twin = j;
      }
    }
    const float weight = static_cast<float>(say(c));  // its session's say, as an exemplar
    if (twin < n) {
      obs[c].status = "merged";
      obs[c].article = label.article;
      obs[c].note = "merged into a near-identical exemplar";
      if (auto it = decision_of.find(twin); it != decision_of.end()) {
        float& w = out.accepted[it->second].weight;
        w = std::min(options.max_weight, w + weight);
      }
      out.merged.push_back(c);
      continue;
    }
    if (accepted_per_article[label.article] >= options.max_exemplars_per_article) {
      reject(c, "article \"" + label.article + "\" already has " +
                    std::to_string(options.max_exemplars_per_article) + " learned exemplars");
      continue;
    }
    obs[c].status = "accepted";
    obs[c].article = label.article;
    obs[c].note = label.trusted ? "labelled by the operator's side"
                                : (confirms ? "confirms the first answer" : "sessions agree");
    ++accepted_per_article[label.article];
    same.push_back(c);
    decision_of[c] = out.accepted.size();
    out.accepted.push_back({c, label.article, weight, label.trusted});
  }
  return out;
}

}  // namespace loopwise
