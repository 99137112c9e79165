// Phone variants that are plausibly the same subscriber (duplicate candidates).
#include <catch2/catch.hpp>

#include <algorithm>

#include "duplicates.hpp"

using namespace leadpipe::leads;

namespace {

bool has(const std::vector<PhoneVariant>& v, const std::string& phone, const std::string& reason) {
  return std::any_of(v.begin(), v.end(),
                     [&](const PhoneVariant& x) { return x.phone == phone && x.reason == reason; });
}

}  // namespace

TEST_CASE("a Brazilian mobile with and without the 9th digit are variants", "[unit]") {
  const auto with9 = phone_variants("+5511987654321", default_variant_regions());
  CHECK(has(with9, "+551187654321", "brazil_ninth_digit"));
  const auto without9 = phone_variants("+551187654321", default_variant_regions());
  CHECK(has(without9, "+5511987654321", "brazil_ninth_digit"));
  // A landline (subscriber starting with 2-5) has no 9th-digit variant.
  const auto landline = phone_variants("+551133334444", default_variant_regions());
  CHECK(std::none_of(landline.begin(), landline.end(),
                     [](const PhoneVariant& v) { return v.reason == "brazil_ninth_digit"; }));
}

TEST_CASE(
    "the same national number under another region's country code is a variant when valid there",
    "[unit]") {
  // "8123456789" written without + in an ID tenant became +62 812-3456-789; in India it is +91
  // 81234 56789.
  const auto v = phone_variants("+628123456789", {"ID", "IN"});
  CHECK(has(v, "+918123456789", "country_code"));
  CHECK(v.size() == 1);
  // Regions outside the list are not guessed.
  CHECK(phone_variants("+628123456789", {"ID"}).empty());
  // An Indonesian 11-digit mobile is not a valid Indian number: no variant.
  CHECK(phone_variants("+6281234567890", {"ID", "IN"}).empty());
}

TEST_CASE("phone variants never include the number itself and ignore garbage", "[unit]") {
  for (const char* p : {"+628123456789", "+5511987654321", "+919876543210"}) {
    for (const auto& v : phone_variants(p, default_variant_regions())) CHECK(v.phone != p);
  }
  CHECK(phone_variants("", default_variant_regions()).empty());
  CHECK(phone_variants("08123456789", default_variant_regions()).empty());  // not E.164
  CHECK(phone_variants("+", default_variant_regions()).empty());
  CHECK(phone_variants("+abc", default_variant_regions()).empty());
}
