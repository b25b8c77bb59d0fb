#pragma once
// Cross-interaction learning with guardrails: which customers' questions become exemplars of which
// article. Pure: observations and their sentence vectors in, decisions out; the learning pipeline
// (learning.h) reads the observations from the store and publishes what is accepted.
//
// An observation is one question (the signals sharing a query_id) with what became of it. Its
// label is, in order of trust: an operator's pin matching its text; the article a helpdesk agent
// resolved it with (trusted as the operator's own word); the article the customer marked resolved.
// The guardrails:
// - blocked articles never receive learned exemplars, whatever the label says;
// - a customer can only resolve with an article the widget showed; any other label is refused,
//   and a session that sent one is no evidence at all (no widget sends that: it is forged);
// - a session's say is one in all: with n labelled questions, each has 1/n of a say wherever
//   agreement is counted and 1/n weight as an exemplar;
// - a customer's label that confirms the answer shown first is accepted once a full session's say
//   backs it (a customer who labelled nothing else, or the neighbourhood making up the rest: the
//   labelled questions of the nearest `neighbours` other sessions) unless the neighbourhood
//   strongly contradicts it;
// - a customer's label that makes a new association (an article the engine did not rank first)
//   applies only once at least `min_sessions` sessions' say in the neighbourhood agrees and
//   outweighs the sessions that resolved those questions otherwise or found the article not
//   helpful; until then it waits, and it is rejected once strongly contradicted;
// - a burst (a session with more than `kBurstQuestions` labelled questions, more than a customer
//   with a problem labels) teaches nothing and takes no part in agreement, so a few sessions
//   cannot talk the site into anything however much they send;
// - on a site that requires verified customers, the others' labels teach nothing and take no
//   part in agreement (customer_identity.h);
// - a question all but identical (cosine >= `duplicate_cosine`) to an accepted exemplar of the same
//   article is merged into it (the kept one gains its weight, up to `max_weight`), and each
//   article keeps at most `max_exemplars_per_article` learned exemplars.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "store.h"

namespace loopwise {

// More labelled questions than a customer with a problem asks in one session.
inline constexpr int kBurstQuestions = 3;

struct GuardrailOptions {
  int min_sessions = 3;
  // The neighbourhood of a question: its `neighbours` nearest labelled questions with at least
  // `near_cosine` similarity.
  float near_cosine = 0.7f;
  size_t neighbours = 10;
  float duplicate_cosine = 0.99f;
  float max_weight = 3.0f;
  size_t max_exemplars_per_article = 2000;
  // The site's identity is "required" (customer_identity.h): a customer's label or "not helpful"
  // counts only from a verified customer's session.
  bool verified_only = false;
};

// One question and its outcome, joined from the signal log and the helpdesk resolutions.
struct Observation {
  std::string query_id;
  std::string session;
  int64_t ts = 0;
  std::string text;
  std::string route;                  // folded
  std::vector<std::string> segments;  // the customer's segments (SegmentKey), from the context
  std::string bundle;                 // the version that answered it
  std::vector<std::string> shown;
  std::string resolved;  // the article the customer marked resolved; empty: none
  std::vector<std::string> not_helpful;
  bool escalated = false;
  double confidence = -1;  // the engine's confidence in its answer; -1: not reported
  // The customer resolved with an article the bundle that answered does not rank among the ten a
  // widget may show for this question: the "shown" list was made up.
  bool unrankable = false;
  bool agent = false;                        // a helpdesk agent resolved it ...
  std::optional<std::string> agent_article;  // ... with this article (nullopt: no article fits)
  // open, accepted, merged, rejected; "reference" for the site's history tickets, which take part
  // as evidence (and merge targets) only
  std::string status = "open";
  // An operator rejected or reverted the change this question made (status "rejected"): from
  // then on it speaks against its label's article around it, not for it.
  bool overruled = false;
  std::string article;  // the learned label once accepted
  std::string note;     // why it was decided so
};

// An observation as the store keeps it (LearningOutcome::data_json is its JSON), and back.
Observation ObservationOf(const LearningOutcome& row);
LearningOutcome OutcomeOf(const Observation& o);

// The label an observation carries (empty: none) and whether it comes from the operator's side.
struct Label {
  std::string article;
  bool trusted = false;
};
Label LabelOf(const Observation& o, const std::vector<LearningRule>& rules);

// Sessions that marked a question resolved with an article it was not shown (or, by its own
// account, was shown but the answering bundle could not have shown: `unrankable`). No widget sends
// that, so none of their questions is evidence for or against anything, nor a replay question.
std::set<std::string> ForgedSessions(const std::vector<Observation>& observations,
                                     const std::vector<LearningRule>& rules);

// Sessions whose customers' labels cover more than kBurstQuestions questions: bursts, whose
// labels teach nothing (and are no replay questions).
std::set<std::string> BurstSessions(const std::vector<Observation>& observations,
                                    const std::vector<LearningRule>& rules);

// A customer's question from a session the server did not make for a verified customer (an
// agent's resolution is never that): what a site that requires verified customers learns nothing
// from.
bool Unverified(const Observation& o);

// What became of the open observations this time.
struct ExemplarDecision {
  size_t observation = 0;  // index into the observations
  std::string article;
  float weight = 1.0f;
  bool trusted = false;
};
struct Selection {
  std::vector<ExemplarDecision> accepted;  // new exemplars
  std::vector<size_t> merged;              // folded into an accepted exemplar
  std::vector<size_t> rejected;
  std::vector<size_t> waiting;  // new associations still short of agreement
};

// Decides every observation whose status is "open" and whose index is not in `held_out`; the
// others (accepted, merged, rejected, held out) count as evidence only. `vectors[i]` is the unit
// sentence vector of observations[i].text (or all zeros). Sets status, article and note of each
// decided observation.
Selection SelectExemplars(std::vector<Observation>* observations,
                          const std::vector<std::vector<float>>& vectors,
                          const std::vector<uint8_t>& held_out,
                          const std::vector<LearningRule>& rules, const GuardrailOptions& options);

}  // namespace loopwise
