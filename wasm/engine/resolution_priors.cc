#include "engine/resolution_priors.h"

#include <algorithm>
#include <cmath>

namespace loopwise {
namespace {

// The page's mean rate counts as this many pseudo-questions for an article's own posterior, so a
// few outcomes move it and an unseen article starts at the page's mean with a wide spread.
constexpr float kPriorStrength = 2.0f;
constexpr uint32_t kMaxEntries = 1u << 22;

uint64_t SplitMix(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// A standard normal draw (Box-Muller) from two 53-bit uniforms.
double Normal(uint64_t seed) {
  uint64_t state = seed;
  const double u1 = (static_cast<double>(SplitMix(&state) >> 11) + 0.5) / 9007199254740992.0;
  const double u2 = static_cast<double>(SplitMix(&state) >> 11) / 9007199254740992.0;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

}  // namespace

void ResolutionPriors::Add(const std::string& key, uint32_t article, float resolved,
                           float unresolved) {
  Route& r = routes_[key];
  Counts& c = r.articles[article];
  c.resolved += resolved;
  c.unresolved += unresolved;
  r.total.resolved += resolved;
  r.total.unresolved += unresolved;
}

float ResolutionPriors::Mean(const std::string& key, uint32_t article) const {
  auto it = routes_.find(key);
  if (it == routes_.end()) return 0.5f;
  const Counts& t = it->second.total;
  const float page = (t.resolved + 1) / (t.resolved + t.unresolved + 2);
  auto a = it->second.articles.find(article);
  if (a == it->second.articles.end()) return page;
  return (a->second.resolved + kPriorStrength * page) /
         (a->second.resolved + a->second.unresolved + kPriorStrength);
}

float ResolutionPriors::Signal(const std::string& key, uint32_t article, uint32_t seed) const {
  auto it = routes_.find(key);
  if (it == routes_.end()) return 0.0f;
  const Counts& t = it->second.total;
  const double page = (t.resolved + 1.0) / (t.resolved + t.unresolved + 2.0);
  double alpha = kPriorStrength * page, beta = kPriorStrength * (1 - page);
  if (auto a = it->second.articles.find(article); a != it->second.articles.end()) {
    alpha += a->second.resolved;
    beta += a->second.unresolved;
  }
  // A normal approximation of the Beta posterior: cheap, and the same on every platform.
  const double n = alpha + beta;
  const double mean = alpha / n;
  const double sd = std::sqrt(alpha * beta / (n * n * (n + 1)));
  const double z = Normal((static_cast<uint64_t>(seed) << 32) ^ article);
  const double sample = std::min(1.0, std::max(0.0, mean + sd * z));
  return static_cast<float>(sample - page);
}

float ResolutionPriors::Signal(const std::vector<std::string>& keys, uint32_t article,
                               uint32_t seed) const {
  float sum = 0;
  int n = 0;
  for (const std::string& key : keys) {
    if (!Has(key)) continue;
    sum += Signal(key, article, seed);
    ++n;
  }
  return n ? sum / static_cast<float>(n) : 0.0f;
}

void ResolutionPriors::Serialize(ByteWriter* out) const {
  out->u32(static_cast<uint32_t>(routes_.size()));
  for (const auto& [route, r] : routes_) {
    out->str(route);
    out->u32(static_cast<uint32_t>(r.articles.size()));
    for (const auto& [article, c] : r.articles) {
      out->u32(article);
      out->f32(c.resolved);
      out->f32(c.unresolved);
    }
  }
}

Result<ResolutionPriors> ResolutionPriors::Deserialize(ByteReader* in, size_t num_articles) {
  ResolutionPriors p;
  const uint32_t routes = in->u32();
  if (!in->ok() || routes > kMaxEntries || routes > in->remaining() / 8) {
    return Status::Error("priors: impossible route count");
  }
  for (uint32_t i = 0; i < routes; ++i) {
    const std::string route = in->str();
    const uint32_t n = in->u32();
    if (!in->ok() || n > in->remaining() / 12) return Status::Error("priors: section is truncated");
    for (uint32_t k = 0; k < n; ++k) {
      const uint32_t article = in->u32();
      const float resolved = in->f32(), unresolved = in->f32();
      if (!in->ok()) return Status::Error("priors: section is truncated");
      if (article >= num_articles) return Status::Error("priors: counts of an unknown article");
      if (!(resolved >= 0 && unresolved >= 0 && std::isfinite(resolved) &&
            std::isfinite(unresolved))) {
        return Status::Error("priors: a count is negative or not finite");
      }
      p.Add(route, article, resolved, unresolved);
    }
  }
  return p;
}

}  // namespace loopwise
