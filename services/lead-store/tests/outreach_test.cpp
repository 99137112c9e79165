// Outreach messages on the timeline — the pure part: parsing outreach's
// result events (the producer's examples in proto/events/examples are the
// contract), the forward-only delivery status, the timeline payload, CRM
// message requests, and the pipeline's contact / suggestion configuration.
#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <fstream>
#include <sstream>

#include <leadpipe/events/schema.hpp>
#include <leadpipe/testing/infra.hpp>

#include "outreach.hpp"
#include "pipeline.hpp"

using namespace leadpipe;
using namespace leadpipe::leads;

namespace {

std::string example(const std::string& type) {
  std::ifstream in(testing::source_dir() + "/proto/events/examples/" + type + ".json");
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

rapidjson::Document doc(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str(), json.size());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

std::string member(const std::string& json, const char* key) {
  auto d = doc(json);
  auto it = d.FindMember(key);
  if (it == d.MemberEnd() || !it->value.IsString()) return "<none>";
  return it->value.GetString();
}

}  // namespace

TEST_CASE("outreach results parse from the producer's examples", "[unit]") {
  for (const char* type : {"outreach.sent", "outreach.delivered", "outreach.failed"}) {
    INFO(type);
    CHECK(events::SchemaSet::builtin().validate(type, example(type)).empty());
  }
  auto sent = parse_outreach_result("outreach.sent", example("outreach.sent"));
  CHECK(sent.status == "sent");
  CHECK(sent.message_id == "0b7d9c1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e");
  CHECK(sent.to == "+6281234567890");
  CHECK(sent.purpose == "slot_prompt");
  CHECK(sent.sender_kind == "bot");
  REQUIRE(sent.message);
  CHECK(sent.message->text == "Boleh tahu nama kakak?");
  auto read = parse_outreach_result("outreach.delivered", example("outreach.delivered"));
  CHECK(read.status == "read");
  CHECK(read.at == "2026-01-15T10:03:10Z");
  auto failed = parse_outreach_result("outreach.failed", example("outreach.failed"));
  CHECK(failed.status == "failed");
  CHECK_FALSE(failed.retryable);
  CHECK(failed.error_code == "131026");
  // Nothing to attach a status to.
  CHECK_THROWS_AS(
      parse_outreach_result(
          "outreach.failed",
          R"({"channel":"sms","to":"+6281234567890","failed_at":"2026-01-15T10:02:05Z",)"
          R"("error":{"code":"x"}})"),
      std::invalid_argument);
}

TEST_CASE("a sensitive message keeps no text or parameters", "[unit]") {
  auto r = parse_outreach_result(
      "outreach.sent",
      R"({"message_id":"m1","channel":"whatsapp","to":"+6281234567890","sent_at":"2026-01-15T10:02:00Z","sensitive":true,)"
      R"("message":{"kind":"template","template":"otp","parameters":["987321"],"text":"Your code is 987321"}})");
  REQUIRE(r.message);
  CHECK_FALSE(r.message->text);
  CHECK(r.message->parameters.empty());
  const auto payload = merge_message_payload("{}", r, true);
  CHECK(payload.find("987321") == std::string::npos);
}

TEST_CASE("delivery status only moves forward", "[unit]") {
  CHECK(advances("pending", false, "sent", false));
  CHECK(advances("sent", false, "delivered", false));
  CHECK(advances("delivered", false, "read", false));
  CHECK(advances("pending", false, "read", false));
  CHECK_FALSE(advances("read", false, "delivered", false));
  CHECK_FALSE(advances("delivered", false, "sent", false));
  CHECK_FALSE(advances("sent", false, "sent", false));
  // A final failure after sent; a receipt beats a failure; a retry beats a retryable failure.
  CHECK(advances("sent", false, "failed", false));
  CHECK_FALSE(advances("failed", false, "sent", false));
  CHECK(advances("failed", false, "delivered", false));
  CHECK(advances("failed", true, "sent", false));
  CHECK_FALSE(advances("sent", false, "failed", true));
  CHECK_FALSE(advances("read", false, "failed", false));
  CHECK(reached_person_side("sent"));
  CHECK(reached_person_side("read"));
  CHECK_FALSE(reached_person_side("failed"));
  CHECK_FALSE(reached_person_side("pending"));
}

TEST_CASE("the timeline payload accumulates facts and keeps the furthest status", "[unit]") {
  auto sent = parse_outreach_result("outreach.sent", example("outreach.sent"));
  auto read = parse_outreach_result("outreach.delivered", example("outreach.delivered"));
  // read arrives first (another topic), then sent: status stays read, sent facts are filled in.
  auto p = merge_message_payload("{}", read, true);
  CHECK(member(p, "status") == "read");
  CHECK(member(p, "read_at") == "2026-01-15T10:03:10Z");
  p = merge_message_payload(p, sent, advances("read", false, "sent", false));
  CHECK(member(p, "status") == "read");
  CHECK(member(p, "sent_at") == "2026-01-15T10:02:00Z");
  auto d = doc(p);
  CHECK(std::string(d["message"]["text"].GetString()) == "Boleh tahu nama kakak?");
  CHECK(std::string(d["sender"]["kind"].GetString()) == "bot");
  // Applying the same result again changes nothing.
  CHECK(merge_message_payload(p, sent, false) == p);
  auto failed = parse_outreach_result("outreach.failed", example("outreach.failed"));
  auto f = merge_message_payload(merge_message_payload("{}", sent, true), failed, true);
  CHECK(member(f, "status") == "failed");
  CHECK(std::string(doc(f)["error"]["code"].GetString()) == "131026");
}

TEST_CASE("CRM message requests are validated", "[unit]") {
  auto parse = [](const std::string& json, std::vector<http::FieldError>& errors) {
    auto d = doc(json);
    return parse_message_request(d, errors);
  };
  std::vector<http::FieldError> errors;
  auto m = parse(
      R"({"channel":"whatsapp","template":"followup_1","language":"id","parameters":["Budi"]})",
      errors);
  CHECK(errors.empty());
  CHECK(m.message.kind == "template");
  m = parse(R"({"channel":"sms","text":"Halo Budi"})", errors);
  CHECK(errors.empty());
  CHECK(m.message.kind == "text");
  for (const char* bad : {R"({"text":"no channel"})", R"({"channel":"email","text":"x"})",
                          R"({"channel":"sms","template":"t"})", R"({"channel":"whatsapp"})",
                          R"({"channel":"whatsapp","text":"x","template":"t"})",
                          R"({"channel":"whatsapp","text":"x","parameters":["a"]})",
                          R"({"channel":"whatsapp","text":""})",
                          R"({"channel":"whatsapp","text":"x","to":"+1"})", R"(["channel"])"}) {
    INFO(bad);
    errors.clear();
    parse(bad, errors);
    CHECK_FALSE(errors.empty());
  }
  errors.clear();
  m = parse(
      R"({"channel":"whatsapp","template":"followup_1","language":"id","parameters":["Budi"]})",
      errors);
  const auto data =
      outreach_requested_data("6f1c2b7e-5a4d-4c3b-9e8f-1a2b3c4d5e6f", m, "+6281234567890",
                              "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d", "c1");
  CHECK(events::SchemaSet::builtin().validate("outreach.requested", data).empty());
  CHECK(member(data, "purpose") == "crm");
  CHECK(std::string(doc(data)["context"]["sender"]["user_id"].GetString()) == "c1");
  const auto pending = pending_message_payload("r1", m, "c1", "2026-01-15T10:00:00.000Z");
  CHECK(member(pending, "status") == "pending");
}

TEST_CASE("pipelines configure which outreach is a contact and the qualified suggestion",
          "[unit]") {
  const auto& p = Pipeline::admissions();
  CHECK(p.is_contact("crm"));
  CHECK(p.is_contact("followup"));
  CHECK_FALSE(p.is_contact("otp"));
  CHECK_FALSE(p.is_contact("slot_prompt"));
  CHECK(p.suggestion_for("contacted", {"register_intent"}) == "qualified");
  CHECK(p.suggestion_for("contacted", {"pricing_inquiry", "visit_intent"}) == "qualified");
  CHECK_FALSE(p.suggestion_for("new", {"register_intent"}));        // not contacted yet
  CHECK_FALSE(p.suggestion_for("contacted", {"pricing_inquiry"}));  // no such intent
  CHECK_FALSE(p.suggestion_for("qualified", {"register_intent"}));  // already there
  // Round trip through JSON keeps the configuration; the funnel pipeline has none.
  const auto again = Pipeline::from_json(p.to_json());
  CHECK(again.suggestion_for("contacted", {"visit_intent"}) == "qualified");
  CHECK_FALSE(again.is_contact("otp"));
  // The board's defaults follow the seeds: 000 opens on actionable, 001 shows all by score.
  CHECK(p.default_view == "actionable");
  CHECK(p.default_sort == "recent");
  CHECK(again.default_view == "actionable");
  const auto clinic = Pipeline::from_json(builtin_pipelines().at("clinic"));
  CHECK(clinic.default_view == "all");
  CHECK(clinic.default_sort == "score");
  CHECK_THROWS_AS(Pipeline::from_json(R"({"name":"x","stages":[{"key":"a"},{"key":"w","terminal":"won"},)"
                                      R"({"key":"l","terminal":"lost"}],"list":{"view":"mine"}})"),
                  std::invalid_argument);
  const auto funnel = Pipeline::from_json(builtin_pipelines().at("funnel"));
  CHECK(funnel.default_view == "all");
  CHECK_FALSE(funnel.suggestion_for("AGUARDANDO", {"register_intent"}));
  CHECK_THROWS_AS(Pipeline::from_json(
                      R"({"name":"x","stages":[{"key":"a"},{"key":"w","terminal":"won"},)"
                      R"({"key":"l","terminal":"lost"}],"automatic":{"suggest":{"stage":"nope",)"
                      R"("intents":["register_intent"]}}})"),
                  std::invalid_argument);
}
