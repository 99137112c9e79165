// End to end through the real binaries, PostgreSQL and Kafka: a WhatsApp
// webhook becomes one lead, visible in the CRM API and announced on lead.created.
#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <pqxx/pqxx>

#include <leadpipe/kafka/kafka.hpp>
#include <leadpipe/log/log.hpp>
#include <leadpipe/testing/infra.hpp>

#include "stack.hpp"

using namespace leadpipe;
using leadpipe::e2e::Stack;

namespace {

rapidjson::Document parse(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str(), text.size());
  return d;
}

httpclient::ClientResponse get(const std::string& url, const std::string& token) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
  return httpclient::request("GET", url, headers);
}

long long count(const std::string& db_url, const std::string& sql) {
  pqxx::connection c(db_url);
  pqxx::read_transaction tx(c);
  return tx.exec1(sql)[0].as<long long>();
}

// Polls the list until `n` leads are visible; returns the last body.
rapidjson::Document wait_for_leads(const Stack& stack, const std::string& token, std::size_t n) {
  rapidjson::Document body;
  const bool ok = testing::wait_until(
      [&] {
        auto r = get(stack.leads_url() + "/api/v1/leads", token);
        if (r.status != 200) return false;
        body = parse(r.body);
        return body.IsObject() && body["items"].Size() >= n;
      },
      std::chrono::seconds(15));
  INFO("extractor log:\n" << stack.log_tail("contact-extractor") << "\nlead-store log:\n"
                          << stack.log_tail("lead-store"));
  REQUIRE(ok);
  return body;
}

}  // namespace

TEST_CASE("a signed WhatsApp message becomes one lead and one lead.created", "[e2e]") {
  Stack stack;
  const auto body = e2e::sample("whatsapp/inbound_text.json");
  const auto token = stack.token("demo", "admin");

  // Meta retries: the same delivery three times must yield one of everything.
  for (int i = 0; i < 3; ++i) {
    auto r = stack.post_whatsapp(body);
    INFO(r.body << "\n" << stack.log_tail("ingest-gateway"));
    REQUIRE(r.status == 200);
  }

  auto list = wait_for_leads(stack, token, 1);
  REQUIRE(list["items"].Size() == 1);
  CHECK(list["total"].GetInt() == 1);
  const auto& lead = list["items"][0];
  CHECK(std::string(lead["name"].GetString()) == "Budi Santoso");
  CHECK(std::string(lead["phone"].GetString()) == "+6281234567890");
  const std::string stage = lead["stage"].GetString();
  CHECK((stage == "new" || stage == "incomplete"));
  const std::string lead_id = lead["id"].GetString();

  // lead.created carries the lead id, tenant, version 1 and the contact fields.
  std::vector<std::string> created;
  REQUIRE(testing::wait_until([&] {
    created = stack.read_topic("lead.created");
    return !created.empty();
  }));
  REQUIRE(created.size() == 1);
  auto ev = parse(created[0]);
  CHECK(std::string(ev["specversion"].GetString()) == "1.0");
  CHECK(std::string(ev["type"].GetString()) == "lead.created");
  CHECK(std::string(ev["tenantid"].GetString()) == "demo");
  CHECK(std::string(ev["data"]["lead_id"].GetString()) == lead_id);
  CHECK(ev["data"]["version"].GetInt() == 1);
  CHECK(std::string(ev["data"]["name"].GetString()) == "Budi Santoso");
  CHECK(std::string(ev["data"]["phone"].GetString()) == "+6281234567890");

  // Three deliveries reached Kafka (the gateway is stateless about retries)…
  CHECK(stack.topic_size("ingest.whatsapp.inbound") == 3);
  // …but the extractor processed the message once and the lead store saw one capture.
  CHECK(count(stack.db_url(), "SELECT count(*) FROM extraction.processed_events") == 1);
  CHECK(count(stack.db_url(), "SELECT count(*) FROM leads.leads") == 1);
  CHECK(count(stack.db_url(), "SELECT count(*) FROM leads.lead_activities") == 1);
  CHECK(stack.topic_size("contact.extracted") == 1);
  CHECK(stack.topic_size("lead.updated") == 0);

  // Detail view: capture metadata says where the name came from.
  auto detail = get(stack.leads_url() + "/api/v1/leads/" + lead_id, token);
  REQUIRE(detail.status == 200);
  auto d = parse(detail.body);
  REQUIRE(d["captures"].IsArray());
  bool name_from_rule = false;
  for (const auto& c : d["captures"].GetArray()) {
    if (std::string(c["field"].GetString()) == "name" && std::string(c["value"].GetString()) == "Budi Santoso") {
      name_from_rule = std::string(c["layer"].GetString()) != "profile";
      CHECK(std::string(c["message_id"].GetString()).rfind("wamid.", 0) == 0);
    }
  }
  CHECK(name_from_rule);

  // Tenancy: another tenant sees nothing, and the lead is a 404 to them.
  const auto other = stack.token("other-school", "admin");
  auto other_list = parse(get(stack.leads_url() + "/api/v1/leads", other).body);
  CHECK(other_list["items"].Size() == 0);
  CHECK(get(stack.leads_url() + "/api/v1/leads/" + lead_id, other).status == 404);
  // A counsellor sees only leads assigned to them (none yet).
  const auto counselor = stack.token("demo", "counselor");
  CHECK(get(stack.leads_url() + "/api/v1/leads/" + lead_id, counselor).status == 404);
  // No token, or a forged one: 401 problem+json.
  auto anon = get(stack.leads_url() + "/api/v1/leads", "");
  CHECK(anon.status == 401);
  CHECK(anon.headers["content-type"].find("application/problem+json") != std::string::npos);
  CHECK(get(stack.leads_url() + "/api/v1/leads", token + "x").status == 401);
}

TEST_CASE("bad signatures and malformed bodies are refused and publish nothing", "[e2e]") {
  Stack stack;
  const auto body = e2e::sample("whatsapp/inbound_text.json");

  auto unsigned_r = stack.post_whatsapp(body, /*sign=*/false);
  CHECK(unsigned_r.status == 401);
  CHECK(unsigned_r.headers["content-type"].find("application/problem+json") != std::string::npos);

  // Signed, then tampered with: the signature covers the raw bytes.
  auto tampered = body;
  tampered.replace(tampered.find("Budi Santoso"), 12, "Eve Attacker");
  {
    std::vector<std::pair<std::string, std::string>> headers{
        {"Content-Type", "application/json"},
        {"X-Hub-Signature-256", "sha256=" + std::string(64, '0')}};
    CHECK(httpclient::request("POST", stack.ingest_url() + "/webhooks/whatsapp", headers, tampered).status == 401);
  }

  auto malformed = stack.post_whatsapp(R"({"object":"whatsapp_business_account","entry":[{"changes":"nope"}]})");
  CHECK(malformed.status == 400);
  auto problem = parse(malformed.body);
  REQUIRE(problem.IsObject());
  CHECK(problem["status"].GetInt() == 400);
  CHECK(problem.HasMember("title"));
  CHECK(problem.HasMember("detail"));
  CHECK(stack.post_whatsapp("{not json").status == 400);

  CHECK(stack.topic_size("ingest.whatsapp.inbound") == 0);

  // The verification handshake echoes the challenge only for the right token.
  auto ok = httpclient::request(
      "GET", stack.ingest_url() +
                 "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=e2e-verify-token&hub.challenge=1158201444");
  CHECK(ok.status == 200);
  CHECK(ok.body == "1158201444");
  CHECK(httpclient::request("GET", stack.ingest_url() +
                                       "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1")
            .status == 403);
}

TEST_CASE("an unmapped business number is refused loudly, counted, and never becomes a lead", "[e2e]") {
  Stack stack;
  auto body = e2e::sample("whatsapp/inbound_text.json");
  body.replace(body.find("109876543210987"), 15, "999999999999999");
  auto r = stack.post_whatsapp(body);
  CHECK(r.status == 200);  // Meta must not retry forever; the rejection is logged and counted
  CHECK(r.body.find("\"unknown_number\":1") != std::string::npos);
  CHECK(stack.topic_size("ingest.whatsapp.inbound") == 0);
  auto metrics = httpclient::request("GET", stack.ingest_url() + "/metrics");
  CHECK(metrics.body.find("reason=\"unknown_phone_number_id\"") != std::string::npos);
}

TEST_CASE("a poison event is dead-lettered and the consumer keeps going", "[e2e]") {
  Stack stack;
  // Write garbage straight onto the extractor's input topic, then a real message.
  {
    kafka::ClientConfig client;
    client.brokers = testing::kafka_brokers();
    client.topic_prefix = stack.prefix();
    client.client_id = "e2e-poison";
    kafka::Producer producer({.client = client}, log::root());
    auto r = producer.send_sync({"ingest.whatsapp.inbound", "demo:poison", "{\"not\":\"a cloudevent\"}", {}});
    REQUIRE(r.ok);
  }
  REQUIRE(stack.post_whatsapp(e2e::sample("whatsapp/inbound_text.json")).status == 200);
  wait_for_leads(stack, stack.token("demo", "admin"), 1);
  REQUIRE(testing::wait_until([&] { return stack.topic_size("ingest.whatsapp.inbound.dlq") == 1; }));
}

TEST_CASE("a lead-store restart loses nothing and doubles nothing", "[e2e]") {
  Stack stack;
  const auto token = stack.token("demo", "admin");
  stack.stop("lead-store");
  // Messages arrive while lead-store is down.
  REQUIRE(stack.post_whatsapp(e2e::sample("whatsapp/inbound_batch_two_users.json")).status == 200);
  REQUIRE(testing::wait_until([&] { return stack.topic_size("contact.extracted") >= 2; }));
  stack.start("lead-store");
  auto list = wait_for_leads(stack, token, 2);
  CHECK(list["total"].GetInt() == 2);
  // Replaying the same webhook after the restart changes nothing.
  REQUIRE(stack.post_whatsapp(e2e::sample("whatsapp/inbound_batch_two_users.json")).status == 200);
  REQUIRE(testing::wait_until([&] {
    return count(stack.db_url(), "SELECT count(*) FROM leads.processed_events") >= 2;
  }));
  CHECK(count(stack.db_url(), "SELECT count(*) FROM leads.leads") == 2);
  // The relay publishes right after each commit: both, and only both.
  CHECK(testing::wait_until([&] { return stack.topic_size("lead.created") >= 2; }));
  CHECK(count(stack.db_url(), "SELECT count(*) FROM leads.outbox WHERE published_at IS NULL") == 0);
  CHECK(stack.topic_size("lead.created") == 2);
}
