#include <catch2/catch.hpp>

#include <leadpipe/events/schema.hpp>
#include <leadpipe/http/json.hpp>

#include "crm_service.hpp"
#include "lead_edit.hpp"
#include "lead_json.hpp"
#include "permissions.hpp"
#include "repository.hpp"
#include "sql_values.hpp"

using namespace leadpipe;
using namespace leadpipe::leads;

namespace {
Lead sample() {
  Lead l;
  l.id = "3f0c8d52-6a1b-4c2e-9d7f-1a2b3c4d5e6f";
  l.tenant = "demo";
  l.name = "Budi";
  l.phone = "+6281234567890";
  l.stage = "contacted";
  l.source = "whatsapp";
  l.version = 3;
  l.stage_changed_at = l.created_at = l.updated_at = "2026-01-02T03:04:05.000Z";
  return l;
}
auth::Principal as(auth::Role role, std::string sub = "u1") { return {std::move(sub), "demo", role}; }

void check_schema(const std::string& type, const std::string& data) {
  const auto errors = events::SchemaSet::builtin().validate(type, data);
  INFO(type << ": " << data);
  CHECK(errors.empty());
}
}  // namespace

TEST_CASE("role scopes: sales head's pool, counsellor's own leads, everyone else the tenant", "[unit]") {
  auto lead = sample();
  CHECK(in_scope(scope_for(as(auth::Role::admin)), lead));
  CHECK(in_scope(scope_for(as(auth::Role::marketing)), lead));
  CHECK_FALSE(in_scope(scope_for(as(auth::Role::sales_head, "head-1")), lead));
  lead.owner = "head-1";
  CHECK(in_scope(scope_for(as(auth::Role::sales_head, "head-1")), lead));
  CHECK_FALSE(in_scope(scope_for(as(auth::Role::sales_head, "head-2")), lead));
  CHECK_FALSE(in_scope(scope_for(as(auth::Role::counselor, "c1")), lead));
  lead.assigned_to = "c1";   // telecaller
  lead.counsellor = "c2";
  CHECK(in_scope(scope_for(as(auth::Role::counselor, "c1")), lead));
  CHECK(in_scope(scope_for(as(auth::Role::counselor, "c2")), lead));
  CHECK_FALSE(in_scope(scope_for(as(auth::Role::counselor, "c3")), lead));
}

TEST_CASE("marketing changes nothing, only admins erase", "[unit]") {
  using auth::Role;
  for (auto a : {Action::edit, Action::assign, Action::remove, Action::erase, Action::bulk, Action::pipeline}) {
    CHECK_FALSE(allowed(Role::marketing, a));
  }
  CHECK(allowed(Role::counselor, Action::edit));
  CHECK_FALSE(allowed(Role::counselor, Action::assign));
  CHECK(allowed(Role::sales_head, Action::assign));
  CHECK_FALSE(allowed(Role::sales_head, Action::transfer));
  CHECK(allowed(Role::admission_admin, Action::transfer));
  CHECK_FALSE(allowed(Role::admission_admin, Action::erase));
  CHECK(allowed(Role::admin, Action::erase));
  CHECK_THROWS_AS(require(as(Role::marketing), Action::edit), http::HttpError);
}

TEST_CASE("phones normalise to E.164 with a default region", "[unit]") {
  CHECK(normalize_phone("0812-3456-7890", "ID") == "+6281234567890");
  CHECK(normalize_phone("+62 812 3456 7890", "US") == "+6281234567890");
  CHECK(normalize_phone("0062 812 3456 7890", "US") == "+6281234567890");
  CHECK(normalize_phone("(11) 98765-4321", "BR") == "+5511987654321");
  CHECK_FALSE(normalize_phone("12", "ID"));
  CHECK_FALSE(normalize_phone("not a phone", "ID"));
}

TEST_CASE("create input: phone or email required, fields validated, unknown fields refused", "[unit]") {
  auto parse = [](const char* json, bool create) {
    return parse_lead_input(http::parse_json(json), create, "ID");
  };
  auto in = parse(R"({"name":" Rina ","phone":"0812 3456 7890","email":" Rina@Example.COM","source":"expo"})", true);
  CHECK(in.name == std::optional<std::string>("Rina"));
  CHECK(in.phone == std::optional<std::string>("+6281234567890"));
  CHECK(in.email == std::optional<std::string>("rina@example.com"));
  CHECK(in.source == "expo");
  auto errors_of = [&](const char* json, bool create) {
    try {
      parse(json, create);
    } catch (const http::HttpError& e) {
      CHECK(e.status == 400);
      std::string fields;
      for (const auto& f : e.errors) fields += f.field + ";";
      return fields;
    }
    return std::string("none");
  };
  CHECK(errors_of(R"({"name":"x"})", true) == "phone;");
  CHECK(errors_of(R"({"phone":"12"})", true) == "phone;");
  CHECK(errors_of(R"({"email":"nope"})", true) == "email;");
  CHECK(errors_of(R"({"phone":"08123456789","hacker":1})", true) == "hacker;");
  CHECK(errors_of(R"({"phone":"08123456789","interest":"lukewarm"})", true) == "interest;");
  CHECK(errors_of(R"({"source":"x"})", false) == "source;");
  CHECK(errors_of(R"({})", false) == ";");
  CHECK(errors_of(R"({"name":"a","version":0})", false) == "version;");
}

TEST_CASE("an edit reports what changed, completing contact data leaves incomplete", "[unit]") {
  Lead lead = sample();
  lead.name.reset();
  lead.stage = "incomplete";
  auto in = parse_lead_input(http::parse_json(R"({"name":"Budi Santoso","email":null,"interest":"hot"})"), false, "ID");
  auto changed = apply_edit(lead, in);
  CHECK(changed == std::vector<std::string>{"name", "interest"});
  CHECK(lead.confidence["name"] == 1.0);
  auto left = auto_complete(lead, Pipeline::admissions(), "2026-02-01T00:00:00.000Z");
  CHECK(left == "incomplete");
  CHECK(lead.stage == "new");
  CHECK(lead.stage_changed_at == "2026-02-01T00:00:00.000Z");
  CHECK_FALSE(auto_complete(lead, Pipeline::admissions(), "x"));
  CHECK(apply_edit(lead, in).empty());
}

TEST_CASE("follow-ups default to the counsellor, then the telecaller, then the scheduler", "[unit]") {
  Lead lead = sample();
  CHECK(default_followup_assignee(lead, "me") == "me");
  lead.assigned_to = "tele";
  CHECK(default_followup_assignee(lead, "me") == "tele");
  lead.counsellor = "couns";
  CHECK(default_followup_assignee(lead, "me") == "couns");
}

TEST_CASE("lifecycle event data matches the schemas in proto/events", "[unit]") {
  const auto& p = Pipeline::admissions();
  Lead lead = sample();
  lead.stage = "enrolled";
  check_schema("lead.stage_changed", stage_changed_event(lead, p, "qualified", "admin-1", ""));
  check_schema("lead.converted", terminal_event(lead, p, "qualified", "admin-1", ""));
  CHECK(terminal_event(lead, p, "qualified", "a", "").find("converted_at") != std::string::npos);
  lead.stage = "lost";
  const auto closed = terminal_event(lead, p, "contacted", "c1", "chose another university");
  check_schema("lead.closed", closed);
  CHECK(closed.find(R"("reason":"chose another university")") != std::string::npos);
  check_schema("lead.assigned", assigned_event(lead, "counsellor", std::nullopt, "c2", "head", "", lead.updated_at));
  lead.tags = {"nursing"};
  check_schema("lead.tagged", tagged_event(lead, {"nursing"}, {}, "c1", lead.updated_at));
  check_schema("lead.erased", erased_event(lead, "admin-1", "gdpr_request", lead.updated_at));
  repo::Followup f;
  f.id = "5e4d3c2b-1a09-4f8e-b7d6-c5b4a3928170";
  f.lead_id = lead.id;
  f.kind = "call";
  f.due_at = "2026-01-05T09:00:00.000Z";
  f.assigned_to = "c2";
  check_schema("followup.due", followup_due_event(lead, f));
  const std::vector<std::string> changed{"name"};
  check_schema("lead.updated", lead_event_data(lead, &changed));
}

TEST_CASE("search_terms keeps words and drops everything a query syntax could read", "[unit]") {
  using sql::search_terms;
  using V = std::vector<std::string>;
  CHECK(search_terms("Budi  sant") == V{"budi", "sant"});
  CHECK(search_terms("rina.w@example.com") == V{"rina", "w", "example", "com"});
  CHECK(search_terms("José") == V{"jos\xC3\xA9"});  // UTF-8 kept as is (PostgreSQL lower-cases it)
  for (const auto& w : search_terms("a'b\\c & !d | e:* (f)")) CHECK(w.find_first_of("'\\!|&:*() ") == std::string::npos);
  CHECK(search_terms("o'brien") == V{"o", "brien"});
  CHECK(search_terms("santoso87@Gmail") == V{"santoso", "87", "gmail"});
  CHECK(search_terms("lead 1199") == V{"lead", "1199"});
  CHECK(search_terms("&|!:*() -- ;").empty());
  CHECK(search_terms("").empty());
  CHECK(search_terms("1 2 3 4 5 6 7 8 9 10") == V{"1", "2", "3", "4", "5", "6", "7", "8"});
  // A long word is cut to 64 bytes, never inside a UTF-8 sequence.
  std::string longword(63, 'a');
  longword += "\xC3\xA9";  // é straddles byte 64
  CHECK(search_terms(longword) == V{std::string(63, 'a')});
}

TEST_CASE("rfc3339_micros formats epoch microseconds like LP_TS, milliseconds truncated", "[unit]") {
  CHECK(sql::rfc3339_micros(0) == "1970-01-01T00:00:00.000Z");
  CHECK(sql::rfc3339_micros(1732388584123999LL) == "2024-11-23T19:03:04.123Z");
  CHECK(sql::rfc3339_micros(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(sql::rfc3339_micros(-1000000) == "1969-12-31T23:59:59.000Z");
  CHECK(sql::rfc3339_micros(951782400000000LL) == "2000-02-29T00:00:00.000Z");
}

TEST_CASE("JSON columns parse without the heap when small and still whole when large", "[unit]") {
  CHECK(sql::json_strings("[]").empty());
  CHECK(sql::json_strings("").empty());
  CHECK(sql::json_strings("not json").empty());
  CHECK(sql::json_strings(R"(["vip","expo"])") == std::vector<std::string>{"vip", "expo"});
  std::vector<std::string> many;
  for (int i = 0; i < 500; ++i) many.push_back("tag-number-" + std::to_string(i));  // ~9 KB: past the stack buffers
  CHECK(sql::json_strings(sql::json_array(many)) == many);
  CHECK(sql::json_confidence_map("{}").empty());
  const auto conf = sql::json_confidence_map(R"({"name":0.9,"phone":1})");
  CHECK(conf.size() == 2);
  CHECK(conf.at("name") == Approx(0.9));
  CHECK(sql::json_string_map(R"({"city":"Bandung","n":3})") == std::map<std::string, std::string>{{"city", "Bandung"}});
}

TEST_CASE("only pages one index serves in order for any value count as value-independent plans", "[unit]") {
  using leadpipe::leads::repo::ListQuery;
  using leadpipe::leads::repo::plan_is_value_independent;
  auto q = [](auto&& edit) {
    ListQuery l;
    l.tenant = "t";
    edit(l);
    return l;
  };
  auto none = [](ListQuery&) {};
  CHECK(plan_is_value_independent(q(none)));
  CHECK(plan_is_value_independent(q([](ListQuery& l) { l.stages = {"new"}; })));
  CHECK(plan_is_value_independent(q([](ListQuery& l) { l.stages = {"new", "contacted", "qualified"}; })));
  CHECK(plan_is_value_independent(q([](ListQuery& l) { l.stages = {"new"}; l.tier = "hot"; })));
  CHECK(plan_is_value_independent(q([](ListQuery& l) { l.sort = "score"; l.stages = {"new", "contacted"}; })));
  CHECK(plan_is_value_independent(q([](ListQuery& l) { l.sort = "updated"; l.cursor = "abc"; })));
  // A tier without one stage, or outside the newest-first sort: no index has it in that order.
  CHECK_FALSE(plan_is_value_independent(q([](ListQuery& l) { l.tier = "hot"; })));
  CHECK_FALSE(plan_is_value_independent(q([](ListQuery& l) { l.stages = {"new", "lost"}; l.tier = "hot"; })));
  CHECK_FALSE(plan_is_value_independent(q([](ListQuery& l) { l.sort = "score"; l.stages = {"new"}; l.tier = "hot"; })));
  // Filters whose frequency picks the plan, and a role's scope.
  CHECK_FALSE(plan_is_value_independent(q([](ListQuery& l) { l.tags = {"vip"}; })));
  CHECK_FALSE(plan_is_value_independent(q([](ListQuery& l) { l.q = "budi"; })));
  CHECK_FALSE(plan_is_value_independent(q([](ListQuery& l) { l.assigned_to = "tc-1"; })));
  CHECK_FALSE(plan_is_value_independent(q([](ListQuery& l) { l.scope_person = "c-1"; })));
  CHECK_FALSE(plan_is_value_independent(q([](ListQuery& l) { l.scope_owner = "sh-1"; })));
  CHECK_FALSE(plan_is_value_independent(q([](ListQuery& l) { l.created_from = "2026-01-01T00:00:00Z"; })));
  CHECK_FALSE(plan_is_value_independent(q([](ListQuery& l) { l.overdue = true; })));
  CHECK_FALSE(plan_is_value_independent(q([](ListQuery& l) { l.source = "vendor"; })));
}
