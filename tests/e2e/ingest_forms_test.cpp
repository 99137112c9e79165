// Campaign forms with WhatsApp OTP end to end: the code travels to outreach on
// outreach.requested (read back here from Kafka), verification, submission to
// ingest.campaign.submission, CORS and rate limits.
#include <catch2/catch.hpp>

#include <leadpipe/events/schema.hpp>

#include "ingest_common.hpp"

using namespace leadpipe;
using namespace leadpipe::e2e;

namespace {

const std::string kOrigin = "https://www.example.edu";

// The code in the newest outreach.requested for `phone`.
std::string last_code(const Stack& stack, const std::string& phone) {
  std::string code;
  for (const auto& ev : read_events(stack, "outreach.requested")) {
    auto d = parse_json(ev.data);
    if (std::string(d["to"].GetString()) == phone) code = d["message"]["parameters"][0].GetString();
  }
  return code;
}

}  // namespace

TEST_CASE("campaign forms: OTP, verify, submit, idempotency, CORS, limits", "[e2e]") {
  Stack stack({{"INGEST_OTP_RESEND_COOLDOWN_S", "0"}, {"INGEST_OTP_MAX_PER_PHONE", "3"},
               {"INGEST_OTP_MAX_ATTEMPTS", "3"}, {"INGEST_TENANT_CACHE_TTL_S", "0"}});
  stack.leadctl({"campaign", "site", "set", "--tenant", "demo", "--origins", kOrigin + ",https://promo.example.edu",
                 "--otp-template", "otp_pt", "--otp-language", "pt"});
  const std::string base = "/api/v1/forms/demo";
  const Headers browser{{"Origin", kOrigin}};
  const std::string phone = "+5511987654321";
  const std::string who = R"("campaign":"drone-2027","phone":"11 98765-4321","country":"BR")";

  // Unknown tenant, foreign origin, preflight.
  CHECK(post(stack, "/api/v1/forms/nobody/otp/send", "{" + who + "}", browser).status == 404);
  CHECK(post(stack, base + "/otp/send", "{" + who + "}", {{"Origin", "https://evil.example"}}).status == 403);
  auto pre = httpclient::request("OPTIONS", stack.ingest_url() + base + "/otp/send",
                                 {{"Origin", kOrigin}, {"Access-Control-Request-Method", "POST"}});
  CHECK(pre.status == 204);
  REQUIRE(pre.header("access-control-allow-origin") != nullptr);
  CHECK(*pre.header("access-control-allow-origin") == kOrigin);

  // Submitting before verification is refused.
  const std::string form = R"({"campaign":"drone-2027","campaign_type":"promo","form_type":"application",
      "name":"Ana Souza","phone":"+5511987654321","email":"ana@example.com","family_income":"R$ 5.000 - 10.000",
      "language":"pt","city":"São Paulo","neighbourhood":"Pinheiros","referral_source":"instagram",
      "http_referrer":"https://www.instagram.com/p/abc/","utm_source":"instagram"})";
  CHECK(post(stack, base + "/submit", form, browser).status == 403);

  // Send: the OTP goes to outreach as a sensitive template request.
  auto r = post(stack, base + "/otp/send", "{" + who + "}", browser);
  INFO(r.body << "\n" << stack.log_tail("ingest-gateway"));
  REQUIRE(r.status == 200);
  REQUIRE(r.header("access-control-allow-origin") != nullptr);
  auto reqs = read_events(stack, "outreach.requested");
  REQUIRE(reqs.size() == 1);
  CHECK(events::SchemaSet::builtin().validate("outreach.requested", reqs[0].data).empty());
  CHECK(reqs[0].data.find("\"template\":\"otp_pt\"") != std::string::npos);
  const auto code = last_code(stack, phone);
  REQUIRE(code.size() == 6);
  // Not stored in clear.
  CHECK(stack.leadctl({"campaign", "site", "list"}).find(code) == std::string::npos);

  // Wrong codes count; the right one verifies.
  const std::string wrong = code == "000000" ? "111111" : "000000";
  r = post(stack, base + "/otp/verify", "{" + who + R"(,"code":")" + wrong + "\"}", browser);
  CHECK(r.status == 422);
  CHECK(r.body.find("\"attempts_left\":2") != std::string::npos);
  r = post(stack, base + "/otp/verify", "{" + who + R"(,"code":")" + code + "\"}", browser);
  REQUIRE(r.status == 200);

  // Verified: another send short-circuits (no new outreach request).
  r = post(stack, base + "/otp/send", "{" + who + "}", browser);
  CHECK(r.status == 200);
  CHECK(r.body.find("verified") != std::string::npos);
  CHECK(read_events(stack, "outreach.requested").size() == 1);

  // Submit, repeat (idempotent), then an interest form never downgrades.
  r = post(stack, base + "/submit", form, browser);
  REQUIRE(r.status == 200);
  auto first = parse_json(r.body);
  CHECK(std::string(first["form_status"].GetString()) == "applied");
  CHECK_FALSE(first["duplicate"].GetBool());
  r = post(stack, base + "/submit", form, browser);
  REQUIRE(r.status == 200);
  auto second = parse_json(r.body);
  CHECK(second["duplicate"].GetBool());
  CHECK(std::string(second["event_id"].GetString()) == first["event_id"].GetString());
  r = post(stack, base + "/submit",
           R"({"campaign":"drone-2027","form_type":"interest","name":"Ana Souza","phone":"+5511987654321"})",
           browser);
  REQUIRE(r.status == 200);
  CHECK(std::string(parse_json(r.body)["form_status"].GetString()) == "applied");
  auto subs = read_events(stack, "ingest.campaign.submission");
  REQUIRE(subs.size() == 3);
  CHECK(subs[0].id == subs[1].id);
  for (const auto& ev : subs) CHECK(events::SchemaSet::builtin().validate(ev.type, ev.data).empty());
  CHECK(subs[2].data.find("\"status\":\"applied\"") != std::string::npos);
  CHECK(subs[2].data.find("\"did_application_form\":true") != std::string::npos);

  // Invalid form: 400 naming the field.
  r = post(stack, base + "/submit", R"({"campaign":"drone-2027","form_type":"brochure","name":"A","phone":"+5511987654321"})",
           browser);
  CHECK(r.status == 400);
  CHECK(r.body.find("form_type") != std::string::npos);

  // Another phone: too many wrong codes burn the code (429 + Retry-After), the
  // per-phone window answers 429 + Retry-After too.
  const std::string who2 = R"("campaign":"drone-2027","phone":"+5511912345678")";
  REQUIRE(post(stack, base + "/otp/send", "{" + who2 + "}", browser).status == 200);
  const auto code2 = last_code(stack, "+5511912345678");
  const std::string wrong2 = code2 == "000000" ? "111111" : "000000";
  CHECK(post(stack, base + "/otp/verify", "{" + who2 + R"(,"code":")" + wrong2 + "\"}", browser).status == 422);
  CHECK(post(stack, base + "/otp/verify", "{" + who2 + R"(,"code":")" + wrong2 + "\"}", browser).status == 422);
  r = post(stack, base + "/otp/verify", "{" + who2 + R"(,"code":")" + wrong2 + "\"}", browser);
  CHECK(r.status == 429);
  CHECK(r.header("retry-after") != nullptr);
  CHECK(post(stack, base + "/otp/verify", "{" + who2 + R"(,"code":")" + code2 + "\"}", browser).status == 422);
  REQUIRE(post(stack, base + "/otp/send", "{" + who2 + "}", browser).status == 200);
  REQUIRE(post(stack, base + "/otp/send", "{" + who2 + "}", browser).status == 200);
  r = post(stack, base + "/otp/send", "{" + who2 + "}", browser);
  CHECK(r.status == 429);
  REQUIRE(r.header("retry-after") != nullptr);
  CHECK(std::stoi(*r.header("retry-after")) > 3000);
  REQUIRE(r.header("access-control-allow-origin") != nullptr);  // the page can read the 429

  // Oversize body: 413.
  CHECK(post(stack, base + "/submit", std::string(20000, ' ') + form, browser).status == 413);
  CHECK(metric(stack, R"(leadpipe_ingest_rejected_total{channel="campaign_form",reason="rate_limited_phone_limit"})") == 1);
  CHECK(metric(stack, R"(leadpipe_ingest_published_total{channel="campaign_form",topic="ingest.campaign.submission"})") == 3);
}

namespace {

const std::string kForm = R"({"campaign":"drone-2027","form_type":"interest","name":"Ana Souza","phone":"PHONE"})";

std::string form_for(const std::string& phone) {
  std::string f = kForm;
  f.replace(f.find("PHONE"), 5, phone);
  return f;
}

std::string otp_body(const std::string& phone) { return R"({"campaign":"drone-2027","phone":")" + phone + "\"}"; }

void check_429(const httpclient::ClientResponse& r) {
  CHECK(r.status == 429);
  REQUIRE(r.header("retry-after") != nullptr);
  CHECK(std::stoi(*r.header("retry-after")) >= 1);
  REQUIRE(r.header("content-type") != nullptr);
  CHECK(r.header("content-type")->find("application/problem+json") != std::string::npos);
}

}  // namespace

TEST_CASE("per-IP limits: X-Forwarded-For from an untrusted peer is ignored, submits are rate-limited", "[e2e]") {
  // A proxy range is configured, but the test connects from 127.0.0.1, which is
  // not in it: the forwarding headers are the client's own words.
  Stack stack({{"INGEST_TRUSTED_PROXIES", "10.0.0.0/8"}, {"INGEST_OTP_RESEND_COOLDOWN_S", "0"},
               {"INGEST_OTP_MAX_PER_IP", "2"}, {"INGEST_FORM_SUBMIT_MAX_PER_PHONE", "2"},
               {"INGEST_FORM_SUBMIT_MAX_PER_IP", "3"}, {"INGEST_TENANT_CACHE_TTL_S", "0"}});
  stack.leadctl({"campaign", "site", "set", "--tenant", "demo", "--origins", kOrigin});
  const std::string base = "/api/v1/forms/demo";

  // OTP sends: a fresh spoofed address per request does not buy a fresh window.
  auto r = post(stack, base + "/otp/send", otp_body("+5511900000001"), {{"X-Forwarded-For", "198.51.100.1"}});
  INFO(r.body << "\n" << stack.log_tail("ingest-gateway"));
  REQUIRE(r.status == 200);
  REQUIRE(post(stack, base + "/otp/send", otp_body("+5511900000002"),
               {{"X-Forwarded-For", "198.51.100.2"}, {"Forwarded", "for=198.51.100.2"}})
              .status == 200);
  check_429(post(stack, base + "/otp/send", otp_body("+5511900000003"), {{"X-Forwarded-For", "198.51.100.3"}}));
  check_429(post(stack, base + "/otp/send", otp_body("+5511900000004"), {{"Forwarded", "for=198.51.100.4"}}));
  CHECK(metric(stack, R"(leadpipe_ingest_rejected_total{channel="campaign_form",reason="rate_limited_ip_limit"})") == 2);
  CHECK(read_events(stack, "outreach.requested").size() == 2);

  // Form submits: per phone (unverified attempts count too, so hammering the
  // endpoint is limited before the verification lookup)...
  CHECK(post(stack, base + "/submit", form_for("+5511900000011")).status == 403);
  CHECK(post(stack, base + "/submit", form_for("+5511900000011")).status == 403);
  check_429(post(stack, base + "/submit", form_for("+5511900000011")));
  CHECK(metric(stack,
               R"(leadpipe_ingest_rejected_total{channel="campaign_form",reason="rate_limited_submit_phone_limit"})") ==
        1);
  // ...and per IP across phones (the refused attempt above was not counted),
  // whatever X-Forwarded-For says; the 429 carries the CORS headers.
  CHECK(post(stack, base + "/submit", form_for("+5511900000012"), {{"X-Forwarded-For", "203.0.113.5"}}).status ==
        403);
  r = post(stack, base + "/submit", form_for("+5511900000013"),
           {{"X-Forwarded-For", "203.0.113.6"}, {"Origin", kOrigin}});
  check_429(r);
  REQUIRE(r.header("access-control-allow-origin") != nullptr);
  CHECK(metric(stack,
               R"(leadpipe_ingest_rejected_total{channel="campaign_form",reason="rate_limited_submit_ip_limit"})") == 1);
  CHECK(read_events(stack, "ingest.campaign.submission").empty());
}

TEST_CASE("per-IP limits behind a trusted proxy count the right-most untrusted hop", "[e2e]") {
  Stack stack({{"INGEST_TRUSTED_PROXIES", "127.0.0.1/32"}, {"INGEST_OTP_RESEND_COOLDOWN_S", "0"},
               {"INGEST_OTP_MAX_PER_IP", "2"}, {"INGEST_TENANT_CACHE_TTL_S", "0"}});
  stack.leadctl({"campaign", "site", "set", "--tenant", "demo", "--origins", kOrigin});
  const std::string base = "/api/v1/forms/demo";
  auto send = [&](const std::string& phone, Headers h) { return post(stack, base + "/otp/send", otp_body(phone), h); };

  // Client 192.0.2.1 behind our proxy (127.0.0.1): two sends, then its window is full.
  REQUIRE(send("+5511900000021", {{"X-Forwarded-For", "192.0.2.1"}}).status == 200);
  REQUIRE(send("+5511900000022", {{"X-Forwarded-For", "192.0.2.1"}}).status == 200);
  check_429(send("+5511900000023", {{"X-Forwarded-For", "192.0.2.1"}}));
  // It cannot escape by writing its own X-Forwarded-For: the proxy appends the
  // real address on the right, and that is what counts.
  check_429(send("+5511900000024", {{"X-Forwarded-For", "203.0.113.77, 192.0.2.1"}}));
  // Another client behind the same proxy has its own window; Forwarded wins
  // over X-Forwarded-For.
  CHECK(send("+5511900000025", {{"X-Forwarded-For", "192.0.2.1"}, {"Forwarded", "for=192.0.2.2;proto=https"}})
            .status == 200);
  CHECK(send("+5511900000026", {{"X-Forwarded-For", "9.9.9.9, 192.0.2.2"}}).status == 200);
  check_429(send("+5511900000027", {{"Forwarded", "for=\"192.0.2.2:4711\""}}));
  // Without a header the proxy itself is the client.
  CHECK(send("+5511900000028", {}).status == 200);
}
