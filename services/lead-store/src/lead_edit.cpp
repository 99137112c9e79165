#include "lead_edit.hpp"

#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <set>

namespace leadpipe::leads {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

const std::set<std::string> kCreateFields{"name", "phone", "email", "program", "interest", "session_year", "source"};
const std::set<std::string> kPatchFields{"name", "phone", "email", "program", "interest", "session_year", "version"};

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

bool valid_email(const std::string& e) {
  const auto at = e.find('@');
  if (at == std::string::npos || at == 0 || e.find('@', at + 1) != std::string::npos) return false;
  const auto dot = e.find('.', at + 2);
  if (dot == std::string::npos || dot + 1 >= e.size()) return false;
  return std::none_of(e.begin(), e.end(), [](unsigned char c) { return std::isspace(c) || c < 0x20; });
}

bool set_if_changed(std::optional<std::string>& field, const Edit& edit) {
  if (!edit || field == *edit) return false;
  field = *edit;
  return true;
}

}  // namespace

std::optional<std::string> normalize_phone(const std::string& raw, const std::string& default_region) {
  auto* util = PhoneNumberUtil::GetInstance();
  PhoneNumber pn;
  const auto text = trim(raw);
  if (text.empty() || text.size() > 40) return std::nullopt;
  const bool plus = text[0] == '+' || text.rfind("00", 0) == 0;
  if (util->Parse(text, plus ? "ZZ" : default_region, &pn) != PhoneNumberUtil::NO_PARSING_ERROR) {
    if (!plus || util->Parse("+" + text.substr(2), "ZZ", &pn) != PhoneNumberUtil::NO_PARSING_ERROR) return std::nullopt;
  }
  if (!util->IsPossibleNumber(pn)) return std::nullopt;
  std::string out;
  util->Format(pn, PhoneNumberUtil::E164, &out);
  return out;
}

LeadInput parse_lead_input(const rapidjson::Document& body, bool create, const std::string& default_region) {
  std::vector<http::FieldError> errors;
  LeadInput in;
  if (!body.IsObject()) throw http::HttpError::bad_request("the body must be a JSON object");
  const auto& allowed = create ? kCreateFields : kPatchFields;
  for (const auto& m : body.GetObject()) {
    std::string key(m.name.GetString(), m.name.GetStringLength());
    if (!allowed.count(key)) errors.push_back({key, "unknown field"});
  }
  auto text = [&](const char* key, std::size_t max) -> Edit {
    auto it = body.FindMember(key);
    if (it == body.MemberEnd()) return std::nullopt;
    if (it->value.IsNull()) return std::optional<std::string>{};
    if (!it->value.IsString()) {
      errors.push_back({key, "must be a string or null"});
      return std::nullopt;
    }
    auto v = trim(std::string(it->value.GetString(), it->value.GetStringLength()));
    if (v.size() > max) {
      errors.push_back({key, "at most " + std::to_string(max) + " characters"});
      return std::nullopt;
    }
    if (v.empty()) return std::optional<std::string>{};  // "" clears, like null
    return std::optional<std::string>{std::move(v)};
  };
  in.name = text("name", 200);
  in.program = text("program", 200);
  in.session_year = text("session_year", 20);
  if (auto phone = text("phone", 40); phone && *phone) {
    if (auto e164 = normalize_phone(**phone, default_region)) {
      in.phone = std::optional<std::string>{*e164};
    } else {
      errors.push_back({"phone", "not a valid phone number (region " + default_region + " assumed without +)"});
    }
  } else {
    in.phone = phone;
  }
  if (auto email = text("email", 254); email && *email) {
    auto e = normalize_email(**email);
    if (valid_email(e)) {
      in.email = std::optional<std::string>{e};
    } else {
      errors.push_back({"email", "not a valid email address"});
    }
  } else {
    in.email = email;
  }
  if (auto interest = text("interest", 10); interest) {
    if (*interest && **interest != "hot" && **interest != "warm" && **interest != "cold") {
      errors.push_back({"interest", "must be hot, warm, cold or null"});
    } else {
      in.interest = interest;
    }
  }
  if (create) {
    if (auto src = text("source", 64); src && *src) {
      const auto& s = **src;
      if (!std::all_of(s.begin(), s.end(), [](unsigned char c) {
            return std::isalnum(c) || c == ':' || c == '_' || c == '-' || c == '.';
          })) {
        errors.push_back({"source", "letters, digits and : _ - . only"});
      } else {
        in.source = s;
      }
    }
    const bool has_phone = in.phone && *in.phone;
    const bool has_email = in.email && *in.email;
    if (!has_phone && !has_email && errors.empty()) errors.push_back({"phone", "a phone or an email is required"});
  } else {
    if (auto it = body.FindMember("version"); it != body.MemberEnd()) {
      if (it->value.IsInt() && it->value.GetInt() > 0) {
        in.expected_version = it->value.GetInt();
      } else {
        errors.push_back({"version", "must be a positive integer"});
      }
    }
    if (!in.name && !in.phone && !in.email && !in.program && !in.interest && !in.session_year && errors.empty()) {
      errors.push_back({"", "nothing to change"});
    }
  }
  if (!errors.empty()) throw http::HttpError::bad_request("the lead is invalid", std::move(errors));
  return in;
}

std::vector<std::string> apply_edit(Lead& lead, const LeadInput& in) {
  std::vector<std::string> changed;
  auto apply = [&](const char* name, std::optional<std::string>& field, const Edit& edit) {
    if (set_if_changed(field, edit)) {
      changed.emplace_back(name);
      // A hand edit is authoritative: a later capture must be at least as sure.
      lead.confidence[name] = 1.0;
    }
  };
  apply("name", lead.name, in.name);
  apply("phone", lead.phone, in.phone);
  apply("email", lead.email, in.email);
  apply("program", lead.program, in.program);
  apply("interest", lead.interest, in.interest);
  apply("session_year", lead.session_year, in.session_year);
  lead.confidence.erase("interest");
  lead.confidence.erase("session_year");
  return changed;
}

std::optional<std::string> auto_complete(Lead& lead, const Pipeline& pipeline, const std::string& now) {
  if (pipeline.incomplete_stage.empty() || lead.stage != pipeline.incomplete_stage || !contact_complete(lead)) {
    return std::nullopt;
  }
  auto previous = lead.stage;
  lead.stage = pipeline.complete_stage;
  lead.stage_changed_at = now;
  return previous;
}

std::string default_followup_assignee(const Lead& lead, const std::string& scheduled_by) {
  if (lead.counsellor) return *lead.counsellor;
  if (lead.assigned_to) return *lead.assigned_to;
  return scheduled_by;
}

void touch(Lead& lead, const std::string& now) {
  lead.version += 1;
  lead.updated_at = now;
}

}  // namespace leadpipe::leads
