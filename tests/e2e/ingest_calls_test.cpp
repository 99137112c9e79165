// POST /webhooks/calls end to end: per-integration HMAC secrets from leadctl,
// real Kafka (ingest.call.completed).
#include <catch2/catch.hpp>

#include <ctime>
#include <sstream>

#include <leadpipe/auth/crypto.hpp>
#include <leadpipe/events/schema.hpp>

#include "ingest_common.hpp"

using namespace leadpipe;
using namespace leadpipe::e2e;

namespace {

Headers signed_headers(const std::string& integration, const std::string& secret, const std::string& body,
                       long long ts = static_cast<long long>(std::time(nullptr))) {
  const auto t = std::to_string(ts);
  return {{"X-Leadpipe-Integration", integration},
          {"X-Leadpipe-Timestamp", t},
          {"X-Leadpipe-Signature", "sha256=" + auth::hmac_sha256_hex(secret, t + "." + body)}};
}

}  // namespace

TEST_CASE("call transcripts: signed per integration, published once per call id", "[e2e]") {
  Stack stack({{"INGEST_API_KEY_CACHE_TTL_S", "0"}, {"INGEST_CALL_BODY_LIMIT", "65536"}});
  const auto out = stack.leadctl({"calls", "integration", "create", "--tenant", "demo", "--id", "aarya-1",
                                  "--provider", "aarya"});
  std::string secret;
  {
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("secret\t", 0) == 0) secret = line.substr(7);
    }
  }
  REQUIRE(secret.size() == 64);
  const std::string body = R"({"call_id":"call-42","direction":"inbound","from":"+919845012377",
    "to":"+918044556677","started_at":"2026-01-15T10:02:00Z","ended_at":"2026-01-15T10:06:31Z",
    "duration_seconds":271,"outcome":"completed","recording_url":"https://rec.example.com/42.mp3",
    "turns":[{"speaker":"bot","text":"Hello from admissions"},{"speaker":"customer","text":"I am Priya Nair"}]})";

  auto r = post(stack, "/webhooks/calls", body, signed_headers("aarya-1", secret, body));
  INFO(r.body << "\n" << stack.log_tail("ingest-gateway"));
  REQUIRE(r.status == 200);
  auto evs = read_events(stack, "ingest.call.completed");
  REQUIRE(evs.size() == 1);
  CHECK(evs[0].tenant == "demo");
  CHECK(evs[0].subject == "+919845012377");
  CHECK(events::SchemaSet::builtin().validate(evs[0].type, evs[0].data).empty());
  CHECK(evs[0].data.find("I am Priya Nair") != std::string::npos);

  // Redelivery: same event id.
  r = post(stack, "/webhooks/calls", body, signed_headers("aarya-1", secret, body));
  REQUIRE(r.status == 200);
  evs = read_events(stack, "ingest.call.completed");
  REQUIRE(evs.size() == 2);
  CHECK(evs[1].id == evs[0].id);

  // Bad signatures, unknown integration, replayed (stale) timestamp: 401, nothing published.
  auto tampered = signed_headers("aarya-1", secret, body);
  r = post(stack, "/webhooks/calls", body + " ", tampered);
  CHECK(r.status == 401);
  r = post(stack, "/webhooks/calls", body, signed_headers("aarya-1", "wrong-secret", body));
  CHECK(r.status == 401);
  r = post(stack, "/webhooks/calls", body, signed_headers("nobody", secret, body));
  CHECK(r.status == 401);
  r = post(stack, "/webhooks/calls", body, signed_headers("aarya-1", secret, body, std::time(nullptr) - 3600));
  CHECK(r.status == 401);
  r = post(stack, "/webhooks/calls", body);
  CHECK(r.status == 401);
  CHECK(metric(stack, R"(leadpipe_ingest_rejected_total{channel="call",reason="signature"})") == 2);
  CHECK(metric(stack, R"(leadpipe_ingest_rejected_total{channel="call",reason="stale_timestamp"})") == 1);

  // Malformed (signed) body: 400 naming the field.
  const std::string bad = R"({"call_id":"x","direction":"up","from":"1","to":"2","started_at":1,"outcome":"x"})";
  r = post(stack, "/webhooks/calls", bad, signed_headers("aarya-1", secret, bad));
  CHECK(r.status == 400);
  CHECK(r.body.find("direction") != std::string::npos);
  // Oversize: 413.
  const std::string huge(70000, 'x');
  r = post(stack, "/webhooks/calls", huge, signed_headers("aarya-1", secret, huge));
  CHECK(r.status == 413);

  // A revoked integration is refused.
  stack.leadctl({"calls", "integration", "revoke", "--id", "aarya-1"});
  r = post(stack, "/webhooks/calls", body, signed_headers("aarya-1", secret, body));
  CHECK(r.status == 401);
  CHECK(stack.topic_size("ingest.call.completed") == 2);
  CHECK(metric(stack, R"(leadpipe_ingest_published_total{channel="call",topic="ingest.call.completed"})") == 2);
}
