#include "sources.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <stdexcept>

namespace leadpipe::leads {
namespace {

using rapidjson::Value;

std::optional<std::string> opt_string(const Value& obj, const char* name) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsString()) return std::nullopt;
  std::string s(it->value.GetString(), it->value.GetStringLength());
  if (s.empty()) return std::nullopt;
  return s;
}

std::string required(const Value& obj, const char* name) {
  auto v = opt_string(obj, name);
  if (!v) throw std::invalid_argument(std::string(name) + " is required");
  return *v;
}

rapidjson::Document parse_object(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str(), json.size());
  if (d.HasParseError() || !d.IsObject()) throw std::invalid_argument("data is not a JSON object");
  return d;
}

std::string json_text(const Value& v) {
  if (v.IsString()) return {v.GetString(), v.GetStringLength()};
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return {buf.GetString(), buf.GetSize()};
}

// Copies the members of object `name` (values as text) into `out`, keys prefixed.
void copy_object(const Value& obj, const char* name, const std::string& prefix,
                 std::map<std::string, std::string>& out) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsObject()) return;
  for (const auto& m : it->value.GetObject()) {
    if (m.value.IsNull()) continue;
    auto text = json_text(m.value);
    if (text.empty()) continue;
    out.emplace(prefix + std::string(m.name.GetString(), m.name.GetStringLength()),
                std::move(text));
  }
}

void copy_strings(const Value& obj, std::initializer_list<const char*> names,
                  std::map<std::string, std::string>& out) {
  for (const char* n : names) {
    if (auto v = opt_string(obj, n)) out.emplace(n, *v);
  }
}

Captured captured(std::string value, const std::string& message_id, const std::string& layer,
                  double confidence, const std::string& at) {
  return Captured{std::move(value), Evidence{message_id, layer, confidence, at}};
}

}  // namespace

SourceLead parse_vendor_lead(std::string event_id, std::string tenant,
                             const std::string& data_json) {
  const auto d = parse_object(data_json);
  const auto vendor = required(d, "vendor");
  const auto vendor_lead_id = required(d, "vendor_lead_id");
  const auto received_at = required(d, "received_at");
  SourceLead s;
  s.source = "vendor";
  s.channel = "vendor";
  auto& x = s.capture;
  x.event_id = std::move(event_id);
  x.tenant = std::move(tenant);
  x.channel = "vendor:" + vendor;
  x.external_id = vendor_lead_id;
  x.source_event_id = x.event_id;
  x.message_id = vendor_lead_id;
  const auto cap = [&](std::string v) {
    return captured(std::move(v), vendor_lead_id, "vendor", kVendorConfidence, received_at);
  };
  x.name = cap(required(d, "name"));
  x.phones.push_back(cap(required(d, "phone")));
  if (auto e = opt_string(d, "email")) x.emails.push_back(cap(normalize_email(*e)));
  auto program = opt_string(d, "program");
  if (!program) program = opt_string(d, "course");
  if (program) x.program = cap(*program);
  s.session_year = opt_string(d, "session_year");

  s.extra.emplace("vendor", vendor);
  copy_strings(d, {"course", "city", "state"}, s.extra);
  copy_object(d, "utm", "utm_", s.extra);
  copy_object(d, "extra", "", s.extra);
  return s;
}

SourceLead parse_campaign_submission(std::string event_id, std::string tenant,
                                     const std::string& data_json) {
  const auto d = parse_object(data_json);
  const auto campaign = required(d, "campaign");
  const auto phone = required(d, "phone");
  const auto submitted_at = required(d, "submitted_at");
  SourceLead s;
  s.source = "campaign";
  s.channel = "web";
  auto& x = s.capture;
  x.event_id = std::move(event_id);
  x.tenant = std::move(tenant);
  x.channel = "campaign:" + campaign;
  x.external_id = phone;
  x.source_event_id = x.event_id;
  x.message_id = campaign;
  const auto cap = [&](std::string v) {
    return captured(std::move(v), campaign, "form", kFormConfidence, submitted_at);
  };
  x.name = cap(required(d, "name"));
  x.phones.push_back(cap(phone));
  if (auto e = opt_string(d, "email")) x.emails.push_back(cap(normalize_email(*e)));
  if (auto course = opt_string(d, "course")) x.program = cap(*course);
  s.session_year = opt_string(d, "session_year");

  s.extra.emplace("campaign", campaign);
  copy_strings(d,
               {"campaign_type", "course", "family_income", "language", "city", "neighbourhood",
                "referral_source", "http_referrer"},
               s.extra);
  copy_object(d, "utm", "utm_", s.extra);
  copy_object(d, "extra", "", s.extra);
  // The form status of this campaign: the event's status, or what its flags say.
  auto status = opt_string(d, "status").value_or("");
  if (auto it = d.FindMember("did_application_form");
      it != d.MemberEnd() && it->value.IsBool() && it->value.GetBool()) {
    status = "applied";
  }
  if (status.empty()) status = "interested";
  s.form_status.emplace("form_status:" + campaign, status);
  return s;
}

int form_status_rank(const std::string& status) {
  if (status == "applied") return 2;
  if (status == "interested") return 1;
  return 0;
}

SourceMerge merge_source(const std::optional<Lead>& existing,
                         const std::map<std::string, std::string>& extra, const SourceLead& s,
                         const Pipeline& pipeline, const std::string& new_id,
                         const std::string& now) {
  SourceMerge m;
  m.result = merge_extraction(existing, s.capture, pipeline, new_id, now);
  auto& r = m.result;
  auto& lead = r.lead;
  const bool bumped = r.created || !r.changed.empty();
  if (r.created) {
    lead.source = s.source;
    lead.channel = s.channel;
  }
  if (s.session_year && !lead.session_year) {
    lead.session_year = s.session_year;
    if (!r.created) r.changed.emplace_back("session_year");
  }
  m.extra = extra;
  for (const auto& [k, v] : s.extra) {
    if (m.extra.emplace(k, v).second) m.extra_changed = true;
  }
  for (const auto& [k, v] : s.form_status) {
    auto [it, inserted] = m.extra.emplace(k, v);
    if (inserted) {
      m.extra_changed = true;
    } else if (form_status_rank(v) > form_status_rank(it->second)) {
      it->second = v;
      m.extra_changed = true;
    }
  }
  if (m.extra_changed && !r.created) r.changed.emplace_back("extra");
  std::sort(r.changed.begin(), r.changed.end());
  r.changed.erase(std::unique(r.changed.begin(), r.changed.end()), r.changed.end());
  if (!bumped && !r.changed.empty()) {
    lead.version += 1;
    lead.updated_at = now;
  }
  return m;
}

CallLog parse_call(const std::string& data_json) {
  const auto d = parse_object(data_json);
  CallLog c;
  c.integration_id = required(d, "integration_id");
  c.call_id = required(d, "call_id");
  c.direction = required(d, "direction");
  c.from = required(d, "from");
  c.to = required(d, "to");
  c.outcome = required(d, "outcome");
  c.started_at = required(d, "started_at");
  c.provider = opt_string(d, "provider");
  c.customer_phone = opt_string(d, "customer_phone");
  c.ended_at = opt_string(d, "ended_at");
  c.recording_url = opt_string(d, "recording_url");
  c.agent = opt_string(d, "agent");
  if (auto it = d.FindMember("duration_seconds"); it != d.MemberEnd() && it->value.IsInt64()) {
    c.duration_seconds = it->value.GetInt64();
  }
  const bool transcript = opt_string(d, "transcript").has_value();
  auto turns = d.FindMember("turns");
  c.has_transcript =
      transcript || (turns != d.MemberEnd() && turns->value.IsArray() && !turns->value.Empty());
  return c;
}

bool call_reached(const CallLog& call) {
  return call.outcome == "completed" && (!call.duration_seconds || *call.duration_seconds > 0);
}

std::string call_activity_json(const CallLog& c) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  const auto str = [&](const char* k, const std::string& v) {
    w.Key(k);
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  };
  const auto opt = [&](const char* k, const std::optional<std::string>& v) {
    w.Key(k);
    if (v) {
      w.String(v->c_str(), static_cast<rapidjson::SizeType>(v->size()));
    } else {
      w.Null();
    }
  };
  w.StartObject();
  str("call_id", c.call_id);
  str("integration_id", c.integration_id);
  opt("provider", c.provider);
  str("direction", c.direction);
  str("from", c.from);
  str("to", c.to);
  str("outcome", c.outcome);
  str("started_at", c.started_at);
  opt("ended_at", c.ended_at);
  w.Key("duration_seconds");
  if (c.duration_seconds) {
    w.Int64(*c.duration_seconds);
  } else {
    w.Null();
  }
  opt("agent", c.agent);
  opt("recording_url", c.recording_url);
  w.Key("has_transcript");
  w.Bool(c.has_transcript);
  w.Key("reached");
  w.Bool(call_reached(c));
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string extra_json(const std::map<std::string, std::string>& extra) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  for (const auto& [k, v] : extra) {
    w.Key(k.c_str(), static_cast<rapidjson::SizeType>(k.size()));
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  }
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::map<std::string, std::string> parse_extra(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str(), json.size());
  std::map<std::string, std::string> out;
  if (!d.HasParseError() && d.IsObject()) {
    for (const auto& m : d.GetObject()) {
      if (m.value.IsNull()) continue;
      out.emplace(std::string(m.name.GetString(), m.name.GetStringLength()), json_text(m.value));
    }
  }
  return out;
}

}  // namespace leadpipe::leads
