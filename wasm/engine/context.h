#pragma once
// Page context: where in the product the customer asks from. Routes are folded so that ids and
// tokens never identify anyone and so that "/projects/8123/billing" and "/projects/77/billing" are
// the same page.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace loopwise {

struct SearchContext {
  SearchContext() = default;
  explicit SearchContext(std::string r) : route(std::move(r)) {}

  std::string route;  // folded or raw; Search folds it again
  // The customer's segment: the host's context attributes, each as SegmentKey names it.
  std::vector<std::string> segments;
};

// "/Projects/8123/Settings?tab=2#x" -> "/projects/:id/settings". A segment is an id when it holds a
// digit and is not a short word-like name ("v2", "2fa" stay), or looks like a UUID, hex or token.
std::string FoldRoute(std::string_view route);

// The name under which resolution priors learn one attribute of the host's context ("plan=pro",
// "seats=12", "trial=false"). Empty for what is no segment: the widget's own keys (route, title,
// headings, session), empty or overlong keys and values.
std::string SegmentKey(std::string_view key, std::string_view value);

// How well an article page pattern covers a folded route: 1 for the same page, 0.5 when the route
// is below the pattern ("/settings" covers "/settings/security"), else 0. ":id" and "*" match any
// segment.
float RouteMatch(std::string_view pattern, std::string_view folded_route);

}  // namespace loopwise
