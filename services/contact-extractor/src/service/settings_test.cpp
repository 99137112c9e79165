// Per-tenant settings (parse/validate/merge, engine config) and slot prompts: pure.
#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <leadpipe/events/schema.hpp>

#include "prompts.hpp"
#include "tenant_config.hpp"

using namespace leadpipe;
using namespace leadpipe::extractor;

TEST_CASE("tenant settings parse, merge onto a base and round-trip", "[unit]") {
  auto s = parse_settings(R"({"region":"br","programs":["Direito"," Administração ",""],
                               "scoring":{"high_value":["vestibular"]},"llm":{"enabled":true,"daily_budget":7},
                               "prompting":{"enabled":true},"state_ttl_hours":12})");
  CHECK(s.region == "BR");
  CHECK(s.programs == std::vector<std::string>{"Direito", "Administração"});
  CHECK(s.scoring.at("high_value") == std::vector<std::string>{"vestibular"});
  CHECK(s.llm_enabled);
  CHECK(s.llm_daily_budget == 7);
  CHECK(s.prompting);
  CHECK(s.state_ttl_hours == 12);
  CHECK(parse_settings(to_json(s)) == s);

  // A partial document changes only what it names.
  auto t = parse_settings(R"({"prompting":{"enabled":false}})", s);
  CHECK_FALSE(t.prompting);
  CHECK(t.region == "BR");
  CHECK(t.programs == s.programs);
  CHECK(t.llm_daily_budget == 7);

  // Defaults.
  TenantSettings d;
  CHECK(d.region == "ID");
  CHECK_FALSE(d.llm_enabled);
  CHECK_FALSE(d.prompting);
  CHECK(d.state_ttl_hours == 6);
}

TEST_CASE("tenant settings reject unknown members, bad types and unknown regions", "[unit]") {
  CHECK_THROWS_AS(parse_settings(R"({"region":"XX"})"), std::invalid_argument);
  CHECK_THROWS_AS(parse_settings(R"({"region":"BRA"})"), std::invalid_argument);
  CHECK_THROWS_AS(parse_settings(R"({"regoin":"BR"})"), std::invalid_argument);
  CHECK_THROWS_AS(parse_settings(R"({"programs":"Direito"})"), std::invalid_argument);
  CHECK_THROWS_AS(parse_settings(R"({"programs":[1]})"), std::invalid_argument);
  CHECK_THROWS_AS(parse_settings(R"({"scoring":{"hot":["x"]}})"), std::invalid_argument);
  CHECK_THROWS_AS(parse_settings(R"({"llm":{"enabled":"yes"}})"), std::invalid_argument);
  CHECK_THROWS_AS(parse_settings(R"({"llm":{"daily_budget":-1}})"), std::invalid_argument);
  CHECK_THROWS_AS(parse_settings(R"({"state_ttl_hours":0})"), std::invalid_argument);
  CHECK_THROWS_AS(parse_settings("[1,2]"), std::invalid_argument);
  CHECK_THROWS_AS(parse_settings("{"), std::invalid_argument);
}

TEST_CASE("a tenant's region and vocabulary change what the engine extracts", "[unit]") {
  TenantCache cache(TenantSettings{}, std::chrono::minutes(1));
  auto none = [](const std::string&) { return std::optional<TenantSettings>{}; };
  auto br = [](const std::string&) {
    return std::optional<TenantSettings>{parse_settings(R"({"region":"BR","programs":["Medicina Veterinária"]})")};
  };
  auto id_entry = cache.get("t-id", none);
  auto br_entry = cache.get("t-br", br);
  const extract::Message m{"m1", extract::Speaker::user, "meu celular é (11) 98765-4321, quero medicina veterinaria", 1};
  extract::ConversationState a, b;
  id_entry->extractor->observe(a, m);
  br_entry->extractor->observe(b, m);
  CHECK(a.phones.empty());
  CHECK_FALSE(a.program);
  REQUIRE(b.phones.size() == 1);
  CHECK(b.phones[0].value == "+5511987654321");
  REQUIRE(b.program);
  CHECK(b.program->value == "Medicina Veterinária");

  // Cached: the loader is not asked again within the TTL; tenants with the
  // same effective config share one compiled Extractor.
  int calls = 0;
  auto counting = [&](const std::string&) { ++calls; return std::optional<TenantSettings>{}; };
  CHECK(cache.get("t-br", counting) == br_entry);
  CHECK(calls == 0);
  auto other = cache.get("t-other", counting);
  CHECK(calls == 1);
  CHECK(other->extractor == id_entry->extractor);

  // TTL 0: every get reloads, so a change is seen at once.
  TenantCache fresh(TenantSettings{}, std::chrono::milliseconds(0));
  CHECK(fresh.get("t", none)->settings.region == "ID");
  CHECK(fresh.get("t", br)->settings.region == "BR");
}

TEST_CASE("a tenant's extra scoring keywords add to the score", "[unit]") {
  auto s = parse_settings(R"({"scoring":{"high_value":["open house vip"],"urgency":["besok pagi"]}})");
  extract::Extractor plain(to_extract_config(TenantSettings{}));
  extract::Extractor tuned(to_extract_config(s));
  const std::string text = "info open house vip ya";
  CHECK(tuned.score(text).value == plain.score(text).value + 20);
  const auto reasons = tuned.score(text).reasons;
  CHECK(std::find(reasons.begin(), reasons.end(), "high_value:open house vip +20") != reasons.end());
}

TEST_CASE("slot prompts ask for the name first, then the email, never while a question is open", "[unit]") {
  extract::ConversationState st;
  CHECK(slot_to_prompt(st, true) == extract::Slot::name);
  CHECK_FALSE(slot_to_prompt(st, false));  // nobody to ask
  st.name = extract::Captured{"Rina", {"m1", "rule", 0.9, 1}};
  CHECK(slot_to_prompt(st, true) == extract::Slot::email);
  CHECK(slot_to_prompt(st, false) == extract::Slot::phone);
  st.emails.push_back({"rina@example.com", {"m1", "rule", 0.95, 1}});
  CHECK_FALSE(slot_to_prompt(st, true));
  st.name.reset();
  st.awaiting = extract::slot_bit(extract::Slot::name);
  CHECK_FALSE(slot_to_prompt(st, true));
  st.awaiting = 0;
  st.intents.push_back("opt_out");
  CHECK_FALSE(slot_to_prompt(st, true));
}

TEST_CASE("every localized prompt is read back by the rule layer as a question for its slot", "[unit]") {
  extract::Extractor ex(extract::TenantConfig{});
  for (const char* lang : {"id", "en", "pt"}) {
    for (auto slot : {extract::Slot::name, extract::Slot::email, extract::Slot::phone}) {
      extract::ConversationState st;
      ex.observe(st, {"b1", extract::Speaker::bot, prompt_text(slot, lang), 1});
      INFO(lang << " " << prompt_text(slot, lang));
      CHECK((st.awaiting & extract::slot_bit(slot)) != 0);
    }
  }
}

TEST_CASE("the outreach.requested data of a prompt matches its schema", "[unit]") {
  const auto data = outreach_request_data("req-1", "whatsapp", "+6281234567890", extract::Slot::name,
                                          prompt_text(extract::Slot::name, "id"), "id", "ev-1");
  CHECK(events::SchemaSet::builtin().validate("outreach.requested", data).empty());
  rapidjson::Document d;
  d.Parse(data.c_str());
  CHECK(std::string(d["purpose"].GetString()) == "slot_prompt");
  CHECK(std::string(d["message"]["kind"].GetString()) == "text");
  CHECK(std::string(d["message"]["text"].GetString()) == "Boleh tahu nama kakak?");
  CHECK(prompt_language(parse_settings(R"({"region":"BR"})")) == "pt");
  CHECK(prompt_language(parse_settings(R"({"region":"BR","language":"en"})")) == "en");
  CHECK(prompt_language(TenantSettings{}) == "id");
}
