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

double metric(const Stack& stack, const std::string& series) {
  return e2e::scrape_metric(stack.leads_url(), series);
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
    // Search: word prefixes through the real service; bytes that are not
    // UTF-8 are the caller's 400, never a database error.
    CHECK(parse(api.call("GET", "/api/v1/leads?view=all&q=BUD", admin).body)["total"].GetInt64() == 1);
    CHECK(parse(api.call("GET", "/api/v1/leads?view=all&q=%27%3B%20--", admin).body)["total"].GetInt64() == 0);
    CHECK(api.status("GET", "/api/v1/leads?q=%FF%FE", admin) == 400);
    CHECK(api.status("GET", "/api/v1/leads?tag=%C3", admin) == 400);
    for (const auto* t : {&admin, &marketing, &c1, &other}) {
      CHECK(api.status("GET", "/api/v1/leads/counts", *t) == 200);
      CHECK(api.status("GET", "/api/v1/tags", *t) == 200);
      CHECK(api.status("GET", "/api/v1/pipeline", *t) == 200);
    }
  }

  SECTION("messages, merge, duplicates, assignment rules") {
    // Messages: every writing role inside its scope; 422 without a phone.
    const std::string msg = R"({"channel":"whatsapp","template":"followup_1","language":"id","parameters":["Budi"]})";
    CHECK(api.status("POST", L + "/messages", marketing, msg) == 403);
    CHECK(api.status("POST", L + "/messages", c2, msg) == 404);
    CHECK(api.status("POST", L + "/messages", head2, msg) == 404);
    CHECK(api.status("POST", L + "/messages", other, msg) == 404);
    CHECK(api.status("POST", L + "/messages", c1, R"({"channel":"sms","template":"t"})") == 400);
    CHECK(api.status("POST", L + "/messages", c1, R"({"channel":"fax","text":"x"})") == 400);
    auto sent = api.call("POST", L + "/messages", c1, msg);
    REQUIRE(sent.status == 202);
    CHECK(std::string(parse(sent.body)["status"].GetString()) == "pending");
    CHECK(api.status("POST", L + "/messages", head1, R"({"channel":"sms","text":"Halo"})") == 202);
    CHECK(count(stack.db_url(), "SELECT count(*) FROM leads.outbox WHERE topic = 'outreach.requested'") == 2);
    auto mail_only = api.call("POST", "/api/v1/leads", admin, R"({"name":"Sari","email":"sari@example.com"})");
    REQUIRE(mail_only.status == 201);
    const std::string mail_id = parse(mail_only.body)["id"].GetString();
    CHECK(api.status("POST", "/api/v1/leads/" + mail_id + "/messages", admin, msg) == 422);

    // Merge: admins and the pool's sales head; counsellors and marketing never.
    const std::string merge_body = R"({"lead_ids":[")" + mail_id + R"("]})";
    CHECK(api.status("POST", L + "/merge?dry_run=true", marketing, merge_body) == 403);
    CHECK(api.status("POST", L + "/merge?dry_run=true", c1, merge_body) == 403);
    CHECK(api.status("POST", L + "/merge?dry_run=true", head2, merge_body) == 404);
    CHECK(api.status("POST", L + "/merge?dry_run=true", head1, merge_body) == 404);  // Sari is not in head-1's pool
    CHECK(api.status("POST", L + "/merge?dry_run=true", other, merge_body) == 404);
    CHECK(api.status("POST", L + "/merge?dry_run=true", adm_admin, merge_body) == 200);

    // Duplicates: a Brazilian mobile with and without the 9th digit is a candidate, never merged.
    auto br1 = api.call("POST", "/api/v1/leads", admin, R"({"name":"Ana","phone":"+5511987654321"})");
    auto br2 = api.call("POST", "/api/v1/leads", admin, R"({"name":"Ana S","phone":"+551187654321"})");
    REQUIRE(br1.status == 201);
    REQUIRE(br2.status == 201);
    auto dups = api.call("GET", "/api/v1/leads/duplicates", admin);
    REQUIRE(dups.status == 200);
    auto page = parse(dups.body);
    REQUIRE(page["total"].GetInt64() == 1);
    const std::string pair = page["items"][0]["id"].GetString();
    CHECK(std::string(page["items"][0]["reason"].GetString()) == "brazil_ninth_digit");
    CHECK(parse(api.call("GET", "/api/v1/leads/duplicates", marketing).body)["total"].GetInt64() == 1);
    CHECK(parse(api.call("GET", "/api/v1/leads/duplicates", head1).body)["total"].GetInt64() == 0);
    CHECK(parse(api.call("GET", "/api/v1/leads/duplicates", c1).body)["total"].GetInt64() == 0);
    CHECK(parse(api.call("GET", "/api/v1/leads/duplicates", other).body)["total"].GetInt64() == 0);
    CHECK(api.status("GET", "/api/v1/leads/duplicates?status=maybe", admin) == 400);
    const std::string D = "/api/v1/leads/duplicates/" + pair + "/dismiss";
    CHECK(api.status("POST", D, marketing) == 403);
    CHECK(api.status("POST", D, c1) == 403);
    CHECK(api.status("POST", D, head1) == 404);
    CHECK(api.status("POST", D, other) == 404);
    CHECK(api.status("POST", "/api/v1/leads/duplicates/not-a-uuid/dismiss", admin) == 404);
    CHECK(api.status("POST", D, adm_admin) == 200);
    CHECK(api.status("POST", D, admin) == 409);
    // Counted by the real binary: the pair once, the dismissal once (the 409 and the 403/404s not at all).
    CHECK(metric(stack, R"(leadpipe_leads_duplicate_candidates_total{reason="brazil_ninth_digit"})") == 1);
    CHECK(metric(stack, R"(leadpipe_leads_duplicate_candidates_resolved_total{resolution="dismissed"})") == 1);
    CHECK(metric(stack, R"(leadpipe_leads_duplicate_candidates_resolved_total{resolution="merged"})") == 0);
    CHECK(count(stack.db_url(), "SELECT count(*) FROM leads.leads WHERE deleted_at IS NULL") == 4);

    // Assignment rules: admins and sales heads (their pool's teams only).
    const std::string rules = R"({"teams":[{"team":"north","strategy":"round_robin","members":["c1","c2"]}]})";
    for (const auto* t : {&c1, &marketing}) {
      CHECK(api.status("GET", "/api/v1/assignment/rules", *t) == 403);
      CHECK(api.status("PUT", "/api/v1/assignment/rules", *t, rules) == 403);
    }
    CHECK(api.status("PUT", "/api/v1/assignment/rules", admin, R"({"teams":[{"team":"x","strategy":"random","members":[]}]})") == 400);
    CHECK(api.status("PUT", "/api/v1/assignment/rules", head1, rules) == 200);
    auto mine = parse(api.call("GET", "/api/v1/assignment/rules", head1).body);
    REQUIRE(mine["teams"].Size() == 1);
    CHECK(std::string(mine["teams"][0]["owner"].GetString()) == "head-1");
    CHECK(parse(api.call("GET", "/api/v1/assignment/rules", head2).body)["teams"].Size() == 0);
    CHECK(parse(api.call("GET", "/api/v1/assignment/rules", adm_admin).body)["teams"].Size() == 1);
    CHECK(parse(api.call("GET", "/api/v1/assignment/rules", other).body)["teams"].Size() == 0);
    // head-1's team serves head-1's pool: a lead head-1 creates is assigned by it.
    auto pooled = api.call("POST", "/api/v1/leads", head1, R"({"name":"Rina","phone":"+6281311112222"})");
    REQUIRE(pooled.status == 201);
    CHECK(std::string(parse(pooled.body)["assigned_to"].GetString()) == "c1");
    const std::string assigned_rr = R"(leadpipe_leads_auto_assigned_total{role="telecaller",strategy="round_robin"})";
    CHECK(metric(stack, assigned_rr) == 1);
    CHECK(api.status("PUT", "/api/v1/assignment/rules", admin, rules) == 200);
    CHECK(parse(api.call("GET", "/api/v1/assignment/rules", head1).body)["teams"].Size() == 0);

    // The CSV import counts its rule assignments and candidates once it has committed (a dry run never).
    const std::string csv = "name,phone,email\nImported,+6281311113333,\nBudi Two,+6281311114444,budi@example.com\n";
    auto import = [&](const std::string& query) {
      return httpclient::request("POST", stack.leads_url() + "/api/v1/leads/import" + query,
                                 {{"Authorization", "Bearer " + admin}, {"Content-Type", "text/csv"}}, csv);
    };
    REQUIRE(import("?dry_run=true").status == 200);
    CHECK(metric(stack, assigned_rr) == 1);
    auto imported = import("");
    REQUIRE(imported.status == 200);
    CHECK(parse(imported.body)["assigned"].GetInt() == 2);
    CHECK(metric(stack, assigned_rr) == 3);
    CHECK(metric(stack, R"(leadpipe_leads_duplicate_candidates_total{reason="email"})") == 1);
    // Capacity: a member full for the day leaves the next lead unassigned.
    CHECK(api.status("PUT", "/api/v1/assignment/rules", admin,
                     R"({"teams":[{"team":"north","capacity_per_day":1,"members":["c1","c2"]}]})") == 200);
    auto full = api.call("POST", "/api/v1/leads", admin, R"({"name":"Late","phone":"+6281311115555"})");
    REQUIRE(full.status == 201);
    CHECK(parse(full.body)["assigned_to"].IsNull());
    CHECK(metric(stack, R"(leadpipe_leads_auto_assign_skipped_total{reason="capacity_full",strategy="round_robin"})") == 1);
    CHECK(metric(stack, assigned_rr) == 3);
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
    // The admissions board (seed 000) opens on actionable: an enrolled lead is out of the default list.
    CHECK(parse(api.call("GET", "/api/v1/leads", admin).body)["total"].GetInt64() == 0);
    CHECK(parse(api.call("GET", "/api/v1/leads?view=all", admin).body)["total"].GetInt64() == 1);

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
