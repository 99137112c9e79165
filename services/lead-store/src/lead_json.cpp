#include "lead_json.hpp"

namespace leadpipe::leads {

namespace json {
void str(JsonWriter& w, const char* key, const std::string& v) {
  w.Key(key);
  w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
}

void opt(JsonWriter& w, const char* key, const std::optional<std::string>& v) {
  w.Key(key);
  if (v) {
    w.String(v->c_str(), static_cast<rapidjson::SizeType>(v->size()));
  } else {
    w.Null();
  }
}

void strings(JsonWriter& w, const char* key, const std::vector<std::string>& v) {
  w.Key(key);
  w.StartArray();
  for (const auto& s : v) w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
  w.EndArray();
}
}  // namespace json

namespace {
using json::opt;
using json::str;
using json::strings;

}  // namespace

void write_lead_members(JsonWriter& w, const Lead& lead, const char* id_key) {
  str(w, id_key, lead.id);
  w.Key("version");
  w.Int(lead.version);
  opt(w, "name", lead.name);
  opt(w, "phone", lead.phone);
  opt(w, "email", lead.email);
  opt(w, "program", lead.program);
  str(w, "stage", lead.stage);
  str(w, "source", lead.source);
  opt(w, "channel", lead.channel);
  w.Key("score");
  if (lead.score) {
    w.Int(*lead.score);
  } else {
    w.Null();
  }
  opt(w, "tier", lead.tier);
  strings(w, "score_reasons", lead.score_reasons);
  strings(w, "intents", lead.intents);
  opt(w, "assigned_to", lead.assigned_to);
  opt(w, "counsellor", lead.counsellor);
  opt(w, "owner", lead.owner);
  opt(w, "interest", lead.interest);
  opt(w, "session_year", lead.session_year);
  strings(w, "tags", lead.tags);
  opt(w, "last_contacted_at", lead.last_contacted_at);
  opt(w, "suggested_stage", lead.suggested_stage);
  str(w, "stage_changed_at", lead.stage_changed_at);
  str(w, "created_at", lead.created_at);
  str(w, "updated_at", lead.updated_at);
}

std::string lead_json(const Lead& lead) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  write_lead_members(w, lead, "id");
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string lead_event_data(const Lead& lead, const std::vector<std::string>* changed) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  write_lead_members(w, lead, "lead_id");
  if (changed) strings(w, "changed", *changed);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string stage_changed_data(const Lead& lead, const std::string& from, const std::string& by,
                               const std::string& reason) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  str(w, "lead_id", lead.id);
  w.Key("version");
  w.Int(lead.version);
  str(w, "from", from);
  str(w, "to", lead.stage);
  str(w, "by", by);
  str(w, "reason", reason);
  str(w, "at", lead.stage_changed_at);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

}  // namespace leadpipe::leads
