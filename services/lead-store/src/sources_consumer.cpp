#include "sources_consumer.hpp"

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/events/schema.hpp>
#include <leadpipe/events/topics.hpp>
#include <leadpipe/outbox/outbox.hpp>
#include <leadpipe/pg/after_commit.hpp>
#include <leadpipe/runtime/runtime.hpp>

#include "assignment_rules.hpp"
#include "crm_repository.hpp"
#include "crm_service.hpp"
#include "duplicates.hpp"
#include "duplicates_repository.hpp"
#include "outreach_consumer.hpp"
#include "lead_json.hpp"
#include "repository.hpp"
#include "sources.hpp"

namespace leadpipe::leads {
namespace {

std::map<std::string, std::string> load_extra(pqxx::work& tx, const std::string& tenant,
                                              const std::string& id) {
  auto r = tx.exec_params("SELECT extra::text FROM leads.leads WHERE tenant = $1 AND id = $2::uuid",
                          tenant, id);
  if (r.empty()) return {};
  return parse_extra(r[0][0].as<std::string>());
}

void save_extra(pqxx::work& tx, const std::string& tenant, const std::string& id,
                const std::map<std::string, std::string>& extra) {
  tx.exec_params0("UPDATE leads.leads SET extra = $3::jsonb WHERE tenant = $1 AND id = $2::uuid",
                  tenant, id, extra_json(extra));
}

std::string source_payload(const SourceLead& s, const MergeResult& r) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("channel");
  w.String(s.capture.channel.c_str());
  w.Key("external_id");
  w.String(s.capture.external_id.c_str());
  w.Key("source");
  w.String(s.source.c_str());
  w.Key("fields");
  w.StartArray();
  for (const auto& c : r.captures) {
    if (c.applied) w.String(c.field.c_str());
  }
  w.EndArray();
  w.Key("changed");
  w.StartArray();
  for (const auto& f : r.changed) w.String(f.c_str());
  w.EndArray();
  w.Key("created");
  w.Bool(r.created);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

// The upsert shared by vendor leads and campaign forms.
Intake apply_source_lead(const ConsumerDeps& deps, const events::CloudEvent& ev, SourceLead s,
                       const log::Logger& logger) {
  const auto& x = s.capture;
  const auto log = logger.with({{"tenant", x.tenant}, {"event_id", ev.id}, {"channel", x.channel}});
  // A transient database failure holds the record (retried), never dead-letters it.
  return runtime::with_database([&] {
    return deps.pool.with([&](pqxx::connection& c) {
      pg::CommitHooks after_commit;  // metrics counted inside the transaction
      pqxx::work tx(c);
      if (!outbox::claim(tx, repo::kSchema, kConsumerName, ev.id)) {
        log.info("duplicate event skipped");
        return Intake::duplicate;
      }
      // Identity first, then the cross-source keys: phone, then e-mail.
      auto lead_id = repo::find_by_identity(tx, x.tenant, x.channel, x.external_id);
      std::optional<std::string> phone_owner;
      if (!x.phones.empty())
        phone_owner = repo::find_by_phone(tx, x.tenant, x.phones.front().value);
      if (!lead_id) lead_id = phone_owner;
      for (std::size_t i = 0; !lead_id && i < x.emails.size(); ++i) {
        lead_id = repo::find_by_email_compatible(
            tx, x.tenant, x.emails[i].value,
            x.phones.empty() ? std::nullopt : std::optional<std::string>(x.phones.front().value));
      }
      std::optional<Lead> existing;
      std::map<std::string, std::string> extra;
      if (lead_id) {
        existing = repo::load(tx, x.tenant, *lead_id, true);
        extra = load_extra(tx, x.tenant, *lead_id);
      }
      std::optional<std::string> taken_by;
      // The phone belongs to another lead (matched here by identity or e-mail):
      // never take it over, that is a merge decision for a person.
      if (existing && phone_owner && *phone_owner != existing->id && !existing->phone) {
        log.warn("phone belongs to another lead; not applied",
                 {{"lead_id", existing->id}, {"other_lead_id", *phone_owner}});
        s.capture.phones.clear();
        taken_by = phone_owner;  // a duplicate candidate for a person to look at
      }

      const auto now = events::now_rfc3339();
      const auto pipeline = repo::pipeline_for(tx, x.tenant);
      auto m = merge_source(existing, extra, s, pipeline, events::uuid_v4(), now);
      auto& r = m.result;
      if (r.created) {
        repo::insert(tx, r.lead);
      } else if (!r.changed.empty()) {
        repo::update(tx, r.lead);
      }
      if (m.extra_changed || (r.created && !m.extra.empty()))
        save_extra(tx, r.lead.tenant, r.lead.id, m.extra);
      repo::add_identity(tx, x.tenant, x.channel, x.external_id, r.lead.id);
      for (const auto& cap : r.captures) repo::add_capture(tx, r.lead.id, cap, ev.id);
      // Every push / submission is on the timeline, also when it changed nothing.
      repo::add_activity(tx, r.lead.id, r.created ? "lead_created" : "captured", x.channel,
                         source_payload(s, r), ev.id);
      publish_capture_outcome(tx, r, existing, ev.id);
      if (contact_key_changed(r)) repo::record_duplicate_candidates(tx, r.lead, default_variant_regions());
      if (r.created) apply_assignment_rules(tx, r.lead, pipeline.open_stages());
      if (taken_by) {
        repo::add_duplicate_candidate(tx, x.tenant, r.lead.id, *taken_by, "phone_in_use",
                                      R"({"source":")" + s.source + R"("})");
      }
      tx.commit();
      after_commit.run();
      log.info(
          r.created ? "lead created" : (r.changed.empty() ? "source recorded" : "lead updated"),
          {{"lead_id", r.lead.id}, {"version", r.lead.version}, {"stage", r.lead.stage}});
      if (r.created) return Intake::created;
      return r.changed.empty() ? Intake::unchanged : Intake::updated;
    });
  });
}

}  // namespace

events::CloudEvent parse_intake_event(const kafka::Record& record, std::string_view type) {
  events::CloudEvent ev;
  try {
    ev = events::parse(record.value);
  } catch (const events::ParseError& e) {
    throw kafka::PermanentError(std::string("invalid CloudEvent: ") + e.what());
  }
  if (ev.type != type) throw kafka::PermanentError("unexpected event type " + ev.type);
  if (ev.tenant.empty()) throw kafka::PermanentError("event without tenant");
  if (auto errors = events::SchemaSet::builtin().validate(ev.type, ev.data); !errors.empty()) {
    throw kafka::PermanentError("data does not match " + ev.type + " schema: " + errors.front());
  }
  return ev;
}

Intake handle_vendor_lead(const ConsumerDeps& deps, const kafka::Record& record,
                        const log::Logger& logger) {
  const auto ev = parse_intake_event(record, events::topics::ingest_vendor_lead);
  SourceLead s;
  try {
    s = parse_vendor_lead(ev.id, ev.tenant, ev.data);
  } catch (const std::invalid_argument& e) {
    throw kafka::PermanentError(e.what());
  }
  return apply_source_lead(deps, ev, std::move(s), logger);
}

Intake handle_campaign_submission(const ConsumerDeps& deps, const kafka::Record& record,
                                const log::Logger& logger) {
  const auto ev = parse_intake_event(record, events::topics::ingest_campaign_submission);
  SourceLead s;
  try {
    s = parse_campaign_submission(ev.id, ev.tenant, ev.data);
  } catch (const std::invalid_argument& e) {
    throw kafka::PermanentError(e.what());
  }
  return apply_source_lead(deps, ev, std::move(s), logger);
}

Intake handle_call_completed(const ConsumerDeps& deps, const kafka::Record& record,
                           const log::Logger& logger) {
  const auto ev = parse_intake_event(record, events::topics::ingest_call_completed);
  CallLog call;
  try {
    call = parse_call(ev.data);
  } catch (const std::invalid_argument& e) {
    throw kafka::PermanentError(e.what());
  }
  const auto log =
      logger.with({{"tenant", ev.tenant}, {"event_id", ev.id}, {"call_id", call.call_id}});
  // A transient database failure holds the record (retried), never dead-letters it.
  return runtime::with_database([&] {
    return deps.pool.with([&](pqxx::connection& c) {
      pg::CommitHooks after_commit;  // metrics counted inside the transaction
      pqxx::work tx(c);
      if (!outbox::claim(tx, repo::kSchema, kConsumerName, ev.id)) {
        log.info("duplicate event skipped");
        return Intake::duplicate;
      }
      if (!call.customer_phone) {
        tx.commit();  // remember it: a replay is still a no-op
        after_commit.run();
        log.warn("call without a valid customer phone; not logged on any lead");
        return Intake::skipped;
      }
      const auto& phone = *call.customer_phone;
      auto lead_id = repo::find_by_phone(tx, ev.tenant, phone);
      if (!lead_id) lead_id = repo::find_by_identity(tx, ev.tenant, "call", phone);
      const auto now = events::now_rfc3339();
      const auto pipeline = repo::pipeline_for(tx, ev.tenant);
      Lead lead;
      bool created = false;
      if (lead_id) {
        lead = *repo::load(tx, ev.tenant, *lead_id, true);
      } else {
        // An unknown caller: an incomplete lead with only the phone.
        created = true;
        lead.id = events::uuid_v4();
        lead.tenant = ev.tenant;
        lead.phone = phone;
        lead.confidence["phone"] = 1.0;
        lead.source = "call";
        lead.channel = "phone";
        lead.stage = pipeline.initial_stage(false);
        lead.version = 1;
        lead.created_at = lead.updated_at = lead.stage_changed_at = now;
        repo::insert(tx, lead);
        repo::add_capture(
            tx, lead.id,
            CaptureRecord{"phone",
                          Captured{phone, Evidence{call.call_id, "call", 1.0, call.started_at}},
                          true},
            ev.id);
        repo::add_activity(tx, lead.id, "lead_created", "call:" + call.integration_id,
                           R"({"channel":"call","fields":["phone"],"created":true})", ev.id);
        repo::publish(tx, std::string(events::topics::lead_created), lead,
                      lead_event_data(lead, nullptr));
        repo::record_duplicate_candidates(tx, lead, default_variant_regions());
        apply_assignment_rules(tx, lead, pipeline.open_stages());
      }
      repo::add_identity(tx, ev.tenant, "call", phone, lead.id);
      const auto actor = call.agent ? *call.agent : "call:" + call.integration_id;
      repo::add_activity(tx, lead.id, "call", actor, call_activity_json(call), ev.id);
      const bool reached = call_reached(call);
      if (reached) record_contact(tx, lead, pipeline, actor, now);
      tx.commit();
      after_commit.run();
      log.info("call logged", {{"lead_id", lead.id},
                               {"created", created},
                               {"reached", reached},
                               {"outcome", call.outcome},
                               {"version", lead.version},
                               {"stage", lead.stage}});
      if (created) return Intake::created;
      return reached ? Intake::updated : Intake::unchanged;
    });
  });
}

std::vector<std::string> consumed_topics() {
  return {std::string(events::topics::contact_extracted),
          std::string(events::topics::ingest_vendor_lead),
          std::string(events::topics::ingest_campaign_submission),
          std::string(events::topics::ingest_call_completed),
          std::string(events::topics::outreach_sent),
          std::string(events::topics::outreach_delivered),
          std::string(events::topics::outreach_failed)};
}

std::string_view to_string(Intake i) {
  switch (i) {
    case Intake::created:
      return "created";
    case Intake::updated:
      return "updated";
    case Intake::unchanged:
      return "unchanged";
    case Intake::duplicate:
      return "duplicate";
    case Intake::skipped:
      return "skipped";
    case Intake::processed:
      break;
  }
  return "processed";
}

Intake handle_record(const ConsumerDeps& deps, const kafka::Record& record,
                     const log::Logger& logger) {
  if (record.topic == events::topics::contact_extracted) {
    handle_contact_extracted(deps, record, logger);
    return Intake::processed;
  }
  if (record.topic == events::topics::ingest_vendor_lead)
    return handle_vendor_lead(deps, record, logger);
  if (record.topic == events::topics::ingest_campaign_submission) {
    return handle_campaign_submission(deps, record, logger);
  }
  if (record.topic == events::topics::ingest_call_completed)
    return handle_call_completed(deps, record, logger);
  if (record.topic == events::topics::outreach_sent || record.topic == events::topics::outreach_delivered ||
      record.topic == events::topics::outreach_failed) {
    return handle_outreach_result(deps, record, logger);
  }
  throw kafka::PermanentError("lead-store does not consume " + record.topic);
}

}  // namespace leadpipe::leads
