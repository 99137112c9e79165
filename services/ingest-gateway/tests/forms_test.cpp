#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <set>

#include <leadpipe/events/schema.hpp>

#include "forms.hpp"
#include "otp.hpp"

using namespace leadpipe::ingest;
using namespace std::chrono_literals;

namespace {
const TimePoint t0 = TimePoint(std::chrono::seconds(1768467600));

rapidjson::Document parse(const char* json) {
  rapidjson::Document d;
  d.Parse(json);
  return d;
}

otp::Policy policy() {
  otp::Policy p;
  p.ttl = 300s;
  p.resend_cooldown = 60s;
  p.window = 3600s;
  p.max_per_phone = 3;
  p.max_per_ip = 5;
  p.max_attempts = 3;
  return p;
}
}  // namespace

TEST_CASE("otp sends: cooldown, per-phone window, per-IP window with Retry-After", "[unit]") {
  const auto p = policy();
  CHECK(otp::decide_send({}, t0, p).allowed);

  auto d = otp::decide_send({{t0 - 20s}, {}}, t0, p);
  CHECK_FALSE(d.allowed);
  CHECK(d.reason == "cooldown");
  CHECK(d.retry_after == 40s);
  CHECK(otp::decide_send({{t0 - 60s}, {}}, t0, p).allowed);

  // Three sends in the hour: the fourth waits until the oldest leaves the window.
  d = otp::decide_send({{t0 - 3000s, t0 - 2000s, t0 - 1000s}, {}}, t0, p);
  CHECK_FALSE(d.allowed);
  CHECK(d.reason == "phone_limit");
  CHECK(d.retry_after == 600s);
  CHECK(otp::decide_send({{t0 - 3700s, t0 - 2000s, t0 - 1000s}, {}}, t0, p).allowed);

  d = otp::decide_send({{}, {t0 - 50s, t0 - 40s, t0 - 30s, t0 - 20s, t0 - 10s}}, t0, p);
  CHECK_FALSE(d.allowed);
  CHECK(d.reason == "ip_limit");
  CHECK(d.retry_after == 3550s);
}

TEST_CASE("form submits: per-phone and per-IP windows with Retry-After", "[unit]") {
  const otp::SubmitPolicy p{3600s, 2, 3};
  CHECK(otp::decide_submit({}, t0, p).allowed);
  CHECK(otp::decide_submit({{t0 - 10s}, {t0 - 10s}}, t0, p).allowed);
  auto d = otp::decide_submit({{t0 - 100s, t0 - 10s}, {}}, t0, p);
  CHECK_FALSE(d.allowed);
  CHECK(d.reason == "submit_phone_limit");
  CHECK(d.retry_after == 3500s);
  CHECK(otp::decide_submit({{t0 - 3600s, t0 - 10s}, {}}, t0, p).allowed);  // the older one left the window
  d = otp::decide_submit({{t0 - 5s}, {t0 - 30s, t0 - 20s, t0 - 10s}}, t0, p);
  CHECK_FALSE(d.allowed);
  CHECK(d.reason == "submit_ip_limit");
  CHECK(d.retry_after == 3570s);
}

TEST_CASE("otp verification: match, wrong with attempts, last attempt burns, expiry", "[unit]") {
  const auto hash = otp::hash_code("pepper", "demo", "c1", "+919820144512", "123456");
  const otp::Pending pending{hash, t0 + 300s, 0};
  CHECK(otp::decide_verify(pending, hash, t0, 3) == otp::VerifyOutcome::verified);
  CHECK(otp::decide_verify(pending, "nope", t0, 3) == otp::VerifyOutcome::wrong_code);
  CHECK(otp::decide_verify(otp::Pending{hash, t0 + 300s, 2}, "nope", t0, 3) ==
        otp::VerifyOutcome::too_many_attempts);
  CHECK(otp::decide_verify(otp::Pending{hash, t0 + 300s, 3}, hash, t0, 3) == otp::VerifyOutcome::too_many_attempts);
  CHECK(otp::decide_verify(pending, hash, t0 + 300s, 3) == otp::VerifyOutcome::expired);
  CHECK(otp::decide_verify(std::nullopt, hash, t0, 3) == otp::VerifyOutcome::no_code);
}

TEST_CASE("otp codes: six digits, keyed hashes bound to tenant, campaign and phone", "[unit]") {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const auto c = otp::generate_code();
    CHECK(otp::well_formed_code(c));
    seen.insert(c);
  }
  CHECK(seen.size() > 190);
  CHECK_FALSE(otp::well_formed_code("12345"));
  CHECK_FALSE(otp::well_formed_code("12345a"));
  const auto h = otp::hash_code("pepper", "demo", "c1", "+919820144512", "123456");
  CHECK(h.size() == 64);
  CHECK(h != otp::hash_code("pepper", "demo", "c2", "+919820144512", "123456"));
  CHECK(h != otp::hash_code("pepper", "acme", "c1", "+919820144512", "123456"));
  CHECK(h != otp::hash_code("other", "demo", "c1", "+919820144512", "123456"));
  CHECK(h.find("123456") == std::string::npos);
}

TEST_CASE("submission validation and event data", "[unit]") {
  auto form = parse(R"({"campaign":"drone-2027","campaign_type":"promo","form_type":"application","name":" Ana Souza ",
      "phone":"11 98765-4321","country":"BR","email":"Ana.Souza@Example.com","family_income":"R$ 5.000 - 10.000",
      "language":"pt","city":"São Paulo","neighbourhood":"Pinheiros","referral_source":"instagram",
      "http_referrer":"https://www.instagram.com/p/abc/","utm_source":"instagram","utm_campaign":"launch",
      "extra":{"consent":true}})");
  CHECK(forms::validate_submission(form).empty());
  FormState state{true, true, false};
  const auto data = forms::submission_data(form, "+5511987654321", state, "2026-01-15T11:20:00Z");
  INFO(data);
  CHECK(leadpipe::events::SchemaSet::builtin().validate("ingest.campaign.submission", data).empty());
  auto d = parse(data.c_str());
  CHECK(std::string(d["name"].GetString()) == "Ana Souza");
  CHECK(std::string(d["email"].GetString()) == "ana.souza@example.com");
  CHECK(std::string(d["status"].GetString()) == "applied");
  CHECK(std::string(d["utm"]["campaign"].GetString()) == "launch");

  // Interest after an application keeps "applied".
  const auto later = forms::submission_data(parse(R"({"campaign":"c","form_type":"interest","name":"A","phone":"1"})"),
                                            "+5511987654321", FormState{true, true, false}, "2026-01-15T11:20:00Z");
  CHECK(later.find("\"status\":\"applied\"") != std::string::npos);

  // Same content → same hash and event id; any change → different.
  auto again = parse(R"({"campaign":"drone-2027","form_type":"interest","name":"Ana","phone":"+5511987654321"})");
  auto same = parse(R"({"phone":"+5511987654321","name":" Ana","form_type":"interest","campaign":"drone-2027"})");
  auto other = parse(R"({"campaign":"drone-2027","form_type":"interest","name":"Ana","phone":"+5511987654321","city":"Rio"})");
  CHECK(forms::content_hash(again, "+5511987654321") == forms::content_hash(same, "+5511987654321"));
  CHECK(forms::content_hash(again, "+5511987654321") != forms::content_hash(other, "+5511987654321"));

  auto bad = parse(R"({"campaign":"c","form_type":"newsletter","name":"","phone":"1","shoe_size":42})");
  auto errors = forms::validate_submission(bad);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].field == "shoe_size");
  bad = parse(R"({"campaign":"c","form_type":"newsletter","name":"A","phone":"1"})");
  errors = forms::validate_submission(bad);
  REQUIRE(!errors.empty());
  CHECK(errors[0].field == "form_type");
  errors = forms::validate_submission(parse(R"({"campaign":"c","form_type":"interest","name":"  ","phone":"+5511987654321"})"));
  REQUIRE(!errors.empty());
  CHECK(errors[0].field == "name");
  CHECK(forms::valid_campaign("drone-2027"));
  CHECK_FALSE(forms::valid_campaign("-x"));
  CHECK_FALSE(forms::valid_campaign("a b"));
}

TEST_CASE("the OTP request for outreach is a valid outreach.requested", "[unit]") {
  const auto data = forms::otp_request_data("6f1c2b7e-5a4d-4c3b-9e8f-1a2b3c4d5e6f", "+5511987654321", "482913",
                                            "otp_verification", "pt", "2026-01-15T11:15:00Z", "drone-2027");
  INFO(data);
  CHECK(leadpipe::events::SchemaSet::builtin().validate("outreach.requested", data).empty());
  CHECK(data.find("\"sensitive\":true") != std::string::npos);
}
