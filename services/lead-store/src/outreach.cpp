#include "outreach.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <stdexcept>

namespace leadpipe::leads {
namespace {

using rapidjson::Value;

std::optional<std::string> opt_string(const Value& obj, const char* key) {
  if (!obj.IsObject()) return std::nullopt;
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || !it->value.IsString()) return std::nullopt;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::string req_string(const Value& obj, const char* key) {
  auto v = opt_string(obj, key);
  if (!v) throw std::invalid_argument(std::string("missing '") + key + "'");
  return *v;
}

MessageBody parse_body(const Value& m, bool sensitive) {
  MessageBody b;
  b.kind = opt_string(m, "kind").value_or("text");
  b.template_name = opt_string(m, "template");
  b.language = opt_string(m, "language");
  if (sensitive) return b;  // never keep a secret's text
  b.text = opt_string(m, "text");
  if (auto it = m.FindMember("parameters"); it != m.MemberEnd() && it->value.IsArray()) {
    for (const auto& p : it->value.GetArray()) {
      if (p.IsString()) b.parameters.emplace_back(p.GetString(), p.GetStringLength());
    }
  }
  return b;
}

// Rank of a status in the forward-only order (see advances()).
int rank(const std::string& status, bool retryable) {
  if (status == "pending") return 0;
  if (status == "failed") return retryable ? 1 : 3;
  if (status == "sent") return 2;
  if (status == "delivered") return 4;
  if (status == "read") return 5;
  return -1;
}

void set_string(rapidjson::Document& d, const char* key, const std::string& v) {
  auto& a = d.GetAllocator();
  Value val(v.c_str(), static_cast<rapidjson::SizeType>(v.size()), a);
  if (auto it = d.FindMember(key); it != d.MemberEnd()) {
    it->value = val;
  } else {
    d.AddMember(Value(key, a), val, a);
  }
}

// Sets `key` only when it is absent or null (first fact wins).
void fill_string(rapidjson::Document& d, const char* key, const std::optional<std::string>& v) {
  if (!v) return;
  auto it = d.FindMember(key);
  if (it != d.MemberEnd() && !it->value.IsNull()) return;
  set_string(d, key, *v);
}

void set_value(rapidjson::Document& d, const char* key, Value&& v) {
  auto& a = d.GetAllocator();
  if (auto it = d.FindMember(key); it != d.MemberEnd()) {
    it->value = v;
  } else {
    d.AddMember(Value(key, a), v, a);
  }
}

void write_body(rapidjson::Writer<rapidjson::StringBuffer>& w, const MessageBody& b) {
  auto s = [&w](const std::string& v) {
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  };
  w.StartObject();
  w.Key("kind");
  s(b.kind);
  if (b.template_name) {
    w.Key("template");
    s(*b.template_name);
  }
  if (b.language) {
    w.Key("language");
    s(*b.language);
  }
  if (!b.parameters.empty()) {
    w.Key("parameters");
    w.StartArray();
    for (const auto& p : b.parameters) s(p);
    w.EndArray();
  }
  if (b.text) {
    w.Key("text");
    s(*b.text);
  }
  w.EndObject();
}

std::string body_json(const MessageBody& b) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  write_body(w, b);
  return {buf.GetString(), buf.GetSize()};
}

}  // namespace

OutreachResult parse_outreach_result(std::string_view type, const std::string& data_json) {
  rapidjson::Document d;
  d.Parse(data_json.c_str(), data_json.size());
  if (d.HasParseError() || !d.IsObject()) throw std::invalid_argument("data is not a JSON object");
  OutreachResult r;
  r.type = std::string(type);
  r.request_id = opt_string(d, "request_id");
  r.message_id = opt_string(d, "message_id");
  r.lead_id = opt_string(d, "lead_id");
  r.provider_message_id = opt_string(d, "provider_message_id");
  r.purpose = opt_string(d, "purpose");
  r.channel = req_string(d, "channel");
  r.to = req_string(d, "to");
  if (type == "outreach.sent") {
    r.status = "sent";
    r.at = req_string(d, "sent_at");
    if (auto it = d.FindMember("sensitive"); it != d.MemberEnd() && it->value.IsBool())
      r.sensitive = it->value.GetBool();
    if (auto it = d.FindMember("sender"); it != d.MemberEnd() && it->value.IsObject()) {
      r.sender_kind = opt_string(it->value, "kind");
      r.sender_user = opt_string(it->value, "user_id");
    }
    if (auto it = d.FindMember("message"); it != d.MemberEnd() && it->value.IsObject()) {
      r.message = parse_body(it->value, r.sensitive);
    }
  } else if (type == "outreach.delivered") {
    r.status = req_string(d, "status");
    if (r.status != "delivered" && r.status != "read")
      throw std::invalid_argument("unknown status " + r.status);
    r.at = req_string(d, "at");
  } else if (type == "outreach.failed") {
    r.status = "failed";
    r.at = req_string(d, "failed_at");
    if (auto it = d.FindMember("retryable"); it != d.MemberEnd() && it->value.IsBool())
      r.retryable = it->value.GetBool();
    if (auto it = d.FindMember("error"); it != d.MemberEnd() && it->value.IsObject()) {
      r.error_code = opt_string(it->value, "code").value_or("");
      r.error_title = opt_string(it->value, "title");
      r.error_detail = opt_string(it->value, "detail");
    }
  } else {
    throw std::invalid_argument("not an outreach result: " + std::string(type));
  }
  if (r.lead_id && r.lead_id->empty()) r.lead_id.reset();
  if (!r.message_id && !r.request_id)
    throw std::invalid_argument("neither message_id nor request_id");
  return r;
}

bool advances(const std::string& current, bool current_retryable, const std::string& incoming,
              bool incoming_retryable) {
  return rank(incoming, incoming_retryable) > rank(current, current_retryable);
}

bool reached_person_side(const std::string& status) {
  return status == "sent" || status == "delivered" || status == "read";
}

std::string merge_message_payload(const std::string& current, const OutreachResult& r,
                                  bool status_advanced) {
  rapidjson::Document d;
  d.Parse(current.c_str(), current.size());
  if (d.HasParseError() || !d.IsObject()) d.SetObject();
  auto& a = d.GetAllocator();
  set_string(d, "direction", "outbound");
  fill_string(d, "message_id", r.message_id);
  fill_string(d, "request_id", r.request_id);
  fill_string(d, "channel", r.channel);
  fill_string(d, "to", r.to);
  fill_string(d, "purpose", r.purpose);
  fill_string(d, "provider_message_id", r.provider_message_id);
  if (r.sender_kind && !d.HasMember("sender")) {
    Value s(rapidjson::kObjectType);
    s.AddMember("kind", Value(r.sender_kind->c_str(), a), a);
    if (r.sender_user) {
      s.AddMember("user_id", Value(r.sender_user->c_str(), a), a);
    } else {
      s.AddMember("user_id", Value(), a);
    }
    d.AddMember("sender", s, a);
  }
  if (r.sensitive) set_value(d, "sensitive", Value(true));
  if (r.message && !d.HasMember("message")) {
    rapidjson::Document m(&a);
    const auto json = body_json(*r.message);
    m.Parse(json.c_str(), json.size());
    d.AddMember("message", Value(m, a), a);
  }
  // When each status happened: the first report of each wins.
  const char* at_key = r.status == "sent"        ? "sent_at"
                       : r.status == "delivered" ? "delivered_at"
                       : r.status == "read"      ? "read_at"
                                                 : "failed_at";
  if (r.status == "failed") {
    set_string(d, at_key, r.at);  // a later attempt's failure replaces an earlier one
    Value e(rapidjson::kObjectType);
    e.AddMember("code", Value(r.error_code.c_str(), a), a);
    if (r.error_title) e.AddMember("title", Value(r.error_title->c_str(), a), a);
    if (r.error_detail) e.AddMember("detail", Value(r.error_detail->c_str(), a), a);
    set_value(d, "error", std::move(e));
    set_value(d, "retryable", Value(r.retryable));
  } else {
    fill_string(d, at_key, r.at);
  }
  if (status_advanced || !d.HasMember("status")) set_string(d, "status", r.status);
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  d.Accept(w);
  return {buf.GetString(), buf.GetSize()};
}

MessageRequest parse_message_request(const rapidjson::Value& body,
                                     std::vector<http::FieldError>& errors) {
  MessageRequest m;
  if (!body.IsObject()) {
    errors.push_back({"body", "must be a JSON object"});
    return m;
  }
  static const char* kKnown[] = {"channel", "template", "language", "parameters", "text"};
  for (const auto& member : body.GetObject()) {
    std::string k(member.name.GetString(), member.name.GetStringLength());
    if (std::find_if(std::begin(kKnown), std::end(kKnown), [&](const char* x) { return k == x; }) ==
        std::end(kKnown)) {
      errors.push_back({k, "unknown member"});
    }
  }
  auto string_member = [&](const char* key, std::size_t max) -> std::optional<std::string> {
    auto it = body.FindMember(key);
    if (it == body.MemberEnd() || it->value.IsNull()) return std::nullopt;
    if (!it->value.IsString() || it->value.GetStringLength() == 0 ||
        it->value.GetStringLength() > max) {
      errors.push_back(
          {key, "must be a non-empty string of at most " + std::to_string(max) + " characters"});
      return std::nullopt;
    }
    return std::string(it->value.GetString(), it->value.GetStringLength());
  };
  auto channel = string_member("channel", 16);
  if (!channel) {
    if (!body.HasMember("channel")) errors.push_back({"channel", "required: whatsapp or sms"});
  } else if (*channel != "whatsapp" && *channel != "sms") {
    errors.push_back({"channel", "must be whatsapp or sms"});
  } else {
    m.channel = *channel;
  }
  m.message.template_name = string_member("template", 512);
  m.message.language = string_member("language", 16);
  m.message.text = string_member("text", 4096);
  if (auto it = body.FindMember("parameters"); it != body.MemberEnd() && !it->value.IsNull()) {
    if (!it->value.IsArray() || it->value.Size() > 20) {
      errors.push_back({"parameters", "must be an array of at most 20 strings"});
    } else {
      for (const auto& p : it->value.GetArray()) {
        if (!p.IsString() || p.GetStringLength() > 1024) {
          errors.push_back({"parameters", "must be strings of at most 1024 characters"});
          break;
        }
        m.message.parameters.emplace_back(p.GetString(), p.GetStringLength());
      }
    }
  }
  const bool has_template = m.message.template_name.has_value();
  const bool has_text = m.message.text.has_value();
  if (has_template == has_text) {
    errors.push_back(
        {"template", "give either a template (with language and parameters) or a text"});
  } else if (has_template && m.channel == "sms") {
    errors.push_back({"template", "an SMS is plain text: use text"});
  } else if (has_text && (m.message.language || !m.message.parameters.empty())) {
    errors.push_back({"parameters", "language and parameters go with a template"});
  }
  m.message.kind = has_template ? "template" : "text";
  return m;
}

std::string outreach_requested_data(const std::string& request_id, const MessageRequest& m,
                                    const std::string& to, const std::string& lead_id,
                                    const std::string& sender) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto kv = [&w](const char* k, const std::string& v) {
    w.Key(k);
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  };
  w.StartObject();
  kv("request_id", request_id);
  kv("channel", m.channel);
  kv("to", to);
  kv("purpose", "crm");
  kv("lead_id", lead_id);
  w.Key("sensitive");
  w.Bool(false);
  w.Key("message");
  write_body(w, m.message);
  // Who asked: outreach echoes it as the result's sender (a counsellor).
  w.Key("context");
  w.StartObject();
  kv("source", "lead-store");
  w.Key("sender");
  w.StartObject();
  kv("kind", "counsellor");
  kv("user_id", sender);
  w.EndObject();
  w.EndObject();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string pending_message_payload(const std::string& request_id, const MessageRequest& m,
                                    const std::string& sender, const std::string& requested_at) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto kv = [&w](const char* k, const std::string& v) {
    w.Key(k);
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  };
  w.StartObject();
  kv("direction", "outbound");
  kv("request_id", request_id);
  kv("channel", m.channel);
  kv("purpose", "crm");
  w.Key("sender");
  w.StartObject();
  kv("kind", "counsellor");
  kv("user_id", sender);
  w.EndObject();
  w.Key("message");
  write_body(w, m.message);
  kv("status", "pending");
  kv("requested_at", requested_at);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

}  // namespace leadpipe::leads
