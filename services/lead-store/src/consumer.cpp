#include "consumer.hpp"

#include <algorithm>

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/events/schema.hpp>
#include <leadpipe/events/topics.hpp>
#include <leadpipe/outbox/outbox.hpp>
#include <leadpipe/pg/after_commit.hpp>
#include <leadpipe/runtime/runtime.hpp>

#include "lead_json.hpp"
#include "assignment_rules.hpp"
#include "crm_repository.hpp"
#include "duplicates.hpp"
#include "duplicates_repository.hpp"
#include "repository.hpp"

namespace leadpipe::leads {
namespace {

std::string capture_payload(const MergeResult& r, const Extraction& x) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("channel");
  w.String(x.channel.c_str());
  w.Key("message_id");
  w.String(x.message_id.c_str());
  w.Key("fields");
  w.StartArray();
  for (const auto& c : r.captures) {
    if (!c.applied) continue;
    w.String(c.field.c_str());
  }
  w.EndArray();
  w.Key("created");
  w.Bool(r.created);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

}  // namespace

bool contact_key_changed(const MergeResult& r) {
  if (r.created) return true;
  return std::any_of(r.changed.begin(), r.changed.end(), [](const std::string& f) { return f == "phone" || f == "email"; });
}

void publish_capture_outcome(pqxx::work& tx, const MergeResult& r, const std::optional<Lead>& existing,
                             const std::string& event_id) {
  if (r.created) {
    repo::publish(tx, std::string(events::topics::lead_created), r.lead, lead_event_data(r.lead, nullptr));
  } else if (!r.changed.empty()) {
    repo::publish(tx, std::string(events::topics::lead_updated), r.lead, lead_event_data(r.lead, &r.changed));
  }
  if (!r.previous_stage) return;
  const std::string reason = "contact data complete";
  repo::add_stage_history(tx, r.lead, *r.previous_stage, "system", reason,
                          existing ? existing->stage_changed_at : r.lead.stage_changed_at);
  repo::add_activity(tx, r.lead.id, "stage_changed", "system",
                     R"({"from":")" + *r.previous_stage + R"(","to":")" + r.lead.stage +
                         R"(","reason":")" + reason + R"("})",
                     event_id);
  repo::publish(tx, std::string(events::topics::lead_stage_changed), r.lead,
                stage_changed_data(r.lead, *r.previous_stage, "system", reason));
}

void handle_contact_extracted(const ConsumerDeps& deps, const kafka::Record& record,
                              const log::Logger& logger) {
  events::CloudEvent ev;
  try {
    ev = events::parse(record.value);
  } catch (const events::ParseError& e) {
    throw kafka::PermanentError(std::string("invalid CloudEvent: ") + e.what());
  }
  if (ev.type != std::string(events::topics::contact_extracted)) {
    throw kafka::PermanentError("unexpected event type " + ev.type);
  }
  if (auto errors = events::SchemaSet::builtin().validate(ev.type, ev.data); !errors.empty()) {
    throw kafka::PermanentError("data does not match " + ev.type + " schema: " + errors.front());
  }
  Extraction x;
  try {
    x = parse_extraction(ev.id, ev.tenant, ev.data);
  } catch (const std::invalid_argument& e) {
    throw kafka::PermanentError(e.what());
  }
  const auto log = logger.with({{"tenant", x.tenant}, {"event_id", ev.id}});

  runtime::with_database([&] {
    deps.pool.with([&](pqxx::connection& c) {
      pg::CommitHooks after_commit;  // metrics counted inside the transaction
      pqxx::work tx(c);
      if (!outbox::claim(tx, repo::kSchema, kConsumerName, ev.id)) {
        log.info("duplicate event skipped");
        return;
      }
      // Identity first, then the cross-source keys: phone, then email.
      auto lead_id = repo::find_by_identity(tx, x.tenant, x.channel, x.external_id);
      for (std::size_t i = 0; !lead_id && i < x.phones.size(); ++i) {
        lead_id = repo::find_by_phone(tx, x.tenant, x.phones[i].value);
      }
      const std::optional<std::string> incoming_phone =
          x.phones.empty() ? std::nullopt : std::optional<std::string>(x.phones.front().value);
      for (std::size_t i = 0; !lead_id && i < x.emails.size(); ++i) {
        lead_id = repo::find_by_email_compatible(tx, x.tenant, x.emails[i].value, incoming_phone);
      }
      std::optional<Lead> existing;
      if (lead_id) existing = repo::load(tx, x.tenant, *lead_id, true);

      const auto now = events::now_rfc3339();
      const auto pipeline = repo::pipeline_for(tx, x.tenant);
      auto r = merge_extraction(existing, x, pipeline, events::uuid_v4(), now);
      if (r.created) {
        repo::insert(tx, r.lead);
      } else if (!r.changed.empty()) {
        repo::update(tx, r.lead);
      }
      repo::add_identity(tx, x.tenant, x.channel, x.external_id, r.lead.id);
      for (const auto& cap : r.captures) repo::add_capture(tx, r.lead.id, cap, ev.id);
      if (r.created || !r.changed.empty()) {
        repo::add_activity(tx, r.lead.id, r.created ? "lead_created" : "captured",
                           "contact-extractor", capture_payload(r, x), ev.id);
      }
      if (r.suggestion_reason) {
        // Journaled beside the lead.updated that carries suggested_stage.
        tx.exec_params0(
            "UPDATE leads.leads SET suggested_reason = $3, suggested_at = now() WHERE tenant = $1 AND id = $2::uuid",
            r.lead.tenant, r.lead.id, *r.suggestion_reason);
        rapidjson::StringBuffer buf;
        JsonWriter w(buf);
        w.StartObject();
        json::str(w, "stage", *r.lead.suggested_stage);
        json::str(w, "from", r.lead.stage);
        json::str(w, "reason", *r.suggestion_reason);
        w.EndObject();
        repo::add_activity(tx, r.lead.id, "stage_suggested", "system", std::string(buf.GetString(), buf.GetSize()),
                           ev.id);
      }
      publish_capture_outcome(tx, r, existing, ev.id);
      if (contact_key_changed(r)) repo::record_duplicate_candidates(tx, r.lead, default_variant_regions());
      if (r.created) apply_assignment_rules(tx, r.lead, pipeline.open_stages());
      tx.commit();
      after_commit.run();
      log.info(
          r.created ? "lead created" : (r.changed.empty() ? "capture recorded" : "lead updated"),
          {{"lead_id", r.lead.id}, {"version", r.lead.version}, {"stage", r.lead.stage}});
    });
  });
}

}  // namespace leadpipe::leads
