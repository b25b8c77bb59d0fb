#include "site.h"

#include <doctest/doctest.h>

using loopwise::CheckSiteMode;
using loopwise::CheckSiteName;
using loopwise::NormalizeOrigin;

TEST_CASE("site names are short URL-safe words") {
  CHECK(CheckSiteName("acme").ok());
  CHECK(CheckSiteName("acme-eu_2").ok());
  CHECK_FALSE(CheckSiteName("").ok());
  CHECK_FALSE(CheckSiteName("Acme").ok());
  CHECK_FALSE(CheckSiteName("-acme").ok());
  CHECK_FALSE(CheckSiteName("a/b").ok());
  CHECK_FALSE(CheckSiteName(std::string(65, 'a')).ok());
}

TEST_CASE("origins are normalized to scheme://host[:port]") {
  CHECK(NormalizeOrigin("https://App.Example.com/").value() == "https://app.example.com");
  CHECK(NormalizeOrigin("https://app.example.com:443").value() == "https://app.example.com");
  CHECK(NormalizeOrigin("http://localhost:3000").value() == "http://localhost:3000");
  CHECK(NormalizeOrigin("http://[::1]:8080").value() == "http://[::1]:8080");
  CHECK_FALSE(NormalizeOrigin("app.example.com").ok());
  CHECK_FALSE(NormalizeOrigin("ftp://app.example.com").ok());
  CHECK_FALSE(NormalizeOrigin("https://app.example.com/path").ok());
  CHECK_FALSE(NormalizeOrigin("https://user@app.example.com").ok());
  CHECK_FALSE(NormalizeOrigin("https://app.example.com:99999").ok());
  CHECK_FALSE(NormalizeOrigin("https://").ok());
}

TEST_CASE("modes") {
  CHECK(CheckSiteMode("review").ok());
  CHECK(CheckSiteMode("autonomous").ok());
  CHECK_FALSE(CheckSiteMode("auto").ok());
}
