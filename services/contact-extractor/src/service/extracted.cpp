#include "extracted.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace leadpipe::extractor {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void str(Writer& w, const char* key, const std::string& v) {
  w.Key(key);
  w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
}

void captured(Writer& w, const extract::Captured& c, std::int64_t now_ms) {
  w.StartObject();
  str(w, "value", c.value);
  w.Key("evidence");
  w.StartObject();
  str(w, "message_id", c.evidence.message_id);
  str(w, "layer", c.evidence.layer);
  w.Key("confidence");
  w.Double(c.evidence.confidence);
  str(w, "detected_at", rfc3339_ms(c.evidence.detected_at_ms ? c.evidence.detected_at_ms : now_ms));
  w.EndObject();
  w.EndObject();
}

void optional_captured(Writer& w, const char* key, const std::optional<extract::Captured>& c,
                       std::int64_t now_ms) {
  w.Key(key);
  if (c) {
    captured(w, *c, now_ms);
  } else {
    w.Null();
  }
}

}  // namespace

std::optional<std::string> channel_phone(const std::string& wa_id) {
  if (wa_id.size() < 7 || wa_id.size() > 15 || wa_id[0] == '0') return std::nullopt;
  for (char c : wa_id) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  return "+" + wa_id;
}

std::string rfc3339_ms(std::int64_t epoch_ms) {
  std::time_t secs = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char base[32];
  std::strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[64];
  std::snprintf(out, sizeof out, "%s.%03dZ", base, static_cast<int>(epoch_ms % 1000));
  return out;
}

std::int64_t parse_rfc3339_ms(const std::string& text) {
  std::tm tm{};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) return 0;
  std::int64_t ms = 0;
  if (*rest == '.') {
    int digits = 0;
    for (++rest; *rest >= '0' && *rest <= '9'; ++rest) {
      if (digits++ < 3) ms = ms * 10 + (*rest - '0');
    }
    while (digits++ < 3) ms *= 10;
  }
  return static_cast<std::int64_t>(timegm(&tm)) * 1000 + ms;
}

std::string contact_extracted_data(const Inbound& in, const extract::Result& r,
                                   const std::string& region, std::int64_t now_ms) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  str(w, "channel", in.channel);
  str(w, "external_id", in.external_id);
  str(w, "source_event_id", in.event_id);
  str(w, "message_id", in.message_id);
  str(w, "region", region);

  // Name: a rule/slot hit wins; the WhatsApp profile name is a weak fallback.
  std::optional<extract::Captured> name = r.name;
  if (!name && in.profile_name && !in.profile_name->empty()) {
    name = extract::Captured{*in.profile_name, {in.message_id, "profile", 0.4, in.at_ms}};
  }
  optional_captured(w, "name", name, now_ms);
  if (in.profile_name) {
    str(w, "profile_name", *in.profile_name);
  }

  // Phones: the sender's own number first (certain), then numbers in the text.
  w.Key("phones");
  w.StartArray();
  std::vector<std::string> seen;
  // WhatsApp: the wa_id; a call: the customer's E.164 number.
  std::optional<std::string> own;
  if (in.channel == "whatsapp") own = channel_phone(in.external_id);
  else if (in.channel == "call" && in.external_id.size() > 1 && in.external_id[0] == '+')
    own = channel_phone(in.external_id.substr(1));
  if (own) {
    captured(w, extract::Captured{*own, {in.message_id, "channel", 1.0, in.at_ms}}, now_ms);
    seen.push_back(*own);
  }
  for (const auto& p : r.phones) {
    if (std::find(seen.begin(), seen.end(), p.value) != seen.end()) continue;
    seen.push_back(p.value);
    captured(w, p, now_ms);
  }
  w.EndArray();

  w.Key("emails");
  w.StartArray();
  for (const auto& e : r.emails) captured(w, e, now_ms);
  w.EndArray();

  optional_captured(w, "program", r.program, now_ms);

  w.Key("intents");
  w.StartArray();
  for (const auto& i : r.intents) w.String(i.c_str(), static_cast<rapidjson::SizeType>(i.size()));
  w.EndArray();
  w.Key("score");
  w.Int(r.score);
  str(w, "tier", r.tier);
  w.Key("score_reasons");
  w.StartArray();
  for (const auto& s : r.score_reasons) w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
  w.EndArray();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

}  // namespace leadpipe::extractor
