// The CRM API end to end through the real lead-store binary: a role × tenant
// matrix over every route (another tenant's lead is 404, a counsellor sees
// only theirs, marketing changes nothing, only admission admins and admins
// enrol), stage changes, duplicates, follow-ups.
#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <pqxx/pqxx>

#include "stack.hpp"

using namespace leadpipe;
using leadpipe::e2e::Stack;

namespace {

rapidjson::Document parse(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str(), text.size());
  return d;
}

struct Api {
  const Stack& stack;
  httpclient::ClientResponse call(const std::string& method, const std::string& path, const std::string& token,
                                  const std::string& body = "") const {
    std::vector<std::pair<std::string, std::string>> headers{{"Authorization", "Bearer " + token}};
    if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
    return httpclient::request(method, stack.leads_url() + path, headers, body);
  }
  int status(const std::string& method, const std::string& path, const std::string& token,
             const std::string& body = "") const {
    return call(method, path, token, body).status;
  }
};

std::string token(const Stack& s, const std::string& tenant, const std::string& role, const std::string& sub) {
  auto t = s.leadctl({"token", "--tenant", tenant, "--role", role, "--sub", sub});
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  return t;
}

long long count(const std::string& db_url, const std::string& sql) {
  pqxx::connection c(db_url);
  pqxx::read_transaction tx(c);
  return tx.exec1(sql)[0].as<long long>();
}

}  // namespace

TEST_CASE("CRM API: role x tenant matrix over every route", "[e2e]") {
  Stack stack;
  Api api{stack};
  const auto admin = token(stack, "demo", "admin", "admin-1");
  const auto adm_admin = token(stack, "demo", "admission_admin", "aa-1");
  const auto marketing = token(stack, "demo", "marketing", "mk-1");
  const auto head1 = token(stack, "demo", "sales_head", "head-1");
  const auto head2 = token(stack, "demo", "sales_head", "head-2");
  const auto c1 = token(stack, "demo", "counselor", "c1");
  const auto c2 = token(stack, "demo", "counselor", "c2");
  const auto other = token(stack, "acme", "admin", "acme-admin");

  // Create: 201 with the E.164 phone; the same phone again is 409 with existing_id.
  auto created = api.call("POST", "/api/v1/leads", admin,
                          R"({"name":"Budi Santoso","phone":"0812-3456-7890","email":"Budi@Example.com","program":"Nursing"})");
  REQUIRE(created.status == 201);
  auto lead = parse(created.body);
  const std::string id = lead["id"].GetString();
  CHECK(std::string(lead["phone"].GetString()) == "+6281234567890");
  CHECK(std::string(lead["stage"].GetString()) == "new");
  auto dup = api.call("POST", "/api/v1/leads", c1, R"({"name":"Again","phone":"+62 812 3456 7890"})");
  CHECK(dup.status == 409);
  CHECK(dup.body.find(id) != std::string::npos);
  CHECK(api.status("POST", "/api/v1/leads", marketing, R"({"phone":"+6281100000001"})") == 403);
  CHECK(api.status("POST", "/api/v1/leads", admin, R"({"name":"no contact"})") == 400);

  // Put it in head-1's pool with telecaller c1.
  CHECK(api.status("POST", "/api/v1/leads/" + id + "/assignment", head1, R"({"telecaller":"c1"})") == 404);
  CHECK(api.status("POST", "/api/v1/leads/" + id + "/assignment", admin,
                   R"({"owner":"head-1","telecaller":"c1","reason":"pool"})") == 200);

  const std::string L = "/api/v1/leads/" + id;
  SECTION("reads") {
    for (const auto* t : {&admin, &adm_admin, &marketing, &head1, &c1}) {
      CHECK(api.status("GET", L, *t) == 200);
      CHECK(api.status("GET", L + "/notes", *t) == 200);
      CHECK(api.status("GET", L + "/followups", *t) == 200);
    }
    for (const auto* t : {&head2, &c2, &other}) {
      CHECK(api.status("GET", L, *t) == 404);
      CHECK(api.status("GET", L + "/notes", *t) == 404);
      CHECK(api.status("GET", L + "/followups", *t) == 404);
    }
    auto mine = parse(api.call("GET", "/api/v1/leads", c2).body);
    CHECK(mine["total"].GetInt64() == 0);
    auto theirs = parse(api.call("GET", "/api/v1/leads", c1).body);
    CHECK(theirs["total"].GetInt64() == 1);
    CHECK(parse(api.call("GET", "/api/v1/leads", other).body)["total"].GetInt64() == 0);
    CHECK(parse(api.call("GET", "/api/v1/leads?view=actionable&sort=score", marketing).body)["total"].GetInt64() == 1);
    CHECK(api.status("GET", "/api/v1/leads?stage=nope", admin) == 400);
    for (const auto* t : {&admin, &marketing, &c1, &other}) {
      CHECK(api.status("GET", "/api/v1/leads/counts", *t) == 200);
      CHECK(api.status("GET", "/api/v1/tags", *t) == 200);
      CHECK(api.status("GET", "/api/v1/pipeline", *t) == 200);
    }
  }

  SECTION("writes") {
    const std::string edit = R"({"program":"Midwifery"})";
    CHECK(api.status("PATCH", L, marketing, edit) == 403);
    CHECK(api.status("PATCH", L, c2, edit) == 404);
    CHECK(api.status("PATCH", L, other, edit) == 404);
    auto patched = api.call("PATCH", L, c1, edit);
    REQUIRE(patched.status == 200);
    CHECK(parse(patched.body)["version"].GetInt() == 3);
    CHECK(api.status("PATCH", L, c1, R"({"program":"X","version":1})") == 409);

    // Stage: counsellors work the lead, only admission admins / admins enrol.
    CHECK(api.status("POST", L + "/stage", marketing, R"({"stage":"contacted"})") == 403);
    CHECK(api.status("POST", L + "/stage", c2, R"({"stage":"contacted"})") == 404);
    CHECK(api.status("POST", L + "/stage", c1, R"({"stage":"enrolled"})") == 422);
    CHECK(api.status("POST", L + "/stage", c1, R"({"stage":"contacted"})") == 200);
    CHECK(api.status("POST", L + "/stage", c1, R"({"stage":"qualified"})") == 200);
    auto gated = api.call("POST", L + "/stage", c1, R"({"stage":"enrolled"})");
    CHECK(gated.status == 403);
    CHECK(gated.body.find("\"status\":403") != std::string::npos);
    CHECK(api.status("POST", L + "/stage", head1, R"({"stage":"enrolled"})") == 403);

    // Tags, notes, follow-ups.
    CHECK(api.status("POST", L + "/tags", marketing, R"({"add":["vip"]})") == 403);
    CHECK(api.status("POST", L + "/tags", c1, R"({"add":[{"name":"nursing","category":"course"}]})") == 200);
    CHECK(api.status("POST", "/api/v1/leads/tags", c1, R"({"ids":[")" + id + R"("],"add":["x"]})") == 403);
    CHECK(api.status("POST", "/api/v1/leads/tags", admin, R"({"filter":{},"add":["x"]})") == 400);
    CHECK(api.status("POST", "/api/v1/leads/tags", head1, R"({"filter":{"tag":"nursing"},"add":["expo"]})") == 200);
    CHECK(api.status("POST", L + "/notes", marketing, R"({"body":"hi"})") == 403);
    CHECK(api.status("POST", L + "/notes", c1, R"({"body":"asked about scholarships"})") == 201);
    auto fu = api.call("POST", L + "/followups", c1, R"({"due_at":"2020-01-01T09:00:00Z","note":"call back"})");
    REQUIRE(fu.status == 201);
    auto fid = std::string(parse(fu.body)["id"].GetString());
    CHECK(parse(fu.body)["overdue"].GetBool());
    CHECK(parse(api.call("GET", "/api/v1/leads?has_overdue_followup=true", admin).body)["total"].GetInt64() == 1);
    CHECK(api.status("POST", L + "/followups/" + fid + "/done", marketing, R"({"note":"x"})") == 403);
    CHECK(api.status("POST", L + "/followups/" + fid + "/snooze", c1, R"({"until":"2099-01-01T00:00:00Z"})") == 200);
    CHECK(api.status("POST", L + "/followups/" + fid + "/done", c1, R"({"note":"reached"})") == 200);
    CHECK(api.status("POST", L + "/followups/" + fid + "/cancel", c1, "") == 409);

    // Enrolment by an admission admin; a closed lead takes no follow-ups.
    auto enrolled = api.call("POST", L + "/stage", adm_admin, R"({"stage":"enrolled"})");
    REQUIRE(enrolled.status == 200);
    CHECK(std::string(parse(enrolled.body)["stage"].GetString()) == "enrolled");
    CHECK(api.status("POST", L + "/followups", c1, R"({"due_at":"2030-01-01T00:00:00Z"})") == 422);
    CHECK(count(stack.db_url(), "SELECT count(*) FROM leads.outbox WHERE topic = 'lead.converted'") == 1);
    CHECK(count(stack.db_url(), "SELECT count(*) FROM leads.stage_history") == 3);

    // Pipeline: admins only.
    CHECK(api.status("PUT", "/api/v1/pipeline", adm_admin, R"({"builtin":"clinic"})") == 403);
    CHECK(api.status("PUT", "/api/v1/pipeline", admin, R"({"builtin":"clinic"})") == 409);  // 'enrolled' in use

    // Delete: not counsellors nor marketing; erase: admin only.
    CHECK(api.status("DELETE", L, c1) == 403);
    CHECK(api.status("DELETE", L, marketing) == 403);
    CHECK(api.status("DELETE", L, head2) == 404);
    CHECK(api.status("DELETE", L + "?erase=true", adm_admin) == 403);
    CHECK(api.status("DELETE", L + "?erase=true", other) == 404);
    CHECK(api.status("DELETE", L, head1) == 204);
    CHECK(api.status("GET", L, admin) == 404);
    CHECK(api.status("DELETE", L + "?erase=true", admin) == 204);
    CHECK(count(stack.db_url(), "SELECT count(*) FROM leads.leads WHERE phone IS NOT NULL OR name IS NOT NULL") == 0);
    CHECK(count(stack.db_url(), "SELECT count(*) FROM leads.outbox WHERE topic = 'lead.erased'") == 1);
    // The phone is free again.
    CHECK(api.status("POST", "/api/v1/leads", admin, R"({"phone":"+6281234567890"})") == 201);
  }
}
