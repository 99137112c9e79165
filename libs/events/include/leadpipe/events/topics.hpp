#pragma once
// Topic names of every Leadpipe event type (ARCHITECTURE.md "Topics and
// events"): one topic per type, named like the type; dead letters go to
// "<topic>.dlq". Use these constants instead of string literals.
#include <array>
#include <string>
#include <string_view>

namespace leadpipe::events::topics {

// Ingest (produced by ingest-gateway).
inline constexpr std::string_view ingest_whatsapp_inbound = "ingest.whatsapp.inbound";
inline constexpr std::string_view ingest_whatsapp_status = "ingest.whatsapp.status";
inline constexpr std::string_view ingest_vendor_lead = "ingest.vendor.lead";
inline constexpr std::string_view ingest_campaign_submission = "ingest.campaign.submission";
inline constexpr std::string_view ingest_call_completed = "ingest.call.completed";
inline constexpr std::string_view ingest_sms_status = "ingest.sms.status";
// Extraction (contact-extractor).
inline constexpr std::string_view contact_extracted = "contact.extracted";
// Outreach.
inline constexpr std::string_view outreach_requested = "outreach.requested";
inline constexpr std::string_view outreach_sent = "outreach.sent";
inline constexpr std::string_view outreach_delivered = "outreach.delivered";
inline constexpr std::string_view outreach_failed = "outreach.failed";
// Lead lifecycle (lead-store).
inline constexpr std::string_view lead_created = "lead.created";
inline constexpr std::string_view lead_updated = "lead.updated";
inline constexpr std::string_view lead_stage_changed = "lead.stage_changed";
inline constexpr std::string_view lead_assigned = "lead.assigned";
inline constexpr std::string_view lead_tagged = "lead.tagged";
inline constexpr std::string_view lead_converted = "lead.converted";
inline constexpr std::string_view lead_closed = "lead.closed";
inline constexpr std::string_view lead_merged = "lead.merged";
inline constexpr std::string_view lead_erased = "lead.erased";
inline constexpr std::string_view followup_due = "followup.due";

// Every topic above (without dead-letter topics), e.g. for topic creation.
inline constexpr std::array<std::string_view, 21> all = {
    ingest_whatsapp_inbound,
    ingest_whatsapp_status,
    ingest_vendor_lead,
    ingest_campaign_submission,
    ingest_call_completed,
    ingest_sms_status,
    contact_extracted,
    outreach_requested,
    outreach_sent,
    outreach_delivered,
    outreach_failed,
    lead_created,
    lead_updated,
    lead_stage_changed,
    lead_assigned,
    lead_tagged,
    lead_converted,
    lead_closed,
    lead_merged,
    lead_erased,
    followup_due,
};

inline constexpr std::string_view dlq_suffix = ".dlq";

// Dead-letter topic of `topic`: "<topic>.dlq".
inline std::string dlq(std::string_view topic) {
  std::string out(topic);
  out += dlq_suffix;
  return out;
}

}  // namespace leadpipe::events::topics

namespace leadpipe::events {
using topics::dlq;
}  // namespace leadpipe::events
