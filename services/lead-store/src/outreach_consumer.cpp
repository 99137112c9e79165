#include "outreach_consumer.hpp"

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/outbox/outbox.hpp>
#include <leadpipe/runtime/runtime.hpp>

#include "crm_repository.hpp"
#include "crm_service.hpp"
#include "outreach.hpp"
#include "outreach_repository.hpp"
#include "repository.hpp"

namespace leadpipe::leads {
namespace {

std::string actor_of(const OutreachResult& r) {
  if (r.sender_user && !r.sender_user->empty()) return *r.sender_user;
  if (r.sender_kind) return *r.sender_kind;
  return "outreach";
}

}  // namespace

Intake handle_outreach_result(const ConsumerDeps& deps, const kafka::Record& record,
                              const log::Logger& logger) {
  const auto ev = parse_intake_event(record, record.topic);
  OutreachResult r;
  try {
    r = parse_outreach_result(ev.type, ev.data);
  } catch (const std::invalid_argument& e) {
    throw kafka::PermanentError(e.what());
  }
  const auto log = logger.with({{"tenant", ev.tenant},
                                {"event_id", ev.id},
                                {"type", ev.type},
                                {"message_id", r.message_id.value_or("")}});
  // A transient database failure holds the record (retried), never dead-letters it.
  return runtime::with_database([&] {
    return deps.pool.with([&](pqxx::connection& c) {
      pqxx::work tx(c);
      if (!outbox::claim(tx, repo::kSchema, kConsumerName, ev.id)) {
        log.info("duplicate event skipped");
        return Intake::duplicate;
      }
      // The message's row (locked), else the lead: lead_id, else the phone.
      auto msg = repo::find_message(tx, ev.tenant, r.message_id, r.request_id);
      std::optional<std::string> lead_id;
      if (msg) {
        lead_id = msg->lead_id;
      } else {
        if (r.lead_id && events::is_uuid(*r.lead_id))
          lead_id = repo::live_lead_or_survivor(tx, ev.tenant, *r.lead_id);
        if (!lead_id) lead_id = repo::find_by_phone(tx, ev.tenant, r.to);
      }
      std::optional<Lead> lead;
      if (lead_id) lead = repo::load(tx, ev.tenant, *lead_id, true);
      if (!lead) {
        tx.commit();  // remember it: a replay is still a no-op
        log.info("outreach result for no known lead; not on any timeline");
        return Intake::skipped;
      }
      const auto actor = actor_of(r);
      bool changed = false;
      if (!msg) {
        repo::OutreachMessage m;
        m.tenant = ev.tenant;
        m.lead_id = lead->id;
        m.request_id = r.request_id;
        m.message_id = r.message_id;
        m.channel = r.channel;
        m.purpose = r.purpose;
        m.status = r.status;
        m.retryable = r.retryable;
        m.payload = merge_message_payload("{}", r, true);
        msg = repo::insert_message(tx, m, actor, ev.id);
        changed = true;
      } else {
        const bool advanced = advances(msg->status, msg->retryable, r.status, r.retryable);
        auto payload = merge_message_payload(msg->payload, r, advanced);
        if (advanced) {
          msg->status = r.status;
          msg->retryable = r.retryable;
        }
        if (!msg->message_id) msg->message_id = r.message_id;
        if (!msg->purpose) msg->purpose = r.purpose;
        changed = advanced || payload != msg->payload;
        msg->payload = std::move(payload);
        if (changed) repo::update_message(tx, *msg);
      }
      // The first message the provider took that counts as a contact.
      const auto pipeline = repo::pipeline_for(tx, ev.tenant);
      bool contacted = false;
      if (!msg->contacted && reached_person_side(msg->status) &&
          pipeline.is_contact(msg->purpose.value_or(""))) {
        record_contact(tx, *lead, pipeline, actor, events::now_rfc3339());
        repo::mark_message_contacted(tx, *msg);
        contacted = true;
      }
      tx.commit();
      log.info("outreach result on the timeline", {{"lead_id", lead->id},
                                                   {"status", msg->status},
                                                   {"contacted", contacted},
                                                   {"stage", lead->stage},
                                                   {"version", lead->version}});
      return (changed || contacted) ? Intake::updated : Intake::unchanged;
    });
  });
}

}  // namespace leadpipe::leads
