// The other intake sources end to end: the real gateway publishes vendor
// leads and call webhooks, the real lead-store consumes them (issue 5).
#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <ctime>
#include <map>
#include <sstream>

#include <pqxx/pqxx>

#include <leadpipe/auth/crypto.hpp>
#include <leadpipe/testing/infra.hpp>

#include "stack.hpp"

using namespace leadpipe;
using leadpipe::e2e::Stack;

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

rapidjson::Document parse(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str(), text.size());
  return d;
}

httpclient::ClientResponse post(const Stack& stack, const std::string& path, const std::string& body, Headers headers) {
  headers.emplace_back("Content-Type", "application/json");
  return httpclient::request("POST", stack.ingest_url() + path, headers, body, std::chrono::seconds(20));
}

std::string token(const Stack& s, const std::string& tenant, const std::string& role) {
  auto t = s.leadctl({"token", "--tenant", tenant, "--role", role, "--sub", "e2e-" + role});
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  return t;
}

// leadctl prints "name\tvalue" lines.
std::string field(const std::string& out, const std::string& name) {
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + "\t", 0) == 0) return line.substr(name.size() + 1);
  }
  return {};
}

long long count(const Stack& stack, const std::string& sql) {
  pqxx::connection c(stack.db_url());
  pqxx::read_transaction tx(c);
  return tx.exec1(sql)[0].as<long long>();
}

rapidjson::Document list(const Stack& stack, const std::string& token, const std::string& query = "") {
  auto r = httpclient::request("GET", stack.leads_url() + "/api/v1/leads" + query,
                               {{"Authorization", "Bearer " + token}}, "");
  REQUIRE(r.status == 200);
  return parse(r.body);
}

double leads_metric(const Stack& stack, const std::string& series) {
  return e2e::scrape_metric(stack.leads_url(), series);
}

}  // namespace

TEST_CASE("vendor sample through the gateway: 2 leads in lead-store, a re-push changes nothing, a call contacts",
          "[e2e]") {
  Stack stack(std::map<std::string, std::string>{{"INGEST_API_KEY_CACHE_TTL_S", "0"}});
  const auto key = field(stack.leadctl({"vendor", "key", "create", "--tenant", "demo", "--vendor", "collegedunia"}),
                         "key");
  REQUIRE(key.rfind("lpk_", 0) == 0);
  const auto admin = token(stack, "demo", "admin");
  const auto sample = e2e::sample("vendor/leads_batch.json");

  auto r = post(stack, "/api/v1/vendor/leads", sample, {{"X-Api-Key", key}});
  INFO(r.body << "\n" << stack.log_tail("ingest-gateway"));
  REQUIRE(r.status == 207);

  const bool arrived = testing::wait_until(
      [&] { return count(stack, "SELECT count(*) FROM leads.leads WHERE tenant = 'demo'") >= 2; },
      std::chrono::seconds(20));
  INFO(stack.log_tail("lead-store"));
  REQUIRE(arrived);
  auto body = list(stack, admin, "?source=vendor");
  REQUIRE(body["total"].GetInt() == 2);
  std::map<std::string, std::string> by_phone;  // phone → id
  for (const auto& l : body["items"].GetArray()) {
    CHECK(std::string(l["stage"].GetString()) == "new");
    CHECK(l["version"].GetInt() == 1);
    CHECK(std::string(l["session_year"].GetString()) == "2027-28");
    by_phone[l["phone"].GetString()] = l["id"].GetString();
  }
  REQUIRE(by_phone.count("+919820144512"));
  REQUIRE(by_phone.count("+919845012377"));
  const auto arjun = by_phone["+919820144512"];
  CHECK(count(stack, "SELECT count(*) FROM leads.lead_identities WHERE channel = 'vendor:collegedunia'") == 2);
  CHECK(count(stack, "SELECT count(*) FROM leads.outbox WHERE topic = 'lead.created'") == 2);

  // The detail carries the vendor identity and the capture metadata.
  auto d = httpclient::request("GET", stack.leads_url() + "/api/v1/leads/" + arjun, {{"Authorization", "Bearer " + admin}},
                               "");
  REQUIRE(d.status == 200);
  CHECK(d.body.find("VND-2026-000481") != std::string::npos);
  CHECK(d.body.find("vendor:collegedunia") != std::string::npos);

  // A re-push: same event ids, lead-store treats them as duplicates.
  const auto processed = count(stack, "SELECT count(*) FROM leads.processed_events");
  r = post(stack, "/api/v1/vendor/leads", sample, {{"X-Api-Key", key}});
  REQUIRE(r.status == 207);
  const auto vendor_ok = R"(leadpipe_kafka_consumed_total{outcome="ok",topic="ingest.vendor.lead"})";
  const bool consumed = testing::wait_until([&] { return leads_metric(stack, vendor_ok) >= 4; },
                                            std::chrono::seconds(20));
  INFO(stack.log_tail("lead-store"));
  REQUIRE(consumed);
  CHECK(count(stack, "SELECT count(*) FROM leads.processed_events") == processed);
  CHECK(leads_metric(stack, R"(leadpipe_leads_intake_total{outcome="created",topic="ingest.vendor.lead"})") == 2);
  CHECK(leads_metric(stack, R"(leadpipe_leads_intake_total{outcome="duplicate",topic="ingest.vendor.lead"})") == 2);
  CHECK(count(stack, "SELECT count(*) FROM leads.leads") == 2);
  CHECK(count(stack, "SELECT sum(version) FROM leads.leads") == 2);

  // A completed call from Priya: logged on her lead, which moves to contacted.
  const auto integration = stack.leadctl({"calls", "integration", "create", "--tenant", "demo", "--id", "exo-1",
                                          "--provider", "exotel"});
  const auto secret = field(integration, "secret");
  REQUIRE(secret.size() == 64);
  const std::string call = R"({"call_id":"call-1","direction":"inbound","from":"+919845012377",)"
                           R"("to":"+918044556677","started_at":"2026-01-15T10:02:00Z","ended_at":"2026-01-15T10:06:31Z",)"
                           R"("duration_seconds":271,"outcome":"completed"})";
  const auto ts = std::to_string(static_cast<long long>(std::time(nullptr)));
  r = post(stack, "/webhooks/calls", call,
           {{"X-Leadpipe-Integration", "exo-1"},
            {"X-Leadpipe-Timestamp", ts},
            {"X-Leadpipe-Signature", "sha256=" + auth::hmac_sha256_hex(secret, ts + "." + call)}});
  REQUIRE(r.status == 200);
  const auto priya = by_phone["+919845012377"];
  const bool contacted = testing::wait_until(
      [&] {
        return count(stack, "SELECT count(*) FROM leads.leads WHERE id = '" + priya + "' AND stage = 'contacted'") == 1;
      },
      std::chrono::seconds(20));
  INFO(stack.log_tail("lead-store"));
  REQUIRE(contacted);
  CHECK(count(stack, "SELECT count(*) FROM leads.leads") == 2);
  CHECK(count(stack, "SELECT count(*) FROM leads.outbox WHERE topic = 'lead.created'") == 2);
  CHECK(count(stack, "SELECT max(version) FROM leads.leads WHERE id = '" + arjun + "'") == 1);
  CHECK(count(stack, "SELECT count(*) FROM leads.lead_activities WHERE kind = 'call'") == 1);
  CHECK(count(stack, "SELECT count(*) FROM leads.stage_history WHERE to_stage = 'contacted'") == 1);
}

TEST_CASE("merge over HTTP: dry run equals the real merge, roles and tenants", "[e2e]") {
  Stack stack(std::map<std::string, std::string>{{"INGEST_API_KEY_CACHE_TTL_S", "0"}});
  const auto key = field(stack.leadctl({"vendor", "key", "create", "--tenant", "demo", "--vendor", "collegedunia"}),
                         "key");
  REQUIRE(post(stack, "/api/v1/vendor/leads", e2e::sample("vendor/leads_batch.json"), {{"X-Api-Key", key}}).status ==
          207);
  REQUIRE(testing::wait_until([&] { return count(stack, "SELECT count(*) FROM leads.leads") == 2; },
                              std::chrono::seconds(20)));
  pqxx::connection c(stack.db_url());
  pqxx::read_transaction tx(c);
  const auto a = tx.exec1("SELECT id::text FROM leads.leads WHERE phone = '+919820144512'")[0].as<std::string>();
  const auto b = tx.exec1("SELECT id::text FROM leads.leads WHERE phone = '+919845012377'")[0].as<std::string>();
  tx.commit();
  const auto merge = [&](const std::string& token, const std::string& query, const std::string& body) {
    return httpclient::request("POST", stack.leads_url() + "/api/v1/leads/" + a + "/merge" + query,
                               {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}}, body);
  };
  const std::string body = R"({"lead_ids":[")" + b + R"("]})";
  CHECK(merge(token(stack, "demo", "marketing"), "", body).status == 403);
  CHECK(merge(token(stack, "other", "admin"), "", body).status == 404);
  CHECK(merge(token(stack, "demo", "admin"), "", R"({"lead_ids":[]})").status == 400);
  CHECK(merge(token(stack, "demo", "admin"), "", R"({"lead_ids":[")" + a + R"("]})").status == 422);
  const auto admin = token(stack, "demo", "admin");
  auto dry = merge(admin, "?dry_run=true", body);
  INFO(dry.body << "\n" << stack.log_tail("lead-store"));
  REQUIRE(dry.status == 200);
  CHECK(count(stack, "SELECT count(*) FROM leads.leads WHERE deleted_at IS NULL") == 2);
  auto real = merge(admin, "", body);
  REQUIRE(real.status == 200);
  auto d = parse(dry.body);
  auto r = parse(real.body);
  CHECK(d["dry_run"].GetBool());
  CHECK_FALSE(r["dry_run"].GetBool());
  CHECK(d["fields"] == r["fields"]);
  CHECK(d["moved"] == r["moved"]);
  CHECK(d["changed"] == r["changed"]);
  CHECK(d["lead"]["version"].GetInt() == r["lead"]["version"].GetInt());
  CHECK(count(stack, "SELECT count(*) FROM leads.leads WHERE deleted_at IS NULL") == 1);
  CHECK(count(stack, "SELECT count(*) FROM leads.lead_identities WHERE lead_id = '" + a + "'") == 2);
  CHECK(count(stack, "SELECT count(*) FROM leads.outbox WHERE topic = 'lead.merged'") == 1);
  // The absorbed lead is gone for the API.
  CHECK(httpclient::request("GET", stack.leads_url() + "/api/v1/leads/" + b, {{"Authorization", "Bearer " + admin}}, "")
            .status == 404);
}
