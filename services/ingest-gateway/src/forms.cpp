#include "forms.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cctype>

#include <leadpipe/auth/crypto.hpp>
#include <leadpipe/events/cloud_event.hpp>

#include "api_schemas.hpp"

namespace leadpipe::ingest::forms {
namespace {

using rapidjson::Value;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;
constexpr const char* kSchema = "campaign_form";

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::string str(const Value& obj, const char* name) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsString()) return {};
  return trim(std::string(it->value.GetString(), it->value.GetStringLength()));
}

void put(Writer& w, const char* key, const std::string& v) {
  w.Key(key);
  w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
}

void put_opt(Writer& w, const char* key, const std::string& v) {
  w.Key(key);
  if (v.empty()) {
    w.Null();
  } else {
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  }
}

// The form's fields, normalised, in a fixed order (shared by the hash and the event).
void write_fields(Writer& w, const Value& form, const std::string& phone) {
  put(w, "campaign", str(form, "campaign"));
  put_opt(w, "campaign_type", str(form, "campaign_type"));
  put(w, "form_type", str(form, "form_type"));
  put(w, "name", str(form, "name"));
  put(w, "phone", phone);
  std::string email = str(form, "email");
  for (auto& c : email) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  put_opt(w, "email", email);
  for (const char* f : {"family_income", "language", "city", "neighbourhood", "referral_source", "http_referrer",
                        "session_year", "course"}) {
    put_opt(w, f, str(form, f));
  }
  w.Key("utm");
  w.StartObject();
  for (const char* k : {"source", "medium", "campaign", "term", "content"}) {
    const std::string v = str(form, ("utm_" + std::string(k)).c_str());
    if (!v.empty()) put(w, k, v);
  }
  w.EndObject();
  w.Key("extra");
  auto extra = form.FindMember("extra");
  if (extra != form.MemberEnd() && extra->value.IsObject()) {
    extra->value.Accept(w);  // depth bounded by the schema validation
  } else {
    w.StartObject();
    w.EndObject();
  }
}

}  // namespace

bool valid_campaign(const std::string& c) {
  if (c.empty() || c.size() > 100 || !std::isalnum(static_cast<unsigned char>(c[0]))) return false;
  for (char ch : c) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '.' && ch != '-') return false;
  }
  return true;
}

std::vector<http::FieldError> validate_submission(const Value& form) {
  std::vector<http::FieldError> errors;
  if (!form.IsObject()) return {{"", "the form must be a JSON object"}};
  for (const auto& name : unknown_properties(kSchema, form)) {
    errors.push_back({name, "unknown field (put other form fields in \"extra\")"});
  }
  if (!errors.empty()) return errors;
  for (const auto& msg : api_schemas().validate(kSchema, form)) {
    for (auto& e : schema_field_errors(msg)) errors.push_back(std::move(e));
  }
  if (errors.empty() && str(form, "name").empty()) errors.push_back({"name", "must not be blank"});
  return errors;
}

std::string content_hash(const Value& form, const std::string& phone) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  write_fields(w, form, phone);
  w.EndObject();
  return auth::sha256_hex(std::string_view(buf.GetString(), buf.GetSize()));
}

std::string submission_event_id(const std::string& tenant, const std::string& campaign, const std::string& phone,
                                const std::string& form_type, const std::string& hash) {
  return events::uuid_v5(events::kNamespace, "ingest.campaign.submission/" + tenant + ":" + campaign + ":" +
                                                 phone + ":" + form_type + ":" + hash);
}

std::string submission_data(const Value& form, const std::string& phone, const FormState& state,
                            const std::string& submitted_at) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  put(w, "channel", "website");
  write_fields(w, form, phone);
  put(w, "status", state.did_application ? "applied" : "interested");
  w.Key("did_interest_form");
  w.Bool(state.did_interest);
  w.Key("did_application_form");
  w.Bool(state.did_application);
  w.Key("phone_verified");
  w.Bool(true);
  put(w, "submitted_at", submitted_at);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string otp_request_data(const std::string& request_id, const std::string& phone, const std::string& code,
                             const std::string& template_name, const std::string& language,
                             const std::string& expires_at, const std::string& campaign) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  put(w, "request_id", request_id);
  put(w, "channel", "whatsapp");
  put(w, "to", phone);
  put(w, "purpose", "otp");
  w.Key("lead_id");
  w.Null();
  w.Key("sensitive");
  w.Bool(true);
  put(w, "expires_at", expires_at);
  w.Key("message");
  w.StartObject();
  put(w, "kind", "template");
  put(w, "template", template_name);
  put(w, "language", language);
  w.Key("parameters");
  w.StartArray();
  w.String(code.c_str(), static_cast<rapidjson::SizeType>(code.size()));
  w.EndArray();
  w.EndObject();
  w.Key("context");
  w.StartObject();
  put(w, "campaign", campaign);
  put(w, "source", "ingest-gateway");
  w.EndObject();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

}  // namespace leadpipe::ingest::forms
