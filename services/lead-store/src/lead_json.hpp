#pragma once
// One JSON shape for a lead, used by the API and by lead.* event data.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <optional>
#include <string>
#include <vector>

#include "lead.hpp"

namespace leadpipe::leads {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// Members of a JSON object: a string, a string or null, an array of strings.
// Shared by every writer of lead-store JSON (API bodies and event data).
namespace json {
void str(JsonWriter& w, const char* key, const std::string& v);
void opt(JsonWriter& w, const char* key, const std::optional<std::string>& v);
void strings(JsonWriter& w, const char* key, const std::vector<std::string>& v);
}  // namespace json

// Writes the lead's members (no braces) — `id_key` is "id" for the API and
// "lead_id" for event data. The list API writes the same members straight
// from database rows (repository.cpp, append_lead_row): a member added here
// goes there too (crm_pg_test holds the two byte-equal).
void write_lead_members(JsonWriter& w, const Lead& lead, const char* id_key);

std::string lead_json(const Lead& lead);

// data of lead.created / lead.updated (proto/events/lead.*.json).
std::string lead_event_data(const Lead& lead, const std::vector<std::string>* changed);
// data of lead.stage_changed.
std::string stage_changed_data(const Lead& lead, const std::string& from, const std::string& by,
                               const std::string& reason);

}  // namespace leadpipe::leads
