#include "sha256.h"

#include <doctest/doctest.h>

#include <string>

#include "credentials.h"

using loopwise::Sha256Hex;

TEST_CASE("SHA-256 matches the FIPS 180-2 test vectors") {
  CHECK(Sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(Sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(Sha256Hex(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("HMAC-SHA-256 matches the RFC 4231 test vectors") {
  using loopwise::HmacSha256Hex;
  CHECK(HmacSha256Hex(std::string(20, '\x0b'), "Hi There") ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  CHECK(HmacSha256Hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // A key longer than the block is hashed first.
  CHECK(HmacSha256Hex(std::string(131, '\xaa'),
                      "Test Using Larger Than Block-Size Key - Hash Key First") ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST_CASE("credentials: fresh random keys and tokens, hashed tokens, constant-time comparison") {
  auto a = loopwise::NewSiteKey(), b = loopwise::NewSiteKey();
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a.value().size() == 35);
  CHECK(a.value().rfind("pk_", 0) == 0);
  CHECK(a.value() != b.value());
  auto t = loopwise::NewAdminToken();
  REQUIRE(t.ok());
  CHECK(t.value().size() == 67);
  CHECK(loopwise::HashToken(t.value()) == Sha256Hex(t.value()));
  CHECK(loopwise::ConstantTimeEquals("abc", "abc"));
  CHECK_FALSE(loopwise::ConstantTimeEquals("abc", "abd"));
  CHECK_FALSE(loopwise::ConstantTimeEquals("abc", "abcd"));
  auto secret = loopwise::NewIdentitySecret();
  REQUIRE(secret.ok());
  CHECK(secret.value().size() == 67);
  CHECK(secret.value().rfind("id_", 0) == 0);
}
