#include "calls.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>

#include <leadpipe/auth/crypto.hpp>
#include <leadpipe/events/cloud_event.hpp>

#include "api_schemas.hpp"
#include "phone.hpp"

namespace leadpipe::ingest::calls {
namespace {

using rapidjson::Value;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

const Value* member(const Value& obj, const char* name) {
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

std::string str(const Value& obj, const char* name) {
  const Value* v = member(obj, name);
  return v && v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : std::string();
}

void put(Writer& w, const char* key, std::string_view v) {
  w.Key(key);
  w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
}

void put_or_null(Writer& w, const char* key, const std::string& v) {
  w.Key(key);
  if (v.empty()) {
    w.Null();
  } else {
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  }
}

// RFC 3339 string as sent, or unix seconds → RFC 3339.
std::string instant(const Value& v) {
  if (v.IsString()) return {v.GetString(), v.GetStringLength()};
  if (v.IsInt64() || v.IsUint64()) {
    const auto secs = v.IsInt64() ? v.GetInt64() : static_cast<std::int64_t>(v.GetUint64());
    return rfc3339(TimePoint(std::chrono::seconds(secs)));
  }
  return {};
}

std::string normalise_or_raw(const std::string& raw, std::string_view region, std::string* e164) {
  if (auto n = phone::normalise(raw, region)) {
    if (e164) *e164 = n->e164;
    return n->e164;
  }
  return raw;
}

}  // namespace

std::string sign(std::string_view secret, std::string_view timestamp, std::string_view raw_body) {
  std::string payload;
  payload.reserve(timestamp.size() + 1 + raw_body.size());
  payload.append(timestamp).append(".").append(raw_body);
  return "sha256=" + auth::hmac_sha256_hex(secret, payload);
}

SignatureCheck check_signature(std::string_view secret, std::string_view timestamp,
                               std::string_view signature_header, std::string_view raw_body, TimePoint now,
                               std::chrono::seconds tolerance) {
  if (secret.empty() || timestamp.empty() || signature_header.empty()) return SignatureCheck::missing;
  long long secs = 0;
  auto [p, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), secs);
  if (ec != std::errc() || p != timestamp.data() + timestamp.size()) return SignatureCheck::mismatch;
  const auto sent = std::chrono::seconds(secs);
  const auto at = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch());
  if (sent > at + tolerance || sent < at - tolerance) return SignatureCheck::stale;
  std::string given(signature_header);
  for (auto& ch : given) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return auth::constant_time_equal(sign(secret, timestamp, raw_body), given) ? SignatureCheck::ok
                                                                              : SignatureCheck::mismatch;
}

Call parse_call(std::string_view body, const Integration& integration, std::string_view default_region,
                std::string_view received_at) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(body.data(), body.size());
  if (doc.HasParseError()) {
    throw CallError({}, std::string("body is not valid JSON (") + rapidjson::GetParseError_En(doc.GetParseError()) +
                            ")");
  }
  if (!doc.IsObject()) throw CallError({}, "body must be a JSON object");
  std::vector<http::FieldError> errors;
  for (const auto& msg : api_schemas().validate("call_webhook", doc)) {
    for (auto& e : schema_field_errors(msg)) errors.push_back(std::move(e));
  }
  if (!errors.empty()) throw CallError(std::move(errors), "the call does not match the documented shape");

  Call call;
  call.call_id = str(doc, "call_id");
  call.direction = str(doc, "direction");
  std::string from_e164, to_e164;
  const std::string from = normalise_or_raw(str(doc, "from"), default_region, &from_e164);
  const std::string to = normalise_or_raw(str(doc, "to"), default_region, &to_e164);
  call.customer_phone = call.direction == "inbound" ? from_e164 : to_e164;

  // Transcript text: as sent, else the turns as "speaker: text" lines.
  std::string transcript = str(doc, "transcript");
  const Value* turns = member(doc, "turns");
  if (transcript.empty() && turns && turns->IsArray()) {
    for (const auto& t : turns->GetArray()) {
      if (!transcript.empty()) transcript += "\n";
      transcript += str(t, "speaker") + ": " + str(t, "text");
    }
  }

  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  put(w, "channel", "call");
  put(w, "integration_id", integration.id);
  put_or_null(w, "provider", integration.provider);
  put(w, "call_id", call.call_id);
  put(w, "direction", call.direction);
  put(w, "from", from);
  put(w, "to", to);
  put_or_null(w, "customer_phone", call.customer_phone);
  put(w, "started_at", instant(doc["started_at"]));
  const Value* ended = member(doc, "ended_at");
  put_or_null(w, "ended_at", ended ? instant(*ended) : std::string());
  w.Key("duration_seconds");
  if (const Value* d = member(doc, "duration_seconds"); d && d->IsInt64()) {
    w.Int64(d->GetInt64());
  } else {
    w.Null();
  }
  put(w, "outcome", str(doc, "outcome"));
  put_or_null(w, "recording_url", str(doc, "recording_url"));
  put_or_null(w, "agent", str(doc, "agent"));
  put_or_null(w, "transcript", transcript);
  w.Key("turns");
  w.StartArray();
  if (turns && turns->IsArray()) {
    for (const auto& t : turns->GetArray()) {
      w.StartObject();
      put(w, "speaker", str(t, "speaker"));
      put(w, "text", str(t, "text"));
      w.Key("offset_seconds");
      if (const Value* o = member(t, "offset_seconds"); o && o->IsNumber()) {
        w.Double(o->GetDouble());
      } else {
        w.Null();
      }
      w.EndObject();
    }
  }
  w.EndArray();
  w.Key("metadata");
  if (const Value* m = member(doc, "metadata"); m && m->IsObject()) {
    m->Accept(w);  // depth bounded by the schema validation
  } else {
    w.StartObject();
    w.EndObject();
  }
  put(w, "received_at", received_at);
  w.EndObject();
  call.data.assign(buf.GetString(), buf.GetSize());
  return call;
}

std::string event_id(std::string_view tenant, std::string_view integration, std::string_view call_id) {
  std::string name = "ingest.call.completed/";
  name.append(tenant).append(":").append(integration).append(":").append(call_id);
  return events::uuid_v5(events::kNamespace, name);
}

}  // namespace leadpipe::ingest::calls
