#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <leadpipe/events/schema.hpp>

#include "calls.hpp"

using namespace leadpipe::ingest;
using namespace std::chrono_literals;

namespace {
const TimePoint kNow = TimePoint(std::chrono::seconds(1768467993));  // 2026-01-15T09:06:33Z
const std::string kSecret = "integration-secret-0123456789abcdef0123";
const calls::Integration kIntegration{"exotel-main", "exotel"};
}  // namespace

TEST_CASE("call signatures: HMAC over timestamp.body, fresh timestamps only", "[unit]") {
  const std::string body = R"({"call_id":"1"})";
  const std::string ts = "1768467990";
  const auto sig = calls::sign(kSecret, ts, body);
  CHECK(calls::check_signature(kSecret, ts, sig, body, kNow, 300s) == calls::SignatureCheck::ok);
  std::string upper = sig;
  for (std::size_t i = 7; i < upper.size(); ++i) upper[i] = static_cast<char>(std::toupper(upper[i]));
  CHECK(calls::check_signature(kSecret, ts, upper, body, kNow, 300s) == calls::SignatureCheck::ok);
  CHECK(calls::check_signature(kSecret, ts, sig, body + " ", kNow, 300s) == calls::SignatureCheck::mismatch);
  CHECK(calls::check_signature("other-secret", ts, sig, body, kNow, 300s) == calls::SignatureCheck::mismatch);
  // The timestamp is signed too: changing it breaks the signature.
  CHECK(calls::check_signature(kSecret, "1768467991", sig, body, kNow, 300s) == calls::SignatureCheck::mismatch);
  // Replays outside the window are refused even with a good signature.
  CHECK(calls::check_signature(kSecret, ts, sig, body, kNow + 301s, 300s) == calls::SignatureCheck::stale);
  CHECK(calls::check_signature(kSecret, ts, sig, body, kNow - 400s, 300s) == calls::SignatureCheck::stale);
  CHECK(calls::check_signature(kSecret, "", sig, body, kNow, 300s) == calls::SignatureCheck::missing);
  CHECK(calls::check_signature(kSecret, ts, "", body, kNow, 300s) == calls::SignatureCheck::missing);
  CHECK(calls::check_signature(kSecret, "12abc", sig, body, kNow, 300s) == calls::SignatureCheck::mismatch);
}

TEST_CASE("a call with turns becomes schema-valid event data", "[unit]") {
  const auto call = calls::parse_call(R"({"call_id":"c7f1","direction":"inbound","from":"09845012377",
      "to":"+91 80 4455 6677","started_at":1768467720,"ended_at":"2026-01-15T09:06:31Z","duration_seconds":271,
      "outcome":"completed","recording_url":"https://rec.example.com/c7f1.mp3",
      "turns":[{"speaker":"agent","text":"Hello","offset_seconds":0.4},{"speaker":"customer","text":"I am Priya"}],
      "metadata":{"campaign":"space-tech"}})",
                                      kIntegration, "IN", "2026-01-15T09:06:33Z");
  CHECK(call.customer_phone == "+919845012377");
  CHECK(call.direction == "inbound");
  INFO(call.data);
  CHECK(leadpipe::events::SchemaSet::builtin().validate("ingest.call.completed", call.data).empty());
  rapidjson::Document d;
  d.Parse(call.data.c_str());
  CHECK(std::string(d["started_at"].GetString()) == "2026-01-15T09:02:00Z");
  CHECK(std::string(d["to"].GetString()) == "+918044556677");
  CHECK(std::string(d["transcript"].GetString()) == "agent: Hello\ncustomer: I am Priya");
  CHECK(std::string(d["provider"].GetString()) == "exotel");
  CHECK(d["turns"][1]["offset_seconds"].IsNull());
}

TEST_CASE("outbound calls key on the called number, odd numbers are kept as sent", "[unit]") {
  const auto call = calls::parse_call(R"({"call_id":"c8","direction":"outbound","from":"anonymous",
      "to":"+6281233907745","started_at":"2026-01-15T09:02:00Z","outcome":"no_answer","transcript":"…"})",
                                      kIntegration, "IN", "2026-01-15T09:06:33Z");
  CHECK(call.customer_phone == "+6281233907745");
  CHECK(leadpipe::events::SchemaSet::builtin().validate("ingest.call.completed", call.data).empty());
  CHECK(call.data.find("\"from\":\"anonymous\"") != std::string::npos);
}

TEST_CASE("malformed calls are refused with the field at fault", "[unit]") {
  CHECK_THROWS_AS(calls::parse_call("nope", kIntegration, "IN", "x"), calls::CallError);
  CHECK_THROWS_AS(calls::parse_call("[]", kIntegration, "IN", "x"), calls::CallError);
  try {
    calls::parse_call(R"({"call_id":"1","direction":"sideways","from":"1","to":"2","started_at":1,"outcome":"x"})",
                      kIntegration, "IN", "x");
    FAIL("expected CallError");
  } catch (const calls::CallError& e) {
    REQUIRE(!e.errors().empty());
    CHECK(e.errors()[0].field == "direction");
  }
  try {
    calls::parse_call(R"({"call_id":"1","direction":"inbound","from":"1","to":"2","outcome":"x"})", kIntegration,
                      "IN", "x");
    FAIL("expected CallError");
  } catch (const calls::CallError& e) {
    REQUIRE(!e.errors().empty());
    CHECK(e.errors()[0].field == "started_at");
  }
  CHECK_THROWS_AS(calls::parse_call(R"({"call_id":"1","direction":"inbound","from":"1","to":"2",
      "started_at":"yesterday","outcome":"x"})",
                                    kIntegration, "IN", "x"),
                  calls::CallError);
  CHECK_THROWS_AS(calls::parse_call(R"({"call_id":"1","direction":"inbound","from":"1","to":"2",
      "started_at":1,"outcome":"x","recording_url":"ftp://x"})",
                                    kIntegration, "IN", "x"),
                  calls::CallError);
}

TEST_CASE("call event ids are stable per (tenant, integration, call id)", "[unit]") {
  CHECK(calls::event_id("demo", "i", "1") == calls::event_id("demo", "i", "1"));
  CHECK(calls::event_id("demo", "i", "1") != calls::event_id("demo", "j", "1"));
  CHECK(calls::event_id("demo", "i", "1") != calls::event_id("acme", "i", "1"));
}
