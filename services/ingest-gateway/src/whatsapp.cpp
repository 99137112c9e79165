#include "whatsapp.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <ctime>

#include <leadpipe/auth/crypto.hpp>
#include <leadpipe/http/json.hpp>

#include "scratch_json.hpp"

namespace leadpipe::ingest::whatsapp {
namespace {

using rapidjson::Value;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

std::string serialize(const Value& v) {
  thread_local rapidjson::StringBuffer tl;
  ScratchJson scratch(tl);
  thread_local Writer tw;
  Writer& w = scratch.writer(tw);
  v.Accept(w);
  return scratch.str();
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

// True when `v` is the string `s`.
bool string_is(const Value* v, std::string_view s) {
  return v && v->IsString() && std::string_view(v->GetString(), v->GetStringLength()) == s;
}

// A member that must be an array; `path` (the object's place, "" for the
// top level) is called only to report a failure.
template <typename Path>
const Value& must_array(const Value& obj, const char* name, Path&& path) {
  const Value* v = member(obj, name);
  if (!v || !v->IsArray()) {
    const std::string at = path();
    throw ParseFailure(at.empty() ? std::string(name) : at + "." + name, "missing or not an array");
  }
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

void write_raw(Writer& w, rapidjson::StringBuffer& out, const char* key, const std::string& json) {
  w.Key(key);
  http::write_raw_json(w, out, json, rapidjson::kObjectType);
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

namespace {

// Where in the payload a field is, spelled out only when something is wrong:
// building "entry[0].changes[0].value.messages[0]" for every message of every
// good webhook was a string allocation or three per message.
struct Where {
  rapidjson::SizeType entry = 0, change = 0, item = 0;
  std::string entry_path() const { return "entry[" + std::to_string(entry) + "]"; }
  std::string change_path() const { return entry_path() + ".changes[" + std::to_string(change) + "]"; }
  std::string value_path(std::string_view rest) const { return change_path() + ".value" + std::string(rest); }
  std::string item_path(std::string_view list) const {
    return value_path(".") + std::string(list) + "[" + std::to_string(item) + "]";
  }
};

// A member that must be a non-empty string; `path` is called only to report
// a failure.
template <typename Path>
std::string must_string(const Value& obj, const char* name, Path&& path) {
  const Value* v = member(obj, name);
  if (!v || !v->IsString() || v->GetStringLength() == 0) {
    throw ParseFailure(path() + "." + name, "missing or not a non-empty string");
  }
  return {v->GetString(), v->GetStringLength()};
}

template <typename Path>
std::string must_timestamp(const Value& obj, Path&& path) {
  const std::string seconds = must_string(obj, "timestamp", path);
  try {
    return unix_to_rfc3339(seconds);
  } catch (const ParseFailure&) {
    throw ParseFailure(path() + ".timestamp", "not a unix timestamp in seconds");
  }
}

// The parsed webhook lives in buffers on the parsing thread's stack while
// it fits (a typical delivery is 1–3 KB of JSON; Meta allows 3 MB, which
// spills into heap chunks as usual).
using WebhookDocument = http::BufferedDocument<16 * 1024, 4 * 1024>;

}  // namespace

Webhook parse_webhook(std::string_view body) {
  WebhookDocument parsed;
  auto& doc = parsed.doc();
  // Parsed in place, in a per-thread copy of the body: RapidJSON's in-situ
  // parse decodes strings where they are instead of copying them a byte at a
  // time into the document (that copy was a third of the parse). The copy is
  // NUL-terminated; a NUL inside the body ends the text early, which can only
  // turn invalid JSON into a parse error. Every string taken from the
  // document below is copied out before this function returns.
  thread_local std::string text;
  struct Trim {  // a 3 MB delivery's copy is not kept per thread
    std::string& s;
    ~Trim() {
      if (s.capacity() > 64 * 1024) std::string().swap(s);
    }
  } trim{text};
  text.assign(body.data(), body.size());
  doc.ParseInsitu<rapidjson::kParseStopWhenDoneFlag>(text.data());
  if (doc.HasParseError()) throw ParseFailure("", "body is not valid JSON");
  if (!doc.IsObject()) throw ParseFailure("", "body is not a JSON object");
  if (!string_is(member(doc, "object"), "whatsapp_business_account")) {
    throw ParseFailure("object", "expected \"whatsapp_business_account\"");
  }
  Webhook out;
  const Value& entries = must_array(doc, "entry", [] { return std::string(); });
  Where at;
  for (at.entry = 0; at.entry < entries.Size(); ++at.entry) {
    const Value& changes = must_array(entries[at.entry], "changes", [&] { return at.entry_path(); });
    for (at.change = 0; at.change < changes.Size(); ++at.change) {
      const Value& change = changes[at.change];
      const Value* value = member(change, "value");
      if (!value || !value->IsObject()) throw ParseFailure(at.value_path(""), "missing object");
      // Other fields (account updates, template status…) carry no messages.
      const Value* field = member(change, "field");
      if (field && field->IsString() && !string_is(field, "messages")) continue;
      const Value* metadata = member(*value, "metadata");
      if (!metadata) throw ParseFailure(at.value_path(".metadata"), "missing object");
      const std::string phone_number_id =
          must_string(*metadata, "phone_number_id", [&] { return at.value_path(".metadata"); });
      const std::string display = opt_string(*metadata, "display_phone_number").value_or("");
      const Value* contacts = member(*value, "contacts");
      if (contacts && !contacts->IsArray()) contacts = nullptr;

      if (const Value* messages = member(*value, "messages")) {
        if (!messages->IsArray()) throw ParseFailure(at.value_path(".messages"), "not an array");
        for (at.item = 0; at.item < messages->Size(); ++at.item) {
          const Value& msg = (*messages)[at.item];
          const auto path = [&] { return at.item_path("messages"); };
          if (!msg.IsObject()) throw ParseFailure(path(), "not an object");
          InboundMessage m;
          m.phone_number_id = phone_number_id;
          m.display_phone_number = display;
          m.wa_id = must_string(msg, "from", path);
          m.message_id = must_string(msg, "id", path);
          m.timestamp = must_timestamp(msg, path);
          m.type = opt_string(msg, "type").value_or("unsupported");
          // The profile name of the sender, from value.contacts[] (the last
          // entry for this wa_id wins).
          if (contacts) {
            for (const auto& ct : contacts->GetArray()) {
              if (!string_is(member(ct, "wa_id"), m.wa_id)) continue;
              const Value* profile = member(ct, "profile");
              if (auto name = profile ? opt_string(*profile, "name") : std::nullopt) m.profile_name = std::move(name);
            }
          }
          fill_text(msg, m);
          m.raw_json = serialize(msg);
          out.messages.push_back(std::move(m));
        }
      }

      if (const Value* statuses = member(*value, "statuses")) {
        if (!statuses->IsArray()) throw ParseFailure(at.value_path(".statuses"), "not an array");
        for (at.item = 0; at.item < statuses->Size(); ++at.item) {
          const Value& st = (*statuses)[at.item];
          const auto path = [&] { return at.item_path("statuses"); };
          if (!st.IsObject()) throw ParseFailure(path(), "not an object");
          StatusUpdate s;
          s.phone_number_id = phone_number_id;
          s.message_id = must_string(st, "id", path);
          s.status = must_string(st, "status", path);
          s.recipient_id = opt_string(st, "recipient_id").value_or("");
          s.timestamp = must_timestamp(st, path);
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
  return auth::hex_equal(header_value.substr(prefix.size()), auth::hmac_sha256(app_secret, raw_body));
}

std::optional<std::string> verify_handshake(std::string_view mode, std::string_view token,
                                            std::string_view challenge,
                                            std::string_view expected_token) {
  if (mode != "subscribe" || expected_token.empty() || challenge.empty()) return std::nullopt;
  if (!auth::constant_time_equal(token, expected_token)) return std::nullopt;
  return std::string(challenge);
}

std::string inbound_event_data(const InboundMessage& m) {
  thread_local rapidjson::StringBuffer tl;
  ScratchJson scratch(tl);
  thread_local Writer tw;
  Writer& w = scratch.writer(tw);
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
  write_raw(w, scratch.buffer(), "raw", m.raw_json);
  w.EndObject();
  return scratch.str();
}

std::string status_event_data(const StatusUpdate& s) {
  thread_local rapidjson::StringBuffer tl;
  ScratchJson scratch(tl);
  thread_local Writer tw;
  Writer& w = scratch.writer(tw);
  w.StartObject();
  write_str(w, "channel", "whatsapp");
  write_str(w, "phone_number_id", s.phone_number_id);
  write_str(w, "message_id", s.message_id);
  write_str(w, "status", s.status);
  write_str(w, "timestamp", s.timestamp);
  write_str(w, "recipient_id", s.recipient_id);
  write_raw(w, scratch.buffer(), "raw", s.raw_json);
  w.EndObject();
  return scratch.str();
}

}  // namespace leadpipe::ingest::whatsapp
