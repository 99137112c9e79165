#pragma once
// One JSON shape for a lead, used by the API and by lead.* event data.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>
#include <vector>

#include "lead.hpp"

namespace leadpipe::leads {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// Writes the lead's members (no braces) — `id_key` is "id" for the API and
// "lead_id" for event data.
void write_lead_members(JsonWriter& w, const Lead& lead, const char* id_key);

std::string lead_json(const Lead& lead);

// data of lead.created / lead.updated (proto/events/lead.*.json).
std::string lead_event_data(const Lead& lead, const std::vector<std::string>* changed);
// data of lead.stage_changed.
std::string stage_changed_data(const Lead& lead, const std::string& from, const std::string& by,
                               const std::string& reason);

}  // namespace leadpipe::leads
