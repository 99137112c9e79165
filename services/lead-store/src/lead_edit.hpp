#pragma once
// Manual edits of a lead: parsing and validating the JSON of
// POST /api/v1/leads and PATCH /api/v1/leads/{id}, phone normalisation, and
// applying an edit to a lead (which fields changed, the automatic
// incomplete → complete move). Pure apart from libphonenumber's tables.
#include <rapidjson/document.h>

#include <optional>
#include <string>
#include <vector>

#include <leadpipe/http/message.hpp>

#include "lead.hpp"

namespace leadpipe::leads {

// E.164 ("+6281234567890") of a number written in any format; numbers without
// a country code are read in `default_region` (ISO 3166 alpha-2, e.g. "ID").
// nullopt unless libphonenumber considers the result a possible number.
std::optional<std::string> normalize_phone(const std::string& raw, const std::string& default_region);

// A field of an edit: absent (not touched), null (cleared) or a value.
using Edit = std::optional<std::optional<std::string>>;

struct LeadInput {
  Edit name, phone, email, program, interest, session_year;
  std::optional<std::string> source;          // create only
  std::optional<int> expected_version;        // PATCH: 409 when the lead moved on
};

// Parses and validates a request body. `create` requires a phone or an email
// and accepts `source`; a PATCH needs at least one field. Throws HttpError
// 400 with one FieldError per problem (unknown members included).
LeadInput parse_lead_input(const rapidjson::Document& body, bool create, const std::string& default_region);

// Applies the edit; returns the names of the fields whose value changed.
std::vector<std::string> apply_edit(Lead& lead, const LeadInput& in);

// The automatic move out of the incomplete stage once name + phone/email are
// there. Returns the stage the lead left, or nullopt.
std::optional<std::string> auto_complete(Lead& lead, const Pipeline& pipeline, const std::string& now);

// Follow-ups default to the counsellor, then the telecaller, then whoever
// scheduled it.
std::string default_followup_assignee(const Lead& lead, const std::string& scheduled_by);

// Bumps version and updated_at after a change.
void touch(Lead& lead, const std::string& now);

}  // namespace leadpipe::leads
