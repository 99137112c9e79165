#pragma once
// Consumers of the other intake topics. Same shape as consumer.hpp's
// contact.extracted handler: CloudEvent parse → JSON Schema → PermanentError
// on bad input → one transaction that claims the event id (a replay is a
// no-op), finds the lead (identity, then phone, then e-mail), merges, records
// identity / captures / timeline and writes lead.* events to the outbox.
#include <string>
#include <string_view>
#include <vector>

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/kafka/kafka.hpp>
#include <leadpipe/log/log.hpp>

#include "consumer.hpp"

namespace leadpipe::leads {

// What an intake event did (label `outcome` of leadpipe_leads_intake_total):
// created a lead, updated one, changed nothing on a matched lead (a new
// identity / timeline entry only), was a replay, was skipped (a call without a
// valid customer phone), or `processed` (contact.extracted, whose handler
// does not report more).
enum class Intake { created, updated, unchanged, duplicate, skipped, processed };
std::string_view to_string(Intake i);

// Parses a consumed record as a CloudEvent of `type` with a tenant whose data
// matches the type's JSON Schema; anything else is a kafka::PermanentError (→ DLQ).
events::CloudEvent parse_intake_event(const kafka::Record& record, std::string_view type);

// ingest.vendor.lead → upsert (source vendor, identity vendor:<vendor> / vendor_lead_id).
Intake handle_vendor_lead(const ConsumerDeps& deps, const kafka::Record& record, const log::Logger& logger);

// ingest.campaign.submission → upsert (source campaign, identity campaign:<slug> /
// phone); the campaign's form status only advances (interested → applied).
Intake handle_campaign_submission(const ConsumerDeps& deps, const kafka::Record& record, const log::Logger& logger);

// ingest.call.completed → a "call" entry on the timeline of the lead with the
// customer's phone. An unknown number creates an incomplete lead (source
// call): a caller is a prospect whose name is not known yet. A call that
// reached the person (call_reached) records the contact and makes the
// automatic move to the contacted stage when the pipeline allows it
// (record_contact, journaled). A call without a valid customer phone is
// acknowledged and logged, nothing else (there is no lead to attach it to).
Intake handle_call_completed(const ConsumerDeps& deps, const kafka::Record& record, const log::Logger& logger);

// Topics lead-store consumes, and the dispatcher over them (by the record's
// unprefixed topic). Unknown topics are a PermanentError (→ DLQ).
std::vector<std::string> consumed_topics();
Intake handle_record(const ConsumerDeps& deps, const kafka::Record& record, const log::Logger& logger);

}  // namespace leadpipe::leads
