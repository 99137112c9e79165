#include <catch2/catch.hpp>
#include <algorithm>

#include "lead.hpp"
#include "lead_json.hpp"

using namespace leadpipe::leads;

namespace {
Captured cap(std::string v, std::string layer, double conf) {
  return Captured{std::move(v), Evidence{"wamid.1", std::move(layer), conf, "2026-11-23T10:00:00.000Z"}};
}
Extraction base() {
  Extraction x;
  x.event_id = "e1";
  x.tenant = "demo";
  x.channel = "whatsapp";
  x.external_id = "6281234567890";
  x.phones.push_back(cap("+6281234567890", "channel", 1.0));
  return x;
}
const std::string kNow = "2026-11-23T10:00:00.000Z";
}  // namespace

TEST_CASE("a first message with a name creates a complete lead in stage new", "[unit]") {
  auto x = base();
  x.name = cap("Budi Santoso", "rule", 0.95);
  auto r = merge_extraction(std::nullopt, x, Pipeline::admissions(), "id-1", kNow);
  CHECK(r.created);
  CHECK(r.lead.version == 1);
  CHECK(r.lead.stage == "new");
  CHECK(r.lead.name == "Budi Santoso");
  CHECK(r.lead.phone == "+6281234567890");
  CHECK(r.lead.source == "whatsapp");
  CHECK(r.captures.size() == 2);
}

TEST_CASE("without a name the lead waits in incomplete, then moves to new", "[unit]") {
  auto x = base();
  auto r1 = merge_extraction(std::nullopt, x, Pipeline::admissions(), "id-1", kNow);
  CHECK(r1.lead.stage == "incomplete");
  auto x2 = base();
  x2.name = cap("Rina", "slot", 0.8);
  auto r2 = merge_extraction(r1.lead, x2, Pipeline::admissions(), "unused", "2026-11-23T10:05:00.000Z");
  CHECK_FALSE(r2.created);
  CHECK(r2.lead.stage == "new");
  CHECK(r2.previous_stage == "incomplete");
  CHECK(r2.lead.version == 2);
  CHECK(r2.lead.stage_changed_at == "2026-11-23T10:05:00.000Z");
  CHECK(std::find(r2.changed.begin(), r2.changed.end(), "stage") != r2.changed.end());
}

TEST_CASE("a rule-detected name replaces the profile name, not the other way round", "[unit]") {
  auto x = base();
  x.name = cap("Budi S", "profile", 0.4);
  auto r1 = merge_extraction(std::nullopt, x, Pipeline::admissions(), "id-1", kNow);
  CHECK(r1.lead.name == "Budi S");
  auto x2 = base();
  x2.name = cap("Budi Santoso", "rule", 0.95);
  auto r2 = merge_extraction(r1.lead, x2, Pipeline::admissions(), "", kNow);
  CHECK(r2.lead.name == "Budi Santoso");
  auto x3 = base();
  x3.name = cap("Budi S", "profile", 0.4);
  auto r3 = merge_extraction(r2.lead, x3, Pipeline::admissions(), "", kNow);
  CHECK(r3.lead.name == "Budi Santoso");
  CHECK(r3.changed.empty());
  CHECK(r3.lead.version == r2.lead.version);
  CHECK_FALSE(r3.captures[0].applied);
}

TEST_CASE("the same capture twice changes nothing the second time", "[unit]") {
  auto x = base();
  x.name = cap("Budi Santoso", "rule", 0.95);
  auto r1 = merge_extraction(std::nullopt, x, Pipeline::admissions(), "id-1", kNow);
  auto r2 = merge_extraction(r1.lead, x, Pipeline::admissions(), "", kNow);
  CHECK(r2.changed.empty());
  CHECK(r2.lead.version == 1);
}

TEST_CASE("the phone is the identity and is never overwritten by a capture", "[unit]") {
  auto x = base();
  auto r1 = merge_extraction(std::nullopt, x, Pipeline::admissions(), "id-1", kNow);
  auto x2 = base();
  x2.phones = {cap("+6285700001111", "rule", 0.9)};
  auto r2 = merge_extraction(r1.lead, x2, Pipeline::admissions(), "", kNow);
  CHECK(r2.lead.phone == "+6281234567890");
  CHECK_FALSE(r2.captures[0].applied);
}

TEST_CASE("contact.extracted data parses, emails normalised", "[unit]") {
  auto x = parse_extraction("e1", "demo", R"({"channel":"whatsapp","external_id":"628","source_event_id":"s",
    "message_id":"m","name":{"value":"Budi","evidence":{"message_id":"m","layer":"rule","confidence":0.9,
    "detected_at":"2026-11-23T10:00:00Z"}},"phones":[],"emails":[{"value":" Budi@Example.COM ","evidence":
    {"message_id":"m","layer":"rule","confidence":0.9,"detected_at":"x"}}],"score":70,"tier":"warm"})");
  CHECK(x.name->value == "Budi");
  CHECK(x.emails.at(0).value == "budi@example.com");
  CHECK(x.score == 70);
  CHECK_THROWS_AS(parse_extraction("e", "t", R"({"phones":[]})"), std::invalid_argument);
  CHECK_THROWS_AS(parse_extraction("e", "t", "[1]"), std::invalid_argument);
}

TEST_CASE("lead event data carries lead_id, version and contact fields", "[unit]") {
  auto x = base();
  x.name = cap("Budi Santoso", "rule", 0.95);
  auto r = merge_extraction(std::nullopt, x, Pipeline::admissions(), "id-1", kNow);
  const auto json = lead_event_data(r.lead, nullptr);
  CHECK(json.find(R"("lead_id":"id-1")") != std::string::npos);
  CHECK(json.find(R"("version":1)") != std::string::npos);
  CHECK(json.find(R"("phone":"+6281234567890")") != std::string::npos);
  CHECK(lead_json(r.lead).find(R"("id":"id-1")") != std::string::npos);
}
