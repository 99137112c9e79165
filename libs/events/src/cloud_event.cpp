// CloudEvents 1.0 structured-mode JSON: building, serialising and checking envelopes.
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <stdexcept>

#include "json_limits.hpp"
#include "leadpipe/events/cloud_event.hpp"

namespace leadpipe::events {
namespace {

// Iterative parsing: no recursion, so deeply nested hostile input cannot
// overflow the stack. Encoding validation: invalid UTF-8 is rejected here
// rather than failing later in PostgreSQL (where it would look retryable).
constexpr unsigned kParseFlags =
    rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(Writer& w, std::string_view key, std::string_view value) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

bool is_digits(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) return false;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

// RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM), 'T'/'Z' in either case.
bool is_rfc3339(std::string_view s) {
  if (!is_digits(s, 0, 4) || s.size() < 20 || s[4] != '-' || !is_digits(s, 5, 2) || s[7] != '-' ||
      !is_digits(s, 8, 2) || (s[10] != 'T' && s[10] != 't') || !is_digits(s, 11, 2) ||
      s[13] != ':' || !is_digits(s, 14, 2) || s[16] != ':' || !is_digits(s, 17, 2)) {
    return false;
  }
  std::size_t i = 19;
  if (s[i] == '.') {
    const std::size_t start = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return false;
  }
  if (i >= s.size()) return false;
  if (s[i] == 'Z' || s[i] == 'z') return i + 1 == s.size();
  if (s[i] != '+' && s[i] != '-') return false;
  return i + 6 == s.size() && is_digits(s, i + 1, 2) && s[i + 3] == ':' && is_digits(s, i + 4, 2);
}

// `data` is parsed as JSON, so only JSON media types make sense.
bool is_json_media_type(std::string_view t) {
  const auto semi = t.find(';');
  if (semi != std::string_view::npos) t = t.substr(0, semi);
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  return t == "application/json" || t == "text/json" ||
         (t.size() > 5 && t.substr(t.size() - 5) == "+json");
}

std::string serialise(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  v.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

// Parses data text that must be a JSON object (producer side: a caller bug if not).
rapidjson::Document parse_data_object(std::string_view data_json, const char* who) {
  rapidjson::Document d;
  if (detail::nesting_exceeds(data_json)) {
    throw std::invalid_argument(std::string(who) + ": data nests too deeply");
  }
  d.Parse<kParseFlags>(data_json.data(), data_json.size());
  if (d.HasParseError() || !d.IsObject()) {
    throw std::invalid_argument(std::string(who) + ": data must be a JSON object");
  }
  return d;
}

const rapidjson::Value* member(const rapidjson::Value& obj, const char* name) {
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

std::string required_string(const rapidjson::Value& obj, const char* name) {
  const rapidjson::Value* v = member(obj, name);
  if (v == nullptr) throw ParseError(std::string("missing required attribute '") + name + "'");
  if (!v->IsString() || v->GetStringLength() == 0) {
    throw ParseError(std::string("attribute '") + name + "' must be a non-empty string");
  }
  return std::string(v->GetString(), v->GetStringLength());
}

std::string optional_string(const rapidjson::Value& obj, const char* name) {
  const rapidjson::Value* v = member(obj, name);
  if (v == nullptr || v->IsNull()) return {};
  if (!v->IsString() || v->GetStringLength() == 0) {
    throw ParseError(std::string("attribute '") + name + "' must be a non-empty string");
  }
  return std::string(v->GetString(), v->GetStringLength());
}

}  // namespace

std::string now_rfc3339() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const auto secs = system_clock::to_time_t(now);
  const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  // Every event is stamped: the calendar part is formatted once per second
  // per thread (gmtime_r + strftime was ~2 us of a webhook's work).
  thread_local std::time_t cached_secs = -1;
  thread_local char cached[24];  // "YYYY-MM-DDTHH:MM:SS"
  thread_local std::size_t cached_len = 0;
  if (secs != cached_secs) {
    std::tm tm{};
    gmtime_r(&secs, &tm);
    cached_len = std::strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
    cached_secs = secs;
  }
  std::string out;
  out.reserve(cached_len + 5);
  out.append(cached, cached_len);
  const int m = static_cast<int>(ms);
  const char frac[] = {'.', static_cast<char>('0' + m / 100), static_cast<char>('0' + m / 10 % 10),
                       static_cast<char>('0' + m % 10), 'Z'};
  out.append(frac, sizeof frac);
  return out;
}

CloudEvent make(std::string type, std::string source, std::string tenant, std::string subject,
                std::string data_json) {
  parse_data_object(data_json, "events::make");
  CloudEvent ev;
  ev.id = uuid_v4();
  ev.source = std::move(source);
  ev.type = std::move(type);
  ev.time = now_rfc3339();
  ev.subject = std::move(subject);
  ev.tenant = std::move(tenant);
  ev.data = std::move(data_json);
  return ev;
}

std::string to_json(const CloudEvent& ev) {
  if (ev.id.empty() || ev.source.empty() || ev.type.empty() || ev.tenant.empty()) {
    throw std::invalid_argument("events::to_json: id, source, type and tenant are required");
  }
  const rapidjson::Document data = parse_data_object(ev.data, "events::to_json");

  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  write_string(w, "specversion", "1.0");
  write_string(w, "id", ev.id);
  write_string(w, "source", ev.source);
  write_string(w, "type", ev.type);
  if (!ev.subject.empty()) write_string(w, "subject", ev.subject);
  if (!ev.time.empty()) write_string(w, "time", ev.time);
  write_string(w, "datacontenttype",
               ev.datacontenttype.empty() ? std::string_view("application/json")
                                          : std::string_view(ev.datacontenttype));
  write_string(w, "tenantid", ev.tenant);
  w.Key("data");
  data.Accept(w);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

CloudEvent parse(std::string_view json) {
  if (detail::nesting_exceeds(json)) {
    throw ParseError("JSON nests deeper than " + std::to_string(detail::kMaxJsonDepth) + " levels");
  }
  rapidjson::Document d;
  d.Parse<kParseFlags>(json.data(), json.size());
  if (d.HasParseError()) {
    throw ParseError(std::string("malformed JSON at offset ") + std::to_string(d.GetErrorOffset()) +
                     ": " + rapidjson::GetParseError_En(d.GetParseError()));
  }
  if (!d.IsObject()) throw ParseError("event must be a JSON object");

  const rapidjson::Value* spec = member(d, "specversion");
  if (spec == nullptr) throw ParseError("missing required attribute 'specversion'");
  if (!spec->IsString() || std::string_view(spec->GetString(), spec->GetStringLength()) != "1.0") {
    throw ParseError("unsupported specversion (expected \"1.0\")");
  }

  CloudEvent ev;
  ev.id = required_string(d, "id");
  if (!is_uuid(ev.id)) throw ParseError("attribute 'id' must be a UUID");
  ev.source = required_string(d, "source");
  ev.type = required_string(d, "type");
  ev.tenant = required_string(d, "tenantid");
  ev.subject = optional_string(d, "subject");
  ev.time = optional_string(d, "time");
  if (!ev.time.empty() && !is_rfc3339(ev.time)) {
    throw ParseError("attribute 'time' must be an RFC 3339 timestamp");
  }
  const std::string content_type = optional_string(d, "datacontenttype");
  if (!content_type.empty()) {
    if (!is_json_media_type(content_type)) {
      throw ParseError("attribute 'datacontenttype' must be a JSON media type");
    }
    ev.datacontenttype = content_type;
  }
  if (member(d, "data_base64") != nullptr) throw ParseError("'data_base64' is not supported");
  const rapidjson::Value* data = member(d, "data");
  if (data == nullptr) throw ParseError("missing required attribute 'data'");
  if (!data->IsObject()) throw ParseError("'data' must be a JSON object");
  ev.data = serialise(*data);
  return ev;
}

}  // namespace leadpipe::events
