// Outreach and lead-store end to end through the real lead-store binary and
// the test Kafka: a CRM message is requested (outreach.requested on Kafka via
// the outbox), outreach's results (produced here as outreach would) update
// the same timeline entry and move the lead to contacted; replays of each
// topic change nothing.
#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <memory>

#include <leadpipe/events/cloud_event.hpp>
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

struct Outreach {
  explicit Outreach(const Stack& s) {
    kafka::ProducerConfig cfg;
    cfg.client.brokers = testing::kafka_brokers();
    cfg.client.topic_prefix = s.prefix();
    cfg.client.client_id = "leads-outreach-e2e";
    producer = std::make_unique<kafka::Producer>(cfg, log::root());
  }
  void send(const std::string& type, const std::string& id, const std::string& data) {
    auto ev = events::make(type, "/outreach", "demo", "", data);
    ev.id = id;
    REQUIRE(producer->send_sync({type, "demo:+6281355556666", events::to_json(ev), {}}).ok);
  }
  std::unique_ptr<kafka::Producer> producer;
};

std::string sent(const std::string& rid, const std::string& mid) {
  return R"({"request_id":)" + (rid.empty() ? std::string("null") : "\"" + rid + "\"") +
         R"(,"message_id":")" + mid +
         R"(","channel":"whatsapp","to":"+6281355556666","purpose":"crm","sent_at":"2026-01-15T10:02:00Z",)"
         R"("sender":{"kind":"counsellor","user_id":"admin-1"},"message":{"kind":"template","template":"followup_1",)"
         R"("text":"Halo Budi, ada yang bisa kami bantu?"}})";
}

std::string read(const std::string& mid) {
  return R"({"message_id":")" + mid +
         R"(","channel":"whatsapp","to":"+6281355556666","status":"read","at":"2026-01-15T10:03:10Z"})";
}

}  // namespace

TEST_CASE(
    "CRM message through Kafka: requested, sent, read on one timeline entry, replays change "
    "nothing",
    "[e2e]") {
  Stack stack;
  const auto admin = stack.token("demo", "admin");
  auto call = [&](const std::string& method, const std::string& path,
                  const std::string& body = "") {
    std::vector<std::pair<std::string, std::string>> headers{{"Authorization", "Bearer " + admin}};
    if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
    return httpclient::request(method, stack.leads_url() + path, headers, body);
  };
  auto created =
      call("POST", "/api/v1/leads", R"({"name":"Budi Santoso","phone":"+6281355556666"})");
  REQUIRE(created.status == 201);
  const std::string L = "/api/v1/leads/" + std::string(parse(created.body)["id"].GetString());

  auto requested = call("POST", L + "/messages",
                        R"({"channel":"whatsapp","template":"followup_1","language":"id"})");
  REQUIRE(requested.status == 202);
  const std::string rid = parse(requested.body)["request_id"].GetString();
  // The outbox relay publishes outreach.requested for the outreach service.
  CHECK(testing::wait_until([&] {
    for (const auto& v : stack.read_topic("outreach.requested")) {
      if (v.find(rid) != std::string::npos) return true;
    }
    return false;
  }));

  auto outreach_entries = [&](std::string* status) {
    auto d = parse(call("GET", L).body);
    int n = 0;
    for (const auto& t : d["timeline"].GetArray()) {
      if (std::string(t["kind"].GetString()) != "outreach") continue;
      ++n;
      if (status) *status = t["payload"]["status"].GetString();
    }
    return n;
  };
  std::string status;
  CHECK(outreach_entries(&status) == 1);
  CHECK(status == "pending");

  Outreach outreach(stack);
  const auto sent1 = events::uuid_v4(), read1 = events::uuid_v4();
  outreach.send("outreach.sent", sent1, sent(rid, "m-1"));
  outreach.send("outreach.delivered", read1, read("m-1"));
  CHECK(testing::wait_until([&] { return outreach_entries(&status) == 1 && status == "read"; },
                            std::chrono::seconds(20)));
  auto lead = parse(call("GET", L).body);
  CHECK(std::string(lead["stage"].GetString()) == "contacted");
  const int version = lead["version"].GetInt();

  // Replays (same event ids), then a marker message on each topic: once the
  // markers are in, the replays before them on the same partition were consumed.
  for (int i = 0; i < 2; ++i) {
    outreach.send("outreach.sent", sent1, sent(rid, "m-1"));
    outreach.send("outreach.delivered", read1, read("m-1"));
  }
  outreach.send("outreach.sent", events::uuid_v4(), sent("", "m-2"));
  outreach.send("outreach.delivered", events::uuid_v4(), read("m-2"));
  CHECK(testing::wait_until(
      [&] {
        auto d = parse(call("GET", L).body);
        int read_entries = 0;
        for (const auto& t : d["timeline"].GetArray()) {
          if (std::string(t["kind"].GetString()) == "outreach" &&
              std::string(t["payload"]["status"].GetString()) == "read") {
            ++read_entries;
          }
        }
        return read_entries == 2;
      },
      std::chrono::seconds(20)));
  CHECK(outreach_entries(nullptr) == 2);
  lead = parse(call("GET", L).body);
  CHECK(std::string(lead["stage"].GetString()) == "contacted");
  // The second message updated only last_contacted_at (one version); the replays nothing.
  CHECK(lead["version"].GetInt() == version + 1);
  int stage_changes = 0;
  for (const auto& h : lead["stage_history"].GetArray()) {
    (void)h;
    ++stage_changes;
  }
  CHECK(stage_changes == 1);
}
