#pragma once
// Lead-store's domain: a lead, the capture it is built from, the pipeline's
// stage rules, and the pure merge of a contact.extracted capture into a lead.
// No I/O here; repository.cpp persists, consumer.cpp and api.cpp are glue.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pipeline.hpp"

namespace leadpipe::leads {

struct Evidence {
  std::string message_id;
  std::string layer;         // rule | slot | profile | channel | llm
  double confidence = 0;
  std::string detected_at;   // RFC 3339
};

struct Captured {
  std::string value;
  Evidence evidence;
};

// The data of one contact.extracted event (proto/events/contact.extracted.json).
struct Extraction {
  std::string event_id;
  std::string tenant;
  std::string channel;
  std::string external_id;
  std::string source_event_id;
  std::string message_id;
  std::optional<Captured> name;
  std::vector<Captured> phones;
  std::vector<Captured> emails;
  std::optional<Captured> program;
  std::vector<std::string> intents;
  std::optional<int> score;
  std::optional<std::string> tier;
  std::vector<std::string> score_reasons;
};

// Parses contact.extracted data (already schema-validated). Throws
// std::invalid_argument when required parts are missing.
Extraction parse_extraction(std::string event_id, std::string tenant, const std::string& data_json);

struct Lead {
  std::string id;
  std::string tenant;
  std::optional<std::string> name;
  std::optional<std::string> phone;   // E.164
  std::optional<std::string> email;   // lower-case
  std::optional<std::string> program;
  std::string stage;
  std::string source;
  std::optional<std::string> channel;
  std::optional<int> score;
  std::optional<std::string> tier;
  std::vector<std::string> score_reasons;
  std::vector<std::string> intents;
  std::optional<std::string> assigned_to;   // telecaller (first line)
  std::optional<std::string> counsellor;    // second line (seed 003)
  std::optional<std::string> owner;         // sales head whose pool holds the lead
  std::optional<std::string> interest;      // hot | warm | cold, set by hand
  std::optional<std::string> session_year;
  std::optional<std::string> last_contacted_at;
  std::optional<std::string> created_by;
  std::vector<std::string> tags;            // leads.leads.tags (categories: the leads.tags catalogue)
  // The stage the pipeline suggests (automatic.suggest, e.g. qualified on a
  // register / visit intent after contact); cleared by any stage change.
  std::optional<std::string> suggested_stage;
  int version = 0;
  std::map<std::string, double> confidence;  // field → confidence of its current value
  std::string stage_changed_at;
  std::string created_at;
  std::string updated_at;
};

// Name plus a way to reach the person (phone or email).
bool contact_complete(const Lead& lead);

struct CaptureRecord {
  std::string field;   // name | phone | email | program
  Captured captured;
  bool applied = false;
};

struct MergeResult {
  Lead lead;
  bool created = false;
  std::vector<std::string> changed;           // fields whose value changed
  std::vector<CaptureRecord> captures;        // every captured value, applied or not
  std::optional<std::string> previous_stage;  // set when the stage moved automatically
  std::optional<std::string> suggestion_reason;  // set when a stage was newly suggested: the intent
};

// Merges a capture into an existing lead (or creates one with `new_id`).
// A value replaces the current one only when the field is empty or the new
// evidence is at least as confident (a rule hit beats the WhatsApp profile
// name; a correction replaces its predecessor). The phone, once set, is the
// lead's identity key and is not replaced by a capture.
MergeResult merge_extraction(const std::optional<Lead>& existing, const Extraction& x,
                             const Pipeline& pipeline, const std::string& new_id,
                             const std::string& now);

std::string normalize_email(std::string email);

}  // namespace leadpipe::leads
