#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include "extracted.hpp"

using namespace leadpipe::extractor;

TEST_CASE("channel phone comes from wa_id", "[unit]") {
  CHECK(channel_phone("6281234567890") == "+6281234567890");
  CHECK_FALSE(channel_phone("0812345678"));
  CHECK_FALSE(channel_phone("62812x"));
  CHECK_FALSE(channel_phone("123"));
}

TEST_CASE("RFC 3339 round trip in milliseconds", "[unit]") {
  CHECK(rfc3339_ms(1763901000123) == "2025-11-23T12:30:00.123Z");
  CHECK(parse_rfc3339_ms("2025-11-23T12:30:00Z") == 1763901000000);
  CHECK(parse_rfc3339_ms("2025-11-23T12:30:00.5Z") == 1763901000500);
  CHECK(parse_rfc3339_ms("garbage") == 0);
}

TEST_CASE("profile name is a weak fallback, rule name wins", "[unit]") {
  Inbound in{"demo", "whatsapp", "6281234567890", "ev-1", "wamid.1", std::string("Budi S"),
             std::string("halo"), 1763901000000};
  leadpipe::extract::Result none;
  rapidjson::Document d;
  d.Parse(contact_extracted_data(in, none, "ID", 1763901000000).c_str());
  REQUIRE(d.IsObject());
  CHECK(std::string(d["name"]["value"].GetString()) == "Budi S");
  CHECK(std::string(d["name"]["evidence"]["layer"].GetString()) == "profile");
  REQUIRE(d["phones"].Size() == 1);
  CHECK(std::string(d["phones"][0]["value"].GetString()) == "+6281234567890");
  CHECK(std::string(d["phones"][0]["evidence"]["layer"].GetString()) == "channel");

  leadpipe::extract::Result rule;
  rule.name = leadpipe::extract::Captured{"Budi Santoso", {"wamid.1", "rule", 0.95, 1763901000000}};
  rule.phones.push_back({"+6281234567890", {"wamid.1", "rule", 0.9, 1763901000000}});
  rule.phones.push_back({"+6285700001111", {"wamid.1", "rule", 0.9, 1763901000000}});
  d.Parse(contact_extracted_data(in, rule, "ID", 1763901000000).c_str());
  CHECK(std::string(d["name"]["value"].GetString()) == "Budi Santoso");
  REQUIRE(d["phones"].Size() == 2);  // own number not repeated
  CHECK(std::string(d["phones"][1]["value"].GetString()) == "+6285700001111");
}
