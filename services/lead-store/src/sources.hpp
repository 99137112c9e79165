#pragma once
// The other intake sources of lead-store (issue 5): ingest.vendor.lead,
// ingest.campaign.submission and ingest.call.completed. This file is the pure
// part: event data → a capture the lead merge understands, the merge of the
// fields contact.extracted does not carry (session year, first-touch
// attribution, form status), and the call log entry. No I/O;
// sources_consumer.cpp persists.
#include <map>
#include <optional>
#include <string>

#include "lead.hpp"

namespace leadpipe::leads {

// Evidence confidence of a value a vendor pushed, and of a value the person
// typed on a campaign form behind an OTP-verified phone. Both are structured
// fields, so they beat the WhatsApp profile name and ordinary chat
// extractions; a later, equally confident capture still replaces them.
inline constexpr double kVendorConfidence = 0.9;
inline constexpr double kFormConfidence = 0.95;

// One lead pushed by a vendor or submitted on a campaign form.
struct SourceLead {
  // Name / phone / email / program as captures (channel = identity channel,
  // external_id = identity key), merged with merge_extraction.
  Extraction capture;
  std::string source;   // leads.source of a lead this creates: vendor | campaign
  std::string channel;  // leads.channel of a lead this creates: vendor | web
  std::optional<std::string> session_year;
  // String attributes for leads.extra (attribution, city, vendor fields, …).
  // Existing keys win (first touch), except the form status keys.
  std::map<std::string, std::string> extra;
  // extra key → form status ("interested" | "applied") that only advances.
  std::map<std::string, std::string> form_status;
};

// ingest.vendor.lead data (schema-validated) → identity ("vendor:<vendor>",
// vendor_lead_id), name, E.164 phone, e-mail, program (else course),
// session year; utm_* / city / state / vendor fields into extra.
// Throws std::invalid_argument when the data is not an object or lacks them.
SourceLead parse_vendor_lead(std::string event_id, std::string tenant,
                             const std::string& data_json);

// ingest.campaign.submission data → identity ("campaign:<slug>", phone),
// name, verified phone, e-mail, course as program, session year; the
// campaign's form status (interested → applied, never back) and the other
// form answers into extra.
SourceLead parse_campaign_submission(std::string event_id, std::string tenant,
                                     const std::string& data_json);

struct SourceMerge {
  MergeResult result;                        // the lead, changed fields, captures, automatic move
  std::map<std::string, std::string> extra;  // leads.extra after the merge
  bool extra_changed = false;
};

// merge_extraction plus the source fields: a created lead gets the source's
// `source` and `channel`; session_year fills an empty one; extra keys are
// added (existing values kept) and form statuses advance. Bumps the version
// once when anything changed.
SourceMerge merge_source(const std::optional<Lead>& existing,
                         const std::map<std::string, std::string>& extra, const SourceLead& s,
                         const Pipeline& pipeline, const std::string& new_id,
                         const std::string& now);

// Rank of a campaign form status: applied (2) > interested (1) > unknown (0).
int form_status_rank(const std::string& status);

// One finished call (ingest.call.completed data).
struct CallLog {
  std::string integration_id, call_id, direction, from, to, outcome, started_at;
  std::optional<std::string> provider, customer_phone, ended_at, recording_url, agent;
  std::optional<long long> duration_seconds;
  bool has_transcript = false;
};

// Throws std::invalid_argument when required members are missing.
CallLog parse_call(const std::string& data_json);

// Whether the call reached the person (outcome "completed" with talk time,
// or "completed" without a duration): only then is it a first contact that
// moves the lead to the pipeline's contacted stage. Missed, busy, failed,
// voicemail and unknown outcomes are logged on the timeline only.
bool call_reached(const CallLog& call);

// Timeline payload of a call (no transcript text: the timeline says one
// exists; the transcript stays with the event / the extractor).
std::string call_activity_json(const CallLog& call);

// extra as the JSON object stored in leads.extra, and back (non-string
// values are kept as their JSON text, as the CSV import expects strings).
std::string extra_json(const std::map<std::string, std::string>& extra);
std::map<std::string, std::string> parse_extra(const std::string& json);

}  // namespace leadpipe::leads
