#include "consumer.hpp"

#include <rapidjson/document.h>

#include <pqxx/pqxx>

#include <leadpipe/events/schema.hpp>
#include <leadpipe/events/topics.hpp>
#include <leadpipe/outbox/outbox.hpp>
#include <leadpipe/runtime/runtime.hpp>

#include "extracted.hpp"

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

}  // namespace

void handle_inbound(const ConsumerDeps& deps, const kafka::Record& record, const log::Logger& logger) {
  events::CloudEvent ev;
  try {
    ev = events::parse(record.value);
  } catch (const events::ParseError& e) {
    throw kafka::PermanentError(std::string("invalid CloudEvent: ") + e.what());
  }
  if (ev.type != std::string(events::topics::ingest_whatsapp_inbound)) {
    throw kafka::PermanentError("unexpected event type " + ev.type);
  }
  if (auto errors = events::SchemaSet::builtin().validate(ev.type, ev.data); !errors.empty()) {
    throw kafka::PermanentError("data does not match " + ev.type + " schema: " + errors.front());
  }
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
      auto row = tx.exec_params(
          "SELECT state::text FROM extraction.conversations "
          "WHERE tenant = $1 AND channel = $2 AND external_id = $3 FOR UPDATE",
          in.tenant, in.channel, in.external_id);
      extract::ConversationState state;
      if (!row.empty()) state = extract::ConversationState::from_json(row[0][0].as<std::string>());

      extract::Message msg;
      msg.id = in.message_id;
      msg.from = extract::Speaker::user;
      msg.text = in.text.value_or("");
      msg.at_ms = in.at_ms;
      deps.extractor.observe(state, msg);
      const auto result = deps.extractor.result(state);

      tx.exec_params(
          "INSERT INTO extraction.conversations (tenant, channel, external_id, state, updated_at) "
          "VALUES ($1, $2, $3, $4::jsonb, now()) "
          "ON CONFLICT (tenant, channel, external_id) "
          "DO UPDATE SET state = EXCLUDED.state, updated_at = now()",
          in.tenant, in.channel, in.external_id, state.to_json());

      auto out = events::make(std::string(events::topics::contact_extracted), "/contact-extractor",
                              in.tenant, in.external_id,
                              contact_extracted_data(in, result, deps.region, now_ms()));
      // Same input event → same output id, so lead-store dedupes a replay.
      out.id = events::uuid_v5(events::kNamespace, "contact.extracted:" + ev.id);
      outbox::OutboxMessage m;
      m.topic = std::string(events::topics::contact_extracted);
      m.key = in.tenant + ":" + in.external_id;
      m.payload = events::to_json(out);
      m.headers = {{"ce_type", out.type}, {"ce_id", out.id}, {"tenantid", in.tenant}};
      outbox::enqueue(tx, kSchema, m);
      tx.commit();
      log.info("message extracted", {{"has_name", result.name.has_value()},
                                     {"phones", result.phones.size()},
                                     {"emails", result.emails.size()}});
    });
  });
}

}  // namespace leadpipe::extractor
