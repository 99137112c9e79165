// ConversationState <-> JSON. The format is versioned ("v": 1) because the
// service persists it in the `extraction` schema across deployments.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <stdexcept>

#include "leadpipe/extract/extractor.hpp"

namespace leadpipe::extract {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write_captured(Writer& w, const Captured& c) {
  w.StartObject();
  w.Key("value");
  w.String(c.value);
  w.Key("message_id");
  w.String(c.evidence.message_id);
  w.Key("layer");
  w.String(c.evidence.layer);
  w.Key("confidence");
  w.Double(c.evidence.confidence);
  w.Key("detected_at_ms");
  w.Int64(c.evidence.detected_at_ms);
  w.EndObject();
}

void write_strings(Writer& w, const char* key, const std::vector<std::string>& v) {
  w.Key(key);
  w.StartArray();
  for (const auto& s : v) w.String(s);
  w.EndArray();
}

[[noreturn]] void bad(const std::string& what) { throw std::invalid_argument("conversation state: " + what); }

// HasMember + operator[] rather than comparing FindMember() with MemberEnd():
// clang warns on RapidJSON's iterator operators in C++20.
const rapidjson::Value* member(const rapidjson::Value& o, const char* key) {
  return o.HasMember(key) ? &o[key] : nullptr;
}

std::string get_string(const rapidjson::Value& o, const char* key, bool required = false) {
  const auto* v = member(o, key);
  if (!v || v->IsNull()) {
    if (required) bad(std::string("missing ") + key);
    return {};
  }
  if (!v->IsString()) bad(std::string(key) + " must be a string");
  return std::string(v->GetString(), v->GetStringLength());
}

std::int64_t get_int64(const rapidjson::Value& o, const char* key) {
  const auto* v = member(o, key);
  if (!v || v->IsNull()) return 0;
  if (!v->IsInt64()) bad(std::string(key) + " must be an integer");
  return v->GetInt64();
}

Captured read_captured(const rapidjson::Value& v, const char* key) {
  if (!v.IsObject()) bad(std::string(key) + " entries must be objects");
  Captured c;
  c.value = get_string(v, "value", true);
  c.evidence.message_id = get_string(v, "message_id");
  c.evidence.layer = get_string(v, "layer");
  if (const auto* conf = member(v, "confidence")) {
    if (!conf->IsNumber()) bad("confidence must be a number");
    c.evidence.confidence = conf->GetDouble();
  }
  c.evidence.detected_at_ms = get_int64(v, "detected_at_ms");
  return c;
}

std::optional<Captured> read_optional(const rapidjson::Value& o, const char* key) {
  const auto* v = member(o, key);
  if (!v || v->IsNull()) return std::nullopt;
  return read_captured(*v, key);
}

std::vector<Captured> read_captured_list(const rapidjson::Value& o, const char* key, std::size_t cap) {
  std::vector<Captured> out;
  const auto* v = member(o, key);
  if (!v || v->IsNull()) return out;
  if (!v->IsArray()) bad(std::string(key) + " must be an array");
  if (v->Size() > cap) bad(std::string(key) + " has too many entries");
  for (const auto& e : v->GetArray()) out.push_back(read_captured(e, key));
  return out;
}

std::vector<std::string> read_strings(const rapidjson::Value& o, const char* key, std::size_t cap) {
  std::vector<std::string> out;
  const auto* v = member(o, key);
  if (!v || v->IsNull()) return out;
  if (!v->IsArray()) bad(std::string(key) + " must be an array");
  if (v->Size() > cap) bad(std::string(key) + " has too many entries");
  for (const auto& e : v->GetArray()) {
    if (!e.IsString()) bad(std::string(key) + " entries must be strings");
    out.emplace_back(e.GetString(), e.GetStringLength());
  }
  return out;
}

}  // namespace

std::string ConversationState::to_json() const {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("v");
  w.Int(1);
  w.Key("name");
  if (name) write_captured(w, *name);
  else w.Null();
  w.Key("phones");
  w.StartArray();
  for (const auto& p : phones) write_captured(w, p);
  w.EndArray();
  w.Key("emails");
  w.StartArray();
  for (const auto& e : emails) write_captured(w, e);
  w.EndArray();
  w.Key("program");
  if (program) write_captured(w, *program);
  else w.Null();
  w.Key("awaiting");
  w.StartArray();
  for (Slot s : {Slot::name, Slot::phone, Slot::email, Slot::program})
    if (awaiting & slot_bit(s)) w.String(std::string(slot_name(s)));
  w.EndArray();
  w.Key("awaiting_since_ms");
  w.Int64(awaiting_since_ms);
  write_strings(w, "bot_phones", bot_phones);
  write_strings(w, "bot_emails", bot_emails);
  w.Key("pending_phone");
  w.String(pending_phone);
  w.Key("pending_email");
  w.String(pending_email);
  write_strings(w, "intents", intents);
  write_strings(w, "signals", signals);
  w.Key("last_activity_ms");
  w.Int64(last_activity_ms);
  w.Key("messages_seen");
  w.Int64(messages_seen);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

ConversationState ConversationState::from_json(std::string_view json) {
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  if (d.HasParseError()) bad("not valid JSON");
  if (!d.IsObject()) bad("not a JSON object");
  if (const auto* v = member(d, "v"); !v || !v->IsInt() || v->GetInt() != 1) bad("unsupported version");
  ConversationState s;
  s.name = read_optional(d, "name");
  s.phones = read_captured_list(d, "phones", 64);
  s.emails = read_captured_list(d, "emails", 64);
  s.program = read_optional(d, "program");
  for (const auto& slot : read_strings(d, "awaiting", 8)) {
    if (slot == "name") s.awaiting |= slot_bit(Slot::name);
    else if (slot == "phone") s.awaiting |= slot_bit(Slot::phone);
    else if (slot == "email") s.awaiting |= slot_bit(Slot::email);
    else if (slot == "program") s.awaiting |= slot_bit(Slot::program);
    else bad("unknown slot '" + slot + "'");
  }
  s.awaiting_since_ms = get_int64(d, "awaiting_since_ms");
  s.bot_phones = read_strings(d, "bot_phones", 256);
  s.bot_emails = read_strings(d, "bot_emails", 256);
  s.pending_phone = get_string(d, "pending_phone");
  s.pending_email = get_string(d, "pending_email");
  s.intents = read_strings(d, "intents", 256);
  s.signals = read_strings(d, "signals", 4096);
  s.last_activity_ms = get_int64(d, "last_activity_ms");
  s.messages_seen = get_int64(d, "messages_seen");
  return s;
}

}  // namespace leadpipe::extract
