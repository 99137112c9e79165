#include "whatsapp.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <ctime>

#include <leadpipe/auth/crypto.hpp>

namespace leadpipe::ingest::whatsapp {
namespace {

using rapidjson::Value;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

std::string serialize(const Value& v) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  v.Accept(w);
  return {buf.GetString(), buf.GetSize()};
}

const Value* member(const Value& obj, const char* name) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

std::optional<std::string> opt_string(const Value& obj, const char* name) {
  const Value* v = member(obj, name);
  if (v && v->IsString()) return std::string(v->GetString(), v->GetStringLength());
  return std::nullopt;
}

std::string req_string(const Value& obj, const char* name, const std::string& path) {
  const Value* v = member(obj, name);
  if (!v || !v->IsString() || v->GetStringLength() == 0) {
    throw ParseFailure(path + "." + name, "missing or not a non-empty string");
  }
  return {v->GetString(), v->GetStringLength()};
}

const Value& req_array(const Value& obj, const char* name, const std::string& path) {
  const Value* v = member(obj, name);
  if (!v || !v->IsArray()) throw ParseFailure(path + "." + name, "missing or not an array");
  return *v;
}

// The human-readable text a message carries, whatever its type.
void fill_text(const Value& msg, InboundMessage& out) {
  const std::string& t = out.type;
  if (t == "text") {
    if (const Value* text = member(msg, "text")) out.text = opt_string(*text, "body");
  } else if (t == "image" || t == "video" || t == "document" || t == "audio" || t == "sticker") {
    if (const Value* media = member(msg, t.c_str())) {
      out.media_id = opt_string(*media, "id");
      out.caption = opt_string(*media, "caption");
      out.text = out.caption;
    }
  } else if (t == "interactive") {
    if (const Value* inter = member(msg, "interactive")) {
      for (const char* kind : {"button_reply", "list_reply"}) {
        if (const Value* reply = member(*inter, kind)) out.text = opt_string(*reply, "title");
      }
    }
  } else if (t == "button") {
    if (const Value* button = member(msg, "button")) out.text = opt_string(*button, "text");
  } else if (t == "reaction") {
    if (const Value* reaction = member(msg, "reaction")) out.text = opt_string(*reaction, "emoji");
  } else if (t == "location") {
    if (const Value* loc = member(msg, "location")) {
      auto name = opt_string(*loc, "name");
      auto address = opt_string(*loc, "address");
      if (name || address) out.text = name.value_or("") + (name && address ? ", " : "") + address.value_or("");
    }
  }
}

void write_opt(Writer& w, const char* key, const std::optional<std::string>& v) {
  w.Key(key);
  if (v) {
    w.String(v->c_str(), static_cast<rapidjson::SizeType>(v->size()));
  } else {
    w.Null();
  }
}

void write_str(Writer& w, const char* key, const std::string& v) {
  w.Key(key);
  w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
}

void write_raw(Writer& w, const char* key, const std::string& json) {
  w.Key(key);
  w.RawValue(json.c_str(), json.size(), rapidjson::kObjectType);
}

}  // namespace

std::string unix_to_rfc3339(std::string_view seconds) {
  long long secs = 0;
  auto [p, ec] = std::from_chars(seconds.data(), seconds.data() + seconds.size(), secs);
  if (ec != std::errc() || p != seconds.data() + seconds.size() || secs < 0 ||
      secs > 253402300799LL) {
    throw ParseFailure("timestamp", "not a unix timestamp in seconds");
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Webhook parse_webhook(std::string_view body) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseStopWhenDoneFlag>(body.data(), body.size());
  if (doc.HasParseError()) throw ParseFailure("", "body is not valid JSON");
  if (!doc.IsObject()) throw ParseFailure("", "body is not a JSON object");
  const auto object = opt_string(doc, "object");
  if (object != "whatsapp_business_account") {
    throw ParseFailure("object", "expected \"whatsapp_business_account\"");
  }
  Webhook out;
  const Value& entries = req_array(doc, "entry", "");
  for (rapidjson::SizeType e = 0; e < entries.Size(); ++e) {
    const std::string epath = "entry[" + std::to_string(e) + "]";
    const Value& changes = req_array(entries[e], "changes", epath);
    for (rapidjson::SizeType c = 0; c < changes.Size(); ++c) {
      const std::string cpath = epath + ".changes[" + std::to_string(c) + "]";
      const Value* value = member(changes[c], "value");
      if (!value || !value->IsObject()) throw ParseFailure(cpath + ".value", "missing object");
      // Other fields (account updates, template status…) carry no messages.
      if (opt_string(changes[c], "field").value_or("messages") != "messages") continue;
      const Value* metadata = member(*value, "metadata");
      if (!metadata) throw ParseFailure(cpath + ".value.metadata", "missing object");
      const std::string mpath = cpath + ".value.metadata";
      const std::string phone_number_id = req_string(*metadata, "phone_number_id", mpath);
      const std::string display = opt_string(*metadata, "display_phone_number").value_or("");

      // wa_id → profile name, from value.contacts[].
      std::vector<std::pair<std::string, std::string>> profiles;
      if (const Value* contacts = member(*value, "contacts"); contacts && contacts->IsArray()) {
        for (const auto& ct : contacts->GetArray()) {
          auto wa = opt_string(ct, "wa_id");
          const Value* profile = member(ct, "profile");
          auto name = profile ? opt_string(*profile, "name") : std::nullopt;
          if (wa && name) profiles.emplace_back(*wa, *name);
        }
      }

      if (const Value* messages = member(*value, "messages")) {
        if (!messages->IsArray()) throw ParseFailure(cpath + ".value.messages", "not an array");
        for (rapidjson::SizeType i = 0; i < messages->Size(); ++i) {
          const Value& msg = (*messages)[i];
          const std::string path = cpath + ".value.messages[" + std::to_string(i) + "]";
          if (!msg.IsObject()) throw ParseFailure(path, "not an object");
          InboundMessage m;
          m.phone_number_id = phone_number_id;
          m.display_phone_number = display;
          m.wa_id = req_string(msg, "from", path);
          m.message_id = req_string(msg, "id", path);
          try {
            m.timestamp = unix_to_rfc3339(req_string(msg, "timestamp", path));
          } catch (const ParseFailure&) {
            throw ParseFailure(path + ".timestamp", "not a unix timestamp in seconds");
          }
          m.type = opt_string(msg, "type").value_or("unsupported");
          for (const auto& [wa, name] : profiles) {
            if (wa == m.wa_id) m.profile_name = name;
          }
          fill_text(msg, m);
          m.raw_json = serialize(msg);
          out.messages.push_back(std::move(m));
        }
      }

      if (const Value* statuses = member(*value, "statuses")) {
        if (!statuses->IsArray()) throw ParseFailure(cpath + ".value.statuses", "not an array");
        for (rapidjson::SizeType i = 0; i < statuses->Size(); ++i) {
          const Value& st = (*statuses)[i];
          const std::string path = cpath + ".value.statuses[" + std::to_string(i) + "]";
          if (!st.IsObject()) throw ParseFailure(path, "not an object");
          StatusUpdate s;
          s.phone_number_id = phone_number_id;
          s.message_id = req_string(st, "id", path);
          s.status = req_string(st, "status", path);
          s.recipient_id = opt_string(st, "recipient_id").value_or("");
          try {
            s.timestamp = unix_to_rfc3339(req_string(st, "timestamp", path));
          } catch (const ParseFailure&) {
            throw ParseFailure(path + ".timestamp", "not a unix timestamp in seconds");
          }
          s.raw_json = serialize(st);
          out.statuses.push_back(std::move(s));
        }
      }
    }
  }
  return out;
}

bool signature_valid(std::string_view app_secret, std::string_view raw_body,
                     std::string_view header_value) {
  constexpr std::string_view prefix = "sha256=";
  if (app_secret.empty() || header_value.substr(0, prefix.size()) != prefix) return false;
  std::string given(header_value.substr(prefix.size()));
  for (auto& ch : given) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return auth::constant_time_equal(auth::hmac_sha256_hex(app_secret, raw_body), given);
}

std::optional<std::string> verify_handshake(std::string_view mode, std::string_view token,
                                            std::string_view challenge,
                                            std::string_view expected_token) {
  if (mode != "subscribe" || expected_token.empty() || challenge.empty()) return std::nullopt;
  if (!auth::constant_time_equal(token, expected_token)) return std::nullopt;
  return std::string(challenge);
}

std::string inbound_event_data(const InboundMessage& m) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  write_str(w, "channel", "whatsapp");
  write_str(w, "phone_number_id", m.phone_number_id);
  write_str(w, "display_phone_number", m.display_phone_number);
  write_str(w, "wa_id", m.wa_id);
  write_opt(w, "profile_name", m.profile_name);
  write_str(w, "message_id", m.message_id);
  write_str(w, "timestamp", m.timestamp);
  write_str(w, "type", m.type);
  write_opt(w, "text", m.text);
  if (m.media_id) write_opt(w, "media_id", m.media_id);
  if (m.caption) write_opt(w, "caption", m.caption);
  write_raw(w, "raw", m.raw_json);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string status_event_data(const StatusUpdate& s) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  write_str(w, "channel", "whatsapp");
  write_str(w, "phone_number_id", s.phone_number_id);
  write_str(w, "message_id", s.message_id);
  write_str(w, "status", s.status);
  write_str(w, "timestamp", s.timestamp);
  write_str(w, "recipient_id", s.recipient_id);
  write_raw(w, "raw", s.raw_json);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

}  // namespace leadpipe::ingest::whatsapp
