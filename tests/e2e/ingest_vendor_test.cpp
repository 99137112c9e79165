// ingest-gateway's vendor lead API end to end: real binary, real PostgreSQL
// (hashed keys) and real Kafka (ingest.vendor.lead).
#include <catch2/catch.hpp>

#include <sstream>

#include <leadpipe/events/schema.hpp>

#include "ingest_common.hpp"

using namespace leadpipe;
using namespace leadpipe::e2e;

namespace {

// "id\t<uuid>\nkey\t<key>\n…" → {id, key}
std::pair<std::string, std::string> create_key(const Stack& stack, const std::string& tenant,
                                               const std::string& vendor) {
  const auto out = stack.leadctl({"vendor", "key", "create", "--tenant", tenant, "--vendor", vendor});
  std::istringstream in(out);
  std::string line, id, key;
  while (std::getline(in, line)) {
    if (line.rfind("id\t", 0) == 0) id = line.substr(3);
    if (line.rfind("key\t", 0) == 0) key = line.substr(4);
  }
  REQUIRE(!id.empty());
  REQUIRE(key.rfind("lpk_", 0) == 0);
  return {id, key};
}

}  // namespace

TEST_CASE("vendor leads: sample batch, re-push, keys, malformed, oversize", "[e2e]") {
  Stack stack({{"INGEST_API_KEY_CACHE_TTL_S", "0"}, {"INGEST_VENDOR_BODY_LIMIT", "65536"}});
  const auto [key_id, key] = create_key(stack, "demo", "collegedunia");
  const auto sample_body = e2e::sample("vendor/leads_batch.json");
  const auto schemas = &events::SchemaSet::builtin();

  // The sample: 2 accepted (international number; local number + country hint), 1 rejected with reasons.
  auto r = post(stack, "/api/v1/vendor/leads", sample_body, {{"X-Api-Key", key}});
  INFO(r.body << "\n" << stack.log_tail("ingest-gateway"));
  REQUIRE(r.status == 207);
  auto body = parse_json(r.body);
  CHECK(body["accepted"].GetInt() == 2);
  CHECK(body["rejected"].GetInt() == 1);
  const auto& results = body["results"];
  CHECK(std::string(results[0]["phone"].GetString()) == "+919820144512");
  CHECK(std::string(results[1]["phone"].GetString()) == "+919845012377");
  CHECK(std::string(results[2]["status"].GetString()) == "rejected");
  CHECK(results[2]["errors"].Size() >= 2);
  const std::string first_id = results[0]["event_id"].GetString();

  auto evs = read_events(stack, "ingest.vendor.lead");
  REQUIRE(evs.size() == 2);
  for (const auto& ev : evs) {
    CHECK(ev.tenant == "demo");
    CHECK(ev.type == "ingest.vendor.lead");
    CHECK(schemas->validate(ev.type, ev.data).empty());
  }
  CHECK(evs[0].id == first_id);
  CHECK(metric(stack, R"(leadpipe_ingest_published_total{channel="vendor",topic="ingest.vendor.lead"})") == 2);
  CHECK(metric(stack, R"(leadpipe_ingest_rejected_total{channel="vendor",reason="invalid_lead"})") == 1);

  // A re-push is accepted again with the same event ids: consumers drop it as a duplicate.
  r = post(stack, "/api/v1/vendor/leads", sample_body, {{"X-Api-Key", key}});
  REQUIRE(r.status == 207);
  evs = read_events(stack, "ingest.vendor.lead");
  REQUIRE(evs.size() == 4);
  CHECK(evs[2].id == evs[0].id);
  CHECK(evs[3].id == evs[1].id);

  // A single lead (not a batch) works too.
  r = post(stack, "/api/v1/vendor/leads",
           R"({"vendor_lead_id":"S-1","name":"Rina","phone":"0812-3390-7745","country":"ID"})",
           {{"X-Api-Key", key}});
  REQUIRE(r.status == 207);
  CHECK(std::string(parse_json(r.body)["results"][0]["phone"].GetString()) == "+6281233907745");

  // Credentials: missing, wrong, another key's tenant scoping, revoked.
  r = post(stack, "/api/v1/vendor/leads", sample_body);
  CHECK(r.status == 401);
  REQUIRE(r.header("content-type") != nullptr);
  CHECK(*r.header("content-type") == "application/problem+json");
  r = post(stack, "/api/v1/vendor/leads", sample_body, {{"X-Api-Key", key + "x"}});
  CHECK(r.status == 401);
  const auto [other_id, other_key] = create_key(stack, "acme", "shiksha");
  r = post(stack, "/api/v1/vendor/leads", R"({"vendor_lead_id":"A-1","name":"Ana","phone":"+919820144512"})",
           {{"X-Api-Key", other_key}});
  REQUIRE(r.status == 207);
  evs = read_events(stack, "ingest.vendor.lead");
  CHECK(evs.back().tenant == "acme");
  CHECK(evs.back().data.find("\"vendor\":\"shiksha\"") != std::string::npos);
  stack.leadctl({"vendor", "key", "revoke", "--id", other_id});
  r = post(stack, "/api/v1/vendor/leads", R"({"vendor_lead_id":"A-2","name":"Ana","phone":"+919820144512"})",
           {{"X-Api-Key", other_key}});
  CHECK(r.status == 401);
  CHECK(stack.leadctl({"vendor", "key", "list", "--tenant", "acme"}).find("revoked") != std::string::npos);
  CHECK(metric(stack, R"(leadpipe_ingest_rejected_total{channel="vendor",reason="api_key"})") == 3);

  // Malformed bodies: nothing published.
  const auto before = stack.topic_size("ingest.vendor.lead");
  r = post(stack, "/api/v1/vendor/leads", "{not json", {{"X-Api-Key", key}});
  CHECK(r.status == 400);
  r = post(stack, "/api/v1/vendor/leads", R"({"leads":"nope"})", {{"X-Api-Key", key}});
  CHECK(r.status == 400);
  std::string too_many = R"({"leads":[)";
  for (int i = 0; i < 501; ++i) too_many += std::string(i ? "," : "") + "{}";
  too_many += "]}";
  r = post(stack, "/api/v1/vendor/leads", too_many, {{"X-Api-Key", key}});
  CHECK(r.status == 400);
  r = httpclient::request("POST", stack.ingest_url() + "/api/v1/vendor/leads",
                          {{"X-Api-Key", key}, {"Content-Type", "text/csv"}}, "a,b");
  CHECK(r.status == 415);
  // Oversize (INGEST_VENDOR_BODY_LIMIT=64 KiB here): 413 before the body is read.
  r = post(stack, "/api/v1/vendor/leads", std::string(70000, ' ') + sample_body, {{"X-Api-Key", key}});
  CHECK(r.status == 413);
  CHECK(stack.topic_size("ingest.vendor.lead") == before);
}
