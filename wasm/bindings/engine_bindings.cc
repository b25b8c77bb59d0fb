// Embind glue: the engine as JavaScript sees it. Nothing here decides anything; it converts
// arguments and results and turns failures into JavaScript Errors carrying the engine's message.

#include <emscripten.h>
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/context.h"
#include "engine/context_json.h"
#include "engine/engine.h"
#include "engine/scrubber.h"

namespace {

using emscripten::val;

[[noreturn]] void ThrowError(const std::string& message) {
  val::global("Error").new_(val("loopwise engine: " + message)).throw_();
}

val StringList(const std::vector<std::string>& items) {
  val out = val::array();
  for (const auto& s : items) out.call<void>("push", val(s));
  return out;
}

loopwise::SearchContext ParseContext(const std::string& json_text) {
  loopwise::SearchContext context;
  if (json_text.empty()) return context;
  const nlohmann::json j = nlohmann::json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) ThrowError("context must be a JSON object");
  if (auto it = j.find("route"); it != j.end() && it->is_string()) {
    context.route = it->get<std::string>();
  }
  context.segments = loopwise::ContextSegments(j);
  return context;
}

class EngineHandle {
 public:
  // `bytes` is a Uint8Array (or any array-like of bytes) holding a bundle.
  static std::unique_ptr<EngineHandle> Create(const val& bytes) {
    if (!bytes["length"].isNumber()) ThrowError("Engine.create needs the bundle's bytes");
    const std::vector<uint8_t> data = emscripten::convertJSArrayToNumberVector<uint8_t>(bytes);
    auto engine = loopwise::Engine::Load(data.data(), data.size());
    if (!engine.ok()) ThrowError(engine.status().message());
    return std::unique_ptr<EngineHandle>(new EngineHandle(engine.take()));
  }

  // {ranked: [{article, title, score, features}], confidence, gap, micros}; `features` is the
  // candidate's signal vector in the ranker model's input order.
  val Search(const std::string& query, const std::string& context_json, int k) const {
    const loopwise::SearchContext context = ParseContext(context_json);
    const double start = emscripten_get_now();
    const loopwise::SearchResult r = engine_.Search(query, context,
                                                    static_cast<size_t>(k < 1     ? 1
                                                                        : k > 100 ? 100
                                                                                  : k));
    const double micros = (emscripten_get_now() - start) * 1000.0;
    val ranked = val::array();
    for (const auto& hit : r.ranked) {
      const loopwise::Article& a = engine_.articles()[hit.article];
      val item = val::object();
      item.set("article", a.id);
      item.set("title", a.title);
      item.set("score", hit.score);
      val features = val::array();
      for (float f : hit.signal) features.call<void>("push", f);
      item.set("features", features);
      ranked.call<void>("push", item);
    }
    val out = val::object();
    out.set("ranked", ranked);
    out.set("confidence", r.confidence);
    out.set("gap", r.gap);
    out.set("micros", micros);
    return out;
  }

  // The bundle's ranker model (ONNX bytes) as a Uint8Array, or null when it has none.
  val RankerModel() const {
    const std::vector<uint8_t>& model = engine_.parts().ranker_model;
    if (model.empty()) return val::null();
    // A copy: the view into the module's memory would go stale when the memory grows.
    return val::global("Uint8Array")
        .new_(emscripten::typed_memory_view(model.size(), model.data()));
  }

  // Whether to offer a human along with this answer (the bundle's escalation model; always false
  // when the bundle has none): the answer's confidence and gap, the questions this session asked
  // before it, the answers it found not helpful so far, the question (its frustration cues) and
  // the search's context (the customer's segments).
  bool OfferHuman(float confidence, bool gap, int earlier_questions, int not_helpful,
                  const std::string& query, const std::string& context_json) const {
    loopwise::EscalationFeatures f;
    f.confidence = confidence;
    f.gap = gap;
    f.earlier_questions = earlier_questions;
    f.not_helpful = not_helpful;
    f.frustration = loopwise::FrustrationCues(query);
    f.segments = ParseContext(context_json).segments;
    return engine_.parts().escalation.OfferHuman(f);
  }

  // [{id, title, body, tags, pages}], in bundle order.
  val Articles() const {
    val out = val::array();
    for (const auto& a : engine_.articles()) {
      val item = val::object();
      item.set("id", a.id);
      item.set("title", a.title);
      item.set("body", a.body);
      item.set("tags", StringList(a.tags));
      item.set("pages", StringList(a.pages));
      out.call<void>("push", item);
    }
    return out;
  }

 private:
  explicit EngineHandle(loopwise::Engine engine) : engine_(std::move(engine)) {}
  loopwise::Engine engine_;
};

std::string FoldRoute(const std::string& route) {
  return loopwise::FoldRoute(route);
}

// The text with personal data replaced by placeholders: what may leave the browser.
std::string Scrub(const std::string& text) {
  return loopwise::Scrub(text).text;
}

}  // namespace

EMSCRIPTEN_BINDINGS(loopwise_engine) {
  emscripten::class_<EngineHandle>("Engine")
      .class_function("create", &EngineHandle::Create)
      .function("search", &EngineHandle::Search)
      .function("articles", &EngineHandle::Articles)
      .function("rankerModel", &EngineHandle::RankerModel)
      .function("offerHuman", &EngineHandle::OfferHuman);
  emscripten::function("foldRoute", &FoldRoute);
  emscripten::function("scrub", &Scrub);
}
