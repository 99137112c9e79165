#include "lead.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <stdexcept>

namespace leadpipe::leads {
namespace {

using rapidjson::Value;

std::optional<std::string> opt_string(const Value& obj, const char* name) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsString()) return std::nullopt;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::optional<Captured> captured(const Value& v) {
  if (!v.IsObject()) return std::nullopt;
  Captured c;
  auto value = opt_string(v, "value");
  if (!value || value->empty()) return std::nullopt;
  c.value = *value;
  auto ev = v.FindMember("evidence");
  if (ev != v.MemberEnd() && ev->value.IsObject()) {
    c.evidence.message_id = opt_string(ev->value, "message_id").value_or("");
    c.evidence.layer = opt_string(ev->value, "layer").value_or("rule");
    c.evidence.detected_at = opt_string(ev->value, "detected_at").value_or("");
    auto conf = ev->value.FindMember("confidence");
    if (conf != ev->value.MemberEnd() && conf->value.IsNumber()) {
      c.evidence.confidence = conf->value.GetDouble();
    }
  }
  return c;
}

std::vector<Captured> captured_list(const Value& obj, const char* name) {
  std::vector<Captured> out;
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsArray()) return out;
  for (const auto& v : it->value.GetArray()) {
    if (auto c = captured(v)) out.push_back(std::move(*c));
  }
  return out;
}

std::vector<std::string> string_list(const Value& obj, const char* name) {
  std::vector<std::string> out;
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsArray()) return out;
  for (const auto& v : it->value.GetArray()) {
    if (v.IsString()) out.emplace_back(v.GetString(), v.GetStringLength());
  }
  return out;
}

// Applies `c` to `field` when the field is empty or `c` is at least as
// confident as the current value. Returns whether the value changed.
bool offer(std::optional<std::string>& field, const std::string& key, const Captured& c, Lead& lead,
           bool& applied) {
  auto it = lead.confidence.find(key);
  const double current = it == lead.confidence.end() ? 0.0 : it->second;
  applied = !field || c.evidence.confidence >= current;
  if (!applied) return false;
  lead.confidence[key] = c.evidence.confidence;
  if (field == c.value) return false;
  field = c.value;
  return true;
}

}  // namespace

std::string normalize_email(std::string email) {
  const auto not_space = [](unsigned char ch) { return !std::isspace(ch); };
  email.erase(email.begin(), std::find_if(email.begin(), email.end(), not_space));
  email.erase(std::find_if(email.rbegin(), email.rend(), not_space).base(), email.end());
  std::transform(email.begin(), email.end(), email.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return email;
}

Extraction parse_extraction(std::string event_id, std::string tenant, const std::string& data_json) {
  rapidjson::Document d;
  d.Parse(data_json.c_str(), data_json.size());
  if (d.HasParseError() || !d.IsObject()) throw std::invalid_argument("data is not a JSON object");
  Extraction x;
  x.event_id = std::move(event_id);
  x.tenant = std::move(tenant);
  x.channel = opt_string(d, "channel").value_or("");
  x.external_id = opt_string(d, "external_id").value_or("");
  x.source_event_id = opt_string(d, "source_event_id").value_or("");
  x.message_id = opt_string(d, "message_id").value_or("");
  if (x.channel.empty() || x.external_id.empty()) {
    throw std::invalid_argument("channel and external_id are required");
  }
  if (auto it = d.FindMember("name"); it != d.MemberEnd()) x.name = captured(it->value);
  if (auto it = d.FindMember("program"); it != d.MemberEnd()) x.program = captured(it->value);
  x.phones = captured_list(d, "phones");
  x.emails = captured_list(d, "emails");
  for (auto& e : x.emails) e.value = normalize_email(e.value);
  x.intents = string_list(d, "intents");
  x.score_reasons = string_list(d, "score_reasons");
  if (auto it = d.FindMember("score"); it != d.MemberEnd() && it->value.IsInt()) {
    x.score = it->value.GetInt();
  }
  x.tier = opt_string(d, "tier");
  return x;
}

bool contact_complete(const Lead& lead) {
  return lead.name.has_value() && (lead.phone.has_value() || lead.email.has_value());
}

MergeResult merge_extraction(const std::optional<Lead>& existing, const Extraction& x,
                             const Pipeline& pipeline, const std::string& new_id,
                             const std::string& now) {
  MergeResult r;
  r.created = !existing.has_value();
  if (existing) {
    r.lead = *existing;
  } else {
    r.lead.id = new_id;
    r.lead.tenant = x.tenant;
    r.lead.source = x.channel;
    r.lead.channel = x.channel;
    r.lead.created_at = now;
    r.lead.stage_changed_at = now;
  }
  Lead& lead = r.lead;
  auto record = [&](const char* field, const Captured& c, bool applied, bool changed) {
    r.captures.push_back({field, c, applied});
    if (changed && std::find(r.changed.begin(), r.changed.end(), field) == r.changed.end()) {
      r.changed.emplace_back(field);
    }
  };

  if (x.name) {
    bool applied = false;
    const bool changed = offer(lead.name, "name", *x.name, lead, applied);
    record("name", *x.name, applied, changed);
  }
  for (const auto& p : x.phones) {
    bool applied = false;
    bool changed = false;
    if (!lead.phone) {
      lead.phone = p.value;
      lead.confidence["phone"] = p.evidence.confidence;
      applied = changed = true;
    } else {
      applied = lead.phone == p.value;
    }
    record("phone", p, applied, changed);
  }
  for (const auto& e : x.emails) {
    bool applied = false;
    const bool changed = offer(lead.email, "email", e, lead, applied);
    record("email", e, applied, changed);
  }
  if (x.program) {
    bool applied = false;
    const bool changed = offer(lead.program, "program", *x.program, lead, applied);
    record("program", *x.program, applied, changed);
  }
  if (x.score && lead.score != x.score) {
    lead.score = x.score;
    r.changed.emplace_back("score");
  }
  if (x.tier && lead.tier != x.tier) {
    lead.tier = x.tier;
    r.changed.emplace_back("tier");
  }
  if (!x.score_reasons.empty()) lead.score_reasons = x.score_reasons;
  for (const auto& i : x.intents) {
    if (std::find(lead.intents.begin(), lead.intents.end(), i) == lead.intents.end()) {
      lead.intents.push_back(i);
      r.changed.emplace_back("intents");
    }
  }
  // intents may have been pushed several times; keep the list unique.
  std::sort(r.changed.begin(), r.changed.end());
  r.changed.erase(std::unique(r.changed.begin(), r.changed.end()), r.changed.end());

  // A new intent after contact may suggest a stage (never a move: a person accepts it).
  if (!r.created) {
    std::vector<std::string> fresh;
    for (const auto& i : x.intents) {
      if (std::find(existing->intents.begin(), existing->intents.end(), i) == existing->intents.end()) {
        fresh.push_back(i);
      }
    }
    if (auto s = pipeline.suggestion_for(lead.stage, fresh); s && lead.suggested_stage != s) {
      lead.suggested_stage = s;
      r.changed.emplace_back("suggested_stage");
      for (const auto& i : fresh) {
        if (std::find(pipeline.suggest->intents.begin(), pipeline.suggest->intents.end(), i) !=
            pipeline.suggest->intents.end()) {
          r.suggestion_reason = i;
          break;
        }
      }
    }
  }

  const bool complete = contact_complete(lead);
  if (r.created) {
    lead.stage = pipeline.initial_stage(complete);
  } else if (!pipeline.incomplete_stage.empty() && lead.stage == pipeline.incomplete_stage && complete) {
    r.previous_stage = lead.stage;
    lead.stage = pipeline.complete_stage;
    lead.stage_changed_at = now;
    r.changed.emplace_back("stage");
  }

  if (r.created) {
    lead.version = 1;
    lead.updated_at = now;
  } else if (!r.changed.empty()) {
    lead.version += 1;
    lead.updated_at = now;
  }
  return r;
}

}  // namespace leadpipe::leads
