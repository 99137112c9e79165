// Field-by-field winner rules of a lead merge (merge.hpp).
#include <catch2/catch.hpp>

#include <algorithm>

#include "merge.hpp"

using namespace leadpipe::leads;

namespace {

const std::string kNow = "2026-11-23T10:00:00.000Z";

Lead lead(const std::string& id, const std::string& created_at) {
  Lead l;
  l.id = id;
  l.tenant = "demo";
  l.stage = "new";
  l.source = "manual";
  l.version = 3;
  l.created_at = l.updated_at = l.stage_changed_at = created_at;
  return l;
}

bool changed(const LeadMerge& m, const std::string& f) {
  return std::find(m.changed.begin(), m.changed.end(), f) != m.changed.end();
}

}  // namespace

TEST_CASE("merge: confidence decides name / email / program, a tie keeps the survivor", "[unit]") {
  auto s = lead("s", "2026-01-02T00:00:00.000Z");
  s.name = "Budi S";
  s.confidence["name"] = 0.6;  // WhatsApp profile name
  s.email = "budi@example.com";
  s.confidence["email"] = 0.9;
  s.phone = "+6281200000001";
  auto a = lead("a", "2026-01-03T00:00:00.000Z");
  a.name = "Budi Santoso";
  a.confidence["name"] = 0.95;
  a.email = "other@example.com";
  a.confidence["email"] = 0.9;
  a.program = "Drone";
  a.phone = "+6281299999999";
  auto m = merge_leads(s, {a}, Pipeline::admissions(), kNow);
  CHECK(m.lead.name == "Budi Santoso");
  CHECK(m.lead.confidence.at("name") == Approx(0.95));
  CHECK(m.lead.email == "budi@example.com");
  CHECK(m.lead.program == "Drone");
  CHECK(m.lead.phone == "+6281200000001");  // the identity key stays
  CHECK(m.lead.version == 4);
  CHECK(m.lead.updated_at == kNow);
  CHECK(changed(m, "name"));
  CHECK(changed(m, "program"));
  CHECK_FALSE(changed(m, "email"));
  CHECK_FALSE(changed(m, "phone"));
  const auto name = std::find_if(m.fields.begin(), m.fields.end(),
                                 [](const auto& f) { return f.field == "name"; });
  REQUIRE(name != m.fields.end());
  CHECK(name->from == "a");
  CHECK(name->before == "Budi S");
}

TEST_CASE("merge: empty fields fill, owners stay, score from the best, unions, earliest origin",
          "[unit]") {
  auto s = lead("s", "2026-01-05T00:00:00.000Z");
  s.assigned_to = "tc-1";
  s.score = 40;
  s.tier = "cold";
  s.tags = {"expo"};
  s.intents = {"price"};
  s.source = "vendor";
  auto a = lead("a", "2026-01-01T00:00:00.000Z");
  a.phone = "+6281200000001";
  a.assigned_to = "tc-2";
  a.counsellor = "c-2";
  a.session_year = "2027";
  a.score = 85;
  a.tier = "hot";
  a.score_reasons = {"asked for fees"};
  a.tags = {"expo", "webinar"};
  a.intents = {"register"};
  a.source = "whatsapp";
  a.channel = "whatsapp";
  a.last_contacted_at = "2026-01-04T00:00:00.000Z";
  auto m = merge_leads(s, {a}, Pipeline::admissions(), kNow);
  CHECK(m.lead.phone == "+6281200000001");
  CHECK(m.lead.assigned_to == "tc-1");
  CHECK(m.lead.counsellor == "c-2");
  CHECK(m.lead.session_year == "2027");
  CHECK(m.lead.score == 85);
  CHECK(m.lead.tier == "hot");
  CHECK(m.lead.score_reasons == std::vector<std::string>{"asked for fees"});
  CHECK(m.lead.tags == std::vector<std::string>{"expo", "webinar"});
  CHECK(m.lead.intents == std::vector<std::string>{"price", "register"});
  CHECK(m.lead.source == "whatsapp");
  CHECK(m.lead.created_at == "2026-01-01T00:00:00.000Z");
  CHECK(m.lead.last_contacted_at == "2026-01-04T00:00:00.000Z");
}

TEST_CASE("merge: the furthest open stage wins, terminals are not taken over", "[unit]") {
  auto s = lead("s", "2026-01-01T00:00:00.000Z");
  auto a = lead("a", "2026-01-02T00:00:00.000Z");
  a.stage = "qualified";
  auto b = lead("b", "2026-01-03T00:00:00.000Z");
  b.stage = "enrolled";
  auto m = merge_leads(s, {a, b}, Pipeline::admissions(), kNow);
  CHECK(m.lead.stage == "qualified");
  CHECK(m.previous_stage == "new");
  CHECK(m.lead.stage_changed_at == kNow);

  s.stage = "lost";
  m = merge_leads(s, {a}, Pipeline::admissions(), kNow);
  CHECK(m.lead.stage == "lost");
  CHECK_FALSE(m.previous_stage);
}

TEST_CASE("merge: refuses nothing, itself, another tenant", "[unit]") {
  auto s = lead("s", "2026-01-01T00:00:00.000Z");
  CHECK_THROWS_AS(merge_leads(s, {}, Pipeline::admissions(), kNow), std::invalid_argument);
  CHECK_THROWS_AS(merge_leads(s, {s}, Pipeline::admissions(), kNow), std::invalid_argument);
  auto o = lead("o", "2026-01-01T00:00:00.000Z");
  o.tenant = "other";
  CHECK_THROWS_AS(merge_leads(s, {o}, Pipeline::admissions(), kNow), std::invalid_argument);
}
