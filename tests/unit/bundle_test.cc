#include "engine/bundle.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>

#include "engine/engine.h"
#include "toy_site.h"

using namespace loopwise;

namespace {

std::vector<uint8_t> ToyBundle() {
  auto bundle = Bundle::Build(testing::ToyArticles(), testing::ToyHistory(), testing::ToyVectors(),
                              BundleOptions{});
  REQUIRE(bundle.ok());
  return bundle.take();
}

// Team invitations: close to the project articles' words, and no article is about them.
std::vector<Exemplar> HistoryWithUnanswered() {
  auto history = testing::ToyHistory();
  for (const char* text :
       {"invite a team member", "how do i invite my team", "can a team member invite",
        "invite someone to the team", "team member invite not working", "where is the invite",
        "invite a member", "my team invite"}) {
    history.push_back({text, kNoArticle, 1.0f});
  }
  return history;
}

// Rewrites every section checksum so that corrupt contents reach the section parsers.
void RefreshChecksums(std::vector<uint8_t>* b) {
  if (b->size() < 16) return;
  uint32_t count;
  std::memcpy(&count, b->data() + 12, 4);
  for (uint32_t i = 0; i < count && 16 + (i + 1) * 24 <= b->size(); ++i) {
    uint8_t* entry = b->data() + 16 + i * 24;
    uint64_t offset, size;
    std::memcpy(&offset, entry + 4, 8);
    std::memcpy(&size, entry + 12, 8);
    if (offset > b->size() || size > b->size() - offset) continue;
    const uint32_t crc = Crc32(b->data() + offset, size);
    std::memcpy(entry + 20, &crc, 4);
  }
}

}  // namespace

TEST_CASE("a built bundle loads and answers its own history") {
  const auto bytes = ToyBundle();
  auto engine = Engine::Load(bytes.data(), bytes.size());
  REQUIRE(engine.ok());
  CHECK(engine.value().articles().size() == 5);
  const auto r = engine.value().Search("I forgot my password", SearchContext{}, 3);
  REQUIRE(!r.ranked.empty());
  CHECK(engine.value().articles()[r.ranked[0].article].id == "reset-password");
  CHECK(r.ranked.size() <= 3);
  CHECK(r.confidence >= 0.0f);
  CHECK(r.confidence <= 1.0f);
  for (size_t i = 1; i < r.ranked.size(); ++i) CHECK(r.ranked[i - 1].score >= r.ranked[i].score);
}

TEST_CASE("a question is searched as it is scrubbed, as stored history is learned") {
  // The digits of a card or the letters of an address carry nothing to learn from; the kind of
  // data does ("[email]" reads as "email"), in questions as in the scrubbed history.
  const auto bytes = ToyBundle();
  auto engine = Engine::Load(bytes.data(), bytes.size());
  REQUIRE(engine.ok());
  for (const auto& [raw, scrubbed] :
       {std::pair<const char*, const char*>{"refund the charge on my card 4111 1111 1111 1111",
                                            "refund the charge on my card [card]"},
        {"refund my card, jane.doe@example.com +44 20 7946 0958",
         "refund my card, [email] [phone]"}}) {
    CAPTURE(raw);
    const auto a = engine.value().Search(raw, SearchContext{}, 5);
    const auto b = engine.value().Search(scrubbed, SearchContext{}, 5);
    REQUIRE(a.ranked.size() == b.ranked.size());
    for (size_t i = 0; i < a.ranked.size(); ++i) {
      CHECK(a.ranked[i].article == b.ranked[i].article);
      CHECK(a.ranked[i].score == doctest::Approx(b.ranked[i].score));
    }
    CHECK(a.confidence == doctest::Approx(b.confidence));
  }
}

TEST_CASE("building is deterministic") {
  CHECK(ToyBundle() == ToyBundle());
}

TEST_CASE("building reports its progress from start to end, and the same bundle") {
  BundleOptions options;
  std::vector<double> shares;
  options.progress = [&](double share) { shares.push_back(share); };
  auto bundle =
      Bundle::Build(testing::ToyArticles(), testing::ToyHistory(), testing::ToyVectors(), options);
  REQUIRE(bundle.ok());
  CHECK(bundle.value() == ToyBundle());
  REQUIRE(shares.size() > 10);  // every pass of every training (calibration folds and final)
  CHECK(shares.front() > 0.0);
  CHECK(shares.back() == doctest::Approx(1.0));
  CHECK(std::is_sorted(shares.begin(), shares.end()));
}

TEST_CASE("a bundle round-trips through bytes unchanged") {
  const auto bytes = ToyBundle();
  auto engine = Engine::Load(bytes.data(), bytes.size());
  REQUIRE(engine.ok());
  CHECK(engine.value().ToBundle() == bytes);
}

TEST_CASE("a bundle's articles are read alone as they were built, and only from a sound bundle") {
  const auto bytes = ToyBundle();
  auto articles = Engine::LoadArticles(bytes.data(), bytes.size());
  REQUIRE(articles.ok());
  const auto built = testing::ToyArticles();
  REQUIRE(articles.value().size() == built.size());
  for (size_t i = 0; i < built.size(); ++i) {
    const Article& a = articles.value()[i];
    CHECK(a.id == built[i].id);
    CHECK(a.title == built[i].title);
    CHECK(a.body == built[i].body);
    CHECK(a.tags == built[i].tags);
    CHECK(a.pages == built[i].pages);
  }
  auto copy = bytes;
  copy[copy.size() - 10] ^= 0x10;
  auto damaged = Engine::LoadArticles(copy.data(), copy.size());
  REQUIRE(!damaged.ok());
  CHECK(damaged.status().message().find("checksum") != std::string::npos);
  CHECK(!Engine::LoadArticles(bytes.data(), bytes.size() / 2).ok());
}

TEST_CASE("bad bundles are refused with a clear message") {
  const auto bytes = ToyBundle();
  SUBCASE("empty") {
    auto e = Engine::Load(nullptr, 0);
    CHECK(!e.ok());
    CHECK(e.status().message().find("not a Loopwise bundle") != std::string::npos);
  }
  SUBCASE("truncated") {
    auto e = Engine::Load(bytes.data(), bytes.size() / 2);
    CHECK(!e.ok());
    CHECK(e.status().message().find("truncated") != std::string::npos);
  }
  SUBCASE("wrong version") {
    auto copy = bytes;
    copy[8] = 99;
    auto e = Engine::Load(copy.data(), copy.size());
    CHECK(!e.ok());
    CHECK(e.status().message().find("version 99") != std::string::npos);
  }
  SUBCASE("flipped bit") {
    auto copy = bytes;
    copy[copy.size() - 10] ^= 0x10;
    auto e = Engine::Load(copy.data(), copy.size());
    CHECK(!e.ok());
    CHECK(e.status().message().find("checksum") != std::string::npos);
  }
}

TEST_CASE("bundle builder refuses what it cannot build") {
  const auto vectors = testing::ToyVectors();
  CHECK(!Bundle::Build({}, {}, vectors, {}).ok());
  auto articles = testing::ToyArticles();
  articles[1].id = articles[0].id;
  auto dup = Bundle::Build(articles, {}, vectors, {});
  CHECK(!dup.ok());
  CHECK(dup.status().message().find("appears twice") != std::string::npos);
  auto history = testing::ToyHistory();
  history[0].article = 99;
  CHECK(!Bundle::Build(testing::ToyArticles(), history, vectors, {}).ok());
}

TEST_CASE("a site with no history still answers from its articles") {
  auto bundle = Bundle::Build(testing::ToyArticles(), {}, testing::ToyVectors(), {});
  REQUIRE(bundle.ok());
  auto engine = Engine::Load(bundle.value().data(), bundle.value().size());
  REQUIRE(engine.ok());
  const auto r = engine.value().Search("export csv", SearchContext{}, 5);
  REQUIRE(!r.ranked.empty());
  CHECK(engine.value().articles()[r.ranked[0].article].id == "export-data");
}

TEST_CASE("tickets no article answered teach when to decline, never what to answer") {
  const auto vectors = testing::ToyVectors();
  auto with = Bundle::Build(testing::ToyArticles(), HistoryWithUnanswered(), vectors, {});
  REQUIRE(with.ok());
  auto without = Bundle::Build(testing::ToyArticles(), testing::ToyHistory(), vectors, {});
  REQUIRE(without.ok());
  auto engine = Engine::Load(with.value().data(), with.value().size());
  auto before = Engine::Load(without.value().data(), without.value().size());
  REQUIRE(engine.ok());
  REQUIRE(before.ok());
  // Not exemplars: the same articles answer from the same examples. The questions are indexed,
  // and how near a question is to them weighs in its confidence.
  CHECK(engine.value().parts().exemplar_article == before.value().parts().exemplar_article);
  CHECK(engine.value().parts().unanswered_index.size() == 8);
  CHECK(before.value().parts().unanswered_index.size() == 0);
  CHECK(engine.value().parts().ranker.calibration[kUnanswered] < 0);
  CHECK(before.value().parts().ranker.calibration[kUnanswered] == 0);
  CHECK(engine.value().Search("invite my team member", SearchContext{}, 3).gap);
  CHECK(!before.value().Search("invite my team member", SearchContext{}, 3).gap);
  CHECK(!engine.value().Search("i forgot my password", SearchContext{}, 3).gap);
}

TEST_CASE("article bodies are learned from as passages of whole lines") {
  CHECK(BodyPassages("").empty());
  CHECK(BodyPassages("\n \n").empty());
  // Short lines are joined until a passage holds 16 words; the rest make the last passage.
  std::string body;
  for (int i = 0; i < 5; ++i) body += "one two three four five six seven\n";
  auto passages = BodyPassages(body);
  REQUIRE(passages.size() == 2);
  CHECK(passages[0].size() == 21);
  CHECK(passages[1].size() == 14);
  // A long body gets longer passages, never more than 24.
  std::string book;
  for (int i = 0; i < 500; ++i) book += "a line of eight words for the book\n";
  passages = BodyPassages(book);
  CHECK(passages.size() <= 24);
  size_t words = 0;
  for (const auto& p : passages) words += p.size();
  CHECK(words == 4000);
}

TEST_CASE("a question matching one passage of a long body finds its article") {
  auto articles = testing::ToyArticles();
  std::string body;
  for (int i = 0; i < 30; ++i)
    body += "Invite a team member to the project from its settings page.\n";
  body += "To download an invoice as a file open billing and choose export.\n";
  articles.push_back({"team", "Work with your team", body, {}, {}});
  auto bundle = Bundle::Build(articles, {}, testing::ToyVectors(), {});
  REQUIRE(bundle.ok());
  auto engine = Engine::Load(bundle.value().data(), bundle.value().size());
  REQUIRE(engine.ok());
  const auto r = engine.value().Search("download invoice file", SearchContext{}, 3);
  REQUIRE(!r.ranked.empty());
  CHECK(engine.value().articles()[r.ranked[0].article].id == "team");
}

TEST_CASE("the ranker section keeps its layout: the unanswered questions carry their weight") {
  // Older engines read the ranker section as 5 signal weights, 5 confidence weights, the bias and
  // the threshold, and skip sections they do not know, such as the unanswered questions'.
  Ranker ranker;
  for (size_t i = 0; i < ranker.calibration.size(); ++i) ranker.calibration[i] = 0.5f + i;
  ranker.gap_threshold = 0.4f;
  ByteWriter out;
  ranker.Serialize(&out);
  CHECK(out.bytes().size() == 12 * sizeof(float));
  ByteReader reader(out.bytes().data(), out.bytes().size());
  auto read = Ranker::Deserialize(&reader);
  REQUIRE(read.ok());
  CHECK(reader.at_end());
  for (size_t i = 0; i < kUnanswered; ++i)
    CHECK(read.value().calibration[i] == ranker.calibration[i]);
  CHECK(read.value().calibration[kUnanswered] == 0);
  CHECK(read.value().calibration[kNumConfidenceFeatures] == ranker.calibration.back());
  CHECK(read.value().gap_threshold == 0.4f);

  auto built = Bundle::Build(testing::ToyArticles(), HistoryWithUnanswered(), testing::ToyVectors(),
                             BundleOptions{});
  REQUIRE(built.ok());
  auto opened = Bundle::Open(built.value().data(), built.value().size());
  REQUIRE(opened.ok());
  auto section = opened.value().Read(Section::kRanker);
  REQUIRE(section.ok());
  CHECK(section.value().remaining() == 12 * sizeof(float));
  auto engine = Engine::Load(built.value().data(), built.value().size());
  REQUIRE(engine.ok());
  CHECK(engine.value().parts().ranker.calibration[kUnanswered] != 0);
}

// Thousands of random corruptions: each either fails to load with a message or loads into an
// engine that still answers without crashing. Run under the sanitizer preset too.
TEST_CASE("mutated bundles never crash the loader") {
  auto built = Bundle::Build(testing::ToyArticles(), HistoryWithUnanswered(), testing::ToyVectors(),
                             BundleOptions{});
  REQUIRE(built.ok());
  const auto bytes = built.take();
  std::mt19937 rng(2024);
  int refused = 0, loaded = 0;
  for (int i = 0; i < 3000; ++i) {
    auto copy = bytes;
    switch (i % 4) {
      case 0:  // flipped bits, checksums left as they are
        for (int f = 0; f < 1 + static_cast<int>(rng() % 4); ++f) {
          copy[rng() % copy.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
        }
        break;
      case 1:  // truncated
        copy.resize(rng() % copy.size());
        break;
      case 2:  // flipped bits with valid checksums: the section parsers see the garbage
      case 3:
        for (int f = 0; f < 1 + static_cast<int>(rng() % 8); ++f) {
          copy[16 + rng() % (copy.size() - 16)] ^= static_cast<uint8_t>(1u << (rng() % 8));
        }
        RefreshChecksums(&copy);
        break;
    }
    auto articles = Engine::LoadArticles(copy.data(), copy.size());
    CHECK((articles.ok() || !articles.status().message().empty()));
    auto engine = Engine::Load(copy.data(), copy.size());
    if (!engine.ok()) {
      CHECK(!engine.status().message().empty());
      ++refused;
      continue;
    }
    ++loaded;
    for (const char* q : {"forgot password", "refund", "", "zzzz qqq"}) {
      const auto r = engine.value().Search(q, SearchContext{"/billing"}, 5);
      CHECK(r.ranked.size() <= 5);
    }
  }
  CHECK(refused > 0);
  MESSAGE("mutations refused: " << refused << ", loaded and answered: " << loaded);
}

TEST_CASE("random bytes are never a bundle") {
  std::mt19937 rng(5);
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint8_t> junk(rng() % 512);
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    if (i % 2 && junk.size() >= 8) std::memcpy(junk.data(), "LWBUNDLE", 8);
    CHECK(!Engine::Load(junk.data(), junk.size()).ok());
    CHECK(!Engine::LoadArticles(junk.data(), junk.size()).ok());
  }
}
