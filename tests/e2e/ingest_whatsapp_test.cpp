// The WhatsApp webhook channel at the gateway's edge, through real HTTP into
// the real Kafka: a duplicate delivery keeps its event id, statuses reach
// ingest.whatsapp.status, oversize bodies are refused, and the per-channel
// metrics (received, rejected by reason, published, publish latency) count.
// (Lead creation, bad signatures and malformed bodies: whatsapp_to_lead_test.cpp;
// Kafka outages: ingest_kafka_test.cpp.)
#include <catch2/catch.hpp>

#include <leadpipe/auth/crypto.hpp>
#include <leadpipe/events/schema.hpp>

#include "ingest_common.hpp"

using namespace leadpipe;
using namespace leadpipe::e2e;

TEST_CASE("whatsapp webhook: duplicate keeps its id, statuses, oversize, per-channel metrics", "[e2e]") {
  Stack stack(std::map<std::string, std::string>{{"INGEST_WEBHOOK_BODY_LIMIT", "65536"}});
  const auto text = e2e::sample("whatsapp/inbound_text.json");

  // Meta delivers the same notification twice: both acknowledged, both events
  // carry the same id (derived from tenant + wamid), so consumers drop the second.
  auto r = stack.post_whatsapp(text);
  INFO(r.body << "\n" << stack.log_tail("ingest-gateway"));
  REQUIRE(r.status == 200);
  CHECK(r.body.find("\"events\":1") != std::string::npos);
  REQUIRE(stack.post_whatsapp(text).status == 200);
  auto inbound = read_events(stack, "ingest.whatsapp.inbound");
  REQUIRE(inbound.size() == 2);
  CHECK(inbound[0].id == inbound[1].id);
  CHECK(inbound[0].type == "ingest.whatsapp.inbound");
  CHECK(events::SchemaSet::builtin().validate(inbound[0].type, inbound[0].data).empty());

  // Delivery statuses go to their own topic.
  REQUIRE(stack.post_whatsapp(e2e::sample("whatsapp/statuses.json")).status == 200);
  const auto statuses = read_events(stack, "ingest.whatsapp.status");
  REQUIRE_FALSE(statuses.empty());
  for (const auto& ev : statuses) CHECK(events::SchemaSet::builtin().validate(ev.type, ev.data).empty());

  // Oversize (limit 64 KiB here; Meta's 3 MB by default): 413 problem+json, nothing published.
  std::string big = text;
  big.insert(big.rfind('}'), ",\"padding\":\"" + std::string(70000, 'x') + "\"");
  r = stack.post_whatsapp(big);
  CHECK(r.status == 413);
  REQUIRE(r.header("content-type") != nullptr);
  CHECK(r.header("content-type")->find("application/problem+json") != std::string::npos);

  // A wrong signature is counted by reason.
  CHECK(httpclient::request("POST", stack.ingest_url() + "/webhooks/whatsapp",
                            {{"Content-Type", "application/json"},
                             {"X-Hub-Signature-256", "sha256=" + auth::hmac_sha256_hex("not-the-secret", text)}},
                            text)
            .status == 401);
  CHECK(stack.topic_size("ingest.whatsapp.inbound") == 2);

  const double n_status = static_cast<double>(statuses.size());
  CHECK(metric(stack, R"(leadpipe_ingest_received_total{channel="whatsapp"})") == 2);
  CHECK(metric(stack, R"(leadpipe_ingest_received_total{channel="whatsapp_status"})") == n_status);
  CHECK(metric(stack, R"(leadpipe_ingest_published_total{channel="whatsapp",topic="ingest.whatsapp.inbound"})") == 2);
  CHECK(metric(stack, R"(leadpipe_ingest_published_total{channel="whatsapp",topic="ingest.whatsapp.status"})") ==
        n_status);
  CHECK(metric(stack, R"(leadpipe_ingest_rejected_total{channel="whatsapp",reason="signature"})") == 1);
  // One publish-latency observation per acknowledged request.
  CHECK(metric(stack, R"(leadpipe_ingest_publish_latency_seconds_count{channel="whatsapp"})") == 3);
  CHECK(metric(stack, R"(leadpipe_ingest_publish_latency_seconds_sum{channel="whatsapp"})") > 0);
}
