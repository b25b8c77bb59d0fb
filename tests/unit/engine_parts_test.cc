// The engine's parts one by one: page context, lexical index, lexical features, encoder and
// scoring head. The bundle tests cover how they work together.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "engine/classifier.h"
#include "engine/context.h"
#include "engine/encoder.h"
#include "engine/features.h"
#include "engine/lexical_index.h"
#include "engine/tokenizer.h"
#include "toy_site.h"

using namespace loopwise;

namespace {

float Cosine(const std::vector<float>& a, const std::vector<float>& b) {
  float ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : 0.0f;
}

std::vector<std::vector<std::string>> Docs(const std::vector<std::string>& texts) {
  std::vector<std::vector<std::string>> docs;
  for (const auto& t : texts) docs.push_back(Tokenize(t));
  return docs;
}

}  // namespace

TEST_CASE("routes fold ids and tokens away and keep names") {
  CHECK(FoldRoute("/Projects/8123/Settings?tab=2#x") == "/projects/:id/settings");
  CHECK(FoldRoute("/projects/77/settings") == "/projects/:id/settings");
  CHECK(FoldRoute("/settings/2fa") == "/settings/2fa");
  CHECK(FoldRoute("/api/v2/keys") == "/api/v2/keys");
  CHECK(FoldRoute("/share/3f2a9c1e-77b0-4c1d-9a8e-0123456789ab") == "/share/:id");
  CHECK(FoldRoute("") == "/");
}

TEST_CASE("a page pattern matches its page fully and the pages below it by half") {
  CHECK(RouteMatch("/settings/security", "/settings/security") == 1.0f);
  CHECK(RouteMatch("/settings", "/settings/security") == 0.5f);
  CHECK(RouteMatch("/projects/:id/tasks", "/projects/:id/tasks") == 1.0f);
  CHECK(RouteMatch("/projects/*", "/projects/:id") == 1.0f);
  CHECK(RouteMatch("/billing", "/settings/security") == 0.0f);
  CHECK(RouteMatch("/settings/security", "/settings") == 0.0f);
}

TEST_CASE("the lexical index ranks the article whose text shares the rare words") {
  const auto docs = Docs({"reset your password", "download invoices as pdf", "export data to csv",
                          "the password of the invoice"});
  const LexicalIndex index = LexicalIndex::Build(docs, {0, 1, 2, 1});
  const auto hits = index.Search(Tokenize("how do I export csv"), 10);
  REQUIRE(!hits.empty());
  CHECK(hits[0].article == 2);
  CHECK(index.Search(Tokenize("zebra"), 10).empty());
  // An article counts once, with its best text.
  const auto invoice = index.Search(Tokenize("invoice invoices password"), 10);
  size_t ones = 0;
  for (const auto& h : invoice) ones += h.article == 1;
  CHECK(ones == 1);
  CHECK(index.Search(Tokenize("password"), 1).size() == 1);
}

TEST_CASE("lexical features are deterministic, unit length per block, and ignore unseen text") {
  const auto docs = Docs({"reset my password", "download an invoice", "export to csv"});
  const FeatureSpace space = FeatureSpace::Fit(docs, FeatureOptions{});
  const SparseVector a = space.Vectorize(Tokenize("reset my password"));
  const SparseVector b = space.Vectorize(Tokenize("reset my password"));
  CHECK(a.index == b.index);
  CHECK(a.value == b.value);
  for (size_t i = 1; i < a.size(); ++i) CHECK(a.index[i - 1] < a.index[i]);
  double norm2 = 0;
  for (float v : a.value) norm2 += double{v} * v;
  // Three blocks (words, bigrams, characters) each of norm weight: 1, 0.6 and 1.
  CHECK(norm2 == doctest::Approx(1.0 + 0.36 + 1.0).epsilon(1e-4));
  CHECK(space.Vectorize(Tokenize("qqqq zzzz")).size() == 0);
  CHECK(space.Vectorize({}).size() == 0);
}

TEST_CASE("the encoder places related texts together, corrects typos and learns product words") {
  const WordVectors vectors = testing::ToyVectors();
  const auto docs = Docs({"reset my password", "forgot login", "refund a charge on my card",
                          "tallyframe invoice export"});
  const Encoder encoder = Encoder::Fit(vectors, docs, EncoderOptions{});
  const auto password = encoder.Encode(Tokenize("forgot password"));
  const auto login = encoder.Encode(Tokenize("locked login account"));
  const auto refund = encoder.Encode(Tokenize("refund payment"));
  CHECK(Cosine(password, login) > Cosine(password, refund));
  // One edit away from a site word borrows its vector.
  CHECK(Cosine(encoder.Encode(Tokenize("pasword")), encoder.Encode(Tokenize("password"))) ==
        doctest::Approx(1.0f));
  // A word the vectors lack, known from the site's texts, is a site word and has a vector.
  CHECK(encoder.IsSiteWord("tallyframe"));
  CHECK(!encoder.IsSiteWord("pasword"));
  const auto product = encoder.Encode(Tokenize("tallyframe"));
  CHECK(Cosine(product, product) == doctest::Approx(1.0f));
  // Nothing known gives the zero vector.
  for (float x : encoder.Encode(Tokenize("qqqq"))) CHECK(x == 0.0f);
}

TEST_CASE("the scoring head learns separable classes and survives serialization") {
  const auto docs = Docs({"reset password login", "forgot password", "refund card charge",
                          "invoice payment refund", "export csv file", "download data csv"});
  const std::vector<uint32_t> labels = {0, 0, 1, 1, 2, 2};
  const FeatureSpace space = FeatureSpace::Fit(docs, FeatureOptions{});
  std::vector<TrainingExample> examples;
  for (size_t i = 0; i < docs.size(); ++i) {
    TrainingExample ex;
    ex.features = space.Vectorize(docs[i]);
    ex.dense = {1.0f, 0.0f};
    ex.label = labels[i];
    examples.push_back(ex);
  }
  const Classifier head = Classifier::Train(examples, space.size(), 2, 3, ClassifierOptions{});
  const float dense[2] = {1.0f, 0.0f};
  auto predict = [&](const Classifier& c, const std::string& text) {
    std::vector<float> z;
    c.Logits(space.Vectorize(Tokenize(text)), dense, &z);
    Classifier::Softmax(&z);
    float sum = 0;
    for (float p : z) sum += p;
    CHECK(sum == doctest::Approx(1.0f));
    return static_cast<size_t>(std::max_element(z.begin(), z.end()) - z.begin());
  };
  CHECK(predict(head, "password reset") == 0);
  CHECK(predict(head, "refund my charge") == 1);
  CHECK(predict(head, "csv export") == 2);

  ByteWriter w;
  head.Serialize(&w);
  ByteReader r(w.bytes().data(), w.bytes().size());
  auto loaded = Classifier::Deserialize(&r, space.size(), 2);
  REQUIRE(loaded.ok());
  for (const char* text : {"password reset", "refund my charge", "csv export", "unrelated"}) {
    std::vector<float> a, b;
    head.Logits(space.Vectorize(Tokenize(text)), dense, &a);
    loaded.value().Logits(space.Vectorize(Tokenize(text)), dense, &b);
    CHECK(a == b);
  }
  // A section for another feature space is refused.
  ByteReader again(w.bytes().data(), w.bytes().size());
  CHECK(!Classifier::Deserialize(&again, space.size() + 1, 2).ok());
}
