// Automatic assignment rules — the pure choice (and why nobody was chosen) and the
// configuration parser.
#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include "assignment_rules.hpp"

using namespace leadpipe;
using namespace leadpipe::leads;

TEST_CASE("round robin rotates over the eligible members", "[unit]") {
  std::vector<Candidate> m(3);
  CHECK(choose_member("round_robin", m, 0) == 0u);
  CHECK(choose_member("round_robin", m, 1) == 1u);
  CHECK(choose_member("round_robin", m, 5) == 2u);  // wraps
  m[1].active = false;
  CHECK(choose_member("round_robin", m, 1) == 2u);  // inactive skipped
  m[2].capacity = 2;
  m[2].assigned_today = 2;
  CHECK(choose_member("round_robin", m, 1) == 0u);  // full skipped
  m[0].capacity = 1;
  m[0].assigned_today = 1;
  CHECK_FALSE(choose_member("round_robin", m, 0));  // capacity exhausted: nobody
  CHECK(std::string(unassigned_reason(m)) == "capacity_full");
  CHECK_FALSE(choose_member("round_robin", {}, 0));
  CHECK(std::string(unassigned_reason({})) == "no_active_member");
  for (auto& c : m) c.active = false;
  CHECK_FALSE(choose_member("round_robin", m, 0));
  CHECK(std::string(unassigned_reason(m)) == "no_active_member");
}

TEST_CASE("least loaded takes the member with the fewest open leads", "[unit]") {
  std::vector<Candidate> m(3);
  m[0].open_leads = 5;
  m[1].open_leads = 2;
  m[2].open_leads = 2;
  m[2].assigned_today = 0;
  m[1].assigned_today = 1;
  CHECK(choose_member("least_loaded", m, 0) == 2u);  // tie on load → fewer today
  m[2].capacity = 3;
  m[2].assigned_today = 3;
  CHECK(choose_member("least_loaded", m, 0) == 1u);
  m[1].active = false;
  CHECK(choose_member("least_loaded", m, 0) == 0u);
}

TEST_CASE("assignment rules parse and reject bad configurations", "[unit]") {
  auto parse = [](const char* json, std::vector<http::FieldError>& errors) {
    rapidjson::Document d;
    d.Parse(json);
    return parse_assignment_rules(d, errors);
  };
  std::vector<http::FieldError> errors;
  auto teams = parse(
      R"({"teams":[{"team":"north","strategy":"least_loaded","capacity_per_day":20,"sources":["vendor"],)"
      R"("members":["c1",{"member":"c2","active":false,"capacity_per_day":5}]}]})",
      errors);
  CHECK(errors.empty());
  REQUIRE(teams.size() == 1);
  CHECK(teams[0].strategy == "least_loaded");
  CHECK(teams[0].capacity_per_day == 20);
  CHECK(teams[0].members.size() == 2);
  CHECK_FALSE(teams[0].members[1].active);
  CHECK(teams[0].members[1].capacity_per_day == 5);
  for (const char* bad : {R"({})", R"({"teams":[{"members":["c1"]}]})",
                          R"({"teams":[{"team":"a","strategy":"random","members":[]}]})",
                          R"({"teams":[{"team":"a","members":["c1","c1"]}]})",
                          R"({"teams":[{"team":"a","capacity_per_day":0,"members":[]}]})",
                          R"({"teams":[{"team":"a","members":[]},{"team":"a","members":[]}]})",
                          R"({"teams":[{"team":"a","members":[1]}]})"}) {
    INFO(bad);
    errors.clear();
    parse(bad, errors);
    CHECK_FALSE(errors.empty());
  }
  Lead lead;
  lead.source = "vendor";
  CHECK(team_matches(teams[0], lead));
  lead.source = "whatsapp";
  CHECK_FALSE(team_matches(teams[0], lead));
  teams[0].sources.clear();
  teams[0].owner = "head-1";
  CHECK_FALSE(team_matches(teams[0], lead));
  lead.owner = "head-1";
  CHECK(team_matches(teams[0], lead));
  teams[0].active = false;
  CHECK_FALSE(team_matches(teams[0], lead));
}
