// The pure mapping of the other intake sources (sources.hpp): the
// proto/events examples parse into captures, merges keep first-touch
// attribution, form statuses only advance, calls reach or not.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <leadpipe/testing/infra.hpp>

#include "sources.hpp"

using namespace leadpipe;
using namespace leadpipe::leads;

namespace {

std::string example(const std::string& type) {
  std::ifstream in(testing::source_dir() + "/proto/events/examples/" + type + ".json");
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string kNow = "2026-11-23T10:00:00.000Z";

}  // namespace

TEST_CASE("ingest.vendor.lead example maps to identity, captures, session year and extra", "[unit]") {
  auto s = parse_vendor_lead("ev-1", "demo", example("ingest.vendor.lead"));
  CHECK(s.source == "vendor");
  CHECK(s.channel == "vendor");
  CHECK(s.capture.channel == "vendor:collegedunia");
  CHECK(s.capture.external_id == "VND-2026-000481");
  REQUIRE(s.capture.name);
  CHECK(s.capture.name->value == "Arjun Mehta");
  CHECK(s.capture.name->evidence.layer == "vendor");
  CHECK(s.capture.name->evidence.confidence == Approx(kVendorConfidence));
  CHECK(s.capture.name->evidence.detected_at == "2026-01-15T09:30:12Z");
  REQUIRE(s.capture.phones.size() == 1);
  CHECK(s.capture.phones[0].value == "+919820144512");
  REQUIRE(s.capture.emails.size() == 1);
  CHECK(s.capture.emails[0].value == "arjun.mehta@example.com");
  REQUIRE(s.capture.program);  // program is null → the course
  CHECK(s.capture.program->value == "Drone Technology Diploma");
  CHECK(s.session_year == "2027-28");
  CHECK(s.extra.at("vendor") == "collegedunia");
  CHECK(s.extra.at("utm_source") == "collegedunia");
  CHECK(s.extra.at("city") == "Pune");
  CHECK(s.extra.count("state") == 0);           // null is not a value
  CHECK(s.extra.at("guardian_name") == "R. Mehta");
  CHECK(s.extra.at("jee_rank") == "15420");      // non-strings kept as JSON text
  CHECK(s.form_status.empty());
}

TEST_CASE("vendor data without the required members is rejected", "[unit]") {
  CHECK_THROWS_AS(parse_vendor_lead("e", "demo", "[]"), std::invalid_argument);
  CHECK_THROWS_AS(parse_vendor_lead("e", "demo", R"({"vendor":"v","name":"A","phone":"+6281200000001"})"),
                  std::invalid_argument);
}

TEST_CASE("ingest.campaign.submission example maps to a campaign identity and an applied form", "[unit]") {
  auto s = parse_campaign_submission("ev-2", "demo", example("ingest.campaign.submission"));
  CHECK(s.source == "campaign");
  CHECK(s.channel == "web");
  CHECK(s.capture.channel == "campaign:drone-2027");
  CHECK(s.capture.external_id == "+5511987654321");
  CHECK(s.capture.name->value == "Ana Souza");
  CHECK(s.capture.name->evidence.layer == "form");
  CHECK(s.capture.program->value == "Drone Technology Diploma");
  CHECK(s.session_year == "2027-28");
  CHECK(s.extra.at("campaign") == "drone-2027");
  CHECK(s.extra.at("utm_medium") == "social");
  CHECK(s.extra.at("neighbourhood") == "Pinheiros");
  CHECK(s.form_status.at("form_status:drone-2027") == "applied");
}

TEST_CASE("a vendor lead creates a complete lead with source vendor", "[unit]") {
  auto s = parse_vendor_lead("ev-1", "demo", example("ingest.vendor.lead"));
  auto m = merge_source(std::nullopt, {}, s, Pipeline::admissions(), "id-1", kNow);
  const auto& l = m.result.lead;
  CHECK(m.result.created);
  CHECK(l.version == 1);
  CHECK(l.source == "vendor");
  CHECK(l.channel == "vendor");
  CHECK(l.stage == "new");
  CHECK(l.session_year == "2027-28");
  CHECK(l.program == "Drone Technology Diploma");
  CHECK(m.extra.at("vendor") == "collegedunia");
}

TEST_CASE("merging into an existing lead keeps first-touch attribution and bumps the version once", "[unit]") {
  Lead existing;
  existing.id = "id-1";
  existing.tenant = "demo";
  existing.name = "Arjun M";
  existing.confidence["name"] = 0.95;  // a rule hit from the chat beats the vendor's name
  existing.phone = "+919820144512";
  existing.stage = "new";
  existing.source = "whatsapp";
  existing.channel = "whatsapp";
  existing.version = 3;
  const std::map<std::string, std::string> extra{{"utm_source", "instagram"}};
  auto s = parse_vendor_lead("ev-1", "demo", example("ingest.vendor.lead"));
  auto m = merge_source(existing, extra, s, Pipeline::admissions(), "unused", kNow);
  const auto& r = m.result;
  CHECK_FALSE(r.created);
  CHECK(r.lead.version == 4);
  CHECK(r.lead.source == "whatsapp");        // the first source stays
  CHECK(r.lead.name == "Arjun M");           // less confident: recorded, not applied
  CHECK(r.lead.email == "arjun.mehta@example.com");
  CHECK(r.lead.session_year == "2027-28");
  CHECK(m.extra.at("utm_source") == "instagram");
  CHECK(m.extra_changed);
  CHECK(std::find(r.changed.begin(), r.changed.end(), "extra") != r.changed.end());
  CHECK(std::find(r.changed.begin(), r.changed.end(), "session_year") != r.changed.end());
  CHECK(std::find(r.changed.begin(), r.changed.end(), "name") == r.changed.end());

  // The same data again changes nothing and keeps the version.
  auto again = merge_source(r.lead, m.extra, s, Pipeline::admissions(), "unused", kNow);
  CHECK(again.result.changed.empty());
  CHECK_FALSE(again.extra_changed);
  CHECK(again.result.lead.version == 4);
}

TEST_CASE("only session year or extra changing still bumps the version", "[unit]") {
  Lead existing;
  existing.id = "id-1";
  existing.tenant = "demo";
  existing.name = "Ana Souza";
  existing.confidence["name"] = 1.0;
  existing.phone = "+5511987654321";
  existing.email = "ana.souza@example.com";
  existing.confidence["email"] = 1.0;
  existing.program = "Drone Technology Diploma";
  existing.confidence["program"] = 1.0;
  existing.stage = "new";
  existing.source = "campaign";
  existing.version = 2;
  auto s = parse_campaign_submission("ev-2", "demo", example("ingest.campaign.submission"));
  auto m = merge_source(existing, {}, s, Pipeline::admissions(), "unused", kNow);
  CHECK(m.result.lead.version == 3);
  CHECK(m.result.lead.updated_at == kNow);
}

TEST_CASE("a campaign form status advances and never goes back", "[unit]") {
  CHECK(form_status_rank("applied") > form_status_rank("interested"));
  auto interest = parse_campaign_submission(
      "e1", "demo",
      R"({"channel":"website","campaign":"c1","form_type":"interest","status":"interested","did_interest_form":true,)"
      R"("did_application_form":false,"name":"Ana","phone":"+5511987654321","phone_verified":true,)"
      R"("submitted_at":"2026-01-15T11:20:00Z"})");
  CHECK(interest.form_status.at("form_status:c1") == "interested");
  Lead existing;
  existing.id = "id-1";
  existing.tenant = "demo";
  existing.name = "Ana";
  existing.phone = "+5511987654321";
  existing.stage = "new";
  existing.source = "campaign";
  existing.version = 2;
  existing.confidence["name"] = 1.0;
  auto m = merge_source(existing, {{"campaign", "c1"}, {"form_status:c1", "applied"}}, interest,
                        Pipeline::admissions(), "unused", kNow);
  CHECK(m.extra.at("form_status:c1") == "applied");
  CHECK_FALSE(m.extra_changed);
  CHECK(m.result.lead.version == 2);

  auto up = merge_source(existing, {{"campaign", "c1"}, {"form_status:c1", "interested"}},
                         parse_campaign_submission("e2", "demo", example("ingest.campaign.submission")),
                         Pipeline::admissions(), "unused", kNow);
  CHECK(up.extra.at("form_status:c1") == "interested");   // another campaign's key is separate
  CHECK(up.extra.at("form_status:drone-2027") == "applied");
}

TEST_CASE("calls: the example parses, only a completed call with talk time reaches the person", "[unit]") {
  auto c = parse_call(example("ingest.call.completed"));
  CHECK(c.call_id == "c7f1e9a2b4");
  CHECK(c.direction == "inbound");
  CHECK(c.customer_phone == "+919845012377");
  CHECK(c.duration_seconds == 271);
  CHECK(c.has_transcript);
  CHECK(call_reached(c));
  const auto payload = call_activity_json(c);
  CHECK(payload.find("\"reached\":true") != std::string::npos);
  CHECK(payload.find("Priya") == std::string::npos);  // no transcript text on the timeline
  c.duration_seconds = 0;
  CHECK_FALSE(call_reached(c));
  c.duration_seconds.reset();
  CHECK(call_reached(c));
  for (const char* o : {"no_answer", "busy", "failed", "voicemail", "cancelled", "something_new"}) {
    c.outcome = o;
    CHECK_FALSE(call_reached(c));
  }
  CHECK_THROWS_AS(parse_call(R"({"call_id":"x"})"), std::invalid_argument);
}

TEST_CASE("extra round-trips as a JSON object of strings", "[unit]") {
  const std::map<std::string, std::string> m{{"a", "1"}, {"b \"q\"", "x\ny"}};
  CHECK(parse_extra(extra_json(m)) == m);
  CHECK(parse_extra("not json").empty());
  CHECK(parse_extra(R"({"n":5,"z":null})") == std::map<std::string, std::string>{{"n", "5"}});
}
