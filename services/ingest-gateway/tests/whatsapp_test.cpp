#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <fstream>
#include <sstream>

#include <leadpipe/auth/crypto.hpp>

#include "whatsapp.hpp"

using namespace leadpipe::ingest::whatsapp;

namespace {
std::string sample(const std::string& name) {
  std::ifstream f(std::string(LEADPIPE_SAMPLES_DIR) + "/whatsapp/" + name);
  REQUIRE(f.good());
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
}  // namespace

TEST_CASE("text message sample parses with profile name and wamid", "[unit]") {
  auto hook = parse_webhook(sample("inbound_text.json"));
  REQUIRE(hook.messages.size() == 1);
  const auto& m = hook.messages[0];
  CHECK(m.phone_number_id == "109876543210987");
  CHECK(m.wa_id == "6281234567890");
  CHECK(m.profile_name == "Budi S");
  CHECK(m.type == "text");
  CHECK(m.text.value().find("nama saya Budi Santoso") != std::string::npos);
  CHECK(m.message_id.rfind("wamid.", 0) == 0);
  CHECK(m.timestamp == "2025-11-23T12:30:00Z");

  rapidjson::Document d;
  d.Parse(inbound_event_data(m).c_str());
  REQUIRE(d.IsObject());
  CHECK(std::string(d["wa_id"].GetString()) == "6281234567890");
  CHECK(d["raw"].IsObject());
  CHECK(std::string(d["raw"]["id"].GetString()) == m.message_id);
}

TEST_CASE("escaped text is decoded (the body is parsed in place, in a copy) and the raw message re-serialised", "[unit]") {
  // Quotes, backslashes, \u escapes (one a surrogate pair) and raw UTF-8, as
  // Meta may send them; the body itself must come back unchanged.
  const std::string body =
      R"({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{)"
      R"("metadata":{"phone_number_id":"109876543210987","display_phone_number":"+62 811"},)"
      R"("contacts":[{"wa_id":"6281","profile":{"name":"Sit\u00ed \"S\""}}],)"
      R"("messages":[{"from":"6281","id":"wamid.E1","timestamp":"1700000000","type":"text",)"
      R"("text":{"body":"a \"b\" c\\d \u00e9 \ud83d\ude00 é\nend"}}]}}]}]})";
  const std::string copy = body;
  const auto hook = parse_webhook(body);
  CHECK(body == copy);
  REQUIRE(hook.messages.size() == 1);
  const auto& m = hook.messages[0];
  CHECK(m.profile_name == "Sit\xc3\xad \"S\"");
  CHECK(m.text == "a \"b\" c\\d \xc3\xa9 \xf0\x9f\x98\x80 \xc3\xa9\nend");
  rapidjson::Document raw;
  raw.Parse(m.raw_json.c_str());
  REQUIRE(raw.IsObject());
  CHECK(std::string(raw["text"]["body"].GetString()) == *m.text);
  // Parsing a second, different webhook on the same thread leaves nothing of the first.
  const auto again = parse_webhook(sample("inbound_text.json"));
  REQUIRE(again.messages.size() == 1);
  CHECK(again.messages[0].wa_id == "6281234567890");
  CHECK(m.wa_id == "6281");
}

TEST_CASE("non-text messages keep caption, media id and reply titles", "[unit]") {
  auto hook = parse_webhook(sample("inbound_non_text.json"));
  REQUIRE(hook.messages.size() == 2);
  CHECK(hook.messages[0].type == "image");
  CHECK(hook.messages[0].caption == "ini ijazah saya");
  CHECK(hook.messages[0].media_id == "1479537139650973");
  CHECK(hook.messages[1].type == "interactive");
  CHECK(hook.messages[1].text == "S1 Keperawatan");
}

TEST_CASE("a batch for two users yields one message each", "[unit]") {
  auto hook = parse_webhook(sample("inbound_batch_two_users.json"));
  REQUIRE(hook.messages.size() >= 2);
  CHECK(hook.messages[0].wa_id != hook.messages.back().wa_id);
  for (const auto& m : hook.messages) CHECK(m.profile_name.has_value());
}

TEST_CASE("statuses are parsed", "[unit]") {
  auto hook = parse_webhook(sample("statuses.json"));
  CHECK(hook.messages.empty());
  REQUIRE(hook.statuses.size() == 2);
  CHECK(hook.statuses[0].status == "delivered");
  CHECK(hook.statuses[1].status == "failed");
  rapidjson::Document d;
  d.Parse(status_event_data(hook.statuses[1]).c_str());
  CHECK(d["raw"]["errors"].IsArray());
}

TEST_CASE("malformed payloads are rejected with a field", "[unit]") {
  CHECK_THROWS_AS(parse_webhook("not json"), ParseFailure);
  CHECK_THROWS_AS(parse_webhook("[]"), ParseFailure);
  CHECK_THROWS_AS(parse_webhook(R"({"object":"page","entry":[]})"), ParseFailure);
  try {
    parse_webhook(R"({"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages",
      "value":{"metadata":{"phone_number_id":"1"},"messages":[{"from":"62811","timestamp":"1"}]}}]}]})");
    FAIL("expected ParseFailure");
  } catch (const ParseFailure& e) {
    CHECK(e.field() == "entry[0].changes[0].value.messages[0].id");
  }
  CHECK_THROWS_AS(
      parse_webhook(R"({"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages",
      "value":{"metadata":{"phone_number_id":"1"},"messages":[{"from":"6","id":"w","timestamp":"soon"}]}}]}]})"),
      ParseFailure);

  // The field path names the exact place, however deep (paths are spelled
  // out only on failure).
  const auto field_of = [](const std::string& entries) {
    try {
      parse_webhook(R"({"object":"whatsapp_business_account","entry":)" + entries + "}");
    } catch (const ParseFailure& e) {
      return e.field();
    }
    return std::string("(parsed)");
  };
  const std::string good_change =
      R"({"field":"messages","value":{"metadata":{"phone_number_id":"1"},"messages":[{"from":"6","id":"w","timestamp":"1"}]}})";
  CHECK(field_of(R"([{"changes":[)" + good_change + "]}]") == "(parsed)");
  CHECK(field_of("[{}]") == "entry[0].changes");
  CHECK(field_of(R"([{"changes":[]},{"changes":[)" + good_change + R"(,{"value":{}}]}])") ==
        "entry[1].changes[1].value.metadata");
  CHECK(field_of(R"([{"changes":[{"value":{"metadata":{}}}]}])") == "entry[0].changes[0].value.metadata.phone_number_id");
  CHECK(field_of(R"([{"changes":[{"value":7}]}])") == "entry[0].changes[0].value");
  CHECK(field_of(R"([{"changes":[{"value":{"metadata":{"phone_number_id":"1"},"messages":[{"from":"6","id":"w","timestamp":"1"},)"
                 R"({"from":"6","id":"x","timestamp":"later"}]}}]}])") ==
        "entry[0].changes[0].value.messages[1].timestamp");
  CHECK(field_of(R"([{"changes":[{"value":{"metadata":{"phone_number_id":"1"},"statuses":{}}}]}])") ==
        "entry[0].changes[0].value.statuses");
  CHECK(field_of(R"([{"changes":[{"value":{"metadata":{"phone_number_id":"1"},"statuses":[{"id":"w","timestamp":"1"}]}}]}])") ==
        "entry[0].changes[0].value.statuses[0].status");
  CHECK(field_of(R"([{"changes":[{"value":{"metadata":{"phone_number_id":"1"},"messages":[7]}}]}])") ==
        "entry[0].changes[0].value.messages[0]");
  // Changes of other fields carry no messages and are skipped, even malformed.
  CHECK(field_of(R"([{"changes":[{"field":"account_update","value":{}}]}])") == "(parsed)");
}

TEST_CASE("signature is HMAC-SHA256 of the raw body", "[unit]") {
  const std::string body = R"({"a":1})";
  const std::string good = "sha256=" + leadpipe::auth::hmac_sha256_hex("s3cret", body);
  CHECK(signature_valid("s3cret", body, good));
  std::string upper = good;
  for (std::size_t i = 7; i < upper.size(); ++i) upper[i] = static_cast<char>(std::toupper(upper[i]));
  CHECK(signature_valid("s3cret", body, upper));
  CHECK_FALSE(signature_valid("other", body, good));
  CHECK_FALSE(signature_valid("s3cret", body + " ", good));
  CHECK_FALSE(signature_valid("s3cret", body, good.substr(7)));
  CHECK_FALSE(signature_valid("s3cret", body, "sha256="));
  CHECK_FALSE(signature_valid("", body, good));
}

TEST_CASE("verification handshake", "[unit]") {
  CHECK(verify_handshake("subscribe", "tok", "123", "tok") == "123");
  CHECK_FALSE(verify_handshake("subscribe", "bad", "123", "tok"));
  CHECK_FALSE(verify_handshake("unsubscribe", "tok", "123", "tok"));
  CHECK_FALSE(verify_handshake("subscribe", "", "123", ""));
}
