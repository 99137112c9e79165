#include "consumer.hpp"

#include <rapidjson/document.h>

#include <pqxx/pqxx>

#include <leadpipe/events/schema.hpp>
#include <leadpipe/events/topics.hpp>
#include <leadpipe/outbox/outbox.hpp>
#include <leadpipe/runtime/runtime.hpp>

#include "extracted.hpp"
#include "prompts.hpp"

namespace leadpipe::extractor {
namespace {

std::optional<std::string> opt_string(const rapidjson::Value& obj, const char* name) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsString()) return std::nullopt;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

extract::ConversationState load_state(pqxx::work& tx, const std::string& tenant, const std::string& channel,
                                      const std::string& external_id) {
  auto row = tx.exec_params(
      "SELECT state::text FROM extraction.conversations "
      "WHERE tenant = $1 AND channel = $2 AND external_id = $3 FOR UPDATE",
      tenant, channel, external_id);
  if (row.empty()) return {};
  return extract::ConversationState::from_json(row[0][0].as<std::string>());
}

void save_state(pqxx::work& tx, const std::string& tenant, const std::string& channel,
                const std::string& external_id, const extract::ConversationState& state) {
  tx.exec_params(
      "INSERT INTO extraction.conversations (tenant, channel, external_id, state, updated_at) "
      "VALUES ($1, $2, $3, $4::jsonb, now()) "
      "ON CONFLICT (tenant, channel, external_id) "
      "DO UPDATE SET state = EXCLUDED.state, updated_at = now()",
      tenant, channel, external_id, state.to_json());
}

std::shared_ptr<const TenantEntry> tenant_entry(const ConsumerDeps& deps, pqxx::work& tx, const std::string& tenant) {
  const TenantCache::Loader load = [&tx](const std::string& t) { return load_settings(tx, t); };
  return deps.tenants.get(tenant, load);
}

void enqueue_event(pqxx::work& tx, const events::CloudEvent& out, const std::string& key) {
  outbox::OutboxMessage m;
  m.topic = out.type;
  m.key = key;
  m.payload = events::to_json(out);
  m.headers = {{"ce_type", out.type}, {"ce_id", out.id}, {"tenantid", out.tenant}};
  outbox::enqueue(tx, kSchema, m);
}

events::CloudEvent parse_event(const kafka::Record& record) {
  events::CloudEvent ev;
  try {
    ev = events::parse(record.value);
  } catch (const events::ParseError& e) {
    throw kafka::PermanentError(std::string("invalid CloudEvent: ") + e.what());
  }
  if (auto errors = events::SchemaSet::builtin().validate(ev.type, ev.data); !errors.empty()) {
    throw kafka::PermanentError("data does not match " + ev.type + " schema: " + errors.front());
  }
  return ev;
}

// Publishes an outreach.requested slot prompt when the tenant wants prompts,
// the state lacks a field, and that slot was not prompted within the TTL.
void maybe_prompt(pqxx::work& tx, const TenantEntry& tenant, const Inbound& in, extract::ConversationState& state,
                  const log::Logger& log) {
  if (!tenant.settings.prompting) return;
  const auto own = channel_phone(in.external_id);
  const auto slot = slot_to_prompt(state, own.has_value());
  if (!slot || !own) return;
  const std::string slot_name(extract::slot_name(*slot));
  const std::string request_id = events::uuid_v5(events::kNamespace, "slot_prompt:" + in.event_id + ":" + slot_name);
  // At most one prompt per slot per conversation within the state TTL.
  auto claimed = tx.exec_params(
      "INSERT INTO extraction.slot_prompts (tenant, channel, external_id, slot, prompted_at, request_id) "
      "VALUES ($1, $2, $3, $4, now(), $5) "
      "ON CONFLICT (tenant, channel, external_id, slot) DO UPDATE "
      "SET prompted_at = now(), request_id = EXCLUDED.request_id "
      "WHERE extraction.slot_prompts.prompted_at < now() - make_interval(hours => $6) "
      "RETURNING 1",
      in.tenant, in.channel, in.external_id, slot_name, request_id, tenant.settings.state_ttl_hours);
  if (claimed.empty()) return;
  const auto language = prompt_language(tenant.settings);
  const auto text = prompt_text(*slot, language);
  auto out = events::make(std::string(events::topics::outreach_requested), "/contact-extractor", in.tenant, *own,
                          outreach_request_data(request_id, in.channel, *own, *slot, text, language, in.event_id));
  out.id = events::uuid_v5(events::kNamespace, "outreach.requested:" + request_id);
  enqueue_event(tx, out, in.tenant + ":" + *own);
  state.awaiting |= extract::slot_bit(*slot);
  state.awaiting_since_ms = in.at_ms;
  log.info("slot prompt requested", {{"slot", slot_name}});
}

void handle_inbound(const ConsumerDeps& deps, const events::CloudEvent& ev, const log::Logger& logger) {
  rapidjson::Document data;
  data.Parse(ev.data.c_str(), ev.data.size());

  Inbound in;
  in.tenant = ev.tenant;
  in.channel = "whatsapp";
  in.external_id = opt_string(data, "wa_id").value_or("");
  in.event_id = ev.id;
  in.message_id = opt_string(data, "message_id").value_or("");
  in.profile_name = opt_string(data, "profile_name");
  in.text = opt_string(data, "text");
  in.at_ms = parse_rfc3339_ms(opt_string(data, "timestamp").value_or(""));
  if (in.at_ms == 0) in.at_ms = now_ms();

  const auto log = logger.with({{"tenant", in.tenant}, {"event_id", ev.id}});
  runtime::with_database([&] {
    deps.pool.with([&](pqxx::connection& c) {
      pqxx::work tx(c);
      if (!outbox::claim(tx, kSchema, kConsumerName, ev.id)) {
        log.info("duplicate event skipped");
        return;
      }
      const auto tenant = tenant_entry(deps, tx, in.tenant);
      const extract::Extractor& extractor = *tenant->extractor;
      auto state = load_state(tx, in.tenant, in.channel, in.external_id);
      const auto before = state;

      extract::Message msg;
      msg.id = in.message_id;
      msg.from = extract::Speaker::user;
      msg.text = in.text.value_or("");
      msg.at_ms = in.at_ms;
      extractor.observe(state, msg);

      // Layer 3: the gated LLM (never with no endpoint, tenant opt-out or spent budget).
      if (deps.llm && deps.llm->configured() && tenant->settings.llm_enabled) {
        if (auto why = llm_gate(before, state, msg)) {
          if (take_llm_budget(tx, in.tenant, tenant->settings.llm_daily_budget)) {
            std::vector<std::string> awaiting;
            for (auto s : {extract::Slot::name, extract::Slot::phone, extract::Slot::email})
              if (before.awaiting & extract::slot_bit(s)) awaiting.emplace_back(extract::slot_name(s));
            auto r = deps.llm->ask(msg.text, awaiting);
            const bool merged = r.answer && merge_llm(state, *r.answer, msg, tenant->settings.region);
            log.info("llm consulted", {{"reason", *why}, {"outcome", to_string(r.outcome)}, {"merged", merged}});
          } else {
            deps.llm->count_budget_spent();
            log.info("llm budget spent", {{"reason", *why}});
          }
        }
      }

      maybe_prompt(tx, *tenant, in, state, log);
      const auto result = extractor.result(state);
      save_state(tx, in.tenant, in.channel, in.external_id, state);

      auto out = events::make(std::string(events::topics::contact_extracted), "/contact-extractor", in.tenant,
                              in.external_id,
                              contact_extracted_data(in, result, tenant->settings.region, now_ms()));
      // Same input event → same output id, so lead-store dedupes a replay.
      out.id = events::uuid_v5(events::kNamespace, "contact.extracted:" + ev.id);
      enqueue_event(tx, out, in.tenant + ":" + in.external_id);
      tx.commit();
      log.info("message extracted", {{"has_name", result.name.has_value()},
                                     {"phones", result.phones.size()},
                                     {"emails", result.emails.size()}});
    });
  });
}

void handle_outreach_sent(const ConsumerDeps& deps, const events::CloudEvent& ev, const log::Logger& logger) {
  rapidjson::Document data;
  data.Parse(ev.data.c_str(), ev.data.size());
  const std::string channel = opt_string(data, "channel").value_or("whatsapp");
  const std::string to = opt_string(data, "to").value_or("");
  // The conversation key: for WhatsApp the wa_id is the E.164 number without '+'.
  const std::string external_id = to.size() > 1 && to[0] == '+' ? to.substr(1) : to;
  std::string text;
  bool sensitive = false;
  if (auto s = data.FindMember("sensitive"); s != data.MemberEnd() && s->value.IsBool()) sensitive = s->value.GetBool();
  if (auto m = data.FindMember("message"); m != data.MemberEnd() && m->value.IsObject()) {
    text = opt_string(m->value, "text").value_or("");
  }
  extract::Speaker speaker = extract::Speaker::bot;
  if (auto s = data.FindMember("sender"); s != data.MemberEnd() && s->value.IsObject()) {
    if (opt_string(s->value, "kind").value_or("") == "counsellor") speaker = extract::Speaker::agent;
  }
  std::int64_t at_ms = parse_rfc3339_ms(opt_string(data, "sent_at").value_or(""));
  if (at_ms == 0) at_ms = now_ms();

  const auto log = logger.with({{"tenant", ev.tenant}, {"event_id", ev.id}});
  runtime::with_database([&] {
    deps.pool.with([&](pqxx::connection& c) {
      pqxx::work tx(c);
      if (!outbox::claim(tx, kSchema, kConsumerName, ev.id)) {
        log.info("duplicate event skipped");
        return;
      }
      if (sensitive || text.empty()) {  // OTPs and text-less templates say nothing to learn from
        tx.commit();
        return;
      }
      const auto tenant = tenant_entry(deps, tx, ev.tenant);
      auto state = load_state(tx, ev.tenant, channel, external_id);
      extract::Message msg;
      msg.id = opt_string(data, "provider_message_id").value_or(opt_string(data, "message_id").value_or(ev.id));
      msg.from = speaker;
      msg.text = text;
      msg.at_ms = at_ms;
      tenant->extractor->observe(state, msg);
      save_state(tx, ev.tenant, channel, external_id, state);
      tx.commit();
      log.info("outbound turn observed", {{"speaker", std::string(extract::to_string(speaker))},
                                          {"awaiting", static_cast<std::int64_t>(state.awaiting)}});
    });
  });
}

// Turns of a call: the structured turns when sent, else "speaker: text" lines
// of the transcript (a line without a known speaker continues the previous one).
std::vector<extract::Message> call_turns(const rapidjson::Document& data, const std::string& call_id,
                                         std::int64_t at_ms, bool* speakers_known) {
  std::vector<extract::Message> out;
  *speakers_known = false;
  auto speaker_of = [](std::string s) -> std::optional<extract::Speaker> {
    for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    while (!s.empty() && s.back() == ' ') s.pop_back();
    if (s == "caller" || s == "client" || s == "patient" || s == "prospect") return extract::Speaker::user;
    if (s == "ai" || s == "voicebot" || s == "operator" || s == "receptionist") return extract::Speaker::agent;
    return extract::parse_speaker(s);
  };
  if (auto t = data.FindMember("turns"); t != data.MemberEnd() && t->value.IsArray() && !t->value.Empty()) {
    for (const auto& turn : t->value.GetArray()) {
      extract::Message m;
      m.id = call_id;
      m.at_ms = at_ms;
      m.text = opt_string(turn, "text").value_or("");
      auto sp = speaker_of(opt_string(turn, "speaker").value_or(""));
      if (sp) *speakers_known = true;
      m.from = sp.value_or(extract::Speaker::user);
      out.push_back(std::move(m));
    }
    return out;
  }
  const std::string transcript = opt_string(data, "transcript").value_or("");
  extract::Speaker current = extract::Speaker::user;
  std::size_t i = 0;
  while (i < transcript.size()) {
    auto j = transcript.find('\n', i);
    if (j == std::string::npos) j = transcript.size();
    std::string line = transcript.substr(i, j - i);
    i = j + 1;
    if (auto colon = line.find(':'); colon != std::string::npos && colon < 24) {
      if (auto sp = speaker_of(line.substr(0, colon))) {
        current = *sp;
        *speakers_known = true;
        line = line.substr(colon + 1);
      }
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    out.push_back({call_id, current, line, at_ms});
  }
  return out;
}

void handle_call_completed(const ConsumerDeps& deps, const events::CloudEvent& ev, const log::Logger& logger) {
  rapidjson::Document data;
  data.Parse(ev.data.c_str(), ev.data.size());
  const std::string call_id = opt_string(data, "call_id").value_or("");
  const std::string direction = opt_string(data, "direction").value_or("inbound");
  std::string customer = opt_string(data, "customer_phone")
                             .value_or(opt_string(data, direction == "outbound" ? "to" : "from").value_or(""));
  std::int64_t at_ms = parse_rfc3339_ms(opt_string(data, "ended_at").value_or(""));
  if (at_ms == 0) at_ms = parse_rfc3339_ms(opt_string(data, "started_at").value_or(""));
  if (at_ms == 0) at_ms = now_ms();
  bool speakers_known = false;
  const auto turns = call_turns(data, call_id, at_ms, &speakers_known);

  const auto log = logger.with({{"tenant", ev.tenant}, {"event_id", ev.id}, {"call_id", call_id}});
  runtime::with_database([&] {
    deps.pool.with([&](pqxx::connection& c) {
      pqxx::work tx(c);
      if (!outbox::claim(tx, kSchema, kConsumerName, ev.id)) {
        log.info("duplicate event skipped");
        return;
      }
      if (turns.empty() || customer.empty()) {  // unanswered call: nothing to score
        tx.commit();
        log.info("call without transcript skipped");
        return;
      }
      const auto tenant = tenant_entry(deps, tx, ev.tenant);
      const extract::Extractor& extractor = *tenant->extractor;
      extract::ConversationState state;
      std::string customer_text;
      for (const auto& m : turns) {
        extractor.observe(state, m);
        if (!speakers_known || m.from == extract::Speaker::user) customer_text += m.text + "\n";
      }
      auto result = extractor.result(state);
      // Seed 001: the call is scored on what the customer said (the whole
      // transcript when speakers are not marked).
      auto score = extractor.score(customer_text);
      result.score = score.value;
      result.tier = score.tier;
      result.score_reasons = score.reasons;

      Inbound in;
      in.tenant = ev.tenant;
      in.channel = "call";
      in.external_id = customer;
      in.event_id = ev.id;
      in.message_id = call_id;
      in.at_ms = at_ms;
      auto out = events::make(std::string(events::topics::contact_extracted), "/contact-extractor", in.tenant,
                              in.external_id, contact_extracted_data(in, result, tenant->settings.region, now_ms()));
      out.id = events::uuid_v5(events::kNamespace, "contact.extracted:" + ev.id);
      enqueue_event(tx, out, in.tenant + ":" + in.external_id);
      tx.commit();
      log.info("call scored", {{"score", result.score}, {"tier", result.tier}, {"has_name", result.name.has_value()}});
    });
  });
}

}  // namespace

bool take_llm_budget(pqxx::transaction_base& tx, const std::string& tenant, int daily_budget) {
  if (daily_budget <= 0) return false;
  auto r = tx.exec_params(
      "INSERT INTO extraction.llm_usage AS u (tenant, day, calls) "
      "VALUES ($1, (now() AT TIME ZONE 'UTC')::date, 1) "
      "ON CONFLICT (tenant, day) DO UPDATE SET calls = u.calls + 1 WHERE u.calls < $2 "
      "RETURNING calls",
      tenant, daily_budget);
  return !r.empty();
}

void handle_record(const ConsumerDeps& deps, const kafka::Record& record, const log::Logger& logger) {
  const auto ev = parse_event(record);
  if (ev.type == events::topics::ingest_whatsapp_inbound) return handle_inbound(deps, ev, logger);
  if (ev.type == events::topics::outreach_sent) return handle_outreach_sent(deps, ev, logger);
  if (ev.type == events::topics::ingest_call_completed) return handle_call_completed(deps, ev, logger);
  throw kafka::PermanentError("unexpected event type " + ev.type);
}

}  // namespace leadpipe::extractor
