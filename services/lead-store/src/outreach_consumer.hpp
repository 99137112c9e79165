#pragma once
// Consumes the outreach service's results — outreach.sent, outreach.delivered,
// outreach.failed (proto/events/outreach.*.json) — onto the lead's timeline:
// one timeline entry per message (found by message_id, else by the CRM
// request_id), whose delivery status only moves forward. The lead is the
// event's lead_id (followed through a merge), else the tenant's lead with the
// phone `to`; a message for nobody known is acknowledged and skipped. The
// first message the provider accepted whose purpose counts as a contact (the
// pipeline's automatic.not_contact excludes OTPs and slot prompts) records the
// contact: last_contacted_at and the automatic move to the contacted stage
// (record_contact, journaled). Same transaction shape as every consumer: the
// event id is claimed with the effect, a replay is a no-op.
#include <leadpipe/kafka/kafka.hpp>
#include <leadpipe/log/log.hpp>

#include "sources_consumer.hpp"

namespace leadpipe::leads {

Intake handle_outreach_result(const ConsumerDeps& deps, const kafka::Record& record,
                              const log::Logger& logger);

}  // namespace leadpipe::leads
